//! Given / when / then tests of every device rule, and property tests of the fold.

use super::*;
use crate::ids::{AlertId, CommandId, DeviceId, MaintenanceId};
use crate::retention::FINISHED_ITEMS_KEPT;
use crate::scenario::given;
use crate::snapshot_codec::through_snapshot_codec;
use crate::time::Timestamp;
use std::collections::BTreeMap;

fn id() -> DeviceId {
    DeviceId::new("iot-001-solar-a").expect("valid id")
}

fn registration() -> DeviceRegistration {
    DeviceRegistration {
        location: None,
        id: id(),
        name: "Inverter A".to_owned(),
        kind: DeviceKind::SolarInverter,
        protocol: Protocol::Mqtt,
        site: "plant-1".to_owned(),
        region: "eu-west".to_owned(),
        tags: vec!["rooftop".to_owned()],
        firmware_version: "1.0.0".to_owned(),
        metrics: vec![MetricDeclaration {
            name: "temperature_c".to_owned(),
            unit: "°C".to_owned(),
            normal_min: Some(-20.0),
            normal_max: Some(70.0),
        }],
    }
}

fn registered() -> DeviceEvent {
    DeviceEvent::Registered { registration: registration(), at: Timestamp(1) }
}

fn command_id() -> CommandId {
    CommandId::new("cmd-1").expect("valid id")
}

fn issued() -> DeviceEvent {
    DeviceEvent::CommandIssued {
        command_id: command_id(),
        name: "reboot".to_owned(),
        params: "{}".to_owned(),
        deadline: Timestamp(1_010),
        at: Timestamp(10),
    }
}

fn alert_id() -> AlertId {
    AlertId::new("alert-1").expect("valid id")
}

fn alert_raised() -> DeviceEvent {
    DeviceEvent::AlertRaised {
        alert_id: alert_id(),
        severity: AlertSeverity::Warning,
        metric: Some("temperature_c".to_owned()),
        message: "hot".to_owned(),
        at: Timestamp(20),
    }
}

fn extremes(min: f64, max: f64) -> Vec<MetricExtremes> {
    vec![MetricExtremes { metric: "temperature_c".to_owned(), min, max }]
}

#[test]
fn registers_a_new_device() {
    given::<Device>([])
        .when(DeviceCommand::Register { registration: registration(), at: Timestamp(1) })
        .then(vec![registered()]);
}

#[test]
fn rejects_a_second_registration() {
    given::<Device>([registered()])
        .when(DeviceCommand::Register { registration: registration(), at: Timestamp(2) })
        .then_error(DeviceError::AlreadyRegistered(id()));
}

#[test]
fn rejects_a_registration_with_an_empty_name() {
    let mut registration = registration();
    registration.name = " ".to_owned();
    given::<Device>([])
        .when(DeviceCommand::Register { registration, at: Timestamp(1) })
        .then_error(DeviceError::InvalidRegistration { field: "name", reason: "must not be empty".to_owned() });
}

#[test]
fn rejects_a_registration_with_an_inverted_range() {
    let mut registration = registration();
    registration.metrics[0].normal_min = Some(100.0);
    let result = Device::decide(&DeviceState::default(), DeviceCommand::Register { registration, at: Timestamp(1) });
    assert!(matches!(result, Err(DeviceError::InvalidRegistration { field: "metrics", .. })));
}

#[test]
fn rejects_a_registration_with_a_metric_declared_twice() {
    let mut registration = registration();
    registration.metrics.push(registration.metrics[0].clone());
    let result = Device::decide(&DeviceState::default(), DeviceCommand::Register { registration, at: Timestamp(1) });
    assert!(matches!(result, Err(DeviceError::InvalidRegistration { field: "metrics", .. })));
}

#[test]
fn rejects_commands_before_registration() {
    given::<Device>([])
        .when(DeviceCommand::ChangeStatus { status: DeviceStatus::Online, reason: None, at: Timestamp(1) })
        .then_error(DeviceError::NotRegistered);
}

#[test]
fn changes_status() {
    given::<Device>([registered()])
        .when(DeviceCommand::ChangeStatus {
            status: DeviceStatus::Maintenance,
            reason: Some("inspection".to_owned()),
            at: Timestamp(5),
        })
        .then(vec![DeviceEvent::StatusChanged {
            from: DeviceStatus::Offline,
            to: DeviceStatus::Maintenance,
            reason: Some("inspection".to_owned()),
            from_telemetry: false,
            at: Timestamp(5),
        }]);
}

