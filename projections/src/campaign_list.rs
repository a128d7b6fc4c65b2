//! The campaign list.

use crate::directory::DirectoryEntry;
use crate::projection::ProjectedEvent;
use optibid_domain::campaign::{CampaignEvent, CampaignKind};
use optibid_domain::FleetEvent;
use serde::{Deserialize, Serialize};

/// One campaign in the list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignEntry {
    /// Campaign id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: CampaignKind,
    /// Phase: draft, running, paused, completed, aborted, cancelled.
    pub phase: String,
    /// Targets resolved.
    pub targets: u32,
    /// Outcomes recorded.
    pub outcomes: u32,
    /// Failed outcomes.
    pub failures: u32,
    /// Commit time of its last event (ms).
    pub updated_at: i64,
}

/// Filters of the campaign list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct CampaignFilter {
    /// Phase.
    pub phase: Option<String>,
    /// Kind.
    pub kind: Option<CampaignKind>,
}

impl CampaignFilter {
    /// Whether `entry` passes the filter.
    pub fn matches(&self, entry: &CampaignEntry) -> bool {
        self.phase.as_ref().is_none_or(|phase| &entry.phase == phase) && self.kind.is_none_or(|kind| entry.kind == kind)
    }
}

impl DirectoryEntry for CampaignEntry {
    const PROJECTION: &'static str = "campaign_list";
    const KINDS: &'static [&'static str] = &["campaign"];

    fn create(event: &ProjectedEvent<'_>) -> Option<Self> {
        let FleetEvent::Campaign(CampaignEvent::Created { definition, .. }) = event.event else {
            return None;
        };
        Some(CampaignEntry {
            id: definition.id.to_string(),
            name: definition.name.clone(),
            kind: definition.kind,
            phase: "draft".to_owned(),
            targets: 0,
            outcomes: 0,
            failures: 0,
            updated_at: event.recorded_at,
        })
    }

    fn update(&mut self, event: &ProjectedEvent<'_>) -> bool {
        let FleetEvent::Campaign(campaign_event) = event.event else { return false };
        if let Some(created) = Self::create(event) {
            *self = created;
            return true;
        }
        let entry = self;
        entry.updated_at = event.recorded_at;
        match campaign_event {
            CampaignEvent::TargetsResolved { devices, .. } => {
                entry.targets = u32::try_from(devices.len()).unwrap_or(u32::MAX)
            }
            CampaignEvent::Started { .. } | CampaignEvent::Resumed { .. } => entry.phase = "running".to_owned(),
            CampaignEvent::Paused { .. } => entry.phase = "paused".to_owned(),
            CampaignEvent::Cancelled { .. } => entry.phase = "cancelled".to_owned(),
            CampaignEvent::Completed { .. } => entry.phase = "completed".to_owned(),
            CampaignEvent::Aborted { .. } => entry.phase = "aborted".to_owned(),
            CampaignEvent::DeviceOutcomeRecorded { outcome, .. } => {
                entry.outcomes += 1;
                entry.failures += u32::from(!outcome.is_success());
            }
            _ => {}
        }
        true
    }
}
