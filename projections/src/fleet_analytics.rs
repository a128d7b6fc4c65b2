//! Fleet analytics: per device, the figures a dashboard sums (uptime, data points, energy,
//! active alerts), kept as directory entries fed by the device and telemetry streams; the fleet
//! summary, per region and per device kind, is computed from them when asked.

use crate::directory::DirectoryEntry;
use crate::projection::ProjectedEvent;
use optibid_domain::device::{DeviceEvent, DeviceKind, DeviceStatus};
use optibid_domain::telemetry::TelemetryEvent;
use optibid_domain::FleetEvent;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The metric whose integral over time is energy.
pub const POWER_METRIC: &str = "power_w";

/// Longest gap between two power samples that is still integrated (longer gaps are outages).
const MAX_INTEGRATION_GAP_MS: i64 = 15 * 60_000;

const MS_PER_HOUR: f64 = 3_600_000.0;

/// What the analytics keep of one device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceHealth {
    /// Kind.
    pub kind: Option<DeviceKind>,
    /// Region.
    pub region: String,
    /// Current status.
    pub status: DeviceStatus,
    /// Whether decommissioned.
    pub decommissioned: bool,
    /// Commit time of the registration (ms).
    pub registered_at: i64,
    /// Commit time the device last went online, while it is online.
    pub online_since: Option<i64>,
    /// Time spent online before `online_since`, ms.
    pub online_ms: i64,
    /// Samples received (one per metric value).
    pub data_points: u64,
    /// Energy produced, Wh (from `power_w`).
    pub produced_wh: f64,
    /// Energy consumed, Wh (from `power_w`).
    pub consumed_wh: f64,
    /// The last power sample: (device time ms, W).
    pub last_power: Option<(i64, f64)>,
    /// Alerts raised and not resolved.
    pub active_alerts: BTreeSet<String>,
}

impl DeviceHealth {
    fn new(at: i64) -> Self {
        Self {
            kind: None,
            region: String::new(),
            status: DeviceStatus::Offline,
            decommissioned: false,
            registered_at: at,
            online_since: None,
            online_ms: 0,
            data_points: 0,
            produced_wh: 0.0,
            consumed_wh: 0.0,
            last_power: None,
            active_alerts: BTreeSet::new(),
        }
    }

    /// Share of its registered life the device has been online, as of `now` (ms).
    pub fn uptime(&self, now: i64) -> f64 {
        let life = (now - self.registered_at).max(1) as f64;
        let online = self.online_ms + self.online_since.map_or(0, |since| (now - since).max(0));
        (online as f64 / life).clamp(0.0, 1.0)
    }

    fn add_power(&mut self, ts: i64, watts: f64) {
        if let Some((last_ts, last_watts)) = self.last_power {
            let gap = ts - last_ts;
            if gap > 0 && gap <= MAX_INTEGRATION_GAP_MS {
                let wh = (last_watts + watts) / 2.0 * gap as f64 / MS_PER_HOUR;
                match self.kind {
                    Some(DeviceKind::SolarInverter | DeviceKind::WindTurbine) => self.produced_wh += wh.max(0.0),
                    Some(DeviceKind::BatteryStorage) if wh >= 0.0 => self.produced_wh += wh,
                    Some(DeviceKind::BatteryStorage) => self.consumed_wh -= wh,
                    Some(DeviceKind::SmartMeter) => self.consumed_wh += wh.abs(),
                    _ => {}
                }
            }
            if gap <= 0 {
                return;
            }
        }
        self.last_power = Some((ts, watts));
    }
}

