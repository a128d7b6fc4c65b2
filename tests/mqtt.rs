//! Devices over real MQTT: the embedded broker of a real `optibid serve`, the machine's
//! Mosquitto when it runs, and a Mosquitto of our own that we restart.

mod common;

use common::http::Api;
use common::mqtt::{Connect, TestClient};
use common::services;
use common::wait_for;
use serde_json::{json, Value};
use std::time::Duration;

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn meter(id: &str) -> Value {
    json!({
        "id": id, "name": format!("Meter {id}"), "kind": "smart_meter", "protocol": "mqtt",
        "site": "plant-1", "region": "eu", "tags": [], "firmware_version": "1.0.0",
        "metrics": [
            { "name": "power_w", "unit": "W", "normal_min": 0.0, "normal_max": 5000.0 },
            { "name": "temp_c", "unit": "C", "normal_min": -20.0, "normal_max": 80.0 }
        ]
    })
}

/// Registers `id` and returns its MQTT secret.
fn register(api: &Api, token: &str, id: &str) -> String {
    let created = api.post("/api/v1/devices", token, meter(id));
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["mqtt_login"], id);
    created.body["mqtt_secret"].as_str().expect("a secret with the registration").to_owned()
}

fn connect_device(api: &Api, id: &str, secret: &str) -> TestClient {
    TestClient::connect(&api.server.mqtt, Connect { client_id: id, login: Some((id, secret)), ..Connect::default() })
        .expect("a registered device with its secret connects")
}

/// Every telemetry sample of `device` in the global log, as (ts, power_w).
fn stored_samples(api: &Api, token: &str, device: &str) -> Vec<(i64, f64)> {
    let mut samples = Vec::new();
    let mut from = 1;
    loop {
        let page = api.get(&format!("/api/v1/events?from={from}&limit=1000"), token);
        assert_eq!(page.status, 200, "{}", page.body);
        let events = page.body["events"].as_array().expect("events").clone();
        for event in &events {
            if event["stream"] == format!("telemetry/{device}") {
                for sample in event["data"]["recorded"]["samples"].as_array().expect("samples") {
                    let power = sample["values"]
                        .as_array()
                        .and_then(|v| v.iter().find(|m| m["metric"] == "power_w"))
                        .and_then(|m| m["value"].as_f64())
                        .unwrap_or(f64::NAN);
                    samples.push((sample["ts"].as_i64().expect("ts"), power));
                }
            }
        }
        match events.last() {
            Some(last) if events.len() == 1000 => from = last["position"].as_u64().expect("position") + 1,
            _ => return samples,
        }
    }
}

