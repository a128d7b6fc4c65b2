//! One client connection: log in, then read publishes into the ingest and answer each one only
//! once its outcome is durable, in the order received; deliver the device's pending commands and
//! record each delivery when the device acknowledges it; keep the device's presence.

use super::login::{authenticate, ConnectRequest};
use super::packet_reader::{PacketReader, ServerEndpoint};
use super::packets::{self, PacketError, PublishAnswer};
use super::sessions::{CommandToDeliver, SessionControl, Sessions};
use super::EndpointStats;
use crate::actors::{CommandMetadata, Platform};
use crate::ingest::dead_letter::DeadLetterReason;
use crate::ingest::payload::{PayloadLimits, Rejection};
use crate::ingest::pipeline::{DecodedMessage, MessageOutcome};
use crate::ingest::queue::{IngestQueue, IngestStopped, OutcomeReceiver};
use crate::mqtt::command_payload::command_payload;
use crate::mqtt::credentials::ClientCredentials;
use crate::mqtt::identity::ClientIdentity;
use crate::mqtt::inbound;
use crate::mqtt::topic::commands_topic;
use futures_util::stream::{FuturesOrdered, StreamExt};
use mqtt_endpoint_tokio::mqtt_ep::connection::ConnectionOptions;
use mqtt_endpoint_tokio::mqtt_ep::packet::{Packet, Qos};
use mqtt_endpoint_tokio::mqtt_ep::result_code::DisconnectReasonCode;
use mqtt_endpoint_tokio::mqtt_ep::{self, ConnectionOption, Mode, TransportOps, Version};
use optibid_domain::device::DeviceCommand;
use optibid_domain::ids::CommandId;
use optibid_domain::time::Timestamp;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// How long a client has to send CONNECT after the socket opens.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// QoS 1 and 2 publishes a client may have unacknowledged (MQTT 5 receive maximum; the same
/// bound holds a 3.1.1 client to it).
pub const RECEIVE_MAXIMUM: u16 = 1_024;

/// Largest packet accepted. Above the ingest's own payload limit, so an oversized payload
/// becomes a dead letter with its reason instead of only closing the connection.
const MAX_PACKET_BYTES: u32 = 1024 * 1024;

/// Bytes the connection reads from its socket at a time.
const READ_BUFFER_BYTES: usize = 2_048;

/// How long a shutting-down connection waits for its appends in flight.
const SHUTDOWN_DRAIN: Duration = Duration::from_secs(3);

/// What every connection shares.
pub(super) struct ConnectionContext {
    /// The platform (device state, presence, command delivery).
    pub(super) platform: Arc<Platform>,
    /// Client secrets.
    pub(super) credentials: ClientCredentials,
    /// Where publishes go.
    pub(super) ingest: IngestQueue,
    /// The live sessions.
    pub(super) sessions: Arc<Sessions>,
    /// Payload limits.
    pub(super) limits: PayloadLimits,
    /// Counters.
    pub(super) stats: Arc<EndpointStats>,
}

/// Why a connection could not be served.
#[derive(Debug, thiserror::Error)]
pub(super) enum ConnectionError {
    /// The MQTT layer failed (socket closed, protocol error, keep-alive expired).
    #[error("{0:?}")]
    Mqtt(mqtt_ep::ConnectionError),
    /// A packet could not be built.
    #[error(transparent)]
    Packet(#[from] PacketError),
}

impl From<mqtt_ep::ConnectionError> for ConnectionError {
    fn from(error: mqtt_ep::ConnectionError) -> Self {
        Self::Mqtt(error)
    }
}

/// How a session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ending {
    /// The client sent DISCONNECT: no last will.
    Disconnected,
    /// The connection was lost (closed socket, keep-alive expired, protocol error): the last
    /// will, if any, is honoured.
    Lost(String),
    /// Another connection took the session over.
    TakenOver,
    /// The platform is shutting down.
    Shutdown,
    /// The client did something its identity does not allow on MQTT 3.1.1, which has no refusal
    /// code for it.
    Refused,
}

