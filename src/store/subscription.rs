//! Live tailing of the global log.

use super::error::StoreError;
use super::event_log::EventLog;
use super::record::{GlobalPosition, RecordedEvent};
use std::sync::Arc;
use tokio::sync::watch;

/// Reads the global log from a position on, then waits for new durable events without polling.
pub struct LogSubscription {
    log: Arc<dyn EventLog>,
    head: watch::Receiver<super::event_log::LogHead>,
    next: GlobalPosition,
}

impl LogSubscription {
    /// Starts at position `from` (1 for the whole log).
    pub fn new(log: Arc<dyn EventLog>, from: GlobalPosition) -> Self {
        let head = log.watch_head();
        Self { log, head, next: from.max(1) }
    }

    /// The position of the next event this subscription will return.
    pub fn next_position(&self) -> GlobalPosition {
        self.next
    }

    /// The next events (at most `max`), waiting until at least one exists. Returns an empty
    /// batch only when the store has been closed.
    pub async fn next_batch(&mut self, max: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        loop {
            let head = self.head.borrow_and_update().position;
            if head >= self.next {
                let events = self.log.read_all(self.next, max.max(1))?;
                if let Some(last) = events.last() {
                    self.next = last.position + 1;
                }
                return Ok(events);
            }
            if self.head.changed().await.is_err() {
                return Ok(Vec::new());
            }
        }
    }
}
