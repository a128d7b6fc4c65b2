//! Runs projections over the global log: each one tails the log from its checkpoint and writes
//! its model changes together with its new checkpoint in one atomic sled batch.

use crate::events::DecodeStored;
use crate::store::codec::view_record;
use crate::store::keys::{log_key, position_of_log_key};
use crate::store::{EventLog, LogSubscription, RecordedEvent, SledEventLog, StoreError};
use optibid_domain::FleetEvent;
use optibid_projections::projection::stored_checkpoint;
use optibid_projections::{ProjectedEvent, Projection, ProjectionError, CHECKPOINT_KEY};
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::watch;
use tracing::{error, info_span, Instrument};

/// Events applied per batch.
const PROJECTION_BATCH: usize = 1_024;

/// The tree naming, per projection, the tree that holds its model now (absent: the tree named
/// like the projection). A rebuild writes into the other tree and swaps by changing one entry.
const MODEL_TREES: &str = "projection_models";

/// The tree that holds the model of projection `name` now.
pub fn model_tree(database: &sled::Db, name: &str) -> Result<sled::Tree, sled::Error> {
    match database.open_tree(MODEL_TREES)?.get(name)? {
        Some(current) => database.open_tree(current),
        None => database.open_tree(name),
    }
}

/// The tree a rebuild of projection `name` writes into: whichever of its two trees is not the
/// current one.
fn rebuild_tree_name(database: &sled::Db, name: &str) -> Result<String, sled::Error> {
    let current = database.open_tree(MODEL_TREES)?.get(name)?;
    Ok(match current {
        Some(current) if current.as_ref() != name.as_bytes() => name.to_owned(),
        _ => format!("{name}.rebuilt"),
    })
}

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
    task: tokio::task::JoinHandle<()>,
}

impl<P: Projection> Drop for Projected<P> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl<P: Projection> Projected<P> {
    /// Restores `model` from its tree in `log`'s database and starts tailing the log. A stored
    /// model that does not decode (another version's layout) is cleared and rebuilt from
    /// position 0 as the projection tails the log.
    pub fn start(log: Arc<SledEventLog>, mut model: P) -> Result<Self, ProjectionError> {
        let tree = model_tree(log.database(), model.name())?;
        let name = model.name();
        let checkpoint = match model.restore(&tree) {
            Ok(()) => stored_checkpoint(&tree)?,
            Err(ProjectionError::Corrupt { key, reason, .. }) => {
                tracing::warn!(
                    projection = name,
                    %key,
                    %reason,
                    "the stored model does not decode (written by another version?); rebuilding it from position 0"
                );
                tree.clear()?;
                model.restore(&tree)?;
                0
            }
            Err(error) => return Err(error),
        };
        let model = Arc::new(RwLock::new(model));
        let (position_tx, position) = watch::channel(checkpoint);
        let failure = Arc::new(Mutex::new(None));
        let task_model = model.clone();
        let task_failure = failure.clone();
        let task = tokio::spawn(
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
        Ok(Self { model, position, failure, task })
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

    /// A receiver of the position applied so far, which hears every advance.
    pub fn watch_position(&self) -> watch::Receiver<u64> {
        self.position.clone()
    }

    /// Waits until the projection has applied `position`; false when it stopped first.
    pub async fn reached(&self, position: u64) -> bool {
        let mut applied = self.position.clone();
        let reached = applied.wait_for(|at| *at >= position).await.is_ok();
        reached
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
            apply_records(&mut *model, &records, &mut writes)?;
            model.stage(&mut writes).map_err(|e| failed(e.to_string()))?;
        }
        writes.insert(CHECKPOINT_KEY, &last.to_be_bytes());
        tree.apply_batch(writes).map_err(|e| failed(e.to_string()))?;
        model.write().unwrap_or_else(|poisoned| poisoned.into_inner()).committed();
        position.send_replace(last);
        tokio::task::yield_now().await;
    }
}

/// Applies `records` in order to `model`, staging its writes in `writes`. Pruned telemetry
/// payloads are skipped; any other event that does not decode or apply stops at its position.
fn apply_records<P: Projection + ?Sized>(
    model: &mut P,
    records: &[RecordedEvent],
    writes: &mut sled::Batch,
) -> Result<(), ProjectionFailure> {
    for record in records {
        if !model.follows(stream_kind(&record.stream)) {
            continue;
        }
        let event = match FleetEvent::decode(record) {
            Ok(event) => event,
            Err(StoreError::Pruned(_)) => continue,
            Err(error) => return Err(ProjectionFailure { position: record.position, reason: error.to_string() }),
        };
        let projected = ProjectedEvent {
            position: record.position,
            stream: &record.stream,
            recorded_at: record.recorded_at,
            event: &event,
        };
        model
            .apply(&projected, writes)
            .map_err(|e| ProjectionFailure { position: record.position, reason: e.to_string() })?;
    }
    Ok(())
}

/// Events read per step of an offline rebuild.
const REBUILD_BATCH: usize = 4_096;

/// The kind of a stream name (`device` of `device/inv-1`).
fn stream_kind(stream: &str) -> &str {
    stream.split_once('/').map_or(stream, |(kind, _)| kind)
}

/// A model being rebuilt: the model, its scratch tree and the writes staged for it.
struct Rebuilding {
    model: Box<dyn Projection>,
    scratch: sled::Tree,
    writes: sled::Batch,
}

impl Rebuilding {
    fn fail(&self, position: u64, reason: impl std::fmt::Display) -> ProjectionFailure {
        ProjectionFailure { position, reason: format!("{}: {reason}", self.model.name()) }
    }

