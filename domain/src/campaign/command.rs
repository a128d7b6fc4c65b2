//! What callers can ask of a campaign.

use super::state::{CampaignKind, DeviceOutcome};
use crate::device::DeviceKind;
use crate::ids::{CampaignId, DeviceId};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// Which devices a campaign targets. Empty lists do not restrict; the target set is resolved
/// against the device directory outside the domain and handed in with
/// [`CampaignCommand::ResolveTargets`].
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TargetSelector {
    /// Device kinds.
    pub kinds: Vec<DeviceKind>,
    /// Regions.
    pub regions: Vec<String>,
    /// Sites.
    pub sites: Vec<String>,
    /// Tags (a device must carry all of them).
    pub tags: Vec<String>,
    /// Explicit device ids.
    pub device_ids: Vec<DeviceId>,
}

/// Everything fixed when a campaign is created.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignDefinition {
    /// External id.
    pub id: CampaignId,
    /// Human-readable name.
    pub name: String,
    /// What the campaign rolls out.
    pub kind: CampaignKind,
    /// Which devices.
    pub selector: TargetSelector,
    /// What to send to each device, as JSON text.
    pub payload: String,
    /// Wave plan: cumulative share of the targets released by each wave, in percent, strictly
    /// increasing and ending at 100 (`[1, 10, 50, 100]`).
    pub waves: Vec<u8>,
    /// Share of a wave's devices that must succeed before the next wave may start (0..=1).
    pub success_threshold: f64,
    /// Share of released devices that may fail; crossing it aborts the campaign (0..=1).
    pub abort_threshold: f64,
    /// How long each device has to report its outcome.
    pub device_timeout_ms: u64,
}

/// A command to the `FleetCampaign` aggregate.
#[derive(Debug, Clone, PartialEq)]
pub enum CampaignCommand {
    /// Create the campaign.
    Create {
        /// Its definition.
        definition: CampaignDefinition,
        /// When.
        at: Timestamp,
    },
    /// Fix the target set (looked up from the device directory by the caller).
    ResolveTargets {
        /// The devices matching the selector, in rollout order.
        devices: Vec<DeviceId>,
        /// When.
        at: Timestamp,
    },
    /// Start the rollout: releases the first wave.
    Start {
        /// When.
        at: Timestamp,
    },
    /// Pause: no new wave is released; outcomes of released devices are still recorded.
    Pause {
        /// When.
        at: Timestamp,
    },
    /// Resume a paused campaign.
    Resume {
        /// When.
        at: Timestamp,
    },
    /// Cancel the campaign.
    Cancel {
        /// Why.
        reason: String,
        /// When.
        at: Timestamp,
    },
    /// Record what happened on one device.
    RecordOutcome {
        /// The device.
        device_id: DeviceId,
        /// What happened.
        outcome: DeviceOutcome,
        /// When.
        at: Timestamp,
    },
    /// Release the next wave.
    AdvanceWave {
        /// When.
        at: Timestamp,
    },
}
