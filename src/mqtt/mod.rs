//! Devices and edge nodes over MQTT.
//!
//! By default devices connect to the platform's own endpoint ([`device_endpoint`]): it logs each
//! client in as one device or edge node and acknowledges a publish only once it is stored. With
//! `--mqtt-broker` the platform instead reads an external broker ([`broker_ingest`]). Either way
//! the messages go through the protocol-neutral ingest, and the [`downlink`] delivers commands.
//!
//! - [`topic`]: the topic contract; [`identity`]: who a client is and what it may do;
//!   [`inbound`]: a publish decoded for the ingest.
//! - [`credentials`]: per-client secrets; [`command_payload`]: the command JSON devices receive.
//! - [`broker_address`]: an external broker's URL and client options.

pub mod broker_address;
pub mod broker_ingest;
pub mod command_payload;
pub mod credentials;
pub mod device_endpoint;
pub mod downlink;
pub mod identity;
pub mod inbound;
pub mod topic;

use crate::actors::Platform;
use crate::ingest::dead_letter::DeadLetterStore;
use crate::ingest::pipeline::{IngestOptions, IngestPipeline};
use crate::ingest::queue::{IngestQueue, IngestStats, RoundSettings};
use crate::store::{SledEventLog, StoreError};
use crate::worker_health::WorkerHealth;
use broker_address::BrokerAddress;
use broker_ingest::{BrokerIngest, BrokerIngestSettings};
use credentials::ClientCredentials;
use device_endpoint::tls::TlsSettings;
use device_endpoint::{DeviceEndpoint, EndpointError, EndpointSettings, EndpointStats};
use downlink::{CommandRoute, Downlink, DownlinkError, DownlinkStats};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::task::JoinHandle;

/// Name of the sled tree that holds this data folder's node id.
const NODE_TREE: &str = "node";

/// How the MQTT side of `serve` runs.
#[derive(Debug, Clone)]
pub struct MqttSettings {
    /// Where the platform's own endpoint listens (when no external broker is given).
    pub listen: SocketAddr,
    /// MQTT over TLS for the platform's own endpoint.
    pub tls: Option<TlsSettings>,
    /// An external broker to read instead of running the endpoint.
    pub external: Option<BrokerAddress>,
    /// Shared-subscription group on the external broker, so several `serve` processes split one
    /// stream.
    pub shared_group: Option<String>,
    /// Connections to the external broker with a shared group.
    pub ingest_connections: usize,
    /// Payload limits and auto-provisioning.
    pub ingest: IngestOptions,
    /// How ingest rounds are formed.
    pub rounds: RoundSettings,
}

