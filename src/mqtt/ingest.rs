//! The MQTT ingest actor. Poller tasks read one or more broker connections (rumqttc, QoS 1,
//! manual acknowledgements) into one bounded queue; the actor drains whatever has arrived into
//! one round of the [`IngestPipeline`] and acknowledges those messages to the broker, each on
//! its own connection, only after the round's events and dead letters are on disk. A crash
//! before the acknowledgement makes the broker deliver the messages again, and the pipeline
//! stores them once.
//!
//! A broker lets a client hold only so many unacknowledged messages (100 for the embedded
//! broker, 20 by default for Mosquitto), which bounds a round. With an external broker, several
//! connections in one shared-subscription group multiply that bound, so a round groups more
//! samples per device into one event. The embedded broker's shared groups can strand messages
//! (see [`crate::mqtt::MqttService::start`]), so on it the ingest reads one connection.

use super::backoff::Backoff;
use super::endpoint::MqttEndpoint;
use super::pipeline::{InboundMessage, IngestPipeline};
use super::topic::{shared, INGEST_FILTERS};
use optibid_domain::time::Timestamp;
use ractor::{Actor, ActorProcessingErr, ActorRef};
use rumqttc::{AsyncClient, Event, Packet, Publish, QoS, SubscribeFilter, SubscribeReasonCode};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Name of the telemetry filter in [`INGEST_FILTERS`]: the only one read over several
/// connections. Status messages, command responses and heartbeats are read on the first
/// connection alone, so each topic's messages stay in the order a device sent them.
const TELEMETRY_FILTER: &str = "telemetry";

/// Shared-subscription group of the ingest connections when none is configured.
const DEFAULT_GROUP: &str = "optibid-ingest";

/// Messages the pollers may queue before they stop reading their connections.
const QUEUE_CAPACITY: usize = 16_384;

/// How long one drain waits for a first message before it lets other actor messages run.
const IDLE_WAIT: Duration = Duration::from_millis(200);

/// Counters of the ingest, read by `/metrics`.
#[derive(Debug, Default)]
pub struct IngestStats {
    /// Messages received from the broker.
    pub received: AtomicU64,
    /// Messages acknowledged to the broker (stored or dead-lettered).
    pub acknowledged: AtomicU64,
    /// Messages sent to the dead letters.
    pub dead_lettered: AtomicU64,
    /// Telemetry events appended.
    pub telemetry_events: AtomicU64,
    /// Samples in those events.
    pub samples: AtomicU64,
    /// Rounds run.
    pub rounds: AtomicU64,
    /// Whether the client is connected to the broker.
    pub connected: AtomicBool,
    /// Whether the broker has confirmed the ingest's subscriptions.
    pub subscribed: AtomicBool,
    /// Whether a round failed on storage, after which nothing more is acknowledged.
    pub failed: AtomicBool,
}

/// What the ingest actor needs to start.
pub struct IngestArguments {
    /// The broker.
    pub endpoint: MqttEndpoint,
    /// MQTT client id prefix (stable across restarts, so the broker keeps the sessions).
    pub client_id: String,
    /// Broker connections; more than one always subscribes through a shared group.
    pub connections: usize,
    /// Shared-subscription group, so several connections or processes split the stream.
    pub shared_group: Option<String>,
    /// Most messages in one round.
    pub max_round: usize,
    /// How long a round keeps collecting after its first message, so a device's samples of
    /// that time become one event.
    pub window: Duration,
    /// The pipeline rounds run through.
    pub pipeline: IngestPipeline,
    /// Counters.
    pub stats: Arc<IngestStats>,
}

/// Messages of the ingest actor.
#[derive(Debug)]
pub enum IngestMessage {
    /// Take what has arrived and run one round.
    Drain,
}

/// The ingest actor's state.
pub struct IngestState {
    clients: Vec<AsyncClient>,
    inbox: mpsc::Receiver<(usize, Publish)>,
    pollers: Vec<JoinHandle<()>>,
    pipeline: IngestPipeline,
    max_round: usize,
    window: Duration,
    stats: Arc<IngestStats>,
}

/// The MQTT ingest actor.
#[derive(Debug, Default)]
pub struct MqttIngest;

impl Actor for MqttIngest {
    type Msg = IngestMessage;
    type State = IngestState;
    type Arguments = IngestArguments;