#[test]
fn rejects_a_status_it_already_has() {
    given::<Device>([registered()])
        .when(DeviceCommand::ChangeStatus { status: DeviceStatus::Offline, reason: None, at: Timestamp(5) })
        .then_error(DeviceError::StatusUnchanged(DeviceStatus::Offline));
}

#[test]
fn issues_a_command_with_its_deadline() {
    given::<Device>([registered()])
        .when(DeviceCommand::IssueCommand {
            command_id: command_id(),
            name: "reboot".to_owned(),
            params: "{}".to_owned(),
            timeout_ms: 1_000,
            at: Timestamp(10),
        })
        .then(vec![issued()]);
}

#[test]
fn rejects_a_command_id_issued_twice() {
    given::<Device>([registered(), issued()])
        .when(DeviceCommand::IssueCommand {
            command_id: command_id(),
            name: "reboot".to_owned(),
            params: "{}".to_owned(),
            timeout_ms: 1_000,
            at: Timestamp(11),
        })
        .then_error(DeviceError::DuplicateCommand(command_id()));
}

#[test]
fn rejects_a_command_without_timeout() {
    given::<Device>([registered()])
        .when(DeviceCommand::IssueCommand {
            command_id: command_id(),
            name: "reboot".to_owned(),
            params: "{}".to_owned(),
            timeout_ms: 0,
            at: Timestamp(10),
        })
        .then_error(DeviceError::InvalidCommand("the timeout must be positive".to_owned()));
}

#[test]
fn records_the_command_lifecycle() {
    given::<Device>([registered(), issued()])
        .when(DeviceCommand::RecordCommandResponse {
            command_id: command_id(),
            response: CommandResponse::Accepted,
            at: Timestamp(12),
        })
        .then(vec![DeviceEvent::CommandAccepted { command_id: command_id(), at: Timestamp(12) }]);
    given::<Device>([registered(), issued()])
        .when(DeviceCommand::RecordCommandResponse {
            command_id: command_id(),
            response: CommandResponse::Progress(40),
            at: Timestamp(13),
        })
        .then(vec![DeviceEvent::CommandProgressed { command_id: command_id(), percent: 40, at: Timestamp(13) }]);
    given::<Device>([registered(), issued()])
        .when(DeviceCommand::RecordCommandResponse {
            command_id: command_id(),
            response: CommandResponse::Failed { reason: "busy".to_owned() },
            at: Timestamp(14),
        })
        .then(vec![DeviceEvent::CommandFailed {
            command_id: command_id(),
            reason: "busy".to_owned(),
            at: Timestamp(14),
        }]);
}

#[test]
fn rejects_progress_over_one_hundred() {
    given::<Device>([registered(), issued()])
        .when(DeviceCommand::RecordCommandResponse {
            command_id: command_id(),
            response: CommandResponse::Progress(101),
            at: Timestamp(13),
        })
        .then_error(DeviceError::InvalidProgress(101));
}

#[test]
fn rejects_a_response_to_a_finished_command() {
    let succeeded =
        DeviceEvent::CommandSucceeded { command_id: command_id(), detail: "ok".to_owned(), at: Timestamp(15) };
    given::<Device>([registered(), issued(), succeeded])
        .when(DeviceCommand::RecordCommandResponse {
            command_id: command_id(),
            response: CommandResponse::Accepted,
            at: Timestamp(16),
        })
        .then_error(DeviceError::CommandFinished(command_id()));
}

#[test]
fn rejects_a_response_to_an_unknown_command() {
    given::<Device>([registered()])
        .when(DeviceCommand::RecordCommandResponse {
            command_id: command_id(),
            response: CommandResponse::Accepted,
            at: Timestamp(16),
        })
        .then_error(DeviceError::UnknownCommand(command_id()));
}

#[test]
fn times_a_command_out_only_after_its_deadline() {
    given::<Device>([registered(), issued()])
        .when(DeviceCommand::TimeOutCommand { command_id: command_id(), at: Timestamp(1_009) })
        .then_error(DeviceError::DeadlineNotReached { command_id: command_id(), deadline: Timestamp(1_010) });
    given::<Device>([registered(), issued()])
        .when(DeviceCommand::TimeOutCommand { command_id: command_id(), at: Timestamp(1_010) })
        .then(vec![DeviceEvent::CommandTimedOut { command_id: command_id(), at: Timestamp(1_010) }]);
}

