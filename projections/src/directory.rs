//! A directory of instances: one entry per instance id, kept in memory for fast filtering and
//! persisted per entry.

use crate::projection::{ProjectedEvent, Projection, ProjectionError};
use crate::term_index::TermIndex;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

/// Prefix of entry keys in the directory's tree.
const ENTRY_PREFIX: &[u8] = b"e/";

/// One entry of a directory.
pub trait DirectoryEntry: Clone + Serialize + DeserializeOwned + Send + Sync + 'static {
    /// Name of the projection (and its tree).
    const PROJECTION: &'static str;
    /// Stream kinds it follows (entries are keyed by the stream's id, whatever its kind).
    const KINDS: &'static [&'static str];

    /// The entry `event` creates for an instance that has none yet (`None`: still none).
    fn create(event: &ProjectedEvent<'_>) -> Option<Self>;

    /// Applies `event` to the instance's entry in place; returns whether it changed (an entry
    /// that did not change is not written again).
    fn update(&mut self, event: &ProjectedEvent<'_>) -> bool;

    /// The terms listings find this entry by (see [`crate::term_index`]); none by default.
    fn index_terms(&self) -> Vec<String> {
        Vec::new()
    }
}

/// What a listing selects by index: entries carrying every term. When `exact`, carrying the
/// terms is the whole filter; otherwise each candidate is checked against the filter too.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TermQuery {
    /// Terms every match carries.
    pub terms: Vec<String>,
    /// Whether the terms decide the match alone.
    pub exact: bool,
}

/// Candidates at most this many are sorted by id and paged directly; larger sets, or sets dense
/// enough that a page is found within [`DENSE_SHARE`] times its length, are paged by walking the
/// entries in id order from the cursor.
const SORTED_CANDIDATES: u64 = 4_096;

/// Candidates that are at least one in this many entries count as dense.
const DENSE_SHARE: u64 = 16;

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<E> {
    /// The entries, ordered by id.
    pub items: Vec<E>,
    /// Pass as `after` to get the next page; `None` on the last page.
    pub next_cursor: Option<String>,
    /// How many entries match the filter in all.
    pub total: usize,
}

/// A directory of entries `E`, by instance id.
#[derive(Debug, Clone)]
pub struct Directory<E: DirectoryEntry> {
    /// The slot of each instance id, ordered by id.
    slots: BTreeMap<String, u32>,
    /// Each slot's instance id and entry; the term index names entries by slot.
    entries: Vec<(String, E)>,
    terms: TermIndex,
    /// Ids of the entries changed since the last [`Projection::stage`]: each is encoded once
    /// per batch, however many of the batch's events touched it.
    changed: BTreeSet<String>,
}

impl<E: DirectoryEntry> Default for Directory<E> {
    fn default() -> Self {
        Self { slots: BTreeMap::new(), entries: Vec::new(), terms: TermIndex::default(), changed: BTreeSet::new() }
    }
}

impl<E: DirectoryEntry> Directory<E> {
    /// The entry of instance `id`.
    pub fn get(&self, id: &str) -> Option<&E> {
        self.slots.get(id).and_then(|slot| self.entries.get(*slot as usize)).map(|(_, entry)| entry)
    }

    /// Every entry, ordered by id.
    pub fn entries(&self) -> impl Iterator<Item = &E> {
        self.iter().map(|(_, entry)| entry)
    }

