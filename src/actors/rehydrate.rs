//! Rebuilding an instance's state from its latest valid snapshot plus the rest of its stream.

use crate::aggregates::StoredAggregate;
use crate::store::chain::GENESIS_HASH;
use crate::store::{EventLog, Hash32, StoreError, StreamName, StreamVersion};
use optibid_snapshots::SnapshotStore;
use tracing::warn;

/// An instance's state and where it stands in its stream.
#[derive(Debug, Clone)]
pub struct Loaded<A: StoredAggregate> {
    /// The state.
    pub state: A::State,
    /// The stream version it includes.
    pub version: StreamVersion,
    /// Chain hash of the event at `version`.
    pub last_hash: Hash32,
    /// The snapshot version it started from, if a snapshot was used.
    pub from_snapshot: Option<StreamVersion>,
}

impl<A: StoredAggregate> Loaded<A> {
    /// Folds the events of the stream after `self.version` into the state.
    pub fn catch_up(&mut self, log: &dyn EventLog, stream: &StreamName) -> Result<(), StoreError> {
        for record in log.read_stream(stream, self.version + 1)? {
            let event = A::decode(&record)?;
            self.state = A::evolve(std::mem::take(&mut self.state), event);
            self.version = record.version;
            self.last_hash = record.hash;
        }
        Ok(())
    }
}

/// Loads `stream`: the latest snapshot that decodes, has the current state schema and matches
/// the log, then every later event. A snapshot that fails any check is ignored.
pub fn rehydrate<A: StoredAggregate>(
    log: &dyn EventLog,
    snapshots: &SnapshotStore,
    stream: &StreamName,
) -> Result<Loaded<A>, StoreError> {
    let mut loaded =
        Loaded::<A> { state: A::State::default(), version: 0, last_hash: GENESIS_HASH, from_snapshot: None };
    if let Some(snapshot) = snapshots.latest(stream.as_str()).unwrap_or_else(|error| {
        warn!(%stream, %error, "cannot read snapshots; replaying the stream");
        None
    }) {
        let matches_log =
            log.read_stream_event(stream, snapshot.version)?.is_some_and(|record| record.hash == snapshot.chain_hash);
        match (matches_log, snapshot.decode::<A::State>(A::STATE_SCHEMA_VERSION)) {
            (true, Ok(state)) => {
                loaded = Loaded {
                    state,
                    version: snapshot.version,
                    last_hash: snapshot.chain_hash,
                    from_snapshot: Some(snapshot.version),
                }
            }
            (false, _) => warn!(%stream, version = snapshot.version, "snapshot does not match the log; replaying"),
            (true, Err(error)) => warn!(%stream, %error, "unusable snapshot; replaying"),
        }
    }
    loaded.catch_up(log, stream)?;
    Ok(loaded)
}