    #[tracing::instrument(name = "mqtt_ingest", skip_all, fields(client_id = %args.client_id))]
    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        args: IngestArguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        let connections = args.connections.max(1);
        let telemetry_group = match (&args.shared_group, connections) {
            (Some(group), _) => Some(group.clone()),
            (None, 1) => None,
            (None, _) => Some(DEFAULT_GROUP.to_owned()),
        };
        let subscription = |name: &str, filter: &str| {
            let group =
                if name == TELEMETRY_FILTER { telemetry_group.as_deref() } else { args.shared_group.as_deref() };
            SubscribeFilter::new(shared(name, filter, group), QoS::AtLeastOnce)
        };
        let all_filters: Vec<SubscribeFilter> = INGEST_FILTERS.iter().map(|(name, f)| subscription(name, f)).collect();
        let telemetry_only: Vec<SubscribeFilter> = INGEST_FILTERS
            .iter()
            .filter(|(name, _)| *name == TELEMETRY_FILTER)
            .map(|(name, f)| subscription(name, f))
            .collect();
        let (sender, inbox) = mpsc::channel(QUEUE_CAPACITY);
        let mut clients = Vec::with_capacity(connections);
        let mut pollers = Vec::with_capacity(connections);
        for connection in 0..connections {
            let client_id =
                if connections == 1 { args.client_id.clone() } else { format!("{}-{connection}", args.client_id) };
            let mut options = args.endpoint.options(&client_id);
            options.set_manual_acks(true).set_inflight(1_000);
            let (client, eventloop) = AsyncClient::new(options, 1_024);
            let poller = Poller {
                eventloop,
                client: client.clone(),
                filters: if connection == 0 { all_filters.clone() } else { telemetry_only.clone() },
                sender: sender.clone(),
                stats: args.stats.clone(),
                connection,
            };
            pollers.push(tokio::spawn(poller.run()));
            clients.push(client);
        }
        myself.send_message(IngestMessage::Drain)?;
        Ok(IngestState {
            clients,
            inbox,
            pollers,
            pipeline: args.pipeline,
            max_round: args.max_round.max(1),
            window: args.window,
            stats: args.stats,
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            IngestMessage::Drain => {
                if let Ok(Some(first)) = tokio::time::timeout(IDLE_WAIT, state.inbox.recv()).await {
                    let closes = tokio::time::Instant::now() + state.window;
                    let mut round = vec![first];
                    while round.len() < state.max_round {
                        match state.inbox.try_recv() {
                            Ok(publish) => round.push(publish),
                            Err(_) => match tokio::time::timeout_at(closes, state.inbox.recv()).await {
                                Ok(Some(publish)) => round.push(publish),
                                Ok(None) | Err(_) => break,
                            },
                        }
                    }
                    run_round(state, round).await?;
                }
                myself.send_message(IngestMessage::Drain)?;
            }
        }
        Ok(())
    }

    async fn post_stop(&self, _myself: ActorRef<Self::Msg>, state: &mut Self::State) -> Result<(), ActorProcessingErr> {
        for poller in &state.pollers {
            poller.abort();
        }
        for client in &state.clients {
            let _ = client.try_disconnect();
        }
        Ok(())
    }
}

#[tracing::instrument(name = "mqtt_ingest.round", skip_all, fields(messages = round.len()))]
async fn run_round(state: &mut IngestState, round: Vec<(usize, Publish)>) -> Result<(), ActorProcessingErr> {
    let messages: Vec<InboundMessage<'_>> =
        round.iter().map(|(_, p)| InboundMessage { topic: &p.topic, payload: &p.payload }).collect();
    let now = Timestamp(chrono::Utc::now().timestamp_millis());
    let report = match state.pipeline.process(&messages, now).await {
        Ok(report) => report,
        Err(error) => {
            state.stats.failed.store(true, Ordering::SeqCst);
            tracing::error!(%error, "ingest round failed; its messages stay unacknowledged and the ingest stops");
            return Err(error.into());
        }
    };
    for (connection, publish) in &round {
        if let Some(client) = state.clients.get(*connection) {
            client.ack(publish).await?;
        }
    }
    let stats = &state.stats;
    stats.acknowledged.fetch_add(round.len() as u64, Ordering::Relaxed);
    stats.dead_lettered.fetch_add(report.dead_letters as u64, Ordering::Relaxed);
    stats.telemetry_events.fetch_add(report.telemetry_events as u64, Ordering::Relaxed);
    stats.samples.fetch_add(report.samples as u64, Ordering::Relaxed);
    stats.rounds.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

/// One broker connection to read.
struct Poller {
    eventloop: rumqttc::EventLoop,
    client: AsyncClient,
    filters: Vec<SubscribeFilter>,
    sender: mpsc::Sender<(usize, Publish)>,
    stats: Arc<IngestStats>,
    connection: usize,
}

impl Poller {
    /// Reads the connection until the actor goes away; reconnects with backoff and subscribes
    /// again on every connection.
    async fn run(self) {
        let Poller { mut eventloop, client, filters, sender, stats, connection } = self;
        let mut backoff = Backoff::default();
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::Publish(publish))) => {
                    stats.received.fetch_add(1, Ordering::Relaxed);
                    if sender.send((connection, publish)).await.is_err() {
                        return;
                    }
                }
                Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                    backoff.reset();
                    stats.connected.store(true, Ordering::SeqCst);
                    tracing::info!(session_present = ack.session_present, "MQTT ingest connected");
                    let (client, filters) = (client.clone(), filters.clone());
                    tokio::spawn(async move {
                        if let Err(error) = client.subscribe_many(filters).await {
                            tracing::error!(%error, "MQTT ingest cannot subscribe");
                        }
                    });
                }
                Ok(Event::Incoming(Packet::SubAck(ack))) if connection == 0 => {
                    if ack.return_codes.iter().all(|code| matches!(code, SubscribeReasonCode::Success(_))) {
                        stats.subscribed.store(true, Ordering::SeqCst);
                    } else {
                        tracing::error!(codes = ?ack.return_codes, "the broker refused an ingest subscription");
                    }
                }
                Ok(_) => {}
                Err(error) => {
                    stats.connected.store(false, Ordering::SeqCst);
                    let delay = backoff.next_delay();
                    tracing::warn!(%error, retry_in_ms = delay.as_millis() as u64, "MQTT ingest connection lost");
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }
}