#[test]
fn records_the_first_delivery_of_a_pending_command_only() {
    let delivered = DeviceEvent::CommandDelivered { command_id: command_id(), at: Timestamp(11) };
    given::<Device>([registered(), issued()])
        .when(DeviceCommand::RecordCommandDelivery { command_id: command_id(), at: Timestamp(11) })
        .then(vec![delivered.clone()]);
    given::<Device>([registered(), issued(), delivered])
        .when(DeviceCommand::RecordCommandDelivery { command_id: command_id(), at: Timestamp(12) })
        .then(vec![]);
    let succeeded =
        DeviceEvent::CommandSucceeded { command_id: command_id(), detail: "ok".to_owned(), at: Timestamp(15) };
    given::<Device>([registered(), issued(), succeeded])
        .when(DeviceCommand::RecordCommandDelivery { command_id: command_id(), at: Timestamp(16) })
        .then(vec![]);
    given::<Device>([registered()])
        .when(DeviceCommand::RecordCommandDelivery { command_id: command_id(), at: Timestamp(16) })
        .then_error(DeviceError::UnknownCommand(command_id()));
}

#[test]
fn a_delivered_command_is_no_longer_waiting_for_delivery() {
    let state = Device::fold(DeviceState::default(), vec![registered(), issued()]);
    assert_eq!(state.undelivered_commands().map(|c| c.params.as_str()).collect::<Vec<_>>(), vec!["{}"]);
    let state =
        Device::fold(state, vec![DeviceEvent::CommandDelivered { command_id: command_id(), at: Timestamp(11) }]);
    assert_eq!(state.undelivered_commands().count(), 0);
    assert_eq!(state.command(&command_id()).and_then(|c| c.delivered_at), Some(Timestamp(11)));
}

#[test]
fn presence_brings_a_device_online_and_takes_it_offline() {
    let connect = |at| DeviceCommand::ObservePresence { connected: true, reason: "connected".to_owned(), at };
    let drop = |at| DeviceCommand::ObservePresence { connected: false, reason: "keep-alive expired".to_owned(), at };
    let online = DeviceEvent::StatusChanged {
        from: DeviceStatus::Offline,
        to: DeviceStatus::Online,
        reason: Some("connected".to_owned()),
        from_telemetry: false,
        at: Timestamp(5),
    };
    given::<Device>([registered()]).when(connect(Timestamp(5))).then(vec![online.clone()]);
    given::<Device>([registered(), online.clone()]).when(connect(Timestamp(6))).then(vec![]);
    given::<Device>([registered(), online.clone()]).when(drop(Timestamp(7))).then(vec![DeviceEvent::StatusChanged {
        from: DeviceStatus::Online,
        to: DeviceStatus::Offline,
        reason: Some("keep-alive expired".to_owned()),
        from_telemetry: false,
        at: Timestamp(7),
    }]);
    given::<Device>([registered()]).when(drop(Timestamp(7))).then(vec![]);
    let maintenance = DeviceEvent::StatusChanged {
        from: DeviceStatus::Online,
        to: DeviceStatus::Maintenance,
        reason: None,
        from_telemetry: false,
        at: Timestamp(6),
    };
    given::<Device>([registered(), online, maintenance]).when(drop(Timestamp(7))).then(vec![]);
}

#[test]
fn changes_firmware_but_not_to_the_same_version() {
    given::<Device>([registered()])
        .when(DeviceCommand::ChangeFirmware { version: "1.1.0".to_owned(), at: Timestamp(3) })
        .then(vec![DeviceEvent::FirmwareChanged {
            from: "1.0.0".to_owned(),
            to: "1.1.0".to_owned(),
            at: Timestamp(3),
        }]);
    given::<Device>([registered()])
        .when(DeviceCommand::ChangeFirmware { version: "1.0.0".to_owned(), at: Timestamp(3) })
        .then_error(DeviceError::FirmwareUnchanged("1.0.0".to_owned()));
}

#[test]
fn configuration_changes_keep_only_real_changes() {
    let first = BTreeMap::from([("interval_s".to_owned(), "10".to_owned())]);
    let changed = DeviceEvent::ConfigurationChanged { changes: first.clone(), at: Timestamp(3) };
    given::<Device>([registered(), changed.clone()])
        .when(DeviceCommand::ChangeConfiguration { changes: first, at: Timestamp(4) })
        .then(vec![]);
    let second =
        BTreeMap::from([("interval_s".to_owned(), "10".to_owned()), ("mode".to_owned(), "\"eco\"".to_owned())]);
    given::<Device>([registered(), changed])
        .when(DeviceCommand::ChangeConfiguration { changes: second, at: Timestamp(4) })
        .then(vec![DeviceEvent::ConfigurationChanged {
            changes: BTreeMap::from([("mode".to_owned(), "\"eco\"".to_owned())]),
            at: Timestamp(4),
        }]);
}

