//! Devices behind a real OPC UA server: a server in this process with changing variables, and a
//! real `optibid serve --config` subscribing to it.

mod common;
#[path = "common/opcua.rs"]
mod plant;

use common::http::Api;
use common::wait_for;
use opcua::crypto::{CertificateStore, X509Data};
use opcua::types::{StatusCode, Variant};
use plant::{PlantSecurity, PlantServer};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// Every telemetry sample of `device` in the global log, as (metric, value) in log order.
fn stored_values(api: &Api, token: &str, device: &str) -> Vec<(String, f64)> {
    let page = api.get("/api/v1/events?from=1&limit=1000", token);
    assert_eq!(page.status, 200, "{}", page.body);
    let mut values = Vec::new();
    for event in page.body["events"].as_array().expect("events") {
        if event["stream"] != format!("telemetry/{device}") {
            continue;
        }
        for sample in event["data"]["recorded"]["samples"].as_array().expect("samples") {
            for value in sample["values"].as_array().expect("values") {
                values.push((
                    value["metric"].as_str().expect("metric").to_owned(),
                    value["value"].as_f64().expect("value"),
                ));
            }
        }
    }
    values
}

fn device_status(api: &Api, token: &str, device: &str) -> String {
    let reply = api.get(&format!("/api/v1/devices/{device}"), token);
    reply.body["state"]["status"].as_str().unwrap_or_default().to_owned()
}

fn power_values(api: &Api, token: &str) -> Vec<f64> {
    stored_values(api, token, "inv-op1").into_iter().filter(|(m, _)| m == "power_w").map(|(_, v)| v).collect()
}

/// Writes `config` to `optibid.toml` in `dir` and returns its path.
fn write_config(dir: &Path, config: &str) -> PathBuf {
    let path = dir.join("optibid.toml");
    std::fs::write(&path, config).expect("config written");
    path
}

