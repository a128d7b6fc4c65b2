//! Streaming anomaly detection for one series (a device's metric, sampled regularly): bounded
//! memory, one value at a time, and an explanation with every score.
//!
//! Three detectors share one rolling window of the last values:
//! - **spike**: the robust z-score of the value against the window's median and its median
//!   absolute deviation (MAD), so a few earlier outliers do not move the baseline;
//! - **drift**: a two-sided CUSUM of the robust z-scores, which accumulates a small but steady
//!   departure from the baseline that no single value shows;
//! - **stuck**: a run of identical values from a series whose window shows it normally varies.
//!
//! The score is the strongest of the three, mapped into 0..1.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Scale of the MAD that makes it estimate a normal distribution's standard deviation.
const MAD_TO_SIGMA: f64 = 1.4826;

/// How an [`AnomalyDetector`] is tuned.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AnomalyConfig {
    /// Values in the rolling window (the baseline's memory).
    pub window: usize,
    /// Values seen before any score other than 0 is given.
    pub warm_up: usize,
    /// Robust z-score at which the spike score reaches one half.
    pub spike_z: f64,
    /// Slack of the CUSUM, in robust standard deviations per value.
    pub drift_slack: f64,
    /// CUSUM level at which the drift score reaches one half.
    pub drift_level: f64,
    /// Identical values in a row at which the stuck score reaches one half.
    pub stuck_run: usize,
}

impl Default for AnomalyConfig {
    fn default() -> Self {
        Self { window: 168, warm_up: 48, spike_z: 5.0, drift_slack: 1.0, drift_level: 24.0, stuck_run: 12 }
    }
}

/// Which detector gave the score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnomalyKind {
    /// Nothing stands out.
    None,
    /// One value far from the baseline.
    Spike,
    /// A sustained departure from the baseline.
    Drift,
    /// The same value repeated.
    Stuck,
}

impl AnomalyKind {
    /// The detector's name, as alerts and the API show it.
    pub fn label(self) -> &'static str {
        match self {
            AnomalyKind::None => "none",
            AnomalyKind::Spike => "spike",
            AnomalyKind::Drift => "drift",
            AnomalyKind::Stuck => "stuck",
        }
    }
}

/// A score with its reasons.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AnomalyScore {
    /// 0 (normal) to 1 (certainly anomalous).
    pub score: f64,
    /// The detector that gave it.
    pub kind: AnomalyKind,
    /// The value scored.
    pub value: f64,
    /// The window's median before this value.
    pub baseline: f64,
    /// The window's robust standard deviation before this value.
    pub spread: f64,
    /// The value's robust z-score.
    pub z: f64,
}

/// The detector of one series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnomalyDetector {
    config: AnomalyConfig,
    window: VecDeque<f64>,
    seen: u64,
    cusum_high: f64,
    cusum_low: f64,
    last: Option<f64>,
    run: usize,
}

impl AnomalyDetector {
    /// A detector with `config` (window of at least 8 values).
    pub fn new(config: AnomalyConfig) -> Self {
        let config = AnomalyConfig { window: config.window.max(8), ..config };
        Self {
            config,
            window: VecDeque::with_capacity(config.window),
            seen: 0,
            cusum_high: 0.0,
            cusum_low: 0.0,
            last: None,
            run: 0,
        }
    }

    /// Scores `value`, then adds it to the window. Non-finite values are scored 1 as spikes
    /// and kept out of the window.
    pub fn observe(&mut self, value: f64) -> AnomalyScore {
        let (baseline, spread) = self.baseline();
        if !value.is_finite() {
            return AnomalyScore { score: 1.0, kind: AnomalyKind::Spike, value, baseline, spread, z: f64::INFINITY };
        }
        let z = if spread > 0.0 { (value - baseline) / spread } else { 0.0 };
        self.run = match self.last {
            Some(last) if last == value => self.run + 1,
            _ => 1,
        };
        self.last = Some(value);
        let warm = self.seen >= self.config.warm_up as u64;
        let mut result = AnomalyScore { score: 0.0, kind: AnomalyKind::None, value, baseline, spread, z };
        if warm && spread > 0.0 {
            let clipped = z.clamp(-3.0 * self.config.spike_z, 3.0 * self.config.spike_z);
            self.cusum_high = (self.cusum_high + clipped - self.config.drift_slack).max(0.0);
            self.cusum_low = (self.cusum_low - clipped - self.config.drift_slack).max(0.0);
            let candidates = [
                (AnomalyKind::Spike, squash(z.abs() / self.config.spike_z)),
                (AnomalyKind::Drift, squash(self.cusum_high.max(self.cusum_low) / self.config.drift_level)),
                (AnomalyKind::Stuck, squash(self.run as f64 / self.config.stuck_run as f64)),
            ];
            for (kind, score) in candidates {
                if score > result.score {
                    result.score = score;
                    result.kind = kind;
                }
            }
            if result.score < 0.05 {
                result.kind = AnomalyKind::None;
            }
        }
        if self.window.len() == self.config.window {
            self.window.pop_front();
        }
        self.window.push_back(value);
        self.seen += 1;
        result
    }

