//! The `FleetCampaign` aggregate: a rollout (firmware, configuration, data collection, model)
//! to a target set of devices, in waves, with success and abort thresholds.

mod command;
mod decide;
mod error;
mod event;
mod evolve;
mod state;
#[cfg(test)]
mod tests;

pub use command::{CampaignCommand, CampaignDefinition, TargetSelector};
pub use error::CampaignError;
pub use event::CampaignEvent;
pub use state::{CampaignKind, CampaignPhase, CampaignState, DeviceOutcome};

use crate::aggregate::Aggregate;

/// The `FleetCampaign` aggregate.
#[derive(Debug, Clone, Copy, Default)]
pub struct FleetCampaign;

impl Aggregate for FleetCampaign {
    const NAME: &'static str = "campaign";
    const EVENT_SCHEMA_VERSION: u16 = 1;
    const STATE_SCHEMA_VERSION: u16 = 1;
    type State = CampaignState;
    type Command = CampaignCommand;
    type Event = CampaignEvent;
    type Error = CampaignError;

    fn decide(state: &CampaignState, command: CampaignCommand) -> Result<Vec<CampaignEvent>, CampaignError> {
        decide::decide(state, command)
    }

    fn instance_id(state: &CampaignState) -> Option<&str> {
        state.definition.as_ref().map(|d| d.id.as_str())
    }

    fn evolve(state: CampaignState, event: CampaignEvent) -> CampaignState {
        evolve::evolve(state, event)
    }
}
