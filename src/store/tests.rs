//! Tests of the event log on real sled folders.

use super::chain::GENESIS_HASH;
use super::*;
use crate::audit::verify_log;
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
async fn appends_assign_versions_positions_and_a_chain() {
    let dir = folder();
    let log = SledEventLog::open(dir.path()).expect("opens");
    let a = log.append(stream("device/a"), ExpectedVersion::Exact(0), vec![event(b"1"), event(b"2")]).await.expect("a");
    let b = log.append(stream("device/b"), ExpectedVersion::Any, vec![event(b"3")]).await.expect("b");
    assert_eq!(a.positions, vec![1, 2]);
    assert_eq!(a.version, 2);
    assert_eq!(b.positions, vec![3]);
    assert_eq!(b.version, 1);
    let all = log.read_all(1, 10).expect("reads");
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].prev_hash, GENESIS_HASH);
    assert_eq!(all[1].prev_hash, all[0].hash);
    assert_eq!(all[2].prev_hash, all[1].hash);
    assert_eq!(log.head(), LogHead { position: 3, hash: all[2].hash });
    let a_events = log.read_stream(&stream("device/a"), 2).expect("reads");
    assert_eq!(a_events.len(), 1);
    assert_eq!(a_events[0].payload.as_deref(), Some(&b"2"[..]));
    assert_eq!(log.stream_version(&stream("device/a")).expect("version"), 2);
    assert_eq!(log.stream_by_uuid(&stream("device/b").uuid()).expect("lookup"), Some(stream("device/b")));
}

#[tokio::test]
async fn a_stale_expected_version_is_a_conflict_and_writes_nothing() {
    let dir = folder();
    let log = SledEventLog::open(dir.path()).expect("opens");
    log.append(stream("device/a"), ExpectedVersion::Exact(0), vec![event(b"1")]).await.expect("first");
    let stale = log.append(stream("device/a"), ExpectedVersion::Exact(0), vec![event(b"2")]).await;
    assert!(matches!(stale, Err(StoreError::Conflict { expected: 0, actual: 1, .. })), "{stale:?}");
    assert_eq!(log.head().position, 1);
    assert_eq!(log.read_stream(&stream("device/a"), 1).expect("reads").len(), 1);
}

