//! The rules of a campaign.

use super::command::{CampaignCommand, CampaignDefinition};
use super::error::CampaignError;
use super::event::CampaignEvent;
use super::state::{CampaignPhase, CampaignState, DeviceOutcome};
use crate::ids::DeviceId;
use crate::time::Timestamp;
use std::collections::BTreeSet;

pub(super) fn decide(state: &CampaignState, command: CampaignCommand) -> Result<Vec<CampaignEvent>, CampaignError> {
    if let CampaignCommand::Create { definition, at } = command {
        return create(state, definition, at);
    }
    let definition = state.definition.as_ref().ok_or(CampaignError::NotCreated)?;
    if state.phase.is_finished() {
        return Err(CampaignError::Finished(state.phase.clone()));
    }
    match command {
        CampaignCommand::Create { .. } => Err(CampaignError::AlreadyCreated(definition.id.clone())),
        CampaignCommand::ResolveTargets { devices, at } => resolve_targets(state, devices, at),
        CampaignCommand::Start { at } => start(state, at),
        CampaignCommand::Pause { at } => match state.phase {
            CampaignPhase::Running => Ok(vec![CampaignEvent::Paused { at }]),
            _ => Err(CampaignError::NotRunning(state.phase.clone())),
        },
        CampaignCommand::Resume { at } => match state.phase {
            CampaignPhase::Paused => Ok(vec![CampaignEvent::Resumed { at }]),
            _ => Err(CampaignError::NotPaused(state.phase.clone())),
        },
        CampaignCommand::Cancel { reason, at } => Ok(vec![CampaignEvent::Cancelled { reason, at }]),
        CampaignCommand::RecordOutcome { device_id, outcome, at } => {
            record_outcome(state, definition, device_id, outcome, at)
        }
        CampaignCommand::AdvanceWave { at } => advance_wave(state, definition, at),
    }
}

fn create(
    state: &CampaignState,
    definition: CampaignDefinition,
    at: Timestamp,
) -> Result<Vec<CampaignEvent>, CampaignError> {
    if let Some(existing) = &state.definition {
        return Err(CampaignError::AlreadyCreated(existing.id.clone()));
    }
    let invalid = |field, reason: &str| Err(CampaignError::InvalidDefinition { field, reason: reason.to_owned() });
    if definition.name.trim().is_empty() {
        return invalid("name", "must not be empty");
    }
    if definition.waves.is_empty() || definition.waves.last() != Some(&100) {
        return invalid("waves", "must be cumulative percentages ending at 100");
    }
    if definition.waves.windows(2).any(|pair| pair[0] >= pair[1]) || definition.waves[0] == 0 {
        return invalid("waves", "must be strictly increasing percentages from 1 to 100");
    }
    for (field, ratio) in
        [("success_threshold", definition.success_threshold), ("abort_threshold", definition.abort_threshold)]
    {
        if !(0.0..=1.0).contains(&ratio) {
            return invalid(field, "must be a ratio between 0 and 1");
        }
    }
    if definition.device_timeout_ms == 0 {
        return invalid("device_timeout_ms", "must be positive");
    }
    Ok(vec![CampaignEvent::Created { definition, at }])
}

fn resolve_targets(
    state: &CampaignState,
    devices: Vec<DeviceId>,
    at: Timestamp,
) -> Result<Vec<CampaignEvent>, CampaignError> {
    if !state.targets.is_empty() {
        return Err(CampaignError::TargetsAlreadyResolved);
    }
    if state.phase != CampaignPhase::Draft {
        return Err(CampaignError::AlreadyStarted);
    }
    let mut seen = BTreeSet::new();
    let devices: Vec<DeviceId> = devices.into_iter().filter(|device| seen.insert(device.clone())).collect();
    if devices.is_empty() {
        return Err(CampaignError::NoTargets);
    }
    Ok(vec![CampaignEvent::TargetsResolved { devices, at }])
}

fn start(state: &CampaignState, at: Timestamp) -> Result<Vec<CampaignEvent>, CampaignError> {
    if state.phase != CampaignPhase::Draft {
        return Err(CampaignError::AlreadyStarted);
    }
    if state.targets.is_empty() {
        return Err(CampaignError::TargetsNotResolved);
    }
    Ok(vec![
        CampaignEvent::Started { at },
        CampaignEvent::WaveAdvanced { wave: 0, devices: state.wave(0).to_vec(), at },
    ])
}

fn record_outcome(
    state: &CampaignState,
    definition: &CampaignDefinition,
    device_id: DeviceId,
    outcome: DeviceOutcome,
    at: Timestamp,
) -> Result<Vec<CampaignEvent>, CampaignError> {
    if !matches!(state.phase, CampaignPhase::Running | CampaignPhase::Paused) {
        return Err(CampaignError::NotRunning(state.phase.clone()));
    }
    if !state.is_target(&device_id) {
        return Err(CampaignError::NotATarget(device_id));
    }
    if !state.is_released(&device_id) {
        return Err(CampaignError::NotReleased(device_id));
    }
    if state.outcomes.contains_key(&device_id) {
        return Err(CampaignError::OutcomeAlreadyRecorded(device_id));
    }
    let failed = usize::from(!outcome.is_success());
    let mut events = vec![CampaignEvent::DeviceOutcomeRecorded { device_id, outcome, at }];
    let failures = state.failures() + failed;
    let ratio = failures as f64 / state.released() as f64;
    if ratio > definition.abort_threshold {
        events.push(CampaignEvent::Aborted {
            reason: format!(
                "{failures} of {} released devices failed: failure ratio {ratio:.3} exceeds the abort threshold {:.3}",
                state.released(),
                definition.abort_threshold
            ),
            at,
        });
    } else if state.outcomes.len() + 1 == state.targets.len() {
        let failed = u32::try_from(failures).unwrap_or(u32::MAX);
        let succeeded = u32::try_from(state.targets.len() - failures).unwrap_or(u32::MAX);
        events.push(CampaignEvent::Completed { succeeded, failed, at });
    }
    Ok(events)
}

fn advance_wave(
    state: &CampaignState,
    definition: &CampaignDefinition,
    at: Timestamp,
) -> Result<Vec<CampaignEvent>, CampaignError> {
    if state.phase != CampaignPhase::Running {
        return Err(CampaignError::NotRunning(state.phase.clone()));
    }
    let current = state.current_wave.unwrap_or(0);
    let next = current + 1;
    if next >= definition.waves.len() {
        return Err(CampaignError::NoMoreWaves);
    }
    let wave = state.wave(current);
    let succeeded = wave.iter().filter(|d| state.outcomes.get(*d).is_some_and(DeviceOutcome::is_success)).count();
    let ratio = if wave.is_empty() { 1.0 } else { succeeded as f64 / wave.len() as f64 };
    if ratio < definition.success_threshold {
        return Err(CampaignError::WaveBelowThreshold {
            wave: current,
            ratio,
            threshold: definition.success_threshold,
        });
    }
    let wave_index = u32::try_from(next).unwrap_or(u32::MAX);
    Ok(vec![CampaignEvent::WaveAdvanced { wave: wave_index, devices: state.wave(next).to_vec(), at }])
}
