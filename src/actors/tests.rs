//! Tests of the actor layer on real sled folders.

use super::rehydrate::rehydrate;
use super::*;
use crate::bench::workload::{configuration_command, registration};
use crate::store::{EventLog, SledEventLog, StreamName};
use optibid_domain::device::{Device, DeviceError};
use optibid_domain::{Aggregate, EventName};
use optibid_snapshots::SnapshotPolicy;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

fn open() -> (tempfile::TempDir, Arc<SledEventLog>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = Arc::new(SledEventLog::open(dir.path()).expect("opens"));
    (dir, log)
}

fn config() -> DirectoryConfig {
    DirectoryConfig { snapshots: SnapshotPolicy { every: 5, keep: 2 }, ..DirectoryConfig::default() }
}

fn device_id(n: usize) -> String {
    format!("bench-{n:06}")
}

/// Copies the files of `from` into `to`, as another process would find them (what sled has not
/// written out yet is not there).
fn copy_folder(from: &std::path::Path, to: &std::path::Path) {
    for entry in std::fs::read_dir(from).expect("lists") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            std::fs::create_dir_all(&target).expect("creates");
            copy_folder(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copies");
        }
    }
}

#[tokio::test]
async fn a_command_is_on_disk_before_the_reply() {
    let (dir, log) = open();
    let platform = Platform::start(log.clone(), config()).await.expect("starts");
    let executed = platform
        .devices
        .execute(&device_id(1), registration(1).expect("valid"), CommandMetadata::default())
        .await
        .expect("registers");
    assert_eq!(executed.version, 1);
    let stream = StreamName::new("device", &device_id(1)).expect("valid");
    let copy = tempfile::tempdir().expect("temp dir");
    copy_folder(dir.path(), copy.path());
    let reopened = SledEventLog::open(copy.path()).expect("the files as they were at the reply open");
    let stored = reopened.read_stream(&stream, 1).expect("reads");
    assert_eq!(stored.len(), 1, "the event was in the files when the reply came");
    assert_eq!(stored[0].event_type, "device.registered");
    let again =
        platform.devices.execute(&device_id(1), registration(1).expect("valid"), CommandMetadata::default()).await;
    assert!(matches!(again, Err(ExecuteError::Rejected(DeviceError::AlreadyRegistered(_)))));
    assert_eq!(log.head().position, 1, "a rejected command writes nothing");
}

#[tokio::test]
async fn instances_rehydrate_from_the_latest_valid_snapshot_plus_tail() {
    let (_dir, log) = open();
    let platform = Platform::start(log.clone(), config()).await.expect("starts");
    let id = device_id(2);
    platform
        .devices
        .execute(&id, registration(2).expect("valid"), CommandMetadata::default())
        .await
        .expect("registers");
    for sequence in 1..13 {
        platform.devices.execute(&id, configuration_command(sequence), CommandMetadata::default()).await.expect("runs");
    }
    let live = platform.devices.state(&id).await.expect("state");
    assert_eq!(live.version, 13);
    let stream = StreamName::new("device", &id).expect("valid");
    let snapshots = Platform::snapshot_store(&log, 2).expect("opens");
    assert_eq!(snapshots.versions(stream.as_str()).expect("lists"), vec![5, 10]);

    let loaded = rehydrate::<Device>(log.as_ref(), &snapshots, &stream).expect("rehydrates");
    assert_eq!(loaded.from_snapshot, Some(10));
    assert_eq!(loaded.version, 13);
    assert_eq!(loaded.state, live.state);

    snapshots.put_raw(stream.as_str(), 10, b"\x01not a snapshot").expect("writes");
    let loaded = rehydrate::<Device>(log.as_ref(), &snapshots, &stream).expect("rehydrates");
    assert_eq!(loaded.from_snapshot, Some(5), "an undecodable snapshot is skipped");
    assert_eq!(loaded.state, live.state);

    let mut forged = snapshots.latest(stream.as_str()).expect("reads").expect("exists");
    forged.chain_hash = [7; 32];
    snapshots.save(&forged).expect("saves");
    let loaded = rehydrate::<Device>(log.as_ref(), &snapshots, &stream).expect("rehydrates");
    assert_eq!(loaded.from_snapshot, None, "a snapshot that does not match the log is ignored");
    assert_eq!(loaded.state, live.state);
}