    /// Every id with its entry, ordered by id.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &E)> {
        self.slots.iter().filter_map(|(id, slot)| Some((id.as_str(), &self.entries.get(*slot as usize)?.1)))
    }

    /// How many entries there are.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether the directory is empty.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Entries matching `filter`, ordered by id, starting after id `after`, at most `limit`.
    pub fn page(&self, filter: impl Fn(&E) -> bool, after: Option<&str>, limit: usize) -> Page<E> {
        let limit = limit.max(1);
        let mut total = 0;
        let mut items = Vec::with_capacity(limit.min(1_000));
        let mut last_id = None;
        let mut more = false;
        for (id, entry) in self.iter().filter(|(_, entry)| filter(entry)) {
            total += 1;
            if after.is_some_and(|after| id <= after) {
                continue;
            }
            if items.len() < limit {
                items.push(entry.clone());
                last_id = Some(id);
            } else {
                more = true;
            }
        }
        Page { items, next_cursor: last_id.filter(|_| more).map(str::to_owned), total }
    }

    /// Like [`Directory::page`], but only entries carrying `query`'s terms are looked at: the
    /// total of an exact query is counted from the index, and its page read from the cursor on.
    pub fn search(&self, query: &TermQuery, filter: impl Fn(&E) -> bool, after: Option<&str>, limit: usize) -> Page<E> {
        if query.terms.is_empty() {
            return self.page(filter, after, limit);
        }
        let limit = limit.max(1);
        let candidates = self.terms.matching(&query.terms);
        let dense = candidates.len() * DENSE_SHARE >= self.slots.len() as u64;
        if query.exact && (dense || candidates.len() > SORTED_CANDIDATES) {
            let start = after.map_or(Bound::Unbounded, Bound::Excluded);
            let mut items = Vec::with_capacity(limit.min(1_000));
            let mut more = false;
            let mut last_id = None;
            for (id, slot) in self.slots.range::<str, _>((start, Bound::Unbounded)) {
                if !candidates.contains(*slot) {
                    continue;
                }
                if items.len() == limit {
                    more = true;
                    break;
                }
                let Some((_, entry)) = self.entries.get(*slot as usize) else { continue };
                items.push(entry.clone());
                last_id = Some(id);
            }
            let total = candidates.len() as usize;
            return Page { items, next_cursor: last_id.filter(|_| more).cloned(), total };
        }
        let mut matches: Vec<(&str, &E)> = candidates
            .iter()
            .filter_map(|slot| self.entries.get(slot as usize).map(|(id, entry)| (id.as_str(), entry)))
            .filter(|(_, entry)| query.exact || filter(entry))
            .collect();
        matches.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let total = matches.len();
        let start = after.map_or(0, |after| matches.partition_point(|(id, _)| *id <= after));
        let page: Vec<&(&str, &E)> = matches[start..].iter().take(limit).collect();
        let more = start + page.len() < total;
        let next_cursor = page.last().filter(|_| more).map(|(id, _)| (*id).to_owned());
        Page { items: page.into_iter().map(|(_, entry)| (*entry).clone()).collect(), next_cursor, total }
    }

    /// Inserts or replaces the entry of `id`, keeping the term index in step.
    fn put(&mut self, id: &str, entry: E) {
        let terms = entry.index_terms();
        match self.slots.get(id).copied() {
            Some(slot) => {
                let Some((_, stored)) = self.entries.get_mut(slot as usize) else { return };
                let old = stored.index_terms();
                *stored = entry;
                if old != terms {
                    self.terms.remove(slot, &old);
                    self.terms.add(slot, &terms);
                }
            }
            None => {
                let slot = u32::try_from(self.entries.len()).unwrap_or(u32::MAX);
                self.entries.push((id.to_owned(), entry));
                self.terms.add(slot, &terms);
                self.slots.insert(id.to_owned(), slot);
            }
        }
    }
}

