//! The event store: an append-only, hash-chained log in sled.
//!
//! - [`record`]: what is stored per event; [`codec`]: its versioned encoding.
//! - [`chain`]: the BLAKE3 hash chain over the global log.
//! - [`keys`]: the key layout of the `events` tree.
//! - `writer` and `flusher` (private): the single writer applies each group as one atomic batch;
//!   the flusher flushes once for every group waiting and only then answers their appenders.
//! - [`sled_log`]: [`SledEventLog`], the [`EventLog`] on sled.
//! - [`durability`]: waits that make writes beside the log durable through its flusher.
//! - [`subscription`]: live tailing of the global log.
//! - [`esrs_adapter`]: the same rules and log behind `esrs`'s traits.
//! - [`prune`]: removing old telemetry payloads while keeping their hashes.

pub mod chain;
pub mod codec;
pub mod disk_reserve;
pub mod durability;
mod error;
pub mod esrs_adapter;
mod event_log;
mod flusher;
pub mod keys;
pub mod prune;
pub mod record;
pub mod sled_log;
mod stream_name;
pub mod subscription;
mod writer;

pub use durability::Durability;
pub use error::StoreError;
pub use event_log::{AppendOutcome, BoxFuture, EventLog, ExpectedVersion, LogHead, StreamAppend};
pub use record::{
    EventMetadata, GlobalPosition, Hash32, MetadataView, NewEvent, RecordView, RecordedEvent, StreamVersion,
};
pub use sled_log::{SledEventLog, StoreOptions};
pub use stream_name::{StreamName, StreamNameError, STREAM_KINDS};
pub use subscription::LogSubscription;

#[cfg(test)]
mod esrs_tests;
#[cfg(test)]
mod tests;