/// Why the MQTT side could not start.
#[derive(Debug, thiserror::Error)]
pub enum MqttError {
    /// The device endpoint did not start.
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    /// The downlink did not start.
    #[error(transparent)]
    Downlink(#[from] DownlinkError),
    /// Storage failed.
    #[error("MQTT storage failed: {0}")]
    Storage(#[from] sled::Error),
    /// The store could not make this node's id durable.
    #[error("MQTT storage failed: {0}")]
    Store(#[from] StoreError),
}

/// Where devices reach the platform.
pub enum DeviceAccess {
    /// The platform's own endpoint.
    Endpoint(DeviceEndpoint),
    /// An external broker the platform reads.
    Broker(BrokerAddress, BrokerIngest),
}

/// The running MQTT side: the endpoint or the broker ingest, the ingest worker and the downlink.
pub struct MqttService {
    /// Where devices connect.
    pub access: DeviceAccess,
    /// Ingest counters.
    pub ingest_stats: Arc<IngestStats>,
    /// Downlink counters.
    pub downlink_stats: Arc<DownlinkStats>,
    /// The health of the ingest and the downlink.
    pub workers: Vec<Arc<WorkerHealth>>,
    ingest: IngestQueue,
    ingest_task: JoinHandle<()>,
    downlink: Downlink,
}

impl MqttService {
    /// Starts the endpoint (or the external broker ingest), the ingest and the downlink.
    pub async fn start(
        platform: Arc<Platform>,
        credentials: ClientCredentials,
        dead_letters: DeadLetterStore,
        settings: MqttSettings,
    ) -> Result<Self, MqttError> {
        let pipeline = IngestPipeline::new(platform.clone(), dead_letters, settings.ingest, "mqtt");
        let (ingest, ingest_task) = IngestQueue::start(pipeline, settings.rounds);
        let downlink_stats = Arc::new(DownlinkStats::default());
        let downlink_health = WorkerHealth::new("downlink");
        let node = node_id(&platform.log).await?;
        let (access, route) = match settings.external {
            Some(broker) => {
                let mut connections = settings.ingest_connections.max(1);
                if settings.shared_group.is_none() && connections > 1 {
                    tracing::info!(
                        "one ingest connection to the external broker: several need --mqtt-shared-group, and how a \
                         broker keeps shared-subscription messages for a member that is away differs between brokers"
                    );
                    connections = 1;
                }
                let reader = BrokerIngest::start(
                    BrokerIngestSettings {
                        broker: broker.clone(),
                        client_id: format!("optibid-ingest-{node}"),
                        connections,
                        shared_group: settings.shared_group,
                        limits: settings.ingest.limits,
                    },
                    ingest.clone(),
                );
                let route = CommandRoute::Broker(broker.clone(), format!("optibid-downlink-{node}"));
                (DeviceAccess::Broker(broker, reader), route)
            }
            None => {
                let endpoint_settings = EndpointSettings { listen: settings.listen, tls: settings.tls };
                let endpoint = DeviceEndpoint::start(
                    platform.clone(),
                    credentials,
                    ingest.clone(),
                    settings.ingest.limits,
                    &endpoint_settings,
                )
                .await?;
                let route = CommandRoute::Sessions(endpoint.sessions.clone());
                (DeviceAccess::Endpoint(endpoint), route)
            }
        };
        let downlink = Downlink::start(platform, route, downlink_stats.clone(), downlink_health.clone())?;
        Ok(Self {
            access,
            ingest_stats: ingest.stats().clone(),
            downlink_stats,
            workers: vec![ingest.health().clone(), downlink_health],
            ingest,
            ingest_task,
            downlink,
        })
    }

    /// `mqtt://HOST:PORT` of where devices connect (the endpoint or the external broker).
    pub fn url(&self) -> String {
        match &self.access {
            DeviceAccess::Endpoint(endpoint) => format!("mqtt://{}", endpoint.address),
            DeviceAccess::Broker(broker, _) => broker.url(),
        }
    }

    /// `mqtts://HOST:PORT` of the endpoint's TLS listener, when configured.
    pub fn tls_url(&self) -> Option<String> {
        match &self.access {
            DeviceAccess::Endpoint(endpoint) => endpoint.tls_address.map(|address| format!("mqtts://{address}")),
            DeviceAccess::Broker(..) => None,
        }
    }

    /// The endpoint's counters, when the platform runs its own endpoint.
    pub fn endpoint_stats(&self) -> Option<Arc<EndpointStats>> {
        match &self.access {
            DeviceAccess::Endpoint(endpoint) => Some(endpoint.stats.clone()),
            DeviceAccess::Broker(..) => None,
        }
    }

    /// Whether devices can reach the platform now (the endpoint listens, or the broker ingest is
    /// connected and subscribed).
    pub fn connected(&self) -> Arc<std::sync::atomic::AtomicBool> {
        match &self.access {
            DeviceAccess::Endpoint(_) => Arc::new(std::sync::atomic::AtomicBool::new(true)),
            DeviceAccess::Broker(_, reader) => reader.connected.clone(),
        }
    }

    /// Stops reading: the endpoint finishes the appends in flight, acknowledges them and
    /// disconnects its clients; then the ingest answers what is queued and ends.
    pub async fn stop(self) {
        match self.access {
            DeviceAccess::Endpoint(endpoint) => endpoint.stop().await,
            DeviceAccess::Broker(_, reader) => drop(reader),
        }
        drop(self.downlink);
        drop(self.ingest);
        let _ = self.ingest_task.await;
    }
}

/// This data folder's node id: made once, kept, and used in MQTT client ids so an external
/// broker keeps each node's session across restarts.
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
