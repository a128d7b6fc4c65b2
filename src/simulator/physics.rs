//! How simulated assets behave: solar inverters follow a daylight curve with cloud noise, wind
//! turbines a power curve from a wandering wind speed, batteries cycle their state of charge,
//! smart meters follow a daily load. Every asset ages slowly (temperatures creep up, efficiency
//! falls), and, when faults are on, shows the failures analytics should catch: spikes, stuck
//! sensors and drift. Everything here is pure: time and randomness come in.

use super::fault::FaultInjector;
use optibid_domain::device::{DeviceKind, MetricDeclaration};

/// Milliseconds in an hour.
const HOUR_MS: f64 = 3_600_000.0;

/// A standard normal draw (Box-Muller).
pub fn gaussian(rng: &mut fastrand::Rng) -> f64 {
    let u1 = rng.f64().max(f64::MIN_POSITIVE);
    let u2 = rng.f64();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Hour of the day (0..24) at `ts_ms`, shifted by the site's offset from UTC.
fn hour_of_day(ts_ms: i64, utc_offset_h: f64) -> f64 {
    ((ts_ms as f64 / HOUR_MS) + utc_offset_h).rem_euclid(24.0)
}

/// Sun height as a fraction (0 at night, 1 at solar noon), sunrise 6:00, sunset 18:00.
fn daylight(hour: f64) -> f64 {
    if (6.0..18.0).contains(&hour) {
        (std::f64::consts::PI * (hour - 6.0) / 12.0).sin()
    } else {
        0.0
    }
}

/// The metrics each kind reports, with units and normal ranges (as the device registers them).
pub fn metric_declarations(kind: DeviceKind) -> Vec<MetricDeclaration> {
    let metric = |name: &str, unit: &str, min: Option<f64>, max: Option<f64>| MetricDeclaration {
        name: name.to_owned(),
        unit: unit.to_owned(),
        normal_min: min,
        normal_max: max,
    };
    match kind {
        DeviceKind::SolarInverter => vec![
            metric("power_w", "W", Some(0.0), Some(6_500.0)),
            metric("temp_c", "°C", Some(-20.0), Some(75.0)),
            metric("efficiency_pct", "%", Some(85.0), Some(100.0)),
            metric("dc_voltage_v", "V", Some(0.0), Some(600.0)),
        ],
        DeviceKind::WindTurbine => vec![
            metric("power_w", "W", Some(0.0), Some(2_100_000.0)),
            metric("wind_speed_ms", "m/s", Some(0.0), Some(25.0)),
            metric("rotor_rpm", "rpm", Some(0.0), Some(20.0)),
            metric("gearbox_temp_c", "°C", Some(-20.0), Some(85.0)),
        ],
        DeviceKind::BatteryStorage => vec![
            metric("soc_pct", "%", Some(5.0), Some(100.0)),
            metric("power_w", "W", Some(-250_000.0), Some(250_000.0)),
            metric("temp_c", "°C", Some(0.0), Some(45.0)),
            metric("cell_voltage_v", "V", Some(3.0), Some(4.25)),
        ],
        _ => vec![
            metric("power_w", "W", Some(0.0), Some(20_000.0)),
            metric("voltage_v", "V", Some(207.0), Some(253.0)),
            metric("energy_kwh", "kWh", None, None),
        ],
    }
}

/// The state of one simulated asset.
#[derive(Debug, Clone)]
pub struct AssetModel {
    kind: DeviceKind,
    /// Nameplate power, W.
    capacity_w: f64,
    /// Site offset from UTC, hours.
    utc_offset_h: f64,
    /// Extra temperature per hour of running, °C (aging).
    heating_per_hour: f64,
    /// Efficiency lost per hour of running, percentage points (aging).
    efficiency_loss_per_hour: f64,
    started_ms: Option<i64>,
    cloud: f64,
    wind_ms: f64,
    soc_pct: f64,
    energy_kwh: f64,
    last_ms: Option<i64>,
    faults: Option<FaultInjector>,
}

impl AssetModel {
    /// A new asset of `kind`; `aging` scales how fast it degrades (0 = never, 1 = typical).
    pub fn new(kind: DeviceKind, rng: &mut fastrand::Rng, aging: f64, faults: bool) -> Self {
        let capacity_w = match kind {
            DeviceKind::SolarInverter => 5_000.0 + 1_000.0 * rng.f64(),
            DeviceKind::WindTurbine => 2_000_000.0,
            DeviceKind::BatteryStorage => 200_000.0,
            _ => 3_000.0 + 4_000.0 * rng.f64(),
        };
        Self {
            kind,
            capacity_w,
            utc_offset_h: -2.0 + 4.0 * rng.f64(),
            heating_per_hour: aging * (0.2 + 0.6 * rng.f64()),
            efficiency_loss_per_hour: aging * (0.05 + 0.15 * rng.f64()),
            started_ms: None,
            cloud: 0.2 * rng.f64(),
            wind_ms: 6.0 + 4.0 * rng.f64(),
            soc_pct: 30.0 + 60.0 * rng.f64(),
            energy_kwh: 1_000.0 * rng.f64(),
            last_ms: None,
            faults: faults.then(FaultInjector::default),
        }
    }

    /// The readings at `ts_ms`, with the noise drawn from `rng`.
    pub fn sample(&mut self, ts_ms: i64, rng: &mut fastrand::Rng) -> Vec<(&'static str, f64)> {
        let started = *self.started_ms.get_or_insert(ts_ms);
        let hours_running = (ts_ms - started) as f64 / HOUR_MS;
        let dt_h = self.last_ms.map_or(0.0, |last| (ts_ms - last).max(0) as f64 / HOUR_MS);
        self.last_ms = Some(ts_ms);
        let hour = hour_of_day(ts_ms, self.utc_offset_h);
        let heating = self.heating_per_hour * hours_running;
        let mut values = match self.kind {
            DeviceKind::SolarInverter => {
                self.cloud = (self.cloud + 0.05 * gaussian(rng)).clamp(0.0, 0.8);
                let efficiency = (97.0 - self.efficiency_loss_per_hour * hours_running).max(70.0);
                let power = self.capacity_w * daylight(hour) * (1.0 - self.cloud) * efficiency / 100.0;
                let power = (power + 20.0 * gaussian(rng)).max(0.0);
                vec![
                    ("power_w", power),
                    ("temp_c", 22.0 + power / 250.0 + heating + 0.3 * gaussian(rng)),
                    ("efficiency_pct", efficiency + 0.1 * gaussian(rng)),
                    ("dc_voltage_v", if power > 0.0 { 380.0 + 15.0 * gaussian(rng) } else { 0.0 }),
                ]
            }
            DeviceKind::WindTurbine => {
                self.wind_ms = (self.wind_ms + 0.05 * (9.0 - self.wind_ms) + 0.4 * gaussian(rng)).clamp(0.0, 30.0);
                let wind = self.wind_ms;
                let fraction = if !(3.0..25.0).contains(&wind) {
                    0.0
                } else if wind >= 12.0 {
                    1.0
                } else {
                    ((wind - 3.0) / 9.0).powi(3)
                };
                let power = self.capacity_w * fraction;
                vec![
                    ("power_w", power),
                    ("wind_speed_ms", wind),
                    ("rotor_rpm", if fraction > 0.0 { 6.0 + 10.0 * fraction.cbrt() } else { 0.0 }),
                    ("gearbox_temp_c", 40.0 + 25.0 * fraction + heating + 0.4 * gaussian(rng)),
                ]
            }
            DeviceKind::BatteryStorage => {
                let charging = (9.0..15.0).contains(&hour);
                let discharging = (17.0..22.0).contains(&hour);
                let power = if charging && self.soc_pct < 95.0 {
                    -0.5 * self.capacity_w
                } else if discharging && self.soc_pct > 10.0 {
                    0.6 * self.capacity_w
                } else {
                    0.0
                };
                let capacity_wh = 2.0 * self.capacity_w;
                self.soc_pct = (self.soc_pct - 100.0 * power * dt_h / capacity_wh).clamp(0.0, 100.0);
                vec![
                    ("soc_pct", self.soc_pct),
                    ("power_w", power + 200.0 * gaussian(rng)),
                    ("temp_c", 24.0 + power.abs() / 40_000.0 + heating + 0.2 * gaussian(rng)),
                    ("cell_voltage_v", 3.3 + 0.85 * self.soc_pct / 100.0 + 0.005 * gaussian(rng)),
                ]
            }
            _ => {
                let morning = (-((hour - 7.5) / 1.5).powi(2)).exp();
                let evening = (-((hour - 19.0) / 2.0).powi(2)).exp();
                let load = self.capacity_w * (0.15 + 0.45 * morning + 0.7 * evening);
                let power = (load * (1.0 + 0.08 * gaussian(rng))).max(0.0);
                self.energy_kwh += power * dt_h / 1_000.0;
                vec![("power_w", power), ("voltage_v", 230.0 + 2.5 * gaussian(rng)), ("energy_kwh", self.energy_kwh)]
            }
        };
        if let Some(faults) = &mut self.faults {
            faults.apply(&mut values, rng);
        }
        values
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOON_UTC: i64 = 1_700_000_000_000 - (1_700_000_000_000 % 86_400_000) + 12 * 3_600_000;

    fn value(values: &[(&str, f64)], name: &str) -> f64 {
        values.iter().find(|(n, _)| *n == name).map(|(_, v)| *v).expect("metric present")
    }

    #[test]
    fn solar_produces_by_day_and_not_by_night() {
        let mut rng = fastrand::Rng::with_seed(7);
        let mut model = AssetModel::new(DeviceKind::SolarInverter, &mut rng, 0.0, false);
        let day = model.sample(NOON_UTC, &mut rng);
        let night = model.sample(NOON_UTC + 12 * 3_600_000, &mut rng);
        assert!(value(&day, "power_w") > 1_000.0, "{day:?}");
        assert!(value(&night, "power_w") < 100.0, "{night:?}");
    }

    #[test]
    fn every_reading_matches_a_declared_metric() {
        let mut rng = fastrand::Rng::with_seed(1);
        for kind in
            [DeviceKind::SolarInverter, DeviceKind::WindTurbine, DeviceKind::BatteryStorage, DeviceKind::SmartMeter]
        {
            let declared: Vec<String> = metric_declarations(kind).into_iter().map(|m| m.name).collect();
            let mut model = AssetModel::new(kind, &mut rng, 1.0, true);
            for step in 0..500 {
                for (name, reading) in model.sample(NOON_UTC + step * 1_000, &mut rng) {
                    assert!(declared.iter().any(|d| d == name), "{kind:?} reports undeclared {name}");
                    assert!(reading.is_finite());
                }
            }
        }
    }

    #[test]
    fn aging_raises_the_temperature_over_time() {
        let mut rng = fastrand::Rng::with_seed(3);
        let mut aging = AssetModel::new(DeviceKind::WindTurbine, &mut rng, 1.0, false);
        let start: f64 = (0..50).map(|i| value(&aging.sample(NOON_UTC + i * 1_000, &mut rng), "gearbox_temp_c")).sum();
        let later_ts = NOON_UTC + 48 * 3_600_000;
        let later: f64 = (0..50).map(|i| value(&aging.sample(later_ts + i * 1_000, &mut rng), "gearbox_temp_c")).sum();
        assert!(later / 50.0 > start / 50.0 + 5.0, "two days of aging must show");
    }

    #[test]
    fn a_battery_charges_at_midday_and_discharges_in_the_evening() {
        let mut rng = fastrand::Rng::with_seed(5);
        let mut battery = AssetModel::new(DeviceKind::BatteryStorage, &mut rng, 0.0, false);
        battery.utc_offset_h = 0.0;
        battery.soc_pct = 40.0;
        let midnight = NOON_UTC - 12 * 3_600_000;
        let mut soc_at = std::collections::BTreeMap::new();
        for step in 0..(24 * 6) {
            let ts = midnight + step * 600_000;
            soc_at.insert(step / 6, value(&battery.sample(ts, &mut rng), "soc_pct"));
        }
        assert!(soc_at[&14] > soc_at[&9], "charges around noon: {soc_at:?}");
        assert!(soc_at[&21] < soc_at[&16], "discharges in the evening: {soc_at:?}");
    }
}
