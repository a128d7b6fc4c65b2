//! Given / when / then tests of every campaign rule, and property tests of its invariants.

use super::*;
use crate::ids::{CampaignId, DeviceId};
use crate::scenario::given;
use crate::snapshot_codec::through_snapshot_codec;
use crate::time::Timestamp;

fn device(n: usize) -> DeviceId {
    DeviceId::new(format!("dev-{n}")).expect("valid id")
}

fn devices(count: usize) -> Vec<DeviceId> {
    (0..count).map(device).collect()
}

fn definition() -> CampaignDefinition {
    CampaignDefinition {
        id: CampaignId::new("fw-2026-11").expect("valid id"),
        name: "Firmware 2.0".to_owned(),
        kind: CampaignKind::FirmwareUpdate,
        selector: TargetSelector { regions: vec!["eu-west".to_owned()], ..TargetSelector::default() },
        payload: r#"{"version":"2.0.0"}"#.to_owned(),
        waves: vec![10, 50, 100],
        success_threshold: 0.9,
        abort_threshold: 0.2,
        device_timeout_ms: 60_000,
    }
}

fn created() -> CampaignEvent {
    CampaignEvent::Created { definition: definition(), at: Timestamp(1) }
}

fn resolved(count: usize) -> CampaignEvent {
    CampaignEvent::TargetsResolved { devices: devices(count), at: Timestamp(2) }
}

fn started(count: usize) -> Vec<CampaignEvent> {
    let first_wave = count.div_ceil(10);
    vec![
        created(),
        resolved(count),
        CampaignEvent::Started { at: Timestamp(3) },
        CampaignEvent::WaveAdvanced { wave: 0, devices: devices(first_wave), at: Timestamp(3) },
    ]
}

fn outcome(n: usize, outcome: DeviceOutcome) -> CampaignEvent {
    CampaignEvent::DeviceOutcomeRecorded { device_id: device(n), outcome, at: Timestamp(4) }
}

#[test]
fn creates_a_campaign_and_rejects_bad_plans() {
    given::<FleetCampaign>([])
        .when(CampaignCommand::Create { definition: definition(), at: Timestamp(1) })
        .then(vec![created()]);
    given::<FleetCampaign>([created()])
        .when(CampaignCommand::Create { definition: definition(), at: Timestamp(1) })
        .then_error(CampaignError::AlreadyCreated(definition().id));
    for waves in [vec![], vec![10, 50], vec![50, 10, 100], vec![0, 100], vec![50, 50, 100]] {
        let mut bad = definition();
        bad.waves = waves;
        let result = FleetCampaign::decide(
            &CampaignState::default(),
            CampaignCommand::Create { definition: bad, at: Timestamp(1) },
        );
        assert!(matches!(result, Err(CampaignError::InvalidDefinition { field: "waves", .. })), "{result:?}");
    }
    let mut bad = definition();
    bad.abort_threshold = 1.5;
    given::<FleetCampaign>([]).when(CampaignCommand::Create { definition: bad, at: Timestamp(1) }).then_error(
        CampaignError::InvalidDefinition {
            field: "abort_threshold",
            reason: "must be a ratio between 0 and 1".to_owned(),
        },
    );
}

#[test]
fn resolves_targets_once_without_duplicates() {
    given::<FleetCampaign>([created()])
        .when(CampaignCommand::ResolveTargets { devices: vec![device(1), device(0), device(1)], at: Timestamp(2) })
        .then(vec![CampaignEvent::TargetsResolved { devices: vec![device(1), device(0)], at: Timestamp(2) }]);
    given::<FleetCampaign>([created(), resolved(3)])
        .when(CampaignCommand::ResolveTargets { devices: devices(2), at: Timestamp(2) })
        .then_error(CampaignError::TargetsAlreadyResolved);
    given::<FleetCampaign>([created()])
        .when(CampaignCommand::ResolveTargets { devices: vec![], at: Timestamp(2) })
        .then_error(CampaignError::NoTargets);
}

#[test]
fn start_releases_the_first_wave_and_cannot_happen_twice() {
    given::<FleetCampaign>([created(), resolved(20)])
        .when(CampaignCommand::Start { at: Timestamp(3) })
        .then(started(20)[2..].to_vec());
    given::<FleetCampaign>(started(20))
        .when(CampaignCommand::Start { at: Timestamp(4) })
        .then_error(CampaignError::AlreadyStarted);
    given::<FleetCampaign>([created()])
        .when(CampaignCommand::Start { at: Timestamp(3) })
        .then_error(CampaignError::TargetsNotResolved);
    given::<FleetCampaign>([]).when(CampaignCommand::Start { at: Timestamp(3) }).then_error(CampaignError::NotCreated);
}

