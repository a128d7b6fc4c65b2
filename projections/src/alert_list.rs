//! The alert list: every device's alerts (active, acknowledged, and the latest resolved ones),
//! with the filters of `GET /api/v1/alerts`.

use crate::directory::{Directory, DirectoryEntry};
use crate::projection::ProjectedEvent;
use optibid_domain::device::{AlertSeverity, DeviceEvent};
use optibid_domain::FleetEvent;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Resolved alerts kept per device.
const RESOLVED_KEPT: usize = 50;

/// Where an alert is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// Raised, nobody has acknowledged it.
    Active,
    /// A user has acknowledged it; it is not resolved yet.
    Acknowledged,
    /// Resolved.
    Resolved,
}

/// One alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertEntry {
    /// The device.
    pub device_id: String,
    /// The alert's id (unique per device).
    pub alert_id: String,
    /// Severity.
    pub severity: AlertSeverity,
    /// The metric concerned, if any.
    pub metric: Option<String>,
    /// What happened.
    pub message: String,
    /// Where it is in its life.
    pub state: AlertState,
    /// When it was raised (device or rule time, ms).
    pub raised_at: i64,
    /// Who acknowledged it.
    pub acknowledged_by: Option<String>,
    /// When it was acknowledged (ms).
    pub acknowledged_at: Option<i64>,
    /// When it was resolved (ms).
    pub resolved_at: Option<i64>,
}

/// The alerts of one device, newest last.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeviceAlerts {
    /// Its alerts.
    pub alerts: Vec<AlertEntry>,
}

impl DirectoryEntry for DeviceAlerts {
    const PROJECTION: &'static str = "alert_list";
    const KINDS: &'static [&'static str] = &["device"];

    fn create(event: &ProjectedEvent<'_>) -> Option<Self> {
        let mut book = Self::default();
        book.update(event).then_some(book)
    }

    fn update(&mut self, event: &ProjectedEvent<'_>) -> bool {
        let FleetEvent::Device(device_event) = event.event else { return false };
        let book = self;
        match device_event {
            DeviceEvent::AlertRaised { alert_id, severity, metric, message, at } => {
                book.alerts.push(AlertEntry {
                    device_id: event.id().to_owned(),
                    alert_id: alert_id.to_string(),
                    severity: *severity,
                    metric: metric.clone(),
                    message: message.clone(),
                    state: AlertState::Active,
                    raised_at: at.0,
                    acknowledged_by: None,
                    acknowledged_at: None,
                    resolved_at: None,
                });
            }
            DeviceEvent::AlertAcknowledged { alert_id, by, at } => {
                let Some(alert) = book.alerts.iter_mut().find(|a| a.alert_id == alert_id.as_str()) else {
                    return false;
                };
                alert.state = AlertState::Acknowledged;
                alert.acknowledged_by = Some(by.clone());
                alert.acknowledged_at = Some(at.0);
            }
            DeviceEvent::AlertResolved { alert_id, at } => {
                let Some(alert) = book.alerts.iter_mut().find(|a| a.alert_id == alert_id.as_str()) else {
                    return false;
                };
                alert.state = AlertState::Resolved;
                alert.resolved_at = Some(at.0);
                let resolved = book.alerts.iter().filter(|a| a.state == AlertState::Resolved).count();
                if resolved > RESOLVED_KEPT {
                    if let Some(oldest) = book.alerts.iter().position(|a| a.state == AlertState::Resolved) {
                        book.alerts.remove(oldest);
                    }
                }
            }
            _ => return false,
        }
        true
    }
}

/// Filters of the alert list; `None` fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct AlertFilter {
    /// Life state; by default active and acknowledged ones.
    pub state: Option<AlertState>,
    /// Severity.
    pub severity: Option<AlertSeverity>,
    /// Device.
    pub device: Option<String>,
    /// Metric.
    pub metric: Option<String>,
    /// Only the alerts of these devices (those of a kind or region, say).
    #[serde(skip)]
    pub devices: Option<BTreeSet<String>>,
}

impl AlertFilter {
    /// Whether `alert` passes.
    pub fn matches(&self, alert: &AlertEntry) -> bool {
        self.state.map_or(alert.state != AlertState::Resolved, |state| alert.state == state)
            && self.severity.is_none_or(|severity| alert.severity == severity)
            && self.device.as_ref().is_none_or(|device| &alert.device_id == device)
            && self.metric.as_ref().is_none_or(|metric| alert.metric.as_ref() == Some(metric))
            && self.devices.as_ref().is_none_or(|devices| devices.contains(&alert.device_id))
    }
}

/// The alerts passing `filter`, newest first, at most `limit`, and how many pass in all.
pub fn list(alerts: &Directory<DeviceAlerts>, filter: &AlertFilter, limit: usize) -> (Vec<AlertEntry>, usize) {
    let mut matching: Vec<&AlertEntry> =
        alerts.entries().flat_map(|book| &book.alerts).filter(|alert| filter.matches(alert)).collect();
    matching.sort_by(|a, b| b.raised_at.cmp(&a.raised_at).then_with(|| a.device_id.cmp(&b.device_id)));
    let total = matching.len();
    (matching.into_iter().take(limit).cloned().collect(), total)
}
