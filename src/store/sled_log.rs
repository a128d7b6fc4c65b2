//! The event log on sled.

use super::codec::decode_record;
use super::disk_reserve::{DiskReserve, DEFAULT_MIN_FREE_BYTES};
use super::durability::Durability;
use super::error::StoreError;
use super::event_log::{AppendOutcome, BoxFuture, EventLog, ExpectedVersion, LogHead, StreamAppend};
use super::flusher::{self, Failure};
use super::idempotency_window::{IdempotencyWindows, IDEMPOTENCY_WINDOW};
use super::index_checkpointer;
use super::index_chunk::IndexEntry;
use super::keys;
use super::record::{GlobalPosition, NewEvent, RecordedEvent, StreamVersion};
use super::stream_index::StreamIndex;
use super::stream_name::StreamName;
use super::writer::{read_head, Writer, WriterMessage};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{info, instrument};
use uuid::Uuid;

/// Append requests that may wait for the writer before appenders are held back.
const WRITER_QUEUE: usize = 16_384;

/// Default size of sled's page cache (sled's own default is 1 GiB).
pub const DEFAULT_CACHE_BYTES: u64 = 256 * 1024 * 1024;

/// Default longest time between two checkpoints of the stream index.
pub const DEFAULT_INDEX_CHECKPOINT_INTERVAL: Duration = Duration::from_secs(2);

/// Name of the sled tree holding the log and its indexes.
const EVENTS_TREE: &str = "events";

/// How a log is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreOptions {
    /// Size of sled's page cache, bytes.
    pub cache_bytes: u64,
    /// Free space kept on the data folder's file system, bytes: below it, writes are refused
    /// (see [`super::disk_reserve`]); zero turns the check off.
    pub min_free_bytes: u64,
    /// Longest time the stream index's tail waits for a checkpoint while it holds anything.
    pub index_checkpoint_interval: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            cache_bytes: DEFAULT_CACHE_BYTES,
            min_free_bytes: DEFAULT_MIN_FREE_BYTES,
            index_checkpoint_interval: DEFAULT_INDEX_CHECKPOINT_INTERVAL,
        }
    }
}

/// The event log, stored in a sled database in one data folder.
pub struct SledEventLog {
    path: PathBuf,
    db: sled::Db,
    events: sled::Tree,
    index: Arc<StreamIndex>,
    inbox: Mutex<Option<mpsc::Sender<WriterMessage>>>,
    durability: Durability,
    head: watch::Receiver<LogHead>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    checkpointer: Mutex<Option<(std::sync::mpsc::Sender<()>, JoinHandle<()>)>>,
}