#[tokio::test]
async fn a_retried_command_with_the_same_idempotency_key_is_applied_once() {
    let (_dir, log) = open();
    let platform = Platform::start(log.clone(), config()).await.expect("starts");
    let id = device_id(3);
    platform
        .devices
        .execute(&id, registration(3).expect("valid"), CommandMetadata::default())
        .await
        .expect("registers");
    let metadata = CommandMetadata { idempotency_key: Some("req-42".to_owned()), ..CommandMetadata::default() };
    let first = platform.devices.execute(&id, configuration_command(1), metadata.clone()).await.expect("runs");
    let retry = platform.devices.execute(&id, configuration_command(1), metadata).await.expect("runs");
    assert!(!first.duplicate);
    assert!(retry.duplicate);
    assert_eq!(log.head().position, 2);
}

/// Lets every task woken by a clock advance run to its next wait.
async fn settle() {
    for _ in 0..16 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn idle_instances_are_passivated_and_come_back_from_the_log() {
    let (_dir, log) = open();
    let config = DirectoryConfig { passivate_after: Duration::from_secs(10), ..config() };
    let platform = Platform::start(log, config).await.expect("starts");
    let id = device_id(4);
    platform
        .devices
        .execute(&id, registration(4).expect("valid"), CommandMetadata::default())
        .await
        .expect("registers");
    assert_eq!(platform.devices.live_instances(), 1);
    tokio::time::pause();
    tokio::time::advance(Duration::from_secs(5)).await;
    settle().await;
    assert_eq!(platform.devices.live_instances(), 1, "not idle long enough yet");
    tokio::time::advance(Duration::from_secs(10)).await;
    settle().await;
    assert_eq!(platform.devices.live_instances(), 0, "idle past the passivation time");
    tokio::time::resume();
    let next = platform.devices.execute(&id, configuration_command(1), CommandMetadata::default()).await.expect("runs");
    assert_eq!(next.version, 2);
}

#[tokio::test]
async fn a_flood_on_one_instance_gets_a_clear_overload_error_and_nothing_is_lost() {
    let (_dir, log) = open();
    let config = DirectoryConfig { mailbox_capacity: 2, ..config() };
    let platform = Arc::new(Platform::start(log.clone(), config).await.expect("starts"));
    let id = device_id(5);
    platform
        .devices
        .execute(&id, registration(5).expect("valid"), CommandMetadata::default())
        .await
        .expect("registers");
    let tasks: Vec<_> = (1..=64u64)
        .map(|sequence| {
            let platform = platform.clone();
            let id = id.clone();
            tokio::spawn(async move {
                platform.devices.execute(&id, configuration_command(sequence), CommandMetadata::default()).await
            })
        })
        .collect();
    let (mut accepted, mut overloaded) = (0u64, 0u64);
    for task in tasks {
        match task.await.expect("joins") {
            Ok(_) => accepted += 1,
            Err(ExecuteError::Overloaded { pending, .. }) => {
                assert!(pending >= 2);
                overloaded += 1
            }
            Err(other) => panic!("unexpected error {other}"),
        }
    }
    assert!(overloaded > 0, "64 simultaneous commands on a mailbox of 2 must be pushed back");
    let stream = StreamName::new("device", &id).expect("valid");
    assert_eq!(log.stream_version(&stream).expect("version"), 1 + accepted);
}

/// A test aggregate that panics on demand, to prove that a failed actor comes back.
#[derive(Debug, Clone, Copy, Default)]
struct Fuse;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum FuseEvent {
    Added(u32),
}

impl EventName for FuseEvent {
    fn event_name(&self) -> &'static str {
        "fuse.added"
    }
}

#[derive(Debug, Clone)]
enum FuseCommand {
    Add(u32),
    Blow,
}

#[derive(Debug, thiserror::Error)]
#[error("never")]
struct FuseError;

impl crate::aggregates::upcast::Upcast for Fuse {}

impl optibid_domain::MissingResource for FuseError {
    fn names_missing_resource(&self) -> bool {
        false
    }
}

impl Aggregate for Fuse {
    const NAME: &'static str = "device";
    const EVENT_SCHEMA_VERSION: u16 = 1;
    const STATE_SCHEMA_VERSION: u16 = 1;
    type State = u32;
    type Command = FuseCommand;
    type Event = FuseEvent;
    type Error = FuseError;

