//! Verification of the whole log: hash chain, positions, stream versions, decoding, and the
//! stored stream index against it.

use super::index_check::IndexedStreams;
use crate::events::DecodeStored;
use crate::store::chain::{payload_hash, GENESIS_HASH};
use crate::store::codec::view_record;
use crate::store::keys;
use crate::store::{GlobalPosition, Hash32, LogHead};
use optibid_domain::FleetEvent;
use std::collections::HashMap;

/// A head an auditor kept elsewhere: the log up to it must be unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    /// Global position.
    pub position: GlobalPosition,
    /// Chain hash of the event there.
    pub hash: Hash32,
}

impl Checkpoint {
    /// The checkpoint of a log head, as `POSITION:HASH`.
    pub fn of(head: LogHead) -> Self {
        Self { position: head.position, hash: head.hash }
    }
}

impl std::fmt::Display for Checkpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.position, crate::store::chain::to_hex(&self.hash))
    }
}

impl std::str::FromStr for Checkpoint {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (position, hash) =
            text.trim().split_once(':').ok_or_else(|| format!("checkpoint {text:?} is not POSITION:HASH"))?;
        let position = position.parse().map_err(|_| format!("checkpoint position {position:?} is not a number"))?;
        let hash = crate::store::chain::from_hex(hash)
            .ok_or_else(|| format!("checkpoint hash {hash:?} is not 64 hexadecimal digits"))?;
        Ok(Self { position, hash })
    }
}

/// A log that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Events checked.
    pub events: u64,
    /// Distinct streams.
    pub streams: usize,
    /// Events whose payload was pruned (their hashes still verified).
    pub pruned: u64,
    /// The head reached.
    pub head: Checkpoint,
}

/// The first problem found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the log is broken at global position {position}: {reason}")]
pub struct VerifyFailure {
    /// First bad global position.
    pub position: GlobalPosition,
    /// What is wrong there.
    pub reason: String,
}

/// Events handed from the chain walker to the payload checker at once.
const PAYLOAD_BATCH: usize = 1_024;

/// Walks the whole log in `events` (the raw `events` tree) and checks every event. `progress`
/// is called with the number of events checked so far, every few thousand events.
///
/// Two threads share the work: this one walks the chain (positions, hashes, stream versions);
/// a second one checks each payload against its hash and decodes it. The first failure by
/// position is reported.
pub fn verify_log(
    events: &sled::Tree,
    checkpoint: Option<Checkpoint>,
    progress: impl FnMut(u64),
) -> Result<VerifyReport, VerifyFailure> {
    std::thread::scope(|scope| {
        let (batches, inbox) = std::sync::mpsc::sync_channel::<Vec<(GlobalPosition, sled::IVec)>>(8);
        let payloads = scope.spawn(move || check_payloads(inbox));
        let walked = IndexedStreams::for_log(events).and_then(|mut indexed| {
            let report = walk_chain(events, checkpoint, progress, batches, &mut indexed)?;
            indexed.check(events, report.events)?;
            Ok(report)
        });
        let payload_failure = payloads
            .join()
            .unwrap_or_else(|_| Err(VerifyFailure { position: 0, reason: "the payload checker stopped".to_owned() }));
        match (walked, payload_failure) {
            (Err(chain), Err(payload)) => Err(if payload.position < chain.position { payload } else { chain }),
            (Err(chain), Ok(_)) => Err(chain),
            (Ok(_), Err(payload)) => Err(payload),
            (Ok(report), Ok(pruned)) => Ok(VerifyReport { pruned, ..report }),
        }
    })
}

/// Checks payload hashes and decoding; returns the number of pruned payloads.
fn check_payloads(inbox: std::sync::mpsc::Receiver<Vec<(GlobalPosition, sled::IVec)>>) -> Result<u64, VerifyFailure> {
    let mut pruned = 0;
    for batch in inbox {
        for (position, value) in batch {
            let fail = |reason: String| VerifyFailure { position, reason };
            let record = view_record(position, &value).map_err(|e| fail(e.to_string()))?;
            match record.payload {
                Some(payload) if payload_hash(payload) != record.payload_hash => {
                    return Err(fail("its payload does not match its payload hash".to_owned()))
                }
                Some(_) => drop(FleetEvent::decode_view(&record).map_err(|e| fail(e.to_string()))?),
                None => pruned += 1,
            }
        }
    }
    Ok(pruned)
}

fn walk_chain(
    events: &sled::Tree,
    checkpoint: Option<Checkpoint>,
    mut progress: impl FnMut(u64),
    payloads: std::sync::mpsc::SyncSender<Vec<(GlobalPosition, sled::IVec)>>,
    indexed: &mut IndexedStreams,
) -> Result<VerifyReport, VerifyFailure> {
    let mut expected_position: GlobalPosition = 1;
    let mut previous: Hash32 = GENESIS_HASH;
    let mut versions: HashMap<String, u64> = HashMap::new();
    let mut checkpoint_seen = false;
    let mut batch = Vec::with_capacity(PAYLOAD_BATCH);
    for entry in events.scan_prefix(keys::log_prefix()) {
        let fail = |reason: String| VerifyFailure { position: expected_position, reason };
        let (key, value) = entry.map_err(|e| fail(format!("storage error: {e}")))?;
        let position = keys::position_of_log_key(&key).ok_or_else(|| fail("malformed log key".to_owned()))?;
        if position != expected_position {
            return Err(fail(format!("event missing: the next stored event is at position {position}")));
        }
        let record = view_record(position, &value).map_err(|e| fail(e.to_string()))?;
        if record.position != position {
            return Err(fail(format!("the event says it is at position {}", record.position)));
        }
        if record.prev_hash != previous {
            return Err(fail("its previous hash does not match the event before it".to_owned()));
        }
        if record.chain_hash(&previous) != record.hash {
            return Err(fail("its chain hash does not match its contents".to_owned()));
        }
        let version = match versions.get_mut(record.stream) {
            Some(version) => version,
            None => versions.entry(record.stream.to_owned()).or_insert(0),
        };
        if record.version != *version + 1 {
            return Err(fail(format!("{} jumps from version {} to {}", record.stream, version, record.version)));
        }
        *version = record.version;
        indexed.observe(record.stream, record.version, position, &record.event_id);
        if let Some(checkpoint) = checkpoint.filter(|c| c.position == position) {
            checkpoint_seen = true;
            if checkpoint.hash != record.hash {
                return Err(fail("the event does not match the checkpoint's hash".to_owned()));
            }
        }
        previous = record.hash;
        batch.push((position, value));
        if batch.len() == PAYLOAD_BATCH {
            if payloads.send(std::mem::replace(&mut batch, Vec::with_capacity(PAYLOAD_BATCH))).is_err() {
                break;
            }
            progress(position);
        }
        expected_position += 1;
    }
    let _ = payloads.send(batch);
    let checked = expected_position - 1;
    progress(checked);
    if let Some(checkpoint) = checkpoint.filter(|c| c.position > 0 && !checkpoint_seen) {
        return Err(VerifyFailure {
            position: checkpoint.position,
            reason: format!("the log ends at position {checked}, before the checkpoint"),
        });
    }
    Ok(VerifyReport {
        events: checked,
        streams: versions.len(),
        pruned: 0,
        head: Checkpoint { position: checked, hash: previous },
    })
}
