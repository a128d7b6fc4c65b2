//! Dead letters: messages the platform could not accept, kept with the reason, the topic, the
//! first bytes and the time, so an operator can see what devices send wrong. Nothing that is
//! already stored is touched by a bad message.

use crate::store::{Durability, SledEventLog, StoreError};
use optibid_domain::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Name of the sled tree that holds dead letters.
const DEAD_LETTERS_TREE: &str = "dead_letters";

/// How many leading payload bytes a dead letter keeps.
pub const KEPT_PAYLOAD_BYTES: usize = 256;

/// Why a message became a dead letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeadLetterReason {
    /// The topic is not part of the contract.
    UnknownTopic,
    /// The payload is not valid JSON.
    MalformedJson,
    /// A field is missing, of the wrong type or out of range.
    InvalidField,
    /// The payload is not UTF-8.
    NotUtf8,
    /// A value is NaN or infinite.
    NonFiniteValue,
    /// A timestamp is too far ahead of the platform's clock.
    FutureTimestamp,
    /// A metric the device did not declare at registration.
    UnknownMetric,
    /// The payload is over the size limit.
    PayloadTooLarge,
    /// No such device or edge node is registered (and auto-provisioning is off).
    UnknownDevice,
    /// Every sample of the message was stored already. Kept so that dead letters recorded by
    /// earlier versions still read; a redelivery is now acknowledged without a dead letter.
    DuplicateSample,
    /// The aggregate refused the command the message became (for example a response to an
    /// unknown command, or a message for a decommissioned device).
    Rejected,
    /// A reading contradicts the value stored for the same device, time and metric; the first
    /// stored value stands.
    ConflictingSample,
    /// A client published or subscribed where its identity does not allow it (another device's
    /// topic, or a topic outside its own).
    NotAuthorised,
}

impl DeadLetterReason {
    /// Every reason, in a fixed order (the order of the counters).
    pub const ALL: [DeadLetterReason; 13] = [
        Self::UnknownTopic,
        Self::MalformedJson,
        Self::InvalidField,
        Self::NotUtf8,
        Self::NonFiniteValue,
        Self::FutureTimestamp,
        Self::UnknownMetric,
        Self::PayloadTooLarge,
        Self::UnknownDevice,
        Self::DuplicateSample,
        Self::Rejected,
        Self::ConflictingSample,
        Self::NotAuthorised,
    ];

    /// The snake_case code used in the API and in metric labels.
    pub fn code(self) -> &'static str {
        match self {
            Self::UnknownTopic => "unknown_topic",
            Self::MalformedJson => "malformed_json",
            Self::InvalidField => "invalid_field",
            Self::NotUtf8 => "not_utf8",
            Self::NonFiniteValue => "non_finite_value",
            Self::FutureTimestamp => "future_timestamp",
            Self::UnknownMetric => "unknown_metric",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnknownDevice => "unknown_device",
            Self::DuplicateSample => "duplicate_sample",
            Self::Rejected => "rejected",
            Self::ConflictingSample => "conflicting_sample",
            Self::NotAuthorised => "not_authorised",
        }
    }

    fn index(self) -> usize {
        Self::ALL.iter().position(|r| *r == self).unwrap_or_default()
    }
}

impl std::fmt::Display for DeadLetterReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// One refused message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeadLetter {
    /// Increasing sequence number (the paging cursor).
    pub sequence: u64,
    /// Why it was refused.
    pub reason: DeadLetterReason,
    /// What exactly was wrong.
    pub detail: String,
    /// Where it arrived (an MQTT topic or an OPC UA node).
    pub topic: String,
    /// The first bytes of the payload, as text (invalid UTF-8 replaced).
    pub first_bytes: String,
    /// Full payload length, bytes.
    pub payload_len: usize,
    /// When the platform received it, Unix milliseconds.
    #[schema(value_type = i64)]
    pub received_at: Timestamp,
}

/// Which dead letters a page holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeadLetterFilter {
    /// Only this reason.
    pub reason: Option<DeadLetterReason>,
    /// Only messages about this device or edge node (by the id in their topic).
    pub device: Option<String>,
    /// Only this exact topic.
    pub topic: Option<String>,
}

