//! Condition alerts from the maintenance analysis of a device's telemetry.
//!
//! An anomaly on a metric raises one anomaly alert, which resolves itself once the metric has
//! been quiet again. A metric forecast to leave its normal range within a week raises one
//! maintenance alert (critical within a day), which resolves itself once the forecast moves
//! beyond two weeks or goes away; the gap between the two keeps a forecast near the edge from
//! raising and resolving alerts in turn. A device under maintenance raises none.

use super::event::DeviceEvent;
use super::state::{AlertSeverity, DeviceState, DeviceStatus};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// Prefix of anomaly alert ids.
const ANOMALY_PREFIX: &str = "anomaly-";
/// Prefix of maintenance alert ids.
const MAINTENANCE_PREFIX: &str = "maintenance-";
/// A forecast crossing within this many hours raises a maintenance alert.
pub const MAINTENANCE_DUE_HOURS: f64 = 168.0;
/// A forecast crossing within this many hours makes the maintenance alert critical.
pub const MAINTENANCE_URGENT_HOURS: f64 = 24.0;
/// A maintenance alert resolves once the forecast is further out than this.
pub const MAINTENANCE_CLEAR_HOURS: f64 = 336.0;
/// Forecasts less confident than this raise nothing.
pub const MIN_FORECAST_CONFIDENCE: f64 = 0.5;

/// What the analysis currently finds about one declared metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConditionFinding {
    /// The metric.
    pub metric: String,
    /// A current anomaly, if the metric has one.
    pub anomaly: Option<AnomalyFinding>,
    /// When the metric is expected to leave its normal range, if it is heading out.
    pub forecast: Option<LimitForecast>,
}

/// An anomaly the detector explains.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnomalyFinding {
    /// Which detector fired (spike, drift, stuck ...).
    pub detector: String,
    /// Score in 0..1.
    pub score: f64,
    /// The value that scored.
    pub value: f64,
    /// The baseline it was compared with.
    pub baseline: f64,
    /// Start of the minute it was seen in.
    pub seen_at: Timestamp,
}

/// A forecast crossing of a normal-range limit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LimitForecast {
    /// Hours until the crossing.
    pub hours: f64,
    /// Confidence of the trend behind it (0..1).
    pub confidence: f64,
}

impl LimitForecast {
    /// Whether this forecast calls for maintenance.
    pub fn is_due(&self) -> bool {
        self.hours <= MAINTENANCE_DUE_HOURS && self.confidence >= MIN_FORECAST_CONFIDENCE
    }

    /// Whether this forecast clears a raised maintenance alert.
    pub fn is_clear(&self) -> bool {
        self.hours > MAINTENANCE_CLEAR_HOURS
    }
}

/// The alert events `findings` cause on `state` at `at`.
pub(super) fn condition_alerts(state: &DeviceState, findings: &[ConditionFinding], at: Timestamp) -> Vec<DeviceEvent> {
    let Some(profile) = &state.profile else { return Vec::new() };
    let mut events = Vec::new();
    for finding in findings {
        let Some(index) = profile.metrics.iter().position(|m| m.name == finding.metric) else { continue };
        let open = |prefix: &str| {
            state.alerts.iter().find(|alert| {
                alert.resolved_at.is_none()
                    && alert.metric.as_deref() == Some(finding.metric.as_str())
                    && alert.alert_id.as_str().starts_with(prefix)
            })
        };
        let may_raise = state.status != DeviceStatus::Maintenance;
        let raise = |prefix: &str, severity: AlertSeverity, message: String| {
            let alert_id = state.fresh_alert_id(&format!("{prefix}{index}-{}", at.0))?;
            Some(DeviceEvent::AlertRaised { alert_id, severity, metric: Some(finding.metric.clone()), message, at })
        };
        match (&finding.anomaly, open(ANOMALY_PREFIX)) {
            (Some(anomaly), None) if may_raise => {
                let message = format!(
                    "{} {}: {} against a baseline of {} (score {:.2})",
                    finding.metric,
                    anomaly.detector,
                    round(anomaly.value),
                    round(anomaly.baseline),
                    anomaly.score
                );
                events.extend(raise(ANOMALY_PREFIX, AlertSeverity::Warning, message));
            }
            (None, Some(alert)) => events.push(DeviceEvent::AlertResolved { alert_id: alert.alert_id.clone(), at }),
            _ => {}
        }
        match (finding.forecast, open(MAINTENANCE_PREFIX)) {
            (Some(forecast), None) if may_raise && forecast.is_due() => {
                let severity = if forecast.hours <= MAINTENANCE_URGENT_HOURS {
                    AlertSeverity::Critical
                } else {
                    AlertSeverity::Warning
                };
                let message = format!(
                    "{} is expected to leave its normal range in {:.0} h (confidence {:.2}): maintenance is due",
                    finding.metric, forecast.hours, forecast.confidence
                );
                events.extend(raise(MAINTENANCE_PREFIX, severity, message));
            }
            (forecast, Some(alert)) if forecast.is_none_or(|f| f.is_clear()) => {
                events.push(DeviceEvent::AlertResolved { alert_id: alert.alert_id.clone(), at });
            }
            _ => {}
        }
    }
    events
}

/// `value` to three decimals, for messages.
fn round(value: f64) -> f64 {
    (value * 1_000.0).round() / 1_000.0
}