    fn decide(_state: &u32, command: FuseCommand) -> Result<Vec<FuseEvent>, FuseError> {
        match command {
            FuseCommand::Add(n) => Ok(vec![FuseEvent::Added(n)]),
            FuseCommand::Blow => panic!("the fuse blew"),
        }
    }

    fn evolve(state: u32, event: FuseEvent) -> u32 {
        match event {
            FuseEvent::Added(n) => state.saturating_add(n),
        }
    }

    fn instance_id(_state: &u32) -> Option<&str> {
        None
    }
}

#[tokio::test]
async fn an_actor_that_panics_is_restarted_from_the_log() {
    let (_dir, log) = open();
    let snapshots = Platform::snapshot_store(&log, 2).expect("opens");
    let directory = ActorDirectory::<Fuse>::start(log.clone(), snapshots, config()).await.expect("starts");
    directory.execute("f1", FuseCommand::Add(1), CommandMetadata::default()).await.expect("adds");
    directory.execute("f1", FuseCommand::Add(2), CommandMetadata::default()).await.expect("adds");
    let blown = directory.execute("f1", FuseCommand::Blow, CommandMetadata::default()).await;
    assert!(matches!(blown, Err(ExecuteError::ActorFailed(_))), "{blown:?}");
    let mut restarted = false;
    for _ in 0..50 {
        // The supervisor restarts the actor on its own task, reading the log: poll, bounded.
        tokio::time::sleep(Duration::from_millis(20)).await;
        if directory.live_instances() == 1 {
            restarted = true;
            break;
        }
    }
    assert!(restarted, "the supervisor restarts the failed instance");
    assert_eq!(directory.state("f1").await.expect("state").state, 3);
    let after = directory.execute("f1", FuseCommand::Add(4), CommandMetadata::default()).await.expect("adds");
    assert_eq!(after.version, 3);
    assert_eq!(directory.state("f1").await.expect("state").state, 7);
}

#[tokio::test]
async fn telemetry_goes_to_its_own_stream_and_a_crossing_changes_the_status() {
    use optibid_domain::device::DeviceStatus;
    use optibid_domain::telemetry::{MetricValue, TelemetryBatch, TelemetrySample};
    use optibid_domain::{DeviceId, Timestamp};
    let (_dir, log) = open();
    let platform = Platform::start(log.clone(), config()).await.expect("starts");
    let id = device_id(9);
    platform
        .devices
        .execute(&id, registration(9).expect("valid"), CommandMetadata::default())
        .await
        .expect("registers");
    let batch = |power: f64| {
        let sample = TelemetrySample {
            ts: Timestamp(1_000),
            values: vec![MetricValue { metric: "power_w".to_owned(), value: power }],
        };
        TelemetryBatch::new(DeviceId::new(id.clone()).expect("valid"), vec![sample]).expect("valid batch")
    };
    let device = DeviceId::new(id.clone()).expect("valid");
    platform.record_telemetry(&device, vec![batch(2_000.0)], CommandMetadata::default()).await.expect("records");
    assert_eq!(platform.devices.state(&id).await.expect("state").state.status, DeviceStatus::Online);
    platform.record_telemetry(&device, vec![batch(9_000.0)], CommandMetadata::default()).await.expect("records");
    let state = platform.devices.state(&id).await.expect("state");
    assert_eq!(state.state.status, DeviceStatus::Degraded);
    assert_eq!(
        state.version, 4,
        "registration, online, degraded, range alert: the samples are not in the device stream"
    );
    assert!(state.state.alerts.iter().any(|a| a.metric.as_deref() == Some("power_w") && a.resolved_at.is_none()));
    let telemetry = StreamName::new("telemetry", &id).expect("valid");
    assert_eq!(log.stream_version(&telemetry).expect("version"), 2);

    let unknown = TelemetryBatch::new(
        DeviceId::new("ghost").expect("valid"),
        vec![TelemetrySample { ts: Timestamp(1), values: vec![MetricValue { metric: "p".to_owned(), value: 1.0 }] }],
    )
    .expect("valid batch");
    let ghost = DeviceId::new("ghost").expect("valid");
    let refused = platform.record_telemetry(&ghost, vec![unknown], CommandMetadata::default()).await;
    assert!(matches!(refused, Err(ExecuteError::Rejected(DeviceError::NotRegistered))));
    assert_eq!(log.stream_version(&StreamName::new("telemetry", "ghost").expect("valid")).expect("version"), 0);
}
