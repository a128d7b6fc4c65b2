//! Alerts over real MQTT and HTTP: a reading outside its declared range raises an alert, an
//! operator acknowledges and resolves it, and each step is an event on the device's stream.

mod common;

use common::device::register_and_connect;
use common::http::Api;
use serde_json::json;

#[test]
fn an_out_of_range_reading_raises_an_alert_that_users_acknowledge_and_resolve() {
    let (_dir, api) = Api::start();
    let admin = api.admin();
    let device = register_and_connect(
        &api,
        &admin,
        json!({
            "id": "inv-9", "name": "Inverter 9", "kind": "solar_inverter", "protocol": "mqtt",
            "site": "plant-1", "region": "eu", "tags": [], "firmware_version": "1.0.0",
            "metrics": [{ "name": "temp_c", "unit": "C", "normal_min": -20.0, "normal_max": 75.0 }]
        }),
    );
    let now = chrono::Utc::now().timestamp_millis();
    device
        .publish("optibid/v1/devices/inv-9/telemetry", json!({ "ts": now, "values": { "temp_c": 91.5 } }).to_string());

    let page = api.eventually("/api/v1/alerts", &admin, |page| page["total"] == 1);
    let alert = &page["items"][0];
    assert_eq!(alert["device_id"], "inv-9");
    assert_eq!(alert["state"], "active");
    assert_eq!(alert["severity"], "warning");
    assert_eq!(alert["metric"], "temp_c");
    assert!(alert["message"].as_str().is_some_and(|m| m.contains("91.5")), "{alert}");
    let alert_id = alert["alert_id"].as_str().expect("id").to_owned();
    assert_eq!(api.get("/api/v1/alerts?severity=critical", &admin).body["total"], 0);
    assert_eq!(api.get("/api/v1/alerts?kind=solar_inverter&region=eu", &admin).body["total"], 1, "its kind and region");
    assert_eq!(api.get("/api/v1/alerts?kind=wind_turbine", &admin).body["total"], 0, "another kind");
    assert_eq!(api.get("/api/v1/alerts?region=us-east", &admin).body["total"], 0, "another region");
    assert_eq!(api.get("/api/v1/alerts?kind=toaster", &admin).status, 400, "an unknown kind");

    let viewer = api.token("viewer");
    let refused = api.post(&format!("/api/v1/alerts/inv-9/{alert_id}/acknowledge"), &viewer, json!({}));
    assert_eq!(refused.status, 403, "{}", refused.body);
    let operator = api.token("operator");
    let acknowledged = api.post(&format!("/api/v1/alerts/inv-9/{alert_id}/acknowledge"), &operator, json!({}));
    assert_eq!(acknowledged.status, 200, "{}", acknowledged.body);
    let again = api.post(&format!("/api/v1/alerts/inv-9/{alert_id}/acknowledge"), &operator, json!({}));
    assert_eq!(again.status, 409, "{}", again.body);
    let page = api.eventually("/api/v1/alerts?state=acknowledged", &admin, |page| page["total"] == 1);
    assert!(page["items"][0]["acknowledged_by"].is_string(), "{page}");
    let acknowledged_at = page["items"][0]["acknowledged_at"].as_i64().expect("when it was acknowledged");
    assert!(acknowledged_at >= now, "{page}");

    let resolved = api.post(&format!("/api/v1/alerts/inv-9/{alert_id}/resolve"), &operator, json!({}));
    assert_eq!(resolved.status, 200, "{}", resolved.body);
    api.eventually("/api/v1/alerts?state=resolved", &admin, |page| page["total"] == 1);
    assert_eq!(api.get("/api/v1/alerts", &admin).body["total"], 0, "nothing open");
    let missing = api.post("/api/v1/alerts/inv-9/no-such-alert/resolve", &operator, json!({}));
    assert_eq!(missing.status, 404, "an unknown alert is not found: {}", missing.body);

    let history = api.get("/api/v1/devices/inv-9/events?limit=100", &admin);
    let types: Vec<String> = history.body["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["event_type"].as_str().map(str::to_owned))
        .filter(|t| t.starts_with("device.alert"))
        .collect();
    assert_eq!(
        types,
        ["device.alert_raised", "device.alert_acknowledged", "device.alert_resolved"],
        "{}",
        history.body
    );

    device.publish(
        "optibid/v1/devices/inv-9/telemetry",
        json!({ "ts": now + 1_000, "values": { "temp_c": 200.0 } }).to_string(),
    );
    let page = api.eventually("/api/v1/alerts", &admin, |page| page["total"] == 1);
    assert_eq!(page["items"][0]["severity"], "critical");
    device.publish(
        "optibid/v1/devices/inv-9/telemetry",
        json!({ "ts": now + 2_000, "values": { "temp_c": 40.0 } }).to_string(),
    );
    api.eventually("/api/v1/alerts", &admin, |page| page["total"] == 0);
}

#[test]
fn configured_rules_per_kind_raise_and_clear_alerts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("optibid.toml");
    std::fs::write(
        &config,
        "[[alert_rules]]\nname = \"meter-peak\"\nkind = \"smart_meter\"\nmetric = \"power_w\"\nabove = 4000.0\nseverity = \"warning\"\n\n\
         [[alert_rules]]\nname = \"wind-only\"\nkind = \"wind_turbine\"\nmetric = \"power_w\"\nabove = 1.0\nseverity = \"critical\"\n",
    )
    .expect("config written");
    let (_data, api) = Api::start_with(&["--config", &config.to_string_lossy()]);
    let admin = api.admin();
    let device = register_and_connect(
        &api,
        &admin,
        json!({
            "id": "meter-7", "name": "Meter 7", "kind": "smart_meter", "protocol": "mqtt",
            "site": "plant-1", "region": "eu", "tags": [], "firmware_version": "1.0.0",
            "metrics": [{ "name": "power_w", "unit": "W", "normal_min": 0.0, "normal_max": 50000.0 }]
        }),
    );
    let now = chrono::Utc::now().timestamp_millis();
    device.publish(
        "optibid/v1/devices/meter-7/telemetry",
        json!({ "ts": now, "values": { "power_w": 4500.0 } }).to_string(),
    );
    let page = api.eventually("/api/v1/alerts", &admin, |page| page["total"] == 1);
    let alert = &page["items"][0];
    assert!(alert["alert_id"].as_str().is_some_and(|id| id.starts_with("rule-meter-peak-")), "{alert}");
    assert_eq!(alert["severity"], "warning", "the wind rule does not apply to a meter: {page}");
    assert_eq!(
        api.get("/api/v1/devices/meter-7", &admin).body["state"]["status"],
        "online",
        "inside its declared range"
    );
    device.publish(
        "optibid/v1/devices/meter-7/telemetry",
        json!({ "ts": now + 1_000, "values": { "power_w": 900.0 } }).to_string(),
    );
    api.eventually("/api/v1/alerts?state=resolved", &admin, |page| page["total"] == 1);
    assert_eq!(api.get("/api/v1/alerts", &admin).body["total"], 0);
}

