//! What an edge node is, as folded from its events.

use super::command::{EdgeNodeRegistration, Heartbeat};
use crate::ids::DeploymentId;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What kind of edge node.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeNodeKind {
    /// Site gateway.
    Gateway,
    /// Small embedded computer.
    MicroEdge,
    /// Vehicle or portable unit.
    MobileEdge,
    /// Edge zone in a cloud region.
    CloudEdge,
    /// Fog node between devices and cloud.
    FogNode,
}

/// A GPU.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuSpec {
    /// Model name.
    pub model: String,
    /// Memory, MiB.
    pub memory_mb: u32,
}

/// An edge node's hardware.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hardware {
    /// CPU cores.
    pub cores: u16,
    /// Memory, MiB.
    pub memory_mb: u32,
    /// GPU, if any.
    pub gpu: Option<GpuSpec>,
    /// Network link (`ethernet`, `lte`, `5g`, ...).
    pub network: String,
}

/// How a model was optimised for the node.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptimisationLevel {
    /// As trained.
    None,
    /// FP16 weights.
    Fp16,
    /// INT8 quantised.
    Int8,
    /// INT4 quantised.
    Int4,
    /// Pruned and quantised.
    Pruned,
}

/// Where a model deployment stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum DeploymentState {
    /// Asked for, not confirmed yet.
    Requested,
    /// Running on the node.
    Deployed,
    /// Could not be deployed.
    Failed(String),
    /// Removed from the node.
    Removed,
}

/// One model deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelDeployment {
    /// Its id.
    pub deployment_id: DeploymentId,
    /// Model name.
    pub model: String,
    /// Model version.
    pub version: String,
    /// Optimisation level.
    pub optimisation: OptimisationLevel,
    /// Where it stands.
    pub state: DeploymentState,
}

/// Whether a service runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceState {
    /// Running.
    Running,
    /// Stopped.
    Stopped,
}

/// The state of one edge node, folded from its stream.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct EdgeNodeState {
    /// The registration, once registered.
    pub profile: Option<EdgeNodeRegistration>,
    /// The last heartbeat.
    pub last_heartbeat: Option<Heartbeat>,
    /// Deployments that are requested or deployed, plus the most recent finished ones.
    pub deployments: Vec<ModelDeployment>,
    /// Services by name.
    pub services: BTreeMap<String, ServiceState>,
    /// How many times each service was restarted.
    pub restarts: BTreeMap<String, u32>,
    /// When the last event happened.
    pub updated_at: Timestamp,
    /// Set once decommissioned.
    pub decommissioned_at: Option<Timestamp>,
}

impl EdgeNodeState {
    /// The deployment with this id, if the state still holds it.
    pub fn deployment(&self, id: &DeploymentId) -> Option<&ModelDeployment> {
        self.deployments.iter().find(|d| &d.deployment_id == id)
    }
}
