//! Condition monitor: the process manager that turns the maintenance read model's findings into
//! device alerts.
//!
//! It follows the global log from its own checkpoint. For every device whose telemetry a batch
//! carries, it waits until the maintenance projection has applied the batch, reads the device's
//! findings (a current anomaly per metric, a forecast crossing of a normal range) and, when they
//! changed in a way that matters to an alert, sends them to the device as `AssessCondition`. The
//! device aggregate decides whether an alert is raised or resolved, so every alert is an event
//! on the device's stream and a repeated assessment raises nothing twice.

use crate::actors::{CommandMetadata, ExecuteError};
use crate::gateway::AppState;
use crate::log_follower::{follow_log, resume_position, step_error, StepError};
use crate::store::{EventLog, RecordedEvent};
use crate::worker_health::WorkerHealth;
use optibid_domain::device::{ConditionFinding, DeviceCommand, MAINTENANCE_URGENT_HOURS};
use optibid_domain::time::Timestamp;
use optibid_projections::maintenance_predictions::findings;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use tokio::task::JoinHandle;

/// Name of the sled tree of the monitor's checkpoint.
const MONITOR_TREE: &str = "condition_monitor";
/// Events read per step.
const MONITOR_BATCH: usize = 1_024;

/// Why the monitor could not start.
#[derive(Debug, thiserror::Error)]
pub enum ConditionMonitorError {
    /// Its tree cannot be opened.
    #[error("condition monitor storage failed: {0}")]
    Storage(#[from] sled::Error),
    /// Its checkpoint cannot be read.
    #[error("condition monitor checkpoint unreadable: {0}")]
    Checkpoint(#[from] optibid_projections::ProjectionError),
}

/// How a forecast stands against the alert thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ForecastClass {
    Clear,
    Holding,
    Due,
    Urgent,
}

/// The part of a metric's findings an alert depends on: the anomalous minute and the forecast's
/// class. A device is assessed again only when this changes.
type Signature = Vec<(String, Option<i64>, ForecastClass)>;

fn signature(findings: &[ConditionFinding]) -> Signature {
    findings
        .iter()
        .map(|finding| {
            let class = match finding.forecast {
                None => ForecastClass::Clear,
                Some(f) if f.is_clear() => ForecastClass::Clear,
                Some(f) if f.is_due() && f.hours <= MAINTENANCE_URGENT_HOURS => ForecastClass::Urgent,
                Some(f) if f.is_due() => ForecastClass::Due,
                Some(_) => ForecastClass::Holding,
            };
            (finding.metric.clone(), finding.anomaly.as_ref().map(|a| a.seen_at.0), class)
        })
        .collect()
}

/// The running monitor: its task stops when it is dropped.
pub struct ConditionMonitor {
    task: JoinHandle<()>,
}

impl Drop for ConditionMonitor {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ConditionMonitor {
    /// Starts assessing devices from `state`'s maintenance read model.
    pub fn start(state: Arc<AppState>, health: Arc<WorkerHealth>) -> Result<Self, ConditionMonitorError> {
        let tree = state.platform.log.database().open_tree(MONITOR_TREE)?;
        let from = resume_position(&tree)?;
        Ok(Self { task: tokio::spawn(run(state, tree, from, health)) })
    }
}

#[tracing::instrument(name = "condition_monitor", skip_all, fields(from))]
async fn run(state: Arc<AppState>, tree: sled::Tree, from: u64, health: Arc<WorkerHealth>) {
    let log: Arc<dyn EventLog> = state.platform.log.clone();
    let signatures = Arc::new(tokio::sync::Mutex::new(HashMap::<String, Signature>::new()));
    follow_log(log, tree, from, MONITOR_BATCH, health, |records| {
        let (state, signatures) = (state.clone(), signatures.clone());
        async move {
            let mut signatures = signatures.lock().await;
            assess(&state, &mut signatures, &records).await?;
            Ok(sled::Batch::default())
        }
    })
    .await;
}

/// The devices whose telemetry `records` carry; a status change forgets the device's signature,
/// so its next telemetry assesses it again (a device back from maintenance may need alerts).
fn touched_devices(records: &[RecordedEvent], signatures: &mut HashMap<String, Signature>) -> BTreeSet<String> {
    let mut touched = BTreeSet::new();
    for record in records {
        if let Some(id) = record.stream.strip_prefix("telemetry/") {
            touched.insert(id.to_owned());
        } else if record.event_type == "device.status_changed" {
            if let Some(id) = record.stream.strip_prefix("device/") {
                signatures.remove(id);
            }
        }
    }
    touched
}

async fn assess(
    state: &AppState,
    signatures: &mut HashMap<String, Signature>,
    records: &[RecordedEvent],
) -> Result<(), StepError> {
    let touched = touched_devices(records, signatures);
    let Some(last) = records.last().map(|r| r.position) else { return Ok(()) };
    if touched.is_empty() {
        return Ok(());
    }
    if !state.maintenance.reached(last).await {
        return Err(StepError::Storage(format!("the maintenance projection stopped before position {last}")));
    }
    let changed: BTreeMap<String, (Vec<ConditionFinding>, Timestamp, Signature)> = state.maintenance.read(|model| {
        touched
            .iter()
            .filter_map(|id| {
                let prognosis = model.get(id).filter(|p| !p.decommissioned)?;
                let found = findings(prognosis);
                let current = signature(&found);
                if signatures.get(id) == Some(&current) {
                    return None;
                }
                Some((id.clone(), (found, Timestamp(prognosis.last_seen.unwrap_or_default()), current)))
            })
            .collect()
    });
    for (device, (findings, at, current)) in changed {
        let metadata = CommandMetadata { principal: "condition-monitor".to_owned(), ..CommandMetadata::default() };
        match state.platform.devices.execute(&device, DeviceCommand::AssessCondition { findings, at }, metadata).await {
            Ok(outcome) if !outcome.events.is_empty() => {
                tracing::info!(%device, events = outcome.events.len(), "condition alerts changed");
            }
            Ok(_) => {}
            Err(ExecuteError::Rejected(error)) => tracing::debug!(%device, %error, "device not assessed"),
            Err(error) => {
                return Err(match step_error(error) {
                    StepError::Transient(reason) => StepError::Transient(format!("device {device}: {reason}")),
                    StepError::Storage(reason) => StepError::Storage(format!("device {device}: {reason}")),
                })
            }
        }
        signatures.insert(device, current);
    }
    Ok(())
}