impl SledEventLog {
    /// Opens (creating if needed) the log in `path`, with the default options.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with(path, StoreOptions::default())
    }

    /// Opens (creating if needed) the log in `path` with `options`.
    pub fn open_with(path: &Path, options: StoreOptions) -> Result<Self, StoreError> {
        let db = open_database(path, options.cache_bytes)?;
        let events = db.open_tree(EVENTS_TREE)?;
        let head = read_head(&events)?;
        let index = Arc::new(StreamIndex::open(&events)?);
        let (head_tx, head_rx) = watch::channel(head);
        let (inbox_tx, inbox_rx) = mpsc::channel(WRITER_QUEUE);
        let (flusher_tx, flusher_rx) = std::sync::mpsc::channel();
        let failure = Failure::default();
        let flusher_db = db.clone();
        let flusher_failure = failure.clone();
        let flusher = spawn_thread("optibid-event-flusher", move || {
            flusher::run(flusher_db, flusher_rx, head_tx, flusher_failure)
        })?;
        let writer = Writer {
            events: events.clone(),
            head,
            index: index.clone(),
            windows: IdempotencyWindows::default(),
            flusher: flusher_tx,
            failure,
            reserve: DiskReserve::new(path, options.min_free_bytes),
        };
        let writer = spawn_thread("optibid-event-writer", move || writer.run(inbox_rx))?;
        let (stop_tx, stop_rx) = std::sync::mpsc::channel();
        let reserve = DiskReserve::new(path, options.min_free_bytes);
        let checkpoint_index = index.clone();
        let checkpoint_head = head_rx.clone();
        let checkpointer = spawn_thread("optibid-index-checkpointer", move || {
            index_checkpointer::run(
                checkpoint_index,
                checkpoint_head,
                options.index_checkpoint_interval,
                reserve,
                stop_rx,
            )
        })?;
        info!(path = %path.display(), head = head.position, "event log opened");
        Ok(Self {
            path: path.to_owned(),
            db,
            events,
            index,
            durability: Durability::new(&inbox_tx),
            inbox: Mutex::new(Some(inbox_tx)),
            head: head_rx,
            threads: Mutex::new(vec![writer, flusher]),
            checkpointer: Mutex::new(Some((stop_tx, checkpointer))),
        })
    }

    /// Opens an existing data folder, refusing to create one.
    pub fn open_existing(path: &Path) -> Result<Self, StoreError> {
        if !path.is_dir() {
            return Err(StoreError::MissingDataFolder(path.to_owned()));
        }
        Self::open(path)
    }

    /// The data folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The sled database, for components that keep their own trees beside the log (snapshots,
    /// projections). They make their writes durable through [`SledEventLog::durability`], never
    /// by flushing it themselves.
    pub fn database(&self) -> &sled::Db {
        &self.db
    }

    /// Waits that make writes to other trees of [`SledEventLog::database`] durable. Nothing else
    /// may flush the database.
    pub fn durability(&self) -> Durability {
        self.durability.clone()
    }

    /// The raw tree of the log. Only audit tooling and tests that prove tamper detection touch it.
    pub fn raw_events_tree(&self) -> &sled::Tree {
        &self.events
    }

    /// Restores exported records, which must continue this log exactly (same positions, same
    /// chain). Returns once they are on disk.
    pub async fn import(&self, records: Vec<RecordedEvent>) -> Result<LogHead, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.send(WriterMessage::Import { records, reply }).await?;
        answer.await.map_err(|_| StoreError::WriterStopped("the writer dropped the import".to_owned()))?
    }

    /// The stream index beside the log, for audit tooling.
    pub fn stream_index(&self) -> &StreamIndex {
        &self.index
    }

    /// Stops the writer and the flusher after they have committed and answered everything
    /// queued, then checkpoints the whole stream index, so that the next open has no tail to
    /// rebuild.
    pub fn close(&self) {
        if self.stop_threads() {
            let head = self.head.borrow().position;
            let checkpointed = self.index.checkpoint(head).map_err(|e| e.to_string());
            let flushed = checkpointed.and_then(|_| self.db.flush().map_err(|e| e.to_string()));
            if let Err(error) = flushed {
                tracing::warn!(%error, "the stream index was not checkpointed on close; the next open rebuilds it from the log");
            }
        }
    }

    /// Stops the writer and the flusher once they have answered everything queued, then the
    /// checkpointer. Returns whether they were still running.
    fn stop_threads(&self) -> bool {
        self.inbox.lock().map(|mut inbox| inbox.take()).ok();
        let threads = self.threads.lock().map(|mut threads| std::mem::take(&mut *threads)).unwrap_or_default();
        let running = !threads.is_empty();
        for thread in threads {
            let _ = thread.join();
        }
        if let Some((stop, checkpointer)) = self.checkpointer.lock().ok().and_then(|mut slot| slot.take()) {
            drop(stop);
            let _ = checkpointer.join();
        }
        running
    }

    /// Stops the writer, flusher and checkpointer the way a crash after the last flush would
    /// leave them: whatever the stream index holds beyond its checkpoint is not persisted.
    #[cfg(test)]
    pub(super) fn stop_without_checkpoint(&self) {
        self.stop_threads();
    }

    async fn send(&self, message: WriterMessage) -> Result<(), StoreError> {
        let inbox = self.inbox.lock().ok().and_then(|inbox| inbox.clone());
        let inbox = inbox.ok_or_else(|| StoreError::WriterStopped("the event log is closed".to_owned()))?;
        inbox.send(message).await.map_err(|_| StoreError::WriterStopped("the writer is gone".to_owned()))
    }

    fn record_at(&self, position: GlobalPosition) -> Result<Option<RecordedEvent>, StoreError> {
        match self.events.get(keys::log_key(position))? {
            Some(bytes) => Ok(Some(decode_record(position, &bytes)?)),
            None => Ok(None),
        }
    }

    fn indexed_record(&self, stream: &str, entry: &IndexEntry) -> Result<RecordedEvent, StoreError> {
        self.record_at(entry.position)?.ok_or_else(|| StoreError::Corrupt {
            position: entry.position,
            reason: format!("the stream index of {stream} names a missing event"),
        })
    }
}

/// How long an open waits for a lock that this or another process still holds: sled's own I/O
/// threads may hold a closed database's files for a moment.
const LOCK_WAIT: Duration = Duration::from_secs(2);

