//! Pure domain rules of OptiBid IoT.
//!
//! Nothing here performs I/O, reads a clock or draws random numbers: time, new ids and looked-up
//! facts arrive inside the commands. Every aggregate follows the same shape, the one of
//! `esrs::Aggregate` (see [`Aggregate`]): `decide` turns a command into events or a typed error,
//! `evolve` folds one event into the state and never fails.
//!
//! - [`ids`]: validated identifiers (`DeviceId`, `EdgeNodeId`, `CampaignId`, ...).
//! - [`time`]: [`Timestamp`], milliseconds since the Unix epoch.
//! - [`device`]: the `Device` aggregate (registration, status, commands, alerts, maintenance).
//! - [`edge`]: the `EdgeNode` aggregate (hardware, heartbeats, model deployments, services).
//! - [`campaign`]: the `FleetCampaign` aggregate (targets, waves, outcomes, abort rules).
//! - [`telemetry`]: telemetry batches, recorded in their own `telemetry/{id}` streams.
//! - [`fleet_event`]: [`FleetEvent`], any of the above events.

pub mod aggregate;
pub mod campaign;
pub mod device;
pub mod edge;
pub mod fleet_event;
pub mod ids;
pub mod missing_resource;
pub mod retention;
#[cfg(test)]
mod scenario;
#[cfg(test)]
mod snapshot_codec;
pub mod telemetry;
pub mod time;

pub use aggregate::{Aggregate, EventName};
pub use fleet_event::FleetEvent;
pub use ids::{AlertId, CampaignId, CommandId, DeploymentId, DeviceId, EdgeNodeId, IdError, MaintenanceId};
pub use missing_resource::MissingResource;
pub use time::Timestamp;
