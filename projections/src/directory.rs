//! A directory of instances: one entry per instance id, kept in memory for fast filtering and
//! persisted per entry.

use crate::projection::{ProjectedEvent, Projection, ProjectionError};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Prefix of entry keys in the directory's tree.
const ENTRY_PREFIX: &[u8] = b"e/";

/// One entry of a directory.
pub trait DirectoryEntry: Clone + Serialize + DeserializeOwned + Send + Sync + 'static {
    /// Name of the projection (and its tree).
    const PROJECTION: &'static str;
    /// Stream kinds it follows (entries are keyed by the stream's id, whatever its kind).
    const KINDS: &'static [&'static str];

    /// The entry `event` creates for an instance that has none yet (`None`: still none).
    fn create(event: &ProjectedEvent<'_>) -> Option<Self>;

    /// Applies `event` to the instance's entry in place; returns whether it changed (an entry
    /// that did not change is not written again).
    fn update(&mut self, event: &ProjectedEvent<'_>) -> bool;
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<E> {
    /// The entries, ordered by id.
    pub items: Vec<E>,
    /// Pass as `after` to get the next page; `None` on the last page.
    pub next_cursor: Option<String>,
    /// How many entries match the filter in all.
    pub total: usize,
}

/// A directory of entries `E`, by instance id.
#[derive(Debug, Clone)]
pub struct Directory<E: DirectoryEntry> {
    entries: BTreeMap<String, E>,
    /// Ids of the entries changed since the last [`Projection::stage`]: each is encoded once
    /// per batch, however many of the batch's events touched it.
    changed: BTreeSet<String>,
}

impl<E: DirectoryEntry> Default for Directory<E> {
    fn default() -> Self {
        Self { entries: BTreeMap::new(), changed: BTreeSet::new() }
    }
}

impl<E: DirectoryEntry> Directory<E> {
    /// The entry of instance `id`.
    pub fn get(&self, id: &str) -> Option<&E> {
        self.entries.get(id)
    }

    /// Every entry, ordered by id.
    pub fn entries(&self) -> impl Iterator<Item = &E> {
        self.entries.values()
    }

    /// Every id with its entry, ordered by id.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &E)> {
        self.entries.iter().map(|(id, entry)| (id.as_str(), entry))
    }

    /// How many entries there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the directory is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries matching `filter`, ordered by id, starting after id `after`, at most `limit`.
    pub fn page(&self, filter: impl Fn(&E) -> bool, after: Option<&str>, limit: usize) -> Page<E> {
        let limit = limit.max(1);
        let mut total = 0;
        let mut items = Vec::with_capacity(limit.min(1_000));
        let mut last_id = None;
        let mut more = false;
        for (id, entry) in self.entries.iter().filter(|(_, entry)| filter(entry)) {
            total += 1;
            if after.is_some_and(|after| id.as_str() <= after) {
                continue;
            }
            if items.len() < limit {
                items.push(entry.clone());
                last_id = Some(id);
            } else {
                more = true;
            }
        }
        Page { items, next_cursor: last_id.filter(|_| more).cloned(), total }
    }
}

impl<E: DirectoryEntry> Projection for Directory<E> {
    fn name(&self) -> &'static str {
        E::PROJECTION
    }

    fn follows(&self, stream_kind: &str) -> bool {
        E::KINDS.contains(&stream_kind)
    }

    fn restore(&mut self, tree: &sled::Tree) -> Result<(), ProjectionError> {
        self.entries.clear();
        self.changed.clear();
        for entry in tree.scan_prefix(ENTRY_PREFIX) {
            let (key, value) = entry?;
            let id = String::from_utf8_lossy(&key[ENTRY_PREFIX.len()..]).into_owned();
            let decoded = postcard::from_bytes(&value).map_err(|e| ProjectionError::Corrupt {
                projection: E::PROJECTION,
                key: id.clone(),
                reason: e.to_string(),
            })?;
            self.entries.insert(id, decoded);
        }
        Ok(())
    }

    fn apply(&mut self, event: &ProjectedEvent<'_>, _writes: &mut sled::Batch) -> Result<(), ProjectionError> {
        if !E::KINDS.contains(&event.kind()) {
            return Ok(());
        }
        let id = event.id();
        match self.entries.get_mut(id) {
            Some(entry) => {
                if !entry.update(event) {
                    return Ok(());
                }
            }
            None => match E::create(event) {
                Some(entry) => {
                    self.entries.insert(id.to_owned(), entry);
                }
                None => return Ok(()),
            },
        }
        if !self.changed.contains(id) {
            self.changed.insert(id.to_owned());
        }
        Ok(())
    }

    fn stage(&mut self, writes: &mut sled::Batch) -> Result<(), ProjectionError> {
        for id in std::mem::take(&mut self.changed) {
            let Some(entry) = self.entries.get(&id) else { continue };
            let encoded = postcard::to_stdvec(entry)
                .map_err(|e| ProjectionError::Encode { projection: E::PROJECTION, reason: e.to_string() })?;
            let mut key = ENTRY_PREFIX.to_vec();
            key.extend_from_slice(id.as_bytes());
            writes.insert(key, encoded);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device_directory::{DeviceEntry, DeviceFilter};
    use optibid_domain::device::{DeviceEvent, DeviceKind, DeviceRegistration, DeviceStatus, Protocol};
    use optibid_domain::{DeviceId, FleetEvent, Timestamp};

    fn registered(id: &str, kind: DeviceKind) -> FleetEvent {
        FleetEvent::Device(DeviceEvent::Registered {
            registration: DeviceRegistration {
                location: None,
                id: DeviceId::new(id).expect("valid id"),
                name: format!("Device {id}"),
                kind,
                protocol: Protocol::Mqtt,
                site: "s".to_owned(),
                region: "eu".to_owned(),
                tags: vec![],
                firmware_version: "1".to_owned(),
                metrics: vec![],
            },
            at: Timestamp(1),
        })
    }

    fn apply(
        directory: &mut Directory<DeviceEntry>,
        tree: &sled::Tree,
        position: u64,
        stream: &str,
        event: &FleetEvent,
    ) {
        let mut writes = sled::Batch::default();
        let projected = ProjectedEvent { position, stream, recorded_at: position as i64, event };
        directory.apply(&projected, &mut writes).expect("applies");
        directory.stage(&mut writes).expect("stages");
        tree.apply_batch(writes).expect("writes");
    }

    #[test]
    fn pages_filter_and_survive_a_restore() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = sled::Config::new().path(dir.path()).open().expect("opens");
        let tree = db.open_tree("device_directory").expect("tree");
        let mut directory = Directory::<DeviceEntry>::default();
        for (n, id) in ["c", "a", "d", "b"].iter().enumerate() {
            let kind = if n % 2 == 0 { DeviceKind::SolarInverter } else { DeviceKind::SmartMeter };
            apply(&mut directory, &tree, n as u64 + 1, &format!("device/{id}"), &registered(id, kind));
        }
        let online = FleetEvent::Device(DeviceEvent::StatusChanged {
            from: DeviceStatus::Offline,
            to: DeviceStatus::Online,
            reason: None,
            from_telemetry: true,
            at: Timestamp(5),
        });
        apply(&mut directory, &tree, 5, "device/a", &online);
        let telemetry_elsewhere = registered("zz", DeviceKind::Other);
        apply(&mut directory, &tree, 6, "edge/zz", &telemetry_elsewhere);

        let all = DeviceFilter::default();
        let first = directory.page(|e| all.matches(e), None, 3);
        assert_eq!(first.items.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), vec!["a", "b", "c"]);
        assert_eq!((first.total, first.next_cursor.as_deref()), (4, Some("c")));
        let second = directory.page(|e| all.matches(e), first.next_cursor.as_deref(), 3);
        assert_eq!(second.items.len(), 1);
        assert_eq!(second.next_cursor, None);
        let solar = DeviceFilter { kind: Some(DeviceKind::SolarInverter), ..DeviceFilter::default() };
        assert_eq!(directory.page(|e| solar.matches(e), None, 10).total, 2);
        let online_only = DeviceFilter { status: Some(DeviceStatus::Online), ..DeviceFilter::default() };
        assert_eq!(directory.page(|e| online_only.matches(e), None, 10).items[0].id, "a");

        let mut restored = Directory::<DeviceEntry>::default();
        restored.restore(&tree).expect("restores");
        assert_eq!(restored.len(), 4);
        assert_eq!(restored.get("a"), directory.get("a"));
    }
}
