//! Actors: one ractor actor per aggregate instance.
//!
//! - [`aggregate_actor`]: the actor of one instance: rehydrated from snapshot plus log; for each
//!   command it decides, appends (returning after the group-commit flush), folds, then replies.
//! - [`directory`]: the registry of live instances of one kind: spawn on first use, bounded
//!   waiting commands, passivation of idle instances.
//! - `supervisor`: restarts an instance that panicked, from the log.
//! - [`rehydrate`]: snapshot plus tail.
//! - [`platform`]: the three directories (devices, edge nodes, campaigns) over one log.

pub mod aggregate_actor;
pub mod directory;
mod error;
pub mod platform;
pub mod rehydrate;
mod supervisor;

pub use aggregate_actor::{CommandMetadata, Executed, InstanceState};
pub use directory::{ActorDirectory, DirectoryConfig};
pub use error::ExecuteError;
pub use platform::{Platform, TelemetryRecorded};

#[cfg(test)]
mod tests;
