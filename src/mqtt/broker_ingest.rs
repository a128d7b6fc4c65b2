//! Reading devices through an external broker (Mosquitto, EMQX): one or more rumqttc
//! connections with persistent sessions and manual acknowledgements feed the ingest queue, and
//! each message is acknowledged to the broker, in the order received, only once the ingest has
//! stored or dead-lettered it. A crash before the acknowledgement makes the broker deliver the
//! message again, and the ingest stores it once.
//!
//! A broker lets a client hold only so many unacknowledged messages (Mosquitto's
//! `max_inflight_messages`), which bounds how much one connection has in flight; several
//! connections in one shared-subscription group multiply that bound.

use super::broker_address::BrokerAddress;
use super::inbound;
use super::topic::{shared, INGEST_FILTERS};
use crate::ingest::backoff::Backoff;
use crate::ingest::payload::PayloadLimits;
use crate::ingest::pipeline::MessageOutcome;
use crate::ingest::queue::{IngestQueue, IngestStopped};
use futures_util::stream::{FuturesOrdered, StreamExt};
use optibid_domain::time::Timestamp;
use rumqttc::{AsyncClient, Event, EventLoop, Packet, Publish, QoS, SubscribeFilter, SubscribeReasonCode};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::Instrument;

/// Name of the telemetry filter in [`INGEST_FILTERS`]: the only one read over several
/// connections. Status messages, command responses and heartbeats are read on the first
/// connection alone, so each topic's messages stay in the order a device sent them.
const TELEMETRY_FILTER: &str = "telemetry";

/// Shared-subscription group of the ingest connections when none is configured.
const DEFAULT_GROUP: &str = "optibid-ingest";

/// Unacknowledged messages one connection may hold (the broker's own limit usually binds first).
const CONNECTION_INFLIGHT: u16 = 1_000;

/// How the broker ingest connects.
#[derive(Debug, Clone)]
pub struct BrokerIngestSettings {
    /// The broker.
    pub broker: BrokerAddress,
    /// MQTT client id prefix (stable across restarts, so the broker keeps the sessions).
    pub client_id: String,
    /// Connections; more than one always subscribes through a shared group.
    pub connections: usize,
    /// Shared-subscription group, so several connections or processes split the stream.
    pub shared_group: Option<String>,
    /// Payload limits.
    pub limits: PayloadLimits,
}

/// The running broker ingest: its connections stop when it is dropped.
pub struct BrokerIngest {
    /// Whether the first connection is up and subscribed.
    pub connected: Arc<AtomicBool>,
    pollers: Vec<JoinHandle<()>>,
}

impl Drop for BrokerIngest {
    fn drop(&mut self) {
        for poller in &self.pollers {
            poller.abort();
        }
    }
}

impl BrokerIngest {
    /// Connects and starts feeding `ingest`.
    pub fn start(settings: BrokerIngestSettings, ingest: IngestQueue) -> Self {
        let connections = settings.connections.max(1);
        let telemetry_group = match (&settings.shared_group, connections) {
            (Some(group), _) => Some(group.clone()),
            (None, 1) => None,
            (None, _) => Some(DEFAULT_GROUP.to_owned()),
        };
        let subscription = |name: &str, filter: &str| {
            let group =
                if name == TELEMETRY_FILTER { telemetry_group.as_deref() } else { settings.shared_group.as_deref() };
            SubscribeFilter::new(shared(name, filter, group), QoS::AtLeastOnce)
        };
        let all_filters: Vec<SubscribeFilter> = INGEST_FILTERS.iter().map(|(name, f)| subscription(name, f)).collect();
        let telemetry_only: Vec<SubscribeFilter> = INGEST_FILTERS
            .iter()
            .filter(|(name, _)| *name == TELEMETRY_FILTER)
            .map(|(name, f)| subscription(name, f))
            .collect();
        let connected = Arc::new(AtomicBool::new(false));
        let pollers = (0..connections)
            .map(|connection| {
                let client_id = if connections == 1 {
                    settings.client_id.clone()
                } else {
                    format!("{}-{connection}", settings.client_id)
                };
                let poller = Poller {
                    settings: settings.clone(),
                    client_id,
                    filters: if connection == 0 { all_filters.clone() } else { telemetry_only.clone() },
                    ingest: ingest.clone(),
                    connected: (connection == 0).then(|| connected.clone()),
                };
                tokio::spawn(poller.run())
            })
            .collect();
        Self { connected, pollers }
    }
}

/// A message waiting for its outcome before the broker hears the acknowledgement.
type PendingAck = Pin<Box<dyn Future<Output = (Publish, Result<MessageOutcome, IngestStopped>)> + Send + Sync>>;

