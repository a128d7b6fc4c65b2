//! The HTTP API over real HTTP against a real `optibid serve` with a temporary data folder.

mod common;

use common::http::Api;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};

fn device(id: &str, kind: &str, region: &str, tags: &[&str]) -> Value {
    json!({
        "id": id, "name": format!("Device {id}"), "kind": kind, "protocol": "mqtt",
        "site": "plant-1", "region": region, "tags": tags, "firmware_version": "1.0.0",
        "metrics": [{ "name": "power_w", "unit": "W", "normal_min": 0.0, "normal_max": 5000.0 }]
    })
}

#[test]
fn roles_decide_who_may_read_command_and_audit() {
    let (_dir, api) = Api::start();
    let viewer = api.token("viewer");
    let operator = api.token("operator");
    let auditor = api.token("auditor");
    assert_eq!(api.call("GET", "/api/v1/devices", None, None, &[]).status, 401);
    assert_eq!(api.get("/api/v1/devices", "obt_wrong").status, 401);
    let missing = api.call("GET", "/api/v1/devices", None, None, &[]);
    assert_eq!(missing.body["error"]["code"], "unauthorized");
    for token in [&viewer, &operator, &auditor] {
        assert_eq!(api.get("/api/v1/devices", token).status, 200);
    }
    for token in [&viewer, &auditor] {
        let refused = api.post("/api/v1/devices", token, device("d-1", "smart_meter", "eu", &[]));
        assert_eq!(refused.status, 403, "{}", refused.body);
        assert_eq!(refused.body["error"]["code"], "forbidden");
    }
    assert_eq!(api.post("/api/v1/devices", &operator, device("d-1", "smart_meter", "eu", &[])).status, 201);
    assert_eq!(api.get("/api/v1/events", &operator).status, 403);
    assert_eq!(api.get("/api/v1/events", &viewer).status, 403);
    assert_eq!(api.get("/api/v1/events", &auditor).status, 200);
    assert_eq!(api.post("/api/v1/audit/verify", &viewer, json!({})).status, 403);
    assert_eq!(api.post("/api/v1/tokens", &operator, json!({ "name": "x", "role": "admin" })).status, 403);
}

