//! The single writer.
//!
//! One thread owns every write to the log. It takes all append requests waiting in its queue,
//! checks each against the stream versions and the streams' idempotency windows, assigns global
//! positions in order and links each event into the hash chain, and writes the whole group as
//! one atomic sled batch: one key per event, the record itself. The group's index entries go to
//! the in-memory [`StreamIndex`] before the group can become durable. The group then goes to the flusher, which answers its callers only
//! after the flush that makes it durable. Positions are assigned in commit order and readers stop
//! at the durable head, so a reader never sees a gap that fills later.

use super::chain::{chain_hash, payload_hash};
use super::codec::encode_record;
use super::disk_reserve::DiskReserve;
use super::error::StoreError;
use super::event_log::{AppendOutcome, ExpectedVersion, LogHead, StreamAppend};
use super::flusher::{fail, AppliedGroup, Failure, Reply};
use super::idempotency_window::IdempotencyWindows;
use super::index_chunk::IndexEntry;
use super::keys;
use super::record::{GlobalPosition, RecordedEvent, StreamVersion};
use super::stream_index::StreamIndex;
use super::stream_name::StreamName;
use std::collections::HashMap;
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

/// Most requests taken into one group commit.
const MAX_GROUP_REQUESTS: usize = 2_048;

/// What the writer is asked to do.
pub(super) enum WriterMessage {
    /// Append new events to one or more streams, all or nothing.
    Append {
        /// What to append where.
        parts: Vec<StreamAppend>,
        /// Where to answer: one outcome per part, in order.
        reply: oneshot::Sender<Result<Vec<AppendOutcome>, StoreError>>,
    },
    /// Answer once everything written to the database so far is durable (see
    /// [`super::durability`]).
    Barrier {
        /// Where to answer.
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
    /// Restore records exported from another store; they must continue this log exactly.
    Import {
        /// The records, in global order.
        records: Vec<RecordedEvent>,
        /// Where to answer.
        reply: oneshot::Sender<Result<LogHead, StoreError>>,
    },
}

/// State owned by the writer thread.
pub(super) struct Writer {
    pub(super) events: sled::Tree,
    pub(super) head: LogHead,
    pub(super) index: Arc<StreamIndex>,
    pub(super) windows: IdempotencyWindows,
    pub(super) flusher: Sender<AppliedGroup>,
    pub(super) failure: Failure,
    pub(super) reserve: DiskReserve,
}

/// Work staged for one group commit.
#[derive(Default)]
struct Group {
    batch: sled::Batch,
    event_ids: HashMap<Uuid, GlobalPosition>,
    index_entries: Vec<(String, StreamVersion, IndexEntry)>,
    replies: Vec<Reply>,
    written: usize,
}

impl Writer {
    /// Runs until every sender is gone. After a storage failure every request is refused, so
    /// nothing is acknowledged that might not be on disk.
    pub(super) fn run(mut self, mut inbox: mpsc::Receiver<WriterMessage>) {
        while let Some(first) = inbox.blocking_recv() {
            let mut messages = vec![first];
            while messages.len() < MAX_GROUP_REQUESTS {
                match inbox.try_recv() {
                    Ok(message) => messages.push(message),
                    Err(_) => break,
                }
            }
            if let Some(reason) = self.failure.lock().ok().and_then(|slot| slot.clone()) {
                messages.into_iter().for_each(|message| refuse(message, || StoreError::WriterStopped(reason.clone())));
                continue;
            }
            if let Err(StoreError::InsufficientSpace { available, reserve }) = self.reserve.check() {
                tracing::warn!(
                    available,
                    reserve,
                    "refusing writes: the data folder's file system is below its reserve"
                );
                let full = || StoreError::InsufficientSpace { available, reserve };
                messages.into_iter().for_each(|message| refuse(message, full));
                continue;
            }
            self.apply_group(messages);
        }
    }

    fn apply_group(&mut self, messages: Vec<WriterMessage>) {
        let started = std::time::Instant::now();
        self.windows.trim();
        let mut group = Group::default();
        for message in messages {
            match message {
                WriterMessage::Append { parts, reply } => {
                    let result = self.stage_parts(&mut group, parts);
                    group.replies.push(Reply::Append(reply, result));
                }
                WriterMessage::Import { records, reply } => {
                    let result = self.stage_import(&mut group, records);
                    group.replies.push(Reply::Import(reply, result));
                }
                WriterMessage::Barrier { reply } => group.replies.push(Reply::Barrier(reply)),
            }
        }
        let staged = started.elapsed();
        if let Err(error) = self.index.record(std::mem::take(&mut group.index_entries)) {
            fail(&self.failure, error.to_string());
        }
        if group.written > 0 {
            if let Err(error) = self.events.apply_batch(group.batch) {
                fail(&self.failure, error.to_string());
            }
        }
        tracing::debug!(?staged, applied = ?started.elapsed(), events = group.written, "group applied");
        let applied = AppliedGroup { replies: group.replies, head: self.head, events: group.written };
        if let Err(unsent) = self.flusher.send(applied) {
            fail(&self.failure, "the flusher is gone".to_owned());
            drop(unsent);
        }
    }

