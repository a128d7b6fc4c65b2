//! The client actor of one OPC UA server: it keeps a session open (reconnecting with backoff),
//! subscribes to the configured nodes, and turns their data changes into device telemetry and
//! their status codes into device status changes.

use super::config::OpcUaEndpointConfig;
use super::reading::{worst, Reading, Unusable};
use super::session::{SessionEvent, SessionKeeper};
use crate::ingest::dead_letter::DeadLetterReason;
use crate::ingest::payload::{Rejection, StatusReport};
use crate::ingest::pipeline::{DecodedMessage, IngestPipeline, Work};
use opcua::types::DataValue;
use optibid_domain::device::DeviceStatus;
use optibid_domain::ids::DeviceId;
use optibid_domain::telemetry::{MetricValue, TelemetrySample};
use optibid_domain::time::Timestamp;
use ractor::{Actor, ActorProcessingErr, ActorRef};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long the actor waits before retrying a round the store could not take.
const RETRY_AFTER_STORE_FAILURE: Duration = Duration::from_secs(1);

/// Counters of one OPC UA endpoint, shown in `/metrics` and `/readyz`.
#[derive(Debug, Default)]
pub struct OpcUaStats {
    /// The endpoint's configured name.
    pub name: String,
    /// The endpoint's url.
    pub url: String,
    /// Whether a session is up.
    pub connected: AtomicBool,
    /// Data changes received.
    pub values: AtomicU64,
    /// Samples stored.
    pub samples: AtomicU64,
    /// Data changes or status changes sent to the dead letters.
    pub dead_letters: AtomicU64,
    /// Times the connection was lost.
    pub connection_losses: AtomicU64,
    /// Monitored items the server refused.
    pub refused_items: AtomicU64,
    /// Why the session is down, while it is.
    pub last_error: Mutex<Option<String>>,
}

impl OpcUaStats {
    /// Why the session is down, or `None` while it is up.
    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    fn set_last_error(&self, error: Option<String>) {
        *self.last_error.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = error;
    }
}

/// Data changes waiting for the actor, shared with the subscription's callback.
pub type PendingChanges = Arc<Mutex<Vec<(u32, DataValue)>>>;

/// The client actor of one endpoint.
pub struct OpcUaClient;

/// What the actor starts with.
pub struct OpcUaArguments {
    /// The endpoint and its nodes.
    pub endpoint: OpcUaEndpointConfig,
    /// Turns readings into events and dead letters.
    pub pipeline: IngestPipeline,
    /// Where the client keeps its certificates.
    pub pki_dir: PathBuf,
    /// Counters.
    pub stats: Arc<OpcUaStats>,
}

/// What the actor is told.
#[derive(Debug)]
pub enum OpcUaMessage {
    /// Data changes wait in the shared buffer.
    Drain,
    /// The session changed.
    Session(SessionEvent),
}

/// The actor's state.
pub struct OpcUaState {
    endpoint: OpcUaEndpointConfig,
    pipeline: IngestPipeline,
    pending: PendingChanges,
    /// The last health each node's status code implied, by node index.
    node_health: HashMap<usize, DeviceStatus>,
    /// The status last reported per device.
    reported: HashMap<DeviceId, DeviceStatus>,
    stats: Arc<OpcUaStats>,
    keeper: SessionKeeper,
}

impl Actor for OpcUaClient {
    type Msg = OpcUaMessage;
    type State = OpcUaState;
    type Arguments = OpcUaArguments;

    #[tracing::instrument(name = "opcua_client", skip_all, fields(endpoint = %args.endpoint.name))]
    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        args: Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        let pending = PendingChanges::default();
        let keeper = SessionKeeper::start(&args.endpoint, &args.pki_dir, pending.clone(), myself, args.stats.clone())?;
        tracing::info!(url = %args.endpoint.url, nodes = args.endpoint.nodes.len(), "OPC UA client started");
        Ok(OpcUaState {
            endpoint: args.endpoint,
            pipeline: args.pipeline,
            pending,
            node_health: HashMap::new(),
            reported: HashMap::new(),
            stats: args.stats,
            keeper,
        })
    }

    #[tracing::instrument(name = "opcua_client", skip_all, fields(endpoint = %state.endpoint.name))]
    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        let now = Timestamp(chrono::Utc::now().timestamp_millis());
        match message {
            OpcUaMessage::Drain => {
                let changes = std::mem::take(&mut *lock(&state.pending));
                if changes.is_empty() {
                    return Ok(());
                }
                let messages = state.decode(&changes, now);
                if let Err(error) = state.store(messages, now).await {
                    tracing::error!(%error, "OPC UA readings could not be stored; retrying");
                    let mut pending = lock(&state.pending);
                    let newer = std::mem::replace(&mut *pending, changes);
                    pending.extend(newer);
                    myself.send_after(RETRY_AFTER_STORE_FAILURE, || OpcUaMessage::Drain);
                }
            }
            OpcUaMessage::Session(SessionEvent::Connected) => {
                state.stats.connected.store(true, Ordering::Relaxed);
                state.stats.set_last_error(None);
                tracing::info!(url = %state.endpoint.url, "OPC UA session up");
            }
            OpcUaMessage::Session(SessionEvent::Lost(reason)) => {
                state.stats.set_last_error(Some(reason.clone()));
                if state.stats.connected.swap(false, Ordering::Relaxed) {
                    state.stats.connection_losses.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(url = %state.endpoint.url, %reason, "OPC UA connection lost; reconnecting");
                }
                let messages = state.mark_unreachable(&reason, now);
                if let Err(error) = state.store(messages, now).await {
                    tracing::error!(%error, "the devices of a lost OPC UA server could not be marked offline");
                }
            }
        }
        Ok(())
    }

    async fn post_stop(&self, _myself: ActorRef<Self::Msg>, state: &mut Self::State) -> Result<(), ActorProcessingErr> {
        state.keeper.stop().await;
        Ok(())
    }
}

