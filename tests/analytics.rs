//! Telemetry roll-ups over real MQTT and HTTP: samples published by a device come back as
//! buckets equal to a naive computation.

mod common;

use common::device::register_and_connect;
use common::http::Api;
use common::mqtt::{Connect, TestClient};
use serde_json::{json, Value};
use std::collections::BTreeMap;

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).expect("valid").to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[test]
fn published_samples_roll_up_into_minute_and_hour_buckets() {
    let (_dir, api) = Api::start();
    let token = api.admin();
    let device = register_and_connect(
        &api,
        &token,
        json!({
            "id": "meter-a", "name": "Meter A", "kind": "smart_meter", "protocol": "mqtt",
            "site": "plant-1", "region": "eu", "tags": [], "firmware_version": "1.0.0",
            "metrics": [{ "name": "power_w", "unit": "W", "normal_min": 0.0, "normal_max": 50000.0 }]
        }),
    );

    let now = chrono::Utc::now().timestamp_millis();
    let start = (now - 3 * 3_600_000) / 3_600_000 * 3_600_000;
    let samples: Vec<(i64, f64)> =
        (0..240).map(|i| (start + i * 37_000 + (i * i) % 5_000, ((i * 7919) % 1000) as f64 / 4.0)).collect();
    for chunk in samples.chunks(16) {
        let payload: Vec<Value> = chunk.iter().map(|(ts, v)| json!({ "ts": ts, "values": { "power_w": v } })).collect();
        device.publish("optibid/v1/devices/meter-a/telemetry", serde_json::to_vec(&payload).expect("json"));
    }

    for (resolution, width) in [("1m", 60_000i64), ("1h", 3_600_000)] {
        let mut naive: BTreeMap<i64, Vec<(i64, f64)>> = BTreeMap::new();
        for (ts, v) in &samples {
            naive.entry(ts.div_euclid(width) * width).or_default().push((*ts, *v));
        }
        let path = format!(
            "/api/v1/analytics/devices/meter-a/telemetry?metric=power_w&resolution={resolution}&from={}&to={}",
            rfc3339(start - 60_000).replace('+', "%2B"),
            rfc3339(now).replace('+', "%2B"),
        );
        let series = api.eventually(&path, &token, |s| {
            s["points"]
                .as_array()
                .is_some_and(|p| p.iter().map(|b| b["count"].as_u64().unwrap_or(0)).sum::<u64>() == 240)
        });
        let points = series["points"].as_array().expect("points");
        assert_eq!(points.len(), naive.len(), "{resolution}");
        for (point, (bucket_start, values)) in points.iter().zip(&naive) {
            assert_eq!(point["start"], rfc3339(*bucket_start));
            assert_eq!(point["count"], values.len());
            let min = values.iter().map(|v| v.1).fold(f64::INFINITY, f64::min);
            let max = values.iter().map(|v| v.1).fold(f64::NEG_INFINITY, f64::max);
            let mean = values.iter().map(|v| v.1).sum::<f64>() / values.len() as f64;
            let last = values.iter().max_by_key(|v| v.0).expect("non-empty").1;
            assert_eq!(point["min"].as_f64(), Some(min));
            assert_eq!(point["max"].as_f64(), Some(max));
            assert!((point["mean"].as_f64().expect("mean") - mean).abs() < 1e-9);
            assert_eq!(point["last"].as_f64(), Some(last));
        }
    }

    let unknown = api.get("/api/v1/analytics/devices/nobody/telemetry?metric=power_w", &token);
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    let bad_time = api.get("/api/v1/analytics/devices/meter-a/telemetry?metric=power_w&from=yesterday", &token);
    assert_eq!(bad_time.status, 400, "{}", bad_time.body);
    assert_eq!(bad_time.body["error"]["code"], "bad_request", "{}", bad_time.body);
    let empty = api.get("/api/v1/analytics/devices/meter-a/telemetry?metric=temp_c", &token);
    assert_eq!(empty.status, 200);
    assert_eq!(empty.body["points"], json!([]));
}

fn device(id: &str, kind: &str, region: &str) -> Value {
    json!({
        "id": id, "name": id, "kind": kind, "protocol": "mqtt", "site": "plant-1", "region": region,
        "tags": [], "firmware_version": "1.0.0",
        "metrics": [{ "name": "power_w", "unit": "W", "normal_min": -100000.0, "normal_max": 100000.0 }]
    })
}

fn register(api: &Api, token: &str, id: &str, kind: &str, region: &str) -> TestClient {
    register_and_connect(api, token, device(id, kind, region))
}

