//! What a campaign is, as folded from its events.

use super::command::CampaignDefinition;
use crate::ids::DeviceId;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a campaign rolls out.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignKind {
    /// New firmware.
    FirmwareUpdate,
    /// New configuration.
    ConfigChange,
    /// A data collection run.
    DataCollection,
    /// A model to edge nodes or smart devices.
    ModelDeployment,
}

/// Where a campaign stands.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignPhase {
    /// Not created yet.
    #[default]
    Unknown,
    /// Created, not started.
    Draft,
    /// Rolling out.
    Running,
    /// Paused by an operator.
    Paused,
    /// Every target reported.
    Completed,
    /// Stopped because too many devices failed.
    Aborted(String),
    /// Cancelled by an operator.
    Cancelled(String),
}

impl CampaignPhase {
    /// Whether the campaign is over.
    pub fn is_finished(&self) -> bool {
        matches!(self, CampaignPhase::Completed | CampaignPhase::Aborted(_) | CampaignPhase::Cancelled(_))
    }
}

/// What happened on one device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceOutcome {
    /// Done.
    Succeeded,
    /// Failed, with the reason.
    Failed(String),
    /// No answer in time.
    TimedOut,
}

impl DeviceOutcome {
    /// Whether it counts as a success.
    pub fn is_success(&self) -> bool {
        matches!(self, DeviceOutcome::Succeeded)
    }
}

/// The state of one campaign, folded from its stream.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CampaignState {
    /// The definition, once created.
    pub definition: Option<CampaignDefinition>,
    /// Where it stands.
    pub phase: CampaignPhase,
    /// The resolved targets, in rollout order.
    pub targets: Vec<DeviceId>,
    /// Position of each target in `targets`.
    pub target_positions: BTreeMap<DeviceId, usize>,
    /// Index of the last released wave, once started.
    pub current_wave: Option<usize>,
    /// Outcome per device.
    pub outcomes: BTreeMap<DeviceId, DeviceOutcome>,
    /// When the last event happened.
    pub updated_at: Timestamp,
}

impl CampaignState {
    /// End (exclusive index into `targets`) of each wave.
    pub fn wave_ends(&self) -> Vec<usize> {
        let total = self.targets.len();
        let plan = self.definition.as_ref().map(|d| d.waves.as_slice()).unwrap_or(&[]);
        let mut previous = 0;
        plan.iter()
            .map(|percent| {
                let end = (total * usize::from(*percent)).div_ceil(100).clamp(previous, total);
                previous = end;
                end
            })
            .collect()
    }

    /// The devices of wave `index`.
    pub fn wave(&self, index: usize) -> &[DeviceId] {
        let ends = self.wave_ends();
        let start = if index == 0 { 0 } else { ends.get(index - 1).copied().unwrap_or(0) };
        let end = ends.get(index).copied().unwrap_or(start);
        &self.targets[start.min(end)..end]
    }

    /// How many targets have been released so far.
    pub fn released(&self) -> usize {
        match self.current_wave {
            Some(index) => self.wave_ends().get(index).copied().unwrap_or(0),
            None => 0,
        }
    }

    /// Whether `device` is a target.
    pub fn is_target(&self, device: &DeviceId) -> bool {
        self.target_positions.contains_key(device)
    }

    /// Whether `device` is in a released wave.
    pub fn is_released(&self, device: &DeviceId) -> bool {
        self.target_positions.get(device).is_some_and(|position| *position < self.released())
    }

    /// Failed (or timed-out) devices.
    pub fn failures(&self) -> usize {
        self.outcomes.values().filter(|o| !o.is_success()).count()
    }

    /// Share of released devices that failed.
    pub fn failure_ratio(&self) -> f64 {
        match self.released() {
            0 => 0.0,
            released => self.failures() as f64 / released as f64,
        }
    }
}
