//! Why an edge node command is rejected.

use crate::ids::{DeploymentId, EdgeNodeId};

/// A rejected edge node command.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EdgeNodeError {
    /// The node has not been registered.
    #[error("edge node is not registered")]
    NotRegistered,
    /// The node is already registered.
    #[error("edge node {0} is already registered")]
    AlreadyRegistered(EdgeNodeId),
    /// The node was decommissioned.
    #[error("edge node {0} was decommissioned and accepts no more commands")]
    Decommissioned(EdgeNodeId),
    /// A registration field is not acceptable.
    #[error("invalid registration field `{field}`: {reason}")]
    InvalidRegistration {
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A heartbeat value is out of range or not finite.
    #[error("invalid heartbeat field `{field}`: {value} is not a finite number in range")]
    InvalidHeartbeat {
        /// The field.
        field: &'static str,
        /// The value.
        value: f64,
    },
    /// The model name or version is empty.
    #[error("model name and version must not be empty")]
    InvalidModel,
    /// A deployment with this id was already requested.
    #[error("deployment {0} was already requested")]
    DuplicateDeployment(DeploymentId),
    /// No such deployment is known.
    #[error("unknown deployment {0}")]
    UnknownDeployment(DeploymentId),
    /// The deployment is not in a state that allows this.
    #[error("deployment {deployment_id} is {state}; {action} is not possible")]
    DeploymentState {
        /// Which deployment.
        deployment_id: DeploymentId,
        /// Its state.
        state: &'static str,
        /// What was asked.
        action: &'static str,
    },
    /// The service name is empty.
    #[error("the service name is empty")]
    InvalidService,
    /// The service already runs.
    #[error("service {0:?} is already running")]
    ServiceAlreadyRunning(String),
    /// The service does not run.
    #[error("service {0:?} is not running")]
    ServiceNotRunning(String),
    /// The service was never started.
    #[error("unknown service {0:?}")]
    UnknownService(String),
}
