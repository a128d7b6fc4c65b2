//! Devices and edge nodes over MQTT: the embedded broker, the ingest actor that turns messages
//! into events, the downlink that publishes commands, per-client secrets and the dead letters.

pub mod backoff;
pub mod broker;
pub mod credentials;
pub mod dead_letter;
pub mod downlink;
pub mod endpoint;
pub mod ingest;
pub mod payload;
pub mod pipeline;
pub mod recent_samples;
pub mod topic;

use crate::actors::Platform;
use crate::store::{SledEventLog, StoreError};
use broker::{BrokerError, EmbeddedBroker};
use credentials::ClientCredentials;
use dead_letter::DeadLetterStore;
use downlink::{Downlink, DownlinkError, DownlinkStats};
use endpoint::{BrokerAddress, MqttEndpoint};
use ingest::{IngestArguments, IngestMessage, IngestStats, MqttIngest};
use pipeline::{IngestOptions, IngestPipeline};
use ractor::{Actor, ActorRef};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// How long `start` waits for the ingest's subscriptions before it lets devices in.
const ADMISSION_WAIT: Duration = Duration::from_secs(10);

/// How often the admission task looks at the ingest's subscriptions.
const ADMISSION_POLL: Duration = Duration::from_millis(10);

/// Largest payload the embedded broker passes on. It is far above the ingest's own limit, so an
/// oversized device message reaches the ingest and becomes a dead letter with its reason instead
/// of only closing the device's connection.
const BROKER_MAX_PAYLOAD_BYTES: usize = 1024 * 1024;

/// Name of the sled tree that holds this data folder's node id.
const NODE_TREE: &str = "node";

/// How the MQTT side of `serve` runs.
#[derive(Debug, Clone)]
pub struct MqttSettings {
    /// Where the embedded broker listens (when no external broker is given).
    pub listen: SocketAddr,
    /// An external broker to use instead of the embedded one.
    pub external: Option<BrokerAddress>,
    /// Shared-subscription group, so several `serve` processes split one stream.
    pub shared_group: Option<String>,
    /// Ingest connections to an external broker with a shared group (the embedded broker is
    /// read over one).
    pub ingest_connections: usize,
    /// Payload limits and auto-provisioning.
    pub ingest: IngestOptions,
    /// Most messages per ingest round.
    pub max_round: usize,
    /// How long an ingest round keeps collecting after its first message.
    pub window: std::time::Duration,
}

