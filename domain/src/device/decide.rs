//! The rules: which commands are accepted, and which events they cause.

use super::command::{CommandResponse, DeviceCommand, DeviceRegistration, MetricExtremes};
use super::condition_alerts::condition_alerts;
use super::error::DeviceError;
use super::event::DeviceEvent;
use super::range_alerts::{range_alerts, rule_alerts};
use super::state::{DeviceState, DeviceStatus};
use super::threshold_rule::ThresholdRule;
use crate::ids::CommandId;
use crate::time::Timestamp;

pub(super) fn decide(state: &DeviceState, command: DeviceCommand) -> Result<Vec<DeviceEvent>, DeviceError> {
    if let DeviceCommand::Register { registration, at } = command {
        return register(state, registration, at);
    }
    let profile = state.profile.as_ref().ok_or(DeviceError::NotRegistered)?;
    if state.decommissioned_at.is_some() {
        return Err(DeviceError::Decommissioned(profile.id.clone()));
    }
    match command {
        DeviceCommand::Register { .. } => Err(DeviceError::AlreadyRegistered(profile.id.clone())),
        DeviceCommand::ChangeStatus { status, reason, at } => change_status(state, status, reason, at),
        DeviceCommand::IssueCommand { command_id, name, params, timeout_ms, at } => {
            issue_command(state, command_id, name, params, timeout_ms, at)
        }
        DeviceCommand::RecordCommandResponse { command_id, response, at } => {
            record_response(state, command_id, response, at)
        }
        DeviceCommand::TimeOutCommand { command_id, at } => time_out_command(state, command_id, at),
        DeviceCommand::ChangeFirmware { version, at } => {
            if version.trim().is_empty() || version == state.firmware_version {
                return Err(DeviceError::FirmwareUnchanged(version));
            }
            Ok(vec![DeviceEvent::FirmwareChanged { from: state.firmware_version.clone(), to: version, at }])
        }
        DeviceCommand::ChangeConfiguration { mut changes, at } => {
            changes.retain(|key, value| state.configuration.get(key) != Some(value));
            if changes.is_empty() {
                return Ok(Vec::new());
            }
            Ok(vec![DeviceEvent::ConfigurationChanged { changes, at }])
        }
        DeviceCommand::RaiseAlert { alert_id, severity, metric, message, at } => {
            if state.alert(&alert_id).is_some() {
                return Err(DeviceError::DuplicateAlert(alert_id));
            }
            Ok(vec![DeviceEvent::AlertRaised { alert_id, severity, metric, message, at }])
        }
        DeviceCommand::AcknowledgeAlert { alert_id, by, at } => {
            let alert = state.alert(&alert_id).ok_or_else(|| DeviceError::UnknownAlert(alert_id.clone()))?;
            if alert.resolved_at.is_some() {
                return Err(DeviceError::AlertAlreadyResolved(alert_id));
            }
            if alert.acknowledged_by.is_some() {
                return Err(DeviceError::AlertAlreadyAcknowledged(alert_id));
            }
            Ok(vec![DeviceEvent::AlertAcknowledged { alert_id, by, at }])
        }
        DeviceCommand::ResolveAlert { alert_id, at } => {
            let alert = state.alert(&alert_id).ok_or_else(|| DeviceError::UnknownAlert(alert_id.clone()))?;
            if alert.resolved_at.is_some() {
                return Err(DeviceError::AlertAlreadyResolved(alert_id));
            }
            Ok(vec![DeviceEvent::AlertResolved { alert_id, at }])
        }
        DeviceCommand::ScheduleMaintenance { maintenance_id, due, reason, at } => {
            if state.maintenance_item(&maintenance_id).is_some() {
                return Err(DeviceError::DuplicateMaintenance(maintenance_id));
            }
            Ok(vec![DeviceEvent::MaintenanceScheduled { maintenance_id, due, reason, at }])
        }
        DeviceCommand::CompleteMaintenance { maintenance_id, notes, at } => {
            let item = state
                .maintenance_item(&maintenance_id)
                .ok_or_else(|| DeviceError::UnknownMaintenance(maintenance_id.clone()))?;
            if item.completed_at.is_some() {
                return Err(DeviceError::MaintenanceAlreadyCompleted(maintenance_id));
            }
            Ok(vec![DeviceEvent::MaintenanceCompleted { maintenance_id, notes, at }])
        }
        DeviceCommand::ObserveTelemetry { extremes, at, rules } => Ok(observe_telemetry(state, &extremes, at, &rules)),
        DeviceCommand::AssessCondition { findings, at } => Ok(condition_alerts(state, &findings, at)),
        DeviceCommand::ObservePresence { connected, reason, at } => Ok(observe_presence(state, connected, reason, at)),
        DeviceCommand::RecordCommandDelivery { command_id, at } => record_delivery(state, command_id, at),
        DeviceCommand::Decommission { reason, at } => Ok(vec![DeviceEvent::Decommissioned { reason, at }]),
    }
}

