//! Decoding and validating the JSON payloads of the MQTT contract. Anything that does not pass
//! becomes a [`Rejection`], which the ingest turns into a dead-letter record.

use super::dead_letter::DeadLetterReason;
use optibid_domain::device::{CommandResponse, DeviceStatus};
use optibid_domain::edge::Heartbeat;
use optibid_domain::telemetry::{MetricValue, TelemetrySample, MAX_SAMPLES_PER_BATCH};
use optibid_domain::time::Timestamp;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::collections::BTreeMap;

/// Limits applied to every payload.
#[derive(Debug, Clone, Copy)]
pub struct PayloadLimits {
    /// Largest payload accepted, bytes.
    pub max_bytes: usize,
    /// How far ahead of the platform's clock a timestamp may be, milliseconds.
    pub max_clock_skew_ms: i64,
}

impl Default for PayloadLimits {
    fn default() -> Self {
        Self { max_bytes: 64 * 1024, max_clock_skew_ms: 5 * 60 * 1000 }
    }
}

/// Why a payload was refused, and the details a reader of the dead letter needs.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{reason}: {detail}")]
pub struct Rejection {
    /// The class of the problem.
    pub reason: DeadLetterReason,
    /// What exactly is wrong.
    pub detail: String,
}

impl Rejection {
    /// A rejection of the given class.
    pub fn new(reason: DeadLetterReason, detail: impl Into<String>) -> Self {
        Self { reason, detail: detail.into() }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SampleJson {
    ts: i64,
    values: BTreeMap<String, f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusJson {
    status: ReportedStatus,
    ts: Option<i64>,
    reason: Option<String>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum ReportedStatus {
    Online,
    Offline,
    Degraded,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum ResponseStatus {
    Accepted,
    InProgress,
    Succeeded,
    Failed,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResponseJson {
    status: ResponseStatus,
    progress: Option<u8>,
    detail: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HeartbeatJson {
    ts: Option<i64>,
    cpu_pct: f64,
    memory_pct: f64,
    gpu_pct: Option<f64>,
    inference_rate: f64,
    latency_ms: f64,
    #[serde(default)]
    models: Vec<String>,
    #[serde(default)]
    services: BTreeMap<String, String>,
}

/// A status a device reported about itself.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusReport {
    /// The status.
    pub status: DeviceStatus,
    /// When, by the device's clock (the receive time when the payload has none, as in a last will).
    pub at: Timestamp,
    /// Why, when the device said.
    pub reason: Option<String>,
}

/// An edge node's heartbeat with the parts the aggregate does not keep.
#[derive(Debug, Clone, PartialEq)]
pub struct HeartbeatReport {
    /// Resource use and inference figures.
    pub heartbeat: Heartbeat,
    /// Models the node says it has loaded.
    pub models: Vec<String>,
    /// Services and their states, as the node reports them.
    pub services: BTreeMap<String, String>,
}

fn decode<T: DeserializeOwned>(payload: &[u8], limits: PayloadLimits) -> Result<T, Rejection> {
    if payload.len() > limits.max_bytes {
        return Err(Rejection::new(
            DeadLetterReason::PayloadTooLarge,
            format!("{} bytes, the limit is {}", payload.len(), limits.max_bytes),
        ));
    }
    let text = std::str::from_utf8(payload)
        .map_err(|e| Rejection::new(DeadLetterReason::NotUtf8, format!("payload is not UTF-8: {e}")))?;
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let reason = match e.inner().classify() {
            serde_json::error::Category::Data => DeadLetterReason::InvalidField,
            _ => DeadLetterReason::MalformedJson,
        };
        let path = e.path().to_string();
        let detail = if path == "." { e.inner().to_string() } else { format!("{path}: {}", e.inner()) };
        Rejection::new(reason, detail)
    })?;
    deserializer.end().map_err(|e| Rejection::new(DeadLetterReason::MalformedJson, e.to_string()))?;
    Ok(value)
}

fn timestamp(ts: i64, now: Timestamp, limits: PayloadLimits) -> Result<Timestamp, Rejection> {
    if ts < 0 {
        return Err(Rejection::new(DeadLetterReason::InvalidField, format!("ts {ts} is before 1970")));
    }
    if ts > now.0.saturating_add(limits.max_clock_skew_ms) {
        return Err(Rejection::new(
            DeadLetterReason::FutureTimestamp,
            format!("ts {ts} is {} ms ahead of the platform clock", ts - now.0),
        ));
    }
    Ok(Timestamp(ts))
}

/// Decodes a telemetry payload (one sample object or an array of them).
pub fn telemetry(payload: &[u8], now: Timestamp, limits: PayloadLimits) -> Result<Vec<TelemetrySample>, Rejection> {
    let is_array = payload.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    let samples = if is_array { decode::<Vec<SampleJson>>(payload, limits)? } else { vec![decode(payload, limits)?] };
    if samples.is_empty() {
        return Err(Rejection::new(DeadLetterReason::InvalidField, "the array holds no sample"));
    }
    if samples.len() > MAX_SAMPLES_PER_BATCH {
        return Err(Rejection::new(
            DeadLetterReason::InvalidField,
            format!("{} samples in one message; at most {MAX_SAMPLES_PER_BATCH}", samples.len()),
        ));
    }
    samples
        .into_iter()
        .map(|sample| {
            let ts = timestamp(sample.ts, now, limits)?;
            if sample.values.is_empty() {
                return Err(Rejection::new(
                    DeadLetterReason::InvalidField,
                    format!("the sample at {ts} has no values"),
                ));
            }
            let values = sample
                .values
                .into_iter()
                .map(|(metric, value)| {
                    if !value.is_finite() {
                        return Err(Rejection::new(
                            DeadLetterReason::NonFiniteValue,
                            format!("{metric} at {ts} is not a finite number"),
                        ));
                    }
                    Ok(MetricValue { metric, value })
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(TelemetrySample { ts, values })
        })
        .collect()
}

/// Decodes a status payload.
pub fn status(payload: &[u8], now: Timestamp, limits: PayloadLimits) -> Result<StatusReport, Rejection> {
    let report: StatusJson = decode(payload, limits)?;
    let at = match report.ts {
        Some(ts) => timestamp(ts, now, limits)?,
        None => now,
    };
    let status = match report.status {
        ReportedStatus::Online => DeviceStatus::Online,
        ReportedStatus::Offline => DeviceStatus::Offline,
        ReportedStatus::Degraded => DeviceStatus::Degraded,
    };
    Ok(StatusReport { status, at, reason: report.reason })
}

/// Decodes a command response payload.
pub fn command_response(payload: &[u8], limits: PayloadLimits) -> Result<CommandResponse, Rejection> {
    let response: ResponseJson = decode(payload, limits)?;
    let detail = response.detail.unwrap_or_default();
    Ok(match response.status {
        ResponseStatus::Accepted => CommandResponse::Accepted,
        ResponseStatus::InProgress => {
            let progress = response.progress.ok_or_else(|| {
                Rejection::new(DeadLetterReason::InvalidField, "progress: required when the status is in_progress")
            })?;
            if progress > 100 {
                return Err(Rejection::new(
                    DeadLetterReason::InvalidField,
                    format!("progress: {progress} is over 100"),
                ));
            }
            CommandResponse::Progress(progress)
        }
        ResponseStatus::Succeeded => CommandResponse::Succeeded { detail },
        ResponseStatus::Failed => CommandResponse::Failed { reason: detail },
    })
}

/// Decodes an edge node heartbeat.
pub fn heartbeat(payload: &[u8], now: Timestamp, limits: PayloadLimits) -> Result<HeartbeatReport, Rejection> {
    let beat: HeartbeatJson = decode(payload, limits)?;
    let at = match beat.ts {
        Some(ts) => timestamp(ts, now, limits)?,
        None => now,
    };
    for (name, value) in [
        ("cpu_pct", beat.cpu_pct),
        ("memory_pct", beat.memory_pct),
        ("gpu_pct", beat.gpu_pct.unwrap_or(0.0)),
        ("inference_rate", beat.inference_rate),
        ("latency_ms", beat.latency_ms),
    ] {
        if !value.is_finite() || value < 0.0 {
            return Err(Rejection::new(
                DeadLetterReason::InvalidField,
                format!("{name}: {value} is not a number >= 0"),
            ));
        }
    }
    Ok(HeartbeatReport {
        heartbeat: Heartbeat {
            cpu_pct: beat.cpu_pct,
            memory_pct: beat.memory_pct,
            gpu_pct: beat.gpu_pct,
            inference_rate: beat.inference_rate,
            latency_ms: beat.latency_ms,
            at,
        },
        models: beat.models,
        services: beat.services,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Timestamp = Timestamp(1_700_000_000_000);

    fn limits() -> PayloadLimits {
        PayloadLimits::default()
    }

    fn reason_of<T: std::fmt::Debug>(result: Result<T, Rejection>) -> DeadLetterReason {
        result.expect_err("must be refused").reason
    }

    #[test]
    fn one_sample_and_arrays_decode() {
        let one =
            telemetry(br#"{"ts": 1700000000000, "values": {"power_w": 2347.6}}"#, NOW, limits()).expect("valid sample");
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].values, vec![MetricValue { metric: "power_w".into(), value: 2347.6 }]);
        let many =
            telemetry(br#"[{"ts": 1, "values": {"a": 1}}, {"ts": 2, "values": {"a": 2, "b": -3.5}}]"#, NOW, limits())
                .expect("valid array");
        assert_eq!(many.len(), 2);
        assert_eq!(many[1].ts, Timestamp(2));
    }

    #[test]
    fn every_bad_telemetry_payload_has_its_reason() {
        let cases: [(&[u8], DeadLetterReason); 10] = [
            (b"{not json", DeadLetterReason::MalformedJson),
            (br#"{"ts": 1, "values": {"a": NaN}}"#, DeadLetterReason::MalformedJson),
            (br#"{"ts": 1, "values": {"a": 1e999}}"#, DeadLetterReason::MalformedJson),
            (br#"{"ts": "yesterday", "values": {"a": 1}}"#, DeadLetterReason::InvalidField),
            (br#"{"ts": 1, "values": {"a": "hot"}}"#, DeadLetterReason::InvalidField),
            (br#"{"ts": 1, "values": {}}"#, DeadLetterReason::InvalidField),
            (br#"[]"#, DeadLetterReason::InvalidField),
            (br#"{"ts": 1800000000000, "values": {"a": 1}}"#, DeadLetterReason::FutureTimestamp),
            (b"\xff\xfe", DeadLetterReason::NotUtf8),
            (br#"{"ts": 1, "values": {"a": 1}} trailing"#, DeadLetterReason::MalformedJson),
        ];
        for (payload, reason) in cases {
            assert_eq!(reason_of(telemetry(payload, NOW, limits())), reason, "{}", String::from_utf8_lossy(payload));
        }
        let big = vec![b' '; limits().max_bytes + 1];
        assert_eq!(reason_of(telemetry(&big, NOW, limits())), DeadLetterReason::PayloadTooLarge);
    }

    #[test]
    fn invalid_field_names_the_path() {
        let rejection = telemetry(br#"{"ts": 1, "values": {"a": "hot"}}"#, NOW, limits()).expect_err("wrong type");
        assert!(rejection.detail.starts_with("values.a"), "{}", rejection.detail);
        let rejection =
            telemetry(br#" [{"ts": 1, "values": {"a": 1}}, {"ts": 2}]"#, NOW, limits()).expect_err("missing values");
        assert!(rejection.detail.starts_with("[1]"), "{}", rejection.detail);
    }

    #[test]
    fn status_without_time_uses_the_receive_time() {
        let report = status(br#"{"status": "offline"}"#, NOW, limits()).expect("valid last will");
        assert_eq!(report, StatusReport { status: DeviceStatus::Offline, at: NOW, reason: None });
        assert_eq!(reason_of(status(br#"{"status": "exploded"}"#, NOW, limits())), DeadLetterReason::InvalidField);
    }

    #[test]
    fn responses_map_to_the_domain() {
        assert_eq!(command_response(br#"{"status": "accepted"}"#, limits()), Ok(CommandResponse::Accepted));
        assert_eq!(
            command_response(br#"{"status": "in_progress", "progress": 40}"#, limits()),
            Ok(CommandResponse::Progress(40))
        );
        assert_eq!(
            command_response(br#"{"status": "failed", "detail": "flash full"}"#, limits()),
            Ok(CommandResponse::Failed { reason: "flash full".into() })
        );
        assert_eq!(
            reason_of(command_response(br#"{"status": "in_progress", "progress": 140}"#, limits())),
            DeadLetterReason::InvalidField
        );
        assert_eq!(
            reason_of(command_response(br#"{"status": "in_progress"}"#, limits())),
            DeadLetterReason::InvalidField
        );
    }

    #[test]
    fn heartbeats_validate_their_figures() {
        let beat = heartbeat(
            br#"{"cpu_pct": 41.5, "memory_pct": 63, "inference_rate": 120, "latency_ms": 8.5, "models": ["rul-v3"], "services": {"inference": "running"}}"#,
            NOW,
            limits(),
        )
        .expect("valid heartbeat");
        assert_eq!(beat.heartbeat.at, NOW);
        assert_eq!(beat.models, vec!["rul-v3".to_owned()]);
        assert_eq!(
            reason_of(heartbeat(
                br#"{"cpu_pct": -1, "memory_pct": 1, "inference_rate": 1, "latency_ms": 1}"#,
                NOW,
                limits()
            )),
            DeadLetterReason::InvalidField
        );
    }
}
