//! Snapshots of aggregate state, so that rehydrating an actor does not replay its whole stream.
//!
//! - [`policy`]: when to take a snapshot ([`SnapshotPolicy`]).
//! - [`store`]: where snapshots live ([`SnapshotStore`], a sled tree) and how they are encoded.
//!
//! A snapshot records the stream version it was taken at, the chain hash of the event at that
//! version, and the state's schema version. The loader must check all three against the log
//! and its own schema: a snapshot that fails to decode, was written for another schema, or whose
//! hash does not match the log is ignored, and the actor replays its stream from the start.

pub mod policy;
pub mod store;

pub use policy::SnapshotPolicy;
pub use store::{Snapshot, SnapshotError, SnapshotStore};
