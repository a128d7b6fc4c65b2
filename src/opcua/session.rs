//! Keeps one OPC UA session alive: connects (retrying with backoff while the server is away),
//! subscribes to the configured nodes, and reports the session's ups and downs to the client
//! actor. Once a session exists the client library reconnects it and re-creates the
//! subscription itself; should it give up, a new session is built from scratch.

use super::client::{lock, OpcUaMessage, OpcUaStats, PendingChanges};
use super::config::OpcUaEndpointConfig;
use crate::ingest::backoff::Backoff;
use futures_util::StreamExt;
use opcua::client::{Client, ClientBuilder, DataChangeCallback, Session, SessionEventLoop, SessionPollResult};
use opcua::types::{
    AttributeId, MonitoredItemCreateRequest, MonitoringMode, MonitoringParameters, ReadValueId, TimestampsToReturn,
};
use ractor::ActorRef;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often the session checks that the server is alive.
const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(2);

/// Values the server keeps per node between publishes.
const QUEUE_SIZE: u32 = 256;

/// How long a graceful disconnect may take at shutdown.
const DISCONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// A change of the session's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    /// A session is up (first connect or reconnect).
    Connected,
    /// The connection is lost or could not be made, and why.
    Lost(String),
}

/// Why the client could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The client configuration was refused.
    #[error("invalid OPC UA client configuration: {0}")]
    Config(String),
}

/// The task that keeps the session of one endpoint alive.
pub struct SessionKeeper {
    task: tokio::task::JoinHandle<()>,
    session: Arc<Mutex<Option<Arc<Session>>>>,
}

impl SessionKeeper {
    /// Starts keeping a session to `endpoint`, delivering data changes into `pending` and
    /// session events to `actor`.
    pub fn start(
        endpoint: &OpcUaEndpointConfig,
        pki_dir: &Path,
        pending: PendingChanges,
        actor: ActorRef<OpcUaMessage>,
        stats: Arc<OpcUaStats>,
    ) -> Result<Self, SessionError> {
        let client = ClientBuilder::new()
            .application_name("OptiBid IoT")
            .application_uri("urn:optibid:iot")
            .product_uri("urn:optibid:iot")
            .session_name(format!("optibid:{}", endpoint.name))
            .pki_dir(pki_dir)
            .create_sample_keypair(true)
            .trust_server_certs(endpoint.security.trust_server_certs)
            .session_retry_limit(-1)
            .session_retry_initial(endpoint.retry_initial)
            .session_retry_max(endpoint.retry_max)
            .keep_alive_interval(KEEP_ALIVE_INTERVAL)
            .client()
            .map_err(|errors| SessionError::Config(errors.join("; ")))?;
        let session = Arc::new(Mutex::new(None));
        let task = tokio::spawn(keep_session(client, endpoint.clone(), pending, actor, stats, session.clone()));
        Ok(Self { task, session })
    }

    /// Stops reconnecting and closes the session.
    pub async fn stop(&self) {
        self.task.abort();
        let session = self.session.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        if let Some(session) = session {
            let _ = tokio::time::timeout(DISCONNECT_TIMEOUT, session.disconnect()).await;
        }
    }
}

async fn keep_session(
    mut client: Client,
    endpoint: OpcUaEndpointConfig,
    pending: PendingChanges,
    actor: ActorRef<OpcUaMessage>,
    stats: Arc<OpcUaStats>,
    current: Arc<Mutex<Option<Arc<Session>>>>,
) {
    let mut backoff = Backoff::new(endpoint.retry_initial, endpoint.retry_max);
    loop {
        let identity = match endpoint.identity.token() {
            Ok(identity) => identity,
            Err(error) => {
                let _ = actor.cast(OpcUaMessage::Session(SessionEvent::Lost(error.to_string())));
                tokio::time::sleep(backoff.next_delay()).await;
                continue;
            }
        };
        let connected = client
            .connect_to_matching_endpoint(
                (endpoint.url.as_str(), endpoint.security.policy.to_str(), endpoint.security.mode),
                identity,
            )
            .await;
        let (session, event_loop) = match connected {
            Ok(pair) => pair,
            Err(error) => {
                let _ = actor.cast(OpcUaMessage::Session(SessionEvent::Lost(error.to_string())));
                tokio::time::sleep(backoff.next_delay()).await;
                continue;
            }
        };
        *current.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(session.clone());
        let events = tokio::spawn(forward_events(event_loop, session.clone(), actor.clone()));
        if session.wait_for_connection().await {
            match subscribe(&session, &endpoint, pending.clone(), actor.clone(), &stats).await {
                Ok(()) => backoff.reset(),
                Err(error) => tracing::error!(endpoint = %endpoint.name, %error, "OPC UA subscription failed"),
            }
        }
        let _ = events.await;
        let _ = tokio::time::timeout(DISCONNECT_TIMEOUT, session.disconnect()).await;
        tokio::time::sleep(backoff.next_delay()).await;
    }
}

