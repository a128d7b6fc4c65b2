//! The contract of a projection.

use optibid_domain::FleetEvent;

/// Key under which a projection's tree stores the global position it has applied up to.
pub const CHECKPOINT_KEY: &[u8] = b"\xffcheckpoint";

/// One event of the global log, decoded, as a projection sees it.
#[derive(Debug, Clone, Copy)]
pub struct ProjectedEvent<'a> {
    /// Global position.
    pub position: u64,
    /// Stream name, `kind/id`.
    pub stream: &'a str,
    /// Commit time, milliseconds since the Unix epoch.
    pub recorded_at: i64,
    /// The event.
    pub event: &'a FleetEvent,
}

impl ProjectedEvent<'_> {
    /// The stream's kind.
    pub fn kind(&self) -> &str {
        self.stream.split_once('/').map_or("", |(kind, _)| kind)
    }

    /// The stream's id.
    pub fn id(&self) -> &str {
        self.stream.split_once('/').map_or("", |(_, id)| id)
    }
}

/// What can go wrong in a projection.
#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    /// The model's storage failed.
    #[error("projection storage failure: {0}")]
    Storage(#[from] sled::Error),
    /// A stored entry does not decode.
    #[error("projection {projection}: stored entry {key} does not decode: {reason}")]
    Corrupt {
        /// Projection.
        projection: &'static str,
        /// Entry key.
        key: String,
        /// Decoder message.
        reason: String,
    },
    /// An entry cannot be encoded.
    #[error("projection {projection}: cannot encode an entry: {reason}")]
    Encode {
        /// Projection.
        projection: &'static str,
        /// Encoder message.
        reason: String,
    },
}

/// A read model fed from the global log.
pub trait Projection: Send + Sync + 'static {
    /// Stable name; also the name of its sled tree.
    fn name(&self) -> &'static str;

    /// Whether the model reads events of streams of this kind (`device`, `telemetry` ...); the
    /// engine does not even decode the others for it.
    fn follows(&self, stream_kind: &str) -> bool {
        let _ = stream_kind;
        true
    }

    /// Loads the model from its tree (after a restart).
    fn restore(&mut self, tree: &sled::Tree) -> Result<(), ProjectionError>;

    /// Applies one event: updates the model in memory and stages its writes in `writes`, which
    /// the engine applies atomically together with the new checkpoint.
    fn apply(&mut self, event: &ProjectedEvent<'_>, writes: &mut sled::Batch) -> Result<(), ProjectionError>;

    /// Called before the engine writes a batch: a model that keeps changes in memory while
    /// events are applied stages them into `writes` now.
    fn stage(&mut self, writes: &mut sled::Batch) -> Result<(), ProjectionError> {
        let _ = writes;
        Ok(())
    }

    /// Called once the writes staged so far are in the tree, so a model that keeps staged
    /// values in memory may drop them.
    fn committed(&mut self) {}
}

/// The checkpoint stored in a projection's tree (0 when it has applied nothing).
pub fn stored_checkpoint(tree: &sled::Tree) -> Result<u64, ProjectionError> {
    Ok(tree.get(CHECKPOINT_KEY)?.and_then(|bytes| bytes.as_ref().try_into().ok().map(u64::from_be_bytes)).unwrap_or(0))
}
