//! Decoding any stored event by its stream kind.

use crate::aggregates::StoredAggregate;
use crate::store::codec::decode_payload;
use crate::store::{RecordedEvent, StoreError, StreamName};
use optibid_domain::campaign::{CampaignEvent, FleetCampaign};
use optibid_domain::device::{Device, DeviceEvent};
use optibid_domain::edge::{EdgeNode, EdgeNodeEvent};
use optibid_domain::telemetry::{TelemetryEvent, TELEMETRY_SCHEMA_VERSION};
use serde::Serialize;

/// An event of any stream kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum AnyEvent {
    /// From a `device/…` stream.
    Device(DeviceEvent),
    /// From an `edge/…` stream.
    Edge(EdgeNodeEvent),
    /// From a `campaign/…` stream.
    Campaign(CampaignEvent),
    /// From a `telemetry/…` stream.
    Telemetry(TelemetryEvent),
}

impl AnyEvent {
    /// Decodes `record` according to its stream's kind and schema version.
    pub fn decode(record: &RecordedEvent) -> Result<Self, StoreError> {
        let corrupt = |reason: String| StoreError::Corrupt { position: record.position, reason };
        let stream = StreamName::parse(&record.stream).map_err(|e| corrupt(e.to_string()))?;
        match stream.kind() {
            "device" => Device::decode(record).map(AnyEvent::Device),
            "edge" => EdgeNode::decode(record).map(AnyEvent::Edge),
            "campaign" => FleetCampaign::decode(record).map(AnyEvent::Campaign),
            "telemetry" => decode_payload(record, TELEMETRY_SCHEMA_VERSION).map(AnyEvent::Telemetry),
            other => Err(corrupt(format!("unknown stream kind {other:?}"))),
        }
    }
}