#[test]
fn rejects_outcomes_outside_the_target_set_or_unreleased_waves() {
    given::<FleetCampaign>(started(20))
        .when(CampaignCommand::RecordOutcome {
            device_id: device(99),
            outcome: DeviceOutcome::Succeeded,
            at: Timestamp(4),
        })
        .then_error(CampaignError::NotATarget(device(99)));
    given::<FleetCampaign>(started(20))
        .when(CampaignCommand::RecordOutcome {
            device_id: device(5),
            outcome: DeviceOutcome::Succeeded,
            at: Timestamp(4),
        })
        .then_error(CampaignError::NotReleased(device(5)));
    let mut events = started(20);
    events.push(outcome(0, DeviceOutcome::Succeeded));
    given::<FleetCampaign>(events)
        .when(CampaignCommand::RecordOutcome {
            device_id: device(0),
            outcome: DeviceOutcome::Succeeded,
            at: Timestamp(5),
        })
        .then_error(CampaignError::OutcomeAlreadyRecorded(device(0)));
    given::<FleetCampaign>([created(), resolved(20)])
        .when(CampaignCommand::RecordOutcome {
            device_id: device(0),
            outcome: DeviceOutcome::Succeeded,
            at: Timestamp(4),
        })
        .then_error(CampaignError::NotRunning(CampaignPhase::Draft));
}

#[test]
fn aborts_when_the_failure_ratio_crosses_the_threshold() {
    let mut events = started(20);
    events.push(outcome(0, DeviceOutcome::Succeeded));
    given::<FleetCampaign>(events)
        .when(CampaignCommand::RecordOutcome {
            device_id: device(1),
            outcome: DeviceOutcome::TimedOut,
            at: Timestamp(5),
        })
        .then(vec![
            outcome(1, DeviceOutcome::TimedOut).with_at(5),
            CampaignEvent::Aborted {
                reason: "1 of 2 released devices failed: failure ratio 0.500 exceeds the abort threshold 0.200"
                    .to_owned(),
                at: Timestamp(5),
            },
        ]);
}

#[test]
fn advances_waves_only_past_the_success_threshold_and_while_running() {
    let mut events = started(20);
    events.push(outcome(0, DeviceOutcome::Succeeded));
    given::<FleetCampaign>(events.clone())
        .when(CampaignCommand::AdvanceWave { at: Timestamp(6) })
        .then_error(CampaignError::WaveBelowThreshold { wave: 0, ratio: 0.5, threshold: 0.9 });
    events.push(outcome(1, DeviceOutcome::Succeeded));
    given::<FleetCampaign>(events.clone())
        .when(CampaignCommand::AdvanceWave { at: Timestamp(6) })
        .then(vec![CampaignEvent::WaveAdvanced { wave: 1, devices: (2..10).map(device).collect(), at: Timestamp(6) }]);
    events.push(CampaignEvent::Paused { at: Timestamp(6) });
    given::<FleetCampaign>(events.clone())
        .when(CampaignCommand::AdvanceWave { at: Timestamp(7) })
        .then_error(CampaignError::NotRunning(CampaignPhase::Paused));
    given::<FleetCampaign>(events.clone())
        .when(CampaignCommand::Pause { at: Timestamp(7) })
        .then_error(CampaignError::NotRunning(CampaignPhase::Paused));
    given::<FleetCampaign>(events)
        .when(CampaignCommand::Resume { at: Timestamp(7) })
        .then(vec![CampaignEvent::Resumed { at: Timestamp(7) }]);
}

