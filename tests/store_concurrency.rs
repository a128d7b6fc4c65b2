//! Optimistic concurrency and idempotency of the event log, through its public API on a real
//! sled folder.

use optibid::store::{EventLog, EventMetadata, ExpectedVersion, NewEvent, SledEventLog, StoreError, StreamName};
use std::sync::Arc;
use uuid::Uuid;

fn folder() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

fn event(payload: &[u8]) -> NewEvent {
    NewEvent {
        event_id: Uuid::new_v4(),
        event_type: "test.happened".to_owned(),
        schema_version: 1,
        payload: payload.to_vec(),
        metadata: EventMetadata { principal: "tester".to_owned(), ..EventMetadata::default() },
    }
}

fn stream(name: &str) -> StreamName {
    StreamName::parse(name).expect("valid stream")
}

#[tokio::test]
async fn concurrent_writers_on_one_stream_get_one_winner_per_version() {
    let dir = folder();
    let log = Arc::new(SledEventLog::open(dir.path()).expect("opens"));
    let mut winners_per_version = std::collections::HashMap::new();
    for version in 0..20u64 {
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let log = log.clone();
                tokio::spawn(async move {
                    log.append(stream("device/contended"), ExpectedVersion::Exact(version), vec![event(b"w")]).await
                })
            })
            .collect();
        for task in tasks {
            match task.await.expect("joins") {
                Ok(outcome) => *winners_per_version.entry(outcome.version).or_insert(0) += 1,
                Err(StoreError::Conflict { .. }) => {}
                Err(other) => panic!("unexpected error {other}"),
            }
        }
    }
    assert_eq!(winners_per_version.len(), 20);
    assert!(winners_per_version.values().all(|winners| *winners == 1), "{winners_per_version:?}");
    assert_eq!(log.stream_version(&stream("device/contended")).expect("version"), 20);
}

#[tokio::test]
async fn a_retried_event_id_is_stored_once() {
    let dir = folder();
    let log = SledEventLog::open(dir.path()).expect("opens");
    let first = event(b"x");
    let stored = log.append(stream("device/a"), ExpectedVersion::Exact(0), vec![first.clone()]).await.expect("stored");
    let again = log.append(stream("device/a"), ExpectedVersion::Exact(0), vec![first.clone()]).await.expect("retried");
    assert!(again.duplicate);
    assert_eq!(again.positions, stored.positions);
    assert_eq!(log.head().position, 1);
    let mixed = log.append(stream("device/a"), ExpectedVersion::Any, vec![event(b"y"), first]).await;
    assert!(matches!(mixed, Err(StoreError::PartialDuplicate(_))));
    assert_eq!(log.head().position, 1);
}

#[tokio::test]
async fn the_same_event_id_in_one_group_is_stored_once() {
    let dir = folder();
    let log = Arc::new(SledEventLog::open(dir.path()).expect("opens"));
    let shared = event(b"same");
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let log = log.clone();
            let shared = shared.clone();
            tokio::spawn(async move { log.append(stream("device/a"), ExpectedVersion::Any, vec![shared]).await })
        })
        .collect();
    let mut duplicates = 0;
    for task in tasks {
        duplicates += usize::from(task.await.expect("joins").expect("appends").duplicate);
    }
    assert_eq!(duplicates, 7);
    assert_eq!(log.head().position, 1);
}
