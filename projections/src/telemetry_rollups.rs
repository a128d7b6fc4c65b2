//! Telemetry roll-ups: per device and metric, 1-minute, 1-hour and 1-day buckets (count, min,
//! max, mean, last) of the samples' own times, each resolution kept for its retention.
//!
//! Buckets live in the projection's sled tree, one key per bucket; buckets touched since the
//! last commit are also kept in memory, so a bucket updated twice in one batch is read back
//! right. When a series opens a new bucket, its buckets past retention are deleted.

use crate::projection::{ProjectedEvent, Projection, ProjectionError};
use optibid_domain::telemetry::TelemetryEvent;
use optibid_domain::FleetEvent;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The projection's name (and tree).
pub const NAME: &str = "telemetry_rollups";

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;

/// A bucket width.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// One minute, kept 7 days.
    #[serde(rename = "1m")]
    Minute,
    /// One hour, kept 90 days.
    #[serde(rename = "1h")]
    Hour,
    /// One day, kept 5 years.
    #[serde(rename = "1d")]
    Day,
}

impl Resolution {
    /// Every resolution, finest first.
    pub const ALL: [Resolution; 3] = [Resolution::Minute, Resolution::Hour, Resolution::Day];

    /// Bucket width, milliseconds.
    pub fn width_ms(self) -> i64 {
        match self {
            Resolution::Minute => MINUTE_MS,
            Resolution::Hour => HOUR_MS,
            Resolution::Day => DAY_MS,
        }
    }

    /// How long buckets are kept behind a series' newest bucket, milliseconds.
    pub fn retention_ms(self) -> i64 {
        match self {
            Resolution::Minute => 7 * DAY_MS,
            Resolution::Hour => 90 * DAY_MS,
            Resolution::Day => 5 * 365 * DAY_MS,
        }
    }

    /// Start of the bucket holding `ts`.
    pub fn bucket_start(self, ts: i64) -> i64 {
        ts.div_euclid(self.width_ms()) * self.width_ms()
    }

    fn code(self) -> u8 {
        match self {
            Resolution::Minute => b'm',
            Resolution::Hour => b'h',
            Resolution::Day => b'd',
        }
    }
}

/// The samples of one metric in one bucket.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    /// Start of the bucket (ms since the epoch).
    pub start: i64,
    /// Samples.
    pub count: u64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Sum of the values (the mean is `sum / count`).
    pub sum: f64,
    /// The value of the latest sample.
    pub last: f64,
    /// Time of the latest sample.
    pub last_ts: i64,
}

impl Bucket {
    fn first(start: i64, ts: i64, value: f64) -> Self {
        Self { start, count: 1, min: value, max: value, sum: value, last: value, last_ts: ts }
    }

    fn add(&mut self, ts: i64, value: f64) {
        self.count += 1;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
        self.sum += value;
        if ts >= self.last_ts {
            self.last = value;
            self.last_ts = ts;
        }
    }

    /// Mean of the values.
    pub fn mean(&self) -> f64 {
        self.sum / self.count.max(1) as f64
    }
}

/// The roll-up projection.
#[derive(Debug, Default)]
pub struct TelemetryRollups {
    tree: Option<sled::Tree>,
    /// Buckets written since the last commit, by key.
    staged: HashMap<Vec<u8>, Bucket>,
    /// The newest bucket of each series and resolution, by series prefix (samples mostly land
    /// in it, so it is not read back from the tree).
    newest: HashMap<Vec<u8>, Bucket>,
}

/// The key prefix of one series at one resolution.
fn series_prefix(device: &str, metric: &str, resolution: Resolution) -> Vec<u8> {
    let mut key = Vec::with_capacity(4 + device.len() + metric.len());
    key.push(u8::try_from(device.len()).unwrap_or(u8::MAX));
    key.extend_from_slice(device.as_bytes());
    key.extend_from_slice(&u16::try_from(metric.len()).unwrap_or(u16::MAX).to_be_bytes());
    key.extend_from_slice(metric.as_bytes());
    key.push(resolution.code());
    key
}

/// Sortable bytes of a signed time.
fn time_bytes(ms: i64) -> [u8; 8] {
    ((ms as u64) ^ (1 << 63)).to_be_bytes()
}

fn bucket_key(prefix: &[u8], start: i64) -> Vec<u8> {
    let mut key = prefix.to_vec();
    key.extend_from_slice(&time_bytes(start));
    key
}

fn decode(key: &[u8], bytes: &[u8]) -> Result<Bucket, ProjectionError> {
    postcard::from_bytes(bytes).map_err(|e| ProjectionError::Corrupt {
        projection: NAME,
        key: String::from_utf8_lossy(key).into_owned(),
        reason: e.to_string(),
    })
}

