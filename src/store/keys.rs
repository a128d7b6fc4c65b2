//! Key layout of the `events` tree. One tree, so that a group commit is one atomic batch.
//!
//! - `L` ‖ position (u64 BE) → encoded record: the global log, in order.
//! - `S` ‖ stream length (u16 BE) ‖ stream ‖ version (u64 BE) → position: stream index.
//! - `I` ‖ event id (16 bytes) → position: idempotency index.
//! - `U` ‖ stream UUID (16 bytes) → stream name: lookup by the UUID esrs uses.

use super::record::{GlobalPosition, StreamVersion};
use uuid::Uuid;

const LOG: u8 = b'L';
const STREAM: u8 = b'S';
const EVENT_ID: u8 = b'I';
const STREAM_UUID: u8 = b'U';

/// Key of the record at `position`.
pub fn log_key(position: GlobalPosition) -> [u8; 9] {
    let mut key = [LOG; 9];
    key[1..].copy_from_slice(&position.to_be_bytes());
    key
}

/// Prefix of every log key.
pub fn log_prefix() -> [u8; 1] {
    [LOG]
}

/// The position a log key names.
pub fn position_of_log_key(key: &[u8]) -> Option<GlobalPosition> {
    Some(GlobalPosition::from_be_bytes(key.get(1..9)?.try_into().ok()?))
}

/// Prefix of every index key of `stream`.
pub fn stream_prefix(stream: &str) -> Vec<u8> {
    let length = u16::try_from(stream.len()).unwrap_or(u16::MAX);
    let mut key = Vec::with_capacity(3 + stream.len() + 8);
    key.push(STREAM);
    key.extend_from_slice(&length.to_be_bytes());
    key.extend_from_slice(stream.as_bytes());
    key
}

/// Index key of `version` of `stream`.
pub fn stream_key(stream: &str, version: StreamVersion) -> Vec<u8> {
    let mut key = stream_prefix(stream);
    key.extend_from_slice(&version.to_be_bytes());
    key
}

/// The version a stream index key names.
pub fn version_of_stream_key(key: &[u8]) -> Option<StreamVersion> {
    let start = key.len().checked_sub(8)?;
    Some(StreamVersion::from_be_bytes(key[start..].try_into().ok()?))
}

/// Idempotency key of an event id.
pub fn event_id_key(event_id: &Uuid) -> [u8; 17] {
    let mut key = [EVENT_ID; 17];
    key[1..].copy_from_slice(event_id.as_bytes());
    key
}

/// Key of a stream's UUID.
pub fn stream_uuid_key(uuid: &Uuid) -> [u8; 17] {
    let mut key = [STREAM_UUID; 17];
    key[1..].copy_from_slice(uuid.as_bytes());
    key
}

/// Decodes a stored big-endian position.
pub fn decode_position(bytes: &[u8]) -> Option<GlobalPosition> {
    Some(GlobalPosition::from_be_bytes(bytes.try_into().ok()?))
}