    fn stream_version(&mut self, stream: &str) -> Result<StreamVersion, StoreError> {
        self.windows.version(stream, &self.index)
    }

    fn stored_position(
        &mut self,
        group: &Group,
        stream: &str,
        event_id: &Uuid,
    ) -> Result<Option<GlobalPosition>, StoreError> {
        if let Some(position) = group.event_ids.get(event_id) {
            return Ok(Some(*position));
        }
        self.windows.position_of(stream, event_id, &self.index)
    }

    /// Stages the parts of one request all or nothing: every stream's expected version holds
    /// and none of the event ids is stored, or nothing is written. A request whose event ids are
    /// all stored already is a retry and gets the stored positions back.
    fn stage_parts(&mut self, group: &mut Group, parts: Vec<StreamAppend>) -> Result<Vec<AppendOutcome>, StoreError> {
        let mut currents = Vec::with_capacity(parts.len());
        let mut known = Vec::with_capacity(parts.len());
        for (index, part) in parts.iter().enumerate() {
            if parts[..index].iter().any(|earlier| earlier.stream == part.stream) {
                return Err(StoreError::Encode(format!("one append names {} twice", part.stream)));
            }
            currents.push(self.stream_version(part.stream.as_str())?);
            let mut positions = Vec::with_capacity(part.events.len());
            for event in &part.events {
                positions.push(self.stored_position(group, part.stream.as_str(), &event.event_id)?);
            }
            known.push(positions);
        }
        let flat: Vec<&Option<GlobalPosition>> = known.iter().flatten().collect();
        if flat.first().is_some_and(|first| first.is_some()) {
            return parts
                .iter()
                .zip(&known)
                .zip(&currents)
                .map(|((part, known), current)| self.duplicate_outcome(&part.stream, known, *current))
                .collect();
        }
        if let Some((part, event)) = parts
            .iter()
            .zip(&known)
            .find_map(|(part, known)| known.iter().position(Option::is_some).map(|index| (part, index)))
        {
            return Err(StoreError::PartialDuplicate(part.events[event].event_id));
        }
        for (part, current) in parts.iter().zip(&currents) {
            if let ExpectedVersion::Exact(expected) = part.expected {
                if expected != *current {
                    return Err(StoreError::Conflict { stream: part.stream.to_string(), expected, actual: *current });
                }
            }
        }
        let recorded_at = now_millis();
        let mut head = self.head;
        let mut staged = Vec::new();
        let mut outcomes = Vec::with_capacity(parts.len());
        let mut new_streams = Vec::new();
        for (part, current) in parts.into_iter().zip(currents) {
            let mut version = current;
            let mut positions = Vec::with_capacity(part.events.len());
            for event in part.events {
                version += 1;
                let record = RecordedEvent {
                    position: head.position + 1,
                    stream: part.stream.to_string(),
                    version,
                    event_id: event.event_id,
                    event_type: event.event_type,
                    schema_version: event.schema_version,
                    recorded_at,
                    metadata: event.metadata,
                    payload_hash: payload_hash(&event.payload),
                    payload: Some(event.payload),
                    prev_hash: head.hash,
                    hash: [0; 32],
                };
                let linked = link(&mut head, record)?;
                positions.push(linked.0.position);
                staged.push(linked);
            }
            if current == 0 && version > 0 {
                new_streams.push(part.stream.clone());
            }
            outcomes.push((part.stream, positions, version));
        }
        for stream in &new_streams {
            group.batch.insert(&keys::stream_uuid_key(&stream.uuid()), stream.as_str().as_bytes());
        }
        self.push(group, staged, head);
        Ok(outcomes
            .into_iter()
            .map(|(_, positions, version)| AppendOutcome { positions, version, last_hash: head.hash, duplicate: false })
            .collect())
    }

