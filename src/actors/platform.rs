//! The running platform: the event log and the actors of every aggregate kind over it.

use super::aggregate_actor::CommandMetadata;
use super::directory::{ActorDirectory, DirectoryConfig};
use super::error::ExecuteError;
use crate::aggregates::event_ids;
use crate::store::{EventLog, EventMetadata, ExpectedVersion, GlobalPosition, SledEventLog, StoreError, StreamName};
use optibid_domain::campaign::FleetCampaign;
use optibid_domain::device::{Device, DeviceCommand, DeviceError, ThresholdRule};
use optibid_domain::edge::EdgeNode;
use optibid_domain::ids::DeviceId;
use optibid_domain::telemetry::{TelemetryBatch, TelemetryEvent, TELEMETRY_SCHEMA_VERSION, TELEMETRY_STREAM_KIND};
use optibid_domain::time::Timestamp;
use optibid_domain::EventName;
use optibid_snapshots::SnapshotStore;
use std::sync::Arc;
use tracing::instrument;

/// Name of the sled tree that holds snapshots.
const SNAPSHOTS_TREE: &str = "snapshots";

/// The event log and the actors of devices, edge nodes and campaigns.
pub struct Platform {
    /// The event log.
    pub log: Arc<SledEventLog>,
    /// Device actors.
    pub devices: ActorDirectory<Device>,
    /// Edge node actors.
    pub edge_nodes: ActorDirectory<EdgeNode>,
    /// Campaign actors.
    pub campaigns: ActorDirectory<FleetCampaign>,
    /// Configured threshold rules, checked on every telemetry batch.
    alert_rules: Vec<ThresholdRule>,
}

/// Why the platform could not start.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// The snapshot tree cannot be opened.
    #[error("cannot open the snapshot store: {0}")]
    Snapshots(#[from] sled::Error),
    /// An actor supervisor could not be spawned.
    #[error("cannot start the actor supervisors: {0}")]
    Spawn(#[from] ractor::SpawnErr),
}

impl Platform {
    /// Starts the actor directories over `log`.
    pub async fn start(log: Arc<SledEventLog>, config: DirectoryConfig) -> Result<Self, PlatformError> {
        let snapshots = SnapshotStore::new(log.database().open_tree(SNAPSHOTS_TREE)?, config.snapshots.keep);
        let shared: Arc<dyn EventLog> = log.clone();
        Ok(Self {
            devices: ActorDirectory::start(shared.clone(), snapshots.clone(), config).await?,
            edge_nodes: ActorDirectory::start(shared.clone(), snapshots.clone(), config).await?,
            campaigns: ActorDirectory::start(shared, snapshots, config).await?,
            log,
            alert_rules: Vec::new(),
        })
    }

    /// The platform with these threshold rules checked on telemetry.
    pub fn with_alert_rules(mut self, rules: Vec<ThresholdRule>) -> Self {
        self.alert_rules = rules;
        self
    }

    /// The snapshot store of this data folder.
    pub fn snapshot_store(log: &SledEventLog, keep: usize) -> Result<SnapshotStore, sled::Error> {
        Ok(SnapshotStore::new(log.database().open_tree(SNAPSHOTS_TREE)?, keep))
    }

    /// Records a telemetry batch in the device's `telemetry/{id}` stream, then lets the device
    /// actor see it (threshold crossings become its own status events). Refused for unknown or
    /// decommissioned devices.
    #[instrument(skip_all, fields(device = %batch.device_id, samples = batch.samples.len()))]
    pub async fn record_telemetry(
        &self,
        batch: TelemetryBatch,
        metadata: CommandMetadata,
    ) -> Result<GlobalPosition, ExecuteError<DeviceError>> {
        let device = self.devices.state(batch.device_id.as_str()).await?;
        match &device.state.profile {
            None => return Err(ExecuteError::Rejected(DeviceError::NotRegistered)),
            Some(profile) if device.state.decommissioned_at.is_some() => {
                return Err(ExecuteError::Rejected(DeviceError::Decommissioned(profile.id.clone())))
            }
            Some(_) => {}
        }
        self.append_telemetry(batch, metadata).await
    }

    /// Records a telemetry batch for a device the caller knows to be registered (the MQTT
    /// ingest checks each device when it first sees it), then lets the device actor see it.
    /// The device actor still refuses the observation of a device decommissioned meanwhile.
    #[instrument(skip_all, fields(device = %batch.device_id, samples = batch.samples.len()))]
    pub async fn append_telemetry(
        &self,
        batch: TelemetryBatch,
        metadata: CommandMetadata,
    ) -> Result<GlobalPosition, ExecuteError<DeviceError>> {
        let device_id = batch.device_id.clone();
        let stream = StreamName::new(TELEMETRY_STREAM_KIND, device_id.as_str())
            .map_err(|e| ExecuteError::Unavailable { stream: device_id.to_string(), reason: e.to_string() })?;
        let extremes = batch.extremes();
        let at = batch.last_ts();
        let event = TelemetryEvent::Recorded(batch);
        let event_id = event_ids(&stream, metadata.idempotency_key.as_deref(), 1)[0];
        let new_event = crate::store::NewEvent {
            event_id,
            event_type: event.event_name().to_owned(),
            schema_version: TELEMETRY_SCHEMA_VERSION,
            payload: crate::store::codec::encode_payload(&event)?,
            metadata: EventMetadata {
                causation_id: metadata.causation_id,
                correlation_id: metadata.correlation_id,
                principal: metadata.principal.clone(),
            },
        };
        let outcome = self.log.append(stream, ExpectedVersion::Any, vec![new_event]).await?;
        let observe = CommandMetadata { idempotency_key: Some(format!("telemetry-{event_id}")), ..metadata };
        self.devices
            .execute(
                device_id.as_str(),
                DeviceCommand::ObserveTelemetry { extremes, at, rules: self.alert_rules.clone() },
                observe,
            )
            .await?;
        Ok(outcome.positions.first().copied().unwrap_or_default())
    }

    /// Sample times of the last `events` telemetry batches stored for `device` (batches whose
    /// payload was pruned are skipped).
    pub fn recent_telemetry_times(&self, device: &DeviceId, events: u64) -> Result<Vec<Timestamp>, StoreError> {
        let stream =
            StreamName::new(TELEMETRY_STREAM_KIND, device.as_str()).map_err(|e| StoreError::Encode(e.to_string()))?;
        let version = self.log.stream_version(&stream)?;
        let mut times = Vec::new();
        for record in self.log.read_stream(&stream, version.saturating_sub(events.saturating_sub(1)).max(1))? {
            match crate::store::codec::decode_payload::<TelemetryEvent>(&record, TELEMETRY_SCHEMA_VERSION) {
                Ok(TelemetryEvent::Recorded(batch)) => times.extend(batch.samples.iter().map(|s| s.ts)),
                Err(StoreError::Pruned(_)) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(times)
    }

    /// Stops every actor and closes the log.
    pub async fn shutdown(&self) {
        self.devices.shutdown().await;
        self.edge_nodes.shutdown().await;
        self.campaigns.shutdown().await;
        self.log.close();
    }
}
