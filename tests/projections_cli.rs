//! `optibid projections status | rebuild` and `GET /api/v1/projections` on a real data folder.

mod common;

use common::http::Api;
use common::{optibid, stderr, stdout, Server};
use serde_json::json;

fn device(id: &str, region: &str) -> serde_json::Value {
    json!({
        "id": id, "name": format!("Meter {id}"), "kind": "smart_meter", "protocol": "mqtt",
        "site": "plant-1", "region": region, "tags": ["north"], "firmware_version": "1.0.0",
        "metrics": [{ "name": "power_w", "unit": "W", "normal_min": 0.0, "normal_max": 5000.0 }]
    })
}

#[test]
fn projections_report_their_lag_and_a_rebuild_gives_the_same_model() {
    let (dir, api) = Api::start();
    let data = dir.path().join("data");
    let token = api.admin();
    for n in 0..12 {
        let region = if n % 3 == 0 { "eu" } else { "us" };
        let created = api.post("/api/v1/devices", &token, device(&format!("m-{n}"), region));
        assert_eq!(created.status, 201, "{}", created.body);
    }
    let statuses = api.eventually("/api/v1/projections", &token, |list| {
        list.as_array().is_some_and(|l| l.len() == 8 && l.iter().all(|p| p["lag_events"] == 0))
    });
    let head = statuses[0]["head"].as_u64().expect("head");
    assert!(head >= 12, "{statuses}");
    assert!(statuses.as_array().expect("list").iter().all(|p| p["position"] == head && p["failure"].is_null()));
    let metrics = api.get("/metrics", &token).body.as_str().unwrap_or_default().to_owned();
    assert!(metrics.contains("optibid_projection_lag_events{projection=\"device_directory\"} 0"), "{metrics}");
    let before = api.get("/api/v1/devices?region=eu&limit=100", &token).body;
    let Api { server, .. } = api;
    assert!(server.terminate().success());

    let data_arg = data.to_string_lossy().into_owned();
    let status = optibid(&["projections", "status", "--data", &data_arg]);
    assert!(status.status.success(), "{}", stderr(&status));
    let line = stdout(&status).lines().find(|l| l.starts_with("device_directory")).map(str::to_owned);
    let fields: Vec<String> = line.expect("a device_directory line").split_whitespace().map(str::to_owned).collect();
    assert_eq!(fields[1], head.to_string(), "position");
    assert_eq!(fields[3], "0", "lag");

    let unknown = optibid(&["projections", "rebuild", "nope", "--data", &data_arg]);
    assert!(!unknown.status.success());
    assert!(stderr(&unknown).contains("device_directory"), "names the known projections: {}", stderr(&unknown));

    let rebuilt = optibid(&["projections", "rebuild", "device_directory", "--data", &data_arg]);
    assert!(rebuilt.status.success(), "{}", stderr(&rebuilt));
    assert!(stdout(&rebuilt).contains(&format!("rebuilt from 0 to position {head}")), "{}", stdout(&rebuilt));
    let all = optibid(&["projections", "rebuild", "--data", &data_arg]);
    assert!(all.status.success(), "{}", stderr(&all));
    assert_eq!(stdout(&all).lines().filter(|l| l.contains("rebuilt from 0")).count(), 8);

    let api = Api::over(Server::start(&data, &[]));
    let after = api.eventually("/api/v1/projections", &token, |list| list[0]["position"] == head);
    assert!(after[0]["failure"].is_null());
    assert_eq!(api.get("/api/v1/devices?region=eu&limit=100", &token).body, before);
}
