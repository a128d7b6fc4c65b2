//! Remaining useful life from degradation trends: a device's metrics, smoothed online by an
//! exponentially weighted moving average (EWMA), map linearly to its remaining cycles, capped
//! where wear is not yet visible (the piecewise-linear target of the prognostics literature).
//!
//! [`RulModel::fit`] learns the map from run-to-failure histories (ridge least squares on
//! standardised features); [`RulTracker`] follows one device in bounded memory and asks the
//! model for an estimate with an interval, a confidence and the risk of failing soon. The
//! tracker's smoothing is the model's, so training and use see the same features.

use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

/// How a model is fitted.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RulConfig {
    /// Remaining life is capped here: early in life wear is invisible, so the target is flat.
    pub cap: f64,
    /// Weight of the newest value in the EWMA of each metric (0..1].
    pub smoothing: f64,
    /// Ridge penalty, relative to the number of training rows.
    pub ridge: f64,
    /// Whether the device's age (cycles seen) is a feature.
    pub use_age: bool,
    /// Error within which an estimate counts as right, for the confidence.
    pub tolerance: f64,
}

impl Default for RulConfig {
    fn default() -> Self {
        Self { cap: 125.0, smoothing: 0.3, ridge: 1e-3, use_age: false, tolerance: 20.0 }
    }
}

/// Why a model cannot be fitted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RulError {
    /// No run to learn from.
    #[error("no run-to-failure history to learn from")]
    NoData,
    /// Rows of different widths.
    #[error("run {run} has a row of {found} values, expected {expected}")]
    Width {
        /// Index of the run.
        run: usize,
        /// Values found.
        found: usize,
        /// Values expected.
        expected: usize,
    },
    /// Every metric is constant.
    #[error("every metric is constant: nothing shows wear")]
    NoSignal,
    /// The least-squares system is singular.
    #[error("the least-squares system is singular")]
    Singular,
}

/// A fitted model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RulModel {
    config: RulConfig,
    /// Width of the rows the model reads.
    width: usize,
    /// Columns used (the others are constant in training).
    columns: Vec<usize>,
    means: Vec<f64>,
    scales: Vec<f64>,
    weights: Vec<f64>,
    intercept: f64,
    /// Standard deviation of the training residuals.
    sigma: f64,
}

/// An estimate for one device.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RulEstimate {
    /// Remaining cycles (or time units of the series).
    pub rul: f64,
    /// Lower end of the 90% interval.
    pub low: f64,
    /// Upper end of the 90% interval.
    pub high: f64,
    /// Probability that the estimate is within the model's tolerance, lowered while the
    /// device's history is shorter than the smoothing's memory.
    pub confidence: f64,
}

impl RulEstimate {
    /// Probability that the device fails within `horizon`.
    pub fn failure_risk(&self, horizon: f64) -> f64 {
        let sigma = ((self.high - self.low) / (2.0 * 1.645)).max(1e-9);
        normal_cdf((horizon - self.rul) / sigma)
    }
}

/// The smoothed state of one device.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RulTracker {
    smoothed: Vec<f64>,
    age: u64,
}

impl RulTracker {
    /// Folds one row of metrics into the averages (a row of another width restarts them).
    pub fn observe(&mut self, row: &[f64], smoothing: f64) {
        if self.smoothed.len() != row.len() {
            self.smoothed = row.to_vec();
            self.age = 1;
            return;
        }
        for (average, value) in self.smoothed.iter_mut().zip(row) {
            *average += smoothing * (value - *average);
        }
        self.age += 1;
    }

    /// The features the model reads: smoothed metrics, then the age when the model uses it.
    fn features(&self, config: &RulConfig) -> Vec<f64> {
        let mut features = self.smoothed.clone();
        if config.use_age {
            features.push(self.age as f64);
        }
        features
    }
}

impl RulModel {
    /// Fits a model on run-to-failure histories: each run's rows in time order, its last row
    /// the last one before failure.
    pub fn fit(runs: &[Vec<Vec<f64>>], config: RulConfig) -> Result<Self, RulError> {
        let width = runs.iter().flat_map(|run| run.first()).map(Vec::len).next().ok_or(RulError::NoData)?;
        let mut rows = Vec::new();
        let mut targets = Vec::new();
        for (index, run) in runs.iter().enumerate() {
            let mut tracker = RulTracker::default();
            for (t, row) in run.iter().enumerate() {
                if row.len() != width {
                    return Err(RulError::Width { run: index, found: row.len(), expected: width });
                }
                tracker.observe(row, config.smoothing);
                rows.push(tracker.features(&config));
                targets.push(((run.len() - 1 - t) as f64).min(config.cap));
            }
        }
        let feature_count = rows[0].len();
        let mut columns = Vec::new();
        let mut means = Vec::new();
        let mut scales = Vec::new();
        for column in 0..feature_count {
            let n = rows.len() as f64;
            let mean = rows.iter().map(|r| r[column]).sum::<f64>() / n;
            let variance = rows.iter().map(|r| (r[column] - mean).powi(2)).sum::<f64>() / n;
            if variance.sqrt() > 1e-9 * mean.abs().max(1.0) {
                columns.push(column);
                means.push(mean);
                scales.push(variance.sqrt());
            }
        }
        if columns.is_empty() {
            return Err(RulError::NoSignal);
        }
        let target_mean = targets.iter().sum::<f64>() / targets.len() as f64;
        let x = DMatrix::from_fn(rows.len(), columns.len(), |i, j| (rows[i][columns[j]] - means[j]) / scales[j]);
        let y = DVector::from_iterator(targets.len(), targets.iter().map(|t| t - target_mean));
        let mut gram = x.transpose() * &x;
        let penalty = config.ridge * rows.len() as f64;
        for j in 0..columns.len() {
            gram[(j, j)] += penalty;
        }
        let weights = gram.cholesky().ok_or(RulError::Singular)?.solve(&(x.transpose() * &y));
        let residuals = &x * &weights - &y;
        let sigma = (residuals.norm_squared() / rows.len() as f64).sqrt();
        Ok(Self {
            config,
            width,
            columns,
            means,
            scales,
            weights: weights.iter().copied().collect(),
            intercept: target_mean,
            sigma,
        })
    }