impl DirectoryEntry for DeviceHealth {
    const PROJECTION: &'static str = "fleet_analytics";
    const KINDS: &'static [&'static str] = &["device", "telemetry"];

    fn create(event: &ProjectedEvent<'_>) -> Option<Self> {
        let FleetEvent::Device(_) = event.event else { return None };
        let mut health = DeviceHealth::new(event.recorded_at);
        health.update(event).then_some(health)
    }

    fn update(&mut self, event: &ProjectedEvent<'_>) -> bool {
        let at = event.recorded_at;
        let health = self;
        match event.event {
            FleetEvent::Device(device_event) => {
                match device_event {
                    DeviceEvent::Registered { registration, .. } => {
                        health.kind = Some(registration.kind);
                        health.region = registration.region.clone();
                        health.registered_at = at;
                    }
                    DeviceEvent::StatusChanged { to, .. } => {
                        let online_now = matches!(to, DeviceStatus::Online | DeviceStatus::Degraded);
                        match (health.online_since, online_now) {
                            (None, true) => health.online_since = Some(at),
                            (Some(since), false) => {
                                health.online_ms += (at - since).max(0);
                                health.online_since = None;
                            }
                            _ => {}
                        }
                        health.status = *to;
                    }
                    DeviceEvent::AlertRaised { alert_id, .. } => {
                        health.active_alerts.insert(alert_id.to_string());
                    }
                    DeviceEvent::AlertResolved { alert_id, .. } => {
                        health.active_alerts.remove(&alert_id.to_string());
                    }
                    DeviceEvent::Decommissioned { .. } => {
                        if let Some(since) = health.online_since.take() {
                            health.online_ms += (at - since).max(0);
                        }
                        health.decommissioned = true;
                        health.active_alerts.clear();
                    }
                    _ => return false,
                }
                true
            }
            FleetEvent::Telemetry(TelemetryEvent::Recorded(batch)) => {
                for sample in &batch.samples {
                    health.data_points += sample.values.len() as u64;
                    if let Some(power) = sample.values.iter().find(|v| v.metric == POWER_METRIC) {
                        health.add_power(sample.ts.0, power.value);
                    }
                }
                true
            }
            _ => false,
        }
    }
}

/// Totals over a set of devices.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FleetFigures {
    /// Devices in service (decommissioned ones are left out).
    pub devices: u64,
    /// Devices online or degraded.
    pub online: u64,
    /// `online / devices`.
    pub online_rate: f64,
    /// Mean share of their registered life the devices were online.
    pub average_uptime: f64,
    /// Samples received (one per metric value).
    pub data_points: u64,
    /// Energy produced, kWh.
    pub energy_produced_kwh: f64,
    /// Energy consumed, kWh.
    pub energy_consumed_kwh: f64,
    /// Alerts raised and not resolved.
    pub active_alerts: u64,
}

impl FleetFigures {
    fn add(&mut self, device: &DeviceHealth, now: i64) {
        let uptime_sum = self.average_uptime * self.devices as f64 + device.uptime(now);
        self.devices += 1;
        self.average_uptime = uptime_sum / self.devices as f64;
        if matches!(device.status, DeviceStatus::Online | DeviceStatus::Degraded) {
            self.online += 1;
        }
        self.online_rate = self.online as f64 / self.devices as f64;
        self.data_points += device.data_points;
        self.energy_produced_kwh += device.produced_wh / 1_000.0;
        self.energy_consumed_kwh += device.consumed_wh / 1_000.0;
        self.active_alerts += device.active_alerts.len() as u64;
    }
}

/// The fleet's figures, in all and per region and device kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FleetSummary {
    /// The whole fleet.
    pub total: FleetFigures,
    /// Per region.
    pub by_region: BTreeMap<String, FleetFigures>,
    /// Per device kind (snake_case name).
    pub by_kind: BTreeMap<String, FleetFigures>,
}

/// Sums `devices` as of `now` (ms).
pub fn summarise<'a>(devices: impl IntoIterator<Item = &'a DeviceHealth>, now: i64) -> FleetSummary {
    let mut summary = FleetSummary::default();
    for device in devices.into_iter().filter(|d| !d.decommissioned && d.kind.is_some()) {
        summary.total.add(device, now);
        summary.by_region.entry(device.region.clone()).or_default().add(device, now);
        let kind = device.kind.map(kind_name).unwrap_or_default();
        summary.by_kind.entry(kind).or_default().add(device, now);
    }
    summary
}

/// The kind's name as the API spells it.
fn kind_name(kind: DeviceKind) -> String {
    match kind {
        DeviceKind::SolarInverter => "solar_inverter",
        DeviceKind::WindTurbine => "wind_turbine",
        DeviceKind::BatteryStorage => "battery_storage",
        DeviceKind::SmartMeter => "smart_meter",
        DeviceKind::GridSensor => "grid_sensor",
        DeviceKind::EdgeGateway => "edge_gateway",
        DeviceKind::Other => "other",
    }
    .to_owned()
}
