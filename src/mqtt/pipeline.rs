//! One ingest round: a batch of MQTT messages becomes telemetry events (one per device) and
//! commands to device and edge-node actors. Every message ends either in the store or in the
//! dead letters; the round returns only once both are durable, so the caller may acknowledge all
//! of its messages to the broker.

use super::dead_letter::{DeadLetterError, DeadLetterReason, DeadLetterStore};
use super::payload::{self, PayloadLimits, Rejection};
use super::recent_samples::RecentSamples;
use super::topic::InboundTopic;
use crate::actors::{CommandMetadata, ExecuteError, Platform};
use crate::store::StoreError;
use futures_util::future::join_all;
use optibid_domain::device::{CommandResponse, DeviceCommand, DeviceError, DeviceKind, DeviceRegistration, Protocol};
use optibid_domain::edge::{EdgeNodeCommand, EdgeNodeError};
use optibid_domain::ids::{CommandId, DeviceId, EdgeNodeId};
use optibid_domain::telemetry::{TelemetryBatch, TelemetrySample, MAX_SAMPLES_PER_BATCH};
use optibid_domain::time::Timestamp;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

/// How many of a device's last telemetry batches are read back when the ingest first sees it,
/// to recognise messages the broker delivers again after a restart.
const RELOADED_BATCHES: u64 = 16;

/// One message as the broker delivered it.
#[derive(Debug, Clone, Copy)]
pub struct InboundMessage<'a> {
    /// Its topic.
    pub topic: &'a str,
    /// Its payload.
    pub payload: &'a [u8],
}

/// How the ingest treats messages.
#[derive(Debug, Clone, Copy, Default)]
pub struct IngestOptions {
    /// Payload size and clock limits.
    pub limits: PayloadLimits,
    /// Register unknown devices on their first telemetry instead of refusing them.
    pub auto_provision: bool,
}

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoundReport {
    /// Messages turned into stored events or commands.
    pub accepted: usize,
    /// Messages sent to the dead letters.
    pub dead_letters: usize,
    /// Telemetry events appended.
    pub telemetry_events: usize,
    /// Samples in those events.
    pub samples: usize,
}