#[test]
fn device_lifecycle_lists_history_and_state() {
    let (_dir, api) = Api::start();
    let token = api.admin();
    let created = api.post("/api/v1/devices", &token, device("inv-1", "solar_inverter", "eu-west", &["roof"]));
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["version"], 1);
    assert_eq!(created.body["events"], json!(["device.registered"]));
    assert_eq!(created.etag.as_deref(), Some("\"1\""));
    api.post("/api/v1/devices", &token, device("turb-1", "wind_turbine", "eu-north", &[]));
    api.post("/api/v1/devices", &token, device("inv-2", "solar_inverter", "eu-west", &[]));

    let detail = api.get("/api/v1/devices/inv-1", &token);
    assert_eq!(detail.body["state"]["profile"]["name"], "Device inv-1");
    assert_eq!(detail.body["state"]["status"], "offline");

    let all = api.eventually("/api/v1/devices", &token, |body| body["total"] == 3);
    assert_eq!(all["items"][0]["id"], "inv-1");
    let solar = api.get("/api/v1/devices?kind=solar_inverter&region=eu-west", &token);
    assert_eq!(solar.body["total"], 2);
    assert_eq!(api.get("/api/v1/devices?tag=roof", &token).body["total"], 1);
    assert_eq!(api.get("/api/v1/devices?type=wind_turbine", &token).body["total"], 1);
    assert_eq!(api.get("/api/v1/devices?q=TURB", &token).body["total"], 1);
    let first = api.get("/api/v1/devices?limit=2", &token);
    assert_eq!(first.body["items"].as_array().map(Vec::len), Some(2));
    let cursor = first.body["next_cursor"].as_str().expect("cursor").to_owned();
    let second = api.get(&format!("/api/v1/devices?limit=2&after={cursor}"), &token);
    assert_eq!(second.body["items"][0]["id"], "turb-1");
    assert_eq!(second.body["next_cursor"], Value::Null);

    let configured = api.call(
        "PUT",
        "/api/v1/devices/inv-1/configuration",
        Some(&token),
        Some(json!({ "changes": { "interval_s": 10, "mode": "eco" } })),
        &[],
    );
    assert_eq!(configured.status, 200, "{}", configured.body);
    assert_eq!(configured.body["version"], 2);
    let maintenance =
        api.post("/api/v1/devices/inv-1/status", &token, json!({ "status": "maintenance", "reason": "inspection" }));
    assert_eq!(maintenance.body["version"], 3);
    api.eventually("/api/v1/devices?status=maintenance", &token, |body| body["total"] == 1);
    let sent =
        api.post("/api/v1/devices/inv-1/commands", &token, json!({ "name": "reboot", "params": { "delay_s": 5 } }));
    assert_eq!(sent.status, 202, "{}", sent.body);
    assert!(sent.body["command_id"].as_str().is_some_and(|id| id.len() == 36));

    let history = api.get("/api/v1/devices/inv-1/events?limit=2", &token);
    assert_eq!(history.body["version"], 4);
    assert_eq!(history.body["events"][1]["event_type"], "device.configuration_changed");
    assert_eq!(history.body["next_from_version"], 3);
    let at_one = api.get("/api/v1/devices/inv-1/state?version=1", &token);
    assert_eq!(at_one.body["state"]["configuration"], json!({}));
    let now = api.get("/api/v1/devices/inv-1/state?at=2100-01-01T00:00:00Z", &token);
    assert_eq!(now.body["version"], 4);
    assert_eq!(now.body["state"]["configuration"]["interval_s"], "10");

    let decommissioned = api.post("/api/v1/devices/inv-1/decommission", &token, json!({ "reason": "end of life" }));
    assert_eq!(decommissioned.status, 200);
    let refused = api.post("/api/v1/devices/inv-1/status", &token, json!({ "status": "online" }));
    assert_eq!(refused.status, 409);
    assert_eq!(refused.body["error"]["code"], "rule_violation");
    assert!(refused.body["error"]["message"].as_str().is_some_and(|m| m.contains("decommissioned")));
}

