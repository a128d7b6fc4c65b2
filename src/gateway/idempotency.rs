//! First responses of idempotent commands, kept for [`RESPONSE_TTL`].
//!
//! A command sent again with the same `Idempotency-Key` (by the same principal, to the same
//! instance) within the window gets the first response back, marked `idempotent-replayed`.
//! Each response is stored with its expiry; a second tree orders keys by expiry so that expired
//! responses are removed without scanning the live ones. After the window the key is free again;
//! the events a retried command would write are still stored once while they are among their
//! stream's last [`crate::store::IDEMPOTENCY_WINDOW`] events (docs/decisions.md).

use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long a first response is replayed.
pub const RESPONSE_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// Name of the tree of first responses by key.
const RESPONSES_TREE: &str = "api_idempotency";

/// Name of the tree of keys by expiry.
const EXPIRY_TREE: &str = "api_idempotency_expiry";

/// Stores between two sweeps of expired responses.
const SWEEP_EVERY: u64 = 1_024;

/// A stored first response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredResponse {
    /// HTTP status.
    pub status: u16,
    /// JSON body.
    pub body: Vec<u8>,
    /// When it stops being replayed, milliseconds since the Unix epoch.
    pub expires_at_ms: i64,
}

/// First responses by idempotency key, in the log's database.
pub struct ResponseCache {
    responses: sled::Tree,
    expiry: sled::Tree,
    stored: AtomicU64,
}

impl ResponseCache {
    /// Opens the cache's trees in `db` and removes what has expired.
    pub fn open(db: &sled::Db) -> Result<Self, sled::Error> {
        let cache = Self {
            responses: db.open_tree(RESPONSES_TREE)?,
            expiry: db.open_tree(EXPIRY_TREE)?,
            stored: AtomicU64::new(0),
        };
        cache.sweep(now_ms())?;
        Ok(cache)
    }

    /// The first response stored under `key`, unless it has expired by `now_ms`. Entries in an
    /// older format, without an expiry, count as expired.
    pub fn get(&self, key: &[u8; 32], now_ms: i64) -> Result<Option<StoredResponse>, sled::Error> {
        let Some(bytes) = self.responses.get(key)? else { return Ok(None) };
        Ok(postcard::from_bytes::<StoredResponse>(&bytes).ok().filter(|stored| stored.expires_at_ms > now_ms))
    }

    /// Stores the first response under `key` until `now_ms` plus [`RESPONSE_TTL`]. The caller
    /// makes it durable.
    pub fn put(&self, key: &[u8; 32], status: u16, body: Vec<u8>, now_ms: i64) -> Result<(), sled::Error> {
        let expires_at_ms = now_ms.saturating_add(RESPONSE_TTL.as_millis() as i64);
        let stored = StoredResponse { status, body, expires_at_ms };
        self.responses.insert(key, postcard::to_stdvec(&stored).unwrap_or_default())?;
        self.expiry.insert(expiry_key(expires_at_ms, key), &[])?;
        if self.stored.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.sweep(now_ms)?;
        }
        Ok(())
    }

    /// Removes every response expired by `now_ms`, and entries without an expiry; returns how
    /// many it removed.
    pub fn sweep(&self, now_ms: i64) -> Result<usize, sled::Error> {
        let mut removed = 0;
        let end = expiry_key(now_ms, &[0xff; 32]);
        for item in self.expiry.range(..=end) {
            let (expiry, _) = item?;
            let key = &expiry[8..];
            let expired = match self.responses.get(key)? {
                Some(bytes) => {
                    postcard::from_bytes::<StoredResponse>(&bytes).map_or(true, |s| s.expires_at_ms <= now_ms)
                }
                None => false,
            };
            if expired {
                self.responses.remove(key)?;
                removed += 1;
            }
            self.expiry.remove(expiry)?;
        }
        if self.expiry.is_empty() {
            for item in self.responses.iter() {
                let (key, bytes) = item?;
                if postcard::from_bytes::<StoredResponse>(&bytes).is_err() {
                    self.responses.remove(key)?;
                    removed += 1;
                }
            }
        }
        if removed > 0 {
            tracing::debug!(removed, "expired idempotent responses removed");
        }
        Ok(removed)
    }
}

fn expiry_key(expires_at_ms: i64, key: &[u8; 32]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(40);
    bytes.extend_from_slice(&expires_at_ms.max(0).to_be_bytes());
    bytes.extend_from_slice(key);
    bytes
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_response_is_replayed_within_its_window_and_swept_after_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = sled::Config::new().path(dir.path()).open().expect("opens");
        let cache = ResponseCache::open(&db).expect("opens");
        let start = 1_700_000_000_000;
        let ttl = RESPONSE_TTL.as_millis() as i64;
        cache.put(&[1; 32], 201, b"{}".to_vec(), start).expect("stores");
        cache.put(&[2; 32], 200, b"[]".to_vec(), start + ttl / 2).expect("stores");
        assert_eq!(cache.get(&[1; 32], start + ttl - 1).expect("reads").map(|s| s.status), Some(201));
        assert_eq!(cache.get(&[1; 32], start + ttl).expect("reads"), None);
        assert_eq!(cache.sweep(start + ttl).expect("sweeps"), 1);
        assert_eq!(cache.get(&[2; 32], start + ttl).expect("reads").map(|s| s.status), Some(200));
        assert_eq!(cache.sweep(start + 2 * ttl).expect("sweeps"), 1);
        assert!(cache.responses.is_empty() && cache.expiry.is_empty());
    }

    #[test]
    fn responses_stored_without_an_expiry_count_as_expired() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = sled::Config::new().path(dir.path()).open().expect("opens");
        db.open_tree(RESPONSES_TREE).expect("opens").insert([3; 32], &[0xff, 0xff, 0xff][..]).expect("writes");
        let cache = ResponseCache::open(&db).expect("opens");
        assert_eq!(cache.get(&[3; 32], 0).expect("reads"), None);
        assert!(cache.responses.is_empty(), "the older entry is swept on open");
    }
}
