//! The event store: an append-only, hash-chained log in sled.
//!
//! - [`record`]: what is stored per event; [`codec`]: its versioned encoding.
//! - [`chain`]: the BLAKE3 hash chain over the global log.
//! - [`keys`]: the key layout of the `events` tree.
//! - `writer` and `flusher` (private): the single writer applies each group as one atomic batch
//!   of one key per event; the flusher flushes once for every group waiting and only then
//!   answers their appenders.
//! - [`stream_index`]: the stream index beside the log, in memory past its checkpoint, stored as
//!   [`index_chunk`]s up to it; `index_checkpointer` (private) persists it in the background.
//! - `idempotency_window` (private): the writer's head versions and recent event ids per
//!   stream.
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
mod idempotency_window;
mod index_checkpointer;
pub mod index_chunk;
pub mod keys;
pub mod prune;
pub mod record;
pub mod sled_log;
pub mod stream_index;
mod stream_name;
pub mod subscription;
mod writer;

pub use durability::Durability;
pub use error::StoreError;
pub use event_log::{AppendOutcome, BoxFuture, EventLog, ExpectedVersion, LogHead, StreamAppend};
pub use idempotency_window::IDEMPOTENCY_WINDOW;
pub use record::{
    EventMetadata, GlobalPosition, Hash32, MetadataView, NewEvent, RecordView, RecordedEvent, StreamVersion,
};
pub use sled_log::{SledEventLog, StoreOptions};
pub use stream_name::{StreamName, StreamNameError, STREAM_KINDS};
pub use subscription::LogSubscription;

#[cfg(test)]
mod esrs_tests;
#[cfg(test)]
mod model_tests;
#[cfg(test)]
mod tests;