#[test]
fn bad_input_gets_clear_errors_never_a_500() {
    let (_dir, api) = Api::start();
    let token = api.admin();
    let malformed = api.call("POST", "/api/v1/devices", Some(&token), None, &[]);
    assert_eq!(malformed.status, 400);
    let mut wrong_type = device("x-1", "toaster", "eu", &[]);
    let reply = api.post("/api/v1/devices", &token, wrong_type.clone());
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body["error"]["code"], "invalid_field");
    assert!(reply.body["error"]["message"].as_str().is_some_and(|m| m.contains("`kind`")), "{}", reply.body);
    wrong_type["kind"] = json!("smart_meter");
    wrong_type["metrics"][0]["normal_min"] = json!("low");
    let reply = api.post("/api/v1/devices", &token, wrong_type);
    assert!(
        reply.body["error"]["message"].as_str().is_some_and(|m| m.contains("metrics[0].normal_min")),
        "{}",
        reply.body
    );
    let bad_id = api.post("/api/v1/devices", &token, device("has space", "smart_meter", "eu", &[]));
    assert_eq!(bad_id.status, 400);
    assert!(bad_id.body["error"]["message"].as_str().is_some_and(|m| m.contains("`id`")), "{}", bad_id.body);
    let syntax = api.call("POST", "/api/v1/devices", Some(&token), None, &[]);
    assert_eq!(syntax.body["error"]["code"], "invalid_json");

    let unknown = api.get("/api/v1/devices/ghost", &token);
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.body["error"]["code"], "not_found");
    assert_eq!(api.get("/api/v1/devices/ghost/state", &token).status, 404);
    assert_eq!(api.get("/api/v1/devices/ghost/events", &token).status, 404);
    let ghost = api.post("/api/v1/devices/ghost/status", &token, json!({ "status": "online" }));
    assert_eq!(ghost.status, 404, "an unknown device is 404 on command routes too: {}", ghost.body);
    assert_eq!(ghost.body["error"]["code"], "not_found");
    let ghost = api.post("/api/v1/devices/ghost/commands", &token, json!({ "name": "reboot", "params": {} }));
    assert_eq!(ghost.status, 404, "{}", ghost.body);
    assert_eq!(api.get("/api/v1/nowhere", &token).status, 404);
    for (method, path, allow) in [
        ("DELETE", "/api/v1/devices", "GET, POST"),
        ("PUT", "/api/v1/devices/ghost", "GET"),
        ("GET", "/api/v1/devices/ghost/configuration", "PUT"),
        ("POST", "/healthz", "GET"),
    ] {
        let wrong = api.call(method, path, Some(&token), None, &[]);
        assert_eq!(wrong.status, 405, "{method} {path}: {}", wrong.body);
        assert_eq!(wrong.allow.as_deref(), Some(allow), "{method} {path}");
        assert_eq!(wrong.body["error"]["code"], "method_not_allowed");
    }
    assert_eq!(api.get("/api/v1/devices?kind=toaster", &token).status, 400);
    assert_eq!(api.get("/api/v1/devices?limit=many", &token).status, 400);
    let huge = json!({ "id": "fw-x", "name": "x".repeat(300 * 1024) });
    let too_large = api.post("/api/v1/campaigns", &token, huge);
    assert_eq!(too_large.status, 413, "{}", too_large.body);
    assert_eq!(too_large.body["error"]["code"], "payload_too_large", "the JSON error shape: {}", too_large.body);
    for list in ["/api/v1/devices", "/api/v1/events", "/api/v1/alerts", "/api/v1/dead-letters", "/api/v1/campaigns"] {
        let empty = api.get(&format!("{list}?limit=0"), &token);
        assert_eq!(empty.status, 400, "{list}?limit=0 asks for nothing: {}", empty.body);
        assert_eq!(empty.body["error"]["code"], "invalid_query");
    }

    api.post("/api/v1/devices", &token, device("m-1", "smart_meter", "eu", &[]));
    assert_eq!(api.get("/api/v1/devices/m-1/state?at=yesterday", &token).status, 400);
    let big = json!({ "changes": { "blob": "x".repeat(300 * 1024) } });
    let too_large = api.call("PUT", "/api/v1/devices/m-1/configuration", Some(&token), Some(big), &[]);
    assert_eq!(too_large.status, 413, "{}", too_large.body);
    let bad_match = api.call(
        "PUT",
        "/api/v1/devices/m-1/configuration",
        Some(&token),
        Some(json!({ "changes": {} })),
        &[("If-Match", "soon")],
    );
    assert_eq!(bad_match.status, 400);
}

#[test]
fn idempotency_keys_and_if_match() {
    let (_dir, api) = Api::start();
    let token = api.admin();
    let body = device("idem-1", "battery_storage", "eu", &[]);
    let first = api.call("POST", "/api/v1/devices", Some(&token), Some(body.clone()), &[("Idempotency-Key", "reg-1")]);
    let again = api.call("POST", "/api/v1/devices", Some(&token), Some(body), &[("Idempotency-Key", "reg-1")]);
    assert_eq!(first.status, 201);
    assert_eq!(again.status, 201);
    let mut without_secret = first.body.clone();
    let secret = without_secret.as_object_mut().and_then(|b| b.remove("mqtt_secret"));
    assert!(secret.is_some_and(|s| s.as_str().is_some_and(|s| s.starts_with("dsk_"))));
    without_secret.as_object_mut().and_then(|b| b.remove("mqtt_login"));
    assert_eq!(again.body, without_secret, "a replay repeats the answer but never shows the secret again");
    assert!(again.replayed);
    let change = json!({ "changes": { "soc_limit": 90 } });
    let headers = [("Idempotency-Key", "cfg-1"), ("If-Match", "\"1\"")];
    let changed = api.call("PUT", "/api/v1/devices/idem-1/configuration", Some(&token), Some(change.clone()), &headers);
    let retried = api.call("PUT", "/api/v1/devices/idem-1/configuration", Some(&token), Some(change.clone()), &headers);
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(retried.body, changed.body);
    let events = api.get("/api/v1/events", &token);
    assert_eq!(events.body["head"], 2, "the retries appended nothing");

    let stale = api.call(
        "PUT",
        "/api/v1/devices/idem-1/configuration",
        Some(&token),
        Some(json!({ "changes": { "soc_limit": 80 } })),
        &[("If-Match", "\"1\"")],
    );
    assert_eq!(stale.status, 409);
    assert_eq!(stale.body["error"]["code"], "version_conflict");
    assert_eq!(stale.body["error"]["current_version"], 2);
    assert_eq!(api.get("/api/v1/devices/idem-1", &token).etag.as_deref(), Some("\"2\""));
}

