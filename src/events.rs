//! Decoding any stored event into a [`FleetEvent`], by its stream kind: the one place that reads
//! stored payloads back, shared by audit, the read models and the process managers.

use crate::aggregates::upcast::{decode_event, StoredAt};
use crate::store::codec::decode_bytes;
use crate::store::{GlobalPosition, RecordView, RecordedEvent, StoreError};
use optibid_domain::campaign::FleetCampaign;
use optibid_domain::device::{Device, DeviceEvent};
use optibid_domain::edge::EdgeNode;
use optibid_domain::ids::DeviceId;
use optibid_domain::telemetry::TELEMETRY_SCHEMA_VERSION;
use optibid_domain::FleetEvent;

/// Decoding of stored events into [`FleetEvent`].
pub trait DecodeStored: Sized {
    /// Decodes `record` according to its stream's kind and schema version.
    fn decode(record: &RecordedEvent) -> Result<Self, StoreError>;
    /// Decodes the payload of a borrowed record.
    fn decode_view(view: &RecordView<'_>) -> Result<Self, StoreError>;
}

impl DecodeStored for FleetEvent {
    fn decode(record: &RecordedEvent) -> Result<Self, StoreError> {
        let payload = record.payload.as_deref().ok_or(StoreError::Pruned(record.position))?;
        decode_parts(record.position, &record.stream, &record.event_type, record.schema_version, payload)
    }

    fn decode_view(view: &RecordView<'_>) -> Result<Self, StoreError> {
        let payload = view.payload.ok_or(StoreError::Pruned(view.position))?;
        decode_parts(view.position, view.stream, view.event_type, view.schema_version, payload)
    }
}

fn decode_parts(
    position: GlobalPosition,
    stream: &str,
    event_type: &str,
    schema_version: u16,
    payload: &[u8],
) -> Result<FleetEvent, StoreError> {
    let at = StoredAt { position, event_type, schema_version };
    match stream.split_once('/').map_or(stream, |(kind, _)| kind) {
        "device" => decode_event::<Device>(at, payload).map(FleetEvent::Device),
        "edge" => decode_event::<EdgeNode>(at, payload).map(FleetEvent::Edge),
        "campaign" => decode_event::<FleetCampaign>(at, payload).map(FleetEvent::Campaign),
        "telemetry" if schema_version == TELEMETRY_SCHEMA_VERSION => {
            decode_bytes(position, event_type, payload).map(FleetEvent::Telemetry)
        }
        "telemetry" => Err(StoreError::Corrupt {
            position,
            reason: format!(
                "{event_type} has schema version {schema_version}, this build reads version {TELEMETRY_SCHEMA_VERSION}"
            ),
        }),
        other => Err(StoreError::Corrupt { position, reason: format!("unknown stream kind {other:?}") }),
    }
}

/// The device and event of a stored device event; `None` for other streams, and for a device
/// event that cannot be decoded (logged: the caller skips it).
pub fn decode_device_event(record: &RecordedEvent) -> Option<(DeviceId, DeviceEvent)> {
    let id = record.stream.strip_prefix("device/")?;
    match FleetEvent::decode(record) {
        Ok(FleetEvent::Device(event)) => Some((DeviceId::new(id).ok()?, event)),
        Ok(_) => None,
        Err(error) => {
            tracing::warn!(%error, position = record.position, "skipping an event that cannot be decoded");
            None
        }
    }
}
