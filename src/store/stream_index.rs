//! The stream index beside the log: which global position holds each version of each stream,
//! and the event id stored there.
//!
//! The append path writes only the log. The index of events the log holds beyond its
//! checkpoint lives in memory (the tail); [`StreamIndex::checkpoint`], run in the background,
//! persists the tail as index chunks ([`super::index_chunk`]) together with the log position
//! they cover, in one atomic batch. On open, the tail is rebuilt from the log after that
//! position, so a crash between a log flush and a checkpoint loses nothing. Memory stays
//! bounded by how far the checkpoint lags the log, not by the size of the fleet.
//!
//! Readers copy a stream's tail before they read its chunks, and a checkpoint writes chunks
//! before it trims the tail, so a reader racing a checkpoint sees every entry at least once;
//! entries the tail still holds win over chunks.

use super::codec::view_record;
use super::error::StoreError;
use super::index_chunk::{decode_chunk, encode_chunk, IndexEntry, CHUNK_ENTRIES};
use super::keys;
use super::record::{GlobalPosition, StreamVersion};
use std::collections::HashMap;
use std::sync::RwLock;
use tracing::{info, warn};

/// One version of one stream.
pub type VersionedEntry = (StreamVersion, IndexEntry);

/// Index entries of one stream beyond the checkpoint, for consecutive versions.
#[derive(Debug, Clone)]
struct StreamTail {
    first_version: StreamVersion,
    entries: Vec<IndexEntry>,
}

impl StreamTail {
    fn last_version(&self) -> StreamVersion {
        self.first_version + self.entries.len() as u64 - 1
    }

    fn entries_since(&self, from: StreamVersion) -> Vec<VersionedEntry> {
        let skip = from.saturating_sub(self.first_version) as usize;
        versioned(self.first_version, &self.entries).skip(skip).collect()
    }
}

/// The in-memory part of the index.
#[derive(Debug, Default)]
struct Tail {
    covered: GlobalPosition,
    streams: HashMap<String, StreamTail>,
    entries: usize,
}

/// The stream index of one log: chunks in sled up to the checkpoint, the tail in memory.
pub struct StreamIndex {
    events: sled::Tree,
    tail: RwLock<Tail>,
}

impl StreamIndex {
    /// Loads the index of the log in `events`: reads its checkpoint and rebuilds the tail from
    /// the log after it. A data folder from before the index moved beside the log loses its
    /// per-event index keys and is indexed from the start.
    pub fn open(events: &sled::Tree) -> Result<Self, StoreError> {
        let covered = match events.get(keys::index_checkpoint_key())? {
            Some(bytes) => keys::decode_position(&bytes)
                .ok_or_else(|| StoreError::Corrupt { position: 0, reason: "malformed index checkpoint".to_owned() })?,
            None => {
                remove_legacy_index(events)?;
                0
            }
        };
        let index = Self { events: events.clone(), tail: RwLock::new(Tail { covered, ..Tail::default() }) };
        let mut replayed = 0u64;
        {
            let mut tail = index.tail.write().map_err(|_| poisoned())?;
            for item in events.range(keys::log_key(covered + 1)..=keys::log_key(GlobalPosition::MAX)) {
                let (key, value) = item?;
                let position = keys::position_of_log_key(&key).unwrap_or(0);
                let indexed = view_record(position, &value).and_then(|record| {
                    let entry = IndexEntry { position, event_id: record.event_id };
                    index.insert(&mut tail, record.stream.to_owned(), record.version, entry)
                });
                if let Err(error) = indexed {
                    warn!(position, %error, "an event is left out of the stream index; `optibid audit verify` reports why");
                }
                replayed += 1;
            }
        }
        info!(checkpoint = covered, replayed, "stream index loaded");
        Ok(index)
    }

