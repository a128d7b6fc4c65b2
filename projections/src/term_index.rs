//! An inverted index over a directory's entries: for each term (`kind=SolarInverter`,
//! `region=eu`, a trigram of the name), the set of entries carrying it, as a compressed bitmap of
//! the entries' slots.
//!
//! A listing intersects the bitmaps of its filter's terms, so it touches only the entries that
//! can match and counts its total without looking at any entry when the terms decide the match
//! alone.

use roaring::RoaringBitmap;
use std::collections::HashMap;

/// Slots of the entries carrying each term.
#[derive(Debug, Clone, Default)]
pub struct TermIndex {
    postings: HashMap<String, RoaringBitmap>,
}

impl TermIndex {
    /// Records that the entry in `slot` carries `terms`.
    pub fn add(&mut self, slot: u32, terms: &[String]) {
        for term in terms {
            match self.postings.get_mut(term) {
                Some(posting) => drop(posting.insert(slot)),
                None => drop(self.postings.insert(term.clone(), RoaringBitmap::from_iter([slot]))),
            }
        }
    }

    /// Records that the entry in `slot` no longer carries `terms`.
    pub fn remove(&mut self, slot: u32, terms: &[String]) {
        for term in terms {
            if let Some(posting) = self.postings.get_mut(term) {
                posting.remove(slot);
                if posting.is_empty() {
                    self.postings.remove(term);
                }
            }
        }
    }

    /// Slots of the entries carrying every one of `terms` (`terms` must not be empty).
    pub fn matching(&self, terms: &[String]) -> RoaringBitmap {
        let mut postings = Vec::with_capacity(terms.len());
        for term in terms {
            match self.postings.get(term) {
                Some(posting) => postings.push(posting),
                None => return RoaringBitmap::new(),
            }
        }
        postings.sort_by_key(|posting| posting.len());
        let Some((smallest, others)) = postings.split_first() else { return RoaringBitmap::new() };
        let mut result = (*smallest).clone();
        for posting in others {
            result &= *posting;
        }
        result
    }

    /// Empties the index.
    pub fn clear(&mut self) {
        self.postings.clear();
    }
}

/// The trigrams of `text`, lower-cased, for substring search: a text contains a query of three
/// characters or more only if it carries every trigram of the query.
pub fn trigrams(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.to_lowercase().chars().collect();
    let mut grams: Vec<String> = chars.windows(3).map(|window| window.iter().collect()).collect();
    grams.sort_unstable();
    grams.dedup();
    grams
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postings_intersect_and_forget_removed_entries() {
        let mut index = TermIndex::default();
        let terms = |list: &[&str]| list.iter().map(|term| (*term).to_owned()).collect::<Vec<_>>();
        index.add(1, &terms(&["kind=a", "region=eu"]));
        index.add(2, &terms(&["kind=a", "region=us"]));
        index.add(3, &terms(&["kind=b", "region=eu"]));
        assert_eq!(index.matching(&terms(&["kind=a", "region=eu"])).iter().collect::<Vec<_>>(), vec![1]);
        assert_eq!(index.matching(&terms(&["region=eu"])).len(), 2);
        assert!(index.matching(&terms(&["kind=c"])).is_empty());
        index.remove(1, &terms(&["kind=a", "region=eu"]));
        assert!(index.matching(&terms(&["kind=a", "region=eu"])).is_empty());
        index.remove(2, &terms(&["kind=a", "region=us"]));
        assert_eq!(index.postings.len(), 2, "emptied postings are dropped");
    }

    #[test]
    fn trigrams_are_lower_case_and_unique() {
        assert_eq!(trigrams("AbAbA"), vec!["aba", "bab"]);
        assert!(trigrams("ab").is_empty());
        assert_eq!(trigrams("Ünïcode").first().map(String::as_str), Some("cod"));
    }
}
