//! What the log holds of a device's telemetry, read back over HTTP.

use super::http::Api;
use serde_json::{json, Value};

/// A smart meter with two declared metrics (`power_w`, `temp_c`), registered over MQTT.
pub fn meter(id: &str) -> Value {
    json!({
        "id": id, "name": format!("Meter {id}"), "kind": "smart_meter", "protocol": "mqtt",
        "site": "plant-1", "region": "eu", "tags": [], "firmware_version": "1.0.0",
        "metrics": [
            { "name": "power_w", "unit": "W", "normal_min": 0.0, "normal_max": 5000.0 },
            { "name": "temp_c", "unit": "C", "normal_min": -20.0, "normal_max": 80.0 }
        ]
    })
}

/// Registers a meter `id` and returns its MQTT secret.
pub fn register_meter(api: &Api, token: &str, id: &str) -> String {
    let created = api.post("/api/v1/devices", token, meter(id));
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["mqtt_login"], id);
    created.body["mqtt_secret"].as_str().expect("a secret with the registration").to_owned()
}

/// One stored metric value: timestamp, metric, value.
pub type StoredValue = (i64, String, f64);

/// Every stored telemetry value of `device`, in log order.
pub fn stored_values(api: &Api, token: &str, device: &str) -> Vec<StoredValue> {
    let stream = format!("telemetry/{device}");
    let mut values = Vec::new();
    let mut from = 1;
    loop {
        let page = api.get(&format!("/api/v1/events?from={from}&limit=200"), token);
        assert_eq!(page.status, 200, "{}", page.body);
        let events = page.body["events"].as_array().expect("events").clone();
        for event in events.iter().filter(|event| event["stream"] == stream.as_str()) {
            for sample in event["data"]["recorded"]["samples"].as_array().expect("samples") {
                let ts = sample["ts"].as_i64().expect("ts");
                for value in sample["values"].as_array().expect("values") {
                    let metric = value["metric"].as_str().expect("metric").to_owned();
                    values.push((ts, metric, value["value"].as_f64().unwrap_or(f64::NAN)));
                }
            }
        }
        match events.last() {
            Some(last) if events.len() == 200 => from = last["position"].as_u64().expect("position") + 1,
            _ => return values,
        }
    }
}

/// The stored `power_w` samples of `device` as (ts, value).
pub fn stored_power(api: &Api, token: &str, device: &str) -> Vec<(i64, f64)> {
    stored_values(api, token, device)
        .into_iter()
        .filter(|(_, metric, _)| metric == "power_w")
        .map(|(ts, _, value)| (ts, value))
        .collect()
}

/// Milliseconds since the epoch, now.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
