//! What callers can ask of a device.

use super::condition_alerts::ConditionFinding;
use super::state::{AlertSeverity, DeviceKind, DeviceStatus, MetricDeclaration, Protocol};
use super::threshold_rule::ThresholdRule;
use crate::ids::{AlertId, CommandId, DeviceId, MaintenanceId};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Everything known about a device when it is registered.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceRegistration {
    /// External id, unique in the fleet.
    pub id: DeviceId,
    /// Human-readable name.
    pub name: String,
    /// What kind of energy asset it is.
    pub kind: DeviceKind,
    /// How it talks to the platform.
    pub protocol: Protocol,
    /// Site (plant, building) it belongs to.
    pub site: String,
    /// Region (grid zone, country) it belongs to.
    pub region: String,
    /// Free tags for grouping and campaign targeting.
    pub tags: Vec<String>,
    /// Firmware version at registration.
    pub firmware_version: String,
    /// Metrics the device reports, with units and normal ranges.
    pub metrics: Vec<MetricDeclaration>,
    /// Where it stands, when known (added in event schema 2; events of schema 1 read as none).
    #[serde(default)]
    pub location: Option<super::Location>,
}

/// How a device answered a command sent to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CommandResponse {
    /// The device took the command.
    Accepted,
    /// The device reports progress, in percent.
    Progress(u8),
    /// The device finished the command.
    Succeeded {
        /// What the device said.
        detail: String,
    },
    /// The device could not carry the command out.
    Failed {
        /// Why, in the device's words.
        reason: String,
    },
}

/// Per-metric extremes seen in one telemetry batch, as the device aggregate needs them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricExtremes {
    /// Metric name.
    pub metric: String,
    /// Smallest value in the batch.
    pub min: f64,
    /// Largest value in the batch.
    pub max: f64,
}

/// A command to the `Device` aggregate.
#[derive(Debug, Clone, PartialEq)]
pub enum DeviceCommand {
    /// Register a new device.
    Register {
        /// The device's description.
        registration: DeviceRegistration,
        /// When.
        at: Timestamp,
    },
    /// Change the operational status (an operator, or a status message from the device).
    ChangeStatus {
        /// The new status.
        status: DeviceStatus,
        /// Why, when known.
        reason: Option<String>,
        /// When.
        at: Timestamp,
    },
    /// Send a command down to the device.
    IssueCommand {
        /// New, unique id of the command.
        command_id: CommandId,
        /// Command name (`reboot`, `firmware_update`, ...).
        name: String,
        /// Parameters as JSON text.
        params: String,
        /// How long the device has to finish it.
        timeout_ms: u64,
        /// When.
        at: Timestamp,
    },
    /// Record the device's answer to a command.
    RecordCommandResponse {
        /// Which command.
        command_id: CommandId,
        /// What the device said.
        response: CommandResponse,
        /// When.
        at: Timestamp,
    },
    /// Mark a command whose deadline passed without an answer as timed out.
    TimeOutCommand {
        /// Which command.
        command_id: CommandId,
        /// When (must be at or after the command's deadline).
        at: Timestamp,
    },
    /// Record that the device now runs another firmware version.
    ChangeFirmware {
        /// The new version.
        version: String,
        /// When.
        at: Timestamp,
    },
    /// Change configuration keys (values are JSON text); keys already at that value are ignored.
    ChangeConfiguration {
        /// Keys and their new values.
        changes: BTreeMap<String, String>,
        /// When.
        at: Timestamp,
    },
    /// Raise an alert on the device.
    RaiseAlert {
        /// New, unique id of the alert.
        alert_id: AlertId,
        /// How serious it is.
        severity: AlertSeverity,
        /// The metric concerned, when there is one.
        metric: Option<String>,
        /// What is wrong.
        message: String,
        /// When.
        at: Timestamp,
    },
    /// A user acknowledges an active alert.
    AcknowledgeAlert {
        /// Which alert.
        alert_id: AlertId,
        /// Who acknowledged it.
        by: String,
        /// When.
        at: Timestamp,
    },
    /// Resolve an alert.
    ResolveAlert {
        /// Which alert.
        alert_id: AlertId,
        /// When.
        at: Timestamp,
    },
    /// Schedule maintenance.
    ScheduleMaintenance {
        /// New, unique id of the maintenance.
        maintenance_id: MaintenanceId,
        /// When it is due.
        due: Timestamp,
        /// Why.
        reason: String,
        /// When it was scheduled.
        at: Timestamp,
    },
    /// Record that scheduled maintenance was done.
    CompleteMaintenance {
        /// Which maintenance.
        maintenance_id: MaintenanceId,
        /// What was done.
        notes: String,
        /// When.
        at: Timestamp,
    },
    /// The device actor saw a telemetry batch: threshold crossings may change the status.
    ObserveTelemetry {
        /// Extremes per metric in the batch.
        extremes: Vec<MetricExtremes>,
        /// Time of the batch's last sample.
        at: Timestamp,
        /// Configured threshold rules (besides the declared normal ranges).
        rules: Vec<ThresholdRule>,
    },
    /// The maintenance analysis assessed the device's metrics: anomalies and forecast limit
    /// crossings may raise or resolve condition alerts.
    AssessCondition {
        /// What was found per metric.
        findings: Vec<ConditionFinding>,
        /// When the assessment was made.
        at: Timestamp,
    },
    /// The device's connection came up or went down: connecting brings an offline device
    /// online, losing the connection takes a connected one offline.
    ObservePresence {
        /// Whether the device is connected now.
        connected: bool,
        /// Why (for example `keep-alive expired`).
        reason: String,
        /// When.
        at: Timestamp,
    },
    /// The device acknowledged receiving a command (its MQTT PUBACK, or its broker's).
    RecordCommandDelivery {
        /// Which command.
        command_id: CommandId,
        /// When.
        at: Timestamp,
    },
    /// Take the device out of service for good.
    Decommission {
        /// Why.
        reason: String,
        /// When.
        at: Timestamp,
    },
}