#[test]
fn alert_lifecycle() {
    given::<Device>([registered()])
        .when(DeviceCommand::RaiseAlert {
            alert_id: alert_id(),
            severity: AlertSeverity::Warning,
            metric: Some("temperature_c".to_owned()),
            message: "hot".to_owned(),
            at: Timestamp(20),
        })
        .then(vec![alert_raised()]);
    given::<Device>([registered(), alert_raised()])
        .when(DeviceCommand::RaiseAlert {
            alert_id: alert_id(),
            severity: AlertSeverity::Info,
            metric: None,
            message: "again".to_owned(),
            at: Timestamp(21),
        })
        .then_error(DeviceError::DuplicateAlert(alert_id()));
    let acknowledged = DeviceEvent::AlertAcknowledged { alert_id: alert_id(), by: "ana".to_owned(), at: Timestamp(22) };
    given::<Device>([registered(), alert_raised()])
        .when(DeviceCommand::AcknowledgeAlert { alert_id: alert_id(), by: "ana".to_owned(), at: Timestamp(22) })
        .then(vec![acknowledged.clone()]);
    given::<Device>([registered(), alert_raised(), acknowledged.clone()])
        .when(DeviceCommand::AcknowledgeAlert { alert_id: alert_id(), by: "bo".to_owned(), at: Timestamp(23) })
        .then_error(DeviceError::AlertAlreadyAcknowledged(alert_id()));
    let resolved = DeviceEvent::AlertResolved { alert_id: alert_id(), at: Timestamp(24) };
    given::<Device>([registered(), alert_raised(), acknowledged.clone()])
        .when(DeviceCommand::ResolveAlert { alert_id: alert_id(), at: Timestamp(24) })
        .then(vec![resolved.clone()]);
    given::<Device>([registered(), alert_raised(), acknowledged, resolved])
        .when(DeviceCommand::ResolveAlert { alert_id: alert_id(), at: Timestamp(25) })
        .then_error(DeviceError::AlertAlreadyResolved(alert_id()));
    given::<Device>([registered()])
        .when(DeviceCommand::ResolveAlert { alert_id: alert_id(), at: Timestamp(25) })
        .then_error(DeviceError::UnknownAlert(alert_id()));
}

#[test]
fn maintenance_lifecycle() {
    let maintenance_id = MaintenanceId::new("m-1").expect("valid id");
    let scheduled = DeviceEvent::MaintenanceScheduled {
        maintenance_id: maintenance_id.clone(),
        due: Timestamp(100),
        reason: "bearing wear".to_owned(),
        at: Timestamp(30),
    };
    given::<Device>([registered()])
        .when(DeviceCommand::ScheduleMaintenance {
            maintenance_id: maintenance_id.clone(),
            due: Timestamp(100),
            reason: "bearing wear".to_owned(),
            at: Timestamp(30),
        })
        .then(vec![scheduled.clone()]);
    let completed = DeviceEvent::MaintenanceCompleted {
        maintenance_id: maintenance_id.clone(),
        notes: "replaced".to_owned(),
        at: Timestamp(90),
    };
    given::<Device>([registered(), scheduled.clone()])
        .when(DeviceCommand::CompleteMaintenance {
            maintenance_id: maintenance_id.clone(),
            notes: "replaced".to_owned(),
            at: Timestamp(90),
        })
        .then(vec![completed.clone()]);
    given::<Device>([registered(), scheduled.clone(), completed])
        .when(DeviceCommand::CompleteMaintenance {
            maintenance_id: maintenance_id.clone(),
            notes: String::new(),
            at: Timestamp(91),
        })
        .then_error(DeviceError::MaintenanceAlreadyCompleted(maintenance_id.clone()));
    given::<Device>([registered(), scheduled])
        .when(DeviceCommand::ScheduleMaintenance {
            maintenance_id: maintenance_id.clone(),
            due: Timestamp(100),
            reason: String::new(),
            at: Timestamp(31),
        })
        .then_error(DeviceError::DuplicateMaintenance(maintenance_id));
}