#[test]
fn campaigns_and_edge_nodes_reach_their_aggregates() {
    let (_dir, api) = Api::start();
    let token = api.admin();
    for id in ["c-1", "c-2", "c-3"] {
        api.post("/api/v1/devices", &token, device(id, "solar_inverter", "eu-west", &["fleet-a"]));
    }
    api.post("/api/v1/devices", &token, device("other", "solar_inverter", "us", &[]));
    api.eventually("/api/v1/devices", &token, |body| body["total"] == 4);
    let definition = json!({
        "id": "fw-2", "name": "Firmware 2", "kind": "firmware_update",
        "selector": { "kinds": [], "regions": ["eu-west"], "sites": [], "tags": ["fleet-a"], "device_ids": [] },
        "payload": "{\"version\":\"2.0\"}", "waves": [34, 100], "success_threshold": 0.9,
        "abort_threshold": 0.5, "device_timeout_ms": 60000
    });
    assert_eq!(api.post("/api/v1/campaigns", &token, definition.clone()).status, 201);
    assert_eq!(api.post("/api/v1/campaigns", &token, definition).status, 409);
    let started = api.post("/api/v1/campaigns/fw-2/start", &token, json!({}));
    assert_eq!(started.status, 200, "{}", started.body);
    assert_eq!(started.body["events"], json!(["campaign.started", "campaign.wave_advanced"]));
    let detail = api.get("/api/v1/campaigns/fw-2", &token);
    assert_eq!(detail.body["state"]["targets"], json!(["c-1", "c-2", "c-3"]));
    assert_eq!(api.post("/api/v1/campaigns/fw-2/start", &token, json!({})).status, 409);
    assert_eq!(api.post("/api/v1/campaigns/fw-2/pause", &token, json!({})).status, 200);
    assert_eq!(api.post("/api/v1/campaigns/fw-2/resume", &token, json!({})).status, 200);
    assert_eq!(api.post("/api/v1/campaigns/fw-2/cancel", &token, json!({ "reason": "test over" })).status, 200);
    api.eventually("/api/v1/campaigns?phase=cancelled", &token, |body| body["total"] == 1);
    assert_eq!(api.post("/api/v1/campaigns/fw-2/explode", &token, json!({})).status, 404);

    let node = json!({
        "id": "edge-1", "name": "Gateway 1", "kind": "gateway", "site": "plant-1", "region": "eu-west",
        "hardware": { "cores": 4, "memory_mb": 8192, "gpu": null, "network": "ethernet" }
    });
    assert_eq!(api.post("/api/v1/edge-nodes", &token, node).status, 201);
    let deployed = api.post(
        "/api/v1/edge-nodes/edge-1/deployments",
        &token,
        json!({ "model": "rul", "version": "3", "optimisation": "int8" }),
    );
    assert_eq!(deployed.status, 202, "{}", deployed.body);
    assert_eq!(api.post("/api/v1/edge-nodes/edge-1/services/inference/start", &token, json!({})).status, 200);
    assert_eq!(api.post("/api/v1/edge-nodes/edge-1/services/inference/start", &token, json!({})).status, 409);
    assert_eq!(api.post("/api/v1/edge-nodes/edge-1/services/inference/restart", &token, json!({})).status, 200);
    let state = api.get("/api/v1/edge-nodes/edge-1", &token);
    assert_eq!(state.body["state"]["services"]["inference"], "running");
    assert_eq!(api.get("/api/v1/edge-nodes/edge-1/state?version=1", &token).body["state"]["services"], json!({}));
    api.eventually("/api/v1/edge-nodes?region=eu-west", &token, |body| body["total"] == 1);
    assert_eq!(api.post("/api/v1/edge-nodes/edge-1/decommission", &token, json!({ "reason": "moved" })).status, 200);
    assert_eq!(api.get("/api/v1/edge-nodes/edge-1/events", &token).body["version"], 5);
}

