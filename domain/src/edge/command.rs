//! What callers can ask of an edge node.

use super::state::{EdgeNodeKind, Hardware, OptimisationLevel};
use crate::ids::{DeploymentId, EdgeNodeId};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// Everything known about an edge node when it is registered.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EdgeNodeRegistration {
    /// External id.
    pub id: EdgeNodeId,
    /// Human-readable name.
    pub name: String,
    /// What kind of node.
    pub kind: EdgeNodeKind,
    /// Its hardware.
    pub hardware: Hardware,
    /// Site it belongs to.
    pub site: String,
    /// Region it belongs to.
    pub region: String,
}

/// Resource use reported by a node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// CPU use, percent.
    pub cpu_pct: f64,
    /// Memory use, percent.
    pub memory_pct: f64,
    /// GPU use, percent, if the node has one.
    pub gpu_pct: Option<f64>,
    /// Inferences per second over all models.
    pub inference_rate: f64,
    /// Mean inference latency, milliseconds.
    pub latency_ms: f64,
    /// When the node took the reading.
    pub at: Timestamp,
}

/// A command to the `EdgeNode` aggregate.
#[derive(Debug, Clone, PartialEq)]
pub enum EdgeNodeCommand {
    /// Register a new node.
    Register {
        /// Its description.
        registration: EdgeNodeRegistration,
        /// When.
        at: Timestamp,
    },
    /// Record a heartbeat.
    RecordHeartbeat(Heartbeat),
    /// Ask for a model to be deployed.
    RequestModelDeployment {
        /// New, unique id of the deployment.
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
    /// The node confirms a deployment.
    ConfirmModelDeployment {
        /// Which deployment.
        deployment_id: DeploymentId,
        /// When.
        at: Timestamp,
    },
    /// The node reports that a deployment failed.
    FailModelDeployment {
        /// Which deployment.
        deployment_id: DeploymentId,
        /// Why.
        reason: String,
        /// When.
        at: Timestamp,
    },
    /// Remove a deployed model.
    RemoveModel {
        /// Which deployment.
        deployment_id: DeploymentId,
        /// When.
        at: Timestamp,
    },
    /// Start a service.
    StartService {
        /// Service name.
        service: String,
        /// When.
        at: Timestamp,
    },
    /// Stop a running service.
    StopService {
        /// Service name.
        service: String,
        /// When.
        at: Timestamp,
    },
    /// Restart a known service.
    RestartService {
        /// Service name.
        service: String,
        /// When.
        at: Timestamp,
    },
    /// Take the node out of service for good.
    Decommission {
        /// Why.
        reason: String,
        /// When.
        at: Timestamp,
    },
}
