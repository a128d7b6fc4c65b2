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