#[test]
fn the_global_log_pages_streams_resumes_and_verifies() {
    let (_dir, api) = Api::start();
    let token = api.admin();
    for n in 0..5 {
        api.post("/api/v1/devices", &token, device(&format!("s-{n}"), "grid_sensor", "eu", &[]));
    }
    let page = api.get("/api/v1/events?from=2&limit=2", &token);
    assert_eq!(page.body["events"][0]["position"], 2);
    assert_eq!(page.body["next_from"], 4);

    let response = api
        .agent
        .get(&api.server.url("/api/v1/events/stream"))
        .set("Authorization", &format!("Bearer {token}"))
        .set("Last-Event-ID", "3")
        .call()
        .expect("stream opens");
    assert_eq!(response.content_type(), "text/event-stream");
    let mut lines = BufReader::new(response.into_reader()).lines();
    let mut ids = Vec::new();
    while ids.len() < 2 {
        let line = lines.next().expect("more lines").expect("reads");
        if let Some(id) = line.strip_prefix("id: ") {
            ids.push(id.parse::<u64>().expect("numeric id"));
        }
    }
    assert_eq!(ids, vec![4, 5], "resumes right after Last-Event-ID");
    api.post("/api/v1/devices", &token, device("live-1", "grid_sensor", "eu", &[]));
    loop {
        let line = lines.next().expect("more lines").expect("reads");
        if let Some(id) = line.strip_prefix("id: ") {
            assert_eq!(id, "6", "a live event arrives on the open stream");
            break;
        }
    }

    let verified = api.post("/api/v1/audit/verify", &token, json!({}));
    assert_eq!(verified.body["intact"], true);
    assert_eq!(verified.body["events"], 6);
    let ready = api.get("/readyz", &token);
    assert_eq!(ready.body["ready"], true, "{}", ready.body);

    let metrics = api.get("/metrics", &token);
    let text = metrics.body.as_str().expect("text").to_owned();
    assert!(text.contains("optibid_events_appended_total 6"), "{text}");
    assert!(
        text.contains("optibid_http_requests_total{method=\"POST\",route=\"/api/v1/devices\",status=\"201\"} 6"),
        "{text}"
    );
    assert!(text.contains("optibid_http_request_duration_seconds_bucket"), "{text}");
    assert!(text.contains("optibid_projection_position{projection=\"device_directory\"}"), "{text}");
}

#[test]
fn every_role_follows_summaries_and_one_stream_but_only_auditors_the_whole_log() {
    let (_dir, api) = Api::start();
    let admin = api.admin();
    let viewer = api.token("viewer");
    let me = api.get("/api/v1/tokens/current", &viewer);
    assert_eq!(me.body, json!({ "name": "viewer", "role": "viewer", "may_command": false, "may_audit": false }));
    let open = |query: &str, token: &str| {
        api.agent
            .get(&api.server.url(&format!("/api/v1/events/stream{query}")))
            .set("Authorization", &format!("Bearer {token}"))
            .call()
            .map_err(|error| match error {
                ureq::Error::Status(code, _) => code,
                ureq::Error::Transport(transport) => panic!("{transport}"),
            })
    };
    assert_eq!(open("", &viewer).err(), Some(403), "a viewer may not follow the whole log");
    assert_eq!(open("?summary=true&kinds=device", &viewer).err(), Some(400), "a summary has no filter");
    api.post("/api/v1/devices", &admin, device("sum-0", "grid_sensor", "eu", &[]));
    let one = open("?stream=device/sum-0&from=1", &viewer).expect("a viewer follows one stream");
    let mut one = BufReader::new(one.into_reader()).lines();
    assert!(one.any(|line| line.expect("reads") == "event: device.registered"), "the stream's own event");

    let summaries = open("?summary=true", &viewer).expect("a viewer follows summaries");
    let mut lines = BufReader::new(summaries.into_reader()).lines();
    let mut next_summary = || loop {
        let line = lines.next().expect("more lines").expect("reads");
        if let Some(data) = line.strip_prefix("data: ") {
            break serde_json::from_str::<serde_json::Value>(data).expect("JSON summary");
        }
    };
    let first = next_summary();
    assert_eq!(first["head"], 1, "the first summary says where the log is");
    assert_eq!(first["events"], 0);
    for n in 1..=3 {
        api.post("/api/v1/devices", &admin, device(&format!("sum-{n}"), "grid_sensor", "eu", &[]));
    }
    let first_head = first["head"].as_u64().expect("a head");
    let mut positions = Vec::new();
    let mut changed = Vec::new();
    while positions.len() < 3 {
        let summary = next_summary();
        let recent = summary["recent"].as_array().expect("recent events");
        assert!(recent.iter().all(|event| event["event_type"] == "device.registered"), "{summary}");
        let Some(newest) = recent.last() else { continue };
        assert_eq!(summary["head"], newest["position"]);
        for event in recent.iter().filter(|event| event["position"].as_u64().is_some_and(|p| p > first_head)) {
            positions.push(event["position"].clone());
            changed.push(event["stream"].clone());
        }
    }
    assert_eq!(positions, [json!(2), json!(3), json!(4)], "each event after the first summary once, in order");
    assert_eq!(changed, [json!("device/sum-1"), json!("device/sum-2"), json!("device/sum-3")]);
}

