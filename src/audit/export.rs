//! The log as JSON lines, and back.
//!
//! An exported line carries every stored field (hashes in hex, the payload in base64) plus the
//! decoded event for people to read, so an export is both an audit trail and a backup:
//! `optibid store import` rebuilds an identical, verifiable log from it.

use crate::events::DecodeStored;
use crate::store::chain::{from_hex, to_hex};
use crate::store::{EventMetadata, RecordedEvent};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use optibid_domain::FleetEvent;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One exported event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportedEvent {
    /// Global position.
    pub position: u64,
    /// Stream.
    pub stream: String,
    /// Stream version.
    pub version: u64,
    /// Event id.
    pub event_id: Uuid,
    /// Event type.
    pub event_type: String,
    /// Payload schema version.
    pub schema_version: u16,
    /// Commit time, milliseconds since the Unix epoch.
    pub recorded_at_ms: i64,
    /// Commit time, RFC 3339.
    pub recorded_at: String,
    /// Causation, correlation, principal.
    pub metadata: EventMetadata,
    /// Payload hash, hex.
    pub payload_hash: String,
    /// Stored payload bytes, base64; `null` once pruned.
    pub payload: Option<String>,
    /// Previous chain hash, hex.
    pub prev_hash: String,
    /// Chain hash, hex.
    pub hash: String,
    /// The decoded event, for reading; `null` when pruned.
    pub data: Option<serde_json::Value>,
}

/// Why an exported line cannot be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportLineError {
    /// Not JSON of the export format.
    #[error("line {line}: not an exported event: {reason}")]
    Malformed {
        /// Line number (1-based).
        line: usize,
        /// Parser message.
        reason: String,
    },
    /// A field has a bad value.
    #[error("line {line}: field `{field}` is not valid {expected}")]
    BadField {
        /// Line number.
        line: usize,
        /// Field.
        field: &'static str,
        /// What it should be.
        expected: &'static str,
    },
}

impl ExportedEvent {
    /// The export form of `record`.
    pub fn from_record(record: &RecordedEvent) -> Self {
        let data = record
            .payload
            .as_ref()
            .and_then(|_| FleetEvent::decode(record).ok())
            .and_then(|event| serde_json::to_value(event).ok());
        Self {
            position: record.position,
            stream: record.stream.clone(),
            version: record.version,
            event_id: record.event_id,
            event_type: record.event_type.clone(),
            schema_version: record.schema_version,
            recorded_at_ms: record.recorded_at,
            recorded_at: chrono::DateTime::<chrono::Utc>::from_timestamp_millis(record.recorded_at)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
                .unwrap_or_default(),
            metadata: record.metadata.clone(),
            payload_hash: to_hex(&record.payload_hash),
            payload: record.payload.as_ref().map(|p| BASE64.encode(p)),
            prev_hash: to_hex(&record.prev_hash),
            hash: to_hex(&record.hash),
            data,
        }
    }

    /// Parses one exported line (1-based `line` for messages) back into a stored record.
    pub fn parse_line(line: usize, text: &str) -> Result<RecordedEvent, ImportLineError> {
        let exported: ExportedEvent =
            serde_json::from_str(text).map_err(|e| ImportLineError::Malformed { line, reason: e.to_string() })?;
        let hash = |field: &'static str, value: &str| {
            from_hex(value).ok_or(ImportLineError::BadField { line, field, expected: "64-digit hexadecimal" })
        };
        let payload = match &exported.payload {
            Some(text) => Some(BASE64.decode(text).map_err(|_| ImportLineError::BadField {
                line,
                field: "payload",
                expected: "base64",
            })?),
            None => None,
        };
        Ok(RecordedEvent {
            position: exported.position,
            stream: exported.stream,
            version: exported.version,
            event_id: exported.event_id,
            event_type: exported.event_type,
            schema_version: exported.schema_version,
            recorded_at: exported.recorded_at_ms,
            metadata: exported.metadata,
            payload_hash: hash("payload_hash", &exported.payload_hash)?,
            payload,
            prev_hash: hash("prev_hash", &exported.prev_hash)?,
            hash: hash("hash", &exported.hash)?,
        })
    }
}