#[test]
fn telemetry_out_of_range_degrades_and_recovers() {
    let online = DeviceEvent::StatusChanged {
        from: DeviceStatus::Offline,
        to: DeviceStatus::Online,
        reason: Some("telemetry received".to_owned()),
        from_telemetry: true,
        at: Timestamp(40),
    };
    given::<Device>([registered()])
        .when(DeviceCommand::ObserveTelemetry { extremes: extremes(20.0, 30.0), at: Timestamp(40), rules: vec![] })
        .then(vec![online.clone()]);
    given::<Device>([registered(), online.clone()])
        .when(DeviceCommand::ObserveTelemetry { extremes: extremes(20.0, 30.0), at: Timestamp(41), rules: vec![] })
        .then(vec![]);
    let degraded = DeviceEvent::StatusChanged {
        from: DeviceStatus::Online,
        to: DeviceStatus::Degraded,
        reason: Some("temperature_c = 85 °C is outside its normal range".to_owned()),
        from_telemetry: true,
        at: Timestamp(42),
    };
    let alert_id = AlertId::new("range-0-42").expect("valid");
    let raised = DeviceEvent::AlertRaised {
        alert_id: alert_id.clone(),
        severity: AlertSeverity::Warning,
        metric: Some("temperature_c".to_owned()),
        message: "temperature_c = 85 °C is outside its normal range [-20, 70]".to_owned(),
        at: Timestamp(42),
    };
    given::<Device>([registered(), online.clone()])
        .when(DeviceCommand::ObserveTelemetry { extremes: extremes(20.0, 85.0), at: Timestamp(42), rules: vec![] })
        .then(vec![degraded.clone(), raised.clone()]);
    given::<Device>([registered(), online.clone(), degraded.clone(), raised.clone()])
        .when(DeviceCommand::ObserveTelemetry { extremes: extremes(20.0, 90.0), at: Timestamp(43), rules: vec![] })
        .then(vec![]);
    given::<Device>([registered(), online.clone(), degraded.clone(), raised])
        .when(DeviceCommand::ObserveTelemetry { extremes: extremes(20.0, 30.0), at: Timestamp(44), rules: vec![] })
        .then(vec![
            DeviceEvent::StatusChanged {
                from: DeviceStatus::Degraded,
                to: DeviceStatus::Online,
                reason: None,
                from_telemetry: true,
                at: Timestamp(44),
            },
            DeviceEvent::AlertResolved { alert_id, at: Timestamp(44) },
        ]);
}

#[test]
fn an_alert_raised_again_at_the_same_time_gets_a_fresh_id() {
    let observe =
        |max: f64| DeviceCommand::ObserveTelemetry { extremes: extremes(0.0, max), at: Timestamp(9), rules: vec![] };
    let mut state = Device::fold(DeviceState::default(), [registered()]);
    for max in [85.0, 30.0, 85.0] {
        let events = Device::decide(&state, observe(max)).expect("accepted");
        state = Device::fold(state, events);
    }
    let ids: Vec<&str> = state.alerts.iter().map(|a| a.alert_id.as_str()).collect();
    assert_eq!(ids, ["range-0-9", "range-0-9.2"]);
}

#[test]
fn far_out_of_range_is_critical() {
    given::<Device>([registered()])
        .when(DeviceCommand::ObserveTelemetry { extremes: extremes(-80.0, 30.0), at: Timestamp(40), rules: vec![] })
        .then(vec![
            DeviceEvent::StatusChanged {
                from: DeviceStatus::Offline,
                to: DeviceStatus::Degraded,
                reason: Some("temperature_c = -80 °C is outside its normal range".to_owned()),
                from_telemetry: true,
                at: Timestamp(40),
            },
            DeviceEvent::AlertRaised {
                alert_id: AlertId::new("range-0-40").expect("valid"),
                severity: AlertSeverity::Critical,
                metric: Some("temperature_c".to_owned()),
                message: "temperature_c = -80 °C is outside its normal range [-20, 70]".to_owned(),
                at: Timestamp(40),
            },
        ]);
}

fn finding(anomalous: bool, hours: Option<f64>) -> ConditionFinding {
    ConditionFinding {
        metric: "temperature_c".to_owned(),
        anomaly: anomalous.then(|| AnomalyFinding {
            detector: "spike".to_owned(),
            score: 0.97,
            value: 61.0,
            baseline: 40.0,
            seen_at: Timestamp(0),
        }),
        forecast: hours.map(|hours| LimitForecast { hours, confidence: 0.8 }),
    }
}

#[test]
fn an_anomaly_raises_one_alert_until_the_metric_is_quiet() {
    let raised = DeviceEvent::AlertRaised {
        alert_id: AlertId::new("anomaly-0-50").expect("valid"),
        severity: AlertSeverity::Warning,
        metric: Some("temperature_c".to_owned()),
        message: "temperature_c spike: 61 against a baseline of 40 (score 0.97)".to_owned(),
        at: Timestamp(50),
    };
    given::<Device>([registered()])
        .when(DeviceCommand::AssessCondition { findings: vec![finding(true, None)], at: Timestamp(50) })
        .then(vec![raised.clone()]);
    given::<Device>([registered(), raised.clone()])
        .when(DeviceCommand::AssessCondition { findings: vec![finding(true, None)], at: Timestamp(51) })
        .then(vec![]);
    given::<Device>([registered(), raised])
        .when(DeviceCommand::AssessCondition { findings: vec![finding(false, None)], at: Timestamp(52) })
        .then(vec![DeviceEvent::AlertResolved {
            alert_id: AlertId::new("anomaly-0-50").expect("valid"),
            at: Timestamp(52),
        }]);
}

