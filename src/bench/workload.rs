//! What the benchmarks write: realistic device events of about 200 bytes.

use optibid_domain::device::{DeviceCommand, DeviceEvent, DeviceKind, DeviceRegistration, MetricDeclaration, Protocol};
use optibid_domain::{DeviceId, Timestamp};
use std::collections::BTreeMap;

/// Configuration keys of about 200 encoded bytes, varying with `sequence`.
fn configuration_changes(sequence: u64) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("reporting_interval_s".to_owned(), format!("{}", 10 + sequence % 50)),
        ("power_limit_w".to_owned(), format!("{}", 4_000 + sequence % 1_000)),
        ("mppt_mode".to_owned(), "\"dynamic\"".to_owned()),
        ("grid_code".to_owned(), "\"VDE-AR-N-4105\"".to_owned()),
        ("night_standby".to_owned(), "true".to_owned()),
        ("sequence".to_owned(), sequence.to_string()),
    ])
}

fn at(sequence: u64) -> Timestamp {
    Timestamp(1_764_000_000_000 + i64::try_from(sequence).unwrap_or(0))
}

/// A configuration change of about 200 encoded bytes: the typical telemetry-free device event.
pub fn configuration_event(sequence: u64) -> DeviceEvent {
    DeviceEvent::ConfigurationChanged { changes: configuration_changes(sequence), at: at(sequence) }
}

/// A configuration command that always changes something (its `sequence` key differs).
pub fn configuration_command(sequence: u64) -> DeviceCommand {
    DeviceCommand::ChangeConfiguration { changes: configuration_changes(sequence), at: at(sequence) }
}

/// The registration of benchmark device `n`.
pub fn registration(n: usize) -> Result<DeviceCommand, optibid_domain::IdError> {
    Ok(DeviceCommand::Register {
        registration: DeviceRegistration {
            location: None,
            id: DeviceId::new(format!("bench-{n:06}"))?,
            name: format!("Bench inverter {n}"),
            kind: DeviceKind::SolarInverter,
            protocol: Protocol::Mqtt,
            site: format!("site-{}", n % 100),
            region: "eu-west".to_owned(),
            tags: vec!["bench".to_owned()],
            firmware_version: "1.0.0".to_owned(),
            metrics: vec![MetricDeclaration {
                name: "power_w".to_owned(),
                unit: "W".to_owned(),
                normal_min: Some(0.0),
                normal_max: Some(6_000.0),
            }],
        },
        at: Timestamp(1_764_000_000_000),
    })
}
