//! The esrs adapter runs the same rules on the same log as the actors.

use super::esrs_adapter::{EsrsAdapterError, EsrsSledStore};
use super::{EventLog, SledEventLog};
use crate::actors::{CommandMetadata, DirectoryConfig, Platform};
use crate::bench::workload::{configuration_command, registration};
use esrs::manager::AggregateManager;
use esrs::AggregateState;
use optibid_domain::device::{Device, DeviceError};
use std::sync::Arc;

#[tokio::test]
async fn esrs_and_the_actors_share_streams() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = Arc::new(SledEventLog::open(dir.path()).expect("opens"));
    let shared: Arc<dyn EventLog> = log.clone();
    let manager = AggregateManager::new(EsrsSledStore::<Device>::new(shared, "esrs"));
    let uuid = EsrsSledStore::<Device>::aggregate_id("bench-000007").expect("valid id");

    let state = manager
        .handle_command(AggregateState::with_id(uuid), registration(7).expect("valid"))
        .await
        .expect("stores")
        .expect("accepted");
    assert!(state.profile.is_some());
    let rejected = manager
        .handle_command(manager.load(uuid).await.expect("loads").expect("exists"), registration(7).expect("valid"))
        .await
        .expect("stores");
    assert!(matches!(rejected, Err(DeviceError::AlreadyRegistered(_))));

    let platform = Platform::start(log.clone(), DirectoryConfig::default()).await.expect("starts");
    let through_actor = platform
        .devices
        .execute("bench-000007", configuration_command(1), CommandMetadata::default())
        .await
        .expect("runs");
    assert_eq!(through_actor.version, 2, "the actor sees the event written through esrs");
    let loaded = manager.load(uuid).await.expect("loads").expect("exists");
    assert_eq!(*loaded.sequence_number(), 2);
    assert_eq!(loaded.inner(), &platform.devices.state("bench-000007").await.expect("state").state);

    let wrong = uuid::Uuid::new_v4();
    let mismatch = manager.handle_command(AggregateState::with_id(wrong), registration(8).expect("valid")).await;
    assert!(matches!(mismatch, Err(EsrsAdapterError::IdMismatch { .. })));
    assert!(matches!(manager.delete(uuid).await, Err(EsrsAdapterError::AppendOnly)));
}

/// The platform's log, where another writer appends to the same stream right after each
/// append returns (the race a concurrent writer can win between an append and its read-back).
struct RacedLog {
    inner: Arc<SledEventLog>,
}

impl EventLog for RacedLog {
    fn append(
        &self,
        stream: super::StreamName,
        expected: super::ExpectedVersion,
        events: Vec<super::NewEvent>,
    ) -> futures_util::future::BoxFuture<'_, Result<super::AppendOutcome, super::StoreError>> {
        Box::pin(async move {
            let outcome = self.inner.append(stream.clone(), expected, events).await?;
            let id = uuid::Uuid::new_v4();
            let other = <Device as crate::aggregates::StoredAggregate>::to_new_event(
                &optibid_domain::device::DeviceEvent::ConfigurationChanged {
                    changes: std::collections::BTreeMap::new(),
                    at: optibid_domain::Timestamp(1),
                },
                id,
                super::EventMetadata::default(),
            )
            .expect("encodes");
            self.inner.append(stream, super::ExpectedVersion::Any, vec![other]).await?;
            Ok(outcome)
        })
    }
    fn append_atomic(
        &self,
        parts: Vec<super::StreamAppend>,
    ) -> futures_util::future::BoxFuture<'_, Result<Vec<super::AppendOutcome>, super::StoreError>> {
        self.inner.append_atomic(parts)
    }
    fn read_stream(
        &self,
        stream: &super::StreamName,
        from: super::StreamVersion,
    ) -> Result<Vec<super::RecordedEvent>, super::StoreError> {
        self.inner.read_stream(stream, from)
    }
    fn read_stream_event(
        &self,
        stream: &super::StreamName,
        version: super::StreamVersion,
    ) -> Result<Option<super::RecordedEvent>, super::StoreError> {
        self.inner.read_stream_event(stream, version)
    }
    fn stream_version(&self, stream: &super::StreamName) -> Result<super::StreamVersion, super::StoreError> {
        self.inner.stream_version(stream)
    }
    fn read_all(&self, from: u64, limit: usize) -> Result<Vec<super::RecordedEvent>, super::StoreError> {
        self.inner.read_all(from, limit)
    }
    fn head(&self) -> super::LogHead {
        self.inner.head()
    }
    fn watch_head(&self) -> tokio::sync::watch::Receiver<super::LogHead> {
        self.inner.watch_head()
    }
    fn event_position(
        &self,
        stream: &super::StreamName,
        event_id: &uuid::Uuid,
    ) -> Result<Option<u64>, super::StoreError> {
        self.inner.event_position(stream, event_id)
    }
    fn stream_by_uuid(&self, uuid: &uuid::Uuid) -> Result<Option<super::StreamName>, super::StoreError> {
        self.inner.stream_by_uuid(uuid)
    }
}

#[tokio::test]
async fn an_append_returns_only_its_own_events_when_another_writer_follows_at_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = Arc::new(SledEventLog::open(dir.path()).expect("opens"));
    let raced: Arc<dyn EventLog> = Arc::new(RacedLog { inner: log.clone() });
    let store = EsrsSledStore::<Device>::new(raced, "esrs");
    let uuid = EsrsSledStore::<Device>::aggregate_id("bench-000003").expect("valid id");
    let mut state = AggregateState::with_id(uuid);
    let events = vec![optibid_domain::device::DeviceEvent::Registered {
        registration: match registration(3).expect("valid") {
            optibid_domain::device::DeviceCommand::Register { registration, .. } => registration,
            _ => unreachable!("registration() builds a Register command"),
        },
        at: optibid_domain::Timestamp(1),
    }];
    let stored = esrs::store::EventStore::persist(&store, &mut state, events).await.expect("persists");
    assert_eq!(stored.len(), 1, "the other writer's event is not ours");
    assert_eq!(stored[0].sequence_number, 1);
    let stream = super::StreamName::new("device", "bench-000003").expect("valid");
    assert_eq!(log.stream_version(&stream).expect("reads"), 2, "both writers' events are stored");
}

#[tokio::test]
async fn instance_locks_are_forgotten_once_nobody_holds_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log: Arc<dyn EventLog> = Arc::new(SledEventLog::open(dir.path()).expect("opens"));
    let store = EsrsSledStore::<Device>::new(log, "esrs");
    let held = esrs::store::EventStore::lock(&store, uuid::Uuid::new_v4()).await.expect("locks");
    for _ in 0..5_000 {
        let guard = esrs::store::EventStore::lock(&store, uuid::Uuid::new_v4()).await.expect("locks");
        drop(guard);
    }
    assert!(store.kept_locks() <= 1_025, "kept {} locks", store.kept_locks());
    drop(held);
}
