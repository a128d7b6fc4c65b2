//! `optibid simulate` against a real `optibid serve`: the fleet registers through the API,
//! connects with its own secrets, reports telemetry and heartbeats, and answers a firmware
//! update with progress.

mod common;

use common::http::Api;
use serde_json::json;
use std::process::Command;

#[test]
fn a_simulated_fleet_registers_reports_and_answers_commands() {
    let (_dir, api) = Api::start();
    let token = api.admin();
    let simulate = Command::new(common::OPTIBID)
        .args(["simulate", "--devices", "6", "--edge-nodes", "2", "--rate", "5", "--duration-secs", "10"])
        .args(["--broker", &format!("mqtt://{}", api.server.mqtt), "--api", &api.server.url(""), "--token", &token])
        .args(["--command-failure-rate", "0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("simulate starts");
    let online = api.eventually("/api/v1/devices?status=online", &token, |page| {
        page["items"].as_array().is_some_and(|items| items.len() == 6)
    });
    let first = online["items"][0]["id"].as_str().expect("id").to_owned();
    let sent = api.post(
        &format!("/api/v1/devices/{first}/commands"),
        &token,
        json!({ "name": "firmware_update", "params": { "version": "2.5.0" } }),
    );
    assert_eq!(sent.status, 202, "{}", sent.body);
    let history = api.eventually(&format!("/api/v1/devices/{first}/events?limit=200"), &token, |page| {
        page["events"]
            .as_array()
            .is_some_and(|events| events.iter().any(|e| e["event_type"] == "device.command_succeeded"))
    });
    let progress: Vec<u64> = history["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["data"]["command_progressed"]["percent"].as_u64())
        .collect();
    assert_eq!(progress, vec![20, 40, 60, 80, 100], "progress is reported in order");
    let detail = api.get(&format!("/api/v1/devices/{first}"), &token);
    assert!(detail.body["latest"].as_object().is_some_and(|latest| !latest.is_empty()), "{}", detail.body);
    api.eventually("/api/v1/edge-nodes/sim-edge-000", &token, |node| !node["state"]["last_heartbeat"].is_null());

    let output = simulate.wait_with_output().expect("simulate ends after its duration");
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("simulation stopped"), "{text}");
    api.eventually("/api/v1/devices?status=offline", &token, |page| {
        page["items"].as_array().is_some_and(|items| items.len() == 6)
    });
    let letters = api.get("/api/v1/dead-letters", &token);
    assert_eq!(letters.body["items"], json!([]), "the simulator sends only valid messages");
}

#[test]
fn a_campaign_rolls_firmware_out_to_simulated_devices_wave_by_wave() {
    let (_dir, api) = Api::start();
    let token = api.admin();
    let simulate = Command::new(common::OPTIBID)
        .args(["simulate", "--devices", "6", "--edge-nodes", "0", "--rate", "2", "--duration-secs", "40"])
        .args(["--broker", &format!("mqtt://{}", api.server.mqtt), "--api", &api.server.url(""), "--token", &token])
        .args(["--command-failure-rate", "0", "--prefix", "fleet"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("simulate starts");
    api.eventually("/api/v1/devices?status=online", &token, |page| {
        page["items"].as_array().is_some_and(|items| items.len() == 6)
    });
    let definition = json!({
        "id": "fw-25", "name": "Firmware 2.5", "kind": "firmware_update",
        "selector": { "kinds": [], "regions": [], "sites": [], "tags": ["simulated"], "device_ids": [] },
        "payload": "2.5.0", "waves": [50, 100], "success_threshold": 1.0,
        "abort_threshold": 0.5, "device_timeout_ms": 30000
    });
    assert_eq!(api.post("/api/v1/campaigns", &token, definition).status, 201);
    let started = api.post("/api/v1/campaigns/fw-25/start", &token, json!({}));
    assert_eq!(started.status, 200, "{}", started.body);
    let mut campaign = serde_json::Value::Null;
    common::wait_for("the campaign to complete", || {
        campaign = api.get("/api/v1/campaigns/fw-25", &token).body;
        campaign["state"]["phase"] == "completed"
    });
    assert_eq!(campaign["state"]["outcomes"].as_object().map(|o| o.len()), Some(6), "{campaign}");
    let history = api.get("/api/v1/campaigns/fw-25/events?limit=100", &token);
    let waves: Vec<u64> = history.body["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["data"]["wave_advanced"]["wave"].as_u64())
        .collect();
    assert_eq!(waves, vec![0, 1], "two waves, the second after the first succeeded");
    let list = api.eventually("/api/v1/campaigns?phase=completed", &token, |page| page["total"] == 1);
    let progress = &list["items"][0];
    assert_eq!(
        (&progress["targets"], &progress["succeeded"], &progress["failures"], &progress["in_progress"]),
        (&json!(6), &json!(6), &json!(0), &json!(0)),
        "{progress}"
    );
    assert_eq!(progress["failure_ratio"], 0.0);
    assert_eq!(
        progress["waves"],
        json!([
            { "wave": 0, "devices": 3, "succeeded": 3, "failed": 0, "timed_out": 0 },
            { "wave": 1, "devices": 3, "succeeded": 3, "failed": 0, "timed_out": 0 }
        ]),
        "{progress}"
    );
    api.eventually("/api/v1/devices?tag=simulated", &token, |page| {
        page["items"].as_array().is_some_and(|items| items.iter().all(|d| d["firmware_version"] == "2.5.0"))
    });
    let mut simulate = simulate;
    let _ = simulate.kill();
    let _ = simulate.wait();
}
