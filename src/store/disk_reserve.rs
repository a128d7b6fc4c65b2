//! The free space kept in reserve on the data folder's file system.
//!
//! sled 0.34 cannot recover from a failed write: after `ENOSPC` every later operation fails until
//! the database is reopened. So the writer never lets a group commit start while the file system
//! holds less than the reserve: appends and durability waits are refused with
//! [`StoreError::InsufficientSpace`] (nothing is written, nothing acknowledged) and accepted again
//! as soon as space is freed. The reserve absorbs the small writes made beside the log (read
//! models, dead letters, tokens) while appends are refused.

use super::error::StoreError;
use std::path::{Path, PathBuf};

/// Free space kept in reserve unless configured otherwise: 64 MiB.
pub const DEFAULT_MIN_FREE_BYTES: u64 = 64 * 1024 * 1024;

/// The reserve of one data folder.
#[derive(Debug, Clone)]
pub struct DiskReserve {
    path: PathBuf,
    min_free_bytes: u64,
}

impl DiskReserve {
    /// Keeps `min_free_bytes` free on the file system holding `path`; zero turns the check off.
    pub fn new(path: &Path, min_free_bytes: u64) -> Self {
        Self { path: path.to_owned(), min_free_bytes }
    }

    /// `Ok` while the file system has at least the reserve free. A file system whose free space
    /// cannot be read is not refused: the write itself will tell.
    pub fn check(&self) -> Result<(), StoreError> {
        if self.min_free_bytes == 0 {
            return Ok(());
        }
        match fs2::available_space(&self.path) {
            Ok(available) if available < self.min_free_bytes => {
                Err(StoreError::InsufficientSpace { available, reserve: self.min_free_bytes })
            }
            Ok(_) => Ok(()),
            Err(error) => {
                tracing::warn!(%error, path = %self.path.display(), "cannot read the free space of the data folder");
                Ok(())
            }
        }
    }
}
