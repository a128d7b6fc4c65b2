//! The loop of a process manager that follows the global log: batches in order from its
//! checkpoint, each handed to its step, whose own writes are stored together with the new
//! checkpoint in one sled batch, so a restart repeats nothing and skips nothing.
//!
//! A step that fails transiently (a busy or restarting actor) is run again on the same batch
//! with backoff, so steps must be safe to repeat (their commands carry idempotency keys). A
//! storage failure stops the follower and its [`WorkerHealth`] says why.

use crate::ingest::backoff::Backoff;
use crate::store::{EventLog, LogSubscription, RecordedEvent};
use crate::worker_health::WorkerHealth;
use optibid_projections::projection::stored_checkpoint;
use optibid_projections::{ProjectionError, CHECKPOINT_KEY};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Why a step did not carry its batch out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    /// Trying the same batch again may succeed.
    #[error("{0} (retrying)")]
    Transient(String),
    /// Storage failed; the follower stops.
    #[error("storage failed: {0}")]
    Storage(String),
}

/// The position after the checkpoint stored in `tree`: where a follower resumes.
pub fn resume_position(tree: &sled::Tree) -> Result<u64, ProjectionError> {
    Ok(stored_checkpoint(tree)? + 1)
}

/// Follows `log` from `from`, `batch_size` events at a time, until the log closes or storage
/// fails. `step` carries a batch out and returns the writes to store with the checkpoint.
pub async fn follow_log<Step, Done>(
    log: Arc<dyn EventLog>,
    tree: sled::Tree,
    from: u64,
    batch_size: usize,
    health: Arc<WorkerHealth>,
    mut step: Step,
) where
    Step: FnMut(Vec<RecordedEvent>) -> Done,
    Done: Future<Output = Result<sled::Batch, StepError>>,
{
    let mut subscription = LogSubscription::new(log, from);
    let mut backoff = Backoff::new(Duration::from_millis(50), Duration::from_secs(5));
    loop {
        let records = match subscription.next_batch(batch_size).await {
            Ok(records) if records.is_empty() => return,
            Ok(records) => records,
            Err(error) => return health.stopped_by(&format!("cannot read the log: {error}")),
        };
        let last = subscription.next_position().saturating_sub(1);
        let mut writes = loop {
            match step(records.clone()).await {
                Ok(writes) => {
                    backoff.reset();
                    break writes;
                }
                Err(StepError::Transient(reason)) => {
                    health.retrying(&format!("events up to {last}: {reason}"));
                    tokio::time::sleep(backoff.next_delay()).await;
                }
                Err(StepError::Storage(reason)) => {
                    return health.stopped_by(&format!("cannot carry out the events up to {last}: {reason}"));
                }
            }
        };
        writes.insert(CHECKPOINT_KEY, &last.to_be_bytes());
        if let Err(error) = tree.apply_batch(writes) {
            return health.stopped_by(&format!("cannot store the checkpoint: {error}"));
        }
    }
}

/// How an actor's failure counts for a follower: a storage failure stops it, anything else
/// (busy, slow, restarting) is retried.
pub fn step_error<E: std::error::Error>(error: crate::actors::ExecuteError<E>) -> StepError {
    match error {
        crate::actors::ExecuteError::Store(store) => StepError::Storage(store.to_string()),
        other => StepError::Transient(other.to_string()),
    }
}
