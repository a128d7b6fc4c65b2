//! The stored form of an index chunk: the positions and event ids of consecutive versions of
//! one stream.
//!
//! A chunk's key names its stream and first version ([`super::keys::chunk_key`]); its value is a
//! format byte, then one 24-byte entry per version: the global position (u64 BE) and the event
//! id (16 bytes). Fixed-size entries let a reader find a version's entry by arithmetic.

use super::error::StoreError;
use super::record::{GlobalPosition, StreamVersion};
use uuid::Uuid;

/// Chunk format written today.
const CHUNK_FORMAT: u8 = 1;

/// Bytes per entry.
const ENTRY_BYTES: usize = 24;

/// Most entries one chunk holds; a stream's later versions start a new chunk.
pub const CHUNK_ENTRIES: usize = 1_024;

/// Where one version of a stream is in the log, and its event id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexEntry {
    /// Global position.
    pub position: GlobalPosition,
    /// Event id.
    pub event_id: Uuid,
}

/// Encodes entries as a chunk value.
pub fn encode_chunk(entries: &[IndexEntry]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(1 + entries.len() * ENTRY_BYTES);
    bytes.push(CHUNK_FORMAT);
    for entry in entries {
        bytes.extend_from_slice(&entry.position.to_be_bytes());
        bytes.extend_from_slice(entry.event_id.as_bytes());
    }
    bytes
}

/// Decodes a chunk value of `stream` starting at `first_version`.
pub fn decode_chunk(stream: &str, first_version: StreamVersion, bytes: &[u8]) -> Result<Vec<IndexEntry>, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        position: 0,
        reason: format!("index chunk {stream}@{first_version}: {reason}"),
    };
    let body = match bytes.split_first() {
        Some((&CHUNK_FORMAT, body)) => body,
        Some((format, _)) => return Err(corrupt(format!("unknown format {format}"))),
        None => return Err(corrupt("empty".to_owned())),
    };
    if body.is_empty() || body.len() % ENTRY_BYTES != 0 {
        return Err(corrupt(format!("{} bytes is not a whole number of entries", body.len())));
    }
    Ok(body
        .chunks_exact(ENTRY_BYTES)
        .map(|entry| {
            let (position, id) = entry.split_at(8);
            IndexEntry {
                position: GlobalPosition::from_be_bytes(position.try_into().unwrap_or_default()),
                event_id: Uuid::from_slice(id).unwrap_or_default(),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_round_trip_and_refuse_torn_values() {
        let entries: Vec<IndexEntry> =
            (1..=3).map(|position| IndexEntry { position, event_id: Uuid::new_v4() }).collect();
        let bytes = encode_chunk(&entries);
        assert_eq!(bytes.len(), 1 + 3 * ENTRY_BYTES);
        assert_eq!(decode_chunk("device/a", 1, &bytes).expect("decodes"), entries);
        assert!(decode_chunk("device/a", 1, &bytes[..bytes.len() - 1]).is_err());
        assert!(decode_chunk("device/a", 1, &[9]).is_err());
        assert!(decode_chunk("device/a", 1, &[]).is_err());
    }
}