#[test]
fn a_forecast_crossing_within_a_week_raises_a_maintenance_alert_with_hysteresis() {
    let raised = |hours: f64, severity: AlertSeverity| DeviceEvent::AlertRaised {
        alert_id: AlertId::new("maintenance-0-60").expect("valid"),
        severity,
        metric: Some("temperature_c".to_owned()),
        message: format!(
            "temperature_c is expected to leave its normal range in {hours} h (confidence 0.80): maintenance is due"
        ),
        at: Timestamp(60),
    };
    given::<Device>([registered()])
        .when(DeviceCommand::AssessCondition { findings: vec![finding(false, Some(200.0))], at: Timestamp(60) })
        .then(vec![]);
    given::<Device>([registered()])
        .when(DeviceCommand::AssessCondition { findings: vec![finding(false, Some(100.0))], at: Timestamp(60) })
        .then(vec![raised(100.0, AlertSeverity::Warning)]);
    given::<Device>([registered()])
        .when(DeviceCommand::AssessCondition { findings: vec![finding(false, Some(12.0))], at: Timestamp(60) })
        .then(vec![raised(12.0, AlertSeverity::Critical)]);
    let open = raised(100.0, AlertSeverity::Warning);
    given::<Device>([registered(), open.clone()])
        .when(DeviceCommand::AssessCondition { findings: vec![finding(false, Some(250.0))], at: Timestamp(61) })
        .then(vec![]);
    given::<Device>([registered(), open])
        .when(DeviceCommand::AssessCondition { findings: vec![finding(false, Some(400.0))], at: Timestamp(62) })
        .then(vec![DeviceEvent::AlertResolved {
            alert_id: AlertId::new("maintenance-0-60").expect("valid"),
            at: Timestamp(62),
        }]);
}

#[test]
fn a_device_under_maintenance_raises_no_condition_alert_and_unknown_metrics_are_ignored() {
    let maintenance = DeviceEvent::StatusChanged {
        from: DeviceStatus::Offline,
        to: DeviceStatus::Maintenance,
        reason: None,
        from_telemetry: false,
        at: Timestamp(2),
    };
    given::<Device>([registered(), maintenance])
        .when(DeviceCommand::AssessCondition { findings: vec![finding(true, Some(5.0))], at: Timestamp(70) })
        .then(vec![]);
    let mut unknown = finding(true, Some(5.0));
    unknown.metric = "pressure_bar".to_owned();
    given::<Device>([registered()])
        .when(DeviceCommand::AssessCondition { findings: vec![unknown], at: Timestamp(70) })
        .then(vec![]);
}

#[test]
fn telemetry_leaves_an_operator_status_alone() {
    let degraded_by_operator = DeviceEvent::StatusChanged {
        from: DeviceStatus::Offline,
        to: DeviceStatus::Degraded,
        reason: Some("inverter fan noisy".to_owned()),
        from_telemetry: false,
        at: Timestamp(40),
    };
    given::<Device>([registered(), degraded_by_operator])
        .when(DeviceCommand::ObserveTelemetry { extremes: extremes(20.0, 30.0), at: Timestamp(41), rules: vec![] })
        .then(vec![]);
    let maintenance = DeviceEvent::StatusChanged {
        from: DeviceStatus::Offline,
        to: DeviceStatus::Maintenance,
        reason: None,
        from_telemetry: false,
        at: Timestamp(40),
    };
    given::<Device>([registered(), maintenance])
        .when(DeviceCommand::ObserveTelemetry { extremes: extremes(20.0, 99.0), at: Timestamp(41), rules: vec![] })
        .then(vec![]);
}