    /// Adds fully linked and encoded records to the group and moves the (not yet durable) head.
    fn push(&mut self, group: &mut Group, staged: Vec<(RecordedEvent, Vec<u8>)>, head: LogHead) {
        for (record, bytes) in staged {
            group.batch.insert(&keys::log_key(record.position), bytes);
            let entry = IndexEntry { position: record.position, event_id: record.event_id };
            self.windows.remember(&record.stream, record.version, entry);
            group.event_ids.insert(record.event_id, record.position);
            group.index_entries.push((record.stream, record.version, entry));
            group.written += 1;
        }
        self.head = head;
    }

    fn duplicate_outcome(
        &self,
        stream: &StreamName,
        known: &[Option<GlobalPosition>],
        current: StreamVersion,
    ) -> Result<AppendOutcome, StoreError> {
        let positions: Vec<GlobalPosition> = known.iter().flatten().copied().collect();
        if positions.len() != known.len() {
            let missing = known.iter().position(Option::is_none).unwrap_or(0);
            return Err(StoreError::Corrupt {
                position: positions.first().copied().unwrap_or(0),
                reason: format!("a retried append to {stream} is only partly stored (event {missing} is missing)"),
            });
        }
        Ok(AppendOutcome { positions, version: current, last_hash: self.head.hash, duplicate: true })
    }

    fn stage_import(&mut self, group: &mut Group, records: Vec<RecordedEvent>) -> Result<LogHead, StoreError> {
        let mut head = self.head;
        let mut versions: HashMap<String, StreamVersion> = HashMap::new();
        let mut staged = Vec::with_capacity(records.len());
        for record in records {
            let current = match versions.get(&record.stream) {
                Some(version) => *version,
                None => self.stream_version(&record.stream)?,
            };
            if let Some(reason) = import_mismatch(&head, current, &record) {
                return Err(StoreError::Corrupt { position: record.position, reason });
            }
            versions.insert(record.stream.clone(), record.version);
            let bytes = encode_record(&record)?;
            head = LogHead { position: record.position, hash: record.hash };
            staged.push((record, bytes));
        }
        for (record, _) in staged.iter().filter(|(record, _)| record.version == 1) {
            if let Ok(name) = StreamName::parse(&record.stream) {
                group.batch.insert(&keys::stream_uuid_key(&name.uuid()), record.stream.as_bytes());
            }
        }
        self.push(group, staged, head);
        Ok(head)
    }
}

/// Links `record` to `head` (setting its chain hash), encodes it, and moves `head` to it.
fn link(head: &mut LogHead, mut record: RecordedEvent) -> Result<(RecordedEvent, Vec<u8>), StoreError> {
    record.hash = chain_hash(&record.prev_hash, &record);
    let bytes = encode_record(&record)?;
    *head = LogHead { position: record.position, hash: record.hash };
    Ok((record, bytes))
}

/// Why an imported record does not continue the log at `head`, if it does not.
fn import_mismatch(head: &LogHead, stream_version: StreamVersion, record: &RecordedEvent) -> Option<String> {
    if record.position != head.position + 1 {
        return Some(format!("expected global position {}, found {}", head.position + 1, record.position));
    }
    if record.prev_hash != head.hash {
        return Some("the previous hash does not match the log's head".to_owned());
    }
    if chain_hash(&record.prev_hash, record) != record.hash {
        return Some("the chain hash does not match the event".to_owned());
    }
    if record.payload.as_deref().is_some_and(|payload| payload_hash(payload) != record.payload_hash) {
        return Some("the payload does not match its hash".to_owned());
    }
    if record.version != stream_version + 1 {
        return Some(format!("{} jumps from version {stream_version} to {}", record.stream, record.version));
    }
    None
}

fn refuse(message: WriterMessage, error: impl Fn() -> StoreError) {
    match message {
        WriterMessage::Append { reply, .. } => drop(reply.send(Err(error()))),
        WriterMessage::Import { reply, .. } => drop(reply.send(Err(error()))),
        WriterMessage::Barrier { reply } => drop(reply.send(Err(error()))),
    }
}

/// Milliseconds since the Unix epoch.
fn now_millis() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The chain head stored at the end of the log (zeros for an empty log).
pub(super) fn read_head(events: &sled::Tree) -> Result<LogHead, StoreError> {
    match events.scan_prefix(keys::log_prefix()).next_back() {
        None => Ok(LogHead::default()),
        Some(entry) => {
            let (key, value) = entry?;
            let position = keys::position_of_log_key(&key).unwrap_or(0);
            let record = super::codec::decode_record(position, &value)?;
            Ok(LogHead { position, hash: record.hash })
        }
    }
}
