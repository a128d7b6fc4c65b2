//! Durable appends per second with N concurrent appenders, beside raw sled.

use super::quantile;
use super::workload::configuration_event;
use crate::aggregates::StoredAggregate;
use crate::store::codec::encode_record;
use crate::store::keys;
use crate::store::{EventLog, EventMetadata, ExpectedVersion, RecordedEvent, SledEventLog, StoreError, StreamName};
use optibid_domain::device::Device;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use uuid::Uuid;

/// Figures of one durable-append run.
#[derive(Debug, Clone)]
pub struct AppendFigures {
    /// Concurrent appenders.
    pub appenders: usize,
    /// Events appended.
    pub events: usize,
    /// Appended events per second.
    pub events_per_second: f64,
    /// Median time from append call to acknowledgement.
    pub p50: Duration,
    /// 99th percentile of the same.
    pub p99: Duration,
    /// Mean encoded size of one stored record, bytes.
    pub record_bytes: usize,
}

/// One acknowledged append, as reported to a listener.
#[derive(Debug, Clone)]
pub struct Ack {
    /// The event id.
    pub event_id: Uuid,
    /// Its global position.
    pub position: u64,
}

/// Appends `events` single-event appends of ~200-byte device events with `appenders`
/// concurrent appenders (one stream each) to `log`. Every acknowledged event is sent to `acks`
/// when given.
pub async fn durable_appends(
    log: Arc<SledEventLog>,
    appenders: usize,
    events: usize,
    acks: Option<mpsc::UnboundedSender<Ack>>,
) -> Result<AppendFigures, StoreError> {
    let appenders = appenders.max(1);
    let per_appender = events.div_ceil(appenders);
    let run = Uuid::new_v4().simple().to_string();
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(appenders);
    for appender in 0..appenders {
        let log = log.clone();
        let acks = acks.clone();
        let stream = StreamName::new("device", &format!("bench-{}-{appender}", &run[..8]))
            .map_err(|e| StoreError::Encode(e.to_string()))?;
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(per_appender);
            let mut version = log.stream_version(&stream)?;
            for sequence in 0..per_appender as u64 {
                let event = configuration_event(sequence);
                let new_event = Device::to_new_event(
                    &event,
                    Uuid::new_v4(),
                    EventMetadata { principal: "bench".to_owned(), ..EventMetadata::default() },
                )?;
                let event_id = new_event.event_id;
                let begun = Instant::now();
                let outcome = log.append(stream.clone(), ExpectedVersion::Exact(version), vec![new_event]).await?;
                latencies.push(begun.elapsed());
                version = outcome.version;
                if let (Some(acks), Some(position)) = (&acks, outcome.positions.first()) {
                    let _ = acks.send(Ack { event_id, position: *position });
                }
            }
            Ok::<_, StoreError>(latencies)
        }));
    }
    let mut latencies = Vec::with_capacity(per_appender * appenders);
    for task in tasks {
        let task = task.await.map_err(|e| StoreError::WriterStopped(e.to_string()))?;
        latencies.extend(task?);
    }
    let elapsed = started.elapsed();
    let sample = log.read_all(log.head().position.max(1), 1)?;
    let record_bytes = sample.first().map(|r| encode_record(r).map_or(0, |b| b.len())).unwrap_or(0);
    Ok(AppendFigures {
        appenders,
        events: latencies.len(),
        events_per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: quantile(&mut latencies, 0.5),
        p99: quantile(&mut latencies, 0.99),
        record_bytes,
    })
}

/// Which keys a raw sled ceiling writes per event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawLayout {
    /// One key per event: the record under its position.
    RecordOnly,
    /// Three keys per event: the record, a stream-index key and an event-id key (the layout of
    /// logs whose index was written on the append path).
    RecordAndIndexes,
}

/// Raw sled: inserts `events` records of the same encoded form in batches of `batch` with one
/// flush per batch, with the keys of `layout`. Returns events per second.
pub fn raw_sled_inserts(path: &Path, events: usize, batch: usize, layout: RawLayout) -> Result<f64, StoreError> {
    let db = sled::Config::new().path(path).flush_every_ms(None).open()?;
    let tree = db.open_tree("raw")?;
    let sample = sample_record()?;
    let bytes = encode_record(&sample)?;
    let started = Instant::now();
    let mut written = 0u64;
    while written < events as u64 {
        let mut writes = sled::Batch::default();
        for _ in 0..batch.min(events - written as usize) {
            written += 1;
            let position = written.to_be_bytes();
            writes.insert(&keys::log_key(written), bytes.as_slice());
            if layout == RawLayout::RecordAndIndexes {
                let mut stream_key = keys::chunk_key(&format!("device/raw-{}", written % 256), written / 256 + 1);
                stream_key[0] = b'S';
                writes.insert(stream_key, &position);
                let mut event_id_key = vec![b'I'];
                event_id_key.extend_from_slice(Uuid::new_v4().as_bytes());
                writes.insert(event_id_key, &position);
            }
        }
        tree.apply_batch(writes)?;
        db.flush()?;
    }
    Ok(written as f64 / started.elapsed().as_secs_f64())
}

fn sample_record() -> Result<RecordedEvent, StoreError> {
    let event = configuration_event(1);
    let new_event = Device::to_new_event(&event, Uuid::new_v4(), EventMetadata::default())?;
    Ok(RecordedEvent {
        position: 1,
        stream: "device/bench-000001".to_owned(),
        version: 1,
        event_id: new_event.event_id,
        event_type: new_event.event_type,
        schema_version: new_event.schema_version,
        recorded_at: 0,
        metadata: new_event.metadata,
        payload_hash: [0; 32],
        payload: Some(new_event.payload),
        prev_hash: [0; 32],
        hash: [0; 32],
    })
}
