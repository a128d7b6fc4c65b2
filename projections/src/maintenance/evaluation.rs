//! Replays of labelled data sets through the detectors, for figures anyone can reproduce.

use super::cmapss::EngineRun;
use super::rul::{phm08_score, RulConfig, RulError, RulModel, RulTracker};

/// The estimate for one test engine at its last cycle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EngineEstimate {
    /// The engine's unit number.
    pub unit: u32,
    /// Cycles seen.
    pub cycles: usize,
    /// Estimated remaining cycles.
    pub estimate: f64,
    /// True remaining cycles.
    pub truth: f64,
}

/// RMSE and PHM08 score over test engines.
#[derive(Debug, Clone, PartialEq)]
pub struct RulEvaluation {
    /// Per engine, in file order.
    pub engines: Vec<EngineEstimate>,
    /// Root mean squared error of the estimates.
    pub rmse: f64,
    /// Sum of the PHM08 scores.
    pub score: f64,
    /// The fitted model's training residual spread.
    pub training_sigma: f64,
}

/// Why an evaluation cannot run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvaluationError {
    /// The model cannot be fitted.
    #[error(transparent)]
    Fit(#[from] RulError),
    /// Test engines and truth lines differ in number.
    #[error("{engines} test engines but {truths} truth values")]
    Count {
        /// Test engines.
        engines: usize,
        /// Truth lines.
        truths: usize,
    },
}

/// Fits on `train` (every engine run to failure), streams each `test` engine through a tracker
/// and compares the estimate at its last cycle with `truth` (capped truth is not used: the
/// truth is compared as given, as the PHM08 challenge does).
pub fn evaluate_rul(
    train: &[EngineRun],
    test: &[EngineRun],
    truth: &[f64],
    config: RulConfig,
) -> Result<RulEvaluation, EvaluationError> {
    if test.len() != truth.len() {
        return Err(EvaluationError::Count { engines: test.len(), truths: truth.len() });
    }
    let model = RulModel::fit(&rows_of(train), config)?;
    let mut engines = Vec::with_capacity(test.len());
    for (run, truth) in test.iter().zip(truth) {
        let mut tracker = RulTracker::default();
        for cycle in &run.cycles {
            tracker.observe(cycle, config.smoothing);
        }
        let estimate = model.estimate(&tracker).map_or(config.cap, |e| e.rul);
        engines.push(EngineEstimate { unit: run.unit, cycles: run.cycles.len(), estimate, truth: *truth });
    }
    let n = engines.len().max(1) as f64;
    let rmse = (engines.iter().map(|e| (e.estimate - e.truth).powi(2)).sum::<f64>() / n).sqrt();
    let score = engines.iter().map(|e| phm08_score(e.estimate, e.truth)).sum();
    Ok(RulEvaluation { engines, rmse, score, training_sigma: model.sigma() })
}

/// The runs as rows of values.
pub fn rows_of(runs: &[EngineRun]) -> Vec<Vec<Vec<f64>>> {
    runs.iter().map(|run| run.cycles.iter().map(|c| c.to_vec()).collect()).collect()
}

/// A labelled anomaly window, as indexes into the series (inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabelledWindow {
    /// First index inside.
    pub start: usize,
    /// Last index inside.
    pub end: usize,
}

/// How a score series meets labelled windows at one threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowReport {
    /// The threshold.
    pub threshold: f64,
    /// Per window: the index of the first score at or above the threshold inside it, if any.
    pub first_detection: Vec<Option<usize>>,
    /// Runs of scores at or above the threshold that start outside every window.
    pub false_alarms: usize,
    /// Values in the series.
    pub len: usize,
}

/// Compares `scores` with `windows` at `threshold`: detections inside each window and alarms
/// (runs of consecutive high scores) outside them.
pub fn window_report(scores: &[f64], windows: &[LabelledWindow], threshold: f64) -> WindowReport {
    let inside = |i: usize| windows.iter().any(|w| (w.start..=w.end).contains(&i));
    let first_detection = windows
        .iter()
        .map(|w| (w.start..=w.end.min(scores.len().saturating_sub(1))).find(|&i| scores[i] >= threshold))
        .collect();
    let mut false_alarms = 0;
    let mut alarm_on = false;
    for (i, score) in scores.iter().enumerate() {
        let high = *score >= threshold;
        if high && !alarm_on && !inside(i) {
            false_alarms += 1;
        }
        alarm_on = high;
    }
    WindowReport { threshold, first_detection, false_alarms, len: scores.len() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_reports_count_detections_and_false_alarms() {
        let scores = [0.0, 0.9, 0.9, 0.0, 0.0, 0.2, 0.8, 0.0, 0.7, 0.0];
        let windows = [LabelledWindow { start: 4, end: 7 }, LabelledWindow { start: 9, end: 9 }];
        let report = window_report(&scores, &windows, 0.5);
        assert_eq!(report.first_detection, vec![Some(6), None]);
        assert_eq!(report.false_alarms, 2, "the run at 1-2 and the alarm at 8");
    }

    #[test]
    fn truth_and_engines_must_match() {
        let run = EngineRun { unit: 1, cycles: vec![[0.0; super::super::cmapss::MEASURES]; 3] };
        let error = evaluate_rul(std::slice::from_ref(&run), std::slice::from_ref(&run), &[], RulConfig::default());
        assert_eq!(error, Err(EvaluationError::Count { engines: 1, truths: 0 }));
    }
}