/// Registers inverter `id` with one metric, `power_w`.
fn register_power_inverter(api: &Api, token: &str, id: &str, name: &str) {
    let created = api.post(
        "/api/v1/devices",
        token,
        json!({
            "id": id, "name": name, "kind": "solar_inverter",
            "protocol": "opcua", "site": "plant-1", "region": "eu", "tags": [], "firmware_version": "1.0.0",
            "metrics": [{ "name": "power_w", "unit": "W", "normal_min": 0.0, "normal_max": 10000.0 }]
        }),
    );
    assert_eq!(created.status, 201, "{}", created.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn opcua_data_changes_become_telemetry_and_status_and_survive_a_server_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let variables = [
        ("inv-op1.power", Variant::Double(0.0)),
        ("inv-op1.temp", Variant::Double(21.0)),
        ("inv-op1.label", Variant::from("ready")),
        ("ghost.power", Variant::Double(1.0)),
    ];
    let server = PlantServer::start(0, &dir.path().join("pki-server"), &variables).await;
    let port = server.port;
    let config = format!(
        r#"
[[opcua]]
name = "plant"
url = "{url}"
publishing_interval_ms = 50
retry_initial_ms = 100
retry_max_ms = 500

[[opcua.items]]
node_id = "{power}"
device = "inv-op1"
metric = "power_w"

[[opcua.items]]
node_id = "{temp}"
device = "inv-op1"
metric = "temp_c"

[[opcua.items]]
node_id = "{label}"
device = "inv-op1"
metric = "label"

[[opcua.items]]
node_id = "{ghost}"
device = "ghost-1"
metric = "power_w"
"#,
        url = server.url,
        power = server.node("inv-op1.power"),
        temp = server.node("inv-op1.temp"),
        label = server.node("inv-op1.label"),
        ghost = server.node("ghost.power"),
    );
    let config_path = write_config(dir.path(), &config);

    let (data, api) = Api::start_with(&["--config", &config_path.to_string_lossy()]);
    let token = api.admin();
    let created = api.post(
        "/api/v1/devices",
        &token,
        json!({
            "id": "inv-op1", "name": "Inverter on OPC UA", "kind": "solar_inverter", "protocol": "opcua",
            "site": "plant-1", "region": "eu", "tags": [], "firmware_version": "1.0.0",
            "metrics": [
                { "name": "power_w", "unit": "W", "normal_min": 0.0, "normal_max": 10000.0 },
                { "name": "temp_c", "unit": "C", "normal_min": -20.0, "normal_max": 90.0 },
                { "name": "label", "unit": "", "normal_min": 0.0, "normal_max": 1.0 }
            ]
        }),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    wait_for("the OPC UA session", || api.get("/readyz", &token).body["opcua"][0]["connected"] == Value::Bool(true));

    for power in [100.0, 200.0, 300.0] {
        server.set("inv-op1.power", power, StatusCode::Good);
        wait_for("the reading stored", || power_values(&api, &token).last() == Some(&power));
    }
    assert!(power_values(&api, &token).ends_with(&[100.0, 200.0, 300.0]), "{:?}", power_values(&api, &token));
    wait_for("the device online", || device_status(&api, &token, "inv-op1") == "online");

    server.set("inv-op1.temp", 25.0, StatusCode::BadSensorFailure);
    wait_for("the device degraded by a Bad status", || device_status(&api, &token, "inv-op1") == "degraded");
    let events = api.get("/api/v1/devices/inv-op1/events?limit=100", &token);
    assert!(events.body.to_string().contains("BadSensorFailure"), "the status change names the code: {}", events.body);
    assert!(
        !stored_values(&api, &token, "inv-op1").contains(&("temp_c".to_owned(), 25.0)),
        "a value with a Bad status is not stored as a reading"
    );
    server.set("inv-op1.temp", 26.0, StatusCode::Good);
    wait_for("the device online again", || device_status(&api, &token, "inv-op1") == "online");
    wait_for("the good temperature", || stored_values(&api, &token, "inv-op1").contains(&("temp_c".to_owned(), 26.0)));

    let letters = api.eventually("/api/v1/dead-letters?limit=100", &token, |page| {
        let text = page.to_string();
        text.contains("unknown_device") && text.contains("invalid_field")
    });
    let letters = letters["items"].as_array().expect("items").clone();
    assert!(letters.iter().any(|l| l["reason"] == "unknown_device" && l["topic"] == "opcua:plant"), "{letters:?}");
    assert!(
        letters.iter().any(
            |l| l["reason"] == "invalid_field" && l["topic"].as_str().is_some_and(|t| t.ends_with("inv-op1.label"))
        ),
        "{letters:?}"
    );

    server.stop().await;
    wait_for("the device offline after the server went away", || device_status(&api, &token, "inv-op1") == "offline");
    let metrics = api.get("/metrics", &token).body.as_str().unwrap_or_default().to_owned();
    assert!(metrics.contains("optibid_opcua_connected{endpoint=\"plant\"} 0"), "{metrics}");

    let server = PlantServer::start(port, &dir.path().join("pki-server"), &variables).await;
    wait_for("the session back", || api.get("/readyz", &token).body["opcua"][0]["connected"] == Value::Bool(true));
    wait_for("the device online after the reconnect", || device_status(&api, &token, "inv-op1") == "online");
    server.set("inv-op1.power", 999.0, StatusCode::Good);
    wait_for("a reading after the reconnect", || power_values(&api, &token).last() == Some(&999.0));
    let metrics = api.get("/metrics", &token).body.as_str().unwrap_or_default().to_owned();
    assert!(metrics.contains("optibid_opcua_total{endpoint=\"plant\",kind=\"connection_losses\"} 1"), "{metrics}");
    server.stop().await;

    let Api { server, .. } = api;
    assert!(server.terminate().success(), "serve stops cleanly");
    let verify = common::verify(&data.path().join("data"));
    assert!(verify.status.success(), "{}", common::stderr(&verify));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_encrypted_channel_carries_telemetry() {
    let dir = tempfile::tempdir().expect("temp dir");
    let variables = [("inv-sec.power", Variant::Double(0.0))];
    let security = PlantSecurity { encrypted: true, ..PlantSecurity::default() };
    let server = PlantServer::start_with(0, &dir.path().join("pki-server"), &variables, security).await;
    let config = format!(
        r#"
[[opcua]]
name = "secure-plant"
url = "{url}"
security_policy = "Basic256Sha256"
security_mode = "SignAndEncrypt"
trust_server_certs = true
publishing_interval_ms = 50
retry_initial_ms = 100
retry_max_ms = 500

[[opcua.items]]
node_id = "{power}"
device = "inv-sec"
metric = "power_w"
"#,
        url = server.url,
        power = server.node("inv-sec.power"),
    );
    let config_path = write_config(dir.path(), &config);
    let (_data, api) = Api::start_with(&["--config", &config_path.to_string_lossy()]);
    let token = api.admin();
    register_power_inverter(&api, &token, "inv-sec", "Inverter behind an encrypted channel");
    wait_for("the encrypted OPC UA session", || {
        api.get("/readyz", &token).body["opcua"][0]["connected"] == Value::Bool(true)
    });
    server.set("inv-sec.power", 4_321.0, StatusCode::Good);
    wait_for("the reading over the encrypted channel", || {
        stored_values(&api, &token, "inv-sec").contains(&("power_w".to_owned(), 4_321.0))
    });
    server.stop().await;
}

/// Creates a user certificate (`NAME.der`) and its key (`NAME.pem`) in `folder`.
fn user_certificate(folder: &Path, name: &str) -> (PathBuf, PathBuf) {
    let (certificate, key) = (folder.join(format!("{name}.der")), folder.join(format!("{name}.pem")));
    let data = X509Data {
        key_size: 2048,
        common_name: name.to_owned(),
        organization: "OptiBid test plant".to_owned(),
        organizational_unit: "operators".to_owned(),
        country: "DE".to_owned(),
        state: "Berlin".to_owned(),
        alt_host_names: vec![format!("urn:optibid:user:{name}")].into(),
        certificate_duration_days: 30,
    };
    CertificateStore::create_certificate_and_key(&data, true, &certificate, &key).expect("user certificate created");
    (certificate, key)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_user_certificate_logs_in_and_an_unknown_one_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (operator_certificate, operator_key) = user_certificate(dir.path(), "operator");
    let (intruder_certificate, intruder_key) = user_certificate(dir.path(), "intruder");
    let variables = [("inv-x509.power", Variant::Double(0.0)), ("inv-intruder.power", Variant::Double(0.0))];
    let security = PlantSecurity { user_certificate: Some(operator_certificate.clone()), ..PlantSecurity::default() };
    let server = PlantServer::start_with(0, &dir.path().join("pki-server"), &variables, security).await;
    let section = |name: &str, device: &str, certificate: &Path, key: &Path| {
        format!(
            r#"
[[opcua]]
name = "{name}"
url = "{url}"
user_certificate = "{certificate}"
user_private_key = "{key}"
publishing_interval_ms = 50
retry_initial_ms = 100
retry_max_ms = 500

[[opcua.items]]
node_id = "{node}"
device = "{device}"
metric = "power_w"
"#,
            url = server.url,
            certificate = certificate.display(),
            key = key.display(),
            node = server.node(&format!("{device}.power")),
        )
    };
    let config = section("operator-login", "inv-x509", &operator_certificate, &operator_key)
        + &section("intruder-login", "inv-intruder", &intruder_certificate, &intruder_key);
    let config_path = write_config(dir.path(), &config);
    let (_data, api) = Api::start_with(&["--config", &config_path.to_string_lossy()]);
    let token = api.admin();
    for device in ["inv-x509", "inv-intruder"] {
        register_power_inverter(&api, &token, device, "Inverter behind a certificate login");
    }
    let endpoint = |name: &str| {
        let ready = api.get("/readyz", &token).body;
        ready["opcua"].as_array().into_iter().flatten().find(|e| e["endpoint"] == name).cloned().unwrap_or_default()
    };
    wait_for("the session of the known user", || endpoint("operator-login")["connected"] == Value::Bool(true));
    wait_for("the refusal of the unknown user", || {
        endpoint("intruder-login")["last_error"].as_str().is_some_and(|e| e.contains("IdentityToken"))
    });
    server.set("inv-x509.power", 2_468.0, StatusCode::Good);
    server.set("inv-intruder.power", 1_357.0, StatusCode::Good);
    wait_for("the reading of the known user", || {
        stored_values(&api, &token, "inv-x509").contains(&("power_w".to_owned(), 2_468.0))
    });
    assert_eq!(endpoint("intruder-login")["connected"], Value::Bool(false));
    assert!(stored_values(&api, &token, "inv-intruder").is_empty(), "nothing arrives through a refused login");
    server.stop().await;
}

#[test]
fn a_key_that_does_not_belong_to_the_certificate_stops_serve_at_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (certificate, _) = user_certificate(dir.path(), "operator");
    let (_, other_key) = user_certificate(dir.path(), "other");
    let config = format!(
        r#"
[[opcua]]
name = "plant"
url = "opc.tcp://127.0.0.1:4855/"
user_certificate = "{certificate}"
user_private_key = "{key}"

[[opcua.items]]
node_id = "ns=2;s=inv.power"
device = "inv-1"
metric = "power_w"
"#,
        certificate = certificate.display(),
        key = other_key.display(),
    );
    let config_path = write_config(dir.path(), &config);
    let output = common::optibid(&[
        "serve",
        "--data",
        &dir.path().join("data").to_string_lossy(),
        "--config",
        &config_path.to_string_lossy(),
    ]);
    assert!(!output.status.success(), "serve refuses the configuration");
    let message = common::stderr(&output);
    assert!(
        message.contains("opcua[0]: user_private_key") && message.contains("does not belong to user_certificate"),
        "{message}"
    );
}