/// A QoS 1 or 2 publish waiting for its outcome.
type PendingAck = Pin<Box<dyn Future<Output = (u16, Qos, Option<MessageOutcome>)> + Send + Sync>>;

/// A client's CONNECT, as far as the session needs it.
struct Connected {
    version: Version,
    request: ConnectRequest,
    clean: bool,
    will: Option<(String, Vec<u8>)>,
}

/// Serves one connection on `transport`; `certificate_names` are the names of the client
/// certificate TLS verified (empty without TLS or a certificate).
#[tracing::instrument(name = "mqtt_connection", skip_all, fields(peer = %peer, client = tracing::field::Empty))]
pub(super) async fn serve<T: TransportOps + Send + 'static>(
    transport: T,
    certificate_names: Vec<String>,
    peer: std::net::SocketAddr,
    context: Arc<ConnectionContext>,
) {
    let options = ConnectionOptions::new().maximum_packet_size_recv(MAX_PACKET_BYTES).receive_maximum(RECEIVE_MAXIMUM);
    let endpoint = ServerEndpoint::with_options(Version::Undetermined, options);
    let attach = ConnectionOption::builder()
        .auto_pub_response(false)
        .recv_buffer_size(READ_BUFFER_BYTES)
        .shutdown_timeout_ms(1_000u64)
        .build()
        .map_err(|e| format!("{e:?}"));
    let attached = match attach {
        Ok(attach) => endpoint.attach_with_options(transport, Mode::Server, attach).await.map_err(|e| format!("{e:?}")),
        Err(error) => Err(error),
    };
    if let Err(error) = attached {
        tracing::warn!(%error, "cannot attach the MQTT connection");
        return;
    }
    let connected = match tokio::time::timeout(CONNECT_TIMEOUT, endpoint.recv()).await {
        Ok(Ok(packet)) => connect_of(packet, certificate_names),
        Ok(Err(error)) => {
            tracing::debug!(?error, "connection closed before CONNECT");
            None
        }
        Err(_) => {
            tracing::debug!("no CONNECT within {CONNECT_TIMEOUT:?}");
            None
        }
    };
    let Some(connected) = connected else {
        let _ = endpoint.close().await;
        return;
    };
    tracing::Span::current().record("client", connected.request.client_id.as_str());
    let credentials = &context.credentials;
    let identity = match authenticate(&connected.request, |login, secret| credentials.verify(login, secret)) {
        Ok(identity) => identity,
        Err(refusal) => {
            context.stats.refused_logins.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(%refusal, "MQTT login refused");
            if let Ok(packet) = packets::connack_refused(connected.version, &refusal) {
                let _ = endpoint.send(packet).await;
            }
            let _ = endpoint.close().await;
            return;
        }
    };
    let session = Session::open(endpoint, identity, &connected, context.clone());
    session.run().await;
}

/// What CONNECT said, or `None` when the first packet is not a CONNECT.
fn connect_of(packet: Packet, certificate_names: Vec<String>) -> Option<Connected> {
    match packet {
        Packet::V3_1_1Connect(connect) => Some(Connected {
            version: Version::V3_1_1,
            request: ConnectRequest {
                client_id: connect.client_id().to_owned(),
                user_name: connect.user_name().map(str::to_owned),
                password: connect.password().map(<[u8]>::to_vec),
                certificate_names,
                will_topic: connect.will_topic().map(str::to_owned),
            },
            clean: connect.clean_session(),
            will: connect.will_topic().map(|t| (t.to_owned(), connect.will_payload().unwrap_or_default().to_vec())),
        }),
        Packet::V5_0Connect(connect) => Some(Connected {
            version: Version::V5_0,
            request: ConnectRequest {
                client_id: connect.client_id().to_owned(),
                user_name: connect.user_name().map(str::to_owned),
                password: connect.password().map(<[u8]>::to_vec),
                certificate_names,
                will_topic: connect.will_topic().map(str::to_owned),
            },
            clean: connect.clean_start(),
            will: connect.will_topic().map(|t| (t.to_owned(), connect.will_payload().unwrap_or_default().to_vec())),
        }),
        _ => None,
    }
}