#[test]
fn fleet_and_edge_figures_add_up_what_devices_report() {
    let (_dir, api) = Api::start();
    let token = api.admin();
    let solar = register(&api, &token, "pv-1", "solar_inverter", "eu");
    let meter = register(&api, &token, "meter-1", "smart_meter", "us");
    let never_connected = api.post("/api/v1/devices", &token, device("pv-2", "solar_inverter", "eu"));
    assert_eq!(never_connected.status, 201, "{}", never_connected.body);
    let t0 = chrono::Utc::now().timestamp_millis() - 3_600_000;
    let minutes = |watts: f64| -> Vec<u8> {
        let samples: Vec<Value> =
            (0..=10).map(|m| json!({ "ts": t0 + m * 60_000, "values": { "power_w": watts } })).collect();
        serde_json::to_vec(&samples).expect("json")
    };
    solar.publish("optibid/v1/devices/pv-1/telemetry", minutes(3_600.0));
    meter.publish("optibid/v1/devices/meter-1/telemetry", minutes(1_800.0));
    solar.publish("optibid/v1/devices/pv-1/status", br#"{"status": "online"}"#.to_vec());
    meter.publish("optibid/v1/devices/meter-1/status", br#"{"status": "online"}"#.to_vec());

    let fleet = api.eventually("/api/v1/analytics/fleet", &token, |f| {
        f["total"]["data_points"] == 22 && f["total"]["online"] == 2
    });
    let total = &fleet["total"];
    assert_eq!(total["devices"], 3);
    assert!((total["online_rate"].as_f64().expect("rate") - 2.0 / 3.0).abs() < 1e-9, "{fleet}");
    assert!((total["energy_produced_kwh"].as_f64().expect("kWh") - 0.6).abs() < 1e-9, "3.6 kW for 10 min: {fleet}");
    assert!((total["energy_consumed_kwh"].as_f64().expect("kWh") - 0.3).abs() < 1e-9, "1.8 kW for 10 min: {fleet}");
    assert_eq!(fleet["by_region"]["eu"]["devices"], 2);
    assert_eq!(fleet["by_region"]["us"]["energy_produced_kwh"], 0.0);
    assert_eq!(fleet["by_kind"]["smart_meter"]["data_points"], 11);
    let uptime = total["average_uptime"].as_f64().expect("uptime");
    assert!(uptime > 0.0 && uptime < 1.0, "two of three online (connected) since a moment ago: {fleet}");

    let node = json!({
        "id": "edge-1", "name": "Gateway 1", "kind": "gateway", "site": "plant-1", "region": "eu",
        "hardware": { "cores": 4, "memory_mb": 8192, "gpu": null, "network": "ethernet" }
    });
    let created = api.post("/api/v1/edge-nodes", &token, node);
    assert_eq!(created.status, 201, "{}", created.body);
    let secret = created.body["mqtt_secret"].as_str().expect("secret").to_owned();
    let login = "edge:edge-1";
    let edge = TestClient::connect(
        &api.server.mqtt,
        Connect { client_id: login, login: Some((login, &secret)), ..Connect::default() },
    )
    .expect("the edge node connects");
    edge.publish(
        "optibid/v1/edge/edge-1/heartbeat",
        br#"{"cpu_pct": 40, "memory_pct": 60, "inference_rate": 120.5, "latency_ms": 8}"#.to_vec(),
    );
    let figures = api.eventually("/api/v1/analytics/edge", &token, |e| e["total"]["reporting"] == 1);
    assert_eq!(figures["total"]["nodes"], 1);
    assert_eq!(figures["total"]["inference_rate"], 120.5);
    assert_eq!(figures["total"]["average_cpu_pct"], 40.0);
    assert_eq!(figures["by_region"]["eu"]["average_latency_ms"], 8.0);
}

#[test]
fn a_warming_device_leads_the_maintenance_predictions() {
    let (_dir, api) = Api::start();
    let token = api.admin();
    let warming = register(&api, &token, "inv-hot", "solar_inverter", "eu");
    let steady = register(&api, &token, "inv-cool", "solar_inverter", "eu");
    let start = chrono::Utc::now().timestamp_millis() - 48 * 3_600_000;
    for (client, id, slope) in [(&warming, "inv-hot", 0.5), (&steady, "inv-cool", 0.0)] {
        for chunk in (0..48 * 60).collect::<Vec<i64>>().chunks(240) {
            let samples: Vec<Value> = chunk
                .iter()
                .map(|minute| {
                    let power = 10_000.0 + slope * 2_000.0 * (*minute as f64 / 60.0) + ((minute * 7919) % 13) as f64;
                    json!({ "ts": start + minute * 60_000, "values": { "power_w": power } })
                })
                .collect();
            client.publish(&format!("optibid/v1/devices/{id}/telemetry"), serde_json::to_vec(&samples).expect("json"));
        }
    }
    let page = api.eventually("/api/v1/maintenance/predictions", &token, |page| {
        page["items"].as_array().is_some_and(|items| {
            items.len() == 2
                && items[0]["device_id"] == "inv-hot"
                && items[0]["trends"]["power_w"][0].as_f64().is_some_and(|level| level > 57_000.0)
        })
    });
    let hot = &page["items"][0];
    assert_eq!(hot["limiting_metric"], "power_w");
    let hours = hot["remaining_hours"].as_f64().expect("heading for its limit");
    let expected = (100_000.0 - (10_000.0 + 1_000.0 * 48.0)) / 1_000.0;
    assert!((hours - expected).abs() < 5.0, "about {expected} h to 100 kW: {hot}");
    assert!(hot["risk_7d"].as_f64().expect("risk") > 0.5, "{hot}");
    assert!(hot["suggested_maintenance_at"].is_i64(), "{hot}");
    assert_eq!(page["items"][1]["remaining_hours"], Value::Null, "the steady one is not heading out: {page}");
    let risky = api.get("/api/v1/maintenance/predictions?min_risk=0.5", &token);
    assert_eq!(risky.body["items"].as_array().map(Vec::len), Some(1), "{}", risky.body);
}
