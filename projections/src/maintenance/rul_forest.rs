//! Remaining useful life from a random forest (smartcore) over windowed features of a device's
//! recent cycles: for each metric that varies in training, its mean, last value and slope over
//! the last `window` cycles, plus the cycles seen. The target is the remaining life capped where
//! wear is not yet visible (the piecewise-linear target of the prognostics literature).
//!
//! A device needs only its last `window` cycles, so memory per device is bounded. The model file
//! is JSON: `{"format": "optibid-rul-forest", "version": 1, "config": …, "columns": […],
//! "forest": …}`; a file of another format or version is refused.

use super::cmapss::{EngineRun, MEASURES};
use serde::{Deserialize, Serialize};
use smartcore::ensemble::random_forest_regressor::{RandomForestRegressor, RandomForestRegressorParameters};
use smartcore::linalg::basic::matrix::DenseMatrix;

/// The model file's format name.
pub const FORMAT: &str = "optibid-rul-forest";

/// The model file's version this build reads and writes.
pub const VERSION: u32 = 1;

/// How a forest is trained.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ForestConfig {
    /// Cycles the features look back over.
    pub window: usize,
    /// Remaining life is capped here.
    pub cap: f64,
    /// Trees in the forest.
    pub trees: usize,
    /// Deepest a tree grows.
    pub max_depth: u16,
    /// Fewest training rows in a leaf.
    pub min_samples_leaf: usize,
    /// Every how many cycles a training row is taken (1: every cycle).
    pub stride: usize,
    /// Seed of the bootstrap samples.
    pub seed: u64,
}

impl Default for ForestConfig {
    fn default() -> Self {
        Self { window: 30, cap: 125.0, trees: 50, max_depth: 12, min_samples_leaf: 4, stride: 1, seed: 2008 }
    }
}

/// Why a forest cannot be trained, read or used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ForestError {
    /// No run to learn from.
    #[error("no run-to-failure history to learn from")]
    NoData,
    /// Every metric is constant in training.
    #[error("every metric is constant: nothing shows wear")]
    NoSignal,
    /// The learning library refused.
    #[error("the forest cannot be fitted or asked: {0}")]
    Learning(String),
    /// The model file is not one this build reads.
    #[error("the model file is {found}, this build reads {FORMAT} version {VERSION}")]
    Format {
        /// What the file says it is.
        found: String,
    },
    /// The model file does not decode.
    #[error("the model file does not decode: {0}")]
    Decode(String),
}

/// A trained forest.
#[derive(Debug, Serialize, Deserialize)]
pub struct RulForest {
    format: String,
    version: u32,
    config: ForestConfig,
    /// The measures the features read (those that vary in training).
    columns: Vec<usize>,
    forest: RandomForestRegressor<f64, f64, DenseMatrix<f64>, Vec<f64>>,
}

impl RulForest {
    /// Trains on `runs`, each run to failure.
    pub fn fit(runs: &[EngineRun], config: ForestConfig) -> Result<Self, ForestError> {
        let columns = varying_columns(runs);
        if runs.iter().all(|run| run.cycles.is_empty()) {
            return Err(ForestError::NoData);
        }
        if columns.is_empty() {
            return Err(ForestError::NoSignal);
        }
        let mut rows = Vec::new();
        let mut targets = Vec::new();
        for run in runs {
            let life = run.cycles.len();
            for seen in (1..=life).rev().step_by(config.stride.max(1)) {
                rows.push(features(&run.cycles[..seen], &columns, config.window));
                targets.push(((life - seen) as f64).min(config.cap));
            }
        }
        let x = DenseMatrix::from_2d_vec(&rows).map_err(|e| ForestError::Learning(e.to_string()))?;
        let parameters = RandomForestRegressorParameters::default()
            .with_n_trees(config.trees.max(1))
            .with_max_depth(config.max_depth.max(1))
            .with_min_samples_leaf(config.min_samples_leaf.max(1))
            .with_m((rows[0].len() / 3).max(1))
            .with_seed(config.seed);
        let forest =
            RandomForestRegressor::fit(&x, &targets, parameters).map_err(|e| ForestError::Learning(e.to_string()))?;
        Ok(Self { format: FORMAT.to_owned(), version: VERSION, config, columns, forest })
    }

    /// The remaining life after `history` (a device's cycles so far, or at least its last
    /// `window` of them, oldest first, with the cycles seen in all).
    pub fn estimate(&self, history: &[[f64; MEASURES]], seen: usize) -> Result<f64, ForestError> {
        let mut row = features(history, &self.columns, self.config.window);
        if let Some(age) = row.last_mut() {
            *age = seen as f64;
        }
        let x = DenseMatrix::from_2d_vec(&vec![row]).map_err(|e| ForestError::Learning(e.to_string()))?;
        let estimate = self.forest.predict(&x).map_err(|e| ForestError::Learning(e.to_string()))?;
        Ok(estimate.first().copied().unwrap_or(self.config.cap).clamp(0.0, self.config.cap))
    }