fn register(
    state: &DeviceState,
    registration: DeviceRegistration,
    at: Timestamp,
) -> Result<Vec<DeviceEvent>, DeviceError> {
    if let Some(profile) = &state.profile {
        return Err(DeviceError::AlreadyRegistered(profile.id.clone()));
    }
    if registration.name.trim().is_empty() {
        return Err(invalid("name", "must not be empty".to_owned()));
    }
    let mut seen = std::collections::BTreeSet::new();
    for metric in &registration.metrics {
        if metric.name.trim().is_empty() {
            return Err(invalid("metrics", "a metric name is empty".to_owned()));
        }
        if !seen.insert(metric.name.as_str()) {
            return Err(invalid("metrics", format!("metric {:?} is declared twice", metric.name)));
        }
        let bounds = [metric.normal_min, metric.normal_max];
        if bounds.iter().flatten().any(|bound| !bound.is_finite()) {
            return Err(invalid("metrics", format!("metric {:?} has a non-finite bound", metric.name)));
        }
        if let (Some(min), Some(max)) = (metric.normal_min, metric.normal_max) {
            if min > max {
                return Err(invalid(
                    "metrics",
                    format!("metric {:?} has normal_min {min} > normal_max {max}", metric.name),
                ));
            }
        }
    }
    if let Some(problem) = registration.location.as_ref().and_then(|location| location.problem()) {
        return Err(invalid("location", problem));
    }
    Ok(vec![DeviceEvent::Registered { registration, at }])
}

fn invalid(field: &'static str, reason: String) -> DeviceError {
    DeviceError::InvalidRegistration { field, reason }
}

fn change_status(
    state: &DeviceState,
    status: DeviceStatus,
    reason: Option<String>,
    at: Timestamp,
) -> Result<Vec<DeviceEvent>, DeviceError> {
    if state.status == status {
        return Err(DeviceError::StatusUnchanged(status));
    }
    Ok(vec![DeviceEvent::StatusChanged { from: state.status, to: status, reason, from_telemetry: false, at }])
}

fn issue_command(
    state: &DeviceState,
    command_id: CommandId,
    name: String,
    params: String,
    timeout_ms: u64,
    at: Timestamp,
) -> Result<Vec<DeviceEvent>, DeviceError> {
    if state.command(&command_id).is_some() {
        return Err(DeviceError::DuplicateCommand(command_id));
    }
    if name.trim().is_empty() {
        return Err(DeviceError::InvalidCommand("the command name is empty".to_owned()));
    }
    if timeout_ms == 0 {
        return Err(DeviceError::InvalidCommand("the timeout must be positive".to_owned()));
    }
    Ok(vec![DeviceEvent::CommandIssued { command_id, name, params, deadline: at.plus_millis(timeout_ms), at }])
}

fn pending_command(state: &DeviceState, command_id: &CommandId) -> Result<(), DeviceError> {
    let record = state.command(command_id).ok_or_else(|| DeviceError::UnknownCommand(command_id.clone()))?;
    if !record.state.is_pending() {
        return Err(DeviceError::CommandFinished(command_id.clone()));
    }
    Ok(())
}