/// Reports the event loop's connection changes to the actor until the loop ends. After a
/// reconnect it asks for a publish at once: the client library re-creates the subscription
/// while reconnecting, before its publishing loop starts, and that loop otherwise waits for a
/// trigger that has already passed.
async fn forward_events(
    event_loop: SessionEventLoop<opcua::client::transport::TcpConnector>,
    session: Arc<Session>,
    actor: ActorRef<OpcUaMessage>,
) {
    let stream = event_loop.enter();
    futures_util::pin_mut!(stream);
    while let Some(event) = stream.next().await {
        let message = match event {
            Ok(SessionPollResult::Reconnected(_)) => {
                session.trigger_publish_now();
                SessionEvent::Connected
            }
            Ok(SessionPollResult::ConnectionLost(status)) | Ok(SessionPollResult::ReconnectFailed(status)) => {
                SessionEvent::Lost(status.to_string())
            }
            Ok(_) => continue,
            Err(status) => {
                let _ = actor.cast(OpcUaMessage::Session(SessionEvent::Lost(status.to_string())));
                return;
            }
        };
        let _ = actor.cast(OpcUaMessage::Session(message));
    }
}

/// Creates the subscription and one monitored item per configured node; the client handle of
/// node `i` is `i + 1`.
async fn subscribe(
    session: &Session,
    endpoint: &OpcUaEndpointConfig,
    pending: PendingChanges,
    actor: ActorRef<OpcUaMessage>,
    stats: &OpcUaStats,
) -> Result<(), opcua::types::Error> {
    let callback = DataChangeCallback::new(move |value, item| {
        let mut queue = lock(&pending);
        if queue.is_empty() {
            let _ = actor.cast(OpcUaMessage::Drain);
        }
        queue.push((item.client_handle(), value));
    });
    let subscription = session.create_subscription(endpoint.publishing_interval, 60, 10, 0, 0, true, callback).await?;
    let requests = endpoint
        .nodes
        .iter()
        .enumerate()
        .map(|(index, node)| MonitoredItemCreateRequest {
            item_to_monitor: ReadValueId {
                node_id: node.node_id.clone(),
                attribute_id: AttributeId::Value as u32,
                ..Default::default()
            },
            monitoring_mode: MonitoringMode::Reporting,
            requested_parameters: MonitoringParameters {
                client_handle: u32::try_from(index + 1).unwrap_or(u32::MAX),
                sampling_interval: endpoint.sampling_interval.as_secs_f64() * 1000.0,
                queue_size: QUEUE_SIZE,
                discard_oldest: true,
                ..Default::default()
            },
        })
        .collect();
    let created = session.create_monitored_items(subscription, TimestampsToReturn::Both, requests).await?;
    for (node, result) in endpoint.nodes.iter().zip(&created) {
        if !result.result.status_code.is_good() {
            stats.refused_items.fetch_add(1, Ordering::Relaxed);
            tracing::error!(
                endpoint = %endpoint.name,
                node = %node.node_id,
                device = %node.device,
                status = %result.result.status_code,
                "the OPC UA server refused to monitor a configured node"
            );
        }
    }
    tracing::info!(endpoint = %endpoint.name, subscription, items = created.len(), "OPC UA subscription created");
    Ok(())
}