#[tokio::test]
async fn concurrent_appenders_leave_a_gap_free_verified_log() {
    let dir = folder();
    let log = Arc::new(SledEventLog::open(dir.path()).expect("opens"));
    let tasks: Vec<_> = (0..32)
        .map(|writer| {
            let log = log.clone();
            tokio::spawn(async move {
                for n in 0..25u64 {
                    let name = stream(&format!("device/w{writer}"));
                    let device_event = crate::bench::workload::configuration_event(n);
                    let new_event =
                        <optibid_domain::device::Device as crate::aggregates::StoredAggregate>::to_new_event(
                            &device_event,
                            Uuid::new_v4(),
                            EventMetadata::default(),
                        )
                        .expect("encodes");
                    log.append(name, ExpectedVersion::Any, vec![new_event]).await.expect("appends");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("joins");
    }
    let positions: Vec<u64> = log.read_all(1, 10_000).expect("reads").iter().map(|r| r.position).collect();
    assert_eq!(positions, (1..=800).collect::<Vec<_>>());
    let report = verify_log(log.raw_events_tree(), None, |_| {}).expect("verifies");
    assert_eq!((report.events, report.streams), (800, 32));
}

#[tokio::test]
async fn a_subscriber_waits_for_new_events_and_sees_them_in_order() {
    let dir = folder();
    let log = Arc::new(SledEventLog::open(dir.path()).expect("opens"));
    log.append(stream("device/a"), ExpectedVersion::Any, vec![event(b"1")]).await.expect("appends");
    let mut subscription = LogSubscription::new(log.clone(), 1);
    let first = subscription.next_batch(100).await.expect("reads");
    assert_eq!(first.len(), 1);
    let mut waiting = tokio::spawn(async move { subscription.next_batch(100).await });
    tokio::time::pause();
    let early = tokio::time::timeout(std::time::Duration::from_secs(3_600), &mut waiting).await;
    tokio::time::resume();
    assert!(early.is_err(), "the subscriber must wait for new events: {early:?}");
    log.append(stream("device/b"), ExpectedVersion::Any, vec![event(b"2"), event(b"3")]).await.expect("appends");
    let next = waiting.await.expect("joins").expect("reads");
    assert_eq!(next.iter().map(|r| r.position).collect::<Vec<_>>(), vec![2, 3]);
}

#[tokio::test]
async fn reopening_keeps_the_head_and_versions() {
    let dir = folder();
    {
        let log = SledEventLog::open(dir.path()).expect("opens");
        log.append(stream("device/a"), ExpectedVersion::Any, vec![event(b"1"), event(b"2")]).await.expect("appends");
    }
    let log = SledEventLog::open(dir.path()).expect("reopens");
    assert_eq!(log.head().position, 2);
    let next = log.append(stream("device/a"), ExpectedVersion::Exact(2), vec![event(b"3")]).await.expect("appends");
    assert_eq!(next.positions, vec![3]);
    assert_eq!(log.read_all(1, 10).expect("reads")[2].prev_hash, log.read_all(2, 1).expect("reads")[0].hash);
}

#[tokio::test]
async fn a_second_process_on_the_folder_is_told_it_is_locked() {
    let dir = folder();
    let _log = SledEventLog::open(dir.path()).expect("opens");
    assert!(matches!(SledEventLog::open(dir.path()), Err(StoreError::Locked(_))));
    assert!(matches!(SledEventLog::open_existing(&dir.path().join("missing")), Err(StoreError::MissingDataFolder(_))));
}

#[tokio::test]
async fn import_rebuilds_an_identical_log_and_refuses_a_broken_chain() {
    let source_dir = folder();
    let source = SledEventLog::open(source_dir.path()).expect("opens");
    for n in 0..5u8 {
        source.append(stream("device/a"), ExpectedVersion::Any, vec![event(&[n])]).await.expect("appends");
    }
    let records = source.read_all(1, 100).expect("reads");
    let target_dir = folder();
    let target = SledEventLog::open(target_dir.path()).expect("opens");
    let mut tampered = records.clone();
    tampered[3].payload = Some(b"forged".to_vec());
    let refused = target.import(tampered).await;
    assert!(matches!(refused, Err(StoreError::Corrupt { position: 4, .. })), "{refused:?}");
    assert_eq!(target.head().position, 0, "a refused import writes nothing");
    let head = target.import(records.clone()).await.expect("imports");
    assert_eq!(head, source.head());
    assert_eq!(target.read_all(1, 100).expect("reads"), records);
    let next = target.append(stream("device/a"), ExpectedVersion::Exact(5), vec![event(b"6")]).await.expect("appends");
    assert_eq!(next.positions, vec![6]);
}

#[tokio::test]
async fn readers_never_see_an_event_before_it_is_durable() {
    let dir = folder();
    let log = Arc::new(SledEventLog::open(dir.path()).expect("opens"));
    let writers: Vec<_> = (0..8u8)
        .map(|w| {
            let log = log.clone();
            tokio::spawn(async move {
                for n in 0..100u8 {
                    let name = format!("device/w{w}");
                    log.append(stream(&name), ExpectedVersion::Any, vec![event(&[w, n])]).await.expect("appends");
                }
            })
        })
        .collect();
    let mut reads = 0;
    loop {
        let events = log.read_all(1, usize::MAX).expect("reads");
        let durable = log.head().position;
        let seen = events.last().map_or(0, |r| r.position);
        assert!(seen <= durable, "read position {seen} before it was durable (head {durable})");
        assert_eq!(events.len() as u64, seen, "gap in the log");
        reads += 1;
        if seen >= 800 {
            break;
        }
        tokio::task::yield_now().await;
    }
    for writer in writers {
        writer.await.expect("joins");
    }
    assert!(reads > 1, "the reader ran while the writers wrote");
}

#[tokio::test]
async fn a_folder_with_per_event_index_keys_is_reindexed_from_its_log() {
    let dir = folder();
    let log = SledEventLog::open(dir.path()).expect("opens");
    let a = stream("device/a");
    log.append(a.clone(), ExpectedVersion::Exact(0), vec![event(b"1"), event(b"2")]).await.expect("appends");
    log.append(stream("device/b"), ExpectedVersion::Any, vec![event(b"3")]).await.expect("appends");
    log.close();
    let tree = log.raw_events_tree();
    let mut older = sled::Batch::default();
    for key in tree.scan_prefix(keys::chunk_prefix()).keys() {
        older.remove(key.expect("reads"));
    }
    older.remove(&keys::index_checkpoint_key());
    for (stream_name, version, position) in [("device/a", 1u64, 1u64), ("device/a", 2, 2), ("device/b", 1, 3)] {
        let mut stream_key = keys::chunk_key(stream_name, version);
        stream_key[0] = b'S';
        older.insert(stream_key, &position.to_be_bytes());
        let mut id_key = vec![b'I'];
        id_key.extend_from_slice(Uuid::new_v4().as_bytes());
        older.insert(id_key, &position.to_be_bytes());
    }
    tree.apply_batch(older).expect("writes the older layout");
    log.database().flush().expect("flushes");
    drop(log);

    let log = SledEventLog::open(dir.path()).expect("reopens");
    for prefix in keys::LEGACY_INDEX_PREFIXES {
        assert_eq!(log.raw_events_tree().scan_prefix([prefix]).count(), 0, "the older keys are gone");
    }
    assert_eq!(log.stream_version(&a).expect("version"), 2);
    assert_eq!(log.read_stream(&a, 1).expect("reads").iter().map(|r| r.position).collect::<Vec<_>>(), vec![1, 2]);
    let next = log.append(a.clone(), ExpectedVersion::Exact(2), vec![event(b"4")]).await.expect("appends");
    assert_eq!((next.positions, next.version), (vec![4], 3));
    log.close();
    assert_eq!(log.raw_events_tree().scan_prefix(keys::chunk_prefix()).count(), 2, "one chunk per stream");
    let covered = log.raw_events_tree().get(keys::index_checkpoint_key()).expect("reads");
    assert_eq!(covered.as_deref(), Some(&4u64.to_be_bytes()[..]));
}