fn record_response(
    state: &DeviceState,
    command_id: CommandId,
    response: CommandResponse,
    at: Timestamp,
) -> Result<Vec<DeviceEvent>, DeviceError> {
    pending_command(state, &command_id)?;
    let event = match response {
        CommandResponse::Accepted => DeviceEvent::CommandAccepted { command_id, at },
        CommandResponse::Progress(percent) if percent > 100 => return Err(DeviceError::InvalidProgress(percent)),
        CommandResponse::Progress(percent) => DeviceEvent::CommandProgressed { command_id, percent, at },
        CommandResponse::Succeeded { detail } => DeviceEvent::CommandSucceeded { command_id, detail, at },
        CommandResponse::Failed { reason } => DeviceEvent::CommandFailed { command_id, reason, at },
    };
    Ok(vec![event])
}

/// A connection coming up brings an offline device online; one going down takes an online or
/// degraded device offline. A device in maintenance keeps its status either way.
fn observe_presence(state: &DeviceState, connected: bool, reason: String, at: Timestamp) -> Vec<DeviceEvent> {
    let to = match (state.status, connected) {
        (DeviceStatus::Offline, true) => DeviceStatus::Online,
        (DeviceStatus::Online | DeviceStatus::Degraded, false) => DeviceStatus::Offline,
        _ => return Vec::new(),
    };
    vec![DeviceEvent::StatusChanged { from: state.status, to, reason: Some(reason), from_telemetry: false, at }]
}

/// The first acknowledgement of a delivery is recorded; a repeated one, or one for a command that
/// has finished meanwhile, changes nothing.
fn record_delivery(state: &DeviceState, command_id: CommandId, at: Timestamp) -> Result<Vec<DeviceEvent>, DeviceError> {
    let record = state.command(&command_id).ok_or_else(|| DeviceError::UnknownCommand(command_id.clone()))?;
    if record.delivered_at.is_some() || !record.state.is_pending() {
        return Ok(Vec::new());
    }
    Ok(vec![DeviceEvent::CommandDelivered { command_id, at }])
}

fn time_out_command(
    state: &DeviceState,
    command_id: CommandId,
    at: Timestamp,
) -> Result<Vec<DeviceEvent>, DeviceError> {
    pending_command(state, &command_id)?;
    let deadline = state.command(&command_id).map(|c| c.deadline).unwrap_or(at);
    if at < deadline {
        return Err(DeviceError::DeadlineNotReached { command_id, deadline });
    }
    Ok(vec![DeviceEvent::CommandTimedOut { command_id, at }])
}

/// Telemetry changes the status only on a crossing: out-of-range values degrade a device that is
/// online or offline; values back in range bring a telemetry-degraded device back online; any
/// telemetry brings an offline device online. A device in maintenance, or degraded by an
/// operator or by the device itself, keeps its status.
fn observe_telemetry(
    state: &DeviceState,
    extremes: &[MetricExtremes],
    at: Timestamp,
    rules: &[ThresholdRule],
) -> Vec<DeviceEvent> {
    let breach = extremes.iter().find_map(|seen| {
        let declared = state.metric(&seen.metric)?;
        [seen.min, seen.max]
            .into_iter()
            .find(|value| !declared.is_normal(*value))
            .map(|value| format!("{} = {value} {} is outside its normal range", seen.metric, declared.unit))
    });
    let target = match (state.status, breach) {
        (DeviceStatus::Maintenance, _) => None,
        (DeviceStatus::Degraded, Some(_)) => None,
        (DeviceStatus::Degraded, None) if state.degraded_by_telemetry => Some((DeviceStatus::Online, None)),
        (DeviceStatus::Degraded, None) => None,
        (DeviceStatus::Online | DeviceStatus::Offline, Some(reason)) => Some((DeviceStatus::Degraded, Some(reason))),
        (DeviceStatus::Offline, None) => Some((DeviceStatus::Online, Some("telemetry received".to_owned()))),
        (DeviceStatus::Online, None) => None,
    };
    target
        .map(|(to, reason)| DeviceEvent::StatusChanged { from: state.status, to, reason, from_telemetry: true, at })
        .into_iter()
        .chain(range_alerts(state, extremes, at))
        .chain(rule_alerts(state, extremes, at, rules))
        .collect()
}