/// One broker connection to read.
struct Poller {
    settings: BrokerIngestSettings,
    client_id: String,
    filters: Vec<SubscribeFilter>,
    ingest: IngestQueue,
    connected: Option<Arc<AtomicBool>>,
}

impl Poller {
    /// Reads the connection until the ingest goes away; reconnects with backoff and subscribes
    /// again on every connection.
    ///
    /// rumqttc's event loop is polled on a task of its own, to its end each time: a poll future
    /// dropped by a `select!` can lose a publish it had read, which then holds one of the
    /// broker's in-flight slots forever. The events come over an unbounded channel, bounded in
    /// practice by the broker's limit on unacknowledged messages.
    #[tracing::instrument(name = "mqtt_broker_ingest", skip_all, fields(client_id = %self.client_id))]
    async fn run(self) {
        let mut options = self.settings.broker.options(&self.client_id);
        options.set_manual_acks(true).set_inflight(CONNECTION_INFLIGHT);
        let (client, eventloop) = AsyncClient::new(options, 1_024);
        let mut events = EventPump::start(eventloop);
        let mut pending: FuturesOrdered<PendingAck> = FuturesOrdered::new();
        let set_connected = |up: bool| {
            if let Some(flag) = &self.connected {
                flag.store(up, Ordering::SeqCst);
            }
        };
        loop {
            tokio::select! {
                Some((publish, outcome)) = pending.next(), if !pending.is_empty() => match outcome {
                    Ok(_) => {
                        if let Err(error) = client.ack(&publish).await {
                            tracing::warn!(%error, "cannot acknowledge to the broker; it will deliver the message again");
                        }
                    }
                    Err(stopped) => tracing::error!(%stopped, "not acknowledged: the broker keeps the message"),
                },
                Some(event) = events.next() => match event {
                    Event::Incoming(Packet::Publish(publish)) => {
                        let now = Timestamp(chrono::Utc::now().timestamp_millis());
                        let message =
                            inbound::decode(None, &publish.topic, &publish.payload, publish.dup, now, self.settings.limits);
                        match self.ingest.submit(message).await {
                            Ok(answer) => pending.push_back(Box::pin(async move {
                                let outcome = answer.await.unwrap_or_else(|_| Err(IngestStopped("the ingest ended".to_owned())));
                                (publish, outcome)
                            })),
                            Err(stopped) => tracing::error!(%stopped, "not acknowledged: the broker keeps the message"),
                        }
                    }
                    Event::Incoming(Packet::ConnAck(ack)) => {
                        tracing::info!(session_present = ack.session_present, "MQTT broker ingest connected");
                        let (client, filters) = (client.clone(), self.filters.clone());
                        tokio::spawn(async move {
                            if let Err(error) = client.subscribe_many(filters).await {
                                tracing::error!(%error, "MQTT broker ingest cannot subscribe");
                            }
                        });
                    }
                    Event::Incoming(Packet::SubAck(ack)) => {
                        let granted = ack.return_codes.iter().all(|code| matches!(code, SubscribeReasonCode::Success(_)));
                        if !granted {
                            tracing::error!(codes = ?ack.return_codes, "the broker refused an ingest subscription");
                        }
                        set_connected(granted);
                    }
                    Event::Incoming(Packet::Disconnect) => set_connected(false),
                    _ => {}
                },
                else => return,
            }
        }
    }
}

/// Polls a rumqttc event loop on its own task, reconnecting with backoff; the task stops when
/// this is dropped.
struct EventPump {
    events: mpsc::UnboundedReceiver<Event>,
    task: JoinHandle<()>,
}

impl EventPump {
    fn start(mut eventloop: EventLoop) -> Self {
        let (sender, events) = mpsc::unbounded_channel();
        let task = tokio::spawn(
            async move {
                let mut backoff = Backoff::default();
                loop {
                    match eventloop.poll().await {
                        Ok(event) => {
                            if matches!(event, Event::Incoming(Packet::ConnAck(_))) {
                                backoff.reset();
                            }
                            if sender.send(event).is_err() {
                                return;
                            }
                        }
                        Err(error) => {
                            if sender.send(Event::Incoming(Packet::Disconnect)).is_err() {
                                return;
                            }
                            let delay = backoff.next_delay();
                            tracing::warn!(%error, retry_in_ms = delay.as_millis() as u64, "MQTT broker ingest connection lost");
                            tokio::time::sleep(delay).await;
                        }
                    }
                }
            }
            .in_current_span(),
        );
        Self { events, task }
    }

    /// The next event; cancel-safe.
    async fn next(&mut self) -> Option<Event> {
        self.events.recv().await
    }
}

impl Drop for EventPump {
    fn drop(&mut self) {
        self.task.abort();
    }
}
