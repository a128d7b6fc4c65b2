//! The audit verbs on a real data folder: point-in-time state, export and import, clear errors.

mod common;

use common::{export, optibid, stderr, stdout, verify};
use optibid::actors::{CommandMetadata, DirectoryConfig, Platform};
use optibid::bench::workload::{configuration_command, registration};
use optibid::store::SledEventLog;
use std::path::Path;
use std::sync::Arc;

/// Registers device `bench-000001`, waits, then changes its configuration twice.
async fn write_history(data: &Path) -> i64 {
    let log = Arc::new(SledEventLog::open(data).expect("opens"));
    let platform = Platform::start(log, DirectoryConfig::default()).await.expect("starts");
    let id = "bench-000001";
    platform.devices.execute(id, registration(1).expect("valid"), CommandMetadata::default()).await.expect("registers");
    // The log stamps events with the wall clock (milliseconds), which paused tokio time does not
    // move: real time must pass for `between` to fall strictly between the two writes.
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    let between = chrono::Utc::now().timestamp_millis();
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    for sequence in 1..=2 {
        platform.devices.execute(id, configuration_command(sequence), CommandMetadata::default()).await.expect("runs");
    }
    platform.shutdown().await;
    between
}

#[tokio::test]
async fn state_at_a_version_or_an_instant() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let between = write_history(&data).await;
    let path = data.to_string_lossy().to_string();

    let at_version = optibid(&["audit", "state", "--data", &path, "--stream", "device/bench-000001", "--version", "1"]);
    assert!(at_version.status.success(), "{}", stderr(&at_version));
    let state: serde_json::Value = serde_json::from_str(&stdout(&at_version)).expect("JSON");
    assert_eq!(state["version"], 1);
    assert_eq!(state["state"]["profile"]["id"], "bench-000001");
    assert_eq!(state["state"]["configuration"], serde_json::json!({}));

    let instant = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(between).expect("time").to_rfc3339();
    let at_instant = optibid(&["audit", "state", "--data", &path, "--stream", "device/bench-000001", "--at", &instant]);
    let state: serde_json::Value = serde_json::from_str(&stdout(&at_instant)).expect("JSON");
    assert_eq!(state["version"], 1, "only the registration was recorded by then");

    let now = optibid(&[
        "audit",
        "state",
        "--data",
        &path,
        "--stream",
        "device/bench-000001",
        "--at",
        "2100-01-01T00:00:00Z",
    ]);
    let state: serde_json::Value = serde_json::from_str(&stdout(&now)).expect("JSON");
    assert_eq!(state["version"], 3);
    assert_eq!(state["state"]["configuration"]["sequence"], "2");
}

#[tokio::test]
async fn export_then_import_rebuilds_an_identical_verified_log() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    write_history(&data).await;
    let exported = dir.path().join("export.jsonl");
    let output =
        optibid(&["audit", "export", "--data", &data.to_string_lossy(), "--output", &exported.to_string_lossy()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let events = export(&data);
    assert_eq!(events.len(), 3);
    assert_eq!(events[0]["event_type"], "device.registered");
    assert_eq!(events[0]["data"]["registered"]["registration"]["id"], "bench-000001");

    let restored = dir.path().join("restored");
    let import =
        optibid(&["store", "import", "--data", &restored.to_string_lossy(), "--input", &exported.to_string_lossy()]);
    assert!(import.status.success(), "{}", stderr(&import));
    assert!(verify(&restored).status.success());
    let original = optibid(&["audit", "checkpoint", "--data", &data.to_string_lossy()]);
    let copy = optibid(&["audit", "checkpoint", "--data", &restored.to_string_lossy()]);
    assert_eq!(stdout(&original), stdout(&copy));
    assert_eq!(export(&restored), events);

    let text = std::fs::read_to_string(&exported).expect("reads");
    let forged = text.replacen("device.registered", "device.decommissioned", 1);
    let forged_path = dir.path().join("forged.jsonl");
    std::fs::write(&forged_path, forged).expect("writes");
    let refused = optibid(&[
        "store",
        "import",
        "--data",
        &dir.path().join("forged-store").to_string_lossy(),
        "--input",
        &forged_path.to_string_lossy(),
    ]);
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("global position 1"), "{}", stderr(&refused));
}

