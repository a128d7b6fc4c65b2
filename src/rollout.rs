//! Rollout: the process manager that carries fleet campaigns out on devices.
//!
//! It tails the global log from its own checkpoint. A released wave (`campaign.wave_advanced`)
//! becomes one command per device (`firmware_update`, `config_change`, `data_collection` or
//! `model_deployment`, with the campaign's payload as parameters), which the MQTT downlink
//! publishes. A device's final answer (succeeded, failed, timed out) becomes the campaign's
//! outcome for that device, after which the next wave is asked for; the campaign's own rules
//! decide whether it may start, complete or abort. A firmware update that succeeded also records
//! the device's new firmware version.
//!
//! Command ids and idempotency keys derive from the campaign and the device, and the map from
//! command to campaign is written with the checkpoint in one sled batch, so a restart repeats
//! nothing and skips nothing. Within a batch, each event sees the map entries the earlier events
//! of the same batch staged: a replayed batch that holds both a released wave and a device's
//! answer to it records the answer.

use crate::actors::{CommandMetadata, ExecuteError, Platform};
use crate::events::DecodeStored;
use crate::log_follower::{follow_log, resume_position, step_error, StepError};
use crate::store::{EventLog, RecordedEvent};
use crate::worker_health::WorkerHealth;
use optibid_domain::campaign::{CampaignCommand, CampaignEvent, CampaignKind, DeviceOutcome};
use optibid_domain::device::{DeviceCommand, DeviceEvent};
use optibid_domain::ids::{CampaignId, CommandId, DeviceId};
use optibid_domain::time::Timestamp;
use optibid_domain::FleetEvent;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::task::JoinHandle;

/// Name of the sled tree of the rollout's checkpoint and command map.
const ROLLOUT_TREE: &str = "rollout";
/// Prefix of the keys mapping a device command to its campaign.
const COMMAND_PREFIX: &[u8] = b"c/";
/// Namespace of the command ids derived from a campaign and a device.
const COMMAND_NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x5f1c_2a1e_7d3b_4c8e_9a0f_6b2d_1e4c_7a90);

