//! Folding device events into state. Total: unknown ids are ignored, never a panic.

use super::event::DeviceEvent;
use super::state::{Alert, CommandState, DeviceCommandRecord, DeviceState, DeviceStatus, Maintenance};
use crate::ids::CommandId;
use crate::retention::trim_finished;

pub(super) fn evolve(mut state: DeviceState, event: DeviceEvent) -> DeviceState {
    state.updated_at = event.at();
    match event {
        DeviceEvent::Registered { registration, .. } => {
            state.firmware_version = registration.firmware_version.clone();
            state.status = DeviceStatus::Offline;
            state.profile = Some(registration);
        }
        DeviceEvent::StatusChanged { to, from_telemetry, .. } => {
            state.status = to;
            state.degraded_by_telemetry = to == DeviceStatus::Degraded && from_telemetry;
        }
        DeviceEvent::CommandIssued { command_id, name, params, deadline, at } => {
            state.commands.push(DeviceCommandRecord {
                command_id,
                name,
                params,
                delivered_at: None,
                issued_at: at,
                deadline,
                state: CommandState::Issued,
            });
        }
        DeviceEvent::CommandAccepted { command_id, .. } => {
            set_command_state(&mut state, &command_id, CommandState::Accepted)
        }
        DeviceEvent::CommandProgressed { command_id, percent, .. } => {
            set_command_state(&mut state, &command_id, CommandState::InProgress(percent))
        }
        DeviceEvent::CommandSucceeded { command_id, detail, .. } => {
            set_command_state(&mut state, &command_id, CommandState::Succeeded(detail))
        }
        DeviceEvent::CommandFailed { command_id, reason, .. } => {
            set_command_state(&mut state, &command_id, CommandState::Failed(reason))
        }
        DeviceEvent::CommandTimedOut { command_id, .. } => {
            set_command_state(&mut state, &command_id, CommandState::TimedOut)
        }
        DeviceEvent::FirmwareChanged { to, .. } => state.firmware_version = to,
        DeviceEvent::ConfigurationChanged { changes, .. } => state.configuration.extend(changes),
        DeviceEvent::AlertRaised { alert_id, severity, metric, message, at } => state.alerts.push(Alert {
            alert_id,
            severity,
            metric,
            message,
            raised_at: at,
            acknowledged_by: None,
            resolved_at: None,
        }),
        DeviceEvent::AlertAcknowledged { alert_id, by, .. } => {
            if let Some(alert) = state.alerts.iter_mut().find(|a| a.alert_id == alert_id) {
                alert.acknowledged_by = Some(by);
            }
        }
        DeviceEvent::AlertResolved { alert_id, at } => {
            if let Some(alert) = state.alerts.iter_mut().find(|a| a.alert_id == alert_id) {
                alert.resolved_at = Some(at);
            }
            trim_finished(&mut state.alerts, |a| a.resolved_at.is_some());
        }
        DeviceEvent::MaintenanceScheduled { maintenance_id, due, reason, .. } => {
            state.maintenance.push(Maintenance { maintenance_id, due, reason, completed_at: None })
        }
        DeviceEvent::MaintenanceCompleted { maintenance_id, at, .. } => {
            if let Some(item) = state.maintenance.iter_mut().find(|m| m.maintenance_id == maintenance_id) {
                item.completed_at = Some(at);
            }
            trim_finished(&mut state.maintenance, |m| m.completed_at.is_some());
        }
        DeviceEvent::Decommissioned { at, .. } => state.decommissioned_at = Some(at),
        DeviceEvent::CommandDelivered { command_id, at } => {
            if let Some(command) = state.commands.iter_mut().find(|c| c.command_id == command_id) {
                command.delivered_at = Some(at);
            }
        }
    }
    state
}

fn set_command_state(state: &mut DeviceState, command_id: &CommandId, new_state: CommandState) {
    if let Some(record) = state.commands.iter_mut().find(|c| &c.command_id == command_id) {
        record.state = new_state;
    }
    trim_finished(&mut state.commands, |c| !c.state.is_pending());
}