/// One minute's temperature sample at `minute` after `start`.
fn minute_sample(start: i64, minute: i64, value: f64) -> serde_json::Value {
    json!({ "ts": start + minute * 60_000, "values": { "temp_c": value } })
}

/// A small, irregular wobble, so the series has a spread.
fn wobble(minute: i64) -> f64 {
    ((minute * 7_919) % 13) as f64 * 0.15
}

fn temperature_device(id: &str) -> serde_json::Value {
    json!({
        "id": id, "name": id, "kind": "solar_inverter", "protocol": "mqtt",
        "site": "plant-1", "region": "eu", "tags": [], "firmware_version": "1.0.0",
        "metrics": [{ "name": "temp_c", "unit": "C", "normal_min": -20.0, "normal_max": 75.0 }]
    })
}

#[test]
fn an_anomaly_raises_an_alert_that_clears_once_the_metric_is_quiet() {
    let (_dir, api) = Api::start();
    let admin = api.admin();
    let device = register_and_connect(&api, &admin, temperature_device("inv-spike"));
    let topic = "optibid/v1/devices/inv-spike/telemetry";
    let start = (chrono::Utc::now().timestamp_millis() / 60_000 - 180) * 60_000;
    let mut history: Vec<_> = (0..90).map(|m| minute_sample(start, m, 40.0 + wobble(m))).collect();
    history.push(minute_sample(start, 90, 62.0));
    history.push(minute_sample(start, 91, 40.0 + wobble(91)));
    device.publish(topic, serde_json::Value::Array(history).to_string());

    let page = api.eventually("/api/v1/alerts?device=inv-spike", &admin, |page| page["total"] == 1);
    let alert = &page["items"][0];
    assert_eq!(alert["raised_at"], start + 91 * 60_000, "at the time of the telemetry that showed it");
    assert!(alert["alert_id"].as_str().is_some_and(|id| id.starts_with("anomaly-0-")), "{alert}");
    assert_eq!(alert["metric"], "temp_c");
    assert_eq!(alert["severity"], "warning");
    let message = alert["message"].as_str().expect("message");
    assert!(message.starts_with("temp_c spike: 62 against a baseline of 4"), "{message}");
    assert_eq!(
        api.get("/api/v1/alerts?device=inv-spike&state=resolved", &admin).body["total"],
        0,
        "the alert stays open while the spike is recent"
    );

    let quiet: Vec<_> = (92..110).map(|m| minute_sample(start, m, 40.0 + wobble(m))).collect();
    device.publish(topic, serde_json::Value::Array(quiet).to_string());
    api.eventually("/api/v1/alerts?device=inv-spike&state=resolved", &admin, |page| page["total"] == 1);
    assert_eq!(api.get("/api/v1/alerts?device=inv-spike", &admin).body["total"], 0);
    let history = api.get("/api/v1/devices/inv-spike/events?limit=100", &admin);
    let raised: Vec<&serde_json::Value> = history.body["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["event_type"] == "device.alert_raised")
        .collect();
    assert_eq!(raised.len(), 1, "raised once, on the device's stream: {}", history.body);
}

#[test]
fn a_metric_heading_out_of_its_range_raises_a_maintenance_alert() {
    let (_dir, api) = Api::start();
    let admin = api.admin();
    let device = register_and_connect(&api, &admin, temperature_device("inv-wear"));
    let topic = "optibid/v1/devices/inv-wear/telemetry";
    let hours = 30;
    let start = (chrono::Utc::now().timestamp_millis() / 60_000 - hours * 60 - 5) * 60_000;
    let warming = |m: i64| 30.0 + 0.5 * (m as f64 / 60.0) + wobble(m);
    let minutes: Vec<i64> = (0..hours * 60).collect();
    for chunk in minutes.chunks(450) {
        let samples: Vec<_> = chunk.iter().map(|m| minute_sample(start, *m, warming(*m))).collect();
        device.publish(topic, serde_json::Value::Array(samples).to_string());
    }

    let page = api.eventually("/api/v1/alerts?device=inv-wear", &admin, |page| {
        page["items"].as_array().is_some_and(|items| {
            items.iter().any(|a| a["alert_id"].as_str().is_some_and(|id| id.starts_with("maintenance-0-")))
        })
    });
    let alert = page["items"]
        .as_array()
        .and_then(|items| {
            items.iter().find(|a| a["alert_id"].as_str().is_some_and(|id| id.starts_with("maintenance-")))
        })
        .expect("maintenance alert");
    assert_eq!(alert["severity"], "warning", "the crossing is about 60 h away: {alert}");
    let message = alert["message"].as_str().expect("message");
    assert!(message.contains("maintenance is due"), "{message}");
    let predicted: f64 = message
        .split(" in ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|h| h.parse().ok())
        .expect("hours in the message");
    let raised_hour = (alert["raised_at"].as_i64().expect("raised_at") - start) as f64 / 3_600_000.0;
    assert!(
        (raised_hour + predicted - 90.0).abs() < 12.0,
        "the series reaches 75 C at hour (75 - 30) / 0.5 = 90; raised at hour {raised_hour:.1}, {predicted} h ahead"
    );

    let predictions = api.get("/api/v1/maintenance/predictions", &admin);
    let first = &predictions.body["items"][0];
    assert_eq!(first["device_id"], "inv-wear", "{}", predictions.body);
    assert_eq!(first["limiting_metric"], "temp_c");
}