    /// Writes what was staged into the scratch tree.
    fn flush(&mut self, position: u64) -> Result<(), ProjectionFailure> {
        let mut writes = std::mem::take(&mut self.writes);
        self.model.stage(&mut writes).map_err(|e| self.fail(position, e))?;
        self.scratch.apply_batch(writes).map_err(|e| self.fail(position, e))?;
        self.model.committed();
        Ok(())
    }
}

/// The stream kinds of the log.
const STREAM_KINDS: [&str; 4] = ["device", "edge", "campaign", "telemetry"];

/// Stored records (key and bytes) of one rebuild step.
type RawStep = Result<Vec<(sled::IVec, sled::IVec)>, ProjectionFailure>;

/// Reads the stored records from position 1 to `head` in steps of [`REBUILD_BATCH`] and sends
/// each step to `steps`, so the scan runs beside the decoding and applying.
fn read_log(events: &sled::Tree, head: u64, steps: &std::sync::mpsc::SyncSender<RawStep>) {
    let mut step = Vec::with_capacity(REBUILD_BATCH);
    for entry in events.range(log_key(1)..=log_key(head.max(1))) {
        match entry {
            Ok(record) => step.push(record),
            Err(error) => {
                let position = step.last().and_then(|(key, _)| position_of_log_key(key)).unwrap_or(0) + 1;
                let _ = steps.send(Err(ProjectionFailure { position, reason: error.to_string() }));
                return;
            }
        }
        if step.len() == REBUILD_BATCH {
            let full = std::mem::replace(&mut step, Vec::with_capacity(REBUILD_BATCH));
            if steps.send(Ok(full)).is_err() {
                return;
            }
        }
    }
    if !step.is_empty() {
        let _ = steps.send(Ok(step));
    }
}

/// Applies one stored record to the models following its stream kind (decoding it once).
fn apply_stored(
    rebuilding: &mut [Rebuilding],
    followed: &[&str],
    key: &[u8],
    value: &[u8],
) -> Result<u64, ProjectionFailure> {
    let position = position_of_log_key(key)
        .ok_or_else(|| ProjectionFailure { position: 0, reason: "malformed log key".to_owned() })?;
    let failed = |reason: String| ProjectionFailure { position, reason };
    let view = view_record(position, value).map_err(|e| failed(e.to_string()))?;
    let kind = stream_kind(view.stream);
    if !followed.contains(&kind) {
        return Ok(position);
    }
    let event = match FleetEvent::decode_view(&view) {
        Ok(event) => event,
        Err(StoreError::Pruned(_)) => return Ok(position),
        Err(error) => return Err(failed(error.to_string())),
    };
    let projected = ProjectedEvent { position, stream: view.stream, recorded_at: view.recorded_at, event: &event };
    for target in rebuilding.iter_mut().filter(|r| r.model.follows(kind)) {
        if let Err(error) = target.model.apply(&projected, &mut target.writes) {
            return Err(target.fail(position, error));
        }
    }
    Ok(position)
}

/// Rebuilds `models` from position 1 up to the log's head in one pass over the log, each into
/// a scratch tree, then swaps each in as its projection's tree with its checkpoint in one batch.
/// Every event is read once and decoded at most once, and only when a model follows its stream
/// kind; one thread scans the stored records while the other decodes and applies. `progress` hears the position
/// reached after every step. Returns the position rebuilt up to. Needs the data folder for
/// itself (the server stopped).
pub fn rebuild_all(
    log: &SledEventLog,
    models: Vec<Box<dyn Projection>>,
    mut progress: impl FnMut(u64),
) -> Result<u64, ProjectionFailure> {
    let database = log.database();
    let head = log.head().position;
    let mut rebuilding = Vec::with_capacity(models.len());
    for mut model in models {
        let name = model.name();
        let prepared = rebuild_tree_name(database, name).and_then(|scratch_name| {
            database.drop_tree(&scratch_name)?;
            database.open_tree(&scratch_name)
        });
        let failed = |reason: String| ProjectionFailure { position: 0, reason: format!("{name}: {reason}") };
        let scratch = prepared.map_err(|e| failed(e.to_string()))?;
        model.restore(&scratch).map_err(|e| failed(e.to_string()))?;
        rebuilding.push(Rebuilding { model, scratch, writes: sled::Batch::default() });
    }
    let followed: Vec<&str> =
        STREAM_KINDS.into_iter().filter(|kind| rebuilding.iter().any(|r| r.model.follows(kind))).collect();
    std::thread::scope(|scope| {
        let (sender, steps) = std::sync::mpsc::sync_channel(4);
        let events = log.raw_events_tree();
        scope.spawn(move || read_log(events, head, &sender));
        for step in steps {
            let mut reached = 0;
            for (key, value) in &step? {
                reached = apply_stored(&mut rebuilding, &followed, key, value)?;
            }
            for target in &mut rebuilding {
                target.flush(reached)?;
            }
            progress(reached);
        }
        Ok(())
    })?;
    for target in &mut rebuilding {
        target.writes.insert(CHECKPOINT_KEY, &head.to_be_bytes());
        target.flush(head)?;
        swap_in(log, target, head)?;
    }
    progress(head);
    Ok(head)
}

/// Makes the rebuilt tree the projection's model tree (one entry of [`MODEL_TREES`], durable
/// before the replaced tree is dropped).
fn swap_in(log: &SledEventLog, target: &Rebuilding, head: u64) -> Result<(), ProjectionFailure> {
    let database = log.database();
    let storage = |e: sled::Error| target.fail(head, e);
    let name = target.model.name();
    let replaced = model_tree(database, name).map_err(storage)?;
    database.open_tree(MODEL_TREES).map_err(storage)?.insert(name, target.scratch.name()).map_err(storage)?;
    log.durability().wait_blocking().map_err(|e| target.fail(head, e))?;
    if replaced.name() != target.scratch.name() {
        database.drop_tree(replaced.name()).map_err(storage)?;
    }
    Ok(())
}

/// Where a projection stands against the log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct ProjectionStatus {
    /// The projection's name.
    pub name: String,
    /// Global position applied.
    pub position: u64,
    /// The log's head.
    pub head: u64,
    /// Events behind the head.
    pub lag_events: u64,
    /// Commit-time distance between the last applied event and the head, milliseconds.
    pub lag_ms: i64,
    /// Why it stopped, when it did.
    pub failure: Option<String>,
}

