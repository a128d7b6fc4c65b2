//! The maintenance read model: per device and declared metric, the streaming anomaly detector
//! (on one-minute means) and the trend toward the metric's normal limits; devices are ranked by
//! their risk of leaving a normal range within a week.

use crate::directory::{Directory, DirectoryEntry};
use crate::maintenance::anomaly::{AnomalyConfig, AnomalyDetector, AnomalyKind, AnomalyScore};
use crate::maintenance::trend::TrendTracker;
use crate::projection::ProjectedEvent;
use optibid_domain::device::{AnomalyFinding, ConditionFinding, DeviceEvent, DeviceKind, LimitForecast};
use optibid_domain::telemetry::TelemetryEvent;
use optibid_domain::time::Timestamp;
use optibid_domain::FleetEvent;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: f64 = 3_600_000.0;
const WEEK_HOURS: f64 = 168.0;
/// Crossings further away than this (a year) are not predictions.
const HORIZON_HOURS: f64 = 8_760.0;

/// One-minute means in the live detector's window (an hour).
const LIVE_WINDOW: usize = 60;
/// Weight kept by a trend point per hour of age.
const TREND_RETAIN_PER_HOUR: f64 = 0.995;
/// Telemetry time after an anomalous minute during which the anomaly is still current.
pub const ANOMALY_QUIET_MS: i64 = 10 * MINUTE_MS;
/// Score from which an anomaly is kept as the device's latest.
pub const ANOMALY_THRESHOLD: f64 = 0.9;
/// Share of the time to a limit after which maintenance is suggested.
const MAINTENANCE_MARGIN: f64 = 0.8;

/// The live detectors' settings.
pub fn live_config() -> AnomalyConfig {
    AnomalyConfig { window: LIVE_WINDOW, warm_up: 30, ..AnomalyConfig::default() }
}

/// What is watched of one metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricWatch {
    /// Declared lower bound.
    pub normal_min: Option<f64>,
    /// Declared upper bound.
    pub normal_max: Option<f64>,
    /// The open minute: (start ms, sum, count).
    minute: Option<(i64, f64, u64)>,
    detector: AnomalyDetector,
    trend: TrendTracker,
    /// The strongest anomaly of the latest minute that scored above the threshold, with its
    /// minute's start.
    pub last_anomaly: Option<(i64, AnomalyScore)>,
}

impl MetricWatch {
    fn new(normal_min: Option<f64>, normal_max: Option<f64>) -> Self {
        Self {
            normal_min,
            normal_max,
            minute: None,
            detector: AnomalyDetector::new(live_config()),
            trend: TrendTracker::default(),
            last_anomaly: None,
        }
    }

    fn add(&mut self, ts: i64, value: f64) {
        let start = ts.div_euclid(MINUTE_MS) * MINUTE_MS;
        match &mut self.minute {
            Some((open, sum, count)) if *open == start => {
                *sum += value;
                *count += 1;
            }
            Some((open, _, _)) if start < *open => {}
            _ => {
                self.close_minute();
                self.minute = Some((start, value, 1));
            }
        }
    }

    fn close_minute(&mut self) {
        let Some((start, sum, count)) = self.minute.take() else { return };
        let mean = sum / count as f64;
        let score = self.detector.observe(mean);
        self.trend.observe(start, mean, TREND_RETAIN_PER_HOUR);
        if score.score >= ANOMALY_THRESHOLD && score.kind != AnomalyKind::None {
            self.last_anomaly = Some((start, score));
        }
    }
}

/// What the maintenance model keeps of one device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DevicePrognosis {
    /// Kind.
    pub kind: DeviceKind,
    /// Region.
    pub region: String,
    /// Whether decommissioned.
    pub decommissioned: bool,
    /// Time of the latest sample (ms).
    pub last_seen: Option<i64>,
    /// Declared metrics.
    pub metrics: BTreeMap<String, MetricWatch>,
}

impl DirectoryEntry for DevicePrognosis {
    const PROJECTION: &'static str = "maintenance_predictions";
    const KINDS: &'static [&'static str] = &["device", "telemetry"];

    fn create(event: &ProjectedEvent<'_>) -> Option<Self> {
        let FleetEvent::Device(DeviceEvent::Registered { registration, .. }) = event.event else {
            return None;
        };
        Some(DevicePrognosis {
            kind: registration.kind,
            region: registration.region.clone(),
            decommissioned: false,
            last_seen: None,
            metrics: registration
                .metrics
                .iter()
                .map(|m| (m.name.clone(), MetricWatch::new(m.normal_min, m.normal_max)))
                .collect(),
        })
    }

    fn update(&mut self, event: &ProjectedEvent<'_>) -> bool {
        match event.event {
            FleetEvent::Device(DeviceEvent::Registered { .. }) => match Self::create(event) {
                Some(registered) => {
                    *self = registered;
                    true
                }
                None => false,
            },
            FleetEvent::Device(DeviceEvent::Decommissioned { .. }) => {
                self.decommissioned = true;
                true
            }
            FleetEvent::Telemetry(TelemetryEvent::Recorded(batch)) => {
                for sample in &batch.samples {
                    for value in &sample.values {
                        if let Some(watch) = self.metrics.get_mut(&value.metric) {
                            watch.add(sample.ts.0, value.value);
                        }
                    }
                    self.last_seen = Some(self.last_seen.map_or(sample.ts.0, |t| t.max(sample.ts.0)));
                }
                true
            }
            _ => false,
        }
    }
}

