//! The platform's own MQTT endpoint, as devices see it through a real client (rumqttc): every
//! acknowledged sample is stored once, bad messages become dead letters, presence follows the
//! connection, and a command waits for its device across restarts.

mod common;

use common::http::Api;
use common::mqtt::{Connect, TestClient};
use common::telemetry::{now_ms, register_meter as register, stored_power, stored_values};
use common::wait_for;
use serde_json::{json, Value};

fn connect_device(api: &Api, id: &str, secret: &str) -> TestClient {
    TestClient::connect(&api.server.mqtt, Connect { client_id: id, login: Some((id, secret)), ..Connect::default() })
        .expect("a registered device with its secret connects")
}

#[test]
fn devices_publish_telemetry_and_status_and_answer_commands_over_the_embedded_endpoint() {
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
    wait_for("three stored samples", || stored_power(&api, &token, "m-1").len() == 3);
    assert_eq!(
        stored_power(&api, &token, "m-1"),
        vec![(t0, 1200.5), (t0 + 1_000, 1300.0), (t0 + 2_000, 1400.0)],
        "every acknowledged sample is stored once, in order"
    );
    device.publish(
        "optibid/v1/devices/m-1/telemetry",
        json!({ "ts": t0 + 3_000, "values": { "temp_c": 95.0 } }).to_string(),
    );
    let degraded = api.eventually("/api/v1/devices/m-1", &token, |d| d["state"]["status"] == "degraded");
    let latest = api.eventually("/api/v1/devices/m-1", &token, |d| d["latest"]["temp_c"]["at"] == t0 + 3_000);
    assert_eq!(
        latest["latest"],
        json!({
            "power_w": { "value": 1400.0, "at": t0 + 2_000, "unit": "W", "normal": true },
            "temp_c": { "value": 95.0, "at": t0 + 3_000, "unit": "C", "normal": false }
        }),
        "the device view shows the newest value of each metric; degraded: {degraded}"
    );
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
    let command_path = format!("/api/v1/devices/m-1/commands/{command_id}");
    let delivered = api.eventually(&command_path, &token, |c| c["status"] == "delivered");
    assert_eq!(delivered["name"], "reboot");
    assert_eq!(delivered["params"], json!({ "delay_s": 5 }));
    assert_eq!(delivered["progress_percent"], 0);
    assert_eq!(delivered["pending"], true);
    let response_topic = format!("optibid/v1/devices/m-1/commands/{command_id}/response");
    device.publish(&response_topic, r#"{"status": "accepted"}"#);
    device.publish(&response_topic, r#"{"status": "in_progress", "progress": 50}"#);
    api.eventually(&command_path, &token, |c| c["status"] == "in_progress" && c["progress_percent"] == 50);
    device.publish(&response_topic, r#"{"status": "succeeded", "detail": "rebooted"}"#);
    let done = api.eventually(&command_path, &token, |c| c["status"] == "succeeded");
    assert_eq!((done["progress_percent"].clone(), done["result"].clone()), (json!(100), json!("rebooted")));
    assert_eq!(done["pending"], false);
    assert_eq!(api.get("/api/v1/devices/m-1/commands/no-such-command", &token).status, 404);
    assert_eq!(api.get(&format!("/api/v1/devices/ghost/commands/{command_id}"), &token).status, 404);
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
    let silent_path = format!("/api/v1/devices/m-1/commands/{}", silent.body["command_id"].as_str().expect("id"));
    let timed_out = api.eventually(&silent_path, &token, |c| c["status"] == "timed_out");
    assert_eq!(timed_out["progress_percent"], Value::Null);
    assert!(timed_out["error"].is_string(), "{timed_out}");
}

#[test]
fn bad_messages_become_dead_letters_and_stored_data_stays_intact() {
    let (_dir, api) = Api::start_with(&["--mqtt-max-payload", "2048"]);
    let token = api.admin();
    let secret = register(&api, &token, "m-3");
    let device = connect_device(&api, "m-3", &secret);
    let t0 = now_ms() - 60_000;
    device.publish("optibid/v1/devices/m-3/telemetry", json!({ "ts": t0, "values": { "power_w": 10.0 } }).to_string());
    wait_for("the good sample", || stored_power(&api, &token, "m-3").len() == 1);

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
        (telemetry, json!({ "ts": t0, "values": { "power_w": 11.0 } }).to_string().into_bytes(), "conflicting_sample"),
        ("optibid/v1/devices/m-3/commands/no-such-command/response", br#"{"status": "accepted"}"#.to_vec(), "rejected"),
        ("optibid/v1/devices/m-3/status", br#"{"status": "on fire"}"#.to_vec(), "invalid_field"),
        ("optibid/v1/devices/m-3/firmware", br#"{"version": "2.0"}"#.to_vec(), "unknown_topic"),
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
    let only = api.get("/api/v1/dead-letters?reason=malformed_json", &token);
    assert_eq!(only.body["items"].as_array().map(Vec::len), Some(2));
    assert_eq!(api.get("/api/v1/dead-letters?reason=nonsense", &token).status, 400);
    let firmware = api.get("/api/v1/dead-letters?topic=optibid/v1/devices/m-3/firmware", &token);
    assert_eq!(firmware.body["items"].as_array().map(Vec::len), Some(1), "{}", firmware.body);
    let of_device = api.get("/api/v1/dead-letters?device=m-3&limit=100", &token);
    assert_eq!(of_device.body["items"].as_array().map(Vec::len), Some(cases.len()), "{}", of_device.body);
    let none = api.get("/api/v1/dead-letters?device=m-30", &token);
    assert_eq!(none.body["items"].as_array().map(Vec::len), Some(0), "a prefix is not the device: {}", none.body);
    let first = api.get("/api/v1/dead-letters?limit=2", &token);
    let cursor = first.body["next_cursor"].as_u64().expect("a cursor while there is more");
    let second = api.get(&format!("/api/v1/dead-letters?limit=2&after={cursor}"), &token);
    assert_ne!(first.body["items"][0], second.body["items"][0]);

    device.publish(telemetry, json!({ "ts": t0 + 5, "values": { "power_w": 20.0 } }).to_string());
    wait_for("the next good sample", || stored_power(&api, &token, "m-3").len() == 2);
    assert_eq!(stored_power(&api, &token, "m-3"), vec![(t0, 10.0), (t0 + 5, 20.0)]);
    let metrics = api.call("GET", "/metrics", None, None, &[]).body;
    let metrics = metrics.as_str().expect("text");
    assert!(metrics.contains(r#"optibid_dead_letters_total{reason="malformed_json"} 2"#), "{metrics}");
    assert!(metrics.contains(r#"optibid_dead_letters_total{reason="conflicting_sample"} 1"#), "{metrics}");
    let verify = api.post("/api/v1/audit/verify", &token, json!({}));
    assert_eq!(verify.body["intact"], true, "{}", verify.body);
}

#[test]
fn every_distinct_sample_is_kept_and_a_redelivered_one_is_stored_once() {
    let (_dir, api) = Api::start();
    let token = api.admin();
    let secret = register(&api, &token, "m-7");
    let device = connect_device(&api, "m-7", &secret);
    let topic = "optibid/v1/devices/m-7/telemetry";
    let ts = now_ms() - 30_000;
    device.publish(topic, json!({ "ts": ts, "values": { "power_w": 100.0 } }).to_string());
    device.publish(topic, json!({ "ts": ts, "values": { "temp_c": 20.0 } }).to_string());
    device.publish(
        topic,
        json!([{ "ts": ts + 1, "values": { "power_w": 101.0 } }, { "ts": ts + 1, "values": { "temp_c": 21.0 } }])
            .to_string(),
    );
    device.publish(topic, json!({ "ts": ts, "values": { "power_w": 100.0 } }).to_string());
    device.publish(topic, json!({ "ts": ts + 1, "values": { "temp_c": 99.0 } }).to_string());
    device.publish(topic, json!({ "ts": ts + 2, "values": { "power_w": 102.0 } }).to_string());
    wait_for("the last sample", || stored_values(&api, &token, "m-7").len() == 5);
    let mut stored = stored_values(&api, &token, "m-7");
    stored.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    let expected: Vec<(i64, String, f64)> = [
        (ts, "power_w", 100.0),
        (ts, "temp_c", 20.0),
        (ts + 1, "power_w", 101.0),
        (ts + 1, "temp_c", 21.0),
        (ts + 2, "power_w", 102.0),
    ]
    .into_iter()
    .map(|(ts, metric, value)| (ts, metric.to_owned(), value))
    .collect();
    assert_eq!(stored, expected, "one timestamp with two metrics is two samples; a resend is stored once");
    let letters = api.get("/api/v1/dead-letters?limit=100", &token);
    let items = letters.body["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "only the conflicting value is a dead letter: {}", letters.body);
    assert_eq!(items[0]["reason"], "conflicting_sample");
}

#[test]
fn presence_follows_the_connection_with_or_without_a_last_will() {
    let (_dir, api) = Api::start();
    let token = api.admin();
    let with_will = register(&api, &token, "m-4");
    let will = json!({ "status": "offline", "reason": "connection lost" }).to_string();
    let device = TestClient::connect(
        &api.server.mqtt,
        Connect {
            client_id: "m-4",
            login: Some(("m-4", &with_will)),
            last_will: Some(("optibid/v1/devices/m-4/status", &will)),
            ..Connect::default()
        },
    )
    .expect("connects");
    api.eventually("/api/v1/devices/m-4", &token, |d| d["state"]["status"] == "online");
    drop(device);
    api.eventually("/api/v1/devices/m-4", &token, |d| d["state"]["status"] == "offline");

    let without_will = register(&api, &token, "m-6");
    let device = connect_device(&api, "m-6", &without_will);
    api.eventually("/api/v1/devices/m-6", &token, |d| d["state"]["status"] == "online");
    drop(device);
    api.eventually("/api/v1/devices/m-6", &token, |d| d["state"]["status"] == "offline");

    let device = connect_device(&api, "m-6", &without_will);
    api.eventually("/api/v1/devices/m-6", &token, |d| d["state"]["status"] == "online");
    device.client.disconnect().expect("queued");
    device.wait_closed();
    api.eventually("/api/v1/devices/m-6", &token, |d| d["state"]["status"] == "offline");
}

#[test]
fn a_command_waits_for_its_device_across_a_restart_and_is_delivered_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let api = Api::over(common::Server::start(&data, &[]));
    let token = api.admin();
    let secret = register(&api, &token, "m-8");
    let sent = api.post("/api/v1/devices/m-8/commands", &token, json!({ "name": "reboot", "params": { "n": 1 } }));
    assert_eq!(sent.status, 202, "{}", sent.body);
    let first = sent.body["command_id"].as_str().expect("command id").to_owned();
    assert!(api.server.terminate().success(), "a clean stop");

    let api = Api::over(common::Server::start(&data, &[]));
    let device = connect_device(&api, "m-8", &secret);
    device.subscribe("optibid/v1/devices/m-8/commands");
    let received: Value = serde_json::from_slice(&device.receive().payload).expect("JSON command");
    assert_eq!(received["command_id"], first.as_str());
    api.eventually("/api/v1/devices/m-8/events?limit=100", &token, |page| {
        page["events"]
            .as_array()
            .is_some_and(|items| items.iter().any(|e| e["event_type"] == "device.command_delivered"))
    });
    drop(device);
    assert!(api.server.terminate().success(), "a clean stop");

    let api = Api::over(common::Server::start(&data, &[]));
    let device = connect_device(&api, "m-8", &secret);
    device.subscribe("optibid/v1/devices/m-8/commands");
    let sent = api.post("/api/v1/devices/m-8/commands", &token, json!({ "name": "ping", "params": {} }));
    let second = sent.body["command_id"].as_str().expect("command id").to_owned();
    let received: Value = serde_json::from_slice(&device.receive().payload).expect("JSON command");
    assert_eq!(received["command_id"], second.as_str(), "the delivered command is not sent again");
}
