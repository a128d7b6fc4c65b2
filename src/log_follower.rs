//! The loop of a process manager that follows the global log: batches in order from its
//! checkpoint, each handed to its step, whose own writes are stored together with the new
//! checkpoint in one sled batch, so a restart repeats nothing and skips nothing.

use crate::store::{EventLog, LogSubscription, RecordedEvent};
use optibid_projections::projection::stored_checkpoint;
use optibid_projections::{ProjectionError, CHECKPOINT_KEY};
use std::future::Future;
use std::sync::Arc;

/// The position after the checkpoint stored in `tree`: where a follower resumes.
pub fn resume_position(tree: &sled::Tree) -> Result<u64, ProjectionError> {
    Ok(stored_checkpoint(tree)? + 1)
}

/// Follows `log` from `from`, `batch_size` events at a time, until the log closes or a step
/// fails. `step` carries a batch out and returns the writes to store with the checkpoint; a
/// failing step stops the follower (logged), so no event is skipped.
pub async fn follow_log<E, Step, Done>(
    log: Arc<dyn EventLog>,
    tree: sled::Tree,
    from: u64,
    batch_size: usize,
    mut step: Step,
) where
    E: std::fmt::Display,
    Step: FnMut(Vec<RecordedEvent>) -> Done,
    Done: Future<Output = Result<sled::Batch, E>>,
{
    let mut subscription = LogSubscription::new(log, from);
    loop {
        let records = match subscription.next_batch(batch_size).await {
            Ok(records) if records.is_empty() => return,
            Ok(records) => records,
            Err(error) => {
                tracing::error!(%error, "cannot read the log; stopping");
                return;
            }
        };
        let last = subscription.next_position().saturating_sub(1);
        let mut writes = match step(records).await {
            Ok(writes) => writes,
            Err(error) => {
                tracing::error!(%error, "cannot carry out the events up to {last}; stopping");
                return;
            }
        };
        writes.insert(CHECKPOINT_KEY, &last.to_be_bytes());
        if let Err(error) = tree.apply_batch(writes) {
            tracing::error!(%error, "cannot store the checkpoint; stopping");
            return;
        }
    }
}
