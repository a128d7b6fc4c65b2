//! What the log stores for each event, and what callers hand in to append.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Position of an event in the global log: 1 for the first event, then gap-free.
pub type GlobalPosition = u64;

/// Version of a stream: the number of events in it; its first event has version 1.
pub type StreamVersion = u64;

/// A BLAKE3 hash.
pub type Hash32 = [u8; 32];

/// Who and what caused an event.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EventMetadata {
    /// The event or command that directly caused this one.
    pub causation_id: Option<Uuid>,
    /// The conversation this event belongs to (a request, a campaign).
    pub correlation_id: Option<Uuid>,
    /// The user, token or device on whose behalf it was written.
    pub principal: String,
}

/// An event to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// Unique id; appending an event id that is already stored stores nothing new.
    pub event_id: Uuid,
    /// Stable dotted name (`device.registered`).
    pub event_type: String,
    /// Version of the payload's encoding.
    pub schema_version: u16,
    /// The encoded domain event.
    pub payload: Vec<u8>,
    /// Causation, correlation, principal.
    pub metadata: EventMetadata,
}

/// One stored event: its place in the log and in its stream, its metadata, its payload and its
/// link in the hash chain.
///
/// The chain hash covers every field but `payload` itself: it covers `payload_hash`, so an old
/// telemetry payload can be pruned later (set to `None`) while the chain still verifies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedEvent {
    /// Global position.
    pub position: GlobalPosition,
    /// Stream name (`device/iot-001`).
    pub stream: String,
    /// Version within the stream.
    pub version: StreamVersion,
    /// Unique id.
    pub event_id: Uuid,
    /// Stable dotted name.
    pub event_type: String,
    /// Version of the payload's encoding.
    pub schema_version: u16,
    /// When it was committed, milliseconds since the Unix epoch.
    pub recorded_at: i64,
    /// Causation, correlation, principal.
    pub metadata: EventMetadata,
    /// BLAKE3 of the payload.
    pub payload_hash: Hash32,
    /// The encoded domain event; `None` once pruned.
    pub payload: Option<Vec<u8>>,
    /// Chain hash of the previous event in the global log (zeros for the first).
    pub prev_hash: Hash32,
    /// Chain hash of this event.
    pub hash: Hash32,
}

/// Metadata borrowed from stored bytes; encodes exactly like [`EventMetadata`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetadataView<'a> {
    /// Causation id.
    pub causation_id: Option<Uuid>,
    /// Correlation id.
    pub correlation_id: Option<Uuid>,
    /// Principal.
    pub principal: &'a str,
}

/// A stored event borrowed from its bytes, without allocating: same wire layout as
/// [`RecordedEvent`]. Used where every event of the log is read (verification).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct RecordView<'a> {
    /// Global position.
    pub position: GlobalPosition,
    /// Stream name.
    pub stream: &'a str,
    /// Version within the stream.
    pub version: StreamVersion,
    /// Unique id.
    pub event_id: Uuid,
    /// Stable dotted name.
    pub event_type: &'a str,
    /// Version of the payload's encoding.
    pub schema_version: u16,
    /// Commit time.
    pub recorded_at: i64,
    /// Causation, correlation, principal.
    #[serde(borrow)]
    pub metadata: MetadataView<'a>,
    /// BLAKE3 of the payload.
    pub payload_hash: Hash32,
    /// The payload; `None` once pruned.
    pub payload: Option<&'a [u8]>,
    /// Previous chain hash.
    pub prev_hash: Hash32,
    /// Chain hash.
    pub hash: Hash32,
}

impl RecordView<'_> {
    /// The chain hash these fields give after `prev_hash`.
    pub fn chain_hash(&self, prev_hash: &Hash32) -> Hash32 {
        super::chain::ChainedFields {
            position: self.position,
            stream: self.stream,
            version: self.version,
            event_id: &self.event_id,
            event_type: self.event_type,
            schema_version: self.schema_version,
            recorded_at: self.recorded_at,
            metadata: &self.metadata,
            payload_hash: &self.payload_hash,
        }
        .hash(prev_hash)
    }
}