    /// Adds the entries of events just staged in the log, in log order. Every version must
    /// follow its stream's last one.
    pub fn record(&self, entries: Vec<(String, StreamVersion, IndexEntry)>) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut tail = self.tail.write().map_err(|_| poisoned())?;
        for (stream, version, entry) in entries {
            self.insert(&mut tail, stream, version, entry)?;
        }
        Ok(())
    }

    fn insert(
        &self,
        tail: &mut Tail,
        stream: String,
        version: StreamVersion,
        entry: IndexEntry,
    ) -> Result<(), StoreError> {
        match tail.streams.get_mut(&stream) {
            Some(stream_tail) if stream_tail.last_version() + 1 == version => stream_tail.entries.push(entry),
            Some(stream_tail) => return Err(gap(&stream, stream_tail.last_version(), version, entry.position)),
            None => {
                let stored = self.stored_last_version(&stream)?;
                if stored + 1 != version {
                    return Err(gap(&stream, stored, version, entry.position));
                }
                tail.streams.insert(stream, StreamTail { first_version: version, entries: vec![entry] });
            }
        }
        tail.entries += 1;
        Ok(())
    }

    /// Entries of `stream` from version `from` on, durable or not, in version order.
    pub fn entries_from(&self, stream: &str, from: StreamVersion) -> Result<Vec<VersionedEntry>, StoreError> {
        let from = from.max(1);
        let tail = self.tail_of(stream)?;
        let below = tail.as_ref().map_or(StreamVersion::MAX, |tail| tail.first_version);
        let mut found = Vec::new();
        if from < below {
            let start = self
                .events
                .range(keys::chunk_key(stream, 0)..=keys::chunk_key(stream, from))
                .next_back()
                .transpose()?
                .map_or_else(|| keys::chunk_key(stream, from), |(key, _)| key.to_vec());
            for item in self.events.range(start..keys::chunk_key(stream, below)) {
                let (key, value) = item?;
                let Some((_, first)) = keys::parse_chunk_key(&key) else { continue };
                let chunk = decode_chunk(stream, first, &value)?;
                found.extend(versioned(first, &chunk).filter(|(version, _)| *version >= from && *version < below));
            }
        }
        if let Some(tail) = tail {
            found.extend(tail.entries_since(from));
        }
        Ok(found)
    }

    /// The entry of `version` of `stream`, durable or not.
    pub fn entry(&self, stream: &str, version: StreamVersion) -> Result<Option<IndexEntry>, StoreError> {
        if let Some(tail) = self.tail_of(stream)? {
            if version >= tail.first_version {
                return Ok(tail.entries.get((version - tail.first_version) as usize).copied());
            }
        }
        let Some(item) = self.events.range(keys::chunk_key(stream, 0)..=keys::chunk_key(stream, version)).next_back()
        else {
            return Ok(None);
        };
        let (key, value) = item?;
        let Some((_, first)) = keys::parse_chunk_key(&key) else { return Ok(None) };
        let chunk = decode_chunk(stream, first, &value)?;
        Ok(version.checked_sub(first).and_then(|offset| chunk.get(offset as usize)).copied())
    }

    /// The last `count` entries of `stream`, durable or not, oldest first.
    pub fn recent(&self, stream: &str, count: usize) -> Result<Vec<VersionedEntry>, StoreError> {
        let tail = self.tail_of(stream)?;
        let mut newest_first: Vec<VersionedEntry> =
            tail.as_ref().map(|tail| tail.entries_since(0).into_iter().rev().take(count).collect()).unwrap_or_default();
        let below = tail.as_ref().map_or(StreamVersion::MAX, |tail| tail.first_version);
        if newest_first.len() < count {
            for item in self.events.range(keys::stream_chunk_prefix(stream)..keys::chunk_key(stream, below)).rev() {
                let (key, value) = item?;
                let Some((_, first)) = keys::parse_chunk_key(&key) else { continue };
                let chunk = decode_chunk(stream, first, &value)?;
                let wanted = count - newest_first.len();
                newest_first.extend(versioned(first, &chunk).rev().take(wanted));
                if newest_first.len() == count {
                    break;
                }
            }
        }
        newest_first.reverse();
        Ok(newest_first)
    }

    /// The last version of `stream`, durable or not (0 when it has no events).
    pub fn last_version(&self, stream: &str) -> Result<StreamVersion, StoreError> {
        match self.tail_of(stream)? {
            Some(tail) => Ok(tail.last_version()),
            None => self.stored_last_version(stream),
        }
    }

    /// The last version of `stream` whose event is at or before `durable`.
    pub fn durable_version(&self, stream: &str, durable: GlobalPosition) -> Result<StreamVersion, StoreError> {
        if let Some(tail) = self.tail_of(stream)? {
            if let Some(index) = tail.entries.iter().rposition(|entry| entry.position <= durable) {
                return Ok(tail.first_version + index as u64);
            }
            return Ok(tail.first_version - 1);
        }
        self.stored_last_version(stream)
    }

    /// The log position the stored chunks cover.
    pub fn covered(&self) -> GlobalPosition {
        self.tail.read().map(|tail| tail.covered).unwrap_or(0)
    }

    /// Entries held in memory, waiting for a checkpoint.
    pub fn pending(&self) -> usize {
        self.tail.read().map(|tail| tail.entries).unwrap_or(0)
    }

    /// Persists the tail's entries up to position `upto` (which must be durable in the log) as
    /// chunks, with the checkpoint, in one batch; then drops them from memory. Returns how many
    /// entries it persisted. The batch becomes durable with the log's next flush.
    pub fn checkpoint(&self, upto: GlobalPosition) -> Result<usize, StoreError> {
        let work: Vec<(String, StreamTail)> = {
            let tail = self.tail.read().map_err(|_| poisoned())?;
            if upto <= tail.covered {
                return Ok(0);
            }
            tail.streams
                .iter()
                .filter_map(|(stream, stream_tail)| {
                    let due = stream_tail.entries.partition_point(|entry| entry.position <= upto);
                    (due > 0).then(|| {
                        let entries = stream_tail.entries[..due].to_vec();
                        (stream.clone(), StreamTail { first_version: stream_tail.first_version, entries })
                    })
                })
                .collect()
        };
        let mut batch = sled::Batch::default();
        for (stream, due) in &work {
            self.stage_chunks(&mut batch, stream, due)?;
        }
        batch.insert(&keys::index_checkpoint_key(), &upto.to_be_bytes());
        self.events.apply_batch(batch)?;
        let mut tail = self.tail.write().map_err(|_| poisoned())?;
        let mut persisted = 0;
        for (stream, due) in work {
            let count = due.entries.len();
            persisted += count;
            if let Some(stream_tail) = tail.streams.get_mut(&stream) {
                stream_tail.entries.drain(..count);
                stream_tail.first_version += count as u64;
                if stream_tail.entries.is_empty() {
                    tail.streams.remove(&stream);
                }
            }
        }
        tail.entries -= persisted;
        tail.covered = upto;
        Ok(persisted)
    }

    /// Extends the stream's last chunk while it has room, then starts new ones.
    fn stage_chunks(&self, batch: &mut sled::Batch, stream: &str, due: &StreamTail) -> Result<(), StoreError> {
        let mut first = due.first_version;
        let mut pending: &[IndexEntry] = &due.entries;
        if let Some(item) = self.events.scan_prefix(keys::stream_chunk_prefix(stream)).next_back() {
            let (key, value) = item?;
            let last_first = keys::parse_chunk_key(&key).map_or(0, |(_, version)| version);
            let mut chunk = decode_chunk(stream, last_first, &value)?;
            if last_first + chunk.len() as u64 != first {
                return Err(gap(stream, last_first + chunk.len() as u64 - 1, first, due.entries[0].position));
            }
            if chunk.len() < CHUNK_ENTRIES {
                let room = (CHUNK_ENTRIES - chunk.len()).min(pending.len());
                chunk.extend_from_slice(&pending[..room]);
                batch.insert(key, encode_chunk(&chunk));
                pending = &pending[room..];
                first += room as u64;
            }
        }
        for part in pending.chunks(CHUNK_ENTRIES) {
            batch.insert(keys::chunk_key(stream, first), encode_chunk(part));
            first += part.len() as u64;
        }
        Ok(())
    }

    fn tail_of(&self, stream: &str) -> Result<Option<StreamTail>, StoreError> {
        Ok(self.tail.read().map_err(|_| poisoned())?.streams.get(stream).cloned())
    }

    fn stored_last_version(&self, stream: &str) -> Result<StreamVersion, StoreError> {
        match self.events.scan_prefix(keys::stream_chunk_prefix(stream)).next_back() {
            Some(item) => {
                let (key, value) = item?;
                let first = keys::parse_chunk_key(&key).map_or(0, |(_, version)| version);
                Ok(first + decode_chunk(stream, first, &value)?.len() as u64 - 1)
            }
            None => Ok(0),
        }
    }
}

