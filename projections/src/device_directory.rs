//! The device directory: what the device list shows and filters on.

use crate::directory::{DirectoryEntry, TermQuery};
use crate::projection::ProjectedEvent;
use crate::term_index::trigrams;
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

    /// The index terms every match carries; exact unless a name search must still be checked.
    pub fn query(&self) -> TermQuery {
        let mut terms = Vec::new();
        if !self.include_decommissioned {
            terms.push(ACTIVE.to_owned());
        }
        terms.extend(self.kind.map(kind_term));
        terms.extend(self.status.map(status_term));
        terms.extend(self.protocol.map(protocol_term));
        terms.extend(self.region.as_deref().map(region_term));
        terms.extend(self.site.as_deref().map(site_term));
        terms.extend(self.tag.as_deref().map(tag_term));
        if let Some(q) = &self.q {
            terms.extend(trigrams(q).iter().map(|gram| name_term(gram)));
        }
        TermQuery { terms, exact: self.q.is_none() }
    }
}

/// Term of every device not decommissioned.
const ACTIVE: &str = "active";

fn kind_term(kind: DeviceKind) -> String {
    format!("kind={kind:?}")
}

fn status_term(status: DeviceStatus) -> String {
    format!("status={status:?}")
}

fn protocol_term(protocol: Protocol) -> String {
    format!("protocol={protocol:?}")
}

fn region_term(region: &str) -> String {
    format!("region={region}")
}

fn site_term(site: &str) -> String {
    format!("site={site}")
}

fn tag_term(tag: &str) -> String {
    format!("tag={tag}")
}

fn name_term(gram: &str) -> String {
    format!("name~{gram}")
}

impl DirectoryEntry for DeviceEntry {
    const PROJECTION: &'static str = "device_directory";
    const KINDS: &'static [&'static str] = &["device"];

    fn index_terms(&self) -> Vec<String> {
        let mut terms = vec![
            kind_term(self.kind),
            status_term(self.status),
            protocol_term(self.protocol),
            region_term(&self.region),
            site_term(&self.site),
        ];
        if !self.decommissioned {
            terms.push(ACTIVE.to_owned());
        }
        terms.extend(self.tags.iter().map(|tag| tag_term(tag)));
        terms.extend(trigrams(&self.name).iter().map(|gram| name_term(gram)));
        terms
    }

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
