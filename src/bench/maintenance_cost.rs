//! What the live maintenance analysis costs per series: one anomaly-detector step and one trend
//! step per value (the maintenance projection runs both on every metric's minute means), and the
//! memory one series' state holds, measured on many series at once, fed round-robin like a fleet.

use super::memory::resident_bytes;
use optibid_projections::maintenance::anomaly::{AnomalyConfig, AnomalyDetector};
use optibid_projections::maintenance::trend::TrendTracker;
use std::hint::black_box;
use std::time::Instant;

/// How much older trend points weigh less per hour (the projection's own setting).
const RETAIN_PER_HOUR: f64 = 0.995;

/// Figures of a run.
#[derive(Debug, Clone)]
pub struct MaintenanceCost {
    /// Series measured.
    pub series: usize,
    /// Values fed to each.
    pub values: usize,
    /// Median nanoseconds of one detector step, over the rounds after the detector's warm-up.
    pub detector_ns: f64,
    /// Median nanoseconds of one trend step.
    pub trend_ns: f64,
    /// Resident memory added per series (detector and trend), bytes.
    pub resident_per_series: f64,
    /// Bytes of one series' state as the projection stores it (postcard).
    pub stored_per_series: usize,
}

/// Feeds `values` minute values to each of `series` series (a daily cycle with noise and a slow
/// drift, different per series) and measures the steps and the memory.
pub fn measure(series: usize, values: usize) -> MaintenanceCost {
    let before = resident_bytes().unwrap_or(0);
    let config = AnomalyConfig::default();
    let mut state: Vec<(AnomalyDetector, TrendTracker)> =
        (0..series).map(|_| (AnomalyDetector::new(config), TrendTracker::default())).collect();
    let mut detector_rounds = Vec::with_capacity(values);
    let mut trend_rounds = Vec::with_capacity(values);
    for step in 0..values {
        let at_ms = step as i64 * 60_000;
        let inputs: Vec<f64> = (0..series).map(|n| value_of(n, step)).collect();
        let began = Instant::now();
        for ((detector, _), value) in state.iter_mut().zip(&inputs) {
            black_box(detector.observe(*value));
        }
        let detected = began.elapsed();
        let began = Instant::now();
        for ((_, trend), value) in state.iter_mut().zip(&inputs) {
            trend.observe(at_ms, *value, RETAIN_PER_HOUR);
        }
        let trended = began.elapsed();
        if step >= config.window {
            detector_rounds.push(detected.as_nanos() as f64 / series as f64);
            trend_rounds.push(trended.as_nanos() as f64 / series as f64);
        }
    }
    let after = resident_bytes().unwrap_or(0);
    let stored = postcard::to_stdvec(&state[0]).map(|bytes| bytes.len()).unwrap_or(0);
    black_box(&state);
    MaintenanceCost {
        series,
        values,
        detector_ns: median(&mut detector_rounds),
        trend_ns: median(&mut trend_rounds),
        resident_per_series: after.saturating_sub(before) as f64 / series.max(1) as f64,
        stored_per_series: stored,
    }
}

/// Series `n`'s value at minute `step`.
fn value_of(n: usize, step: usize) -> f64 {
    let day = (step % 1_440) as f64 / 1_440.0 * std::f64::consts::TAU;
    let noise = ((step * 7_919 + n * 104_729) % 1_000) as f64 / 1_000.0 - 0.5;
    50.0 + n as f64 % 17.0 + 10.0 * day.sin() + noise + step as f64 * 0.000_5
}

fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