    /// The training settings.
    pub fn config(&self) -> ForestConfig {
        self.config
    }

    /// The model as its file's JSON.
    pub fn to_json(&self) -> Result<String, ForestError> {
        serde_json::to_string(self).map_err(|e| ForestError::Decode(e.to_string()))
    }

    /// A model from its file's JSON, refusing another format or version.
    pub fn from_json(text: &str) -> Result<Self, ForestError> {
        #[derive(Deserialize)]
        struct Header {
            format: String,
            version: u32,
        }
        let header: Header = serde_json::from_str(text).map_err(|e| ForestError::Decode(e.to_string()))?;
        if header.format != FORMAT || header.version != VERSION {
            return Err(ForestError::Format { found: format!("{} version {}", header.format, header.version) });
        }
        serde_json::from_str(text).map_err(|e| ForestError::Decode(e.to_string()))
    }
}

/// The measures whose values vary across the training cycles.
fn varying_columns(runs: &[EngineRun]) -> Vec<usize> {
    (0..MEASURES)
        .filter(|&column| {
            let mut values = runs.iter().flat_map(|run| run.cycles.iter().map(move |row| row[column]));
            let Some(first) = values.next() else { return false };
            let (mut low, mut high) = (first, first);
            for value in values {
                low = low.min(value);
                high = high.max(value);
            }
            high - low > 1e-9 * high.abs().max(1.0)
        })
        .collect()
}

/// The features of the last `window` cycles of `history`: per column mean, last value and slope,
/// then the number of cycles in `history`.
fn features(history: &[[f64; MEASURES]], columns: &[usize], window: usize) -> Vec<f64> {
    let recent = &history[history.len().saturating_sub(window.max(1))..];
    let n = recent.len() as f64;
    let mean_t = (n - 1.0) / 2.0;
    let spread_t: f64 = (0..recent.len()).map(|t| (t as f64 - mean_t).powi(2)).sum();
    let mut row = Vec::with_capacity(columns.len() * 3 + 1);
    for &column in columns {
        let mean = recent.iter().map(|cycle| cycle[column]).sum::<f64>() / n.max(1.0);
        let slope = if spread_t > 0.0 {
            recent.iter().enumerate().map(|(t, cycle)| (t as f64 - mean_t) * (cycle[column] - mean)).sum::<f64>()
                / spread_t
        } else {
            0.0
        };
        row.extend([mean, recent.last().map_or(0.0, |cycle| cycle[column]), slope]);
    }
    row.push(history.len() as f64);
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Engines whose third measure climbs over their last 60 cycles.
    fn engines(count: u32) -> Vec<EngineRun> {
        (1..=count)
            .map(|unit| {
                let life = 120 + (unit as usize * 17) % 80;
                let cycles = (0..life)
                    .map(|cycle| {
                        let mut row = [0.0; MEASURES];
                        let wear = (cycle as f64 - (life as f64 - 60.0)).max(0.0);
                        row[3] = 640.0 + 0.2 * wear + ((cycle * 13 + unit as usize) % 7) as f64 * 0.05;
                        row[4] = 1_590.0 + ((cycle * 11) % 5) as f64 * 0.1;
                        row
                    })
                    .collect();
                EngineRun { unit, cycles }
            })
            .collect()
    }

    #[test]
    fn a_forest_follows_a_clean_wear_signal_and_its_file_reads_back() {
        let config = ForestConfig { trees: 20, stride: 2, ..ForestConfig::default() };
        let forest = RulForest::fit(&engines(20), config).expect("fits");
        let test = engines(24);
        let engine = &test[22];
        let life = engine.cycles.len();
        let late = forest.estimate(&engine.cycles[..life - 20], life - 20).expect("estimates");
        assert!((late - 20.0).abs() < 12.0, "20 cycles before failure: {late}");
        let early = forest.estimate(&engine.cycles[..30], 30).expect("estimates");
        assert!(early > 100.0, "no wear yet: near the cap, {early}");
        let reread = RulForest::from_json(&forest.to_json().expect("encodes")).expect("decodes");
        assert_eq!(reread.estimate(&engine.cycles[..life - 20], life - 20).expect("estimates"), late);
    }

    #[test]
    fn files_of_another_format_or_version_are_refused() {
        let forest = RulForest::fit(&engines(6), ForestConfig { trees: 2, ..ForestConfig::default() }).expect("fits");
        let text = forest.to_json().expect("encodes").replace("\"version\":1", "\"version\":2");
        assert!(matches!(RulForest::from_json(&text), Err(ForestError::Format { .. })));
        assert!(matches!(
            RulForest::from_json("{\"format\":\"other\",\"version\":1}"),
            Err(ForestError::Format { .. })
        ));
        assert!(matches!(RulForest::from_json("not json"), Err(ForestError::Decode(_))));
        let flat = vec![EngineRun { unit: 1, cycles: vec![[1.0; MEASURES]; 40] }];
        assert!(matches!(RulForest::fit(&flat, ForestConfig::default()), Err(ForestError::NoSignal)));
    }
}