/// A device's prediction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    /// The device.
    pub device_id: String,
    /// Kind.
    pub kind: DeviceKind,
    /// Region.
    pub region: String,
    /// Probability-like risk (0..1) that a metric leaves its normal range within a week.
    pub risk_7d: f64,
    /// Hours until the first metric is expected to leave its range, when one is heading out.
    pub remaining_hours: Option<f64>,
    /// The metric expected to leave first.
    pub limiting_metric: Option<String>,
    /// Confidence of that estimate (0..1).
    pub confidence: f64,
    /// Suggested maintenance time (ms), ahead of the expected crossing.
    pub suggested_maintenance_at: Option<i64>,
    /// Trend per metric: (level, change per hour).
    pub trends: BTreeMap<String, (f64, f64)>,
    /// The latest anomaly per metric: minute start, score, detector, value, baseline.
    pub anomalies: BTreeMap<String, (i64, AnomalyScore)>,
}

/// The prediction for one device.
pub fn predict(device_id: &str, prognosis: &DevicePrognosis) -> Prediction {
    let mut prediction = Prediction {
        device_id: device_id.to_owned(),
        kind: prognosis.kind,
        region: prognosis.region.clone(),
        risk_7d: 0.0,
        remaining_hours: None,
        limiting_metric: None,
        confidence: 0.0,
        suggested_maintenance_at: None,
        trends: BTreeMap::new(),
        anomalies: BTreeMap::new(),
    };
    for (metric, watch) in &prognosis.metrics {
        if let Some(anomaly) = watch.last_anomaly {
            prediction.anomalies.insert(metric.clone(), anomaly);
        }
        let Some(estimate) = watch.trend.estimate(watch.normal_min, watch.normal_max) else { continue };
        prediction.trends.insert(metric.clone(), (estimate.level, estimate.slope_per_hour));
        let Some(hours) = estimate.hours_to_limit.filter(|h| *h <= HORIZON_HOURS) else { continue };
        let risk = estimate.confidence * (WEEK_HOURS / hours.max(1e-9)).min(1.0);
        if risk > prediction.risk_7d || prediction.remaining_hours.is_none() {
            prediction.risk_7d = risk;
            prediction.remaining_hours = Some(hours);
            prediction.limiting_metric = Some(metric.clone());
            prediction.confidence = estimate.confidence;
            prediction.suggested_maintenance_at =
                prognosis.last_seen.map(|seen| seen + (hours * MAINTENANCE_MARGIN * HOUR_MS) as i64);
        }
    }
    prediction
}

/// What the analysis finds about each declared metric of a device now, as the device's
/// condition alerts take it: an anomaly is current until the metric has been quiet for
/// [`ANOMALY_QUIET_MS`] of telemetry time; a forecast is a crossing within the horizon.
pub fn findings(prognosis: &DevicePrognosis) -> Vec<ConditionFinding> {
    prognosis
        .metrics
        .iter()
        .map(|(metric, watch)| {
            let anomaly = watch
                .last_anomaly
                .filter(|(start, _)| prognosis.last_seen.is_some_and(|seen| seen - start <= ANOMALY_QUIET_MS))
                .map(|(start, score)| AnomalyFinding {
                    detector: score.kind.label().to_owned(),
                    score: score.score,
                    value: score.value,
                    baseline: score.baseline,
                    seen_at: Timestamp(start),
                });
            let forecast = watch.trend.estimate(watch.normal_min, watch.normal_max).and_then(|estimate| {
                let hours = estimate.hours_to_limit.filter(|h| *h <= HORIZON_HOURS)?;
                Some(LimitForecast { hours, confidence: estimate.confidence })
            });
            ConditionFinding { metric: metric.clone(), anomaly, forecast }
        })
        .collect()
}

/// Devices in service ranked by risk (highest first), at most `limit`, with at least `min_risk`.
pub fn ranked(model: &Directory<DevicePrognosis>, min_risk: f64, limit: usize) -> Vec<Prediction> {
    let mut predictions: Vec<Prediction> = model
        .iter()
        .filter(|(_, prognosis)| !prognosis.decommissioned)
        .map(|(id, prognosis)| predict(id, prognosis))
        .filter(|p| p.risk_7d >= min_risk)
        .collect();
    predictions.sort_by(|a, b| b.risk_7d.total_cmp(&a.risk_7d).then_with(|| a.device_id.cmp(&b.device_id)));
    predictions.truncate(limit);
    predictions
}

