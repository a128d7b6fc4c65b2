//! Edge analytics: per edge node, its deployed models and its last heartbeat; the summary
//! (nodes, models deployed, inference rate, latency, resource use) is computed when asked.

use crate::directory::DirectoryEntry;
use crate::projection::ProjectedEvent;
use optibid_domain::edge::{EdgeNodeEvent, Heartbeat};
use optibid_domain::FleetEvent;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A node whose last heartbeat is older than this is not counted as reporting.
pub const REPORTING_WINDOW_MS: i64 = 60_000;

/// What the analytics keep of one edge node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EdgeHealth {
    /// Region.
    pub region: String,
    /// Whether decommissioned.
    pub decommissioned: bool,
    /// Deployments requested and not yet settled.
    pub pending: BTreeSet<String>,
    /// Deployments running.
    pub deployed: BTreeSet<String>,
    /// The last heartbeat and its commit time (ms).
    pub last_heartbeat: Option<(Heartbeat, i64)>,
    /// Heartbeats received.
    pub heartbeats: u64,
}

impl DirectoryEntry for EdgeHealth {
    const PROJECTION: &'static str = "edge_analytics";
    const KINDS: &'static [&'static str] = &["edge"];

    fn create(event: &ProjectedEvent<'_>) -> Option<Self> {
        let FleetEvent::Edge(EdgeNodeEvent::Registered { registration, .. }) = event.event else {
            return None;
        };
        Some(EdgeHealth {
            region: registration.region.clone(),
            decommissioned: false,
            pending: BTreeSet::new(),
            deployed: BTreeSet::new(),
            last_heartbeat: None,
            heartbeats: 0,
        })
    }

    fn update(&mut self, event: &ProjectedEvent<'_>) -> bool {
        let FleetEvent::Edge(edge_event) = event.event else { return false };
        if let Some(registered) = Self::create(event) {
            *self = registered;
            return true;
        }
        let health = self;
        match edge_event {
            EdgeNodeEvent::HeartbeatRecorded(heartbeat) => {
                health.last_heartbeat = Some((heartbeat.clone(), event.recorded_at));
                health.heartbeats += 1;
            }
            EdgeNodeEvent::ModelDeploymentRequested { deployment_id, .. } => {
                health.pending.insert(deployment_id.to_string());
            }
            EdgeNodeEvent::ModelDeployed { deployment_id, .. } => {
                let id = deployment_id.to_string();
                health.pending.remove(&id);
                health.deployed.insert(id);
            }
            EdgeNodeEvent::ModelDeploymentFailed { deployment_id, .. } => {
                health.pending.remove(&deployment_id.to_string());
            }
            EdgeNodeEvent::ModelRemoved { deployment_id, .. } => {
                health.deployed.remove(&deployment_id.to_string());
            }
            EdgeNodeEvent::Decommissioned { .. } => health.decommissioned = true,
            _ => return false,
        }
        true
    }
}

/// Totals over a set of edge nodes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EdgeFigures {
    /// Nodes in service.
    pub nodes: u64,
    /// Nodes with a heartbeat in the last minute.
    pub reporting: u64,
    /// Models running.
    pub models_deployed: u64,
    /// Deployments in progress.
    pub deployments_pending: u64,
    /// Sum of the reporting nodes' inference rates, per second.
    pub inference_rate: f64,
    /// Mean inference latency of the reporting nodes, ms.
    pub average_latency_ms: f64,
    /// Mean CPU use of the reporting nodes, %.
    pub average_cpu_pct: f64,
    /// Mean memory use of the reporting nodes, %.
    pub average_memory_pct: f64,
    /// Mean GPU use of the reporting nodes that have one, %.
    pub average_gpu_pct: Option<f64>,
    #[serde(skip)]
    gpu_nodes: u64,
}

impl EdgeFigures {
    fn add(&mut self, node: &EdgeHealth, now: i64) {
        self.nodes += 1;
        self.models_deployed += node.deployed.len() as u64;
        self.deployments_pending += node.pending.len() as u64;
        let Some((beat, at)) = &node.last_heartbeat else { return };
        if now - at > REPORTING_WINDOW_MS {
            return;
        }
        let previous = self.reporting as f64;
        self.reporting += 1;
        let n = self.reporting as f64;
        let mean = |old: f64, new: f64| (old * previous + new) / n;
        self.inference_rate += beat.inference_rate;
        self.average_latency_ms = mean(self.average_latency_ms, beat.latency_ms);
        self.average_cpu_pct = mean(self.average_cpu_pct, beat.cpu_pct);
        self.average_memory_pct = mean(self.average_memory_pct, beat.memory_pct);
        if let Some(gpu) = beat.gpu_pct {
            let gpus = self.gpu_nodes as f64;
            self.gpu_nodes += 1;
            self.average_gpu_pct = Some((self.average_gpu_pct.unwrap_or(0.0) * gpus + gpu) / (gpus + 1.0));
        }
    }
}

/// The edge figures, in all and per region.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EdgeSummary {
    /// Every node.
    pub total: EdgeFigures,
    /// Per region.
    pub by_region: BTreeMap<String, EdgeFigures>,
}

/// Sums `nodes` as of `now` (ms).
pub fn summarise<'a>(nodes: impl IntoIterator<Item = &'a EdgeHealth>, now: i64) -> EdgeSummary {
    let mut summary = EdgeSummary::default();
    for node in nodes.into_iter().filter(|n| !n.decommissioned) {
        summary.total.add(node, now);
        summary.by_region.entry(node.region.clone()).or_default().add(node, now);
    }
    summary
}
