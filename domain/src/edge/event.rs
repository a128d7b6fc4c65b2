//! What happened to an edge node.

use super::command::{EdgeNodeRegistration, Heartbeat};
use super::state::OptimisationLevel;
use crate::aggregate::EventName;
use crate::ids::DeploymentId;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// An event of the `EdgeNode` aggregate. New variants go at the end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeNodeEvent {
    /// The node was registered.
    Registered {
        /// Its description.
        registration: EdgeNodeRegistration,
        /// When.
        at: Timestamp,
    },
    /// The node reported its resource use.
    HeartbeatRecorded(Heartbeat),
    /// A model deployment was asked for.
    ModelDeploymentRequested {
        /// Its id.
        deployment_id: DeploymentId,
        /// Model name.
        model: String,
        /// Model version.
        version: String,
        /// Optimisation level.
        optimisation: OptimisationLevel,
        /// When.
        at: Timestamp,
    },
    /// The model runs on the node.
    ModelDeployed {
        /// Which deployment.
        deployment_id: DeploymentId,
        /// When.
        at: Timestamp,
    },
    /// The deployment failed.
    ModelDeploymentFailed {
        /// Which deployment.
        deployment_id: DeploymentId,
        /// Why.
        reason: String,
        /// When.
        at: Timestamp,
    },
    /// The model was removed.
    ModelRemoved {
        /// Which deployment.
        deployment_id: DeploymentId,
        /// When.
        at: Timestamp,
    },
    /// A service started.
    ServiceStarted {
        /// Service name.
        service: String,
        /// When.
        at: Timestamp,
    },
    /// A service stopped.
    ServiceStopped {
        /// Service name.
        service: String,
        /// When.
        at: Timestamp,
    },
    /// A service restarted.
    ServiceRestarted {
        /// Service name.
        service: String,
        /// When.
        at: Timestamp,
    },
    /// The node was taken out of service.
    Decommissioned {
        /// Why.
        reason: String,
        /// When.
        at: Timestamp,
    },
}

impl EdgeNodeEvent {
    /// When the event happened.
    pub fn at(&self) -> Timestamp {
        match self {
            EdgeNodeEvent::HeartbeatRecorded(heartbeat) => heartbeat.at,
            EdgeNodeEvent::Registered { at, .. }
            | EdgeNodeEvent::ModelDeploymentRequested { at, .. }
            | EdgeNodeEvent::ModelDeployed { at, .. }
            | EdgeNodeEvent::ModelDeploymentFailed { at, .. }
            | EdgeNodeEvent::ModelRemoved { at, .. }
            | EdgeNodeEvent::ServiceStarted { at, .. }
            | EdgeNodeEvent::ServiceStopped { at, .. }
            | EdgeNodeEvent::ServiceRestarted { at, .. }
            | EdgeNodeEvent::Decommissioned { at, .. } => *at,
        }
    }
}

impl EventName for EdgeNodeEvent {
    fn event_name(&self) -> &'static str {
        match self {
            EdgeNodeEvent::Registered { .. } => "edge.registered",
            EdgeNodeEvent::HeartbeatRecorded(_) => "edge.heartbeat_recorded",
            EdgeNodeEvent::ModelDeploymentRequested { .. } => "edge.model_deployment_requested",
            EdgeNodeEvent::ModelDeployed { .. } => "edge.model_deployed",
            EdgeNodeEvent::ModelDeploymentFailed { .. } => "edge.model_deployment_failed",
            EdgeNodeEvent::ModelRemoved { .. } => "edge.model_removed",
            EdgeNodeEvent::ServiceStarted { .. } => "edge.service_started",
            EdgeNodeEvent::ServiceStopped { .. } => "edge.service_stopped",
            EdgeNodeEvent::ServiceRestarted { .. } => "edge.service_restarted",
            EdgeNodeEvent::Decommissioned { .. } => "edge.decommissioned",
        }
    }
}
