//! Errors of the event store.

use super::record::{GlobalPosition, StreamVersion};
use std::path::PathBuf;

/// What can go wrong in the event store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The expected stream version is stale; nothing was written.
    #[error("version conflict on {stream}: expected version {expected}, the stream is at {actual}")]
    Conflict {
        /// The stream.
        stream: String,
        /// The version the caller expected.
        expected: StreamVersion,
        /// The stream's real version.
        actual: StreamVersion,
    },
    /// Some, but not all, of the request's event ids are already stored.
    #[error("event {0} is already stored, but other events of the same append are not")]
    PartialDuplicate(uuid::Uuid),
    /// The data folder is held by another process.
    #[error("the data folder {0} is in use by another optibid process; stop it first")]
    Locked(PathBuf),
    /// The data folder does not exist.
    #[error("the data folder {0} does not exist")]
    MissingDataFolder(PathBuf),
    /// A stored record cannot be read.
    #[error("corrupt event at global position {position}: {reason}")]
    Corrupt {
        /// Where.
        position: GlobalPosition,
        /// What is wrong.
        reason: String,
    },
    /// The payload of this event was pruned.
    #[error("the payload of the event at global position {0} was pruned")]
    Pruned(GlobalPosition),
    /// A record or payload could not be encoded.
    #[error("cannot encode an event: {0}")]
    Encode(String),
    /// The writer stopped after a storage failure; the store must be reopened.
    #[error("the event writer stopped after a storage failure: {0}")]
    WriterStopped(String),
    /// The data folder's file system has less free space than the reserve; nothing was written.
    /// Retrying once space is freed succeeds.
    #[error("the data folder's file system has {available} bytes free, below the reserve of {reserve} bytes; nothing was written (free some space and retry)")]
    InsufficientSpace {
        /// Bytes free.
        available: u64,
        /// Bytes kept in reserve.
        reserve: u64,
    },
    /// The storage engine failed.
    #[error("storage failure: {0}")]
    Storage(#[from] sled::Error),
}

impl StoreError {
    /// Whether the same request may succeed later without anyone restarting anything (today: a
    /// full disk, once space is freed).
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::InsufficientSpace { .. })
    }
}
