//! Telemetry batches.
//!
//! Samples are high-volume, so they do not go into the `Device` aggregate's stream: each batch
//! (one per device per short window) is one event in the device's `telemetry/{id}` stream. The
//! device aggregate only sees each batch's per-metric extremes
//! ([`crate::device::DeviceCommand::ObserveTelemetry`]), to change its status on a crossing.

mod recent_samples;

pub use recent_samples::{RecentSamples, SampleVerdict, REMEMBERED_SAMPLES};

use crate::aggregate::EventName;
use crate::device::MetricExtremes;
use crate::ids::DeviceId;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Stream kind of telemetry streams (`telemetry/{device id}`).
pub const TELEMETRY_STREAM_KIND: &str = "telemetry";

/// Event schema version of [`TelemetryEvent`].
pub const TELEMETRY_SCHEMA_VERSION: u16 = 1;

/// Most samples one batch may hold.
pub const MAX_SAMPLES_PER_BATCH: usize = 10_000;

/// One metric reading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricValue {
    /// Metric name.
    pub metric: String,
    /// Value.
    pub value: f64,
}

/// All readings a device took at one instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TelemetrySample {
    /// When the readings were taken (device clock).
    pub ts: Timestamp,
    /// The readings.
    pub values: Vec<MetricValue>,
}

/// Why a telemetry batch is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TelemetryError {
    /// The batch holds no sample.
    #[error("the telemetry batch is empty")]
    Empty,
    /// The batch holds too many samples.
    #[error("the telemetry batch holds {0} samples; at most {MAX_SAMPLES_PER_BATCH} are allowed")]
    TooManySamples(usize),
    /// A sample holds no value.
    #[error("the sample at {0} holds no value")]
    EmptySample(Timestamp),
    /// A value is NaN or infinite.
    #[error("metric {metric:?} at {ts} is not a finite number")]
    NonFinite {
        /// Metric name.
        metric: String,
        /// Sample time.
        ts: Timestamp,
    },
    /// A metric name is empty or longer than 64 bytes.
    #[error("metric name {0:?} must be 1 to 64 bytes long")]
    BadMetricName(String),
}

/// A validated batch of samples from one device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TelemetryBatch {
    /// The device.
    pub device_id: DeviceId,
    /// The samples, in the order received.
    pub samples: Vec<TelemetrySample>,
}

impl TelemetryBatch {
    /// Builds a batch, refusing empty batches, empty samples, bad names and non-finite values.
    pub fn new(device_id: DeviceId, samples: Vec<TelemetrySample>) -> Result<Self, TelemetryError> {
        if samples.is_empty() {
            return Err(TelemetryError::Empty);
        }
        if samples.len() > MAX_SAMPLES_PER_BATCH {
            return Err(TelemetryError::TooManySamples(samples.len()));
        }
        for sample in &samples {
            if sample.values.is_empty() {
                return Err(TelemetryError::EmptySample(sample.ts));
            }
            for reading in &sample.values {
                if reading.metric.is_empty() || reading.metric.len() > 64 {
                    return Err(TelemetryError::BadMetricName(reading.metric.clone()));
                }
                if !reading.value.is_finite() {
                    return Err(TelemetryError::NonFinite { metric: reading.metric.clone(), ts: sample.ts });
                }
            }
        }
        Ok(Self { device_id, samples })
    }

    /// Time of the latest sample.
    pub fn last_ts(&self) -> Timestamp {
        self.samples.iter().map(|s| s.ts).max().unwrap_or_default()
    }

    /// Smallest and largest value of each metric, sorted by metric name.
    pub fn extremes(&self) -> Vec<MetricExtremes> {
        let mut by_metric: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
        for reading in self.samples.iter().flat_map(|s| &s.values) {
            let entry = by_metric.entry(&reading.metric).or_insert((reading.value, reading.value));
            entry.0 = entry.0.min(reading.value);
            entry.1 = entry.1.max(reading.value);
        }
        by_metric
            .into_iter()
            .map(|(metric, (min, max))| MetricExtremes { metric: metric.to_owned(), min, max })
            .collect()
    }
}

/// The event of a telemetry stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TelemetryEvent {
    /// A batch of samples was recorded.
    Recorded(TelemetryBatch),
}

impl EventName for TelemetryEvent {
    fn event_name(&self) -> &'static str {
        match self {
            TelemetryEvent::Recorded(_) => "telemetry.recorded",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(ts: i64, values: &[(&str, f64)]) -> TelemetrySample {
        TelemetrySample {
            ts: Timestamp(ts),
            values: values.iter().map(|(m, v)| MetricValue { metric: (*m).to_owned(), value: *v }).collect(),
        }
    }

    fn device() -> DeviceId {
        DeviceId::new("d1").expect("valid id")
    }

    #[test]
    fn refuses_empty_and_non_finite_batches() {
        assert_eq!(TelemetryBatch::new(device(), vec![]), Err(TelemetryError::Empty));
        assert_eq!(
            TelemetryBatch::new(device(), vec![sample(1, &[("p", f64::NAN)])]),
            Err(TelemetryError::NonFinite { metric: "p".to_owned(), ts: Timestamp(1) })
        );
        assert!(matches!(
            TelemetryBatch::new(device(), vec![sample(1, &[("p", f64::INFINITY)])]),
            Err(TelemetryError::NonFinite { .. })
        ));
        assert_eq!(TelemetryBatch::new(device(), vec![sample(1, &[])]), Err(TelemetryError::EmptySample(Timestamp(1))));
        assert_eq!(
            TelemetryBatch::new(device(), vec![sample(1, &[("", 1.0)])]),
            Err(TelemetryError::BadMetricName(String::new()))
        );
    }

    #[test]
    fn extremes_per_metric() {
        let batch = TelemetryBatch::new(
            device(),
            vec![sample(1, &[("p", 3.0), ("t", 20.0)]), sample(3, &[("p", -1.0)]), sample(2, &[("p", 7.5)])],
        )
        .expect("valid batch");
        assert_eq!(batch.last_ts(), Timestamp(3));
        assert_eq!(
            batch.extremes(),
            vec![
                MetricExtremes { metric: "p".to_owned(), min: -1.0, max: 7.5 },
                MetricExtremes { metric: "t".to_owned(), min: 20.0, max: 20.0 },
            ]
        );
    }
}
