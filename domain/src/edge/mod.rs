//! The `EdgeNode` aggregate: a gateway or edge computer running models and services.

mod command;
mod decide;
mod error;
mod event;
mod evolve;
mod state;
#[cfg(test)]
mod tests;

pub use command::{EdgeNodeCommand, EdgeNodeRegistration, Heartbeat};
pub use error::EdgeNodeError;
pub use event::EdgeNodeEvent;
pub use state::{
    DeploymentState, EdgeNodeKind, EdgeNodeState, GpuSpec, Hardware, ModelDeployment, OptimisationLevel, ServiceState,
};

use crate::aggregate::Aggregate;

/// The `EdgeNode` aggregate.
#[derive(Debug, Clone, Copy, Default)]
pub struct EdgeNode;

impl Aggregate for EdgeNode {
    const NAME: &'static str = "edge";
    const EVENT_SCHEMA_VERSION: u16 = 1;
    const STATE_SCHEMA_VERSION: u16 = 1;
    type State = EdgeNodeState;
    type Command = EdgeNodeCommand;
    type Event = EdgeNodeEvent;
    type Error = EdgeNodeError;

    fn decide(state: &EdgeNodeState, command: EdgeNodeCommand) -> Result<Vec<EdgeNodeEvent>, EdgeNodeError> {
        decide::decide(state, command)
    }

    fn instance_id(state: &EdgeNodeState) -> Option<&str> {
        state.profile.as_ref().map(|p| p.id.as_str())
    }

    fn evolve(state: EdgeNodeState, event: EdgeNodeEvent) -> EdgeNodeState {
        evolve::evolve(state, event)
    }
}