impl DeadLetterFilter {
    /// Whether `letter` belongs to the page.
    pub fn matches(&self, letter: &DeadLetter) -> bool {
        self.reason.is_none_or(|reason| reason == letter.reason)
            && self.topic.as_ref().is_none_or(|topic| *topic == letter.topic)
            && self.device.as_ref().is_none_or(|device| names_instance(&letter.topic, device))
    }
}

/// Whether `topic` is about `id`: `.../devices/{id}/...` or `.../edge/{id}/...`.
fn names_instance(topic: &str, id: &str) -> bool {
    let segments: Vec<&str> = topic.split('/').collect();
    segments.windows(2).any(|pair| matches!(pair[0], "devices" | "edge") && pair[1] == id)
}

/// Why a dead letter could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum DeadLetterError {
    /// The storage engine failed.
    #[error("dead-letter storage failed: {0}")]
    Storage(#[from] sled::Error),
    /// The records could not be made durable.
    #[error("dead letters could not be made durable: {0}")]
    Durability(#[from] StoreError),
    /// A stored record cannot be decoded.
    #[error("dead letter {0} cannot be decoded: {1}")]
    Corrupt(u64, postcard::Error),
}

/// The dead-letter store: a sled tree keyed by sequence, bounded to the most recent records,
/// with a counter per reason since the process started.
#[derive(Clone)]
pub struct DeadLetterStore {
    db: sled::Db,
    durability: Durability,
    tree: sled::Tree,
    capacity: usize,
    counts: Arc<[AtomicU64; 13]>,
}

impl DeadLetterStore {
    /// Opens the store beside `log`, keeping at most `capacity` records.
    pub fn open(log: &SledEventLog, capacity: usize) -> Result<Self, DeadLetterError> {
        let db = log.database();
        Ok(Self {
            db: db.clone(),
            durability: log.durability(),
            tree: db.open_tree(DEAD_LETTERS_TREE)?,
            capacity: capacity.max(1),
            counts: Arc::new(std::array::from_fn(|_| AtomicU64::new(0))),
        })
    }

    /// Records a refused message. The record is durable once [`DeadLetterStore::flush`] returns.
    pub fn record(
        &self,
        reason: DeadLetterReason,
        detail: &str,
        topic: &str,
        payload: &[u8],
        received_at: Timestamp,
    ) -> Result<DeadLetter, DeadLetterError> {
        let sequence = self.db.generate_id()?;
        let kept = &payload[..payload.len().min(KEPT_PAYLOAD_BYTES)];
        let letter = DeadLetter {
            sequence,
            reason,
            detail: detail.to_owned(),
            topic: topic.to_owned(),
            first_bytes: String::from_utf8_lossy(kept).into_owned(),
            payload_len: payload.len(),
            received_at,
        };
        let bytes = postcard::to_allocvec(&letter).map_err(|e| DeadLetterError::Corrupt(sequence, e))?;
        self.tree.insert(sequence.to_be_bytes(), bytes)?;
        while self.tree.len() > self.capacity {
            if self.tree.pop_min()?.is_none() {
                break;
            }
        }
        if let Some(count) = self.counts.get(reason.index()) {
            count.fetch_add(1, Ordering::Relaxed);
        }
        tracing::warn!(%reason, topic, detail, "message sent to dead letters");
        Ok(letter)
    }

    /// Makes every recorded dead letter durable.
    pub async fn flush(&self) -> Result<(), DeadLetterError> {
        self.durability.wait().await?;
        Ok(())
    }

    /// Dead letters after sequence `after`, oldest first, at most `limit`, optionally of one reason.
    pub fn page(
        &self,
        after: Option<u64>,
        limit: usize,
        filter: &DeadLetterFilter,
    ) -> Result<Vec<DeadLetter>, DeadLetterError> {
        let start = after.map_or(0, |a| a.saturating_add(1));
        let mut letters = Vec::new();
        for entry in self.tree.range(start.to_be_bytes()..) {
            let (key, value) = entry?;
            let sequence = key.as_ref().try_into().map(u64::from_be_bytes).unwrap_or_default();
            let letter: DeadLetter = postcard::from_bytes(&value).map_err(|e| DeadLetterError::Corrupt(sequence, e))?;
            if filter.matches(&letter) {
                letters.push(letter);
                if letters.len() >= limit {
                    break;
                }
            }
        }
        Ok(letters)
    }

    /// Dead letters recorded since this process started, per reason.
    pub fn counts(&self) -> Vec<(DeadLetterReason, u64)> {
        DeadLetterReason::ALL.iter().map(|r| (*r, self.counts[r.index()].load(Ordering::Relaxed))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(capacity: usize) -> (tempfile::TempDir, SledEventLog, DeadLetterStore) {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = SledEventLog::open(dir.path()).expect("log opens");
        let store = DeadLetterStore::open(&log, capacity).expect("tree opens");
        (dir, log, store)
    }

    #[test]
    fn records_page_and_filter() {
        let (_dir, _log, store) = store(100);
        let first = store
            .record(DeadLetterReason::MalformedJson, "eof", "optibid/v1/devices/a/telemetry", b"{", Timestamp(5))
            .expect("recorded");
        store.record(DeadLetterReason::UnknownDevice, "no such device", "t", b"{}", Timestamp(6)).expect("recorded");
        let all = store.page(None, 10, &DeadLetterFilter::default()).expect("page");
        assert_eq!(all.len(), 2);
        assert_eq!(all[0], first);
        assert_eq!(all[0].first_bytes, "{");
        let after = store.page(Some(first.sequence), 10, &DeadLetterFilter::default()).expect("page");
        assert_eq!(after.len(), 1);
        assert_eq!(after[0].reason, DeadLetterReason::UnknownDevice);
        let only = store
            .page(
                None,
                10,
                &DeadLetterFilter { reason: Some(DeadLetterReason::UnknownDevice), ..DeadLetterFilter::default() },
            )
            .expect("page");
        assert_eq!(only.len(), 1);
        let counts = store.counts();
        assert!(counts.contains(&(DeadLetterReason::MalformedJson, 1)));
        assert!(counts.contains(&(DeadLetterReason::UnknownDevice, 1)));
    }

    #[test]
    fn keeps_only_the_most_recent_and_the_first_bytes() {
        let (_dir, _log, store) = store(3);
        let payload = vec![b'x'; 1000];
        for i in 0..5 {
            store.record(DeadLetterReason::PayloadTooLarge, "big", "t", &payload, Timestamp(i)).expect("recorded");
        }
        let all = store.page(None, 10, &DeadLetterFilter::default()).expect("page");
        assert_eq!(all.iter().map(|l| l.received_at.0).collect::<Vec<_>>(), vec![2, 3, 4]);
        assert_eq!(all[0].first_bytes.len(), KEPT_PAYLOAD_BYTES);
        assert_eq!(all[0].payload_len, 1000);
    }

    #[test]
    fn a_filter_by_device_matches_the_id_in_the_topic_not_a_prefix() {
        let letter = |topic: &str| DeadLetter {
            sequence: 1,
            reason: DeadLetterReason::MalformedJson,
            detail: String::new(),
            topic: topic.to_owned(),
            first_bytes: String::new(),
            payload_len: 0,
            received_at: Timestamp(0),
        };
        let of = |device: &str| DeadLetterFilter { device: Some(device.to_owned()), ..DeadLetterFilter::default() };
        assert!(of("inv-1").matches(&letter("optibid/v1/devices/inv-1/telemetry")));
        assert!(!of("inv-1").matches(&letter("optibid/v1/devices/inv-10/telemetry")));
        assert!(of("gw-1").matches(&letter("optibid/v1/edge/gw-1/heartbeat")));
        let topic = DeadLetterFilter { topic: Some("a/b".to_owned()), ..DeadLetterFilter::default() };
        assert!(topic.matches(&letter("a/b")) && !topic.matches(&letter("a/b/c")));
    }
}
