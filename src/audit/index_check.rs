//! Checks the stored stream index against the log.
//!
//! While the chain is walked, every event the index checkpoint covers is folded into a
//! per-stream fingerprint (an XOR of a 64-bit mix of its version, position and event id) and
//! count. The stored chunks must then give each stream exactly the same: consecutive versions
//! from 1, the same number of entries and the same fingerprint. An index entry pointing at the
//! wrong position, a missing or extra entry, or a chunk of a stream the log does not hold fails
//! verification. Entries past the checkpoint read at the start are left out, so a log that is
//! being written and checkpointed while it is verified checks the same way.

use super::verify::VerifyFailure;
use crate::store::index_chunk::decode_chunk;
use crate::store::keys;
use crate::store::{GlobalPosition, StreamVersion};
use std::collections::HashMap;
use uuid::Uuid;

/// Per-stream fingerprints of the events an index checkpoint covers.
#[derive(Debug, Default)]
pub struct IndexedStreams {
    covered: GlobalPosition,
    streams: HashMap<String, (StreamVersion, u64)>,
}

impl IndexedStreams {
    /// Fingerprints for the index checkpoint stored in `events` (none when it has none).
    pub fn for_log(events: &sled::Tree) -> Result<Self, VerifyFailure> {
        let stored = events.get(keys::index_checkpoint_key()).map_err(|e| failure(0, format!("storage error: {e}")))?;
        let covered = stored.and_then(|bytes| keys::decode_position(&bytes)).unwrap_or(0);
        Ok(Self { covered, streams: HashMap::new() })
    }

    /// Folds in one event of the log.
    pub fn observe(&mut self, stream: &str, version: StreamVersion, position: GlobalPosition, event_id: &Uuid) {
        if position > self.covered {
            return;
        }
        let mix = fingerprint(version, position, event_id);
        match self.streams.get_mut(stream) {
            Some((count, fold)) => {
                *count += 1;
                *fold ^= mix;
            }
            None => drop(self.streams.insert(stream.to_owned(), (1, mix))),
        }
    }

    /// Checks the stored chunks against what was observed; returns the number of chunks.
    pub fn check(self, events: &sled::Tree, head: GlobalPosition) -> Result<u64, VerifyFailure> {
        if self.covered > head {
            return Err(failure(
                head,
                format!("the stream index checkpoint covers position {}, past the log", self.covered),
            ));
        }
        let mut chunks = 0;
        let mut stored: HashMap<String, (StreamVersion, u64)> = HashMap::new();
        for item in events.scan_prefix(keys::chunk_prefix()) {
            let (key, value) = item.map_err(|e| failure(0, format!("storage error: {e}")))?;
            let (stream, first) =
                keys::parse_chunk_key(&key).ok_or_else(|| failure(0, "malformed stream index key".to_owned()))?;
            let entries = decode_chunk(stream, first, &value).map_err(|e| failure(0, e.to_string()))?;
            if entries.first().is_some_and(|entry| entry.position > self.covered) {
                continue;
            }
            let (count, fold) = stored.entry(stream.to_owned()).or_insert((0, 0));
            if first != *count + 1 {
                let at = entries.first().map_or(0, |entry| entry.position);
                return Err(failure(at, format!("the stream index of {stream} jumps from version {count} to {first}")));
            }
            let covered = entries.partition_point(|entry| entry.position <= self.covered);
            for (offset, entry) in entries[..covered].iter().enumerate() {
                *fold ^= fingerprint(first + offset as u64, entry.position, &entry.event_id);
            }
            *count += covered as u64;
            chunks += 1;
        }
        for (stream, observed) in &self.streams {
            if stored.remove(stream) != Some(*observed) {
                return Err(failure(
                    self.covered,
                    format!("the stream index of {stream} does not match its {} events in the log", observed.0),
                ));
            }
        }
        if let Some(stream) = stored.keys().next() {
            return Err(failure(self.covered, format!("the stream index holds {stream}, which the log does not")));
        }
        Ok(chunks)
    }
}

fn fingerprint(version: StreamVersion, position: GlobalPosition, event_id: &Uuid) -> u64 {
    let (high, low) = event_id.as_u64_pair();
    let mut mixed = version.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ position.rotate_left(29) ^ high ^ low.rotate_left(17);
    mixed ^= mixed >> 33;
    mixed = mixed.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    mixed ^= mixed >> 33;
    mixed = mixed.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
    mixed ^ (mixed >> 33)
}

fn failure(position: GlobalPosition, reason: String) -> VerifyFailure {
    VerifyFailure { position, reason }
}
