//! The edge node directory.

use crate::directory::DirectoryEntry;
use crate::projection::ProjectedEvent;
use optibid_domain::edge::{EdgeNodeEvent, EdgeNodeKind};
use optibid_domain::FleetEvent;
use serde::{Deserialize, Serialize};

/// One edge node in the directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EdgeNodeEntry {
    /// Node id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: EdgeNodeKind,
    /// Site.
    pub site: String,
    /// Region.
    pub region: String,
    /// Models deployed now.
    pub models_deployed: u32,
    /// Last heartbeat's CPU use, percent.
    pub cpu_pct: Option<f64>,
    /// Whether decommissioned.
    pub decommissioned: bool,
    /// Commit time of its last event (ms).
    pub updated_at: i64,
}

/// Filters of the edge node list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct EdgeNodeFilter {
    /// Kind (also accepted as `type`).
    #[serde(alias = "type")]
    pub kind: Option<EdgeNodeKind>,
    /// Region.
    pub region: Option<String>,
    /// Site.
    pub site: Option<String>,
    /// Text the name must contain (case-insensitive).
    pub q: Option<String>,
    /// Whether to include decommissioned nodes.
    #[serde(default)]
    pub include_decommissioned: bool,
}

impl EdgeNodeFilter {
    /// Whether `entry` passes the filter.
    pub fn matches(&self, entry: &EdgeNodeEntry) -> bool {
        (self.include_decommissioned || !entry.decommissioned)
            && self.kind.is_none_or(|kind| entry.kind == kind)
            && self.region.as_ref().is_none_or(|region| &entry.region == region)
            && self.site.as_ref().is_none_or(|site| &entry.site == site)
            && self.q.as_ref().is_none_or(|q| entry.name.to_lowercase().contains(&q.to_lowercase()))
    }
}

impl DirectoryEntry for EdgeNodeEntry {
    const PROJECTION: &'static str = "edge_directory";
    const KINDS: &'static [&'static str] = &["edge"];

    fn create(event: &ProjectedEvent<'_>) -> Option<Self> {
        let FleetEvent::Edge(EdgeNodeEvent::Registered { registration, .. }) = event.event else {
            return None;
        };
        Some(EdgeNodeEntry {
            id: registration.id.to_string(),
            name: registration.name.clone(),
            kind: registration.kind,
            site: registration.site.clone(),
            region: registration.region.clone(),
            models_deployed: 0,
            cpu_pct: None,
            decommissioned: false,
            updated_at: event.recorded_at,
        })
    }

    fn update(&mut self, event: &ProjectedEvent<'_>) -> bool {
        let FleetEvent::Edge(edge_event) = event.event else { return false };
        if let Some(registered) = Self::create(event) {
            *self = registered;
            return true;
        }
        self.updated_at = event.recorded_at;
        match edge_event {
            EdgeNodeEvent::HeartbeatRecorded(heartbeat) => self.cpu_pct = Some(heartbeat.cpu_pct),
            EdgeNodeEvent::ModelDeployed { .. } => self.models_deployed += 1,
            EdgeNodeEvent::ModelRemoved { .. } => self.models_deployed = self.models_deployed.saturating_sub(1),
            EdgeNodeEvent::Decommissioned { .. } => self.decommissioned = true,
            _ => {}
        }
        true
    }
}
