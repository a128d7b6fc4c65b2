//! The operator dashboard, in a real browser (headless chromium): served by the binary at `/`,
//! signed in from the login link, showing the fleet from the API and following the live stream;
//! a refused token leads back to the login form.

mod common;

use common::browser::{chromium, rendered_dom};
use common::http::Api;
use common::telemetry::meter;
use serde_json::json;

fn inverter(id: &str) -> serde_json::Value {
    json!({
        "id": id, "name": format!("Inverter {id}"), "kind": "solar_inverter", "protocol": "mqtt",
        "site": "plant-2", "region": "eu-west", "tags": ["roof"], "firmware_version": "2.0.0",
        "metrics": [{ "name": "power_w", "unit": "W", "normal_min": 0.0, "normal_max": 6000.0 }]
    })
}

/// A server with two meters and one inverter registered.
fn fleet() -> (tempfile::TempDir, Api, String) {
    let (dir, api) = Api::start();
    let token = api.admin();
    for body in [meter("m-1"), meter("m-2"), inverter("inv-1")] {
        let created = api.post("/api/v1/devices", &token, body);
        assert_eq!(created.status, 201, "{}", created.body);
    }
    api.eventually("/api/v1/devices", &token, |page| page["total"] == 3);
    (dir, api, token)
}

#[test]
fn the_login_link_signs_in_and_the_overview_shows_the_fleet_live() {
    let Some(chromium) = chromium() else { return };
    let (_dir, api, token) = fleet();
    let dom = rendered_dom(&chromium, &api.server.url(&format!("/#token={token}")));
    assert!(dom.contains(r#"id="figure-devices"><span class="value">3</span>"#), "three devices: {dom}");
    assert!(dom.contains(r#"<tr data-kind="smart_meter"><td>smart meter</td><td>2</td>"#), "two meters: {dom}");
    assert!(dom.contains(r#"<tr data-kind="solar_inverter"><td>solar inverter</td><td>1</td>"#), "{dom}");
    assert!(dom.contains(r#"id="live" class="live on""#), "following the live stream: {dom}");
    assert!(!dom.contains(r#"id="token""#), "signed in, no login form: {dom}");
}

#[test]
fn a_shared_device_view_keeps_its_filter_in_the_address() {
    let Some(chromium) = chromium() else { return };
    let (_dir, api, token) = fleet();
    let dom = rendered_dom(&chromium, &api.server.url(&format!("/#/devices?kind=smart_meter&token={token}")));
    assert!(dom.contains(r#"id="device-count">2 devices<"#), "the filter applies: {dom}");
    assert!(dom.contains(r#"data-device="m-1""#) && dom.contains(r#"data-device="m-2""#), "{dom}");
    assert!(!dom.contains(r#"data-device="inv-1""#), "the inverter is filtered out: {dom}");
}

#[test]
fn a_refused_token_leads_back_to_the_login_form() {
    let Some(chromium) = chromium() else { return };
    let (_dir, api, _token) = fleet();
    let dom = rendered_dom(&chromium, &api.server.url("/#token=obt_not_a_token"));
    assert!(dom.contains(r#"id="token""#), "the login form: {dom}");
    assert!(dom.contains("refused that token"), "says why: {dom}");
    assert!(!dom.contains("figure-devices"), "no fleet data without a valid token: {dom}");
}

#[test]
fn the_dashboard_files_are_served_with_etags_and_revalidate() {
    let (_dir, api) = Api::start();
    let page = api.agent.get(&api.server.url("/")).call().expect("/ answers");
    assert_eq!(page.status(), 200);
    assert!(page.content_type().starts_with("text/html"));
    let etag = page.header("etag").expect("an ETag").to_owned();
    assert!(page.header("cache-control").is_some_and(|c| c.contains("max-age")), "Cache-Control");
    let again = api.agent.get(&api.server.url("/")).set("If-None-Match", &etag).call().expect("answers");
    assert_eq!(again.status(), 304, "unchanged: not modified");
    let script = api.agent.get(&api.server.url("/app.js")).call().expect("/app.js answers");
    assert!(script.content_type().contains("javascript"));
    assert_eq!(api.get("/vendor/LICENSE-preact", "").status, 404, "licences stay in the source tree");
    let wrong = api.post("/", "", json!({}));
    assert_eq!(wrong.status, 405, "{}", wrong.body);
    assert_eq!(wrong.allow.as_deref(), Some("GET, HEAD"));
}
