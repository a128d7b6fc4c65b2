//! Measurements behind `docs/benchmarks.md`, run with `optibid bench …` on a release build.
//!
//! Each measurement runs its ceiling in the same process and on the same folder type, so a
//! figure is read as a ratio to what the machine allows that day.
//!
//! - [`appends`]: durable appends per second with N concurrent appenders, beside raw sled batch
//!   inserts with one flush per batch and per event.
//! - [`replay`]: full-log verification throughput, beside a raw sled scan with a BLAKE3 chain.
//! - [`reopen`]: time to open a log with its stream index ready, checkpointed or not.
//! - [`ingest`]: MQTT publish to durable telemetry event, beside the broker alone.
//! - [`registrations`]: device registrations per second over real HTTP.
//! - [`rehydration`]: time to bring an instance back from snapshot plus tail.
//! - [`memory`]: resident memory of many live device actors.
//! - [`projection_lag`]: live lag of every read model while telemetry is appended.
//! - [`telemetry_fill`]: a log full of telemetry, for the projection rebuild and lag figures.
//! - [`workload`]: the device events and registrations the measurements write.

pub mod appends;
pub mod ingest;
pub mod maintenance_cost;
pub mod memory;
pub mod projection_lag;
pub mod registrations;
pub mod rehydration;
pub mod reopen;
pub mod replay;
pub mod telemetry_fill;
pub mod workload;

use std::time::Duration;

/// The value at quantile `q` (0..=1) of `samples`, which it sorts.
pub fn quantile(samples: &mut [Duration], q: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    samples.sort_unstable();
    let index = ((samples.len() - 1) as f64 * q).round() as usize;
    samples[index.min(samples.len() - 1)]
}