#[test]
fn completes_when_every_target_reported() {
    let mut events = vec![
        created(),
        resolved(2),
        CampaignEvent::Started { at: Timestamp(3) },
        CampaignEvent::WaveAdvanced { wave: 0, devices: devices(1), at: Timestamp(3) },
        outcome(0, DeviceOutcome::Succeeded),
        CampaignEvent::WaveAdvanced { wave: 1, devices: vec![], at: Timestamp(4) },
        CampaignEvent::WaveAdvanced { wave: 2, devices: vec![device(1)], at: Timestamp(4) },
    ];
    given::<FleetCampaign>(events.clone())
        .when(CampaignCommand::AdvanceWave { at: Timestamp(5) })
        .then_error(CampaignError::NoMoreWaves);
    given::<FleetCampaign>(events.clone())
        .when(CampaignCommand::RecordOutcome {
            device_id: device(1),
            outcome: DeviceOutcome::Succeeded,
            at: Timestamp(5),
        })
        .then(vec![
            outcome(1, DeviceOutcome::Succeeded).with_at(5),
            CampaignEvent::Completed { succeeded: 2, failed: 0, at: Timestamp(5) },
        ]);
    events.push(CampaignEvent::Completed { succeeded: 2, failed: 0, at: Timestamp(5) });
    given::<FleetCampaign>(events)
        .when(CampaignCommand::Cancel { reason: "late".to_owned(), at: Timestamp(6) })
        .then_error(CampaignError::Finished(CampaignPhase::Completed));
}

#[test]
fn wave_sizes_follow_the_plan() {
    let state = FleetCampaign::fold(CampaignState::default(), [created(), resolved(3)]);
    assert_eq!(state.wave_ends(), vec![1, 2, 3]);
    let state = FleetCampaign::fold(CampaignState::default(), [created(), resolved(1)]);
    assert_eq!(state.wave_ends(), vec![1, 1, 1]);
    let state = FleetCampaign::fold(CampaignState::default(), [created(), resolved(1_000)]);
    assert_eq!(state.wave_ends(), vec![100, 500, 1_000]);
}

impl CampaignEvent {
    fn with_at(self, millis: i64) -> CampaignEvent {
        match self {
            CampaignEvent::DeviceOutcomeRecorded { device_id, outcome, .. } => {
                CampaignEvent::DeviceOutcomeRecorded { device_id, outcome, at: Timestamp(millis) }
            }
            other => other,
        }
    }
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn arbitrary_command() -> impl Strategy<Value = CampaignCommand> {
        prop_oneof![
            Just(CampaignCommand::Create { definition: definition(), at: Timestamp(1) }),
            (0..25usize).prop_map(|n| CampaignCommand::ResolveTargets { devices: devices(n), at: Timestamp(2) }),
            Just(CampaignCommand::Start { at: Timestamp(3) }),
            Just(CampaignCommand::Pause { at: Timestamp(3) }),
            Just(CampaignCommand::Resume { at: Timestamp(3) }),
            Just(CampaignCommand::AdvanceWave { at: Timestamp(3) }),
            (0..30usize, 0..10u8).prop_map(|(n, roll)| CampaignCommand::RecordOutcome {
                device_id: device(n),
                outcome: if roll == 0 { DeviceOutcome::Failed("x".to_owned()) } else { DeviceOutcome::Succeeded },
                at: Timestamp(4),
            }),
            Just(CampaignCommand::Cancel { reason: "stop".to_owned(), at: Timestamp(5) }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn invariants_hold_and_folds_agree(
            commands in proptest::collection::vec(arbitrary_command(), 0..120),
            snapshot_at in 0usize..200,
        ) {
            let mut state = CampaignState::default();
            let mut log = Vec::new();
            for command in commands {
                let before = state.phase.clone();
                if let Ok(events) = FleetCampaign::decide(&state, command) {
                    prop_assert!(!before.is_finished(), "a finished campaign emitted events");
                    state = FleetCampaign::fold(state, events.clone());
                    log.extend(events);
                }
                for device in state.outcomes.keys() {
                    prop_assert!(state.is_released(device), "outcome for an unreleased device");
                }
                let abort = state.definition.as_ref().map_or(1.0, |d| d.abort_threshold);
                if !matches!(state.phase, CampaignPhase::Aborted(_)) {
                    prop_assert!(state.failure_ratio() <= abort, "failure ratio over threshold without abort");
                }
                if state.phase == CampaignPhase::Completed {
                    prop_assert_eq!(state.outcomes.len(), state.targets.len());
                }
            }
            let split = snapshot_at.min(log.len());
            let snapshot = through_snapshot_codec(&FleetCampaign::fold(CampaignState::default(), log[..split].to_vec()));
            prop_assert_eq!(FleetCampaign::fold(snapshot, log[split..].to_vec()), FleetCampaign::fold(CampaignState::default(), log));
        }
    }
}