/// A logged-in client's session on this connection.
struct Session {
    endpoint: Arc<ServerEndpoint>,
    packets: PacketReader,
    identity: ClientIdentity,
    version: Version,
    session_id: u64,
    control: tokio::sync::mpsc::Receiver<SessionControl>,
    context: Arc<ConnectionContext>,
    clean: bool,
    will: Option<(String, Vec<u8>)>,
    subscribed: bool,
    in_flight: FuturesOrdered<PendingAck>,
    deliveries: HashMap<u16, CommandId>,
    sent: HashSet<CommandId>,
    presence: Option<JoinHandle<()>>,
}

impl Session {
    fn open(
        endpoint: ServerEndpoint,
        identity: ClientIdentity,
        connected: &Connected,
        context: Arc<ConnectionContext>,
    ) -> Self {
        let ticket = context.sessions.open(&identity);
        let endpoint = Arc::new(endpoint);
        Self {
            packets: PacketReader::start(endpoint.clone()),
            endpoint,
            identity,
            version: connected.version,
            session_id: ticket.id,
            control: ticket.control,
            context,
            clean: connected.clean,
            will: connected.will.clone(),
            subscribed: !connected.clean,
            in_flight: FuturesOrdered::new(),
            deliveries: HashMap::new(),
            sent: HashSet::new(),
            presence: None,
        }
    }

    async fn run(mut self) {
        let stats = self.context.stats.clone();
        stats.connections.fetch_add(1, Ordering::Relaxed);
        let ending = match self.serve().await {
            Ok(ending) => ending,
            Err(error) => Ending::Lost(error.to_string()),
        };
        stats.connections.fetch_sub(1, Ordering::Relaxed);
        self.end(ending).await;
    }

    async fn serve(&mut self) -> Result<Ending, ConnectionError> {
        // The session state lives in the log: a device's only subscription is its command
        // topic, and its pending commands are in its stream. So a client resuming a session
        // finds it, across connections and restarts.
        self.send(packets::connack_accepted(self.version, !self.clean)?).await?;
        self.context.stats.accepted_logins.fetch_add(1, Ordering::Relaxed);
        self.presence = self.observe_presence(true, "connected").map(tokio::spawn);
        if self.subscribed {
            self.deliver_pending().await?;
        }
        loop {
            tokio::select! {
                biased;
                control = self.control.recv() => match control {
                    Some(SessionControl::Deliver(command)) => self.deliver(command).await?,
                    Some(SessionControl::TakenOver) => return Ok(Ending::TakenOver),
                    Some(SessionControl::Shutdown) | None => return Ok(Ending::Shutdown),
                },
                Some((packet_id, qos, outcome)) = self.in_flight.next(), if !self.in_flight.is_empty() => {
                    match outcome {
                        Some(outcome) => self.acknowledge(packet_id, qos, &outcome).await?,
                        None => return Ok(Ending::Lost("the ingest stopped; nothing more is acknowledged".to_owned())),
                    }
                }
                packet = self.packets.next() => match packet {
                    Ok(packet) => {
                        if let Some(ending) = self.handle(packet).await? {
                            return Ok(ending);
                        }
                    }
                    Err(error) => return Ok(Ending::Lost(format!("{error:?}"))),
                },
            }
        }
    }

