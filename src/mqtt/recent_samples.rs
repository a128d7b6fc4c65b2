//! The sample times recently stored for one device, to tell a redelivered message from new
//! data. A device's sample is identified by its timestamp; late samples (older than the newest
//! stored one) are accepted as long as their time was not stored yet.

use optibid_domain::time::Timestamp;
use std::collections::BTreeSet;

/// How many sample times are remembered per device. Redeliveries only ever concern the messages
/// of the last few rounds, far fewer than this.
pub const REMEMBERED_SAMPLES: usize = 4_096;

/// A bounded set of the most recent sample times of one device.
#[derive(Debug, Clone, Default)]
pub struct RecentSamples {
    times: BTreeSet<Timestamp>,
}

impl RecentSamples {
    /// Remembers `times` (for example those read back from the store).
    pub fn from_times(times: impl IntoIterator<Item = Timestamp>) -> Self {
        let mut recent = Self::default();
        for ts in times {
            recent.remember(ts);
        }
        recent
    }

    /// Whether a sample at `ts` was stored already.
    pub fn contains(&self, ts: Timestamp) -> bool {
        self.times.contains(&ts)
    }

    /// Remembers a stored sample time, forgetting the oldest beyond the bound.
    pub fn remember(&mut self, ts: Timestamp) {
        self.times.insert(ts);
        while self.times.len() > REMEMBERED_SAMPLES {
            self.times.pop_first();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_stored_times_and_accepts_late_new_ones() {
        let mut recent = RecentSamples::from_times([Timestamp(10), Timestamp(20)]);
        assert!(recent.contains(Timestamp(10)));
        assert!(!recent.contains(Timestamp(15)), "a late sample that was never stored is new");
        recent.remember(Timestamp(15));
        assert!(recent.contains(Timestamp(15)));
    }

    #[test]
    fn stays_bounded_by_forgetting_the_oldest() {
        let recent = RecentSamples::from_times((0..REMEMBERED_SAMPLES as i64 + 10).map(Timestamp));
        assert!(!recent.contains(Timestamp(0)));
        assert!(recent.contains(Timestamp(REMEMBERED_SAMPLES as i64 + 9)));
        assert_eq!(recent.times.len(), REMEMBERED_SAMPLES);
    }
}