    /// The settings the model was fitted with (the tracker must smooth with the same weight).
    pub fn config(&self) -> &RulConfig {
        &self.config
    }

    /// Standard deviation of the training residuals.
    pub fn sigma(&self) -> f64 {
        self.sigma
    }

    /// The estimate for a tracked device; `None` before its first row or for rows of another
    /// width than the model's.
    pub fn estimate(&self, tracker: &RulTracker) -> Option<RulEstimate> {
        if tracker.age == 0 || tracker.smoothed.len() != self.width {
            return None;
        }
        let features = tracker.features(&self.config);
        let raw = self.intercept
            + self
                .columns
                .iter()
                .zip(self.means.iter().zip(&self.scales))
                .zip(&self.weights)
                .map(|((column, (mean, scale)), weight)| (features[*column] - mean) / scale * weight)
                .sum::<f64>();
        let rul = raw.clamp(0.0, self.config.cap);
        let warmed = (tracker.age as f64 * self.config.smoothing).min(1.0);
        let within = erf(self.config.tolerance / (self.sigma.max(1e-9) * std::f64::consts::SQRT_2));
        Some(RulEstimate {
            rul,
            low: (rul - 1.645 * self.sigma).max(0.0),
            high: rul + 1.645 * self.sigma,
            confidence: within * warmed,
        })
    }
}

/// The PHM08 score of one estimate: exp(-d/13) - 1 when early (d < 0), exp(d/10) - 1 when late.
pub fn phm08_score(estimate: f64, truth: f64) -> f64 {
    let d = estimate - truth;
    if d < 0.0 {
        (-d / 13.0).exp() - 1.0
    } else {
        (d / 10.0).exp() - 1.0
    }
}

fn normal_cdf(z: f64) -> f64 {
    0.5 * (1.0 + erf(z / std::f64::consts::SQRT_2))
}

/// The error function (Abramowitz and Stegun 7.1.26, absolute error below 1.5e-7).
fn erf(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs());
    let polynomial =
        t * (0.254_829_592 + t * (-0.284_496_736 + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let value = 1.0 - polynomial * (-x * x).exp();
    value.copysign(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs of `life` cycles where metric 0 rises with wear after cycle 40, metric 1 is noise and
    /// metric 2 is constant.
    fn runs(lives: &[usize]) -> Vec<Vec<Vec<f64>>> {
        lives
            .iter()
            .map(|&life| {
                (0..life)
                    .map(|t| {
                        let wear = (t as f64 - (life as f64 - 125.0)).max(0.0);
                        vec![100.0 + 0.2 * wear + ((t * 31) % 7) as f64 * 0.1, ((t * 17) % 5) as f64, 3.0]
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn a_visible_wear_trend_gives_a_close_estimate() {
        let model = RulModel::fit(&runs(&[180, 200, 220, 240, 260]), RulConfig::default()).expect("fits");
        assert_eq!(model.columns.len(), 2, "the constant metric is dropped");
        let test = &runs(&[230])[0];
        let mut tracker = RulTracker::default();
        for row in &test[..200] {
            tracker.observe(row, model.config().smoothing);
        }
        let estimate = model.estimate(&tracker).expect("an estimate");
        assert!((estimate.rul - 30.0).abs() < 15.0, "{estimate:?}");
        assert!(estimate.low <= estimate.rul && estimate.rul <= estimate.high);
        assert!(estimate.failure_risk(estimate.rul + 50.0) > 0.9);
        assert!(estimate.failure_risk(0.0) < estimate.failure_risk(estimate.rul));
        assert!(estimate.confidence > 0.0 && estimate.confidence <= 1.0);
    }

    #[test]
    fn fitting_refuses_what_it_cannot_learn() {
        assert_eq!(RulModel::fit(&[], RulConfig::default()), Err(RulError::NoData));
        let flat = vec![vec![vec![1.0, 2.0]; 10]];
        let no_age = RulConfig { use_age: false, ..RulConfig::default() };
        assert_eq!(RulModel::fit(&flat, no_age), Err(RulError::NoSignal));
        let ragged = vec![vec![vec![1.0, 2.0], vec![1.0]]];
        assert!(matches!(RulModel::fit(&ragged, RulConfig::default()), Err(RulError::Width { .. })));
    }

    #[test]
    fn the_phm08_score_punishes_late_estimates_more() {
        assert_eq!(phm08_score(50.0, 50.0), 0.0);
        assert!(phm08_score(60.0, 50.0) > phm08_score(40.0, 50.0));
        assert!((phm08_score(40.0, 50.0) - ((10.0f64 / 13.0).exp() - 1.0)).abs() < 1e-12);
        assert!((erf(1.0) - 0.842_700_79).abs() < 1e-6);
    }
}