    /// Handles one packet from the client; `Some` when the session ends.
    async fn handle(&mut self, packet: Packet) -> Result<Option<Ending>, ConnectionError> {
        match packet {
            Packet::V3_1_1Publish(publish) => {
                let payload = publish.payload().as_slice().to_vec();
                self.publish(publish.topic_name(), payload, publish.qos(), publish.packet_id(), publish.dup()).await
            }
            Packet::V5_0Publish(publish) => {
                let payload = publish.payload().as_slice().to_vec();
                self.publish(publish.topic_name(), payload, publish.qos(), publish.packet_id(), publish.dup()).await
            }
            Packet::V3_1_1Pubrel(pubrel) => {
                self.send(packets::pubcomp(self.version, pubrel.packet_id())?).await.map(|_| None)
            }
            Packet::V5_0Pubrel(pubrel) => {
                self.send(packets::pubcomp(self.version, pubrel.packet_id())?).await.map(|_| None)
            }
            Packet::V3_1_1Puback(puback) => Ok(self.delivered(puback.packet_id())),
            Packet::V5_0Puback(puback) => Ok(self.delivered(puback.packet_id())),
            Packet::V3_1_1Subscribe(subscribe) => {
                let filters =
                    subscribe.entries().iter().map(|e| (e.topic_filter().to_owned(), e.sub_opts().qos())).collect();
                self.subscribe(subscribe.packet_id(), filters).await
            }
            Packet::V5_0Subscribe(subscribe) => {
                let filters =
                    subscribe.entries().iter().map(|e| (e.topic_filter().to_owned(), e.sub_opts().qos())).collect();
                self.subscribe(subscribe.packet_id(), filters).await
            }
            Packet::V3_1_1Unsubscribe(unsubscribe) => {
                let filters: Vec<String> = unsubscribe.entries().iter().map(|f| f.as_str().to_owned()).collect();
                self.unsubscribe(unsubscribe.packet_id(), &filters).await
            }
            Packet::V5_0Unsubscribe(unsubscribe) => {
                let filters: Vec<String> = unsubscribe.entries().iter().map(|f| f.as_str().to_owned()).collect();
                self.unsubscribe(unsubscribe.packet_id(), &filters).await
            }
            Packet::V3_1_1Disconnect(_) | Packet::V5_0Disconnect(_) => Ok(Some(Ending::Disconnected)),
            Packet::V3_1_1Connect(_) | Packet::V5_0Connect(_) => Ok(Some(Ending::Lost("a second CONNECT".to_owned()))),
            _ => Ok(None),
        }
    }

    /// A publish goes to the ingest; QoS 1 and 2 are answered once their outcome is durable.
    async fn publish(
        &mut self,
        topic: &str,
        payload: Vec<u8>,
        qos: Qos,
        packet_id: Option<u16>,
        dup: bool,
    ) -> Result<Option<Ending>, ConnectionError> {
        let now = Timestamp(chrono::Utc::now().timestamp_millis());
        let message = inbound::decode(Some(&self.identity), topic, &payload, dup, now, self.context.limits);
        let refused_identity = matches!(&message.work, Err(r) if r.reason == DeadLetterReason::NotAuthorised);
        let Ok(answer) = self.context.ingest.submit(message).await else {
            return Ok(Some(Ending::Lost("the ingest stopped; nothing more is acknowledged".to_owned())));
        };
        if refused_identity && self.version != Version::V5_0 {
            let _ = answer.await;
            return Ok(Some(Ending::Refused));
        }
        if let (Some(packet_id), Qos::AtLeastOnce | Qos::ExactlyOnce) = (packet_id, qos) {
            self.in_flight.push_back(pending_ack(packet_id, qos, answer));
        }
        Ok(None)
    }

    async fn acknowledge(&self, packet_id: u16, qos: Qos, outcome: &MessageOutcome) -> Result<(), ConnectionError> {
        let answer = match outcome {
            MessageOutcome::Stored | MessageOutcome::Duplicate | MessageOutcome::PartlyStored(_) => {
                PublishAnswer::Accepted
            }
            MessageOutcome::Refused(DeadLetterReason::NotAuthorised) => PublishAnswer::NotAuthorised,
            MessageOutcome::Refused(
                DeadLetterReason::MalformedJson
                | DeadLetterReason::InvalidField
                | DeadLetterReason::NotUtf8
                | DeadLetterReason::NonFiniteValue
                | DeadLetterReason::FutureTimestamp
                | DeadLetterReason::PayloadTooLarge
                | DeadLetterReason::UnknownMetric
                | DeadLetterReason::UnknownTopic,
            ) => PublishAnswer::PayloadRefused,
            MessageOutcome::Refused(_) => PublishAnswer::Refused,
        };
        let packet = match qos {
            Qos::ExactlyOnce => packets::pubrec(self.version, packet_id, answer)?,
            _ => packets::puback(self.version, packet_id, answer)?,
        };
        self.send(packet).await
    }