impl TelemetryRollups {
    fn stored(&self, key: &[u8]) -> Result<Option<Bucket>, ProjectionError> {
        if let Some(bucket) = self.staged.get(key) {
            return Ok(Some(*bucket));
        }
        match &self.tree {
            Some(tree) => tree.get(key)?.map(|bytes| decode(key, &bytes)).transpose(),
            None => Ok(None),
        }
    }

    /// Adds one device's samples of one metric (`(time, value)`, any order) to its buckets at
    /// every resolution. Consecutive samples of one bucket are summed up locally, so a bucket is
    /// staged once per run of samples rather than once per sample.
    fn record_series(
        &mut self,
        device: &str,
        metric: &str,
        samples: &[(i64, f64)],
        writes: &mut sled::Batch,
    ) -> Result<(), ProjectionError> {
        for resolution in Resolution::ALL {
            let prefix = series_prefix(device, metric, resolution);
            let mut open: Option<Bucket> = None;
            for &(ts, value) in samples {
                let start = resolution.bucket_start(ts);
                match &mut open {
                    Some(bucket) if bucket.start == start => bucket.add(ts, value),
                    _ => {
                        if let Some(done) = open.take() {
                            self.keep(&prefix, done);
                        }
                        open = Some(self.bucket_with(device, metric, &prefix, resolution, ts, value, writes)?);
                    }
                }
            }
            if let Some(done) = open {
                self.keep(&prefix, done);
            }
        }
        Ok(())
    }

    /// The bucket of the series `prefix` holding `ts`, with the sample added: the series'
    /// newest bucket, a bucket newer than it (new), or one read back from the staged buckets
    /// or the tree. Opening a new hour bucket prunes the device metric's buckets past retention.
    #[allow(clippy::too_many_arguments)]
    fn bucket_with(
        &mut self,
        device: &str,
        metric: &str,
        prefix: &[u8],
        resolution: Resolution,
        ts: i64,
        value: f64,
        writes: &mut sled::Batch,
    ) -> Result<Bucket, ProjectionError> {
        let start = resolution.bucket_start(ts);
        let existing = match self.newest.get(prefix) {
            Some(newest) if newest.start == start => Some(*newest),
            Some(newest) if newest.start < start => None,
            _ => self.stored(&bucket_key(prefix, start))?,
        };
        if let Some(mut bucket) = existing {
            bucket.add(ts, value);
            return Ok(bucket);
        }
        if resolution == Resolution::Hour {
            for pruned in Resolution::ALL {
                let series = series_prefix(device, metric, pruned);
                self.prune(&series, pruned.bucket_start(ts) - pruned.retention_ms(), writes)?;
            }
        }
        Ok(Bucket::first(start, ts, value))
    }

    /// Stages `bucket` of the series `prefix`, and keeps it as the series' newest when it is.
    fn keep(&mut self, prefix: &[u8], bucket: Bucket) {
        match self.newest.get_mut(prefix) {
            Some(newest) if newest.start <= bucket.start => *newest = bucket,
            Some(_) => {}
            None => {
                self.newest.insert(prefix.to_vec(), bucket);
            }
        }
        self.staged.insert(bucket_key(prefix, bucket.start), bucket);
    }

    /// Deletes the series' buckets that start before `cutoff`.
    fn prune(&mut self, prefix: &[u8], cutoff: i64, writes: &mut sled::Batch) -> Result<(), ProjectionError> {
        let Some(tree) = &self.tree else { return Ok(()) };
        let end = bucket_key(prefix, cutoff);
        for entry in tree.range(prefix.to_vec()..end) {
            let (key, _) = entry?;
            writes.remove(key.as_ref());
            self.staged.remove(key.as_ref());
        }
        Ok(())
    }

    /// The newest sample of one series, as `(time, value)`: the last value of its newest day
    /// bucket; `None` when the series has no sample.
    pub fn latest(&self, device: &str, metric: &str) -> Result<Option<(i64, f64)>, ProjectionError> {
        let prefix = series_prefix(device, metric, Resolution::Day);
        let stored = match &self.tree {
            Some(tree) => match tree.scan_prefix(&prefix).next_back() {
                Some(entry) => {
                    let (key, bytes) = entry?;
                    Some(decode(&key, &bytes)?)
                }
                None => None,
            },
            None => None,
        };
        let newest = [stored, self.newest.get(&prefix).copied()].into_iter().flatten().max_by_key(|b| b.last_ts);
        Ok(newest.map(|bucket| (bucket.last_ts, bucket.last)))
    }

