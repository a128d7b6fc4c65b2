//! Folding campaign events into state.

use super::event::CampaignEvent;
use super::state::{CampaignPhase, CampaignState};

pub(super) fn evolve(mut state: CampaignState, event: CampaignEvent) -> CampaignState {
    state.updated_at = event.at();
    match event {
        CampaignEvent::Created { definition, .. } => {
            state.definition = Some(definition);
            state.phase = CampaignPhase::Draft;
        }
        CampaignEvent::TargetsResolved { devices, .. } => {
            state.target_positions = devices.iter().cloned().enumerate().map(|(position, id)| (id, position)).collect();
            state.targets = devices;
        }
        CampaignEvent::Started { .. } | CampaignEvent::Resumed { .. } => state.phase = CampaignPhase::Running,
        CampaignEvent::Paused { .. } => state.phase = CampaignPhase::Paused,
        CampaignEvent::Cancelled { reason, .. } => state.phase = CampaignPhase::Cancelled(reason),
        CampaignEvent::WaveAdvanced { wave, .. } => state.current_wave = usize::try_from(wave).ok(),
        CampaignEvent::DeviceOutcomeRecorded { device_id, outcome, .. } => {
            state.outcomes.insert(device_id, outcome);
        }
        CampaignEvent::Completed { .. } => state.phase = CampaignPhase::Completed,
        CampaignEvent::Aborted { reason, .. } => state.phase = CampaignPhase::Aborted(reason),
    }
    state
}
