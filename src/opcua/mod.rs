//! Devices behind OPC UA servers: one client actor per configured server subscribes to the
//! configured nodes; data changes become device telemetry, status codes that are not Good become
//! device status changes, and the same checks as for MQTT (unknown device, undeclared metric,
//! repeated sample) send refused values to the dead letters.

pub mod client;
pub mod config;
pub mod reading;
pub mod session;
pub mod user_certificate;

use crate::actors::Platform;
use crate::ingest::dead_letter::DeadLetterStore;
use crate::ingest::pipeline::{IngestOptions, IngestPipeline};
use client::{OpcUaArguments, OpcUaClient, OpcUaMessage, OpcUaStats};
use config::OpcUaEndpointConfig;
use ractor::{Actor, ActorRef};
use std::path::Path;
use std::sync::Arc;

/// The running OPC UA clients.
pub struct OpcUaService {
    /// Counters per endpoint, in configuration order.
    pub stats: Vec<Arc<OpcUaStats>>,
    clients: Vec<(ActorRef<OpcUaMessage>, tokio::task::JoinHandle<()>)>,
}

impl OpcUaService {
    /// Starts one client actor per endpoint; their certificates live under `data/opcua-pki`.
    pub async fn start(
        platform: Arc<Platform>,
        dead_letters: DeadLetterStore,
        endpoints: &[OpcUaEndpointConfig],
        data: &Path,
    ) -> Result<Self, ractor::SpawnErr> {
        let mut stats = Vec::with_capacity(endpoints.len());
        let mut clients = Vec::with_capacity(endpoints.len());
        for endpoint in endpoints {
            let endpoint_stats = Arc::new(OpcUaStats {
                name: endpoint.name.clone(),
                url: endpoint.url.clone(),
                ..OpcUaStats::default()
            });
            let arguments = OpcUaArguments {
                endpoint: endpoint.clone(),
                pipeline: IngestPipeline::new(
                    platform.clone(),
                    dead_letters.clone(),
                    IngestOptions::default(),
                    "opcua",
                ),
                pki_dir: data.join("opcua-pki"),
                stats: endpoint_stats.clone(),
            };
            clients.push(Actor::spawn(None, OpcUaClient, arguments).await?);
            stats.push(endpoint_stats);
        }
        Ok(Self { stats, clients })
    }

    /// Stops every client and closes its session.
    pub async fn stop(self) {
        for (client, task) in self.clients {
            client.stop(None);
            let _ = task.await;
        }
    }
}
