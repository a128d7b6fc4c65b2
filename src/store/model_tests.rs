//! A model-based test of the log: random sequences of appends, retries, stale writes, index
//! checkpoints, close-and-reopen and crashes between a log flush and an index checkpoint, run
//! against the log on a real sled folder and against an in-memory model of what it must hold.

use super::*;
use crate::aggregates::StoredAggregate;
use crate::audit::verify_log;
use crate::bench::workload::configuration_event;
use optibid_domain::device::Device;
use proptest::prelude::*;
use uuid::Uuid;

const STREAMS: usize = 4;

#[derive(Debug, Clone)]
enum Step {
    /// Append `events` new events to stream `stream`, expecting its version (or a stale one).
    Append { stream: usize, events: usize, stale: bool },
    /// Append again exactly what an earlier append (picked by `pick`) stored.
    Retry { pick: usize },
    /// Checkpoint the stream index up to the durable head.
    Checkpoint,
    /// Close the log cleanly and open it again.
    Reopen,
    /// Stop the log as a crash after its last flush would, with no index checkpoint, and open
    /// it again.
    Crash,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        8 => (0..STREAMS, 1..4usize, proptest::bool::weighted(0.15))
            .prop_map(|(stream, events, stale)| Step::Append { stream, events, stale }),
        2 => any::<usize>().prop_map(|pick| Step::Retry { pick }),
        1 => Just(Step::Checkpoint),
        1 => Just(Step::Reopen),
        1 => Just(Step::Crash),
    ]
}

/// What the log must hold.
#[derive(Default)]
struct Model {
    /// Every stored event in global order: stream, version, id, payload.
    events: Vec<(usize, u64, Uuid, Vec<u8>)>,
    /// Every acknowledged append: stream, events, positions.
    appends: Vec<(usize, Vec<NewEvent>, Vec<u64>)>,
}

impl Model {
    fn version(&self, stream: usize) -> u64 {
        self.events.iter().filter(|event| event.0 == stream).count() as u64
    }
}

fn name(stream: usize) -> StreamName {
    StreamName::new("device", &format!("model-{stream}")).expect("valid stream")
}

/// A device event with a payload of its own, so that every stored payload differs.
fn new_event(sequence: u64) -> NewEvent {
    let metadata = EventMetadata { principal: "model".to_owned(), ..EventMetadata::default() };
    Device::to_new_event(&configuration_event(sequence), Uuid::new_v4(), metadata).expect("encodes")
}

async fn run_step(log: SledEventLog, model: &mut Model, step: &Step, path: &std::path::Path) -> SledEventLog {
    match step {
        Step::Append { stream, events, stale } => {
            let current = model.version(*stream);
            let expected = if *stale { current + 1 } else { current };
            let sequence = model.events.len() as u64 * 10;
            let batch: Vec<NewEvent> = (0..*events as u64).map(|n| new_event(sequence + n)).collect();
            let outcome = log.append(name(*stream), ExpectedVersion::Exact(expected), batch.clone()).await;
            if *stale {
                assert!(matches!(outcome, Err(StoreError::Conflict { .. })), "{outcome:?}");
            } else {
                let outcome = outcome.expect("appends");
                assert!(!outcome.duplicate);
                let first = model.events.len() as u64 + 1;
                assert_eq!(outcome.positions, (first..first + *events as u64).collect::<Vec<_>>());
                assert_eq!(outcome.version, current + *events as u64);
                for (n, event) in batch.iter().enumerate() {
                    model.events.push((*stream, current + 1 + n as u64, event.event_id, event.payload.clone()));
                }
                model.appends.push((*stream, batch, outcome.positions));
            }
            log
        }
        Step::Retry { pick } => {
            if model.appends.is_empty() {
                return log;
            }
            let (stream, batch, positions) = model.appends[pick % model.appends.len()].clone();
            let outcome = log.append(name(stream), ExpectedVersion::Any, batch).await.expect("retry answers");
            assert!(outcome.duplicate, "a retry within the window is stored once");
            assert_eq!(outcome.positions, positions);
            log
        }
        Step::Checkpoint => {
            log.stream_index().checkpoint(log.head().position).expect("checkpoints");
            log
        }
        Step::Reopen => {
            log.close();
            drop(log);
            SledEventLog::open(path).expect("reopens")
        }
        Step::Crash => {
            log.stop_without_checkpoint();
            drop(log);
            SledEventLog::open(path).expect("reopens")
        }
    }
}

fn check(log: &SledEventLog, model: &Model) {
    assert_eq!(log.head().position, model.events.len() as u64);
    let all = log.read_all(1, usize::MAX).expect("reads the log");
    let stored: Vec<(String, u64, Uuid, Vec<u8>)> = all
        .iter()
        .map(|record| {
            (record.stream.clone(), record.version, record.event_id, record.payload.clone().unwrap_or_default())
        })
        .collect();
    let expected: Vec<(String, u64, Uuid, Vec<u8>)> = model
        .events
        .iter()
        .map(|(stream, version, id, payload)| (name(*stream).to_string(), *version, *id, payload.clone()))
        .collect();
    assert_eq!(stored, expected);
    for stream in 0..STREAMS {
        let version = model.version(stream);
        assert_eq!(log.stream_version(&name(stream)).expect("version"), version);
        let read: Vec<Uuid> = log.read_stream(&name(stream), 1).expect("reads").iter().map(|r| r.event_id).collect();
        let modelled: Vec<Uuid> = model.events.iter().filter(|e| e.0 == stream).map(|e| e.2).collect();
        assert_eq!(read, modelled);
        if version > 0 {
            let middle = log.read_stream_event(&name(stream), version.div_ceil(2)).expect("reads").expect("exists");
            assert_eq!(middle.event_id, modelled[(version.div_ceil(2) - 1) as usize]);
            let later = log.read_stream(&name(stream), version).expect("reads");
            assert_eq!(later.len(), 1);
        }
        assert!(log.read_stream_event(&name(stream), version + 1).expect("reads").is_none());
    }
    for (position, (stream, _, id, _)) in model.events.iter().enumerate() {
        assert_eq!(log.event_position(&name(*stream), id).expect("looks up"), Some(position as u64 + 1));
    }
    let report = verify_log(log.raw_events_tree(), None, |_| {}).expect("verifies");
    assert_eq!(report.events, model.events.len() as u64);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn the_log_matches_its_model_through_checkpoints_reopens_and_crashes(steps in proptest::collection::vec(step(), 1..40)) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("log");
        runtime.block_on(async {
            let mut log = SledEventLog::open(&path).expect("opens");
            let mut model = Model::default();
            for step in &steps {
                log = run_step(log, &mut model, step, &path).await;
                check(&log, &model);
            }
        });
    }
}
