//! What a device is, as folded from its events.

use super::command::DeviceRegistration;
use crate::ids::{AlertId, CommandId, MaintenanceId};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What kind of energy asset a device is.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    /// Photovoltaic inverter.
    SolarInverter,
    /// Wind turbine.
    WindTurbine,
    /// Battery energy storage system.
    BatteryStorage,
    /// Smart electricity meter.
    SmartMeter,
    /// Grid sensor (PMU, line monitor).
    GridSensor,
    /// Edge gateway seen as a device.
    EdgeGateway,
    /// Anything else.
    Other,
}

/// How a device talks to the platform.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// MQTT.
    Mqtt,
    /// OPC UA.
    Opcua,
    /// Modbus TCP or RTU.
    Modbus,
    /// CoAP.
    Coap,
    /// Zigbee.
    Zigbee,
    /// Z-Wave.
    Zwave,
    /// Matter.
    Matter,
    /// Thread.
    Thread,
}

/// Operational status of a device.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceStatus {
    /// Not heard from (the state of a newly registered device).
    #[default]
    Offline,
    /// Connected and within its normal ranges.
    Online,
    /// Connected, but a metric is outside its normal range or the device says so.
    Degraded,
    /// Taken out of operation for maintenance by an operator.
    Maintenance,
}

/// How serious an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertSeverity {
    /// For information.
    Info,
    /// Needs attention soon.
    Warning,
    /// Needs attention now.
    Critical,
}

/// A metric a device reports, with its unit and normal range.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricDeclaration {
    /// Metric name (`power_w`, `temperature_c`, ...).
    pub name: String,
    /// Unit (`W`, `°C`, `%`, ...).
    pub unit: String,
    /// Lowest normal value, if bounded below.
    pub normal_min: Option<f64>,
    /// Highest normal value, if bounded above.
    pub normal_max: Option<f64>,
}

impl MetricDeclaration {
    /// Whether `value` lies in the normal range.
    pub fn is_normal(&self, value: f64) -> bool {
        self.normal_min.is_none_or(|min| value >= min) && self.normal_max.is_none_or(|max| value <= max)
    }
}

/// Where a command sent to the device stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CommandState {
    /// Sent, no answer yet.
    Issued,
    /// The device took it.
    Accepted,
    /// The device reports progress, in percent.
    InProgress(u8),
    /// Done.
    Succeeded(String),
    /// The device could not do it.
    Failed(String),
    /// No answer before the deadline.
    TimedOut,
}

impl CommandState {
    /// Whether the command still waits for the device.
    pub fn is_pending(&self) -> bool {
        matches!(self, CommandState::Issued | CommandState::Accepted | CommandState::InProgress(_))
    }
}

/// A command sent to the device and what became of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceCommandRecord {
    /// Its id.
    pub command_id: CommandId,
    /// Its name.
    pub name: String,
    /// Its parameters (JSON text), kept so that it can be delivered again after a reconnect.
    pub params: String,
    /// When the device acknowledged receiving it, once it did.
    pub delivered_at: Option<Timestamp>,
    /// When it was issued.
    pub issued_at: Timestamp,
    /// When the device must have finished.
    pub deadline: Timestamp,
    /// Where it stands.
    pub state: CommandState,
}

/// An alert on the device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Its id.
    pub alert_id: AlertId,
    /// How serious.
    pub severity: AlertSeverity,
    /// Metric concerned, if any.
    pub metric: Option<String>,
    /// What is wrong.
    pub message: String,
    /// When raised.
    pub raised_at: Timestamp,
    /// Who acknowledged it, if anyone.
    pub acknowledged_by: Option<String>,
    /// When resolved, if it was.
    pub resolved_at: Option<Timestamp>,
}

/// Scheduled maintenance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Maintenance {
    /// Its id.
    pub maintenance_id: MaintenanceId,
    /// When due.
    pub due: Timestamp,
    /// Why.
    pub reason: String,
    /// When completed, if it was.
    pub completed_at: Option<Timestamp>,
}

/// The state of one device, folded from its stream.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DeviceState {
    /// The registration, once registered.
    pub profile: Option<DeviceRegistration>,
    /// Operational status.
    pub status: DeviceStatus,
    /// Whether the current `Degraded` status came from out-of-range telemetry (and so clears
    /// itself when the values are back to normal).
    pub degraded_by_telemetry: bool,
    /// Firmware version now running.
    pub firmware_version: String,
    /// Configuration keys and their values (JSON text).
    pub configuration: BTreeMap<String, String>,
    /// Commands, pending first-come, plus the most recent finished ones.
    pub commands: Vec<DeviceCommandRecord>,
    /// Active alerts plus the most recent resolved ones.
    pub alerts: Vec<Alert>,
    /// Open maintenance plus the most recently completed.
    pub maintenance: Vec<Maintenance>,
    /// When the last event happened.
    pub updated_at: Timestamp,
    /// Set once decommissioned; every command is then rejected.
    pub decommissioned_at: Option<Timestamp>,
}

impl DeviceState {
    /// Whether the device has been registered.
    pub fn is_registered(&self) -> bool {
        self.profile.is_some()
    }

    /// Pending commands the device has not acknowledged receiving yet, oldest first.
    pub fn undelivered_commands(&self) -> impl Iterator<Item = &DeviceCommandRecord> {
        self.commands.iter().filter(|c| c.state.is_pending() && c.delivered_at.is_none())
    }

    /// The command with this id, if the state still holds it.
    pub fn command(&self, id: &CommandId) -> Option<&DeviceCommandRecord> {
        self.commands.iter().find(|c| &c.command_id == id)
    }

    /// The alert with this id, if the state still holds it.
    pub fn alert(&self, id: &AlertId) -> Option<&Alert> {
        self.alerts.iter().find(|a| &a.alert_id == id)
    }

    /// `base` as an alert id, or `base.2`, `base.3` ... when the state already holds it (two
    /// alerts raised by the same rule at the same time); `None` when no valid id is left.
    pub fn fresh_alert_id(&self, base: &str) -> Option<AlertId> {
        std::iter::once(base.to_owned())
            .chain((2..).map(|n| format!("{base}.{n}")))
            .map(AlertId::new)
            .take_while(Result::is_ok)
            .flatten()
            .find(|id| self.alert(id).is_none())
    }

    /// The maintenance with this id, if the state still holds it.
    pub fn maintenance_item(&self, id: &MaintenanceId) -> Option<&Maintenance> {
        self.maintenance.iter().find(|m| &m.maintenance_id == id)
    }

    /// The declaration of `metric`, if the device declared it.
    pub fn metric(&self, metric: &str) -> Option<&MetricDeclaration> {
        self.profile.as_ref()?.metrics.iter().find(|m| m.name == metric)
    }
}
