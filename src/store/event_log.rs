//! The event log as the rest of the platform sees it.

use super::error::StoreError;
use super::record::{GlobalPosition, Hash32, NewEvent, RecordedEvent, StreamVersion};
use super::stream_name::StreamName;
use std::future::Future;
use std::pin::Pin;
use tokio::sync::watch;
use uuid::Uuid;

/// A boxed future, so that [`EventLog`] can be used as a trait object.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What an append expects of the stream's current version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedVersion {
    /// Append whatever the version.
    Any,
    /// Append only if the stream is at exactly this version (0: the stream must be empty).
    Exact(StreamVersion),
}

/// The result of an acknowledged append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendOutcome {
    /// Global positions of the appended events, in order.
    pub positions: Vec<GlobalPosition>,
    /// The stream's version after the append.
    pub version: StreamVersion,
    /// Chain hash of the last appended event.
    pub last_hash: Hash32,
    /// Whether these events were already stored (a retried append): nothing new was written.
    pub duplicate: bool,
}

/// Events for one stream within an append that may span several streams.
#[derive(Debug, Clone)]
pub struct StreamAppend {
    /// Target stream.
    pub stream: StreamName,
    /// What the append expects of the stream's version.
    pub expected: ExpectedVersion,
    /// The events.
    pub events: Vec<NewEvent>,
}

/// The end of the durable log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LogHead {
    /// Position of the last durable event (0 for an empty log).
    pub position: GlobalPosition,
    /// Its chain hash.
    pub hash: Hash32,
}

/// An append-only, hash-chained event log with per-stream optimistic concurrency.
///
/// Readers only ever see durable events, in global order and without gaps.
pub trait EventLog: Send + Sync + 'static {
    /// Appends `events` to `stream` atomically, and returns once they are on disk.
    fn append(
        &self,
        stream: StreamName,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> BoxFuture<'_, Result<AppendOutcome, StoreError>>;

    /// Appends to several streams atomically (all parts or none), and returns once they are on
    /// disk, with one outcome per part. A stream may appear only once.
    fn append_atomic(&self, parts: Vec<StreamAppend>) -> BoxFuture<'_, Result<Vec<AppendOutcome>, StoreError>>;

    /// Events of `stream` from version `from` (inclusive) on.
    fn read_stream(&self, stream: &StreamName, from: StreamVersion) -> Result<Vec<RecordedEvent>, StoreError>;

    /// The event at `version` of `stream`, if there is one.
    fn read_stream_event(
        &self,
        stream: &StreamName,
        version: StreamVersion,
    ) -> Result<Option<RecordedEvent>, StoreError>;

    /// The current version of `stream` (0 when empty).
    fn stream_version(&self, stream: &StreamName) -> Result<StreamVersion, StoreError>;

    /// Up to `limit` durable events of the global log from position `from` (inclusive) on.
    fn read_all(&self, from: GlobalPosition, limit: usize) -> Result<Vec<RecordedEvent>, StoreError>;

    /// The end of the durable log.
    fn head(&self) -> LogHead;

    /// A receiver that changes whenever the durable head moves.
    fn watch_head(&self) -> watch::Receiver<LogHead>;

    /// The global position of the event with this id, if it is durable and among the last
    /// [`super::IDEMPOTENCY_WINDOW`] events of `stream` (the window within which a retried
    /// event id is stored once).
    fn event_position(&self, stream: &StreamName, event_id: &Uuid) -> Result<Option<GlobalPosition>, StoreError>;

    /// The stream whose derived UUID is `uuid`, if it has events.
    fn stream_by_uuid(&self, uuid: &Uuid) -> Result<Option<StreamName>, StoreError>;
}