impl OpcUaState {
    /// Turns data changes into one telemetry message per device, dead letters for values that are
    /// not numbers, and status messages where a device's health changed.
    fn decode(&mut self, changes: &[(u32, DataValue)], now: Timestamp) -> Vec<DecodedMessage> {
        let origin = format!("opcua:{}", self.endpoint.name);
        let mut messages = Vec::new();
        let mut samples: BTreeMap<DeviceId, BTreeMap<Timestamp, Vec<MetricValue>>> = BTreeMap::new();
        let mut latest: HashMap<DeviceId, (Timestamp, &'static str, usize)> = HashMap::new();
        self.stats.values.fetch_add(changes.len() as u64, Ordering::Relaxed);
        for (handle, value) in changes {
            let Some(index) = (*handle as usize).checked_sub(1).filter(|i| *i < self.endpoint.nodes.len()) else {
                continue;
            };
            let node = &self.endpoint.nodes[index];
            let reading = Reading::from_data_value(value, now);
            self.node_health.insert(index, reading.health);
            latest.insert(node.device.clone(), (reading.ts, reading.status, index));
            let (rejection, raw) = match reading.value {
                Ok(number) => {
                    samples
                        .entry(node.device.clone())
                        .or_default()
                        .entry(reading.ts)
                        .or_default()
                        .push(MetricValue { metric: node.metric.clone(), value: number });
                    continue;
                }
                Err(Unusable::BadQuality) => continue,
                Err(Unusable::NotNumeric(shown)) => (
                    Rejection::new(
                        DeadLetterReason::InvalidField,
                        format!(
                            "node {} ({}/{}) sent a value that is not a number",
                            node.node_id, node.device, node.metric
                        ),
                    ),
                    shown,
                ),
                Err(Unusable::NotFinite(number)) => (
                    Rejection::new(
                        DeadLetterReason::NonFiniteValue,
                        format!("node {} ({}/{}) sent {number}", node.node_id, node.device, node.metric),
                    ),
                    number.to_string(),
                ),
            };
            messages.push(DecodedMessage {
                origin: format!("{origin}/{}", node.node_id),
                raw: raw.into_bytes(),
                work: Err(rejection),
                redelivery: false,
            });
        }
        for (device, by_time) in samples {
            let samples: Vec<TelemetrySample> =
                by_time.into_iter().map(|(ts, values)| TelemetrySample { ts, values }).collect();
            messages.push(DecodedMessage {
                origin: origin.clone(),
                raw: serde_json::to_vec(&samples).unwrap_or_default(),
                work: Ok(Work::Telemetry(device, samples)),
                redelivery: false,
            });
        }
        for (device, (ts, status, index)) in latest {
            let health = worst(
                self.endpoint
                    .nodes
                    .iter()
                    .enumerate()
                    .filter(|(_, node)| node.device == device)
                    .filter_map(|(i, _)| self.node_health.get(&i).copied()),
            );
            let Some(health) = health else { continue };
            if self.reported.get(&device) == Some(&health) {
                continue;
            }
            self.reported.insert(device.clone(), health);
            let reason = format!("OPC UA {}: {status} on {}", self.endpoint.name, self.endpoint.nodes[index].node_id);
            messages.push(status_message(&origin, device, health, ts, reason));
        }
        messages
    }

    /// Marks every device of this endpoint offline (once) after the connection is lost.
    fn mark_unreachable(&mut self, reason: &str, now: Timestamp) -> Vec<DecodedMessage> {
        self.node_health.clear();
        let origin = format!("opcua:{}", self.endpoint.name);
        let mut devices: Vec<DeviceId> = self.endpoint.nodes.iter().map(|n| n.device.clone()).collect();
        devices.sort();
        devices.dedup();
        devices.retain(|device| self.reported.get(device).is_some_and(|status| *status != DeviceStatus::Offline));
        let reason = format!("OPC UA {}: connection lost ({reason})", self.endpoint.name);
        devices
            .into_iter()
            .map(|device| {
                self.reported.insert(device.clone(), DeviceStatus::Offline);
                status_message(&origin, device, DeviceStatus::Offline, now, reason.clone())
            })
            .collect()
    }

    async fn store(
        &mut self,
        messages: Vec<DecodedMessage>,
        now: Timestamp,
    ) -> Result<(), crate::ingest::pipeline::IngestError> {
        if messages.is_empty() {
            return Ok(());
        }
        let report = self.pipeline.process(&messages, now).await?;
        self.stats.samples.fetch_add(report.samples as u64, Ordering::Relaxed);
        self.stats.dead_letters.fetch_add(report.dead_letters as u64, Ordering::Relaxed);
        Ok(())
    }
}

fn status_message(
    origin: &str,
    device: DeviceId,
    status: DeviceStatus,
    at: Timestamp,
    reason: String,
) -> DecodedMessage {
    DecodedMessage {
        origin: origin.to_owned(),
        raw: reason.clone().into_bytes(),
        work: Ok(Work::Status(device, StatusReport { status, at, reason: Some(reason) })),
        redelivery: false,
    }
}

/// The pending changes, even if a callback panicked while holding them.
pub(super) fn lock(pending: &PendingChanges) -> std::sync::MutexGuard<'_, Vec<(u32, DataValue)>> {
    pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