    /// Median and robust standard deviation of the window (0 spread while it is empty or flat).
    fn baseline(&self) -> (f64, f64) {
        if self.window.is_empty() {
            return (0.0, 0.0);
        }
        let mut values: Vec<f64> = self.window.iter().copied().collect();
        let median = median_of(&mut values);
        let mut deviations: Vec<f64> = values.iter().map(|v| (v - median).abs()).collect();
        let mad = median_of(&mut deviations);
        (median, mad * MAD_TO_SIGMA)
    }
}

/// Maps a ratio (1 at the detector's half-way mark) into 0..1: 0 stays 0, 1 gives 0.5.
fn squash(ratio: f64) -> f64 {
    if ratio <= 0.0 {
        return 0.0;
    }
    let r4 = ratio.powi(4);
    r4 / (1.0 + r4)
}

fn median_of(values: &mut [f64]) -> f64 {
    let n = values.len();
    let mid = n / 2;
    let (_, upper, _) = values.select_nth_unstable_by(mid, f64::total_cmp);
    let upper = *upper;
    if n % 2 == 1 {
        return upper;
    }
    let lower = values[..mid].iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (lower + upper) / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A daily cycle with small deterministic noise.
    fn normal(i: usize) -> f64 {
        let phase = (i % 24) as f64 / 24.0 * std::f64::consts::TAU;
        70.0 + 3.0 * phase.sin() + ((i * 7919) % 13) as f64 * 0.05
    }

    fn run(values: impl IntoIterator<Item = f64>) -> Vec<AnomalyScore> {
        let mut detector = AnomalyDetector::new(AnomalyConfig::default());
        values.into_iter().map(|v| detector.observe(v)).collect()
    }

    #[test]
    fn a_normal_series_stays_quiet() {
        let scores = run((0..2_000).map(normal));
        let loudest = scores.iter().map(|s| s.score).fold(0.0, f64::max);
        assert!(loudest < 0.5, "loudest score on a clean series: {loudest}");
    }

    #[test]
    fn a_spike_is_caught_and_explained() {
        let scores = run((0..500).map(|i| if i == 400 { normal(i) + 40.0 } else { normal(i) }));
        let spike = scores[400];
        assert!(spike.score > 0.9, "{spike:?}");
        assert_eq!(spike.kind, AnomalyKind::Spike);
        assert!((spike.baseline - 70.0).abs() < 4.0 && spike.z > 5.0, "{spike:?}");
        assert!(scores[..400].iter().all(|s| s.score < 0.5));
    }

    #[test]
    fn a_slow_drift_is_caught_before_it_is_large() {
        // The series swings by ±3 every day; the drift adds 0.05 per value.
        let scores = run((0..800).map(|i| if i >= 400 { normal(i) + (i - 400) as f64 * 0.05 } else { normal(i) }));
        let first = scores.iter().position(|s| s.score > 0.5).expect("the drift is detected");
        assert!(first >= 400, "no alarm before the drift starts (first at {first})");
        assert!(first < 400 + 180, "detected at a shift of {:.1}", (first - 400) as f64 * 0.05);
        assert_eq!(scores[first].kind, AnomalyKind::Drift);
    }

    #[test]
    fn a_stuck_sensor_is_caught() {
        let scores = run((0..600).map(|i| if i >= 500 { 71.234 } else { normal(i) }));
        let first = scores.iter().position(|s| s.score > 0.5).expect("the stuck sensor is detected");
        assert!((500..530).contains(&first), "first alarm at {first}");
        assert_eq!(scores[first].kind, AnomalyKind::Stuck);
    }

    #[test]
    fn non_finite_values_score_one_and_do_not_poison_the_baseline() {
        let mut detector = AnomalyDetector::new(AnomalyConfig::default());
        for i in 0..200 {
            detector.observe(normal(i));
        }
        assert_eq!(detector.observe(f64::NAN).score, 1.0);
        assert!(detector.observe(normal(200)).score < 0.5);
    }

    #[test]
    fn memory_is_bounded_by_the_window() {
        let mut detector = AnomalyDetector::new(AnomalyConfig { window: 32, ..AnomalyConfig::default() });
        for i in 0..10_000 {
            detector.observe(normal(i));
        }
        assert_eq!(detector.window.len(), 32);
    }
}