    /// The buckets of one series between `from` and `to` (bucket starts, inclusive), oldest
    /// first, at most `limit`.
    pub fn series(
        &self,
        device: &str,
        metric: &str,
        resolution: Resolution,
        from: i64,
        to: i64,
        limit: usize,
    ) -> Result<Vec<Bucket>, ProjectionError> {
        let prefix = series_prefix(device, metric, resolution);
        let (low, high) = (resolution.bucket_start(from), resolution.bucket_start(to));
        let mut buckets: std::collections::BTreeMap<i64, Bucket> = std::collections::BTreeMap::new();
        if let Some(tree) = &self.tree {
            for entry in tree.range(bucket_key(&prefix, low)..=bucket_key(&prefix, high)) {
                let (key, bytes) = entry?;
                let bucket = decode(&key, &bytes)?;
                buckets.insert(bucket.start, bucket);
            }
        }
        for (key, bucket) in &self.staged {
            if key.starts_with(&prefix) && key.len() == prefix.len() + 8 && (low..=high).contains(&bucket.start) {
                buckets.insert(bucket.start, *bucket);
            }
        }
        Ok(buckets.into_values().take(limit).collect())
    }
}

impl Projection for TelemetryRollups {
    fn name(&self) -> &'static str {
        NAME
    }

    fn follows(&self, stream_kind: &str) -> bool {
        stream_kind == "telemetry"
    }

    fn restore(&mut self, tree: &sled::Tree) -> Result<(), ProjectionError> {
        self.tree = Some(tree.clone());
        self.staged.clear();
        self.newest.clear();
        Ok(())
    }

    fn apply(&mut self, event: &ProjectedEvent<'_>, writes: &mut sled::Batch) -> Result<(), ProjectionError> {
        let FleetEvent::Telemetry(TelemetryEvent::Recorded(batch)) = event.event else {
            return Ok(());
        };
        let mut series: Vec<(&str, Vec<(i64, f64)>)> = Vec::new();
        for sample in &batch.samples {
            for value in &sample.values {
                let index = match series.iter().position(|(metric, _)| *metric == value.metric) {
                    Some(index) => index,
                    None => {
                        series.push((&value.metric, Vec::with_capacity(batch.samples.len())));
                        series.len() - 1
                    }
                };
                series[index].1.push((sample.ts.0, value.value));
            }
        }
        for (metric, points) in &series {
            self.record_series(batch.device_id.as_str(), metric, points, writes)?;
        }
        Ok(())
    }

    fn stage(&mut self, writes: &mut sled::Batch) -> Result<(), ProjectionError> {
        for (key, bucket) in &self.staged {
            let bytes = postcard::to_allocvec(bucket)
                .map_err(|e| ProjectionError::Encode { projection: NAME, reason: e.to_string() })?;
            writes.insert(key.as_slice(), bytes);
        }
        Ok(())
    }

    fn committed(&mut self) {
        self.staged.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use optibid_domain::ids::DeviceId;
    use optibid_domain::telemetry::{MetricValue, TelemetryBatch, TelemetrySample};
    use optibid_domain::time::Timestamp;

    fn batch(device: &str, samples: &[(i64, f64)]) -> FleetEvent {
        let samples = samples
            .iter()
            .map(|(ts, v)| TelemetrySample {
                ts: Timestamp(*ts),
                values: vec![MetricValue { metric: "power_w".to_owned(), value: *v }],
            })
            .collect();
        FleetEvent::Telemetry(TelemetryEvent::Recorded(
            TelemetryBatch::new(DeviceId::new(device).expect("valid"), samples).expect("valid"),
        ))
    }

    /// Applies events in batches of `per_commit`, committing like the engine does.
    fn project(tree: &sled::Tree, events: &[FleetEvent], per_commit: usize) -> TelemetryRollups {
        let mut rollups = TelemetryRollups::default();
        rollups.restore(tree).expect("restores");
        for (chunk_index, chunk) in events.chunks(per_commit).enumerate() {
            let mut writes = sled::Batch::default();
            for (i, event) in chunk.iter().enumerate() {
                let position = (chunk_index * per_commit + i + 1) as u64;
                let projected = ProjectedEvent { position, stream: "telemetry/d-1", recorded_at: 0, event };
                rollups.apply(&projected, &mut writes).expect("applies");
            }
            rollups.stage(&mut writes).expect("stages");
            tree.apply_batch(writes).expect("writes");
            rollups.committed();
        }
        rollups
    }

    #[test]
    fn buckets_match_a_naive_computation() {
        let db = sled::Config::new().temporary(true).open().expect("db");
        let tree = db.open_tree(NAME).expect("tree");
        let mut state = 12345u64;
        let mut samples = Vec::new();
        for i in 0..3_000i64 {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let jitter = (state >> 33) as i64 % 20_000;
            samples.push((1_700_000_000_000 + i * 7_000 + jitter, ((state >> 11) % 10_000) as f64 / 10.0));
        }
        let events: Vec<FleetEvent> = samples.chunks(7).map(|chunk| batch("d-1", chunk)).collect();
        let whole = project(&tree, &events, 13);
        let restarted_tree = db.open_tree("restarted").expect("tree");
        let half = events.len() / 2;
        drop(project(&restarted_tree, &events[..half], 13));
        let restarted = project(&restarted_tree, &events[half..], 13);
        for (rollups, resolution) in [&whole, &restarted].into_iter().flat_map(|r| Resolution::ALL.map(|res| (r, res)))
        {
            let got =
                rollups.series("d-1", "power_w", resolution, i64::MIN / 4, i64::MAX / 4, usize::MAX).expect("reads");
            let mut naive: std::collections::BTreeMap<i64, Vec<(i64, f64)>> = std::collections::BTreeMap::new();
            for (ts, v) in &samples {
                naive.entry(resolution.bucket_start(*ts)).or_default().push((*ts, *v));
            }
            assert_eq!(got.len(), naive.len(), "{resolution:?}");
            for (bucket, (start, values)) in got.iter().zip(&naive) {
                assert_eq!(bucket.start, *start);
                assert_eq!(bucket.count, values.len() as u64);
                assert_eq!(bucket.min, values.iter().map(|v| v.1).fold(f64::INFINITY, f64::min));
                assert_eq!(bucket.max, values.iter().map(|v| v.1).fold(f64::NEG_INFINITY, f64::max));
                let mean = values.iter().map(|v| v.1).sum::<f64>() / values.len() as f64;
                assert!((bucket.mean() - mean).abs() < 1e-9);
                let latest = values.iter().max_by_key(|v| v.0).expect("non-empty");
                assert_eq!(bucket.last, latest.1);
            }
        }
    }

    #[test]
    fn the_latest_sample_is_the_newest_in_time_whatever_the_arrival_order() {
        let db = sled::Config::new().temporary(true).open().expect("db");
        let tree = db.open_tree(NAME).expect("tree");
        let day = DAY_MS;
        let events =
            vec![batch("d-1", &[(2 * day, 5.0)]), batch("d-1", &[(9 * day + 7, 8.5)]), batch("d-1", &[(3 * day, 1.0)])];
        let live = project(&tree, &events, 2);
        assert_eq!(live.latest("d-1", "power_w").expect("reads"), Some((9 * day + 7, 8.5)));
        let reopened = project(&tree, &[], 1);
        assert_eq!(reopened.latest("d-1", "power_w").expect("reads"), Some((9 * day + 7, 8.5)));
        assert_eq!(reopened.latest("d-1", "other").expect("reads"), None);
        assert_eq!(reopened.latest("d-2", "power_w").expect("reads"), None);
    }

    #[test]
    fn old_buckets_leave_after_their_retention() {
        let db = sled::Config::new().temporary(true).open().expect("db");
        let tree = db.open_tree(NAME).expect("tree");
        let day = DAY_MS;
        let events = vec![batch("d-1", &[(0, 1.0)]), batch("d-1", &[(3 * day, 2.0)]), batch("d-1", &[(8 * day, 3.0)])];
        let rollups = project(&tree, &events, 1);
        let minutes = rollups.series("d-1", "power_w", Resolution::Minute, 0, 9 * day, 100).expect("reads");
        assert_eq!(minutes.iter().map(|b| b.start).collect::<Vec<_>>(), vec![3 * day, 8 * day]);
        let days = rollups.series("d-1", "power_w", Resolution::Day, 0, 9 * day, 100).expect("reads");
        assert_eq!(days.len(), 3, "daily buckets are kept for years");
    }

    #[test]
    fn a_series_is_read_within_its_range_only() {
        let db = sled::Config::new().temporary(true).open().expect("db");
        let tree = db.open_tree(NAME).expect("tree");
        let events =
            vec![batch("d-1", &[(0, 1.0), (MINUTE_MS, 2.0), (2 * MINUTE_MS, 3.0)]), batch("d-10", &[(0, 9.0)])];
        let rollups = project(&tree, &events, 2);
        let middle = rollups.series("d-1", "power_w", Resolution::Minute, MINUTE_MS, MINUTE_MS + 5, 10).expect("reads");
        assert_eq!(middle.len(), 1);
        assert_eq!(middle[0].last, 2.0);
        assert!(rollups.series("d-1", "temp_c", Resolution::Minute, 0, DAY_MS, 10).expect("reads").is_empty());
        assert_eq!(rollups.series("d-10", "power_w", Resolution::Hour, 0, DAY_MS, 10).expect("reads")[0].last, 9.0);
    }
}
