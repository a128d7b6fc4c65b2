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
/// (busy, slow, restarting, a full disk) is retried.
pub fn step_error<E: std::error::Error>(error: crate::actors::ExecuteError<E>) -> StepError {
    match error {
        crate::actors::ExecuteError::Store(store) if !store.is_transient() => StepError::Storage(store.to_string()),
        other => StepError::Transient(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actors::{CommandMetadata, DirectoryConfig, Platform};
    use crate::bench::workload::registration;
    use crate::store::SledEventLog;
    use std::sync::atomic::{AtomicU32, Ordering};

    async fn platform_with_one_event() -> (tempfile::TempDir, Arc<SledEventLog>, Platform) {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = Arc::new(SledEventLog::open(dir.path()).expect("opens"));
        let platform = Platform::start(log.clone(), DirectoryConfig::default()).await.expect("starts");
        let register = registration(1).expect("valid");
        platform.devices.execute("bench-000001", register, CommandMetadata::default()).await.expect("registers");
        (dir, log, platform)
    }

    #[tokio::test]
    async fn a_transient_error_is_retried_until_the_batch_is_carried_out() {
        let (_dir, log, _platform) = platform_with_one_event().await;
        let tree = log.database().open_tree("follower-test").expect("tree");
        let health = WorkerHealth::new("test");
        let attempts = Arc::new(AtomicU32::new(0));
        let counted = attempts.clone();
        let follower = tokio::spawn(follow_log(log.clone(), tree.clone(), 1, 16, health.clone(), move |_| {
            let attempt = counted.fetch_add(1, Ordering::SeqCst);
            async move {
                if attempt < 2 {
                    Err(StepError::Transient("the actor is busy".to_owned()))
                } else {
                    Ok(sled::Batch::default())
                }
            }
        }));
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while resume_position(&tree).expect("readable") != 2 {
            assert!(std::time::Instant::now() < deadline, "the checkpoint never moved");
            // The follower retries with real backoff against the real log: poll, bounded.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        follower.abort();
        assert_eq!(attempts.load(Ordering::SeqCst), 3);
        assert_eq!(health.retried(), 2);
        assert!(health.stop_reason().is_none(), "a transient error does not stop the worker");
        assert!(health.last_error().is_some_and(|e| e.contains("busy")));
    }

    #[tokio::test]
    async fn a_storage_failure_stops_the_worker_and_says_why() {
        let (_dir, log, _platform) = platform_with_one_event().await;
        let tree = log.database().open_tree("follower-test").expect("tree");
        let health = WorkerHealth::new("test");
        follow_log(log.clone(), tree.clone(), 1, 16, health.clone(), |_| async {
            Err(StepError::Storage("the disk is gone".to_owned()))
        })
        .await;
        assert!(health.stop_reason().is_some_and(|r| r.contains("the disk is gone")));
        assert_eq!(resume_position(&tree).expect("readable"), 1, "no checkpoint past what was not carried out");
    }
}
