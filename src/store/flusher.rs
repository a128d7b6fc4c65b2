//! The flusher: makes applied groups durable, then answers their appenders.
//!
//! The writer applies each group to sled (visible in memory, not yet durable) and hands it here.
//! The flusher takes every group waiting, flushes once, and only then answers their appenders
//! and moves the durable head. While one flush runs, the writer keeps applying new groups, so
//! every append that arrives during a flush shares the next one.

use super::error::StoreError;
use super::event_log::{AppendOutcome, LogHead};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};
use tokio::sync::{oneshot, watch};
use tracing::{debug, error};

/// An answer owed to a caller once its group is durable.
pub(super) enum Reply {
    /// To an append.
    Append(oneshot::Sender<Result<Vec<AppendOutcome>, StoreError>>, Result<Vec<AppendOutcome>, StoreError>),
    /// To an import.
    Import(oneshot::Sender<Result<LogHead, StoreError>>, Result<LogHead, StoreError>),
    /// To a durability wait.
    Barrier(oneshot::Sender<Result<(), StoreError>>),
}

impl Reply {
    /// Sends the answer, or `error` instead when the group did not become durable.
    fn send(self, failure: Option<&str>) {
        let stopped = |reason: &str| StoreError::WriterStopped(reason.to_owned());
        match (self, failure) {
            (Reply::Append(tx, result), None) => drop(tx.send(result)),
            (Reply::Import(tx, result), None) => drop(tx.send(result)),
            (Reply::Append(tx, _), Some(reason)) => drop(tx.send(Err(stopped(reason)))),
            (Reply::Import(tx, _), Some(reason)) => drop(tx.send(Err(stopped(reason)))),
            (Reply::Barrier(tx), None) => drop(tx.send(Ok(()))),
            (Reply::Barrier(tx), Some(reason)) => drop(tx.send(Err(stopped(reason)))),
        }
    }
}

/// A group applied to sled, waiting for a flush.
pub(super) struct AppliedGroup {
    /// Answers owed.
    pub(super) replies: Vec<Reply>,
    /// The head after this group.
    pub(super) head: LogHead,
    /// Events in the group.
    pub(super) events: usize,
}

/// Set once a write or flush failed; the writer then refuses every append.
pub(super) type Failure = Arc<Mutex<Option<String>>>;

/// Records a storage failure.
pub(super) fn fail(failure: &Failure, reason: String) {
    error!(%reason, "event store stopped: storage failure; no later append is acknowledged");
    if let Ok(mut slot) = failure.lock() {
        slot.get_or_insert(reason);
    }
}

/// Runs until the writer is gone: flush, answer, move the head.
pub(super) fn run(db: sled::Db, groups: Receiver<AppliedGroup>, head_tx: watch::Sender<LogHead>, failure: Failure) {
    while let Ok(first) = groups.recv() {
        let mut pending = vec![first];
        pending.extend(groups.try_iter());
        let started = std::time::Instant::now();
        let failed = failure.lock().ok().and_then(|slot| slot.clone());
        let outcome = match failed {
            Some(reason) => Err(reason),
            None => db.flush().map(|_| ()).map_err(|e| e.to_string()),
        };
        let flush_time = started.elapsed();
        match outcome {
            Ok(()) => {
                let events: usize = pending.iter().map(|group| group.events).sum();
                if let Some(head) = pending.last().map(|group| group.head) {
                    debug!(groups = pending.len(), events, head = head.position, ?flush_time, "flushed");
                    head_tx.send_replace(head);
                }
                pending.into_iter().flat_map(|group| group.replies).for_each(|reply| reply.send(None));
            }
            Err(reason) => {
                fail(&failure, reason.clone());
                pending.into_iter().flat_map(|group| group.replies).for_each(|reply| reply.send(Some(&reason)));
            }
        }
    }
}
