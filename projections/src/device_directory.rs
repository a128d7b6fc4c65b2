//! The device directory: what the device list shows and filters on.

use crate::directory::DirectoryEntry;
use crate::projection::ProjectedEvent;
use optibid_domain::device::{DeviceEvent, DeviceKind, DeviceStatus, Location, Protocol};
use optibid_domain::FleetEvent;
use serde::{Deserialize, Serialize};

/// One device in the directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceEntry {
    /// Device id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: DeviceKind,
    /// Protocol.
    pub protocol: Protocol,
    /// Site.
    pub site: String,
    /// Region.
    pub region: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Status.
    pub status: DeviceStatus,
    /// Firmware version.
    pub firmware_version: String,
    /// Whether decommissioned.
    pub decommissioned: bool,
    /// Commit time of its registration (ms).
    pub registered_at: i64,
    /// Commit time of its last event (ms).
    pub updated_at: i64,
    /// Where it stands, when its registration says (for the map).
    pub location: Option<Location>,
}

/// Filters of the device list; `None` fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct DeviceFilter {
    /// Kind (also accepted as `type`).
    #[serde(alias = "type")]
    pub kind: Option<DeviceKind>,
    /// Status.
    pub status: Option<DeviceStatus>,
    /// Protocol.
    pub protocol: Option<Protocol>,
    /// Region.
    pub region: Option<String>,
    /// Site.
    pub site: Option<String>,
    /// A tag the device must carry.
    pub tag: Option<String>,
    /// Text the name must contain (case-insensitive).
    pub q: Option<String>,
    /// Whether to include decommissioned devices (default: no).
    #[serde(default)]
    pub include_decommissioned: bool,
}

impl DeviceFilter {
    /// Whether `entry` passes the filter.
    pub fn matches(&self, entry: &DeviceEntry) -> bool {
        (self.include_decommissioned || !entry.decommissioned)
            && self.kind.is_none_or(|kind| entry.kind == kind)
            && self.status.is_none_or(|status| entry.status == status)
            && self.protocol.is_none_or(|protocol| entry.protocol == protocol)
            && self.region.as_ref().is_none_or(|region| &entry.region == region)
            && self.site.as_ref().is_none_or(|site| &entry.site == site)
            && self.tag.as_ref().is_none_or(|tag| entry.tags.contains(tag))
            && self.q.as_ref().is_none_or(|q| entry.name.to_lowercase().contains(&q.to_lowercase()))
    }
}

impl DirectoryEntry for DeviceEntry {
    const PROJECTION: &'static str = "device_directory";
    const KINDS: &'static [&'static str] = &["device"];

    fn create(event: &ProjectedEvent<'_>) -> Option<Self> {
        let FleetEvent::Device(DeviceEvent::Registered { registration, .. }) = event.event else {
            return None;
        };
        Some(DeviceEntry {
            id: registration.id.to_string(),
            name: registration.name.clone(),
            kind: registration.kind,
            protocol: registration.protocol,
            site: registration.site.clone(),
            region: registration.region.clone(),
            tags: registration.tags.clone(),
            status: DeviceStatus::Offline,
            firmware_version: registration.firmware_version.clone(),
            decommissioned: false,
            registered_at: event.recorded_at,
            updated_at: event.recorded_at,
            location: registration.location,
        })
    }

    fn update(&mut self, event: &ProjectedEvent<'_>) -> bool {
        let FleetEvent::Device(device_event) = event.event else { return false };
        if let Some(registered) = Self::create(event) {
            *self = registered;
            return true;
        }
        self.updated_at = event.recorded_at;
        match device_event {
            DeviceEvent::StatusChanged { to, .. } => self.status = *to,
            DeviceEvent::FirmwareChanged { to, .. } => self.firmware_version = to.clone(),
            DeviceEvent::Decommissioned { .. } => self.decommissioned = true,
            _ => {}
        }
        true
    }
}
