//! Time to open a log and have its stream index ready: after a clean close (index checkpoint
//! at the head), and with no stored index at all (the whole log indexed from its records, the
//! worst case after a crash, which only ever leaves the events since the last checkpoint).

use crate::store::{keys, EventLog, SledEventLog, StoreError};
use std::path::Path;
use std::time::{Duration, Instant};

/// Figures of one reopen run.
#[derive(Debug, Clone, Copy)]
pub struct ReopenFigures {
    /// Events in the log.
    pub events: u64,
    /// Open after a clean close.
    pub checkpointed: Duration,
    /// Open with the whole log to index.
    pub unindexed: Duration,
}

impl ReopenFigures {
    /// Events indexed per second when the index is rebuilt from the log.
    pub fn indexed_per_second(&self) -> f64 {
        self.events as f64 / self.unindexed.as_secs_f64().max(1e-9)
    }
}

/// Opens the log in `path` (already filled and closed) twice: as it is, then with its stored
/// index removed.
pub fn measure(path: &Path) -> Result<ReopenFigures, StoreError> {
    let started = Instant::now();
    let log = SledEventLog::open(path)?;
    let checkpointed = started.elapsed();
    let events = log.head().position;
    let tree = log.raw_events_tree();
    let mut batch = sled::Batch::default();
    for key in tree.scan_prefix(keys::chunk_prefix()).keys() {
        batch.remove(key?);
    }
    batch.remove(&keys::index_checkpoint_key());
    tree.apply_batch(batch)?;
    log.durability().wait_blocking()?;
    drop(log);
    let started = Instant::now();
    let log = SledEventLog::open(path)?;
    let unindexed = started.elapsed();
    drop(log);
    Ok(ReopenFigures { events, checkpointed, unindexed })
}