fn versioned(first: StreamVersion, entries: &[IndexEntry]) -> impl DoubleEndedIterator<Item = VersionedEntry> + '_ {
    entries.iter().enumerate().map(move |(offset, entry)| (first + offset as u64, *entry))
}

fn gap(stream: &str, last: StreamVersion, next: StreamVersion, position: GlobalPosition) -> StoreError {
    StoreError::Corrupt {
        position,
        reason: format!("the stream index of {stream} jumps from version {last} to {next}"),
    }
}

fn poisoned() -> StoreError {
    StoreError::WriterStopped("the stream index lock is poisoned".to_owned())
}

/// Removes the per-event index keys of a data folder written before the index moved beside the
/// log; the log itself is untouched and the index is rebuilt from it.
fn remove_legacy_index(events: &sled::Tree) -> Result<(), StoreError> {
    let mut removed = 0u64;
    for prefix in keys::LEGACY_INDEX_PREFIXES {
        let mut batch = sled::Batch::default();
        let mut staged = 0;
        for item in events.scan_prefix([prefix]).keys() {
            batch.remove(item?);
            staged += 1;
            if staged == 65_536 {
                events.apply_batch(std::mem::take(&mut batch))?;
                removed += staged;
                staged = 0;
            }
        }
        events.apply_batch(batch)?;
        removed += staged;
    }
    if removed > 0 {
        info!(removed, "per-event index keys of an older data folder removed; the index is rebuilt from the log");
    }
    Ok(())
}
