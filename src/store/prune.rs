//! Pruning old telemetry payloads while keeping every hash, so the chain still verifies.

use super::codec::{decode_record, encode_record};
use super::error::StoreError;
use super::keys;
use super::sled_log::SledEventLog;
use optibid_domain::telemetry::TELEMETRY_STREAM_KIND;

/// Records rewritten per batch.
const PRUNE_BATCH: usize = 1_024;

/// What a prune did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PruneReport {
    /// Payloads removed.
    pub pruned: u64,
    /// Payload bytes removed.
    pub bytes: u64,
}

/// Removes the payloads of telemetry events recorded before `before_ms` (milliseconds since the
/// Unix epoch). Every other field, including the payload's hash, stays, so `audit verify` still
/// proves the chain. Device, edge and campaign events are never touched.
pub fn prune_telemetry(log: &SledEventLog, before_ms: i64) -> Result<PruneReport, StoreError> {
    let tree = log.raw_events_tree();
    let prefix = format!("{TELEMETRY_STREAM_KIND}/");
    let mut report = PruneReport::default();
    let mut batch = sled::Batch::default();
    let mut staged = 0;
    for entry in tree.scan_prefix(keys::log_prefix()) {
        let (key, value) = entry?;
        let position = keys::position_of_log_key(&key).unwrap_or(0);
        let mut record = decode_record(position, &value)?;
        if record.recorded_at >= before_ms || !record.stream.starts_with(&prefix) {
            continue;
        }
        let Some(payload) = record.payload.take() else { continue };
        report.pruned += 1;
        report.bytes += payload.len() as u64;
        batch.insert(key, encode_record(&record)?);
        staged += 1;
        if staged == PRUNE_BATCH {
            tree.apply_batch(std::mem::take(&mut batch))?;
            staged = 0;
        }
    }
    tree.apply_batch(batch)?;
    log.durability().wait_blocking()?;
    Ok(report)
}