    async fn subscribe(
        &mut self,
        packet_id: u16,
        filters: Vec<(String, Qos)>,
    ) -> Result<Option<Ending>, ConnectionError> {
        let mut grants = Vec::with_capacity(filters.len());
        let mut commands = false;
        for (filter, qos) in filters {
            if self.identity.may_subscribe(&filter) {
                commands = true;
                grants.push(Some(if qos == Qos::AtMostOnce { Qos::AtMostOnce } else { Qos::AtLeastOnce }));
            } else {
                grants.push(None);
                let refusal = Rejection::new(
                    DeadLetterReason::NotAuthorised,
                    format!("{} may subscribe only to its own command topic, not to {filter}", self.identity),
                );
                let message = DecodedMessage {
                    origin: filter,
                    raw: b"SUBSCRIBE".to_vec(),
                    work: Err(refusal),
                    redelivery: false,
                };
                if let Ok(answer) = self.context.ingest.submit(message).await {
                    let _ = answer.await;
                }
            }
        }
        self.send(packets::suback(self.version, packet_id, &grants)?).await?;
        if commands {
            self.subscribed = true;
            self.deliver_pending().await?;
        }
        Ok(None)
    }

    async fn unsubscribe(&mut self, packet_id: u16, filters: &[String]) -> Result<Option<Ending>, ConnectionError> {
        if filters.iter().any(|filter| self.identity.may_subscribe(filter)) {
            self.subscribed = false;
        }
        self.send(packets::unsuback(self.version, packet_id, filters.len())?).await?;
        Ok(None)
    }

    /// Publishes the device's undelivered commands.
    async fn deliver_pending(&mut self) -> Result<(), ConnectionError> {
        let Some(device) = self.identity.device() else { return Ok(()) };
        let state = match self.context.platform.devices.state(device.as_str()).await {
            Ok(state) => state.state,
            Err(error) => {
                tracing::warn!(%error, "cannot read the device's pending commands; they wait for the next connection");
                return Ok(());
            }
        };
        let pending: Vec<CommandToDeliver> = state
            .undelivered_commands()
            .map(|c| CommandToDeliver {
                command_id: c.command_id.clone(),
                payload: command_payload(&c.command_id, &c.name, &c.params),
            })
            .collect();
        for command in pending {
            self.deliver(command).await?;
        }
        Ok(())
    }

    /// Publishes one command at QoS 1, once per session.
    async fn deliver(&mut self, command: CommandToDeliver) -> Result<(), ConnectionError> {
        let Some(device) = self.identity.device() else { return Ok(()) };
        if !self.subscribed || self.sent.contains(&command.command_id) {
            return Ok(());
        }
        let packet_id = self.endpoint.acquire_packet_id().await?;
        self.send(packets::publish(self.version, packet_id, &commands_topic(device), command.payload)?).await?;
        self.context.stats.commands_sent.fetch_add(1, Ordering::Relaxed);
        self.sent.insert(command.command_id.clone());
        self.deliveries.insert(packet_id, command.command_id);
        Ok(())
    }

