//! The hash chain over the global log.
//!
//! `hash = BLAKE3(prev_hash ‖ postcard(immutable fields ‖ payload_hash))`. Changing any stored
//! byte of an event, removing one or reordering them breaks the chain from that position on.

use super::record::{EventMetadata, Hash32, RecordedEvent};
use serde::Serialize;
use uuid::Uuid;

/// The hash that precedes the first event.
pub const GENESIS_HASH: Hash32 = [0; 32];

/// The fields the chain hash covers, borrowed from a record or a record view.
#[derive(Serialize)]
pub struct ChainedFields<'a, M: Serialize> {
    /// Global position.
    pub position: u64,
    /// Stream.
    pub stream: &'a str,
    /// Stream version.
    pub version: u64,
    /// Event id.
    pub event_id: &'a Uuid,
    /// Event type.
    pub event_type: &'a str,
    /// Payload schema version.
    pub schema_version: u16,
    /// Commit time.
    pub recorded_at: i64,
    /// Metadata (owned or borrowed; both encode alike).
    pub metadata: &'a M,
    /// Payload hash.
    pub payload_hash: &'a Hash32,
}

impl<M: Serialize> ChainedFields<'_, M> {
    /// The chain hash of these fields after `prev_hash`.
    pub fn hash(&self, prev_hash: &Hash32) -> Hash32 {
        let mut hasher = blake3::Hasher::new();
        hasher.update(prev_hash);
        let mut buffer = [0u8; 1024];
        match postcard::to_slice(self, &mut buffer) {
            Ok(encoded) => hasher.update(encoded),
            Err(_) => hasher.update(&postcard::to_stdvec(self).unwrap_or_default()),
        };
        *hasher.finalize().as_bytes()
    }
}

/// BLAKE3 of a payload.
pub fn payload_hash(payload: &[u8]) -> Hash32 {
    *blake3::hash(payload).as_bytes()
}

/// The chain hash of `event`, given the hash of the event before it.
pub fn chain_hash(prev_hash: &Hash32, event: &RecordedEvent) -> Hash32 {
    ChainedFields::<EventMetadata> {
        position: event.position,
        stream: &event.stream,
        version: event.version,
        event_id: &event.event_id,
        event_type: &event.event_type,
        schema_version: event.schema_version,
        recorded_at: event.recorded_at,
        metadata: &event.metadata,
        payload_hash: &event.payload_hash,
    }
    .hash(prev_hash)
}

/// Hex text of a hash.
pub fn to_hex(hash: &Hash32) -> String {
    blake3::Hash::from_bytes(*hash).to_hex().to_string()
}

/// Parses the hex text of a hash.
pub fn from_hex(text: &str) -> Option<Hash32> {
    blake3::Hash::from_hex(text).ok().map(|hash| *hash.as_bytes())
}
