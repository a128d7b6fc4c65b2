//! Threshold alerts from a device's declared normal ranges: a metric seen outside its range
//! raises one alert (warning, or critical when it is out by more than half the range's width),
//! and the alert resolves itself once a batch shows the metric back inside. A device under
//! maintenance raises none.

use super::command::MetricExtremes;
use super::event::DeviceEvent;
use super::state::{AlertSeverity, DeviceState, DeviceStatus, MetricDeclaration};
use super::threshold_rule::ThresholdRule;
use crate::time::Timestamp;

/// Prefix of the ids of alerts this rule raises (the rule resolves only its own alerts).
const RANGE_ALERT_PREFIX: &str = "range-";

/// The alert events `extremes` cause on `state` at `at`.
pub(super) fn range_alerts(state: &DeviceState, extremes: &[MetricExtremes], at: Timestamp) -> Vec<DeviceEvent> {
    let Some(profile) = &state.profile else { return Vec::new() };
    let mut events = Vec::new();
    for seen in extremes {
        let Some((index, declared)) = profile.metrics.iter().enumerate().find(|(_, m)| m.name == seen.metric) else {
            continue;
        };
        let open = state.alerts.iter().find(|alert| {
            alert.resolved_at.is_none()
                && alert.metric.as_deref() == Some(seen.metric.as_str())
                && alert.alert_id.as_str().starts_with(RANGE_ALERT_PREFIX)
        });
        let worst = [seen.min, seen.max]
            .into_iter()
            .filter(|v| !declared.is_normal(*v))
            .max_by(|a, b| excess(declared, *a).total_cmp(&excess(declared, *b)));
        match (worst, open) {
            (Some(_), None) if state.status == DeviceStatus::Maintenance => {}
            (Some(value), None) => {
                let Some(alert_id) = state.fresh_alert_id(&format!("{RANGE_ALERT_PREFIX}{index}-{}", at.0)) else {
                    continue;
                };
                let severity = match (declared.normal_min, declared.normal_max) {
                    (Some(min), Some(max)) if excess(declared, value) > (max - min) / 2.0 => AlertSeverity::Critical,
                    _ => AlertSeverity::Warning,
                };
                events.push(DeviceEvent::AlertRaised {
                    alert_id,
                    severity,
                    metric: Some(seen.metric.clone()),
                    message: format!(
                        "{} = {value} {} is outside its normal range {}",
                        seen.metric,
                        declared.unit,
                        range_text(declared)
                    ),
                    at,
                });
            }
            (None, Some(alert)) => events.push(DeviceEvent::AlertResolved { alert_id: alert.alert_id.clone(), at }),
            _ => {}
        }
    }
    events
}

/// How far `value` lies outside the declared range (0 inside).
fn excess(declared: &MetricDeclaration, value: f64) -> f64 {
    let below = declared.normal_min.map_or(0.0, |min| (min - value).max(0.0));
    let above = declared.normal_max.map_or(0.0, |max| (value - max).max(0.0));
    below.max(above)
}

fn range_text(declared: &MetricDeclaration) -> String {
    let bound = |b: Option<f64>| b.map_or("-".to_owned(), |v| v.to_string());
    format!("[{}, {}]", bound(declared.normal_min), bound(declared.normal_max))
}

/// The alert events configured `rules` cause on `state` at `at`: one alert per rule while it
/// is crossed, resolved once a batch shows the metric back on the right side.
pub(super) fn rule_alerts(
    state: &DeviceState,
    extremes: &[MetricExtremes],
    at: Timestamp,
    rules: &[ThresholdRule],
) -> Vec<DeviceEvent> {
    let Some(profile) = &state.profile else { return Vec::new() };
    let mut events = Vec::new();
    for rule in rules.iter().filter(|rule| rule.applies_to(profile.kind)) {
        let Some(seen) = extremes.iter().find(|e| e.metric == rule.metric) else { continue };
        let prefix = rule.alert_prefix();
        let open = state.alerts.iter().find(|a| a.resolved_at.is_none() && a.alert_id.as_str().starts_with(&prefix));
        match (rule.crossing([seen.min, seen.max]), open) {
            (Some(_), None) if state.status == DeviceStatus::Maintenance => {}
            (Some(value), None) => {
                let Some(alert_id) = state.fresh_alert_id(&format!("{prefix}{}", at.0)) else { continue };
                let bound = |b: Option<f64>| b.map_or("-".to_owned(), |v| v.to_string());
                events.push(DeviceEvent::AlertRaised {
                    alert_id,
                    severity: rule.severity,
                    metric: Some(rule.metric.clone()),
                    message: format!(
                        "rule {}: {} = {value} crossed (above {}, below {})",
                        rule.name,
                        rule.metric,
                        bound(rule.above),
                        bound(rule.below)
                    ),
                    at,
                });
            }
            (None, Some(alert)) => events.push(DeviceEvent::AlertResolved { alert_id: alert.alert_id.clone(), at }),
            _ => {}
        }
    }
    events
}
