//! Given / when / then tests of every edge node rule, and a property test of the fold.

use super::*;
use crate::ids::{DeploymentId, EdgeNodeId};
use crate::scenario::given;
use crate::snapshot_codec::through_snapshot_codec;
use crate::time::Timestamp;

fn registration() -> EdgeNodeRegistration {
    EdgeNodeRegistration {
        id: EdgeNodeId::new("edge-7").expect("valid id"),
        name: "Substation gateway".to_owned(),
        kind: EdgeNodeKind::Gateway,
        hardware: Hardware {
            cores: 4,
            memory_mb: 8_192,
            gpu: Some(GpuSpec { model: "Jetson Orin".to_owned(), memory_mb: 8_192 }),
            network: "lte".to_owned(),
        },
        site: "sub-3".to_owned(),
        region: "eu-west".to_owned(),
    }
}

fn registered() -> EdgeNodeEvent {
    EdgeNodeEvent::Registered { registration: registration(), at: Timestamp(1) }
}

fn deployment() -> DeploymentId {
    DeploymentId::new("dep-1").expect("valid id")
}

fn requested() -> EdgeNodeEvent {
    EdgeNodeEvent::ModelDeploymentRequested {
        deployment_id: deployment(),
        model: "rul-lstm".to_owned(),
        version: "3".to_owned(),
        optimisation: OptimisationLevel::Int8,
        at: Timestamp(5),
    }
}

fn heartbeat(cpu_pct: f64) -> Heartbeat {
    Heartbeat {
        cpu_pct,
        memory_pct: 40.0,
        gpu_pct: Some(10.0),
        inference_rate: 120.0,
        latency_ms: 8.5,
        at: Timestamp(3),
    }
}

#[test]
fn registers_and_rejects_a_second_registration() {
    given::<EdgeNode>([])
        .when(EdgeNodeCommand::Register { registration: registration(), at: Timestamp(1) })
        .then(vec![registered()]);
    given::<EdgeNode>([registered()])
        .when(EdgeNodeCommand::Register { registration: registration(), at: Timestamp(2) })
        .then_error(EdgeNodeError::AlreadyRegistered(registration().id));
}

#[test]
fn rejects_hardware_without_cores() {
    let mut registration = registration();
    registration.hardware.cores = 0;
    given::<EdgeNode>([]).when(EdgeNodeCommand::Register { registration, at: Timestamp(1) }).then_error(
        EdgeNodeError::InvalidRegistration {
            field: "hardware",
            reason: "cores and memory_mb must be positive".to_owned(),
        },
    );
}

#[test]
fn records_heartbeats_and_rejects_impossible_values() {
    given::<EdgeNode>([registered()])
        .when(EdgeNodeCommand::RecordHeartbeat(heartbeat(55.0)))
        .then(vec![EdgeNodeEvent::HeartbeatRecorded(heartbeat(55.0))]);
    given::<EdgeNode>([registered()])
        .when(EdgeNodeCommand::RecordHeartbeat(heartbeat(140.0)))
        .then_error(EdgeNodeError::InvalidHeartbeat { field: "cpu_pct", value: 140.0 });
    let mut bad = heartbeat(10.0);
    bad.latency_ms = f64::INFINITY;
    let result = EdgeNode::decide(
        &EdgeNode::fold(EdgeNodeState::default(), [registered()]),
        EdgeNodeCommand::RecordHeartbeat(bad),
    );
    assert!(matches!(result, Err(EdgeNodeError::InvalidHeartbeat { field: "latency_ms", .. })));
    given::<EdgeNode>([])
        .when(EdgeNodeCommand::RecordHeartbeat(heartbeat(10.0)))
        .then_error(EdgeNodeError::NotRegistered);
}

#[test]
fn model_deployment_lifecycle() {
    given::<EdgeNode>([registered()])
        .when(EdgeNodeCommand::RequestModelDeployment {
            deployment_id: deployment(),
            model: "rul-lstm".to_owned(),
            version: "3".to_owned(),
            optimisation: OptimisationLevel::Int8,
            at: Timestamp(5),
        })
        .then(vec![requested()]);
    given::<EdgeNode>([registered(), requested()])
        .when(EdgeNodeCommand::RequestModelDeployment {
            deployment_id: deployment(),
            model: "other".to_owned(),
            version: "1".to_owned(),
            optimisation: OptimisationLevel::None,
            at: Timestamp(6),
        })
        .then_error(EdgeNodeError::DuplicateDeployment(deployment()));
    given::<EdgeNode>([registered(), requested()])
        .when(EdgeNodeCommand::RemoveModel { deployment_id: deployment(), at: Timestamp(6) })
        .then_error(EdgeNodeError::DeploymentState {
            deployment_id: deployment(),
            state: "requested",
            action: "removing",
        });
    let deployed = EdgeNodeEvent::ModelDeployed { deployment_id: deployment(), at: Timestamp(7) };
    given::<EdgeNode>([registered(), requested()])
        .when(EdgeNodeCommand::ConfirmModelDeployment { deployment_id: deployment(), at: Timestamp(7) })
        .then(vec![deployed.clone()]);
    given::<EdgeNode>([registered(), requested(), deployed.clone()])
        .when(EdgeNodeCommand::FailModelDeployment {
            deployment_id: deployment(),
            reason: "oom".to_owned(),
            at: Timestamp(8),
        })
        .then_error(EdgeNodeError::DeploymentState {
            deployment_id: deployment(),
            state: "deployed",
            action: "failing",
        });
    given::<EdgeNode>([registered(), requested(), deployed])
        .when(EdgeNodeCommand::RemoveModel { deployment_id: deployment(), at: Timestamp(9) })
        .then(vec![EdgeNodeEvent::ModelRemoved { deployment_id: deployment(), at: Timestamp(9) }]);
    given::<EdgeNode>([registered()])
        .when(EdgeNodeCommand::ConfirmModelDeployment { deployment_id: deployment(), at: Timestamp(7) })
        .then_error(EdgeNodeError::UnknownDeployment(deployment()));
}

