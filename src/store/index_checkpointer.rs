//! The index checkpointer: persists the stream index's in-memory tail in the background.
//!
//! It wakes every tick (a quarter of its interval, at most [`LONGEST_TICK`]) and checkpoints up
//! to the durable head when the tail holds [`CHECKPOINT_ENTRIES`] entries or the interval has
//! passed since the last checkpoint, at most [`MAX_CHECKPOINT_EVENTS`] positions at a time. It never flushes: its
//! batch becomes durable with the log's next group commit (sled 0.34 deadlocks when two threads
//! flush at once), and until then the tail is simply rebuilt from the log after a crash. Like
//! the writer, it writes nothing while the data folder is below its disk reserve.

use super::disk_reserve::DiskReserve;
use super::event_log::LogHead;
use super::stream_index::StreamIndex;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tracing::{debug, error, info_span};

/// Longest wait between two looks at the tail.
const LONGEST_TICK: Duration = Duration::from_millis(100);

/// Tail entries that start a checkpoint early.
const CHECKPOINT_ENTRIES: usize = 65_536;

/// Most log positions one checkpoint covers, so that indexing a large older log does not build
/// one huge batch.
const MAX_CHECKPOINT_EVENTS: u64 = 262_144;

/// Runs until `stop` is dropped.
pub(super) fn run(
    index: Arc<StreamIndex>,
    head: watch::Receiver<LogHead>,
    interval: Duration,
    reserve: DiskReserve,
    stop: Receiver<()>,
) {
    let _span = info_span!("index_checkpointer").entered();
    let tick = (interval / 4).clamp(Duration::from_millis(1), LONGEST_TICK);
    let mut last = Instant::now();
    loop {
        match stop.recv_timeout(tick) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
        let pending = index.pending();
        if pending == 0 || (pending < CHECKPOINT_ENTRIES && last.elapsed() < interval) {
            continue;
        }
        if reserve.check().is_err() {
            continue;
        }
        let durable = head.borrow().position;
        let upto = durable.min(index.covered() + MAX_CHECKPOINT_EVENTS);
        let started = Instant::now();
        match index.checkpoint(upto) {
            Ok(entries) => debug!(entries, upto, took = ?started.elapsed(), "stream index checkpointed"),
            Err(error) => error!(%error, upto, "stream index checkpoint failed; the tail stays in memory"),
        }
        last = Instant::now();
    }
}
