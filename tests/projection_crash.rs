//! Exactly-once projections under kill -9: a server killed while its read models catch up on a
//! telemetry-heavy log resumes from their checkpoints, and the models then equal a rebuild from
//! position 0.

mod common;

use common::http::Api;
use common::{optibid, stderr, wait_for, Server};
use serde_json::Value;
use std::time::{Duration, Instant};

/// What the read models answer, minus figures that depend on the wall clock.
fn snapshot(api: &Api, token: &str) -> Vec<Value> {
    let mut answers = Vec::new();
    let mut fleet = api.get("/api/v1/analytics/fleet", token).body;
    if let Some(fleet) = fleet.as_object_mut() {
        fleet.remove("by_kind");
        if let Some(total) = fleet.get_mut("total").and_then(Value::as_object_mut) {
            total.remove("average_uptime");
        }
        for figures in
            fleet.get_mut("by_region").and_then(Value::as_object_mut).into_iter().flat_map(|m| m.values_mut())
        {
            figures.as_object_mut().map(|f| f.remove("average_uptime"));
        }
    }
    answers.push(fleet);
    answers.push(api.get("/api/v1/devices?limit=1000", token).body);
    answers.push(api.get("/api/v1/maintenance/predictions?limit=1000", token).body);
    for device in ["bench-000000", "bench-000042", "bench-000049"] {
        for resolution in ["1m", "1h", "1d"] {
            let path = format!(
                "/api/v1/analytics/devices/{device}/telemetry?metric=power_w&resolution={resolution}&from=2025-11-01T00:00:00Z&to=2025-12-31T00:00:00Z"
            );
            answers.push(api.get(&path, token).body);
        }
    }
    answers
}

/// Waits until every read model has caught up and the log's head has not moved for half a
/// second: the condition monitor appends alerts once the maintenance model has caught up.
fn settle(what: &str, api: &Api, token: &str) {
    let mut head = None;
    let mut unchanged_since = Instant::now();
    wait_for(what, || {
        let reply = api.get("/api/v1/projections", token);
        let Some(all) = reply.body.as_array().filter(|_| reply.status == 200) else { return false };
        let now_head = all.first().and_then(|p| p["head"].as_u64());
        if now_head != head {
            head = now_head;
            unchanged_since = Instant::now();
            return false;
        }
        all.iter().all(|p| p["lag_events"] == 0) && unchanged_since.elapsed() >= Duration::from_millis(500)
    });
}

#[test]
fn projections_killed_mid_catch_up_resume_exactly_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let data_arg = data.to_string_lossy().into_owned();
    let filled = optibid(&[
        "bench",
        "fill-telemetry",
        "--data",
        &data_arg,
        "--devices",
        "50",
        "--batches",
        "80",
        "--samples",
        "30",
    ]);
    assert!(filled.status.success(), "{}", stderr(&filled));

    let api = Api::over(Server::start(&data, &[]));
    let token = api.admin();
    let mut killed_mid_way = false;
    for _ in 0..2_000 {
        let reply = api.get("/api/v1/projections", &token);
        let rollups =
            reply.body.as_array().and_then(|all| all.iter().find(|p| p["name"] == "telemetry_rollups")).cloned();
        if let Some(rollups) = rollups {
            let (position, head) = (rollups["position"].as_u64().unwrap_or(0), rollups["head"].as_u64().unwrap_or(0));
            if position > 0 && position < head {
                killed_mid_way = true;
                break;
            }
            if position == head && head > 0 {
                break;
            }
        }
        // Polls the checkpoint finely, to kill the server while it is mid-way.
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(api);
    assert!(killed_mid_way, "the server was killed while the roll-ups were catching up");

    let api = Api::over(Server::start(&data, &[]));
    settle("the read models to catch up after the crash", &api, &token);
    let resumed = snapshot(&api, &token);
    let Api { server, .. } = api;
    assert!(server.terminate().success());

    let rebuilt = optibid(&["projections", "rebuild", "--data", &data_arg]);
    assert!(rebuilt.status.success(), "{}", stderr(&rebuilt));
    let api = Api::over(Server::start(&data, &[]));
    settle("the rebuilt read models", &api, &token);
    let fresh = snapshot(&api, &token);
    assert_eq!(resumed.len(), fresh.len());
    for (after_crash, after_rebuild) in resumed.iter().zip(&fresh) {
        assert_eq!(after_crash, after_rebuild);
    }
    assert_eq!(fresh[0]["total"]["data_points"], 120_000, "every sample counted once: {}", fresh[0]);
    assert_eq!(
        fresh[3]["points"].as_array().map(|p| p.iter().map(|b| b["count"].as_u64().unwrap_or(0)).sum::<u64>()),
        Some(2_400)
    );
}
