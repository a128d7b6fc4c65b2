//! Full-log replay with hash verification, beside a raw sled scan with a BLAKE3 chain.

use super::workload::configuration_event;
use crate::aggregates::StoredAggregate;
use crate::audit::verify_log;
use crate::store::{keys, EventLog, EventMetadata, ExpectedVersion, SledEventLog, StoreError, StreamName};
use optibid_domain::device::Device;
use std::sync::Arc;
use std::time::Instant;
use uuid::Uuid;

/// Events per append while filling the log.
const FILL_BATCH: usize = 64;

/// Figures of a replay run.
#[derive(Debug, Clone)]
pub struct ReplayFigures {
    /// Events verified.
    pub events: u64,
    /// Verified events per second (hash chain, positions, versions, payload decoding).
    pub verified_per_second: f64,
    /// Raw sled scan with a BLAKE3 chain over the stored bytes, events per second.
    pub raw_per_second: f64,
}

/// Fills `log` with about `events` device events over 256 streams.
pub async fn fill(log: Arc<SledEventLog>, events: usize) -> Result<(), StoreError> {
    let streams = 256;
    let per_stream = events.div_ceil(streams);
    let mut tasks = Vec::new();
    for index in 0..streams {
        let log = log.clone();
        let stream =
            StreamName::new("device", &format!("replay-{index}")).map_err(|e| StoreError::Encode(e.to_string()))?;
        tasks.push(tokio::spawn(async move {
            let mut version = log.stream_version(&stream)?;
            let mut sequence = 0u64;
            while (sequence as usize) < per_stream {
                let count = FILL_BATCH.min(per_stream - sequence as usize);
                let batch = (0..count)
                    .map(|offset| {
                        Device::to_new_event(
                            &configuration_event(sequence + offset as u64),
                            Uuid::new_v4(),
                            EventMetadata::default(),
                        )
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                sequence += count as u64;
                version = log.append(stream.clone(), ExpectedVersion::Exact(version), batch).await?.version;
            }
            Ok::<_, StoreError>(())
        }));
    }
    for task in tasks {
        task.await.map_err(|e| StoreError::WriterStopped(e.to_string()))??;
    }
    Ok(())
}

/// Verifies the whole log of `log`, then scans it raw; both timed.
pub fn measure(log: &SledEventLog) -> Result<ReplayFigures, StoreError> {
    let tree = log.raw_events_tree();
    let started = Instant::now();
    let report =
        verify_log(tree, None, |_| {}).map_err(|f| StoreError::Corrupt { position: f.position, reason: f.reason })?;
    let verified_per_second = report.events as f64 / started.elapsed().as_secs_f64();
    let started = Instant::now();
    let mut chain = [0u8; 32];
    let mut scanned = 0u64;
    for entry in tree.scan_prefix(keys::log_prefix()) {
        let (_, value) = entry?;
        let mut hasher = blake3::Hasher::new();
        hasher.update(&chain);
        hasher.update(&value);
        chain = *hasher.finalize().as_bytes();
        scanned += 1;
    }
    let raw_per_second = scanned as f64 / started.elapsed().as_secs_f64();
    Ok(ReplayFigures { events: report.events, verified_per_second, raw_per_second })
}
