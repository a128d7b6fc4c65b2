//! The rules of an edge node.

use super::command::{EdgeNodeCommand, EdgeNodeRegistration, Heartbeat};
use super::error::EdgeNodeError;
use super::event::EdgeNodeEvent;
use super::state::{DeploymentState, EdgeNodeState, ServiceState};
use crate::ids::DeploymentId;
use crate::time::Timestamp;

pub(super) fn decide(state: &EdgeNodeState, command: EdgeNodeCommand) -> Result<Vec<EdgeNodeEvent>, EdgeNodeError> {
    if let EdgeNodeCommand::Register { registration, at } = command {
        return register(state, registration, at);
    }
    let profile = state.profile.as_ref().ok_or(EdgeNodeError::NotRegistered)?;
    if state.decommissioned_at.is_some() {
        return Err(EdgeNodeError::Decommissioned(profile.id.clone()));
    }
    let event = match command {
        EdgeNodeCommand::Register { .. } => return Err(EdgeNodeError::AlreadyRegistered(profile.id.clone())),
        EdgeNodeCommand::RecordHeartbeat(heartbeat) => {
            check_heartbeat(&heartbeat)?;
            EdgeNodeEvent::HeartbeatRecorded(heartbeat)
        }
        EdgeNodeCommand::RequestModelDeployment { deployment_id, model, version, optimisation, at } => {
            if state.deployment(&deployment_id).is_some() {
                return Err(EdgeNodeError::DuplicateDeployment(deployment_id));
            }
            if model.trim().is_empty() || version.trim().is_empty() {
                return Err(EdgeNodeError::InvalidModel);
            }
            EdgeNodeEvent::ModelDeploymentRequested { deployment_id, model, version, optimisation, at }
        }
        EdgeNodeCommand::ConfirmModelDeployment { deployment_id, at } => {
            expect_deployment(state, &deployment_id, "confirming", |s| matches!(s, DeploymentState::Requested))?;
            EdgeNodeEvent::ModelDeployed { deployment_id, at }
        }
        EdgeNodeCommand::FailModelDeployment { deployment_id, reason, at } => {
            expect_deployment(state, &deployment_id, "failing", |s| matches!(s, DeploymentState::Requested))?;
            EdgeNodeEvent::ModelDeploymentFailed { deployment_id, reason, at }
        }
        EdgeNodeCommand::RemoveModel { deployment_id, at } => {
            expect_deployment(state, &deployment_id, "removing", |s| matches!(s, DeploymentState::Deployed))?;
            EdgeNodeEvent::ModelRemoved { deployment_id, at }
        }
        EdgeNodeCommand::StartService { service, at } => {
            if service.trim().is_empty() {
                return Err(EdgeNodeError::InvalidService);
            }
            if state.services.get(&service) == Some(&ServiceState::Running) {
                return Err(EdgeNodeError::ServiceAlreadyRunning(service));
            }
            EdgeNodeEvent::ServiceStarted { service, at }
        }
        EdgeNodeCommand::StopService { service, at } => match state.services.get(&service) {
            Some(ServiceState::Running) => EdgeNodeEvent::ServiceStopped { service, at },
            Some(ServiceState::Stopped) => return Err(EdgeNodeError::ServiceNotRunning(service)),
            None => return Err(EdgeNodeError::UnknownService(service)),
        },
        EdgeNodeCommand::RestartService { service, at } => {
            if !state.services.contains_key(&service) {
                return Err(EdgeNodeError::UnknownService(service));
            }
            EdgeNodeEvent::ServiceRestarted { service, at }
        }
        EdgeNodeCommand::Decommission { reason, at } => EdgeNodeEvent::Decommissioned { reason, at },
    };
    Ok(vec![event])
}

fn register(
    state: &EdgeNodeState,
    registration: EdgeNodeRegistration,
    at: Timestamp,
) -> Result<Vec<EdgeNodeEvent>, EdgeNodeError> {
    if let Some(profile) = &state.profile {
        return Err(EdgeNodeError::AlreadyRegistered(profile.id.clone()));
    }
    if registration.name.trim().is_empty() {
        return Err(EdgeNodeError::InvalidRegistration { field: "name", reason: "must not be empty".to_owned() });
    }
    if registration.hardware.cores == 0 || registration.hardware.memory_mb == 0 {
        return Err(EdgeNodeError::InvalidRegistration {
            field: "hardware",
            reason: "cores and memory_mb must be positive".to_owned(),
        });
    }
    Ok(vec![EdgeNodeEvent::Registered { registration, at }])
}

fn check_heartbeat(heartbeat: &Heartbeat) -> Result<(), EdgeNodeError> {
    let percentages = [
        ("cpu_pct", Some(heartbeat.cpu_pct)),
        ("memory_pct", Some(heartbeat.memory_pct)),
        ("gpu_pct", heartbeat.gpu_pct),
    ];
    for (field, value) in percentages {
        if let Some(value) = value {
            if !(0.0..=100.0).contains(&value) {
                return Err(EdgeNodeError::InvalidHeartbeat { field, value });
            }
        }
    }
    for (field, value) in [("inference_rate", heartbeat.inference_rate), ("latency_ms", heartbeat.latency_ms)] {
        if !value.is_finite() || value < 0.0 {
            return Err(EdgeNodeError::InvalidHeartbeat { field, value });
        }
    }
    Ok(())
}

fn expect_deployment(
    state: &EdgeNodeState,
    deployment_id: &DeploymentId,
    action: &'static str,
    allowed: impl Fn(&DeploymentState) -> bool,
) -> Result<(), EdgeNodeError> {
    let deployment =
        state.deployment(deployment_id).ok_or_else(|| EdgeNodeError::UnknownDeployment(deployment_id.clone()))?;
    if allowed(&deployment.state) {
        return Ok(());
    }
    let state = match deployment.state {
        DeploymentState::Requested => "requested",
        DeploymentState::Deployed => "deployed",
        DeploymentState::Failed(_) => "failed",
        DeploymentState::Removed => "removed",
    };
    Err(EdgeNodeError::DeploymentState { deployment_id: deployment_id.clone(), state, action })
}
