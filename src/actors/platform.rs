//! The running platform: the event log and the actors of every aggregate kind over it.

use super::aggregate_actor::CommandMetadata;
use super::directory::{ActorDirectory, DirectoryConfig};
use super::error::ExecuteError;
use crate::aggregates::event_ids;
use crate::store::{
    EventLog, EventMetadata, ExpectedVersion, GlobalPosition, SledEventLog, StoreError, StreamAppend, StreamName,
};
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

/// What recording telemetry did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelemetryRecorded {
    /// Global position of the first telemetry event (0 when no batch was given).
    pub position: GlobalPosition,
    /// Whether the batches were stored already (a retry): nothing new was written.
    pub duplicate: bool,
    /// Device events decided on seeing them (status changes, alerts).
    pub device_events: usize,
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

    /// Records telemetry batches of one device in its `telemetry/{id}` stream together with
    /// what the device actor decides on seeing them (status changes, threshold alerts), as one
    /// atomic append: both are stored, or neither is. An unknown or decommissioned device's
    /// batches are refused and nothing is stored. A retry with the same idempotency key is
    /// stored once and decided once. Returns the global position of the first telemetry event.
    #[instrument(skip_all, fields(device = %device, batches = batches.len()))]
    pub async fn record_telemetry(
        &self,
        device: &DeviceId,
        batches: Vec<TelemetryBatch>,
        metadata: CommandMetadata,
    ) -> Result<TelemetryRecorded, ExecuteError<DeviceError>> {
        let stream = StreamName::new(TELEMETRY_STREAM_KIND, device.as_str())
            .map_err(|e| ExecuteError::Unavailable { stream: device.to_string(), reason: e.to_string() })?;
        if let Some(other) = batches.iter().find(|batch| &batch.device_id != device) {
            return Err(ExecuteError::InvalidId(format!("a batch of {} among those of {device}", other.device_id)));
        }
        let mut extremes = Vec::new();
        let mut at = Timestamp(i64::MIN);
        let ids = event_ids(&stream, metadata.idempotency_key.as_deref(), batches.len());
        let mut events = Vec::with_capacity(batches.len());
        for (batch, event_id) in batches.into_iter().zip(ids) {
            extremes.extend(batch.extremes());
            at = at.max(batch.last_ts());
            let event = TelemetryEvent::Recorded(batch);
            events.push(crate::store::NewEvent {
                event_id,
                event_type: event.event_name().to_owned(),
                schema_version: TELEMETRY_SCHEMA_VERSION,
                payload: crate::store::codec::encode_payload(&event)?,
                metadata: EventMetadata {
                    causation_id: metadata.causation_id,
                    correlation_id: metadata.correlation_id,
                    principal: metadata.principal.clone(),
                },
            });
        }
        let first_event = events.first().map(|event| event.event_id);
        let telemetry = StreamAppend { stream: stream.clone(), expected: ExpectedVersion::Any, events };
        let observe = DeviceCommand::ObserveTelemetry { extremes, at, rules: self.alert_rules.clone() };
        let executed = self.devices.execute_with(device.as_str(), observe, vec![telemetry], metadata).await?;
        let position = match first_event {
            Some(id) => self.log.event_position(&stream, &id)?.unwrap_or_default(),
            None => 0,
        };
        Ok(TelemetryRecorded { position, duplicate: executed.duplicate, device_events: executed.events.len() })
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
