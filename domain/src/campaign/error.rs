//! Why a campaign command is rejected.

use super::state::CampaignPhase;
use crate::ids::{CampaignId, DeviceId};

/// A rejected campaign command.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CampaignError {
    /// The campaign has not been created.
    #[error("campaign does not exist")]
    NotCreated,
    /// The campaign already exists.
    #[error("campaign {0} already exists")]
    AlreadyCreated(CampaignId),
    /// A definition field is not acceptable.
    #[error("invalid campaign field `{field}`: {reason}")]
    InvalidDefinition {
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// Targets can only be resolved once, before the start.
    #[error("the targets were already resolved")]
    TargetsAlreadyResolved,
    /// The selector matched no device.
    #[error("the campaign has no target device")]
    NoTargets,
    /// The campaign cannot start before its targets are resolved.
    #[error("the targets are not resolved yet")]
    TargetsNotResolved,
    /// The campaign was already started.
    #[error("the campaign was already started")]
    AlreadyStarted,
    /// The command needs a running campaign.
    #[error("the campaign is not running (it is {0:?})")]
    NotRunning(CampaignPhase),
    /// The command needs a paused campaign.
    #[error("the campaign is not paused (it is {0:?})")]
    NotPaused(CampaignPhase),
    /// The campaign is over.
    #[error("the campaign is over ({0:?})")]
    Finished(CampaignPhase),
    /// The device is not in the target set.
    #[error("device {0} is not a target of this campaign")]
    NotATarget(DeviceId),
    /// The device's wave has not been released.
    #[error("device {0} is in a wave that has not been released")]
    NotReleased(DeviceId),
    /// The device already reported.
    #[error("the outcome of device {0} was already recorded")]
    OutcomeAlreadyRecorded(DeviceId),
    /// Every wave has been released.
    #[error("every wave has been released")]
    NoMoreWaves,
    /// The current wave has not reached the success threshold.
    #[error("wave {wave} succeeded on {ratio:.3} of its devices; {threshold:.3} is required to advance")]
    WaveBelowThreshold {
        /// The wave.
        wave: usize,
        /// Its success ratio.
        ratio: f64,
        /// The campaign's success threshold.
        threshold: f64,
    },
}
