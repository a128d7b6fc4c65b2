//! Devices behind an external broker: the machine's Mosquitto when it runs, and a Mosquitto of
//! our own, configured as docs/mqtt.md says, that the test restarts.

mod common;

use common::http::Api;
use common::mosquitto::OwnMosquitto;
use common::mqtt::{Connect, TestClient};
use common::services;
use common::telemetry::{now_ms, register_meter as register, stored_power as stored_samples};
use common::wait_for;
use serde_json::{json, Value};
use std::time::Duration;

#[test]
fn the_machines_mosquitto_carries_the_same_contract() {
    if !services::available("Mosquitto", "127.0.0.1:1883") {
        return;
    }
    let group = format!("optibid-test-{}", std::process::id());
    let (_dir, api) = Api::start_with(&["--mqtt-broker", "mqtt://127.0.0.1:1883", "--mqtt-shared-group", &group]);
    let token = api.admin();
    let id = format!("mosq-{}", std::process::id());
    register(&api, &token, &id);
    let device = TestClient::connect("127.0.0.1:1883", Connect { client_id: &id, ..Connect::default() })
        .expect("the machine's Mosquitto accepts anonymous clients");
    let t0 = now_ms() - 5_000;
    let topic = format!("optibid/v1/devices/{id}/telemetry");
    wait_for("the ingest subscription", || {
        device.publish(&topic, json!({ "ts": t0, "values": { "power_w": 5.0 } }).to_string());
        !stored_samples(&api, &token, &id).is_empty()
    });
    device.publish(&topic, json!([{ "ts": t0 + 1, "values": { "power_w": 6.0 } }]).to_string());
    wait_for("two samples", || stored_samples(&api, &token, &id).len() == 2);
    assert_eq!(stored_samples(&api, &token, &id), vec![(t0, 5.0), (t0 + 1, 6.0)]);

    device.subscribe(&format!("optibid/v1/devices/{id}/commands"));
    let sent = api.post(&format!("/api/v1/devices/{id}/commands"), &token, json!({ "name": "ping", "params": {} }));
    let command_id = sent.body["command_id"].as_str().expect("command id").to_owned();
    let received = device.receive();
    let body: Value = serde_json::from_slice(&received.payload).expect("JSON");
    assert_eq!(body["command_id"], command_id);
    device.publish(
        &format!("optibid/v1/devices/{id}/commands/{command_id}/response"),
        r#"{"status": "failed", "detail": "busy"}"#,
    );
    api.eventually(&format!("/api/v1/devices/{id}/events?limit=100"), &token, |page| {
        page["events"].as_array().is_some_and(|items| items.iter().any(|e| e["event_type"] == "device.command_failed"))
    });
}

#[test]
fn a_broker_restart_and_a_platform_crash_lose_no_acknowledged_message() {
    let Some(program) = services::program("mosquitto", &["/usr/sbin/mosquitto", "/usr/bin/mosquitto"]) else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let mut broker = OwnMosquitto::start(program, dir.path());
    let broker_address = format!("127.0.0.1:{}", broker.port);
    let broker_url = format!("mqtt://{broker_address}");
    let data = dir.path().join("data");
    let api = Api::over(common::Server::start(&data, &["--mqtt-broker", &broker_url]));
    let token = api.admin();
    register(&api, &token, "m-5");
    let connect = || {
        TestClient::connect(&broker_address, Connect { client_id: "m-5", persistent: true, ..Connect::default() })
            .expect("connects")
    };
    let t0 = now_ms() - 600_000;
    let message = |i: i64| json!({ "ts": t0 + i, "values": { "power_w": i as f64 } }).to_string();
    let topic = "optibid/v1/devices/m-5/telemetry";
    let device = connect();
    wait_for("the ingest subscription", || {
        device.publish(topic, message(0));
        !stored_samples(&api, &token, "m-5").is_empty()
    });
    for i in 1..150 {
        device.publish(topic, message(i));
    }
    broker.restart();
    drop(device);
    let device = connect();
    for i in 150..300 {
        device.publish(topic, message(i));
    }
    wait_for("300 samples after the broker restart", || stored_samples(&api, &token, "m-5").len() >= 300);

    let server = api.server;
    let mut server = server;
    server.child.kill().expect("kill -9 the platform");
    server.child.wait().expect("exits");
    for i in 300..500 {
        device.publish(topic, message(i));
    }
    let api = Api::over(common::Server::start(&data, &["--mqtt-broker", &broker_url]));
    wait_for("500 samples after the platform restart", || stored_samples(&api, &token, "m-5").len() >= 500);
    // Redeliveries still on their way would be stored after the 500th sample: give them a moment
    // before counting (there is no signal for "nothing more will come").
    std::thread::sleep(Duration::from_millis(500));
    let stored = stored_samples(&api, &token, "m-5");
    let expected: Vec<(i64, f64)> = (0..500).map(|i| (t0 + i, i as f64)).collect();
    let mut deduplicated = stored.clone();
    deduplicated.dedup();
    assert_eq!(stored.len(), deduplicated.len(), "no sample is stored twice");
    assert_eq!(deduplicated, expected, "every acknowledged message is stored, in order");
    let verify = api.post("/api/v1/audit/verify", &token, json!({}));
    assert_eq!(verify.body["intact"], true, "{}", verify.body);
}
