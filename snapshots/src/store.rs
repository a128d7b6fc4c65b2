//! The snapshot store: one sled tree, keyed by stream and version.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tracing::warn;

/// Encoding format of stored snapshots.
const SNAPSHOT_FORMAT: u8 = 1;

/// Why a snapshot cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The stored bytes do not decode.
    #[error("snapshot of {stream} at version {version} does not decode: {reason}")]
    Undecodable {
        /// Stream.
        stream: String,
        /// Version.
        version: u64,
        /// Decoder message.
        reason: String,
    },
    /// The snapshot was written for another state schema.
    #[error("snapshot of {stream} has state schema {found}, this build reads {expected}")]
    SchemaMismatch {
        /// Stream.
        stream: String,
        /// Schema found.
        found: u16,
        /// Schema expected.
        expected: u16,
    },
    /// The state cannot be encoded.
    #[error("cannot encode a snapshot: {0}")]
    Encode(String),
    /// The storage engine failed.
    #[error("snapshot storage failure: {0}")]
    Storage(#[from] sled::Error),
}

/// A stored snapshot, state still encoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Stream name.
    pub stream: String,
    /// Stream version the state includes.
    pub version: u64,
    /// Chain hash of the event at `version`, to check the snapshot against the log.
    pub chain_hash: [u8; 32],
    /// Schema version of the state encoding.
    pub state_schema: u16,
    /// The encoded state.
    pub state: Vec<u8>,
}

impl Snapshot {
    /// Encodes `state` into a snapshot.
    pub fn encode<S: Serialize>(
        stream: &str,
        version: u64,
        chain_hash: [u8; 32],
        state_schema: u16,
        state: &S,
    ) -> Result<Self, SnapshotError> {
        let state = postcard::to_stdvec(state).map_err(|e| SnapshotError::Encode(e.to_string()))?;
        Ok(Self { stream: stream.to_owned(), version, chain_hash, state_schema, state })
    }

    /// A snapshot from its stored bytes (format byte, then the encoded snapshot); `None` when
    /// they are not a snapshot this build can read.
    pub fn from_stored(bytes: &[u8]) -> Option<Self> {
        match bytes.split_first() {
            Some((&SNAPSHOT_FORMAT, body)) => postcard::from_bytes(body).ok(),
            _ => None,
        }
    }

    /// Decodes the state, checking its schema version.
    pub fn decode<S: DeserializeOwned>(&self, expected_schema: u16) -> Result<S, SnapshotError> {
        if self.state_schema != expected_schema {
            return Err(SnapshotError::SchemaMismatch {
                stream: self.stream.clone(),
                found: self.state_schema,
                expected: expected_schema,
            });
        }
        postcard::from_bytes(&self.state).map_err(|e| SnapshotError::Undecodable {
            stream: self.stream.clone(),
            version: self.version,
            reason: e.to_string(),
        })
    }
}

/// Snapshots of every stream, in one sled tree.
#[derive(Clone)]
pub struct SnapshotStore {
    tree: sled::Tree,
    keep: usize,
}

impl SnapshotStore {
    /// Uses `tree`, keeping the `keep` most recent snapshots per stream.
    pub fn new(tree: sled::Tree, keep: usize) -> Self {
        Self { tree, keep: keep.max(1) }
    }

    /// Stores `snapshot` and prunes the older ones of its stream. A snapshot needs no flush of
    /// its own: losing one only means a longer replay.
    pub fn save(&self, snapshot: &Snapshot) -> Result<(), SnapshotError> {
        let mut bytes = vec![SNAPSHOT_FORMAT];
        bytes.extend(postcard::to_stdvec(snapshot).map_err(|e| SnapshotError::Encode(e.to_string()))?);
        self.tree.insert(key(&snapshot.stream, snapshot.version), bytes)?;
        let older: Vec<sled::IVec> = self
            .tree
            .scan_prefix(prefix(&snapshot.stream))
            .rev()
            .skip(self.keep)
            .filter_map(|entry| entry.ok().map(|(key, _)| key))
            .collect();
        for key in older {
            self.tree.remove(key)?;
        }
        Ok(())
    }

