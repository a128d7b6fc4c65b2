//! Stored bytes decode forever: logs written by earlier builds (kept as `audit export` lines in
//! tests/fixtures/) import, verify, and read as today's events, older schema versions through
//! their upcasters, without a byte rewritten.

mod common;

use common::http::Api;
use common::{optibid, stderr, stdout, verify, Server};
use serde_json::{json, Value};
use std::path::Path;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

/// A data folder rebuilt from the fixture `name` with `store import`.
fn imported(name: &str, dir: &Path) -> std::path::PathBuf {
    let data = dir.join("data");
    let input = format!("{FIXTURES}/{name}");
    let output = optibid(&["store", "import", "--data", &data.to_string_lossy(), "--input", &input]);
    assert!(output.status.success(), "import of {name}: {}", stderr(&output));
    data
}

fn fixture_lines(name: &str) -> Vec<Value> {
    std::fs::read_to_string(format!("{FIXTURES}/{name}"))
        .expect("fixture")
        .lines()
        .map(|line| serde_json::from_str(line).expect("JSON line"))
        .collect()
}

#[test]
fn a_log_of_event_schema_1_verifies_and_reads_through_the_upcaster() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = imported("log_v1.jsonl", dir.path());
    assert!(verify(&data).status.success(), "{}", stderr(&verify(&data)));
    let state = optibid(&[
        "audit",
        "state",
        "--data",
        &data.to_string_lossy(),
        "--stream",
        "device/fx-inv-1",
        "--version",
        "1",
    ]);
    assert!(state.status.success(), "{}", stderr(&state));
    let state: Value = serde_json::from_str(&stdout(&state)).expect("JSON state");
    assert_eq!(state["state"]["profile"]["name"], "Fixture inverter");
    assert_eq!(state["state"]["profile"]["location"], Value::Null, "schema 1 had no location");

    let exported = common::export(&data);
    let stored = fixture_lines("log_v1.jsonl");
    for (now, then) in exported.iter().zip(&stored) {
        for field in ["position", "schema_version", "payload", "payload_hash", "hash"] {
            assert_eq!(now[field], then[field], "{field} of event {} is kept as stored", then["position"]);
        }
    }
    let registration = &exported[0]["data"]["registered"]["registration"];
    assert_eq!(registration["name"], "Fixture inverter", "the export decodes the schema-1 event: {}", exported[0]);
    assert_eq!(registration["location"], Value::Null);

    let api = Api::over(Server::start(&data, &[]));
    let token = api.admin();
    let device = api.get("/api/v1/devices/fx-inv-1", &token);
    assert_eq!(device.status, 200, "{}", device.body);
    assert_eq!(device.body["state"]["profile"]["name"], "Fixture inverter", "the actor folds the upcast event");
}

#[test]
fn a_log_of_event_schema_2_verifies_and_reads_as_written() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = imported("log_v2.jsonl", dir.path());
    assert!(verify(&data).status.success(), "{}", stderr(&verify(&data)));
    let exported = common::export(&data);
    let registered = exported.iter().find(|e| e["event_type"] == "device.registered").expect("a registration");
    assert_eq!(registered["schema_version"], 2);
    assert_eq!(registered["data"]["registered"]["registration"]["location"], json!({ "lat": 48.137, "lon": 11.575 }));
}

#[test]
fn a_device_registers_with_a_location_and_a_point_off_the_globe_is_refused() {
    let (_dir, api) = Api::start();
    let token = api.admin();
    let mut device = common::telemetry::meter("loc-1");
    device["location"] = json!({ "lat": 48.137, "lon": 11.575 });
    let created = api.post("/api/v1/devices", &token, device.clone());
    assert_eq!(created.status, 201, "{}", created.body);
    let read = api.get("/api/v1/devices/loc-1", &token);
    assert_eq!(read.body["state"]["profile"]["location"], json!({ "lat": 48.137, "lon": 11.575 }), "{}", read.body);
    device["id"] = json!("loc-2");
    device["location"] = json!({ "lat": 123.0, "lon": 0.0 });
    let refused = api.post("/api/v1/devices", &token, device);
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(refused.body["error"]["message"].as_str().is_some_and(|m| m.contains("latitude")), "{}", refused.body);
    let unplaced = api.post("/api/v1/devices", &token, common::telemetry::meter("loc-3"));
    assert_eq!(unplaced.status, 201, "the location is optional: {}", unplaced.body);
}
