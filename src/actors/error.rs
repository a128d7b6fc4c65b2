//! Errors of the actor layer.

use crate::store::StoreError;

/// Why a command sent to an aggregate actor did not produce events.
#[derive(Debug, thiserror::Error)]
pub enum ExecuteError<E: std::error::Error + 'static> {
    /// The domain rejected the command; nothing was written.
    #[error(transparent)]
    Rejected(E),
    /// The event store failed; nothing was acknowledged.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The caller expected another stream version; nothing was written.
    #[error("the stream is at version {current}, not {expected}")]
    VersionMismatch {
        /// The version the caller expected.
        expected: u64,
        /// The current version.
        current: u64,
    },
    /// Too many commands are waiting for this instance; retry later.
    #[error("{stream} has {pending} commands waiting; retry later")]
    Overloaded {
        /// The stream.
        stream: String,
        /// Commands already waiting.
        pending: usize,
    },
    /// The instance did not answer in time; the command may still be applied.
    #[error("{0} did not answer in time; the command may still be applied, check its stream")]
    Timeout(String),
    /// The actor failed while handling the command; it restarts from the log. Whether the command
    /// was applied can be read from the stream.
    #[error("the actor of {0} failed while handling the command; it restarts from the log")]
    ActorFailed(String),
    /// The id breaks the id contract, so no such instance can exist.
    #[error("no such instance: {0}")]
    InvalidId(String),
    /// The actor could not be started (its stream could not be read).
    #[error("the actor of {stream} could not start: {reason}")]
    Unavailable {
        /// The stream.
        stream: String,
        /// Why.
        reason: String,
    },
}
