//! Any event of the fleet, whichever stream it comes from.

use crate::campaign::CampaignEvent;
use crate::device::DeviceEvent;
use crate::edge::EdgeNodeEvent;
use crate::telemetry::TelemetryEvent;
use serde::Serialize;

/// An event of any stream kind, as projections and exports see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum FleetEvent {
    /// From a `device/…` stream.
    Device(DeviceEvent),
    /// From an `edge/…` stream.
    Edge(EdgeNodeEvent),
    /// From a `campaign/…` stream.
    Campaign(CampaignEvent),
    /// From a `telemetry/…` stream.
    Telemetry(TelemetryEvent),
}
