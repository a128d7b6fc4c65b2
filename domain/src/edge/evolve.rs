//! Folding edge node events into state. Total: unknown ids are ignored.

use super::event::EdgeNodeEvent;
use super::state::{DeploymentState, EdgeNodeState, ModelDeployment, ServiceState};
use crate::ids::DeploymentId;
use crate::retention::trim_finished;

pub(super) fn evolve(mut state: EdgeNodeState, event: EdgeNodeEvent) -> EdgeNodeState {
    state.updated_at = event.at();
    match event {
        EdgeNodeEvent::Registered { registration, .. } => state.profile = Some(registration),
        EdgeNodeEvent::HeartbeatRecorded(heartbeat) => state.last_heartbeat = Some(heartbeat),
        EdgeNodeEvent::ModelDeploymentRequested { deployment_id, model, version, optimisation, .. } => state
            .deployments
            .push(ModelDeployment { deployment_id, model, version, optimisation, state: DeploymentState::Requested }),
        EdgeNodeEvent::ModelDeployed { deployment_id, .. } => {
            set(&mut state, &deployment_id, DeploymentState::Deployed)
        }
        EdgeNodeEvent::ModelDeploymentFailed { deployment_id, reason, .. } => {
            set(&mut state, &deployment_id, DeploymentState::Failed(reason))
        }
        EdgeNodeEvent::ModelRemoved { deployment_id, .. } => set(&mut state, &deployment_id, DeploymentState::Removed),
        EdgeNodeEvent::ServiceStarted { service, .. } => {
            state.services.insert(service, ServiceState::Running);
        }
        EdgeNodeEvent::ServiceStopped { service, .. } => {
            state.services.insert(service, ServiceState::Stopped);
        }
        EdgeNodeEvent::ServiceRestarted { service, .. } => {
            *state.restarts.entry(service.clone()).or_default() += 1;
            state.services.insert(service, ServiceState::Running);
        }
        EdgeNodeEvent::Decommissioned { at, .. } => state.decommissioned_at = Some(at),
    }
    state
}

fn set(state: &mut EdgeNodeState, deployment_id: &DeploymentId, new_state: DeploymentState) {
    if let Some(deployment) = state.deployments.iter_mut().find(|d| &d.deployment_id == deployment_id) {
        deployment.state = new_state;
    }
    trim_finished(&mut state.deployments, |d| matches!(d.state, DeploymentState::Failed(_) | DeploymentState::Removed));
}
