//! Maintenance prediction: the detectors and estimators the maintenance read model runs, and
//! that `optibid maintenance detect | evaluate-rul` replay on labelled data sets.
//!
//! - [`anomaly`]: streaming anomaly detection per series (spike, drift, stuck sensor).
//! - [`rul`]: remaining useful life from degradation trends, with an interval and a risk.
//! - [`trend`]: time until a metric's trend leaves its normal range, with no training data.
//! - [`cmapss`]: the NASA C-MAPSS text format the RUL evaluation reads.
//! - [`evaluation`]: RMSE and PHM08 score on C-MAPSS, detections against labelled windows.

pub mod anomaly;
pub mod cmapss;
pub mod evaluation;
pub mod nab_score;
pub mod rul;
pub mod rul_forest;
pub mod trend;