#[tokio::test]
async fn clear_errors_for_bad_folders_streams_and_times() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    write_history(&data).await;
    let path = data.to_string_lossy().to_string();

    let missing = optibid(&["audit", "verify", "--data", &dir.path().join("nope").to_string_lossy()]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("does not exist"), "{}", stderr(&missing));

    let unknown = optibid(&["audit", "state", "--data", &path, "--stream", "device/ghost", "--version", "1"]);
    assert!(!unknown.status.success());
    assert!(stderr(&unknown).contains("unknown stream device/ghost"), "{}", stderr(&unknown));

    let malformed =
        optibid(&["audit", "state", "--data", &path, "--stream", "device/bench-000001", "--at", "yesterday"]);
    assert!(!malformed.status.success());
    assert!(stderr(&malformed).contains("not an RFC 3339 time"), "{}", stderr(&malformed));

    let bad_stream = optibid(&["audit", "state", "--data", &path, "--stream", "robot/x", "--version", "1"]);
    assert!(stderr(&bad_stream).contains("unknown stream kind"), "{}", stderr(&bad_stream));

    let telemetry =
        optibid(&["audit", "state", "--data", &path, "--stream", "telemetry/bench-000001", "--version", "1"]);
    assert!(stderr(&telemetry).contains("telemetry samples"), "{}", stderr(&telemetry));

    let held = SledEventLog::open(&data).expect("opens");
    let locked = optibid(&["audit", "verify", "--data", &path]);
    assert_eq!(locked.status.code(), Some(1));
    assert!(stderr(&locked).contains("in use by another optibid process"), "{}", stderr(&locked));
    drop(held);
}

#[tokio::test]
async fn pruned_telemetry_payloads_keep_the_chain_verifiable() {
    use optibid_domain::telemetry::{MetricValue, TelemetryBatch, TelemetrySample};
    use optibid_domain::{DeviceId, Timestamp};
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    write_history(&data).await;
    {
        let log = Arc::new(SledEventLog::open(&data).expect("opens"));
        let platform = Platform::start(log, DirectoryConfig::default()).await.expect("starts");
        for ts in 0..3 {
            let sample = TelemetrySample {
                ts: Timestamp(ts),
                values: vec![MetricValue { metric: "power_w".to_owned(), value: 10.0 }],
            };
            let device = DeviceId::new("bench-000001").expect("valid");
            let batch = TelemetryBatch::new(device.clone(), vec![sample]).expect("valid");
            platform.record_telemetry(&device, vec![batch], CommandMetadata::default()).await.expect("records");
        }
        platform.shutdown().await;
    }
    let path = data.to_string_lossy().to_string();
    let before = optibid(&["audit", "checkpoint", "--data", &path]);
    let pruned = optibid(&["store", "prune-telemetry", "--data", &path, "--before", "2100-01-01T00:00:00Z"]);
    assert!(pruned.status.success(), "{}", stderr(&pruned));
    assert!(stdout(&pruned).starts_with("pruned 3 telemetry payloads"), "{}", stdout(&pruned));
    let verified = verify(&data);
    assert!(verified.status.success(), "{}", stdout(&verified));
    assert!(stdout(&verified).contains("(3 pruned payloads)"), "{}", stdout(&verified));
    assert_eq!(stdout(&optibid(&["audit", "checkpoint", "--data", &path])), stdout(&before));
    let events = export(&data);
    let telemetry: Vec<_> = events.iter().filter(|e| e["event_type"] == "telemetry.recorded").collect();
    assert_eq!(telemetry.len(), 3);
    assert!(telemetry.iter().all(|e| e["payload"].is_null() && e["data"].is_null()));
    assert!(events.iter().filter(|e| e["event_type"] != "telemetry.recorded").all(|e| !e["payload"].is_null()));
    let state = optibid(&[
        "audit",
        "state",
        "--data",
        &path,
        "--stream",
        "device/bench-000001",
        "--at",
        "2100-01-01T00:00:00Z",
    ]);
    assert!(state.status.success(), "device state still folds after pruning: {}", stderr(&state));
}
