//! Encoding of stored records and domain events.
//!
//! Every stored value starts with one envelope-format byte, then the postcard encoding of a
//! [`RecordedEvent`]. Domain events are postcard-encoded payloads tagged with the schema version
//! of their aggregate's event type; an unknown schema version is reported, not guessed at.

use super::error::StoreError;
use super::record::{GlobalPosition, RecordView, RecordedEvent};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Envelope format written today.
pub const ENVELOPE_FORMAT: u8 = 1;

/// Encodes a record as stored.
pub fn encode_record(record: &RecordedEvent) -> Result<Vec<u8>, StoreError> {
    let mut bytes = vec![ENVELOPE_FORMAT];
    bytes.extend(postcard::to_stdvec(record).map_err(|e| StoreError::Encode(e.to_string()))?);
    Ok(bytes)
}

/// Decodes a stored record found at `position`.
pub fn decode_record(position: GlobalPosition, bytes: &[u8]) -> Result<RecordedEvent, StoreError> {
    match bytes.split_first() {
        Some((&ENVELOPE_FORMAT, body)) => postcard::from_bytes(body)
            .map_err(|e| StoreError::Corrupt { position, reason: format!("undecodable envelope: {e}") }),
        Some((format, _)) => Err(StoreError::Corrupt { position, reason: format!("unknown envelope format {format}") }),
        None => Err(StoreError::Corrupt { position, reason: "empty record".to_owned() }),
    }
}

/// Borrows a stored record found at `position` without allocating.
pub fn view_record(position: GlobalPosition, bytes: &[u8]) -> Result<RecordView<'_>, StoreError> {
    match bytes.split_first() {
        Some((&ENVELOPE_FORMAT, body)) => postcard::from_bytes(body)
            .map_err(|e| StoreError::Corrupt { position, reason: format!("undecodable envelope: {e}") }),
        Some((format, _)) => Err(StoreError::Corrupt { position, reason: format!("unknown envelope format {format}") }),
        None => Err(StoreError::Corrupt { position, reason: "empty record".to_owned() }),
    }
}

/// Encodes a domain event as a payload.
pub fn encode_payload<E: Serialize>(event: &E) -> Result<Vec<u8>, StoreError> {
    postcard::to_stdvec(event).map_err(|e| StoreError::Encode(e.to_string()))
}

/// Decodes the payload of `record` as `E`, whose current schema version is `schema_version`.
pub fn decode_payload<E: DeserializeOwned>(record: &RecordedEvent, schema_version: u16) -> Result<E, StoreError> {
    if record.schema_version != schema_version {
        return Err(StoreError::Corrupt {
            position: record.position,
            reason: format!(
                "{} has schema version {}, this build reads version {schema_version}",
                record.event_type, record.schema_version
            ),
        });
    }
    let payload = record.payload.as_deref().ok_or(StoreError::Pruned(record.position))?;
    decode_bytes(record.position, &record.event_type, payload)
}

/// Decodes payload bytes of the event at `position`, of type `event_type`, as `E`.
pub fn decode_bytes<E: DeserializeOwned>(
    position: GlobalPosition,
    event_type: &str,
    payload: &[u8],
) -> Result<E, StoreError> {
    postcard::from_bytes(payload)
        .map_err(|e| StoreError::Corrupt { position, reason: format!("undecodable {event_type} payload: {e}") })
}
