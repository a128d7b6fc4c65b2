//! The operator dashboard, in a real browser (Debian's chromium): served by the binary at `/`;
//! an operator's and each role's session driven by Playwright (`tests/browser/`) against a real
//! server with a simulated fleet over real MQTT; a refused token leads back to the login form;
//! the files revalidate with ETags; the page's pure helpers pass their own unit tests.

mod common;

use common::browser::{chromium, node, playwright, rendered_dom, run_scenario};
use common::device::register_and_connect;
use common::http::Api;
use common::telemetry::meter;
use common::Server;
use serde_json::json;
use std::process::{Command, Stdio};

/// A server with a meter whose power is out of its range (so an alert is active), and a fleet
/// of six simulated solar inverters and an edge node, online over MQTT, that answer commands.
struct Fleet {
    _dir: tempfile::TempDir,
    api: Api,
    token: String,
    simulator: std::process::Child,
    _meter: common::mqtt::TestClient,
}

impl Fleet {
    fn start() -> Fleet {
        let (dir, api) = Api::start();
        let token = api.admin();
        let meter_client = register_and_connect(&api, &token, meter("hot-1"));
        let now = chrono::Utc::now().timestamp_millis();
        meter_client.publish(
            "optibid/v1/devices/hot-1/telemetry",
            json!({ "ts": now, "values": { "power_w": 9000.0 } }).to_string(),
        );
        api.eventually("/api/v1/alerts?device=hot-1", &token, |page| page["total"] == 1);
        let simulator = Command::new(common::OPTIBID)
            .args(["simulate", "--devices", "6", "--edge-nodes", "1", "--rate", "2", "--duration-secs", "600"])
            .args(["--broker", &format!("mqtt://{}", api.server.mqtt), "--api", &api.server.url(""), "--token", &token])
            .args(["--command-failure-rate", "0"])
            .env("OPTIBID_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("simulate starts");
        api.eventually("/api/v1/devices?status=online&kind=solar_inverter", &token, |page| page["total"] == 6);
        Fleet { _dir: dir, api, token, simulator, _meter: meter_client }
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        let _ = self.simulator.kill();
        let _ = self.simulator.wait();
    }
}

#[test]
fn an_operator_signs_in_watches_commands_acknowledges_runs_a_campaign_and_stays_live() {
    let Some(browser) = playwright() else { return };
    let mut fleet = Fleet::start();
    let url = fleet.api.server.url("");
    let data = fleet._dir.path().join("data");
    let (http, mqtt) = (fleet.api.server.address.clone(), fleet.api.server.mqtt.clone());
    let env =
        [("OPTIBID_URL", url.as_str()), ("OPTIBID_TOKEN", fleet.token.as_str()), ("OPTIBID_ALERT_DEVICE", "hot-1")];
    run_scenario(&browser, "operator.mjs", &env, |ask| match ask {
        "STOP" => assert!(fleet.api.server.stop().success(), "a clean stop"),
        "START" => fleet.api.server = Server::start_again(&data, &http, &mqtt),
        other => panic!("the scenario asked for {other}"),
    });
}

#[test]
fn a_viewer_sees_no_buttons_that_change_anything_and_an_auditor_verifies() {
    let Some(browser) = playwright() else { return };
    let fleet = Fleet::start();
    let (viewer, auditor) = (fleet.api.token("viewer"), fleet.api.token("auditor"));
    let url = fleet.api.server.url("");
    let env = [
        ("OPTIBID_URL", url.as_str()),
        ("OPTIBID_VIEWER_TOKEN", viewer.as_str()),
        ("OPTIBID_AUDITOR_TOKEN", auditor.as_str()),
        ("OPTIBID_ALERT_DEVICE", "hot-1"),
    ];
    run_scenario(&browser, "roles.mjs", &env, |ask| panic!("the scenario asked for {ask}"));
}

#[test]
fn a_refused_token_leads_back_to_the_login_form() {
    let Some(chromium) = chromium() else { return };
    let (_dir, api) = Api::start();
    let dom = rendered_dom(&chromium, &api.server.url("/#token=obt_not_a_token"));
    assert!(dom.contains(r#"id="token""#), "the login form: {dom}");
    assert!(dom.contains("refused that token"), "says why: {dom}");
    assert!(!dom.contains("figure-devices"), "no fleet data without a valid token: {dom}");
}

#[test]
fn the_dashboard_helpers_pass_their_unit_tests() {
    let Some(node) = node() else { return };
    let output = Command::new(node)
        .args(["--test", "dashboard/lib/"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("node runs");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{report}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(report.contains("# fail 0") && !report.contains("# pass 0"), "{report}");
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
    assert_eq!(api.get("/lib/format.test.js", "").status, 404, "so do the helpers' unit tests");
    let wrong = api.post("/", "", json!({}));
    assert_eq!(wrong.status, 405, "{}", wrong.body);
    assert_eq!(wrong.allow.as_deref(), Some("GET, HEAD"));
}
