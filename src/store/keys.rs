//! Key layout of the `events` tree. One tree, so that a group commit is one atomic batch.
//!
//! - `L` ‖ position (u64 BE) → encoded record: the global log, in order. The only key the
//!   append path writes per event.
//! - `C` ‖ stream length (u16 BE) ‖ stream ‖ first version (u64 BE) → index chunk: the
//!   positions and event ids of consecutive versions of one stream (see [`super::index_chunk`]),
//!   written in the background by the index checkpointer.
//! - `X` → position (u64 BE): the log position the stored chunks cover.
//! - `U` ‖ stream UUID (16 bytes) → stream name: lookup by the UUID esrs uses.
//! - `S` and `I`: the per-event stream and event-id index keys of data folders written before
//!   the index moved beside the log; removed when such a folder is first opened.

use super::record::{GlobalPosition, StreamVersion};
use uuid::Uuid;

const LOG: u8 = b'L';
const CHUNK: u8 = b'C';
const INDEX_CHECKPOINT: u8 = b'X';
const STREAM_UUID: u8 = b'U';

/// Prefixes of the per-event index keys of older data folders.
pub const LEGACY_INDEX_PREFIXES: [u8; 2] = [b'S', b'I'];

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

/// Prefix of every index chunk key.
pub fn chunk_prefix() -> [u8; 1] {
    [CHUNK]
}

/// Prefix of every index chunk key of `stream`.
pub fn stream_chunk_prefix(stream: &str) -> Vec<u8> {
    let length = u16::try_from(stream.len()).unwrap_or(u16::MAX);
    let mut key = Vec::with_capacity(3 + stream.len() + 8);
    key.push(CHUNK);
    key.extend_from_slice(&length.to_be_bytes());
    key.extend_from_slice(stream.as_bytes());
    key
}

/// Key of the index chunk of `stream` that starts at `first_version`.
pub fn chunk_key(stream: &str, first_version: StreamVersion) -> Vec<u8> {
    let mut key = stream_chunk_prefix(stream);
    key.extend_from_slice(&first_version.to_be_bytes());
    key
}

/// The stream and first version an index chunk key names.
pub fn parse_chunk_key(key: &[u8]) -> Option<(&str, StreamVersion)> {
    let length = usize::from(u16::from_be_bytes(key.get(1..3)?.try_into().ok()?));
    let stream = std::str::from_utf8(key.get(3..3 + length)?).ok()?;
    let version = StreamVersion::from_be_bytes(key.get(3 + length..)?.try_into().ok()?);
    Some((stream, version))
}

/// Key of the index checkpoint.
pub fn index_checkpoint_key() -> [u8; 1] {
    [INDEX_CHECKPOINT]
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