#[test]
fn a_decommissioned_device_rejects_every_command() {
    let decommissioned = DeviceEvent::Decommissioned { reason: "end of life".to_owned(), at: Timestamp(50) };
    given::<Device>([registered()])
        .when(DeviceCommand::Decommission { reason: "end of life".to_owned(), at: Timestamp(50) })
        .then(vec![decommissioned.clone()]);
    given::<Device>([registered(), decommissioned.clone()])
        .when(DeviceCommand::ChangeFirmware { version: "2.0".to_owned(), at: Timestamp(51) })
        .then_error(DeviceError::Decommissioned(id()));
    given::<Device>([registered(), decommissioned.clone()])
        .when(DeviceCommand::Decommission { reason: "again".to_owned(), at: Timestamp(52) })
        .then_error(DeviceError::Decommissioned(id()));
    given::<Device>([registered(), decommissioned])
        .when(DeviceCommand::Register { registration: registration(), at: Timestamp(53) })
        .then_error(DeviceError::AlreadyRegistered(id()));
}

#[test]
fn the_state_keeps_a_bounded_number_of_finished_commands() {
    let mut events = vec![registered()];
    for n in 0..100 {
        let command_id = CommandId::new(format!("c-{n}")).expect("valid id");
        events.push(DeviceEvent::CommandIssued {
            command_id: command_id.clone(),
            name: "ping".to_owned(),
            params: "{}".to_owned(),
            deadline: Timestamp(10_000),
            at: Timestamp(n),
        });
        events.push(DeviceEvent::CommandSucceeded { command_id, detail: String::new(), at: Timestamp(n) });
    }
    let state = Device::fold(DeviceState::default(), events);
    assert_eq!(state.commands.len(), FINISHED_ITEMS_KEPT);
    assert_eq!(state.commands[0].command_id.as_str(), "c-68");
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn arbitrary_command() -> impl Strategy<Value = DeviceCommand> {
        let ids = 0..4u8;
        prop_oneof![
            Just(DeviceCommand::Register { registration: registration(), at: Timestamp(1) }),
            (0..4u8).prop_map(|s| DeviceCommand::ChangeStatus {
                status: [
                    DeviceStatus::Online,
                    DeviceStatus::Offline,
                    DeviceStatus::Degraded,
                    DeviceStatus::Maintenance
                ][s as usize],
                reason: None,
                at: Timestamp(2),
            }),
            (ids.clone(), 0..3_000u64).prop_map(|(n, timeout_ms)| DeviceCommand::IssueCommand {
                command_id: CommandId::new(format!("c{n}")).expect("valid id"),
                name: "reboot".to_owned(),
                params: "{}".to_owned(),
                timeout_ms,
                at: Timestamp(3),
            }),
            (ids.clone(), 0..5u8, 0..120u8).prop_map(|(n, kind, percent)| DeviceCommand::RecordCommandResponse {
                command_id: CommandId::new(format!("c{n}")).expect("valid id"),
                response: match kind {
                    0 => CommandResponse::Accepted,
                    1 => CommandResponse::Progress(percent),
                    2 => CommandResponse::Succeeded { detail: "ok".to_owned() },
                    _ => CommandResponse::Failed { reason: "no".to_owned() },
                },
                at: Timestamp(4),
            }),
            (ids.clone(), 0..5_000i64).prop_map(|(n, at)| DeviceCommand::TimeOutCommand {
                command_id: CommandId::new(format!("c{n}")).expect("valid id"),
                at: Timestamp(at),
            }),
            (0..3u8).prop_map(|v| DeviceCommand::ChangeFirmware { version: format!("1.{v}.0"), at: Timestamp(5) }),
            (ids.clone(), 0..3u8).prop_map(|(n, op)| {
                let alert_id = AlertId::new(format!("a{n}")).expect("valid id");
                match op {
                    0 => DeviceCommand::RaiseAlert {
                        alert_id,
                        severity: AlertSeverity::Critical,
                        metric: None,
                        message: "x".to_owned(),
                        at: Timestamp(6),
                    },
                    1 => DeviceCommand::AcknowledgeAlert { alert_id, by: "op".to_owned(), at: Timestamp(7) },
                    _ => DeviceCommand::ResolveAlert { alert_id, at: Timestamp(8) },
                }
            }),
            (-50.0..120.0f64).prop_map(|max| DeviceCommand::ObserveTelemetry {
                extremes: extremes(0.0, max),
                at: Timestamp(9),
                rules: vec![]
            }),
            (0..3u8, 0..400u32, 0..3i64).prop_map(|(anomaly, hours, at)| DeviceCommand::AssessCondition {
                findings: vec![finding(anomaly > 0, (hours > 0).then_some(f64::from(hours)))],
                at: Timestamp(11 + at),
            }),
            Just(DeviceCommand::Decommission { reason: "eol".to_owned(), at: Timestamp(10) }),
        ]
    }

    proptest! {
        #[test]
        fn folding_emitted_events_reproduces_the_state(
            commands in proptest::collection::vec(arbitrary_command(), 0..60),
            snapshot_at in 0usize..60,
        ) {
            let mut state = DeviceState::default();
            let mut log = Vec::new();
            for command in commands {
                if let Ok(events) = Device::decide(&state, command) {
                    state = Device::fold(state, events.clone());
                    log.extend(events);
                }
                if state.decommissioned_at.is_some() {
                    prop_assert!(state.profile.is_some());
                }
                let finished = state.commands.iter().filter(|c| !c.state.is_pending()).count();
                prop_assert!(finished <= FINISHED_ITEMS_KEPT);
                let mut ids: Vec<_> = state.commands.iter().map(|c| &c.command_id).collect();
                ids.sort();
                ids.dedup();
                prop_assert_eq!(ids.len(), state.commands.len(), "command ids are unique in the state");
                let mut alert_ids: Vec<_> = state.alerts.iter().map(|a| &a.alert_id).collect();
                alert_ids.sort();
                alert_ids.dedup();
                prop_assert_eq!(alert_ids.len(), state.alerts.len(), "alert ids are unique in the state");
            }
            let split = snapshot_at.min(log.len());
            let snapshot = through_snapshot_codec(&Device::fold(DeviceState::default(), log[..split].to_vec()));
            let from_snapshot = Device::fold(snapshot, log[split..].to_vec());
            prop_assert_eq!(from_snapshot, Device::fold(DeviceState::default(), log), "a restored snapshot plus the tail is a replay from zero");
        }

        #[test]
        fn a_decommissioned_device_emits_nothing_more(commands in proptest::collection::vec(arbitrary_command(), 0..30)) {
            let state = Device::fold(
                DeviceState::default(),
                [registered(), DeviceEvent::Decommissioned { reason: "eol".to_owned(), at: Timestamp(2) }],
            );
            for command in commands {
                prop_assert!(Device::decide(&state, command).is_err());
            }
        }
    }
}