#[test]
fn the_openapi_document_is_generated_and_documents_every_route() {
    let (_dir, api) = Api::start();
    let document = api.call("GET", "/openapi.json", None, None, &[]);
    assert_eq!(document.status, 200);
    let paths = document.body["paths"].as_object().expect("paths");
    for path in [
        "/api/v1/devices",
        "/api/v1/devices/{id}/state",
        "/api/v1/edge-nodes/{id}/services/{service}/{action}",
        "/api/v1/campaigns/{id}/{action}",
        "/api/v1/events/stream",
        "/api/v1/audit/verify",
    ] {
        assert!(paths.contains_key(path), "{path} is missing from the document");
    }
    for (template, item) in paths {
        for (method, operation) in item.as_object().expect("path item") {
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                let name = parameter["name"].as_str().expect("parameter name");
                if parameter["in"] == "path" {
                    assert!(
                        template.contains(&format!("{{{name}}}")),
                        "{method} {template}: `{name}` is no path segment"
                    );
                }
            }
        }
    }
    let registration = &document.body["components"]["schemas"]["DeviceRegistration"];
    assert!(registration["required"].as_array().is_some_and(|r| r.contains(&json!("kind"))));
    assert_eq!(document.body["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    let page = api.call("GET", "/api/docs", None, None, &[]);
    assert!(page.body.as_str().is_some_and(|html| html.contains("/api/v1/devices/{id}/commands")));
}

#[test]
fn auditors_export_the_log_as_json_lines_while_the_platform_runs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let api = Api::over(common::Server::start(&data, &[]));
    let token = api.admin();
    for n in 0..3 {
        let created = api.post("/api/v1/devices", &token, common::telemetry::meter(&format!("exp-{n}")));
        assert_eq!(created.status, 201, "{}", created.body);
    }
    let auditor = api.token("auditor");
    let exported = api.get("/api/v1/audit/export", &auditor);
    assert_eq!(exported.status, 200);
    let text = exported.body.as_str().expect("JSON lines, not one JSON document").to_owned();
    let lines: Vec<serde_json::Value> =
        text.lines().map(|line| serde_json::from_str(line).expect("each line is JSON")).collect();
    let head = api.get("/api/v1/events?limit=1", &auditor).body["head"].as_u64().expect("head");
    assert_eq!(lines.len() as u64, head, "every event up to the head");
    let positions: Vec<u64> = lines.iter().map(|l| l["position"].as_u64().expect("position")).collect();
    assert_eq!(positions, (1..=head).collect::<Vec<_>>());
    let tail = api.get("/api/v1/audit/export?from=2", &auditor);
    assert_eq!(tail.body.as_str().map(|t| t.lines().count() as u64), Some(head - 1));
    assert_eq!(api.get("/api/v1/audit/export", &api.token("viewer")).status, 403);

    assert!(api.server.terminate().success());
    let offline = common::export(&data);
    assert_eq!(offline[..lines.len()], lines[..], "the same lines as `optibid audit export`");
}
