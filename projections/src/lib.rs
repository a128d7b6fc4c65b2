//! Read models of OptiBid IoT, fed from the global event log.
//!
//! - [`projection`]: the contract of a projection: restore its model from its own sled tree,
//!   then apply events in global order, staging its writes in the same batch as its checkpoint,
//!   so that a crash never applies an event twice or skips one.
//! - [`directory`]: a generic directory of instances (one entry per stream), persisted per entry,
//!   listed through a [`term_index`] of the terms its filters use.
//! - [`device_directory`], [`edge_directory`], [`campaign_list`]: the entries and filters the
//!   HTTP API lists.
//! - [`fleet_analytics`], [`edge_analytics`]: per-instance figures the fleet and edge summaries
//!   add up.
//! - [`alert_list`]: every device alert and where it is in its life.
//! - [`telemetry_rollups`]: 1-minute, 1-hour and 1-day buckets per device and metric.
//! - [`maintenance`]: anomaly detection and remaining-useful-life estimation.
//! - [`maintenance_predictions`]: the maintenance read model built with them.

pub mod alert_list;
pub mod campaign_list;
pub mod device_directory;
pub mod directory;
pub mod edge_analytics;
pub mod edge_directory;
pub mod fleet_analytics;
pub mod maintenance;
pub mod maintenance_predictions;
pub mod projection;
pub mod telemetry_rollups;
pub mod term_index;

pub use directory::{Directory, DirectoryEntry, Page, TermQuery};
pub use projection::{ProjectedEvent, Projection, ProjectionError, CHECKPOINT_KEY};
