//! One ingest round: decoded messages from any protocol become telemetry events (one atomic
//! append per device) and commands to device and edge-node actors. Every message ends in exactly
//! one outcome: stored, a duplicate of what is stored, or a dead letter; the round returns only
//! once all of it is durable, so the protocol may then acknowledge each message.

use super::dead_letter::{DeadLetterError, DeadLetterReason, DeadLetterStore};
use super::payload::{HeartbeatReport, PayloadLimits, Rejection, StatusReport};
use crate::actors::{CommandMetadata, ExecuteError, Platform};
use crate::store::StoreError;
use futures_util::future::join_all;
use optibid_domain::device::{CommandResponse, DeviceCommand, DeviceError, DeviceKind, DeviceRegistration, Protocol};
use optibid_domain::edge::{EdgeNodeCommand, EdgeNodeError};
use optibid_domain::ids::{CommandId, DeviceId, EdgeNodeId};
use optibid_domain::telemetry::{
    MetricValue, RecentSamples, SampleVerdict, TelemetryBatch, TelemetryEvent, TelemetrySample, MAX_SAMPLES_PER_BATCH,
    REMEMBERED_SAMPLES, TELEMETRY_SCHEMA_VERSION, TELEMETRY_STREAM_KIND,
};
use optibid_domain::time::Timestamp;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

/// At most how many of a device's last telemetry batches are read back, newest first: when the
/// ingest first sees the device (until they hold as many samples as are remembered), and when a
/// redelivered message carries readings it does not remember (until each is found). A redelivery
/// is of a message its sender had in flight, unacknowledged: at most the receive maximum of the
/// platform's endpoint, or 1,000 per connection to a broker; each gave at most one batch of its
/// device per round, so its original, if stored, is among the device's last 4,096 batches.
const RELOADED_BATCHES: u64 = 4_096;

/// Devices whose facts the ingest keeps; beyond this, the least recently seen are forgotten
/// (and read back from the log when they send again).
const KNOWN_DEVICES: usize = 100_000;

/// Conflicting samples named in one dead letter's detail.
const CONFLICTS_NAMED: usize = 5;

/// How the ingest treats messages.
#[derive(Debug, Clone, Copy, Default)]
pub struct IngestOptions {
    /// Payload size and clock limits.
    pub limits: PayloadLimits,
    /// Register unknown devices on their first telemetry instead of refusing them.
    pub auto_provision: bool,
}

/// What a message asks for, once decoded.
#[derive(Debug, Clone)]
pub enum Work {
    /// Readings of a device.
    Telemetry(DeviceId, Vec<TelemetrySample>),
    /// A device's status.
    Status(DeviceId, StatusReport),
    /// A device's answer to a command.
    Response(DeviceId, CommandId, CommandResponse),
    /// An edge node's heartbeat.
    Heartbeat(EdgeNodeId, HeartbeatReport),
}

/// A message a protocol has decoded, with what to keep of it should it end in the dead letters.
#[derive(Debug, Clone)]
pub struct DecodedMessage {
    /// Where it came from (an MQTT topic or an OPC UA node; shown as the dead letter's topic).
    pub origin: String,
    /// Its raw form (the dead letter keeps the first bytes).
    pub raw: Vec<u8>,
    /// What it asks for, or why it is refused already.
    pub work: Result<Work, Rejection>,
    /// Whether the protocol says it may have been delivered before (MQTT's DUP flag).
    pub redelivery: bool,
}

/// What became of one message. Every outcome is durable when the round returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageOutcome {
    /// Its events are stored.
    Stored,
    /// Everything it carried was stored already (a redelivery); nothing new was written.
    Duplicate,
    /// Some of its samples are stored; the rest conflicted with stored values and are in a dead
    /// letter.
    PartlyStored(DeadLetterReason),
    /// It was refused; a dead letter says why.
    Refused(DeadLetterReason),
}