/// Why the MQTT side could not start.
#[derive(Debug, thiserror::Error)]
pub enum MqttError {
    /// The embedded broker did not start.
    #[error(transparent)]
    Broker(#[from] BrokerError),
    /// The downlink did not start.
    #[error(transparent)]
    Downlink(#[from] DownlinkError),
    /// Storage failed.
    #[error("MQTT storage failed: {0}")]
    Storage(#[from] sled::Error),
    /// The store could not make this node's id durable.
    #[error("MQTT storage failed: {0}")]
    Store(#[from] StoreError),
    /// The ingest actor did not start.
    #[error("cannot start the MQTT ingest actor: {0}")]
    Spawn(#[from] ractor::SpawnErr),
}

/// The running MQTT side: broker (when embedded), ingest actor and downlink.
pub struct MqttService {
    /// The broker the platform uses.
    pub endpoint: MqttEndpoint,
    /// Ingest counters.
    pub ingest_stats: Arc<IngestStats>,
    /// Downlink counters.
    pub downlink_stats: Arc<DownlinkStats>,
    ingest: ActorRef<IngestMessage>,
    ingest_task: tokio::task::JoinHandle<()>,
    _downlink: Downlink,
}

impl MqttService {
    /// Starts the broker (unless an external one is configured), the ingest and the downlink.
    ///
    /// On the embedded broker the ingest reads one connection, whatever `ingest_connections`
    /// says: in rumqttd's shared groups a member that is not the group's current reader, and
    /// finds the rest of the log within its window, waits for new data, and when it becomes the
    /// current reader after the last publish of a burst, that rest is never delivered. Devices
    /// are admitted once the ingest has subscribed, and `start` waits for that (up to 10 s).
    pub async fn start(
        platform: Arc<Platform>,
        credentials: ClientCredentials,
        dead_letters: DeadLetterStore,
        settings: MqttSettings,
    ) -> Result<Self, MqttError> {
        let mut connections = settings.ingest_connections.max(1);
        let endpoint = match settings.external {
            Some(address) => {
                if settings.shared_group.is_none() && connections > 1 {
                    tracing::info!(
                        "one ingest connection to the external broker: several need --mqtt-shared-group, and how a \
                         broker keeps shared-subscription messages for a member that is away differs between brokers"
                    );
                    connections = 1;
                }
                MqttEndpoint::External(address)
            }
            None => {
                connections = 1;
                let listen = settings.listen;
                let broker = tokio::task::spawn_blocking(move || {
                    EmbeddedBroker::start(listen, credentials, BROKER_MAX_PAYLOAD_BYTES)
                })
                .await;
                MqttEndpoint::Embedded(broker.map_err(|e| BrokerError::Thread(std::io::Error::other(e)))??)
            }
        };
        let node = node_id(&platform.log).await?;
        let ingest_stats = Arc::new(IngestStats::default());
        let downlink_stats = Arc::new(DownlinkStats::default());
        let downlink =
            Downlink::start(platform.clone(), &endpoint, &format!("optibid-downlink-{node}"), downlink_stats.clone())?;
        let arguments = IngestArguments {
            endpoint: endpoint.clone(),
            client_id: format!("optibid-ingest-{node}"),
            connections,
            shared_group: settings.shared_group,
            max_round: settings.max_round,
            window: settings.window,
            pipeline: IngestPipeline::new(platform, dead_letters, settings.ingest, "mqtt"),
            stats: ingest_stats.clone(),
        };
        let (ingest, ingest_task) = Actor::spawn(None, MqttIngest, arguments).await?;
        if let MqttEndpoint::Embedded(broker) = &endpoint {
            let admission = tokio::spawn(admit_when_subscribed(broker.clone(), ingest_stats.clone()));
            if tokio::time::timeout(ADMISSION_WAIT, admission).await.is_err() {
                tracing::warn!("the ingest has not subscribed yet; devices are admitted once it has");
            }
        }
        Ok(Self { endpoint, ingest_stats, downlink_stats, ingest, ingest_task, _downlink: downlink })
    }

    /// Stops the ingest (after its current round) and the downlink.
    pub async fn stop(self) {
        self.ingest.stop(None);
        let _ = self.ingest_task.await;
    }
}

/// Lets devices into `broker` once the ingest's subscriptions are confirmed.
async fn admit_when_subscribed(broker: EmbeddedBroker, stats: Arc<IngestStats>) {
    while !stats.subscribed.load(Ordering::SeqCst) {
        tokio::time::sleep(ADMISSION_POLL).await;
    }
    broker.admit_devices();
    tracing::debug!("devices admitted to the embedded broker");
}

/// This data folder's node id: made once, kept, and used in MQTT client ids so the broker keeps
/// each node's session across restarts.
async fn node_id(log: &SledEventLog) -> Result<String, StoreError> {
    let tree = log.database().open_tree(NODE_TREE)?;
    let fresh = uuid::Uuid::new_v4().simple().to_string();
    let stored = tree.compare_and_swap(b"id", None as Option<&[u8]>, Some(fresh.as_bytes()))?;
    let id = match stored {
        Ok(()) => fresh,
        Err(current) => current.current.map(|v| String::from_utf8_lossy(&v).into_owned()).unwrap_or(fresh),
    };
    log.durability().wait().await?;
    Ok(id.chars().take(12).collect())
}
