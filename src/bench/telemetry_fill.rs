//! A log full of telemetry for the projection measurements: registered benchmark inverters and
//! their power readings, appended through the platform as the ingest does.

use super::workload::registration;
use crate::actors::{CommandMetadata, ExecuteError, Platform};
use futures_util::future::join_all;
use optibid_domain::device::DeviceError;
use optibid_domain::ids::DeviceId;
use optibid_domain::telemetry::{MetricValue, TelemetryBatch, TelemetrySample};
use optibid_domain::time::Timestamp;

/// Sample spacing, milliseconds.
const SAMPLE_EVERY_MS: i64 = 10_000;
/// Time of the first sample.
const FIRST_SAMPLE_MS: i64 = 1_764_000_000_000;

/// How much to write.
#[derive(Debug, Clone, Copy)]
pub struct Fill {
    /// Devices.
    pub devices: usize,
    /// Telemetry events per device.
    pub batches: usize,
    /// Samples per event.
    pub samples: usize,
}

/// Why the fill stopped.
#[derive(Debug, thiserror::Error)]
pub enum FillError {
    /// A device could not be registered or take telemetry.
    #[error("benchmark device {device}: {reason}")]
    Device {
        /// The device.
        device: String,
        /// Why.
        reason: String,
    },
}

/// The power reading of device `n` at sample `k`: a daylight curve that slowly warms up.
fn power(n: usize, k: usize) -> f64 {
    let phase = (k % 8_640) as f64 / 8_640.0 * std::f64::consts::TAU;
    (2_500.0 + 2_000.0 * phase.sin()).max(0.0) + (n % 7) as f64 * 10.0 + k as f64 * 0.01
}

/// Registers `devices` benchmark devices `bench-000000` …, keeping those already there.
pub async fn register(platform: &Platform, devices: usize) -> Result<(), FillError> {
    for n in 0..devices {
        let command = registration(n).map_err(|e| failed(n, e.to_string()))?;
        match platform.devices.execute(&device_name(n), command, CommandMetadata::default()).await {
            Ok(_) | Err(ExecuteError::Rejected(DeviceError::AlreadyRegistered(_))) => {}
            Err(error) => return Err(failed(n, error.to_string())),
        }
    }
    Ok(())
}

/// The telemetry event of device `n` in round `round`: `samples` power readings.
pub fn batch(n: usize, round: usize, samples: usize) -> Result<TelemetryBatch, FillError> {
    let device = DeviceId::new(device_name(n)).map_err(|e| failed(n, e.to_string()))?;
    let samples = (0..samples)
        .map(|i| {
            let k = round * samples + i;
            TelemetrySample {
                ts: Timestamp(FIRST_SAMPLE_MS + k as i64 * SAMPLE_EVERY_MS),
                values: vec![MetricValue { metric: "power_w".to_owned(), value: power(n, k) }],
            }
        })
        .collect();
    TelemetryBatch::new(device, samples).map_err(|e| failed(n, e.to_string()))
}

fn device_name(n: usize) -> String {
    format!("bench-{n:06}")
}

fn failed(n: usize, reason: String) -> FillError {
    FillError::Device { device: device_name(n), reason }
}

/// Registers `fill.devices` benchmark devices (keeping those already there) and appends their
/// telemetry, one round of one event per device at a time; `progress` hears the events written.
pub async fn fill(platform: &Platform, fill: Fill, mut progress: impl FnMut(u64)) -> Result<u64, FillError> {
    register(platform, fill.devices).await?;
    let mut written = 0;
    for round in 0..fill.batches {
        let appends = (0..fill.devices).map(|n| async move {
            let batch = batch(n, round, fill.samples)?;
            let device = batch.device_id.clone();
            platform
                .record_telemetry(&device, vec![batch], CommandMetadata::default())
                .await
                .map_err(|e| failed(n, e.to_string()))
        });
        for outcome in join_all(appends).await {
            outcome?;
            written += 1;
        }
        progress(written);
    }
    Ok(written)
}
