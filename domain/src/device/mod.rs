//! The `Device` aggregate: one energy asset, from registration to decommissioning.

mod command;
mod command_history;
mod condition_alerts;
mod decide;
mod error;
mod event;
mod evolve;
mod location;
mod range_alerts;
mod state;
#[cfg(test)]
mod tests;
mod threshold_rule;

pub use command::{CommandResponse, DeviceCommand, DeviceRegistration, MetricExtremes};
pub use command_history::replay_command;
pub use condition_alerts::{
    AnomalyFinding, ConditionFinding, LimitForecast, MAINTENANCE_CLEAR_HOURS, MAINTENANCE_DUE_HOURS,
    MAINTENANCE_URGENT_HOURS, MIN_FORECAST_CONFIDENCE,
};
pub use error::DeviceError;
pub use event::DeviceEvent;
pub use location::Location;
pub use state::{
    Alert, AlertSeverity, CommandState, DeviceCommandRecord, DeviceKind, DeviceState, DeviceStatus, Maintenance,
    MetricDeclaration, Protocol,
};
pub use threshold_rule::{ThresholdRule, ThresholdRuleError};

use crate::aggregate::Aggregate;

/// The `Device` aggregate.
#[derive(Debug, Clone, Copy, Default)]
pub struct Device;

impl Aggregate for Device {
    const NAME: &'static str = "device";
    const EVENT_SCHEMA_VERSION: u16 = 2;
    const STATE_SCHEMA_VERSION: u16 = 3;
    type State = DeviceState;
    type Command = DeviceCommand;
    type Event = DeviceEvent;
    type Error = DeviceError;

    fn decide(state: &DeviceState, command: DeviceCommand) -> Result<Vec<DeviceEvent>, DeviceError> {
        decide::decide(state, command)
    }

    fn instance_id(state: &DeviceState) -> Option<&str> {
        state.profile.as_ref().map(|p| p.id.as_str())
    }

    fn evolve(state: DeviceState, event: DeviceEvent) -> DeviceState {
        evolve::evolve(state, event)
    }
}