#[test]
fn devices_publish_telemetry_and_status_and_answer_commands_over_the_embedded_broker() {
    let (_dir, api) = Api::start();
    let token = api.admin();
    let secret = register(&api, &token, "m-1");
    let device = connect_device(&api, "m-1", &secret);
    let t0 = now_ms() - 10_000;
    device
        .publish("optibid/v1/devices/m-1/telemetry", json!({ "ts": t0, "values": { "power_w": 1200.5 } }).to_string());
    let array = json!([
        { "ts": t0 + 1_000, "values": { "power_w": 1300.0, "temp_c": 41.0 } },
        { "ts": t0 + 2_000, "values": { "power_w": 1400.0 } }
    ]);
    device.publish("optibid/v1/devices/m-1/telemetry", array.to_string());
    wait_for("three stored samples", || stored_samples(&api, &token, "m-1").len() == 3);
    assert_eq!(
        stored_samples(&api, &token, "m-1"),
        vec![(t0, 1200.5), (t0 + 1_000, 1300.0), (t0 + 2_000, 1400.0)],
        "every acknowledged sample is stored once, in order"
    );
    device.publish(
        "optibid/v1/devices/m-1/telemetry",
        json!({ "ts": t0 + 3_000, "values": { "temp_c": 95.0 } }).to_string(),
    );
    api.eventually("/api/v1/devices/m-1", &token, |d| d["state"]["status"] == "degraded");
    device.publish("optibid/v1/devices/m-1/status", json!({ "status": "online", "ts": t0 + 4_000 }).to_string());
    api.eventually("/api/v1/devices/m-1", &token, |d| d["state"]["status"] == "online");

    device.subscribe("optibid/v1/devices/m-1/commands");
    let sent =
        api.post("/api/v1/devices/m-1/commands", &token, json!({ "name": "reboot", "params": { "delay_s": 5 } }));
    assert_eq!(sent.status, 202, "{}", sent.body);
    let command_id = sent.body["command_id"].as_str().expect("command id").to_owned();
    let received = device.receive();
    assert_eq!(received.topic, "optibid/v1/devices/m-1/commands");
    let body: Value = serde_json::from_slice(&received.payload).expect("JSON command");
    assert_eq!(body, json!({ "command_id": command_id, "name": "reboot", "params": { "delay_s": 5 } }));
    let response_topic = format!("optibid/v1/devices/m-1/commands/{command_id}/response");
    device.publish(&response_topic, r#"{"status": "accepted"}"#);
    device.publish(&response_topic, r#"{"status": "in_progress", "progress": 50}"#);
    device.publish(&response_topic, r#"{"status": "succeeded", "detail": "rebooted"}"#);
    let state = api.eventually("/api/v1/devices/m-1", &token, |d| {
        d["state"]["commands"].as_array().is_some_and(|c| c.iter().any(|c| c["state"]["Succeeded"] == "rebooted"))
    });
    let history = api.get("/api/v1/devices/m-1/events?limit=100", &token);
    let types: Vec<&str> =
        history.body["events"].as_array().expect("items").iter().filter_map(|e| e["event_type"].as_str()).collect();
    for expected in
        ["device.command_issued", "device.command_accepted", "device.command_progressed", "device.command_succeeded"]
    {
        assert!(types.contains(&expected), "{expected} missing from {types:?}; state {state}");
    }

    let silent =
        api.post("/api/v1/devices/m-1/commands", &token, json!({ "name": "reboot", "params": {}, "timeout_ms": 500 }));
    assert_eq!(silent.status, 202);
    device.receive();
    api.eventually("/api/v1/devices/m-1/events?limit=100", &token, |page| {
        page["events"]
            .as_array()
            .is_some_and(|items| items.iter().any(|e| e["event_type"] == "device.command_timed_out"))
    });
}

#[test]
fn only_registered_clients_with_their_own_secret_connect() {
    let (_dir, api) = Api::start();
    let token = api.admin();
    let secret = register(&api, &token, "m-2");
    let address = &api.server.mqtt;
    let refused = |login: Option<(&str, &str)>| {
        TestClient::connect(address, Connect { client_id: "intruder", login, ..Connect::default() }).err()
    };
    assert!(refused(None).is_some(), "anonymous clients are refused");
    assert!(refused(Some(("m-2", "dsk_wrong"))).is_some(), "a wrong secret is refused");
    assert!(refused(Some(("m-404", &secret))).is_some(), "another device's secret is refused");
    connect_device(&api, "m-2", &secret);

    let rotated = api.post("/api/v1/devices/m-2/credentials", &token, json!({}));
    assert_eq!(rotated.status, 201, "{}", rotated.body);
    let new_secret = rotated.body["mqtt_secret"].as_str().expect("new secret");
    assert!(refused(Some(("m-2", &secret))).is_some(), "the old secret stops working");
    connect_device(&api, "m-2", new_secret);
    assert_eq!(api.post("/api/v1/devices/nobody/credentials", &token, json!({})).status, 404);
    let viewer = api.token("viewer");
    assert_eq!(api.post("/api/v1/devices/m-2/credentials", &viewer, json!({})).status, 403);
}

#[test]
fn bad_messages_become_dead_letters_and_stored_data_stays_intact() {
    let (_dir, api) = Api::start_with(&["--mqtt-max-payload", "2048"]);
    let token = api.admin();
    let secret = register(&api, &token, "m-3");
    let device = connect_device(&api, "m-3", &secret);
    let t0 = now_ms() - 60_000;
    device.publish("optibid/v1/devices/m-3/telemetry", json!({ "ts": t0, "values": { "power_w": 10.0 } }).to_string());
    wait_for("the good sample", || stored_samples(&api, &token, "m-3").len() == 1);

    let telemetry = "optibid/v1/devices/m-3/telemetry";
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (telemetry, b"{\"ts\": 1, \"values\": ".to_vec(), "malformed_json"),
        (telemetry, json!({ "ts": t0 + 1, "values": { "power_w": "high" } }).to_string().into_bytes(), "invalid_field"),
        (telemetry, br#"{"ts": 1, "values": {"power_w": NaN}}"#.to_vec(), "malformed_json"),
        (
            telemetry,
            json!({ "ts": now_ms() + 3_600_000, "values": { "power_w": 1.0 } }).to_string().into_bytes(),
            "future_timestamp",
        ),
        (
            telemetry,
            json!({ "ts": t0 + 2, "values": { "voltage_v": 230.0 } }).to_string().into_bytes(),
            "unknown_metric",
        ),
        (
            telemetry,
            format!("{{\"ts\": {}, \"values\": {{\"power_w\": 1.0}}, \"pad\": \"{}\"}}", t0 + 3, "x".repeat(3000))
                .into_bytes(),
            "payload_too_large",
        ),
        (telemetry, vec![0xff, 0xfe, 0x00], "not_utf8"),
        (telemetry, json!({ "ts": t0, "values": { "power_w": 10.0 } }).to_string().into_bytes(), "duplicate_sample"),
        (
            "optibid/v1/devices/ghost/telemetry",
            json!({ "ts": t0, "values": { "power_w": 1.0 } }).to_string().into_bytes(),
            "unknown_device",
        ),
        (
            "optibid/v1/devices/bad id!/telemetry",
            json!({ "ts": t0, "values": { "power_w": 1.0 } }).to_string().into_bytes(),
            "unknown_topic",
        ),
        ("optibid/v1/devices/m-3/commands/no-such-command/response", br#"{"status": "accepted"}"#.to_vec(), "rejected"),
        ("optibid/v1/devices/m-3/status", br#"{"status": "on fire"}"#.to_vec(), "invalid_field"),
        (
            "optibid/v1/edge/ghost-edge/heartbeat",
            br#"{"cpu_pct": 1, "memory_pct": 1, "inference_rate": 1, "latency_ms": 1}"#.to_vec(),
            "unknown_device",
        ),
    ];
    for (topic, payload, _) in &cases {
        device.publish(topic, payload.clone());
    }
    let letters = api.eventually("/api/v1/dead-letters?limit=100", &token, |page| {
        page["items"].as_array().is_some_and(|items| items.len() == cases.len())
    });
    let items = letters["items"].as_array().expect("items");
    for (topic, payload, reason) in &cases {
        let kept = String::from_utf8_lossy(&payload[..payload.len().min(256)]).into_owned();
        let letter = items
            .iter()
            .find(|l| l["topic"] == *topic && l["first_bytes"] == kept.as_str() && l["payload_len"] == payload.len())
            .unwrap_or_else(|| panic!("no dead letter for {topic} {kept}: {letters}"));
        assert_eq!(letter["reason"], *reason, "{topic}: {letter}");
        assert!(letter["detail"].as_str().is_some_and(|d| !d.is_empty()));
    }
    let only = api.get("/api/v1/dead-letters?reason=unknown_device", &token);
    assert_eq!(only.body["items"].as_array().map(Vec::len), Some(2));
    assert_eq!(api.get("/api/v1/dead-letters?reason=nonsense", &token).status, 400);

    device.publish(telemetry, json!({ "ts": t0 + 5, "values": { "power_w": 20.0 } }).to_string());
    wait_for("the next good sample", || stored_samples(&api, &token, "m-3").len() == 2);
    assert_eq!(stored_samples(&api, &token, "m-3"), vec![(t0, 10.0), (t0 + 5, 20.0)]);
    let metrics = api.call("GET", "/metrics", None, None, &[]).body;
    let metrics = metrics.as_str().expect("text");
    assert!(metrics.contains(r#"optibid_dead_letters_total{reason="unknown_device"} 2"#), "{metrics}");
    assert!(metrics.contains(r#"optibid_dead_letters_total{reason="malformed_json"} 2"#));
    let verify = api.post("/api/v1/audit/verify", &token, json!({}));
    assert_eq!(verify.body["intact"], true, "{}", verify.body);
}

#[test]
fn the_last_will_marks_a_vanished_device_offline() {
    let (_dir, api) = Api::start();
    let token = api.admin();
    let secret = register(&api, &token, "m-4");
    let will = json!({ "status": "offline", "reason": "connection lost" }).to_string();
    let device = TestClient::connect(
        &api.server.mqtt,
        Connect {
            client_id: "m-4",
            login: Some(("m-4", &secret)),
            last_will: Some(("optibid/v1/devices/m-4/status", &will)),
            ..Connect::default()
        },
    )
    .expect("connects");
    device.publish("optibid/v1/devices/m-4/status", r#"{"status": "online"}"#);
    api.eventually("/api/v1/devices/m-4", &token, |d| d["state"]["status"] == "online");
    drop(device);
    api.eventually("/api/v1/devices/m-4", &token, |d| d["state"]["status"] == "offline");
}

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

/// A Mosquitto of our own on a free port, with persistence, that the test can restart.
struct OwnMosquitto {
    program: std::path::PathBuf,
    config: std::path::PathBuf,
    port: u16,
    child: std::process::Child,
}

impl OwnMosquitto {
    fn start(program: std::path::PathBuf, dir: &std::path::Path) -> OwnMosquitto {
        let port = services::free_port();
        let config = dir.join("mosquitto.conf");
        let store = dir.join("mosquitto-store");
        std::fs::create_dir_all(&store).expect("store dir");
        std::fs::write(
            &config,
            format!(
                "listener {port} 127.0.0.1\nallow_anonymous true\nuser root\npersistence true\npersistence_location {}/\n\
                 max_queued_messages 100000\nmax_inflight_messages 100\n",
                store.display()
            ),
        )
        .expect("config written");
        let child = Self::spawn(&program, &config, port);
        OwnMosquitto { program, config, port, child }
    }

    fn spawn(program: &std::path::Path, config: &std::path::Path, port: u16) -> std::process::Child {
        let child = std::process::Command::new(program)
            .arg("-c")
            .arg(config)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("mosquitto starts");
        wait_for("mosquitto to listen", || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
        child
    }

    /// Stops it cleanly (it saves its sessions and queued messages) and starts it again.
    fn restart(&mut self) {
        let pid = self.child.id().to_string();
        std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs");
        self.child.wait().expect("mosquitto exits");
        self.child = Self::spawn(&self.program, &self.config, self.port);
    }
}

impl Drop for OwnMosquitto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