#[test]
fn service_lifecycle() {
    let started = EdgeNodeEvent::ServiceStarted { service: "inference".to_owned(), at: Timestamp(2) };
    given::<EdgeNode>([registered()])
        .when(EdgeNodeCommand::StartService { service: "inference".to_owned(), at: Timestamp(2) })
        .then(vec![started.clone()]);
    given::<EdgeNode>([registered(), started.clone()])
        .when(EdgeNodeCommand::StartService { service: "inference".to_owned(), at: Timestamp(3) })
        .then_error(EdgeNodeError::ServiceAlreadyRunning("inference".to_owned()));
    given::<EdgeNode>([registered()])
        .when(EdgeNodeCommand::StopService { service: "inference".to_owned(), at: Timestamp(3) })
        .then_error(EdgeNodeError::UnknownService("inference".to_owned()));
    let stopped = EdgeNodeEvent::ServiceStopped { service: "inference".to_owned(), at: Timestamp(4) };
    given::<EdgeNode>([registered(), started.clone()])
        .when(EdgeNodeCommand::StopService { service: "inference".to_owned(), at: Timestamp(4) })
        .then(vec![stopped.clone()]);
    given::<EdgeNode>([registered(), started.clone(), stopped])
        .when(EdgeNodeCommand::StopService { service: "inference".to_owned(), at: Timestamp(5) })
        .then_error(EdgeNodeError::ServiceNotRunning("inference".to_owned()));
    given::<EdgeNode>([registered(), started])
        .when(EdgeNodeCommand::RestartService { service: "inference".to_owned(), at: Timestamp(6) })
        .then(vec![EdgeNodeEvent::ServiceRestarted { service: "inference".to_owned(), at: Timestamp(6) }]);
}

#[test]
fn a_decommissioned_node_rejects_every_command() {
    let decommissioned = EdgeNodeEvent::Decommissioned { reason: "replaced".to_owned(), at: Timestamp(9) };
    given::<EdgeNode>([registered(), decommissioned])
        .when(EdgeNodeCommand::RecordHeartbeat(heartbeat(10.0)))
        .then_error(EdgeNodeError::Decommissioned(registration().id));
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn arbitrary_command() -> impl Strategy<Value = EdgeNodeCommand> {
        prop_oneof![
            Just(EdgeNodeCommand::Register { registration: registration(), at: Timestamp(1) }),
            (-10.0..120.0f64).prop_map(|cpu| EdgeNodeCommand::RecordHeartbeat(heartbeat(cpu))),
            (0..3u8).prop_map(|n| EdgeNodeCommand::RequestModelDeployment {
                deployment_id: DeploymentId::new(format!("d{n}")).expect("valid id"),
                model: "m".to_owned(),
                version: "1".to_owned(),
                optimisation: OptimisationLevel::Fp16,
                at: Timestamp(2),
            }),
            (0..3u8, 0..3u8).prop_map(|(n, op)| {
                let deployment_id = DeploymentId::new(format!("d{n}")).expect("valid id");
                match op {
                    0 => EdgeNodeCommand::ConfirmModelDeployment { deployment_id, at: Timestamp(3) },
                    1 => {
                        EdgeNodeCommand::FailModelDeployment { deployment_id, reason: "x".to_owned(), at: Timestamp(3) }
                    }
                    _ => EdgeNodeCommand::RemoveModel { deployment_id, at: Timestamp(3) },
                }
            }),
            (0..2u8, 0..3u8).prop_map(|(n, op)| {
                let service = format!("svc{n}");
                match op {
                    0 => EdgeNodeCommand::StartService { service, at: Timestamp(4) },
                    1 => EdgeNodeCommand::StopService { service, at: Timestamp(4) },
                    _ => EdgeNodeCommand::RestartService { service, at: Timestamp(4) },
                }
            }),
            Just(EdgeNodeCommand::Decommission { reason: "eol".to_owned(), at: Timestamp(5) }),
        ]
    }

    proptest! {
        #[test]
        fn folding_emitted_events_reproduces_the_state(
            commands in proptest::collection::vec(arbitrary_command(), 0..60),
            snapshot_at in 0usize..60,
        ) {
            let mut state = EdgeNodeState::default();
            let mut log = Vec::new();
            for command in commands {
                if let Ok(events) = EdgeNode::decide(&state, command) {
                    state = EdgeNode::fold(state, events.clone());
                    log.extend(events);
                }
                if let Some(heartbeat) = &state.last_heartbeat {
                    prop_assert!((0.0..=100.0).contains(&heartbeat.cpu_pct));
                }
            }
            let split = snapshot_at.min(log.len());
            let snapshot = through_snapshot_codec(&EdgeNode::fold(EdgeNodeState::default(), log[..split].to_vec()));
            prop_assert_eq!(EdgeNode::fold(snapshot, log[split..].to_vec()), EdgeNode::fold(EdgeNodeState::default(), log));
        }
    }
}
