//! Runs projections over the global log: each one tails the log from its checkpoint and writes
//! its model changes together with its new checkpoint in one atomic sled batch.

use crate::audit::any_event::DecodeStored;
use crate::store::{EventLog, LogSubscription, SledEventLog, StoreError};
use optibid_domain::FleetEvent;
use optibid_projections::projection::stored_checkpoint;
use optibid_projections::{ProjectedEvent, Projection, ProjectionError, CHECKPOINT_KEY};
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::watch;
use tracing::{error, info_span, Instrument};

/// Events applied per batch.
const PROJECTION_BATCH: usize = 1_024;

/// Why a projection stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectionFailure {
    /// The global position of the event it could not apply.
    pub position: u64,
    /// Why.
    pub reason: String,
}

/// A running projection: its model, its position, and its failure if it stopped.
pub struct Projected<P: Projection> {
    model: Arc<RwLock<P>>,
    position: watch::Receiver<u64>,
    failure: Arc<Mutex<Option<ProjectionFailure>>>,
}

impl<P: Projection> Projected<P> {
    /// Restores `model` from its tree in `log`'s database and starts tailing the log.
    pub fn start(log: Arc<SledEventLog>, mut model: P) -> Result<Self, ProjectionError> {
        let tree = log.database().open_tree(model.name())?;
        model.restore(&tree)?;
        let checkpoint = stored_checkpoint(&tree)?;
        let name = model.name();
        let model = Arc::new(RwLock::new(model));
        let (position_tx, position) = watch::channel(checkpoint);
        let failure = Arc::new(Mutex::new(None));
        let task_model = model.clone();
        let task_failure = failure.clone();
        tokio::spawn(
            async move {
                if let Err(stopped) = tail(log, tree, task_model, checkpoint, position_tx).await {
                    error!(position = stopped.position, reason = %stopped.reason, "projection stopped");
                    if let Ok(mut slot) = task_failure.lock() {
                        *slot = Some(stopped);
                    }
                }
            }
            .instrument(info_span!("projection", name)),
        );
        Ok(Self { model, position, failure })
    }

    /// Reads the model.
    pub fn read<R>(&self, reader: impl FnOnce(&P) -> R) -> R {
        let guard = self.model.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        reader(&guard)
    }

    /// The global position applied so far.
    pub fn position(&self) -> u64 {
        *self.position.borrow()
    }

    /// Why the projection stopped, if it did.
    pub fn failure(&self) -> Option<ProjectionFailure> {
        self.failure.lock().ok().and_then(|slot| slot.clone())
    }
}

async fn tail<P: Projection>(
    log: Arc<SledEventLog>,
    tree: sled::Tree,
    model: Arc<RwLock<P>>,
    checkpoint: u64,
    position: watch::Sender<u64>,
) -> Result<(), ProjectionFailure> {
    let shared: Arc<dyn EventLog> = log;
    let mut subscription = LogSubscription::new(shared, checkpoint + 1);
    loop {
        let at = subscription.next_position();
        let failed = |reason: String| ProjectionFailure { position: at, reason };
        let records = subscription.next_batch(PROJECTION_BATCH).await.map_err(|e: StoreError| failed(e.to_string()))?;
        let Some(last) = records.last().map(|record| record.position) else {
            return Ok(());
        };
        let mut writes = sled::Batch::default();
        {
            let mut model = model.write().unwrap_or_else(|poisoned| poisoned.into_inner());
            for record in &records {
                let event = match FleetEvent::decode(record) {
                    Ok(event) => event,
                    Err(StoreError::Pruned(_)) => continue,
                    Err(error) => {
                        return Err(ProjectionFailure { position: record.position, reason: error.to_string() })
                    }
                };
                let projected = ProjectedEvent {
                    position: record.position,
                    stream: &record.stream,
                    recorded_at: record.recorded_at,
                    event: &event,
                };
                model
                    .apply(&projected, &mut writes)
                    .map_err(|e| ProjectionFailure { position: record.position, reason: e.to_string() })?;
            }
        }
        writes.insert(CHECKPOINT_KEY, &last.to_be_bytes());
        tree.apply_batch(writes).map_err(|e| failed(e.to_string()))?;
        position.send_replace(last);
    }
}
