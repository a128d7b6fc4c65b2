//! What happened to a device.

use super::command::DeviceRegistration;
use super::state::{AlertSeverity, DeviceStatus};
use crate::aggregate::EventName;
use crate::ids::{AlertId, CommandId, MaintenanceId};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An event of the `Device` aggregate. New variants go at the end: the stored encoding numbers
/// variants by position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceEvent {
    /// The device was registered.
    Registered {
        /// Its description.
        registration: DeviceRegistration,
        /// When.
        at: Timestamp,
    },
    /// The operational status changed.
    StatusChanged {
        /// Status before.
        from: DeviceStatus,
        /// Status after.
        to: DeviceStatus,
        /// Why, when known.
        reason: Option<String>,
        /// Whether the change came from telemetry crossing a normal range.
        from_telemetry: bool,
        /// When.
        at: Timestamp,
    },
    /// A command was sent to the device.
    CommandIssued {
        /// Its id.
        command_id: CommandId,
        /// Its name.
        name: String,
        /// Parameters as JSON text.
        params: String,
        /// Deadline for the device's answer.
        deadline: Timestamp,
        /// When.
        at: Timestamp,
    },
    /// The device took the command.
    CommandAccepted {
        /// Which command.
        command_id: CommandId,
        /// When.
        at: Timestamp,
    },
    /// The device reported progress.
    CommandProgressed {
        /// Which command.
        command_id: CommandId,
        /// Percent done.
        percent: u8,
        /// When.
        at: Timestamp,
    },
    /// The device finished the command.
    CommandSucceeded {
        /// Which command.
        command_id: CommandId,
        /// What the device said.
        detail: String,
        /// When.
        at: Timestamp,
    },
    /// The device could not carry the command out.
    CommandFailed {
        /// Which command.
        command_id: CommandId,
        /// Why.
        reason: String,
        /// When.
        at: Timestamp,
    },
    /// No answer came before the deadline.
    CommandTimedOut {
        /// Which command.
        command_id: CommandId,
        /// When.
        at: Timestamp,
    },
    /// The device now runs another firmware version.
    FirmwareChanged {
        /// Version before.
        from: String,
        /// Version after.
        to: String,
        /// When.
        at: Timestamp,
    },
    /// Configuration keys changed.
    ConfigurationChanged {
        /// Keys and their new values (JSON text).
        changes: BTreeMap<String, String>,
        /// When.
        at: Timestamp,
    },
    /// An alert was raised.
    AlertRaised {
        /// Its id.
        alert_id: AlertId,
        /// How serious.
        severity: AlertSeverity,
        /// Metric concerned, if any.
        metric: Option<String>,
        /// What is wrong.
        message: String,
        /// When.
        at: Timestamp,
    },
    /// A user acknowledged an alert.
    AlertAcknowledged {
        /// Which alert.
        alert_id: AlertId,
        /// Who.
        by: String,
        /// When.
        at: Timestamp,
    },
    /// An alert was resolved.
    AlertResolved {
        /// Which alert.
        alert_id: AlertId,
        /// When.
        at: Timestamp,
    },
    /// Maintenance was scheduled.
    MaintenanceScheduled {
        /// Its id.
        maintenance_id: MaintenanceId,
        /// When due.
        due: Timestamp,
        /// Why.
        reason: String,
        /// When scheduled.
        at: Timestamp,
    },
    /// Maintenance was done.
    MaintenanceCompleted {
        /// Which maintenance.
        maintenance_id: MaintenanceId,
        /// What was done.
        notes: String,
        /// When.
        at: Timestamp,
    },
    /// The device was taken out of service for good.
    Decommissioned {
        /// Why.
        reason: String,
        /// When.
        at: Timestamp,
    },
    /// The device received a command (its acknowledgement of the delivery).
    CommandDelivered {
        /// Which command.
        command_id: CommandId,
        /// When.
        at: Timestamp,
    },
}

impl DeviceEvent {
    /// The command this event is about, for the events of a command's life.
    pub fn command_id(&self) -> Option<&CommandId> {
        match self {
            DeviceEvent::CommandIssued { command_id, .. }
            | DeviceEvent::CommandAccepted { command_id, .. }
            | DeviceEvent::CommandProgressed { command_id, .. }
            | DeviceEvent::CommandSucceeded { command_id, .. }
            | DeviceEvent::CommandFailed { command_id, .. }
            | DeviceEvent::CommandTimedOut { command_id, .. }
            | DeviceEvent::CommandDelivered { command_id, .. } => Some(command_id),
            _ => None,
        }
    }

    /// When the event happened.
    pub fn at(&self) -> Timestamp {
        match self {
            DeviceEvent::Registered { at, .. }
            | DeviceEvent::StatusChanged { at, .. }
            | DeviceEvent::CommandIssued { at, .. }
            | DeviceEvent::CommandAccepted { at, .. }
            | DeviceEvent::CommandProgressed { at, .. }
            | DeviceEvent::CommandSucceeded { at, .. }
            | DeviceEvent::CommandFailed { at, .. }
            | DeviceEvent::CommandTimedOut { at, .. }
            | DeviceEvent::FirmwareChanged { at, .. }
            | DeviceEvent::ConfigurationChanged { at, .. }
            | DeviceEvent::AlertRaised { at, .. }
            | DeviceEvent::AlertAcknowledged { at, .. }
            | DeviceEvent::AlertResolved { at, .. }
            | DeviceEvent::MaintenanceScheduled { at, .. }
            | DeviceEvent::MaintenanceCompleted { at, .. }
            | DeviceEvent::Decommissioned { at, .. }
            | DeviceEvent::CommandDelivered { at, .. } => *at,
        }
    }
}

impl EventName for DeviceEvent {
    fn event_name(&self) -> &'static str {
        match self {
            DeviceEvent::Registered { .. } => "device.registered",
            DeviceEvent::StatusChanged { .. } => "device.status_changed",
            DeviceEvent::CommandIssued { .. } => "device.command_issued",
            DeviceEvent::CommandAccepted { .. } => "device.command_accepted",
            DeviceEvent::CommandProgressed { .. } => "device.command_progressed",
            DeviceEvent::CommandSucceeded { .. } => "device.command_succeeded",
            DeviceEvent::CommandFailed { .. } => "device.command_failed",
            DeviceEvent::CommandTimedOut { .. } => "device.command_timed_out",
            DeviceEvent::FirmwareChanged { .. } => "device.firmware_changed",
            DeviceEvent::ConfigurationChanged { .. } => "device.configuration_changed",
            DeviceEvent::AlertRaised { .. } => "device.alert_raised",
            DeviceEvent::AlertAcknowledged { .. } => "device.alert_acknowledged",
            DeviceEvent::AlertResolved { .. } => "device.alert_resolved",
            DeviceEvent::MaintenanceScheduled { .. } => "device.maintenance_scheduled",
            DeviceEvent::MaintenanceCompleted { .. } => "device.maintenance_completed",
            DeviceEvent::Decommissioned { .. } => "device.decommissioned",
            DeviceEvent::CommandDelivered { .. } => "device.command_delivered",
        }
    }
}