    /// The device acknowledged a command publish: record the delivery.
    fn delivered(&mut self, packet_id: u16) -> Option<Ending> {
        let command_id = self.deliveries.remove(&packet_id)?;
        let device = self.identity.device()?.clone();
        let platform = self.context.platform.clone();
        self.context.stats.commands_delivered.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            let at = Timestamp(chrono::Utc::now().timestamp_millis());
            let metadata = CommandMetadata { principal: format!("mqtt:{device}"), ..CommandMetadata::default() };
            let command = DeviceCommand::RecordCommandDelivery { command_id: command_id.clone(), at };
            if let Err(error) = platform.devices.execute(device.as_str(), command, metadata).await {
                tracing::warn!(%device, %command_id, %error, "delivery not recorded; the command is sent again at the next connection");
            }
        });
        None
    }

    /// Records the device's presence (devices only).
    fn observe_presence(&self, connected: bool, reason: &str) -> Option<impl Future<Output = ()> + Send + 'static> {
        let device = self.identity.device()?.clone();
        let platform = self.context.platform.clone();
        let reason = reason.to_owned();
        Some(async move {
            let at = Timestamp(chrono::Utc::now().timestamp_millis());
            let metadata = CommandMetadata { principal: format!("mqtt:{device}"), ..CommandMetadata::default() };
            let command = DeviceCommand::ObservePresence { connected, reason, at };
            if let Err(error) = platform.devices.execute(device.as_str(), command, metadata).await {
                tracing::warn!(%device, %error, "presence not recorded");
            }
        })
    }

    /// Ends the session the way `ending` says.
    async fn end(mut self, ending: Ending) {
        tracing::debug!(?ending, "session ends");
        if ending == Ending::Shutdown {
            self.drain().await;
        }
        if let Ending::TakenOver | Ending::Shutdown = ending {
            let reason = if ending == Ending::TakenOver {
                DisconnectReasonCode::SessionTakenOver
            } else {
                DisconnectReasonCode::ServerShuttingDown
            };
            if let Ok(Some(packet)) = packets::disconnect(self.version, reason) {
                let _ = self.endpoint.send(packet).await;
            }
        }
        let _ = self.endpoint.close().await;
        let still_current = self.context.sessions.close(&self.identity, self.session_id);
        if let Some(online) = self.presence.take() {
            let _ = online.await;
        }
        if !still_current {
            return;
        }
        let will = self.will.take();
        match (ending, will) {
            (Ending::Lost(_) | Ending::Refused, Some((topic, payload))) => {
                tracing::debug!(%topic, "publishing the last will");
                let now = Timestamp(chrono::Utc::now().timestamp_millis());
                let message = inbound::decode(Some(&self.identity), &topic, &payload, false, now, self.context.limits);
                if let Ok(answer) = self.context.ingest.submit(message).await {
                    let _ = answer.await;
                }
            }
            (Ending::Lost(reason), None) => self.record_absence(&format!("connection lost: {reason}")).await,
            (Ending::Refused, None) => self.record_absence("disconnected for an unauthorised publish").await,
            (Ending::Disconnected, _) => self.record_absence("disconnected").await,
            (Ending::Shutdown, _) => self.record_absence("the platform is shutting down").await,
            (Ending::TakenOver, _) => {}
        }
    }

    async fn record_absence(&self, reason: &str) {
        if let Some(offline) = self.observe_presence(false, reason) {
            offline.await;
        }
    }

    /// Waits (a bounded time) for the appends in flight and acknowledges them.
    async fn drain(&mut self) {
        let deadline = Instant::now() + SHUTDOWN_DRAIN;
        while let Ok(Some((packet_id, qos, Some(outcome)))) =
            tokio::time::timeout_at(deadline.into(), self.in_flight.next()).await
        {
            if self.acknowledge(packet_id, qos, &outcome).await.is_err() {
                return;
            }
        }
    }

    async fn send(&self, packet: Packet) -> Result<(), ConnectionError> {
        self.endpoint.send(packet).await.map_err(ConnectionError::from)
    }
}

/// The outcome of a submitted publish, tagged with what its answer needs.
fn pending_ack(packet_id: u16, qos: Qos, answer: OutcomeReceiver) -> PendingAck {
    Box::pin(async move {
        let outcome = match answer.await {
            Ok(Ok(outcome)) => Some(outcome),
            Ok(Err(IngestStopped(_))) | Err(_) => None,
        };
        (packet_id, qos, outcome)
    })
}