/// Why a round could not finish; none of its messages may be acknowledged.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The event store failed.
    #[error("the event store failed: {0}")]
    Store(#[from] StoreError),
    /// An actor could not be reached.
    #[error("an actor could not run the command: {0}")]
    Actor(String),
    /// The dead letters could not be written.
    #[error(transparent)]
    DeadLetters(#[from] DeadLetterError),
}

/// What the ingest remembers of a registered device.
#[derive(Debug, Clone)]
struct KnownDevice {
    /// Declared metric names; empty means any metric is accepted.
    metrics: HashSet<String>,
    /// Sample times stored lately, to drop redeliveries.
    recent: RecentSamples,
}

/// What a message asks for, once decoded.
#[derive(Debug, Clone)]
pub enum Work {
    /// Readings of a device.
    Telemetry(DeviceId, Vec<TelemetrySample>),
    /// A device's status.
    Status(DeviceId, payload::StatusReport),
    /// A device's answer to a command.
    Response(DeviceId, CommandId, CommandResponse),
    /// An edge node's heartbeat.
    Heartbeat(EdgeNodeId, payload::HeartbeatReport),
}

/// A message another protocol has already decoded, with what to keep of it should it end in
/// the dead letters.
#[derive(Debug, Clone)]
pub struct DecodedMessage {
    /// Where it came from (shown as the dead letter's topic).
    pub origin: String,
    /// Its raw form (the dead letter keeps the first bytes).
    pub raw: Vec<u8>,
    /// What it asks for, or why it is refused already.
    pub work: Result<Work, Rejection>,
}

/// Telemetry of one device in one round.
struct DeviceTelemetry {
    device: DeviceId,
    messages: Vec<(usize, Vec<TelemetrySample>)>,
}

/// The ingest's state across rounds: the platform, the dead letters and a cache of the devices
/// it has seen.
pub struct IngestPipeline {
    platform: Arc<Platform>,
    source: &'static str,
    dead_letters: DeadLetterStore,
    options: IngestOptions,
    known: HashMap<DeviceId, KnownDevice>,
}

impl IngestPipeline {
    /// A pipeline over `platform`; `source` names the protocol in the principal of the
    /// commands it issues (`mqtt:{device}`, `opcua:{device}`).
    pub fn new(
        platform: Arc<Platform>,
        dead_letters: DeadLetterStore,
        options: IngestOptions,
        source: &'static str,
    ) -> Self {
        Self { platform, source, dead_letters, options, known: HashMap::new() }
    }

    /// Processes `messages` (in the order received) and returns once every resulting event and
    /// dead letter is durable.
    #[tracing::instrument(name = "ingest_round", skip_all, fields(messages = messages.len()))]
    pub async fn process(
        &mut self,
        messages: &[InboundMessage<'_>],
        now: Timestamp,
    ) -> Result<RoundReport, IngestError> {
        let work = messages.iter().map(|message| self.classify(message, now)).collect();
        let (mut report, rejected) = self.run_round(work, now).await?;
        for (index, rejection) in &rejected {
            let message = messages[*index];
            self.dead_letters.record(rejection.reason, &rejection.detail, message.topic, message.payload, now)?;
        }
        self.finish_round(&mut report, messages.len(), rejected.len()).await?;
        Ok(report)
    }

    /// Processes messages another protocol has decoded (in the order received) and returns once
    /// every resulting event and dead letter is durable.
    #[tracing::instrument(name = "ingest_decoded_round", skip_all, fields(messages = messages.len()))]
    pub async fn process_decoded(
        &mut self,
        messages: Vec<DecodedMessage>,
        now: Timestamp,
    ) -> Result<RoundReport, IngestError> {
        let count = messages.len();
        let mut origins = Vec::with_capacity(count);
        let mut work = Vec::with_capacity(count);
        for message in messages {
            origins.push((message.origin, message.raw));
            work.push(message.work);
        }
        let (mut report, rejected) = self.run_round(work, now).await?;
        for (index, rejection) in &rejected {
            let (origin, raw) = &origins[*index];
            self.dead_letters.record(rejection.reason, &rejection.detail, origin, raw, now)?;
        }
        self.finish_round(&mut report, count, rejected.len()).await?;
        Ok(report)
    }

    async fn finish_round(
        &self,
        report: &mut RoundReport,
        messages: usize,
        rejected: usize,
    ) -> Result<(), IngestError> {
        if rejected > 0 {
            self.dead_letters.flush().await?;
        }
        report.dead_letters = rejected;
        report.accepted = messages - rejected;
        Ok(())
    }

    /// Runs one round of decoded work; the rejections are keyed by the work's index.
    async fn run_round(
        &mut self,
        work: Vec<Result<Work, Rejection>>,
        now: Timestamp,
    ) -> Result<(RoundReport, BTreeMap<usize, Rejection>), IngestError> {
        let mut rejected: BTreeMap<usize, Rejection> = BTreeMap::new();
        let mut telemetry: BTreeMap<DeviceId, DeviceTelemetry> = BTreeMap::new();
        let mut commands = Vec::new();
        for (index, decoded) in work.into_iter().enumerate() {
            match decoded {
                Ok(Work::Telemetry(device, samples)) => telemetry
                    .entry(device.clone())
                    .or_insert_with(|| DeviceTelemetry { device, messages: Vec::new() })
                    .messages
                    .push((index, samples)),
                Ok(work) => commands.push((index, work)),
                Err(rejection) => {
                    rejected.insert(index, rejection);
                }
            }
        }
        let mut report = RoundReport::default();
        self.record_telemetry(telemetry.into_values().collect(), now, &mut rejected, &mut report).await?;
        for (index, work) in commands {
            if let Some(rejection) = self.run_command(work).await? {
                rejected.insert(index, rejection);
            }
        }
        Ok((report, rejected))
    }

    fn classify(&self, message: &InboundMessage<'_>, now: Timestamp) -> Result<Work, Rejection> {
        let limits = self.options.limits;
        let topic = InboundTopic::parse(message.topic)
            .map_err(|e| Rejection::new(DeadLetterReason::UnknownTopic, e.to_string()))?;
        Ok(match topic {
            InboundTopic::Telemetry(device) => {
                Work::Telemetry(device, payload::telemetry(message.payload, now, limits)?)
            }
            InboundTopic::Status(device) => Work::Status(device, payload::status(message.payload, now, limits)?),
            InboundTopic::CommandResponse(device, command) => {
                Work::Response(device, command, payload::command_response(message.payload, limits)?)
            }
            InboundTopic::EdgeHeartbeat(node) => {
                Work::Heartbeat(node, payload::heartbeat(message.payload, now, limits)?)
            }
        })
    }

    /// Loads the device's facts into the cache (provisioning the device if configured) on first
    /// sight. `Ok(Err(rejection))` when the device cannot take telemetry.
    async fn load_device(&mut self, device: &DeviceId, now: Timestamp) -> Result<Result<(), Rejection>, IngestError> {
        if self.known.contains_key(device) {
            return Ok(Ok(()));
        }
        let mut state = self.platform.devices.state(device.as_str()).await.map_err(actor_error)?.state;
        if state.profile.is_none() && self.options.auto_provision {
            let registration = DeviceRegistration {
                id: device.clone(),
                name: device.to_string(),
                kind: DeviceKind::Other,
                protocol: Protocol::Mqtt,
                site: "unassigned".to_owned(),
                region: "unassigned".to_owned(),
                tags: vec!["auto-provisioned".to_owned()],
                firmware_version: "unknown".to_owned(),
                metrics: Vec::new(),
            };
            let metadata =
                CommandMetadata { principal: format!("{}:auto-provision", self.source), ..CommandMetadata::default() };
            match self
                .platform
                .devices
                .execute(device.as_str(), DeviceCommand::Register { registration, at: now }, metadata)
                .await
            {
                Ok(_) | Err(ExecuteError::Rejected(DeviceError::AlreadyRegistered(_))) => {}
                Err(error) => return Err(actor_error(error)),
            }
            state = self.platform.devices.state(device.as_str()).await.map_err(actor_error)?.state;
            tracing::info!(%device, "device auto-provisioned on its first telemetry");
        }
        let Some(profile) = &state.profile else {
            return Ok(Err(Rejection::new(
                DeadLetterReason::UnknownDevice,
                format!("device {device} is not registered (auto-provisioning is off)"),
            )));
        };
        if state.decommissioned_at.is_some() {
            return Ok(Err(Rejection::new(DeadLetterReason::Rejected, format!("device {device} is decommissioned"))));
        }
        let known = KnownDevice {
            metrics: profile.metrics.iter().map(|m| m.name.clone()).collect(),
            recent: RecentSamples::from_times(self.platform.recent_telemetry_times(device, RELOADED_BATCHES)?),
        };
        self.known.insert(device.clone(), known);
        Ok(Ok(()))
    }

    async fn record_telemetry(
        &mut self,
        devices: Vec<DeviceTelemetry>,
        now: Timestamp,
        rejected: &mut BTreeMap<usize, Rejection>,
        report: &mut RoundReport,
    ) -> Result<(), IngestError> {
        let mut batches = Vec::new();
        for telemetry in devices {
            if let Err(rejection) = self.load_device(&telemetry.device, now).await? {
                for (index, _) in telemetry.messages {
                    rejected.insert(index, rejection.clone());
                }
                continue;
            }
            let Some(known) = self.known.get(&telemetry.device) else { continue };
            let mut seen_this_round = HashSet::new();
            let mut samples = Vec::new();
            let mut indexes = Vec::new();
            for (index, message_samples) in telemetry.messages {
                if let Some(metric) = message_samples
                    .iter()
                    .flat_map(|s| &s.values)
                    .find(|v| !known.metrics.is_empty() && !known.metrics.contains(&v.metric))
                {
                    rejected.insert(
                        index,
                        Rejection::new(
                            DeadLetterReason::UnknownMetric,
                            format!("metric {:?} is not declared by device {}", metric.metric, telemetry.device),
                        ),
                    );
                    continue;
                }
                let fresh: Vec<TelemetrySample> = message_samples
                    .into_iter()
                    .filter(|s| !known.recent.contains(s.ts) && seen_this_round.insert(s.ts))
                    .collect();
                if fresh.is_empty() {
                    rejected.insert(
                        index,
                        Rejection::new(
                            DeadLetterReason::DuplicateSample,
                            format!("every sample of this message is stored already for device {}", telemetry.device),
                        ),
                    );
                    continue;
                }
                samples.extend(fresh);
                indexes.push(index);
            }
            samples.sort_by_key(|s| s.ts);
            for chunk in samples.chunks(MAX_SAMPLES_PER_BATCH) {
                match TelemetryBatch::new(telemetry.device.clone(), chunk.to_vec()) {
                    Ok(batch) => batches.push((indexes.clone(), batch)),
                    Err(error) => {
                        for index in &indexes {
                            rejected.insert(*index, Rejection::new(DeadLetterReason::InvalidField, error.to_string()));
                        }
                    }
                }
            }
        }
        let platform = &self.platform;
        let source = self.source;
        let outcomes = join_all(batches.into_iter().map(|(indexes, batch)| async move {
            let key = batch_key(&batch);
            let device = batch.device_id.clone();
            let times: Vec<Timestamp> = batch.samples.iter().map(|s| s.ts).collect();
            let metadata = CommandMetadata {
                principal: format!("{source}:{device}"),
                idempotency_key: Some(key),
                ..CommandMetadata::default()
            };
            (indexes, device, times, platform.append_telemetry(batch, metadata).await)
        }))
        .await;
        for (indexes, device, times, outcome) in outcomes {
            match outcome {
                Ok(_) => {
                    report.telemetry_events += 1;
                    report.samples += times.len();
                    if let Some(known) = self.known.get_mut(&device) {
                        for ts in times {
                            known.recent.remember(ts);
                        }
                    }
                }
                Err(ExecuteError::Rejected(error)) => {
                    self.known.remove(&device);
                    for index in indexes {
                        rejected.insert(index, device_rejection(&device, error.clone()));
                    }
                }
                Err(error) => return Err(actor_error(error)),
            }
        }
        Ok(())
    }

    async fn run_command(&mut self, work: Work) -> Result<Option<Rejection>, IngestError> {
        match work {
            Work::Telemetry(..) => Ok(None),
            Work::Status(device, report) => {
                let command =
                    DeviceCommand::ChangeStatus { status: report.status, reason: report.reason, at: report.at };
                match self.execute_device(&device, command).await? {
                    Err(DeviceError::StatusUnchanged(_)) | Ok(()) => Ok(None),
                    Err(error) => Ok(Some(device_rejection(&device, error))),
                }
            }
            Work::Response(device, command_id, response) => {
                let at = Timestamp(chrono::Utc::now().timestamp_millis());
                let command = DeviceCommand::RecordCommandResponse { command_id, response, at };
                Ok(self.execute_device(&device, command).await?.err().map(|e| device_rejection(&device, e)))
            }
            Work::Heartbeat(node, report) => {
                let metadata =
                    CommandMetadata { principal: format!("{}:edge:{node}", self.source), ..CommandMetadata::default() };
                let command = EdgeNodeCommand::RecordHeartbeat(report.heartbeat);
                match self.platform.edge_nodes.execute(node.as_str(), command, metadata).await {
                    Ok(_) => Ok(None),
                    Err(ExecuteError::Rejected(EdgeNodeError::NotRegistered)) => Ok(Some(Rejection::new(
                        DeadLetterReason::UnknownDevice,
                        format!("edge node {node} is not registered"),
                    ))),
                    Err(ExecuteError::Rejected(error)) => {
                        Ok(Some(Rejection::new(DeadLetterReason::Rejected, format!("edge node {node}: {error}"))))
                    }
                    Err(error) => Err(IngestError::Actor(error.to_string())),
                }
            }
        }
    }

    async fn execute_device(
        &self,
        device: &DeviceId,
        command: DeviceCommand,
    ) -> Result<Result<(), DeviceError>, IngestError> {
        let metadata = CommandMetadata { principal: format!("{}:{device}", self.source), ..CommandMetadata::default() };
        match self.platform.devices.execute(device.as_str(), command, metadata).await {
            Ok(_) => Ok(Ok(())),
            Err(ExecuteError::Rejected(error)) => Ok(Err(error)),
            Err(error) => Err(actor_error(error)),
        }
    }
}

/// The idempotency key of a telemetry batch: derived from its content, so the same samples
/// redelivered in the same grouping are stored once.
fn batch_key(batch: &TelemetryBatch) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher.update(batch.device_id.as_str().as_bytes());
    for sample in &batch.samples {
        hasher.update(&sample.ts.0.to_le_bytes());
        for value in &sample.values {
            hasher.update(value.metric.as_bytes());
            hasher.update(&value.value.to_le_bytes());
        }
    }
    format!("mqtt-telemetry-{}", hasher.finalize().to_hex())
}

fn device_rejection(device: &DeviceId, error: DeviceError) -> Rejection {
    match error {
        DeviceError::NotRegistered => {
            Rejection::new(DeadLetterReason::UnknownDevice, format!("device {device} is not registered"))
        }
        other => Rejection::new(DeadLetterReason::Rejected, format!("device {device}: {other}")),
    }
}

fn actor_error<E: std::error::Error>(error: ExecuteError<E>) -> IngestError {
    match error {
        ExecuteError::Store(store) => IngestError::Store(store),
        other => IngestError::Actor(other.to_string()),
    }
}