#[test]
fn configured_rules_raise_and_resolve_their_own_alerts() {
    let rule = ThresholdRule {
        name: "hot".to_owned(),
        kind: None,
        metric: "temperature_c".to_owned(),
        above: Some(50.0),
        below: None,
        severity: AlertSeverity::Critical,
    };
    assert_eq!(rule.validate(), Ok(()));
    let online = DeviceEvent::StatusChanged {
        from: DeviceStatus::Offline,
        to: DeviceStatus::Online,
        reason: Some("telemetry received".to_owned()),
        from_telemetry: true,
        at: Timestamp(40),
    };
    let alert_id = AlertId::new("rule-hot-40").expect("valid");
    let raised = DeviceEvent::AlertRaised {
        alert_id: alert_id.clone(),
        severity: AlertSeverity::Critical,
        metric: Some("temperature_c".to_owned()),
        message: "rule hot: temperature_c = 60 crossed (above 50, below -)".to_owned(),
        at: Timestamp(40),
    };
    given::<Device>([registered()])
        .when(DeviceCommand::ObserveTelemetry {
            extremes: extremes(20.0, 60.0),
            at: Timestamp(40),
            rules: vec![rule.clone()],
        })
        .then(vec![online.clone(), raised.clone()]);
    given::<Device>([registered(), online.clone(), raised.clone()])
        .when(DeviceCommand::ObserveTelemetry {
            extremes: extremes(20.0, 65.0),
            at: Timestamp(41),
            rules: vec![rule.clone()],
        })
        .then(vec![]);
    given::<Device>([registered(), online, raised])
        .when(DeviceCommand::ObserveTelemetry {
            extremes: extremes(20.0, 30.0),
            at: Timestamp(42),
            rules: vec![rule.clone()],
        })
        .then(vec![DeviceEvent::AlertResolved { alert_id, at: Timestamp(42) }]);
    let other_kind = ThresholdRule { kind: Some(DeviceKind::WindTurbine), ..rule.clone() };
    given::<Device>([registered()])
        .when(DeviceCommand::ObserveTelemetry {
            extremes: extremes(20.0, 60.0),
            at: Timestamp(40),
            rules: vec![other_kind],
        })
        .then(vec![DeviceEvent::StatusChanged {
            from: DeviceStatus::Offline,
            to: DeviceStatus::Online,
            reason: Some("telemetry received".to_owned()),
            from_telemetry: true,
            at: Timestamp(40),
        }]);
    let unnamed = ThresholdRule { name: "no spaces".to_owned(), ..rule.clone() };
    assert!(unnamed.validate().is_err());
    assert!(ThresholdRule { above: None, ..rule }.validate().is_err());
}
