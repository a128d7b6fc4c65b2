//! What happened to a campaign.

use super::command::CampaignDefinition;
use super::state::DeviceOutcome;
use crate::aggregate::EventName;
use crate::ids::DeviceId;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// An event of the `FleetCampaign` aggregate. New variants go at the end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignEvent {
    /// The campaign was created.
    Created {
        /// Its definition.
        definition: CampaignDefinition,
        /// When.
        at: Timestamp,
    },
    /// The target set was fixed.
    TargetsResolved {
        /// The devices, in rollout order, without duplicates.
        devices: Vec<DeviceId>,
        /// When.
        at: Timestamp,
    },
    /// The rollout started.
    Started {
        /// When.
        at: Timestamp,
    },
    /// The rollout was paused.
    Paused {
        /// When.
        at: Timestamp,
    },
    /// The rollout was resumed.
    Resumed {
        /// When.
        at: Timestamp,
    },
    /// The campaign was cancelled.
    Cancelled {
        /// Why.
        reason: String,
        /// When.
        at: Timestamp,
    },
    /// A wave was released.
    WaveAdvanced {
        /// Index of the wave (0 for the first).
        wave: u32,
        /// Its devices.
        devices: Vec<DeviceId>,
        /// When.
        at: Timestamp,
    },
    /// A device reported its outcome.
    DeviceOutcomeRecorded {
        /// The device.
        device_id: DeviceId,
        /// What happened.
        outcome: DeviceOutcome,
        /// When.
        at: Timestamp,
    },
    /// Every target reported.
    Completed {
        /// Devices that succeeded.
        succeeded: u32,
        /// Devices that failed or timed out.
        failed: u32,
        /// When.
        at: Timestamp,
    },
    /// Too many devices failed.
    Aborted {
        /// Why.
        reason: String,
        /// When.
        at: Timestamp,
    },
}

impl CampaignEvent {
    /// When the event happened.
    pub fn at(&self) -> Timestamp {
        match self {
            CampaignEvent::Created { at, .. }
            | CampaignEvent::TargetsResolved { at, .. }
            | CampaignEvent::Started { at }
            | CampaignEvent::Paused { at }
            | CampaignEvent::Resumed { at }
            | CampaignEvent::Cancelled { at, .. }
            | CampaignEvent::WaveAdvanced { at, .. }
            | CampaignEvent::DeviceOutcomeRecorded { at, .. }
            | CampaignEvent::Completed { at, .. }
            | CampaignEvent::Aborted { at, .. } => *at,
        }
    }
}

impl EventName for CampaignEvent {
    fn event_name(&self) -> &'static str {
        match self {
            CampaignEvent::Created { .. } => "campaign.created",
            CampaignEvent::TargetsResolved { .. } => "campaign.targets_resolved",
            CampaignEvent::Started { .. } => "campaign.started",
            CampaignEvent::Paused { .. } => "campaign.paused",
            CampaignEvent::Resumed { .. } => "campaign.resumed",
            CampaignEvent::Cancelled { .. } => "campaign.cancelled",
            CampaignEvent::WaveAdvanced { .. } => "campaign.wave_advanced",
            CampaignEvent::DeviceOutcomeRecorded { .. } => "campaign.device_outcome_recorded",
            CampaignEvent::Completed { .. } => "campaign.completed",
            CampaignEvent::Aborted { .. } => "campaign.aborted",
        }
    }
}
