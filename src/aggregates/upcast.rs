//! Events stored at an older schema version, read as today's events.
//!
//! postcard is not self-describing, so a stored payload can only be read with the very type it
//! was written with. When an aggregate's events change shape, its `EVENT_SCHEMA_VERSION` goes up
//! and its [`Upcast`] reads the older versions: it decodes the old shape and turns it into the
//! current event. Stored bytes are never rewritten; they verify and decode forever.

use crate::store::codec::decode_bytes;
use crate::store::{GlobalPosition, StoreError};
use optibid_domain::campaign::FleetCampaign;
use optibid_domain::device::{Device, DeviceEvent, DeviceKind, DeviceRegistration, MetricDeclaration, Protocol};
use optibid_domain::edge::EdgeNode;
use optibid_domain::ids::DeviceId;
use optibid_domain::{Aggregate, Timestamp};
use serde::de::DeserializeOwned;
use serde::Deserialize;

/// Where a stored event comes from, for the errors.
#[derive(Debug, Clone, Copy)]
pub struct StoredAt<'a> {
    /// Its global position.
    pub position: GlobalPosition,
    /// Its type, such as `device.registered`.
    pub event_type: &'a str,
    /// The schema version it was written with.
    pub schema_version: u16,
}

/// Reads an aggregate's events of older schema versions.
pub trait Upcast: Aggregate<Event: DeserializeOwned> {
    /// `payload`, written at the older `at.schema_version`, as a current event.
    fn upcast(at: StoredAt<'_>, _payload: &[u8]) -> Result<Self::Event, StoreError> {
        Err(StoreError::Corrupt {
            position: at.position,
            reason: format!("{} has schema version {}, which no upcaster reads", at.event_type, at.schema_version),
        })
    }
}

/// Decodes a stored event of `A`: the current version directly, an older one through `A`'s
/// upcaster; a newer one is refused (it was written by a newer build).
pub fn decode_event<A: Upcast + ?Sized>(at: StoredAt<'_>, payload: &[u8]) -> Result<A::Event, StoreError> {
    match at.schema_version.cmp(&A::EVENT_SCHEMA_VERSION) {
        std::cmp::Ordering::Equal => decode_bytes(at.position, at.event_type, payload),
        std::cmp::Ordering::Less => A::upcast(at, payload),
        std::cmp::Ordering::Greater => Err(StoreError::Corrupt {
            position: at.position,
            reason: format!(
                "{} has schema version {}, written by a newer build (this one reads up to {})",
                at.event_type,
                at.schema_version,
                A::EVENT_SCHEMA_VERSION
            ),
        }),
    }
}

impl Upcast for EdgeNode {}

impl Upcast for FleetCampaign {}

/// A device registration as event schema 1 stored it: without a location.
#[derive(Deserialize)]
struct DeviceRegistrationV1 {
    id: DeviceId,
    name: String,
    kind: DeviceKind,
    protocol: Protocol,
    site: String,
    region: String,
    tags: Vec<String>,
    firmware_version: String,
    metrics: Vec<MetricDeclaration>,
}

/// `device.registered` as event schema 1 stored it (the variant's index, then its fields).
#[derive(Deserialize)]
struct RegisteredV1 {
    registration: DeviceRegistrationV1,
    at: Timestamp,
}

/// The index postcard gives `DeviceEvent::Registered`, its first variant.
const REGISTERED_VARIANT: u8 = 0;

impl Upcast for Device {
    /// Schema 1 differs from 2 only in `device.registered`, whose registration had no location:
    /// every other variant is stored with the same bytes in both.
    fn upcast(at: StoredAt<'_>, payload: &[u8]) -> Result<DeviceEvent, StoreError> {
        if at.schema_version != 1 {
            return Err(StoreError::Corrupt {
                position: at.position,
                reason: format!("{} has schema version {}, which no upcaster reads", at.event_type, at.schema_version),
            });
        }
        match payload.split_first() {
            Some((&REGISTERED_VARIANT, fields)) => {
                let old: RegisteredV1 = decode_bytes(at.position, at.event_type, fields)?;
                let r = old.registration;
                let registration = DeviceRegistration {
                    id: r.id,
                    name: r.name,
                    kind: r.kind,
                    protocol: r.protocol,
                    site: r.site,
                    region: r.region,
                    tags: r.tags,
                    firmware_version: r.firmware_version,
                    metrics: r.metrics,
                    location: None,
                };
                Ok(DeviceEvent::Registered { registration, at: old.at })
            }
            _ => decode_bytes(at.position, at.event_type, payload),
        }
    }
}
