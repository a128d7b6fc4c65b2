//! An instance's state at an instant or at a stream version.

use crate::aggregates::StoredAggregate;
use crate::store::{EventLog, StoreError, StreamName, StreamVersion};
use optibid_domain::campaign::FleetCampaign;
use optibid_domain::device::Device;
use optibid_domain::edge::EdgeNode;
use serde::Serialize;

/// Up to where to fold a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// Every event recorded at or before this instant (milliseconds since the Unix epoch).
    Instant(i64),
    /// The first `n` events.
    Version(StreamVersion),
}

/// Why no state can be given.
#[derive(Debug, thiserror::Error)]
pub enum PointInTimeError {
    /// The stream has no event at all.
    #[error("unknown stream {0}: it has no events")]
    UnknownStream(String),
    /// The stream had no event yet at the requested point.
    #[error("{0} had no events yet at that point")]
    NotYetExisting(String),
    /// Telemetry streams hold samples, not aggregate state.
    #[error("{0} holds telemetry samples, not aggregate state; use `optibid audit export` to read them")]
    NoAggregate(String),
    /// The log failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The state of one instance at a point of its history.
#[derive(Debug, Clone, Serialize)]
pub struct PointInTimeState {
    /// The stream.
    pub stream: String,
    /// The stream version folded.
    pub version: StreamVersion,
    /// When the last folded event was recorded (RFC 3339).
    pub recorded_at: String,
    /// The state.
    pub state: serde_json::Value,
}

/// Folds `stream` up to `until` and returns its state as JSON.
pub fn state_at(log: &dyn EventLog, stream: &StreamName, until: Until) -> Result<PointInTimeState, PointInTimeError> {
    match stream.kind() {
        "device" => fold_until::<Device>(log, stream, until),
        "edge" => fold_until::<EdgeNode>(log, stream, until),
        "campaign" => fold_until::<FleetCampaign>(log, stream, until),
        _ => Err(PointInTimeError::NoAggregate(stream.to_string())),
    }
}

fn fold_until<A: StoredAggregate>(
    log: &dyn EventLog,
    stream: &StreamName,
    until: Until,
) -> Result<PointInTimeState, PointInTimeError> {
    let records = log.read_stream(stream, 1)?;
    if records.is_empty() {
        return Err(PointInTimeError::UnknownStream(stream.to_string()));
    }
    let mut state = A::State::default();
    let mut last = None;
    for record in &records {
        let included = match until {
            Until::Instant(millis) => record.recorded_at <= millis,
            Until::Version(version) => record.version <= version,
        };
        if !included {
            break;
        }
        state = A::evolve(state, A::decode(record)?);
        last = Some(record);
    }
    let last = last.ok_or_else(|| PointInTimeError::NotYetExisting(stream.to_string()))?;
    let recorded_at = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(last.recorded_at)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default();
    let state = serde_json::to_value(&state).map_err(|e| StoreError::Encode(e.to_string()))?;
    Ok(PointInTimeState { stream: stream.to_string(), version: last.version, recorded_at, state })
}