/// The status of a projection at `position` (and its failure, if any) against `log`.
pub fn status(log: &dyn EventLog, name: &str, position: u64, failure: Option<ProjectionFailure>) -> ProjectionStatus {
    let head = log.head().position;
    let recorded_at = |at: u64| {
        if at == 0 {
            return None;
        }
        log.read_all(at, 1).ok().and_then(|records| records.first().map(|r| r.recorded_at))
    };
    let lag_ms = match (recorded_at(head), recorded_at(position)) {
        (Some(head_time), Some(applied)) => (head_time - applied).max(0),
        (Some(_), None) if position < head => recorded_at(1).zip(recorded_at(head)).map_or(0, |(a, b)| b - a),
        _ => 0,
    };
    ProjectionStatus {
        name: name.to_owned(),
        position,
        head,
        lag_events: head.saturating_sub(position),
        lag_ms,
        failure: failure.map(|f| format!("stopped at position {}: {}", f.position, f.reason)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actors::{CommandMetadata, DirectoryConfig, Platform};
    use crate::bench::workload::{configuration_command, registration};
    use optibid_projections::device_directory::{DeviceEntry, DeviceFilter};
    use optibid_projections::Directory;
    use std::time::Duration;

    async fn caught_up(projected: &Projected<Directory<DeviceEntry>>, head: u64) {
        for _ in 0..200 {
            if projected.position() >= head {
                return;
            }
            // The projection follows the real log on its own task: poll, bounded.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the projection did not reach {head}");
    }

    fn all(projected: &Projected<Directory<DeviceEntry>>) -> Vec<DeviceEntry> {
        let filter = DeviceFilter { include_decommissioned: true, ..DeviceFilter::default() };
        projected.read(|directory| directory.page(|e| filter.matches(e), None, usize::MAX).items)
    }

    #[tokio::test]
    async fn resumes_from_its_checkpoint_and_equals_a_rebuild() {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = Arc::new(SledEventLog::open(dir.path()).expect("opens"));
        let platform = Platform::start(log.clone(), DirectoryConfig::default()).await.expect("starts");
        for n in 0..5 {
            let id = format!("bench-{n:06}");
            platform
                .devices
                .execute(&id, registration(n).expect("valid"), CommandMetadata::default())
                .await
                .expect("ok");
        }
        let first = Projected::start(log.clone(), Directory::<DeviceEntry>::default()).expect("starts");
        caught_up(&first, log.head().position).await;
        assert_eq!(all(&first).len(), 5);
        drop(first);
        tokio::task::yield_now().await;

        for n in 5..8 {
            let id = format!("bench-{n:06}");
            platform
                .devices
                .execute(&id, registration(n).expect("valid"), CommandMetadata::default())
                .await
                .expect("ok");
            platform.devices.execute(&id, configuration_command(1), CommandMetadata::default()).await.expect("ok");
        }
        let resumed = Projected::start(log.clone(), Directory::<DeviceEntry>::default()).expect("restarts");
        caught_up(&resumed, log.head().position).await;
        let tree = model_tree(log.database(), "device_directory").expect("tree");
        assert_eq!(optibid_projections::projection::stored_checkpoint(&tree).expect("reads"), log.head().position);

        drop(resumed);
        tokio::task::yield_now().await;
        tree.insert(b"e/bench-000001", &b"\xff\xff not an entry"[..]).expect("written");
        let resumed = Projected::start(log.clone(), Directory::<DeviceEntry>::default()).expect("rebuilds a bad model");
        caught_up(&resumed, log.head().position).await;
        assert_eq!(all(&resumed).len(), 8, "rebuilt from 0 after the undecodable entry");

        log.database().drop_tree("device_directory").expect("drops");
        let rebuilt = Projected::start(log.clone(), Directory::<DeviceEntry>::default()).expect("rebuilds");
        caught_up(&rebuilt, log.head().position).await;
        assert_eq!(all(&resumed), all(&rebuilt));
        assert_eq!(all(&rebuilt).len(), 8);
    }
}