    /// The most recent snapshot of `stream` that decodes, newest first; undecodable ones are
    /// logged and skipped.
    pub fn latest(&self, stream: &str) -> Result<Option<Snapshot>, SnapshotError> {
        for entry in self.tree.scan_prefix(prefix(stream)).rev() {
            let (_, bytes) = entry?;
            match Snapshot::from_stored(&bytes) {
                Some(snapshot) if snapshot.stream == stream => return Ok(Some(snapshot)),
                _ => warn!(stream, "ignoring an undecodable snapshot"),
            }
        }
        Ok(None)
    }

    /// Every stored snapshot version of `stream`, oldest first.
    pub fn versions(&self, stream: &str) -> Result<Vec<u64>, SnapshotError> {
        let mut versions = Vec::new();
        for entry in self.tree.scan_prefix(prefix(stream)) {
            let (key, _) = entry?;
            if let Some(bytes) = key.get(key.len().saturating_sub(8)..) {
                versions.push(u64::from_be_bytes(bytes.try_into().unwrap_or_default()));
            }
        }
        Ok(versions)
    }

    /// Overwrites the stored bytes of a snapshot; only for proving that bad snapshots are
    /// ignored.
    pub fn put_raw(&self, stream: &str, version: u64, bytes: &[u8]) -> Result<(), SnapshotError> {
        self.tree.insert(key(stream, version), bytes)?;
        Ok(())
    }
}

fn prefix(stream: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(stream.len() + 9);
    key.extend_from_slice(stream.as_bytes());
    key.push(0);
    key
}

fn key(stream: &str, version: u64) -> Vec<u8> {
    let mut key = prefix(stream);
    key.extend_from_slice(&version.to_be_bytes());
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(keep: usize) -> (tempfile::TempDir, SnapshotStore) {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = sled::Config::new().path(dir.path()).open().expect("sled opens");
        let tree = db.open_tree("snapshots").expect("tree opens");
        (dir, SnapshotStore::new(tree, keep))
    }

    #[test]
    fn keeps_the_latest_and_prunes_older_ones() {
        let (_dir, store) = store(2);
        for version in [10, 20, 30] {
            let snapshot =
                Snapshot::encode("device/a", version, [version as u8; 32], 1, &vec![version]).expect("encodes");
            store.save(&snapshot).expect("saves");
        }
        store.save(&Snapshot::encode("device/ab", 5, [0; 32], 1, &vec![5u64]).expect("encodes")).expect("saves");
        assert_eq!(store.versions("device/a").expect("reads"), vec![20, 30]);
        let latest = store.latest("device/a").expect("reads").expect("exists");
        assert_eq!(latest.version, 30);
        assert_eq!(latest.decode::<Vec<u64>>(1).expect("decodes"), vec![30]);
        assert_eq!(store.latest("device/ab").expect("reads").expect("exists").version, 5);
    }

    #[test]
    fn schema_mismatch_and_garbage_are_reported_or_skipped() {
        let (_dir, store) = store(2);
        let snapshot = Snapshot::encode("device/a", 10, [0; 32], 1, &7u32).expect("encodes");
        store.save(&snapshot).expect("saves");
        assert!(matches!(snapshot.decode::<u32>(2), Err(SnapshotError::SchemaMismatch { found: 1, expected: 2, .. })));
        store.put_raw("device/a", 20, b"\x01garbage").expect("writes");
        assert_eq!(store.latest("device/a").expect("reads").expect("falls back").version, 10);
        let bad_state = Snapshot { state: vec![0xff; 3], ..snapshot };
        assert!(matches!(bad_state.decode::<String>(1), Err(SnapshotError::Undecodable { .. })));
    }
}