/// Opens sled in `path`, waiting up to [`LOCK_WAIT`] for its lock.
fn open_database(path: &Path, cache_bytes: u64) -> Result<sled::Db, StoreError> {
    let config = sled::Config::new().path(path).flush_every_ms(None).cache_capacity(cache_bytes);
    let started = std::time::Instant::now();
    loop {
        match config.open() {
            Ok(db) => return Ok(db),
            Err(sled::Error::Io(io)) if io.to_string().contains("could not acquire lock") => {
                if started.elapsed() >= LOCK_WAIT {
                    return Err(StoreError::Locked(path.to_owned()));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(other) => return Err(StoreError::Storage(other)),
        }
    }
}

fn spawn_thread(name: &str, body: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>, StoreError> {
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(body)
        .map_err(|e| StoreError::WriterStopped(format!("cannot start the {name} thread: {e}")))
}

impl Drop for SledEventLog {
    fn drop(&mut self) {
        self.close();
    }
}

impl EventLog for SledEventLog {
    #[instrument(level = "debug", skip_all, fields(stream = %stream, events = events.len()))]
    fn append(
        &self,
        stream: StreamName,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> BoxFuture<'_, Result<AppendOutcome, StoreError>> {
        Box::pin(async move {
            let mut outcomes = self.append_atomic(vec![StreamAppend { stream, expected, events }]).await?;
            outcomes.pop().ok_or_else(|| StoreError::WriterStopped("the writer answered no outcome".to_owned()))
        })
    }

    #[instrument(level = "debug", skip_all, fields(streams = parts.len()))]
    fn append_atomic(&self, parts: Vec<StreamAppend>) -> BoxFuture<'_, Result<Vec<AppendOutcome>, StoreError>> {
        Box::pin(async move {
            let (reply, answer) = oneshot::channel();
            self.send(WriterMessage::Append { parts, reply }).await?;
            answer.await.map_err(|_| StoreError::WriterStopped("the writer dropped the append".to_owned()))?
        })
    }

    fn read_stream(&self, stream: &StreamName, from: StreamVersion) -> Result<Vec<RecordedEvent>, StoreError> {
        let durable = self.head.borrow().position;
        let mut events = Vec::new();
        for (_, entry) in self.index.entries_from(stream.as_str(), from)? {
            if entry.position > durable {
                break;
            }
            events.push(self.indexed_record(stream.as_str(), &entry)?);
        }
        Ok(events)
    }

    fn read_stream_event(
        &self,
        stream: &StreamName,
        version: StreamVersion,
    ) -> Result<Option<RecordedEvent>, StoreError> {
        let durable = self.head.borrow().position;
        match self.index.entry(stream.as_str(), version)? {
            Some(entry) if entry.position <= durable => Ok(Some(self.indexed_record(stream.as_str(), &entry)?)),
            _ => Ok(None),
        }
    }

    fn stream_version(&self, stream: &StreamName) -> Result<StreamVersion, StoreError> {
        self.index.durable_version(stream.as_str(), self.head.borrow().position)
    }

    fn read_all(&self, from: GlobalPosition, limit: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        let durable = self.head.borrow().position;
        let from = from.max(1);
        if from > durable {
            return Ok(Vec::new());
        }
        let mut events = Vec::with_capacity(limit.min(4_096));
        for entry in self.events.range(keys::log_key(from)..=keys::log_key(durable)).take(limit) {
            let (key, value) = entry?;
            let position = keys::position_of_log_key(&key).unwrap_or(0);
            events.push(decode_record(position, &value)?);
        }
        Ok(events)
    }

    fn head(&self) -> LogHead {
        *self.head.borrow()
    }

    fn watch_head(&self) -> watch::Receiver<LogHead> {
        self.head.clone()
    }

    fn event_position(&self, stream: &StreamName, event_id: &Uuid) -> Result<Option<GlobalPosition>, StoreError> {
        let durable = self.head.borrow().position;
        Ok(self
            .index
            .recent(stream.as_str(), IDEMPOTENCY_WINDOW)?
            .into_iter()
            .rev()
            .find(|(_, entry)| entry.event_id == *event_id)
            .map(|(_, entry)| entry.position)
            .filter(|position| *position <= durable))
    }

    fn stream_by_uuid(&self, uuid: &Uuid) -> Result<Option<StreamName>, StoreError> {
        match self.events.get(keys::stream_uuid_key(uuid))? {
            Some(bytes) => {
                let name = String::from_utf8_lossy(&bytes).into_owned();
                Ok(StreamName::parse(&name).ok())
            }
            None => Ok(None),
        }
    }
}