/// Why the rollout could not start.
#[derive(Debug, thiserror::Error)]
pub enum RolloutError {
    /// Its tree cannot be opened or read.
    #[error("rollout storage failed: {0}")]
    Storage(#[from] sled::Error),
    /// Its checkpoint cannot be read.
    #[error("rollout checkpoint unreadable: {0}")]
    Checkpoint(#[from] optibid_projections::ProjectionError),
}

/// Writes of one batch to the rollout's tree, readable before they are stored.
#[derive(Default)]
struct Staged {
    writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl Staged {
    /// The value of `key`: staged in this batch, else stored.
    fn get(&self, tree: &sled::Tree, key: &[u8]) -> Result<Option<Vec<u8>>, StepError> {
        match self.writes.get(key) {
            Some(staged) => Ok(staged.clone()),
            None => tree.get(key).map(|v| v.map(|v| v.to_vec())).map_err(|e| StepError::Storage(e.to_string())),
        }
    }

    fn insert(&mut self, key: Vec<u8>, value: &[u8]) {
        self.writes.insert(key, Some(value.to_vec()));
    }

    fn remove(&mut self, key: Vec<u8>) {
        self.writes.insert(key, None);
    }

    fn into_batch(self) -> sled::Batch {
        let mut batch = sled::Batch::default();
        for (key, value) in self.writes {
            match value {
                Some(value) => batch.insert(key, value),
                None => batch.remove(key),
            }
        }
        batch
    }
}

/// The running rollout: its task stops when it is dropped.
pub struct Rollout {
    task: JoinHandle<()>,
}

impl Drop for Rollout {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Rollout {
    /// Starts carrying campaigns out over `platform`.
    pub fn start(platform: Arc<Platform>, health: Arc<WorkerHealth>) -> Result<Self, RolloutError> {
        let tree = platform.log.database().open_tree(ROLLOUT_TREE)?;
        let from = resume_position(&tree)?;
        Ok(Self { task: tokio::spawn(run(platform, tree, from, health)) })
    }
}

fn command_key(device: &DeviceId, command: &CommandId) -> Vec<u8> {
    [COMMAND_PREFIX, device.as_str().as_bytes(), b"\0", command.as_str().as_bytes()].concat()
}

/// The id of the command a campaign sends to a device.
fn command_id(campaign: &CampaignId, device: &DeviceId) -> Option<CommandId> {
    let id = uuid::Uuid::new_v5(&COMMAND_NAMESPACE, format!("{campaign}/{device}").as_bytes());
    CommandId::new(id.to_string()).ok()
}

fn command_name(kind: CampaignKind) -> &'static str {
    match kind {
        CampaignKind::FirmwareUpdate => "firmware_update",
        CampaignKind::ConfigChange => "config_change",
        CampaignKind::DataCollection => "data_collection",
        CampaignKind::ModelDeployment => "model_deployment",
    }
}

/// The command's parameters: the payload when it is a JSON object; for a firmware update a bare
/// payload is the version.
fn command_params(kind: CampaignKind, campaign: &CampaignId, payload: &str) -> serde_json::Value {
    let mut params = match serde_json::from_str::<serde_json::Value>(payload) {
        Ok(serde_json::Value::Object(object)) => serde_json::Value::Object(object),
        _ if kind == CampaignKind::FirmwareUpdate => serde_json::json!({ "version": payload }),
        _ => serde_json::json!({ "payload": payload }),
    };
    params["campaign_id"] = serde_json::json!(campaign.as_str());
    params
}

fn now() -> Timestamp {
    Timestamp(chrono::Utc::now().timestamp_millis())
}

fn metadata(key: String) -> CommandMetadata {
    CommandMetadata { principal: "rollout".to_owned(), idempotency_key: Some(key), ..CommandMetadata::default() }
}

#[tracing::instrument(name = "rollout", skip_all, fields(from))]
async fn run(platform: Arc<Platform>, tree: sled::Tree, from: u64, health: Arc<WorkerHealth>) {
    let log: Arc<dyn EventLog> = platform.log.clone();
    follow_log(log, tree.clone(), from, 256, health, |records| {
        let (platform, tree) = (platform.clone(), tree.clone());
        async move {
            let mut staged = Staged::default();
            for record in &records {
                step(&platform, &tree, &mut staged, record).await.map_err(|error| match error {
                    StepError::Transient(reason) => {
                        StepError::Transient(format!("event {}: {reason}", record.position))
                    }
                    StepError::Storage(reason) => StepError::Storage(format!("event {}: {reason}", record.position)),
                })?;
            }
            Ok(staged.into_batch())
        }
    })
    .await;
}

fn interesting(record: &RecordedEvent) -> bool {
    matches!(
        record.event_type.as_str(),
        "campaign.wave_advanced" | "device.command_succeeded" | "device.command_failed" | "device.command_timed_out"
    )
}

async fn step(
    platform: &Platform,
    tree: &sled::Tree,
    staged: &mut Staged,
    record: &RecordedEvent,
) -> Result<(), StepError> {
    if !interesting(record) {
        return Ok(());
    }
    let event = FleetEvent::decode(record).map_err(|e| StepError::Storage(e.to_string()))?;
    match event {
        FleetEvent::Campaign(CampaignEvent::WaveAdvanced { devices, .. }) => {
            let Some(id) = record.stream.strip_prefix("campaign/").and_then(|id| CampaignId::new(id).ok()) else {
                return Ok(());
            };
            release(platform, staged, &id, devices).await
        }
        FleetEvent::Device(event) => {
            let Some(device) = record.stream.strip_prefix("device/").and_then(|id| DeviceId::new(id).ok()) else {
                return Ok(());
            };
            let (command_id, outcome) = match event {
                DeviceEvent::CommandSucceeded { command_id, .. } => (command_id, DeviceOutcome::Succeeded),
                DeviceEvent::CommandFailed { command_id, reason, .. } => (command_id, DeviceOutcome::Failed(reason)),
                DeviceEvent::CommandTimedOut { command_id, .. } => (command_id, DeviceOutcome::TimedOut),
                _ => return Ok(()),
            };
            let key = command_key(&device, &command_id);
            let Some(campaign) = staged.get(tree, &key)? else { return Ok(()) };
            let Ok(campaign) = CampaignId::new(String::from_utf8_lossy(&campaign).into_owned()) else {
                tracing::warn!(%device, %command_id, "the command's campaign entry is not a campaign id; skipped");
                return Ok(());
            };
            staged.remove(key);
            record_outcome(platform, &campaign, &device, &command_id, outcome).await
        }
        _ => Ok(()),
    }
}

async fn release(
    platform: &Platform,
    staged: &mut Staged,
    campaign: &CampaignId,
    devices: Vec<DeviceId>,
) -> Result<(), StepError> {
    let state = platform.campaigns.state(campaign.as_str()).await.map_err(step_error)?;
    let Some(definition) = state.state.definition else { return Ok(()) };
    let name = command_name(definition.kind);
    let params = command_params(definition.kind, campaign, &definition.payload).to_string();
    for device in devices {
        let Some(command_id) = command_id(campaign, &device) else { continue };
        staged.insert(command_key(&device, &command_id), campaign.as_str().as_bytes());
        let command = DeviceCommand::IssueCommand {
            command_id: command_id.clone(),
            name: name.to_owned(),
            params: params.clone(),
            timeout_ms: definition.device_timeout_ms,
            at: now(),
        };
        let key = format!("rollout:{campaign}:{device}");
        match platform.devices.execute(device.as_str(), command, metadata(key)).await {
            Ok(_) => tracing::info!(%campaign, %device, %command_id, "campaign command issued"),
            Err(ExecuteError::Rejected(error)) => {
                tracing::warn!(%campaign, %device, %error, "the device refused the campaign's command");
                let outcome = DeviceOutcome::Failed(format!("command refused: {error}"));
                record_outcome(platform, campaign, &device, &command_id, outcome).await?;
            }
            Err(error) => return Err(step_error(error)),
        }
    }
    Ok(())
}

async fn record_outcome(
    platform: &Platform,
    campaign: &CampaignId,
    device: &DeviceId,
    command_id: &CommandId,
    outcome: DeviceOutcome,
) -> Result<(), StepError> {
    if outcome.is_success() {
        let state = platform.campaigns.state(campaign.as_str()).await.map_err(step_error)?;
        if let Some(definition) = state.state.definition.filter(|d| d.kind == CampaignKind::FirmwareUpdate) {
            let params = command_params(definition.kind, campaign, &definition.payload);
            if let Some(version) = params.get("version").and_then(|v| v.as_str()) {
                let change = DeviceCommand::ChangeFirmware { version: version.to_owned(), at: now() };
                let key = format!("rollout:{campaign}:{device}:firmware");
                if let Err(error) = platform.devices.execute(device.as_str(), change, metadata(key)).await {
                    tracing::debug!(%device, %error, "firmware version not recorded");
                }
            }
        }
    }
    let command = CampaignCommand::RecordOutcome { device_id: device.clone(), outcome, at: now() };
    let key = format!("rollout:{campaign}:{device}:{command_id}:outcome");
    match platform.campaigns.execute(campaign.as_str(), command, metadata(key)).await {
        Ok(_) | Err(ExecuteError::Rejected(_)) => {}
        Err(error) => return Err(step_error(error)),
    }
    let advance = CampaignCommand::AdvanceWave { at: now() };
    match platform.campaigns.execute(campaign.as_str(), advance, CommandMetadata::default()).await {
        Ok(_) | Err(ExecuteError::Rejected(_)) => Ok(()),
        Err(error) => Err(step_error(error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actors::DirectoryConfig;
    use crate::bench::workload::registration;
    use crate::store::SledEventLog;
    use optibid_domain::campaign::{CampaignDefinition, CampaignPhase, TargetSelector};
    use optibid_domain::device::CommandResponse;

    #[test]
    fn command_ids_are_stable_per_campaign_and_device() {
        let campaign = CampaignId::new("fw-1").expect("valid id");
        let device = DeviceId::new("inv-1").expect("valid id");
        assert_eq!(command_id(&campaign, &device), command_id(&campaign, &device));
        let other = DeviceId::new("inv-2").expect("valid id");
        assert_ne!(command_id(&campaign, &device), command_id(&campaign, &other));
    }

    #[test]
    fn a_bare_firmware_payload_is_the_version() {
        let campaign = CampaignId::new("fw-1").expect("valid id");
        let params = command_params(CampaignKind::FirmwareUpdate, &campaign, "2.5.0");
        assert_eq!(params, serde_json::json!({ "version": "2.5.0", "campaign_id": "fw-1" }));
        let params = command_params(CampaignKind::ConfigChange, &campaign, r#"{"soc_limit": 90}"#);
        assert_eq!(params, serde_json::json!({ "soc_limit": 90, "campaign_id": "fw-1" }));
    }

    fn at() -> Timestamp {
        now()
    }

    /// The log after a crash of the rollout between a released wave and the device's answer to
    /// it: the wave, the command and its success are stored, the rollout's checkpoint is before
    /// all of them. Replayed in one batch, the answer must still become the campaign's outcome.
    #[tokio::test]
    async fn a_replayed_batch_with_a_wave_and_its_answer_completes_the_campaign() {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = Arc::new(SledEventLog::open(dir.path()).expect("opens"));
        let platform = Arc::new(Platform::start(log, DirectoryConfig::default()).await.expect("starts"));
        let meta = CommandMetadata::default;
        let device = DeviceId::new("bench-000001").expect("valid id");
        platform.devices.execute(device.as_str(), registration(1).expect("valid"), meta()).await.expect("registers");
        let campaign = CampaignId::new("fw-9").expect("valid id");
        let definition = CampaignDefinition {
            id: campaign.clone(),
            name: "Firmware 9".to_owned(),
            kind: CampaignKind::FirmwareUpdate,
            selector: TargetSelector::default(),
            payload: "9.0.0".to_owned(),
            waves: vec![100],
            success_threshold: 1.0,
            abort_threshold: 0.5,
            device_timeout_ms: 60_000,
        };
        for command in [
            CampaignCommand::Create { definition, at: at() },
            CampaignCommand::ResolveTargets { devices: vec![device.clone()], at: at() },
            CampaignCommand::Start { at: at() },
        ] {
            platform.campaigns.execute(campaign.as_str(), command, meta()).await.expect("accepted");
        }
        let command_id = command_id(&campaign, &device).expect("an id");
        let issue = DeviceCommand::IssueCommand {
            command_id: command_id.clone(),
            name: "firmware_update".to_owned(),
            params: command_params(CampaignKind::FirmwareUpdate, &campaign, "9.0.0").to_string(),
            timeout_ms: 60_000,
            at: at(),
        };
        let issued = metadata(format!("rollout:{campaign}:{device}"));
        platform.devices.execute(device.as_str(), issue, issued).await.expect("issued");
        let success = DeviceCommand::RecordCommandResponse {
            command_id,
            response: CommandResponse::Succeeded { detail: "flashed".to_owned() },
            at: at(),
        };
        platform.devices.execute(device.as_str(), success, meta()).await.expect("recorded");

        let _rollout = Rollout::start(platform.clone(), WorkerHealth::new("rollout")).expect("starts");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let state = platform.campaigns.state(campaign.as_str()).await.expect("state").state;
            if state.phase == CampaignPhase::Completed {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "the campaign stalled: {state:?}");
            // The rollout works on its own task against the real log: poll, bounded.
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}