impl<E: DirectoryEntry> Projection for Directory<E> {
    fn name(&self) -> &'static str {
        E::PROJECTION
    }

    fn follows(&self, stream_kind: &str) -> bool {
        E::KINDS.contains(&stream_kind)
    }

    fn restore(&mut self, tree: &sled::Tree) -> Result<(), ProjectionError> {
        self.slots.clear();
        self.entries.clear();
        self.terms.clear();
        self.changed.clear();
        for entry in tree.scan_prefix(ENTRY_PREFIX) {
            let (key, value) = entry?;
            let id = String::from_utf8_lossy(&key[ENTRY_PREFIX.len()..]).into_owned();
            let decoded = postcard::from_bytes(&value).map_err(|e| ProjectionError::Corrupt {
                projection: E::PROJECTION,
                key: id.clone(),
                reason: e.to_string(),
            })?;
            self.put(&id, decoded);
        }
        Ok(())
    }

    fn apply(&mut self, event: &ProjectedEvent<'_>, _writes: &mut sled::Batch) -> Result<(), ProjectionError> {
        if !E::KINDS.contains(&event.kind()) {
            return Ok(());
        }
        let id = event.id();
        match self.slots.get(id).copied() {
            Some(slot) => {
                let Some((_, entry)) = self.entries.get_mut(slot as usize) else { return Ok(()) };
                let before = entry.index_terms();
                if !entry.update(event) {
                    return Ok(());
                }
                let after = entry.index_terms();
                if before != after {
                    self.terms.remove(slot, &before);
                    self.terms.add(slot, &after);
                }
            }
            None => match E::create(event) {
                Some(entry) => self.put(id, entry),
                None => return Ok(()),
            },
        }
        if !self.changed.contains(id) {
            self.changed.insert(id.to_owned());
        }
        Ok(())
    }

    fn stage(&mut self, writes: &mut sled::Batch) -> Result<(), ProjectionError> {
        for id in std::mem::take(&mut self.changed) {
            let Some(entry) = self.get(&id) else { continue };
            let encoded = postcard::to_stdvec(entry)
                .map_err(|e| ProjectionError::Encode { projection: E::PROJECTION, reason: e.to_string() })?;
            let mut key = ENTRY_PREFIX.to_vec();
            key.extend_from_slice(id.as_bytes());
            writes.insert(key, encoded);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device_directory::{DeviceEntry, DeviceFilter};
    use optibid_domain::device::{DeviceEvent, DeviceKind, DeviceRegistration, DeviceStatus, Protocol};
    use optibid_domain::{DeviceId, FleetEvent, Timestamp};

    fn registered(id: &str, kind: DeviceKind) -> FleetEvent {
        FleetEvent::Device(DeviceEvent::Registered {
            registration: DeviceRegistration {
                location: None,
                id: DeviceId::new(id).expect("valid id"),
                name: format!("Device {id}"),
                kind,
                protocol: Protocol::Mqtt,
                site: "s".to_owned(),
                region: "eu".to_owned(),
                tags: vec![],
                firmware_version: "1".to_owned(),
                metrics: vec![],
            },
            at: Timestamp(1),
        })
    }

    fn apply(
        directory: &mut Directory<DeviceEntry>,
        tree: &sled::Tree,
        position: u64,
        stream: &str,
        event: &FleetEvent,
    ) {
        let mut writes = sled::Batch::default();
        let projected = ProjectedEvent { position, stream, recorded_at: position as i64, event };
        directory.apply(&projected, &mut writes).expect("applies");
        directory.stage(&mut writes).expect("stages");
        tree.apply_batch(writes).expect("writes");
    }

    /// A directory's tree in a sled database of its own folder (kept while the folder lives).
    fn directory_tree() -> (tempfile::TempDir, sled::Tree) {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = sled::Config::new().path(dir.path()).open().expect("opens");
        let tree = db.open_tree("device_directory").expect("tree");
        (dir, tree)
    }

    #[test]
    fn pages_filter_and_survive_a_restore() {
        let (_dir, tree) = directory_tree();
        let mut directory = Directory::<DeviceEntry>::default();
        for (n, id) in ["c", "a", "d", "b"].iter().enumerate() {
            let kind = if n % 2 == 0 { DeviceKind::SolarInverter } else { DeviceKind::SmartMeter };
            apply(&mut directory, &tree, n as u64 + 1, &format!("device/{id}"), &registered(id, kind));
        }
        let online = FleetEvent::Device(DeviceEvent::StatusChanged {
            from: DeviceStatus::Offline,
            to: DeviceStatus::Online,
            reason: None,
            from_telemetry: true,
            at: Timestamp(5),
        });
        apply(&mut directory, &tree, 5, "device/a", &online);
        let telemetry_elsewhere = registered("zz", DeviceKind::Other);
        apply(&mut directory, &tree, 6, "edge/zz", &telemetry_elsewhere);

        let all = DeviceFilter::default();
        let first = directory.page(|e| all.matches(e), None, 3);
        assert_eq!(first.items.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), vec!["a", "b", "c"]);
        assert_eq!((first.total, first.next_cursor.as_deref()), (4, Some("c")));
        let second = directory.page(|e| all.matches(e), first.next_cursor.as_deref(), 3);
        assert_eq!(second.items.len(), 1);
        assert_eq!(second.next_cursor, None);
        let solar = DeviceFilter { kind: Some(DeviceKind::SolarInverter), ..DeviceFilter::default() };
        assert_eq!(directory.page(|e| solar.matches(e), None, 10).total, 2);
        let online_only = DeviceFilter { status: Some(DeviceStatus::Online), ..DeviceFilter::default() };
        assert_eq!(directory.page(|e| online_only.matches(e), None, 10).items[0].id, "a");

        let mut restored = Directory::<DeviceEntry>::default();
        restored.restore(&tree).expect("restores");
        assert_eq!(restored.len(), 4);
        assert_eq!(restored.get("a"), directory.get("a"));
    }

    fn walk(
        directory: &Directory<DeviceEntry>,
        filter: &DeviceFilter,
        limit: usize,
        indexed: bool,
    ) -> (Vec<String>, usize) {
        let mut ids = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = if indexed {
                directory.search(&filter.query(), |e| filter.matches(e), after.as_deref(), limit)
            } else {
                directory.page(|e| filter.matches(e), after.as_deref(), limit)
            };
            ids.extend(page.items.iter().map(|e| e.id.clone()));
            match page.next_cursor {
                Some(cursor) => after = Some(cursor),
                None => return (ids, page.total),
            }
        }
    }

    #[test]
    fn indexed_listings_match_a_full_scan_for_every_filter() {
        let (_dir, tree) = directory_tree();
        let mut directory = Directory::<DeviceEntry>::default();
        let kinds = [DeviceKind::SolarInverter, DeviceKind::SmartMeter, DeviceKind::WindTurbine];
        for n in 0..9_000u64 {
            let id = format!("dev-{:05}", (n * 7_919) % 9_000);
            let mut event = registered(&id, kinds[(n % 3) as usize]);
            if let FleetEvent::Device(DeviceEvent::Registered { registration, .. }) = &mut event {
                registration.region = ["eu", "us", "apac"][(n % 5 % 3) as usize].to_owned();
                registration.name = format!("{} Plant {}", ["North", "South", "East"][(n % 7 % 3) as usize], n % 97);
                registration.tags = if n % 4 == 0 { vec!["critical".to_owned()] } else { vec![] };
            }
            apply(&mut directory, &tree, n + 1, &format!("device/{id}"), &event);
            if n % 11 == 0 {
                let online = FleetEvent::Device(DeviceEvent::StatusChanged {
                    from: DeviceStatus::Offline,
                    to: DeviceStatus::Online,
                    reason: None,
                    from_telemetry: true,
                    at: Timestamp(5),
                });
                apply(&mut directory, &tree, n + 1, &format!("device/{id}"), &online);
            }
            if n % 13 == 0 {
                let gone =
                    FleetEvent::Device(DeviceEvent::Decommissioned { reason: "retired".to_owned(), at: Timestamp(6) });
                apply(&mut directory, &tree, n + 1, &format!("device/{id}"), &gone);
            }
        }
        let filters = [
            DeviceFilter::default(),
            DeviceFilter { include_decommissioned: true, ..DeviceFilter::default() },
            DeviceFilter { kind: Some(DeviceKind::SmartMeter), ..DeviceFilter::default() },
            DeviceFilter {
                kind: Some(DeviceKind::SolarInverter),
                region: Some("us".to_owned()),
                ..DeviceFilter::default()
            },
            DeviceFilter { status: Some(DeviceStatus::Online), ..DeviceFilter::default() },
            DeviceFilter {
                tag: Some("critical".to_owned()),
                region: Some("apac".to_owned()),
                ..DeviceFilter::default()
            },
            DeviceFilter { region: Some("nowhere".to_owned()), ..DeviceFilter::default() },
            DeviceFilter { q: Some("plant 4".to_owned()), ..DeviceFilter::default() },
            DeviceFilter {
                q: Some("SOUTH".to_owned()),
                kind: Some(DeviceKind::WindTurbine),
                ..DeviceFilter::default()
            },
            DeviceFilter { q: Some("h".to_owned()), ..DeviceFilter::default() },
        ];
        for filter in &filters {
            for limit in [97, 1_000] {
                let scanned = walk(&directory, filter, limit, false);
                assert_eq!(walk(&directory, filter, limit, true), scanned, "{filter:?}, pages of {limit}");
            }
        }
        let mut restored = Directory::<DeviceEntry>::default();
        restored.restore(&tree).expect("restores");
        assert_eq!(walk(&restored, &filters[3], 50, true), walk(&directory, &filters[3], 50, false));
    }
}