/// What one round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoundReport {
    /// One outcome per message, in the order given.
    pub outcomes: Vec<MessageOutcome>,
    /// Telemetry events appended.
    pub telemetry_events: usize,
    /// Samples in those events.
    pub samples: usize,
    /// Dead letters written.
    pub dead_letters: usize,
}

/// Why a round could not finish; none of its messages may be acknowledged.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The event store refused or failed: nothing more can be stored until the process restarts,
    /// unless the failure [is transient](StoreError::is_transient).
    #[error("the event store failed: {0}")]
    Storage(#[from] StoreError),
    /// An actor was busy, slow or restarting; the same round can be tried again.
    #[error("an actor could not run the command (retrying helps): {0}")]
    Transient(String),
    /// The dead letters could not be written.
    #[error(transparent)]
    DeadLetters(#[from] DeadLetterError),
}

impl IngestError {
    /// Whether trying the same round again may succeed: a busy actor, or a full disk that may
    /// get space back.
    pub fn is_transient(&self) -> bool {
        match self {
            IngestError::Transient(_) => true,
            IngestError::Storage(store) | IngestError::DeadLetters(DeadLetterError::Durability(store)) => {
                store.is_transient()
            }
            IngestError::DeadLetters(_) => false,
        }
    }
}

/// What the ingest remembers of a registered device.
#[derive(Debug, Clone)]
struct KnownDevice {
    /// Declared metric names; empty means any metric is accepted.
    metrics: HashSet<String>,
    /// Samples stored lately, to recognise redeliveries and conflicts.
    recent: RecentSamples,
    /// The round in which it was last seen, to forget the least recently seen first.
    last_round: u64,
}

/// The samples of one message that survived the checks.
struct KeptMessage {
    index: usize,
    samples: Vec<TelemetrySample>,
    conflicts: Vec<String>,
}

/// The ingest's state across rounds: the platform, the dead letters and a cache of the devices
/// it has seen.
pub struct IngestPipeline {
    platform: Arc<Platform>,
    source: &'static str,
    dead_letters: DeadLetterStore,
    options: IngestOptions,
    known: HashMap<DeviceId, KnownDevice>,
    round: u64,
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
        Self { platform, source, dead_letters, options, known: HashMap::new(), round: 0 }
    }

    /// The payload limits messages are decoded with.
    pub fn limits(&self) -> PayloadLimits {
        self.options.limits
    }

    /// Processes `messages` (in the order received) and returns once every resulting event and
    /// dead letter is durable, with one outcome per message.
    #[tracing::instrument(name = "ingest_round", skip_all, fields(messages = messages.len()))]
    pub async fn process(&mut self, messages: &[DecodedMessage], now: Timestamp) -> Result<RoundReport, IngestError> {
        self.round += 1;
        let mut outcomes: Vec<Option<MessageOutcome>> = vec![None; messages.len()];
        let mut letters: BTreeMap<usize, Rejection> = BTreeMap::new();
        let mut telemetry: BTreeMap<DeviceId, Vec<usize>> = BTreeMap::new();
        let mut commands: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (index, message) in messages.iter().enumerate() {
            match &message.work {
                Ok(Work::Telemetry(device, _)) => telemetry.entry(device.clone()).or_default().push(index),
                Ok(work) => commands.entry(instance_of(work)).or_default().push(index),
                Err(rejection) => {
                    letters.insert(index, rejection.clone());
                }
            }
        }
        let mut report = RoundReport::default();
        self.record_telemetry(messages, telemetry, now, &mut outcomes, &mut letters, &mut report).await?;
        for (index, rejection) in self.run_commands(messages, commands).await? {
            letters.insert(index, rejection);
        }
        for (index, rejection) in &letters {
            let message = &messages[*index];
            self.dead_letters.record(rejection.reason, &rejection.detail, &message.origin, &message.raw, now)?;
            let outcome = &mut outcomes[*index];
            *outcome = Some(match outcome {
                Some(MessageOutcome::Stored) => MessageOutcome::PartlyStored(rejection.reason),
                _ => MessageOutcome::Refused(rejection.reason),
            });
        }
        if !letters.is_empty() {
            self.dead_letters.flush().await?;
        }
        report.dead_letters = letters.len();
        report.outcomes = outcomes.into_iter().map(|o| o.unwrap_or(MessageOutcome::Stored)).collect();
        self.forget_least_recent();
        Ok(report)
    }

    /// Loads the device's facts into the cache (provisioning the device if configured) on first
    /// sight. `Ok(Err(rejection))` when the device cannot take telemetry.
    async fn load_device(&mut self, device: &DeviceId, now: Timestamp) -> Result<Result<(), Rejection>, IngestError> {
        if let Some(known) = self.known.get_mut(device) {
            known.last_round = self.round;
            return Ok(Ok(()));
        }
        let mut state = self.platform.devices.state(device.as_str()).await.map_err(actor_error)?.state;
        if state.profile.is_none() && self.options.auto_provision {
            self.provision(device, now).await?;
            state = self.platform.devices.state(device.as_str()).await.map_err(actor_error)?.state;
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
            recent: self.stored_samples(device)?,
            last_round: self.round,
        };
        self.known.insert(device.clone(), known);
        Ok(Ok(()))
    }

    async fn provision(&self, device: &DeviceId, now: Timestamp) -> Result<(), IngestError> {
        let registration = DeviceRegistration {
            location: None,
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
        let register = DeviceCommand::Register { registration, at: now };
        match self.platform.devices.execute(device.as_str(), register, metadata).await {
            Ok(_) | Err(ExecuteError::Rejected(DeviceError::AlreadyRegistered(_))) => {
                tracing::info!(%device, "device auto-provisioned on its first telemetry");
                Ok(())
            }
            Err(error) => Err(actor_error(error)),
        }
    }

    /// The device's latest stored samples, as many as a [`RecentSamples`] remembers: its
    /// telemetry batches read back from the newest until they hold that many (at most
    /// [`RELOADED_BATCHES`] batches).
    fn stored_samples(&self, device: &DeviceId) -> Result<RecentSamples, StoreError> {
        let stream = crate::store::StreamName::new(TELEMETRY_STREAM_KIND, device.as_str())
            .map_err(|e| StoreError::Encode(e.to_string()))?;
        let log = self.platform.log.as_ref();
        let version = crate::store::EventLog::stream_version(log, &stream)?;
        let oldest = version.saturating_sub(RELOADED_BATCHES.saturating_sub(1)).max(1);
        let mut batches = Vec::new();
        let mut samples = 0;
        for at in (oldest..=version).rev() {
            let Some(record) = crate::store::EventLog::read_stream_event(log, &stream, at)? else { continue };
            match crate::store::codec::decode_payload::<TelemetryEvent>(&record, TELEMETRY_SCHEMA_VERSION) {
                Ok(TelemetryEvent::Recorded(batch)) => {
                    samples += batch.samples.iter().map(|s| s.values.len()).sum::<usize>();
                    batches.push(batch);
                }
                Err(StoreError::Pruned(_)) => {}
                Err(error) => return Err(error),
            }
            if samples >= REMEMBERED_SAMPLES {
                break;
            }
        }
        let mut recent = RecentSamples::default();
        for batch in batches.iter().rev() {
            for sample in &batch.samples {
                for value in &sample.values {
                    recent.remember(sample.ts, &value.metric, value.value);
                }
            }
        }
        Ok(recent)
    }

    async fn record_telemetry(
        &mut self,
        messages: &[DecodedMessage],
        devices: BTreeMap<DeviceId, Vec<usize>>,
        now: Timestamp,
        outcomes: &mut [Option<MessageOutcome>],
        letters: &mut BTreeMap<usize, Rejection>,
        report: &mut RoundReport,
    ) -> Result<(), IngestError> {
        let mut appends = Vec::new();
        for (device, indexes) in devices {
            if let Err(rejection) = self.load_device(&device, now).await? {
                for index in indexes {
                    letters.insert(index, rejection.clone());
                }
                continue;
            }
            let Some(known) = self.known.get(&device) else { continue };
            let recalled = self.recall_redelivered(&device, known, messages, &indexes)?;
            let kept = keep_new_samples(&device, known, &recalled, messages, &indexes, letters);
            let mut samples: Vec<TelemetrySample> = Vec::new();
            for message in &kept {
                if !message.conflicts.is_empty() {
                    letters.insert(message.index, conflict_rejection(&device, &message.conflicts));
                }
                if message.samples.is_empty() {
                    if message.conflicts.is_empty() {
                        outcomes[message.index] = Some(MessageOutcome::Duplicate);
                    }
                    continue;
                }
                outcomes[message.index] = Some(MessageOutcome::Stored);
                samples.extend(message.samples.iter().cloned());
            }
            if samples.is_empty() {
                continue;
            }
            samples.sort_by_key(|s| s.ts);
            let stored: Vec<usize> =
                kept.iter().filter(|message| !message.samples.is_empty()).map(|message| message.index).collect();
            match batches_of(&device, samples) {
                Ok(batches) => appends.push((device, stored, batches)),
                Err(rejection) => {
                    for index in stored {
                        outcomes[index] = None;
                        letters.insert(index, rejection.clone());
                    }
                }
            }
        }
        let platform = &self.platform;
        let source = self.source;
        let results = join_all(appends.into_iter().map(|(device, indexes, batches)| async move {
            let metadata = CommandMetadata {
                principal: format!("{source}:{device}"),
                idempotency_key: Some(batches_key(&device, &batches)),
                ..CommandMetadata::default()
            };
            let result = platform.record_telemetry(&device, batches.clone(), metadata).await;
            (device, indexes, batches, result)
        }))
        .await;
        for (device, indexes, batches, result) in results {
            match result {
                Ok(_) => {
                    report.telemetry_events += batches.len();
                    report.samples += batches.iter().map(|b| b.samples.len()).sum::<usize>();
                    if let Some(known) = self.known.get_mut(&device) {
                        for sample in batches.iter().flat_map(|b| &b.samples) {
                            for value in &sample.values {
                                known.recent.remember(sample.ts, &value.metric, value.value);
                            }
                        }
                    }
                }
                Err(ExecuteError::Rejected(error)) => {
                    self.known.remove(&device);
                    for index in indexes {
                        outcomes[index] = None;
                        letters.insert(index, device_rejection(&device, error.clone()));
                    }
                }
                Err(error) => return Err(actor_error(error)),
            }
        }
        Ok(())
    }

    /// The stored readings among those of the round's redelivered messages that the cache does
    /// not remember: they may have been stored before the cache forgot them, or before a restart.
    /// The device's telemetry is read back from the newest batch (at most [`RELOADED_BATCHES`])
    /// until every such reading is found; the ones not found were never stored.
    fn recall_redelivered(
        &self,
        device: &DeviceId,
        known: &KnownDevice,
        messages: &[DecodedMessage],
        indexes: &[usize],
    ) -> Result<RecentSamples, StoreError> {
        let mut recalled = RecentSamples::with_bound(usize::MAX);
        let mut wanted: HashMap<&str, HashSet<Timestamp>> = HashMap::new();
        let mut missing = 0_usize;
        for index in indexes.iter().filter(|index| messages[**index].redelivery) {
            for sample in telemetry_of(&messages[*index]) {
                for reading in &sample.values {
                    if known.recent.verdict(sample.ts, &reading.metric, reading.value) == SampleVerdict::New
                        && wanted.entry(reading.metric.as_str()).or_default().insert(sample.ts)
                    {
                        missing += 1;
                    }
                }
            }
        }
        if missing == 0 {
            return Ok(recalled);
        }
        let stream = crate::store::StreamName::new(TELEMETRY_STREAM_KIND, device.as_str())
            .map_err(|e| StoreError::Encode(e.to_string()))?;
        let log = self.platform.log.as_ref();
        let version = crate::store::EventLog::stream_version(log, &stream)?;
        let oldest = version.saturating_sub(RELOADED_BATCHES.saturating_sub(1)).max(1);
        for at in (oldest..=version).rev() {
            let Some(record) = crate::store::EventLog::read_stream_event(log, &stream, at)? else { continue };
            let batch = match crate::store::codec::decode_payload::<TelemetryEvent>(&record, TELEMETRY_SCHEMA_VERSION) {
                Ok(TelemetryEvent::Recorded(batch)) => batch,
                Err(StoreError::Pruned(_)) => continue,
                Err(error) => return Err(error),
            };
            for sample in &batch.samples {
                for reading in &sample.values {
                    if wanted.get_mut(reading.metric.as_str()).is_some_and(|times| times.remove(&sample.ts)) {
                        recalled.remember(sample.ts, &reading.metric, reading.value);
                        missing -= 1;
                    }
                }
            }
            if missing == 0 {
                break;
            }
        }
        Ok(recalled)
    }

    /// Runs the non-telemetry work: each instance's messages in order, instances side by side.
    async fn run_commands(
        &self,
        messages: &[DecodedMessage],
        instances: BTreeMap<String, Vec<usize>>,
    ) -> Result<Vec<(usize, Rejection)>, IngestError> {
        let runs = instances.into_values().map(|indexes| async move {
            let mut rejected = Vec::new();
            for index in indexes {
                if let Ok(work) = &messages[index].work {
                    if let Some(rejection) = self.run_command(work.clone()).await? {
                        rejected.push((index, rejection));
                    }
                }
            }
            Ok::<_, IngestError>(rejected)
        });
        let mut rejected = Vec::new();
        for result in join_all(runs).await {
            rejected.extend(result?);
        }
        Ok(rejected)
    }

    async fn run_command(&self, work: Work) -> Result<Option<Rejection>, IngestError> {
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
                    Err(error) => Err(actor_error(error)),
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

    /// Keeps the cache of known devices bounded by forgetting those seen longest ago.
    fn forget_least_recent(&mut self) {
        if self.known.len() <= KNOWN_DEVICES {
            return;
        }
        let mut rounds: Vec<u64> = self.known.values().map(|known| known.last_round).collect();
        let cut = rounds.len() - KNOWN_DEVICES * 3 / 4;
        let (_, oldest_kept, _) = rounds.select_nth_unstable(cut);
        let oldest_kept = *oldest_kept;
        self.known.retain(|_, known| known.last_round >= oldest_kept);
    }
}

/// The telemetry samples a message carries (none for other work).
fn telemetry_of(message: &DecodedMessage) -> &[TelemetrySample] {
    match &message.work {
        Ok(Work::Telemetry(_, samples)) => samples,
        _ => &[],
    }
}

/// Which instance a non-telemetry message addresses (its messages run in order).
fn instance_of(work: &Work) -> String {
    match work {
        Work::Telemetry(device, _) | Work::Status(device, _) | Work::Response(device, _, _) => format!("d/{device}"),
        Work::Heartbeat(node, _) => format!("e/{node}"),
    }
}

/// Applies sample identity to one device's messages of a round: undeclared metrics refuse the
/// message; readings stored already (remembered, `recalled` from the log, or earlier in the
/// round) are dropped as duplicates; readings that contradict a stored value are dropped and
/// named as conflicts.
fn keep_new_samples(
    device: &DeviceId,
    known: &KnownDevice,
    recalled: &RecentSamples,
    messages: &[DecodedMessage],
    indexes: &[usize],
    letters: &mut BTreeMap<usize, Rejection>,
) -> Vec<KeptMessage> {
    // Every sample of the round, however many: a redelivery may come in the same round as the
    // original.
    let mut this_round = RecentSamples::with_bound(usize::MAX);
    let mut kept = Vec::with_capacity(indexes.len());
    for index in indexes {
        let samples = telemetry_of(&messages[*index]);
        if let Some(metric) = samples
            .iter()
            .flat_map(|s| &s.values)
            .find(|v| !known.metrics.is_empty() && !known.metrics.contains(&v.metric))
        {
            letters.insert(
                *index,
                Rejection::new(
                    DeadLetterReason::UnknownMetric,
                    format!("metric {:?} is not declared by device {device}", metric.metric),
                ),
            );
            continue;
        }
        let mut message = KeptMessage { index: *index, samples: Vec::new(), conflicts: Vec::new() };
        for sample in samples {
            let mut values: Vec<MetricValue> = Vec::with_capacity(sample.values.len());
            for reading in &sample.values {
                let verdict = [&this_round, recalled, &known.recent]
                    .into_iter()
                    .map(|samples| samples.verdict(sample.ts, &reading.metric, reading.value))
                    .find(|verdict| *verdict != SampleVerdict::New)
                    .unwrap_or(SampleVerdict::New);
                match verdict {
                    SampleVerdict::New => {
                        this_round.remember(sample.ts, &reading.metric, reading.value);
                        values.push(reading.clone());
                    }
                    SampleVerdict::Duplicate => {}
                    SampleVerdict::Conflict { stored } => message
                        .conflicts
                        .push(format!("{} at {}: {} (stored: {stored})", reading.metric, sample.ts, reading.value)),
                }
            }
            if !values.is_empty() {
                message.samples.push(TelemetrySample { ts: sample.ts, values });
            }
        }
        kept.push(message);
    }
    kept
}

fn conflict_rejection(device: &DeviceId, conflicts: &[String]) -> Rejection {
    let named: Vec<&str> = conflicts.iter().take(CONFLICTS_NAMED).map(String::as_str).collect();
    let more = conflicts.len().saturating_sub(CONFLICTS_NAMED);
    let tail = if more > 0 { format!(" and {more} more") } else { String::new() };
    Rejection::new(
        DeadLetterReason::ConflictingSample,
        format!(
            "device {device} already stored another value at the same time for {}{tail}; the first stored value \
             stands and these readings were not stored",
            named.join(", ")
        ),
    )
}

/// The batches one device's samples of a round are stored in (several only past the per-event
/// limit; all of them are stored in one atomic append).
fn batches_of(device: &DeviceId, samples: Vec<TelemetrySample>) -> Result<Vec<TelemetryBatch>, Rejection> {
    samples
        .chunks(MAX_SAMPLES_PER_BATCH)
        .map(|chunk| {
            TelemetryBatch::new(device.clone(), chunk.to_vec())
                .map_err(|e| Rejection::new(DeadLetterReason::InvalidField, e.to_string()))
        })
        .collect()
}

/// The idempotency key of one device's batches: derived from their content, so the same samples
/// redelivered in the same grouping are stored once.
fn batches_key(device: &DeviceId, batches: &[TelemetryBatch]) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher.update(device.as_str().as_bytes());
    for sample in batches.iter().flat_map(|b| &b.samples) {
        hasher.update(&sample.ts.0.to_le_bytes());
        for value in &sample.values {
            hasher.update(value.metric.as_bytes());
            hasher.update(&[0]);
            hasher.update(&value.value.to_le_bytes());
        }
    }
    format!("telemetry-{}", hasher.finalize().to_hex())
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
        ExecuteError::Store(store) => IngestError::Storage(store),
        other => IngestError::Transient(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use optibid_domain::telemetry::MetricValue;

    fn message(ts: i64, value: f64, redelivery: bool) -> DecodedMessage {
        let device = DeviceId::new("inv-1").expect("valid id");
        let sample =
            TelemetrySample { ts: Timestamp(ts), values: vec![MetricValue { metric: "power_w".to_owned(), value }] };
        DecodedMessage {
            origin: "optibid/v1/devices/inv-1/telemetry".to_owned(),
            raw: Vec::new(),
            work: Ok(Work::Telemetry(device, vec![sample])),
            redelivery,
        }
    }

    #[test]
    fn a_redelivery_in_the_same_round_as_its_original_is_kept_once_however_long_the_round() {
        let device = DeviceId::new("inv-1").expect("valid id");
        let known = KnownDevice { metrics: HashSet::new(), recent: RecentSamples::default(), last_round: 0 };
        let originals = (0..2_000).map(|i| message(i, i as f64, false));
        let redelivered = (0..2_000).map(|i| message(i, i as f64, true));
        let messages: Vec<DecodedMessage> = originals.chain(redelivered).collect();
        let indexes: Vec<usize> = (0..messages.len()).collect();
        let mut letters = BTreeMap::new();
        let kept = keep_new_samples(&device, &known, &RecentSamples::default(), &messages, &indexes, &mut letters);
        let samples: usize = kept.iter().map(|m| m.samples.len()).sum();
        assert_eq!(samples, 2_000, "each sample once");
        assert!(kept.iter().all(|m| m.conflicts.is_empty()) && letters.is_empty());
    }

    fn telemetry_from(device: &str, ts: i64, value: f64, redelivery: bool) -> DecodedMessage {
        let mut message = message(ts, value, redelivery);
        let id = DeviceId::new(device).expect("valid id");
        if let Ok(Work::Telemetry(_, samples)) = message.work {
            message.work = Ok(Work::Telemetry(id, samples));
        }
        message
    }

    #[tokio::test]
    async fn a_redelivery_of_a_sample_older_than_the_remembered_ones_is_found_in_the_log_after_a_restart() {
        use crate::actors::DirectoryConfig;
        let dir = tempfile::tempdir().expect("temp dir");
        let log = Arc::new(crate::store::SledEventLog::open(dir.path()).expect("opens"));
        let platform = Arc::new(Platform::start(log.clone(), DirectoryConfig::default()).await.expect("starts"));
        let register = crate::bench::workload::registration(1).expect("valid");
        platform.devices.execute("bench-000001", register, CommandMetadata::default()).await.expect("registers");
        let dead_letters = || DeadLetterStore::open(&log, 100).expect("dead letters");
        let now = Timestamp(1_764_000_000_000);
        let mut before = IngestPipeline::new(platform.clone(), dead_letters(), IngestOptions::default(), "test");
        let stored = REMEMBERED_SAMPLES as i64 * 3;
        for ts in 0..stored {
            let report =
                before.process(&[telemetry_from("bench-000001", ts, ts as f64, false)], now).await.expect("round");
            assert_eq!(report.outcomes, vec![MessageOutcome::Stored]);
        }
        let stream = crate::store::StreamName::new(TELEMETRY_STREAM_KIND, "bench-000001").expect("stream");
        let batches = crate::store::EventLog::stream_version(log.as_ref(), &stream).expect("version");

        let mut after = IngestPipeline::new(platform.clone(), dead_letters(), IngestOptions::default(), "test");
        let oldest = after.process(&[telemetry_from("bench-000001", 0, 0.0, true)], now).await.expect("round");
        assert_eq!(oldest.outcomes, vec![MessageOutcome::Duplicate], "stored before the remembered ones");
        let conflicting = after.process(&[telemetry_from("bench-000001", 1, 99.0, true)], now).await.expect("round");
        assert!(matches!(conflicting.outcomes[0], MessageOutcome::Refused(DeadLetterReason::ConflictingSample)));
        let fresh = after.process(&[telemetry_from("bench-000001", stored, 1.0, true)], now).await.expect("round");
        assert_eq!(fresh.outcomes, vec![MessageOutcome::Stored], "a redelivery never stored is new");
        let now_batches = crate::store::EventLog::stream_version(log.as_ref(), &stream).expect("version");
        assert_eq!(now_batches, batches + 1, "only the never-stored sample was appended");
    }
}