#[cfg(test)]
mod tests {
    use super::*;
    use optibid_domain::device::{DeviceRegistration, MetricDeclaration, Protocol};
    use optibid_domain::ids::DeviceId;
    use optibid_domain::telemetry::{MetricValue, TelemetryBatch, TelemetrySample};

    fn registered() -> FleetEvent {
        FleetEvent::Device(DeviceEvent::Registered {
            registration: DeviceRegistration {
                location: None,
                id: DeviceId::new("inv-1").expect("valid"),
                name: "Inverter".to_owned(),
                kind: DeviceKind::SolarInverter,
                protocol: Protocol::Mqtt,
                site: "s".to_owned(),
                region: "eu".to_owned(),
                tags: vec![],
                firmware_version: "1".to_owned(),
                metrics: vec![MetricDeclaration {
                    name: "temp_c".to_owned(),
                    unit: "C".to_owned(),
                    normal_min: Some(-20.0),
                    normal_max: Some(75.0),
                }],
            },
            at: Timestamp(0),
        })
    }

    fn telemetry(samples: Vec<(i64, f64)>) -> FleetEvent {
        let samples = samples
            .into_iter()
            .map(|(ts, v)| TelemetrySample {
                ts: Timestamp(ts),
                values: vec![MetricValue { metric: "temp_c".to_owned(), value: v }],
            })
            .collect();
        FleetEvent::Telemetry(TelemetryEvent::Recorded(
            TelemetryBatch::new(DeviceId::new("inv-1").expect("valid"), samples).expect("valid"),
        ))
    }

    fn fold(events: &[FleetEvent]) -> DevicePrognosis {
        let mut entry: Option<DevicePrognosis> = None;
        for (i, event) in events.iter().enumerate() {
            let stream = if matches!(event, FleetEvent::Device(_)) { "device/inv-1" } else { "telemetry/inv-1" };
            let projected = ProjectedEvent { position: i as u64 + 1, stream, recorded_at: 0, event };
            match &mut entry {
                Some(prognosis) => {
                    prognosis.update(&projected);
                }
                None => entry = DevicePrognosis::create(&projected),
            }
        }
        entry.expect("registered")
    }

    #[test]
    fn a_warming_device_is_ranked_with_its_limit_and_a_spike_is_kept() {
        let mut events = vec![registered()];
        for minute in 0..(48 * 60) {
            let ts = minute * MINUTE_MS;
            let spike = if minute == 2_000 { 30.0 } else { 0.0 };
            let wobble = ((minute * 7919) % 13) as f64 * 0.15;
            events.push(telemetry(vec![(ts, 30.0 + 0.25 * (minute as f64 / 60.0) + wobble + spike)]));
        }
        let prognosis = fold(&events);
        let prediction = predict("inv-1", &prognosis);
        assert_eq!(prediction.limiting_metric.as_deref(), Some("temp_c"));
        let hours = prediction.remaining_hours.expect("heading for 75");
        assert!((hours - (75.0 - 42.0) / 0.25).abs() < 15.0, "{prediction:?}");
        assert!(prediction.risk_7d > 0.5 && prediction.confidence > 0.5, "{prediction:?}");
        let (at, anomaly) = prediction.anomalies.get("temp_c").copied().expect("the spike is kept");
        assert_eq!(at, 2_000 * MINUTE_MS);
        assert_eq!(anomaly.kind, AnomalyKind::Spike);
    }

    #[test]
    fn findings_hold_an_anomaly_while_it_is_recent_and_the_forecast_crossing() {
        let mut events = vec![registered()];
        let mut push_minute = |minute: i64, value: f64| events.push(telemetry(vec![(minute * MINUTE_MS, value)]));
        for minute in 0..(36 * 60) {
            let wobble = ((minute * 7919) % 13) as f64 * 0.15;
            push_minute(minute, 30.0 + 0.25 * (minute as f64 / 60.0) + wobble);
        }
        let spike_minute = 36 * 60;
        push_minute(spike_minute, 70.0);
        push_minute(spike_minute + 1, 39.0);
        let recent = findings(&fold(&events));
        assert_eq!(recent.len(), 1);
        assert_eq!(recent[0].metric, "temp_c");
        let anomaly = recent[0].anomaly.as_ref().expect("the spike is current");
        assert_eq!(anomaly.detector, "spike");
        assert_eq!(anomaly.seen_at, Timestamp(spike_minute * MINUTE_MS));
        assert!((anomaly.value - 70.0).abs() < 1e-9 && anomaly.baseline < 45.0, "{anomaly:?}");
        let forecast = recent[0].forecast.expect("heading for 75");
        assert!(forecast.is_due(), "{forecast:?}");

        for minute in (spike_minute + 2)..(spike_minute + 15) {
            events.push(telemetry(vec![(minute * MINUTE_MS, 39.0 + 0.25 * (minute as f64 / 60.0 - 36.0))]));
        }
        let quiet = findings(&fold(&events));
        assert!(quiet[0].anomaly.is_none(), "quiet for 13 minutes: {quiet:?}");
    }
}
