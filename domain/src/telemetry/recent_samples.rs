//! Which samples of one device were stored lately, to tell a redelivered message from new data.
//!
//! A sample is identified by its device, its time and its metric. A reading whose time and metric
//! were stored already is a duplicate when it carries the same value (a redelivery: it is stored
//! once) and a conflict when it carries another one (the first stored value stands; the later
//! one is refused, never silently). Late samples, older than the newest stored one, are new as
//! long as their time and metric were not stored.

use crate::time::Timestamp;
use std::collections::{HashMap, VecDeque};

/// How many samples are remembered per device. Redeliveries concern only the messages a device
/// had not seen acknowledged, the most recent ones; older redeliveries are checked against the
/// stored log instead.
pub const REMEMBERED_SAMPLES: usize = 512;

/// What a reading is, compared with what was stored.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SampleVerdict {
    /// Its time and metric were not stored: keep it.
    New,
    /// The same value was stored already at this time: a redelivery.
    Duplicate,
    /// Another value was stored at this time for this metric.
    Conflict {
        /// The value stored first, which stands.
        stored: f64,
    },
}

/// A bounded memory of the most recently stored samples of one device.
#[derive(Debug, Clone)]
pub struct RecentSamples {
    metrics: Vec<String>,
    values: HashMap<(Timestamp, u16), u64>,
    order: VecDeque<(Timestamp, u16)>,
    bound: usize,
}

impl Default for RecentSamples {
    /// Remembers [`REMEMBERED_SAMPLES`].
    fn default() -> Self {
        Self::with_bound(REMEMBERED_SAMPLES)
    }
}

impl RecentSamples {
    /// A memory of at most `bound` samples (`usize::MAX`: all of them, for one round's work).
    pub fn with_bound(bound: usize) -> Self {
        Self { metrics: Vec::new(), values: HashMap::new(), order: VecDeque::new(), bound }
    }

    /// What `value` of `metric` at `ts` is, given the samples remembered.
    pub fn verdict(&self, ts: Timestamp, metric: &str, value: f64) -> SampleVerdict {
        let Some(index) = self.metric_index(metric) else { return SampleVerdict::New };
        match self.values.get(&(ts, index)) {
            None => SampleVerdict::New,
            Some(bits) if *bits == value.to_bits() => SampleVerdict::Duplicate,
            Some(bits) => SampleVerdict::Conflict { stored: f64::from_bits(*bits) },
        }
    }

    /// Remembers a stored reading, forgetting the oldest remembered beyond the bound.
    pub fn remember(&mut self, ts: Timestamp, metric: &str, value: f64) {
        let index = match self.metric_index(metric) {
            Some(index) => index,
            None if self.metrics.len() < usize::from(u16::MAX) => {
                self.metrics.push(metric.to_owned());
                u16::try_from(self.metrics.len() - 1).unwrap_or(u16::MAX)
            }
            None => return,
        };
        if self.values.insert((ts, index), value.to_bits()).is_none() {
            self.order.push_back((ts, index));
        }
        while self.order.len() > self.bound {
            if let Some(oldest) = self.order.pop_front() {
                self.values.remove(&oldest);
            }
        }
    }

    /// The remembered readings as (time, metric, value), the first received first.
    pub fn entries(&self) -> impl Iterator<Item = (Timestamp, &str, f64)> + '_ {
        self.order.iter().filter_map(|key| {
            let value = self.values.get(key)?;
            let metric = self.metrics.get(usize::from(key.1))?;
            Some((key.0, metric.as_str(), f64::from_bits(*value)))
        })
    }

    /// How many samples are remembered.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    fn metric_index(&self, metric: &str) -> Option<u16> {
        self.metrics.iter().position(|m| m == metric).and_then(|i| u16::try_from(i).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_time_with_other_metrics_is_new_data() {
        let mut recent = RecentSamples::default();
        recent.remember(Timestamp(10), "power_w", 1.0);
        assert_eq!(recent.verdict(Timestamp(10), "temp_c", 1.0), SampleVerdict::New);
        assert_eq!(recent.verdict(Timestamp(10), "power_w", 1.0), SampleVerdict::Duplicate);
        assert_eq!(recent.verdict(Timestamp(10), "power_w", 2.0), SampleVerdict::Conflict { stored: 1.0 });
        assert_eq!(recent.verdict(Timestamp(5), "power_w", 1.0), SampleVerdict::New, "a late sample is new");
    }

    #[test]
    fn stays_bounded_by_forgetting_the_first_received() {
        let mut recent = RecentSamples::default();
        for ts in 0..REMEMBERED_SAMPLES as i64 + 10 {
            recent.remember(Timestamp(1_000 - ts), "p", 0.0);
        }
        assert_eq!(recent.len(), REMEMBERED_SAMPLES);
        assert_eq!(recent.verdict(Timestamp(1_000), "p", 0.0), SampleVerdict::New, "the first received is forgotten");
        assert_eq!(
            recent.verdict(Timestamp(1_000 - REMEMBERED_SAMPLES as i64 - 9), "p", 0.0),
            SampleVerdict::Duplicate
        );
    }

    #[test]
    fn remembering_a_sample_twice_keeps_one_entry() {
        let mut recent = RecentSamples::default();
        recent.remember(Timestamp(1), "p", 3.0);
        recent.remember(Timestamp(1), "p", 3.0);
        assert_eq!(recent.len(), 1);
    }
}
