//! A device can only be itself on the platform's MQTT endpoint: logins are refused with the code
//! that says why, a device cannot publish or subscribe as another, cannot take another's session,
//! and TLS client certificates name the device they log in. Checked with rumqttc, paho-mqtt
//! (MQTT 5 reason codes) and mosquitto_pub (TLS).

mod common;

use common::http::Api;
use common::mqtt::{Connect, TestClient};
use common::services;
use common::telemetry::{now_ms, register_meter as register, stored_power};
use common::{paho, wait_for};
use rumqttc::SubscribeReasonCode;
use serde_json::json;
use std::path::Path;

fn connect_device(api: &Api, id: &str, secret: &str) -> TestClient {
    TestClient::connect(&api.server.mqtt, Connect { client_id: id, login: Some((id, secret)), ..Connect::default() })
        .expect("a registered device with its secret connects")
}

fn dead_letter_reasons(api: &Api, token: &str) -> Vec<String> {
    let page = api.get("/api/v1/dead-letters?limit=100", token);
    page.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|l| l["reason"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[test]
fn only_registered_clients_with_their_own_secret_connect_and_a_refusal_says_why() {
    let (_dir, api) = Api::start();
    let token = api.admin();
    let secret = register(&api, &token, "m-2");
    let other = register(&api, &token, "m-12");
    let refused = |client_id: &str, login: Option<(&str, &str)>| {
        TestClient::connect(&api.server.mqtt, Connect { client_id, login, ..Connect::default() })
            .err()
            .unwrap_or_else(|| panic!("{client_id} with {login:?} must be refused"))
    };
    assert_eq!(refused("m-2", None), "NotAuthorized", "anonymous clients are not authorised");
    assert_eq!(refused("m-2", Some(("m-2", "dsk_wrong"))), "BadUserNamePassword");
    assert_eq!(refused("m-404", Some(("m-404", &secret))), "BadUserNamePassword", "an unknown device");
    assert_eq!(refused("m-2", Some(("m-2", &other))), "BadUserNamePassword", "another device's secret");
    assert_eq!(refused("intruder", Some(("m-2", &secret))), "NotAuthorized", "the client id must be the login");
    connect_device(&api, "m-2", &secret);

    let rotated = api.post("/api/v1/devices/m-2/credentials", &token, json!({}));
    assert_eq!(rotated.status, 201, "{}", rotated.body);
    let new_secret = rotated.body["mqtt_secret"].as_str().expect("new secret");
    assert_eq!(refused("m-2", Some(("m-2", &secret))), "BadUserNamePassword", "the old secret stops working");
    connect_device(&api, "m-2", new_secret);
    assert_eq!(api.post("/api/v1/devices/nobody/credentials", &token, json!({})).status, 404);
    let viewer = api.token("viewer");
    assert_eq!(api.post("/api/v1/devices/m-2/credentials", &viewer, json!({})).status, 403);
}

#[test]
fn a_device_cannot_publish_subscribe_or_log_in_as_another() {
    let (_dir, api) = Api::start();
    let token = api.admin();
    let victim_secret = register(&api, &token, "victim");
    let attacker_secret = register(&api, &token, "attacker");
    let victim = connect_device(&api, "victim", &victim_secret);
    victim.subscribe("optibid/v1/devices/victim/commands");
    api.eventually("/api/v1/devices/victim", &token, |d| d["state"]["status"] == "online");
    let ts = now_ms() - 20_000;

    let attacker = connect_device(&api, "attacker", &attacker_secret);
    assert_eq!(attacker.try_subscribe("#"), SubscribeReasonCode::Failure, "no wildcard over every device");
    assert_eq!(attacker.try_subscribe("optibid/v1/devices/victim/commands"), SubscribeReasonCode::Failure);
    attacker.send("optibid/v1/devices/victim/telemetry", json!({ "ts": ts, "values": { "power_w": 1.0 } }).to_string());
    attacker.wait_closed();
    let attacker = connect_device(&api, "attacker", &attacker_secret);
    attacker.send("optibid/v1/devices/victim/status", r#"{"status": "offline"}"#);
    attacker.wait_closed();
    let refused = TestClient::connect(
        &api.server.mqtt,
        Connect { client_id: "victim", login: Some(("attacker", &attacker_secret)), ..Connect::default() },
    )
    .err();
    assert_eq!(refused.as_deref(), Some("NotAuthorized"), "another device's client id cannot take its session");
    let will = TestClient::connect(
        &api.server.mqtt,
        Connect {
            client_id: "attacker",
            login: Some(("attacker", &attacker_secret)),
            last_will: Some(("optibid/v1/devices/victim/status", r#"{"status": "offline"}"#)),
            ..Connect::default()
        },
    )
    .err();
    assert_eq!(will.as_deref(), Some("NotAuthorized"), "a last will about another device");

    victim.publish(
        "optibid/v1/devices/victim/telemetry",
        json!({ "ts": ts + 1, "values": { "power_w": 2.0 } }).to_string(),
    );
    wait_for("the victim's own sample", || !stored_power(&api, &token, "victim").is_empty());
    assert_eq!(stored_power(&api, &token, "victim"), vec![(ts + 1, 2.0)], "only the victim's own sample is stored");
    let state = api.get("/api/v1/devices/victim", &token);
    assert_eq!(state.body["state"]["status"], "online", "{}", state.body);
    let reasons = dead_letter_reasons(&api, &token);
    assert_eq!(reasons.iter().filter(|r| *r == "not_authorised").count(), 4, "{reasons:?}");
    let verify = api.post("/api/v1/audit/verify", &token, json!({}));
    assert_eq!(verify.body["intact"], true, "{}", verify.body);
}

#[test]
fn paho_mqtt_5_gets_reason_codes_and_a_refused_publish_keeps_the_session() {
    if !paho::available() {
        return;
    }
    let (_dir, api) = Api::start();
    let token = api.admin();
    let secret = register(&api, &token, "p-1");
    register(&api, &token, "p-2");
    let (host, port) = api.server.mqtt.rsplit_once(':').expect("HOST:PORT");
    let login = |version: &str, client_id: &str, user: &str, password: &str| {
        paho::run("login", &[host, port, version, client_id, user, password])["code"].as_u64()
    };
    assert_eq!(login("5", "p-1", "p-1", "dsk_wrong"), Some(0x86), "v5: bad user name or password");
    assert_eq!(login("5", "p-2", "p-1", &secret), Some(0x87), "v5: not authorised");
    assert_eq!(login("3", "p-1", "p-1", "dsk_wrong"), Some(0x86), "v3.1.1 code 4, as paho reports it");
    assert_eq!(login("5", "p-1", "p-1", &secret), Some(0), "the right login");

    let ts = now_ms() - 10_000;
    let payload = json!({ "ts": ts, "values": { "power_w": 3.0 } }).to_string();
    let answer =
        paho::run("publish-other", &[host, port, "p-1", &secret, "optibid/v1/devices/p-2/telemetry", &payload]);
    assert_eq!(answer["code"], 0x87, "{answer}");
    assert_eq!(answer["still_connected"], true, "MQTT 5 refuses the publish, not the session: {answer}");
    let answer =
        paho::run("publish-other", &[host, port, "p-1", &secret, "optibid/v1/devices/p-1/telemetry", &payload]);
    assert_eq!(answer["code"], 0, "{answer}");
    assert!(stored_power(&api, &token, "p-2").is_empty());
    assert_eq!(stored_power(&api, &token, "p-1"), vec![(ts, 3.0)]);
}

/// A certificate authority with a server certificate for 127.0.0.1 and client certificates.
struct Pki {
    ca: rcgen::Certificate,
    ca_key: rcgen::KeyPair,
}

impl Pki {
    fn new() -> Pki {
        let ca_key = rcgen::KeyPair::generate().expect("key");
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.distinguished_name.push(rcgen::DnType::CommonName, "optibid test CA");
        params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::DigitalSignature];
        let ca = params.self_signed(&ca_key).expect("CA");
        Pki { ca, ca_key }
    }

    /// Writes `{name}.pem` and `{name}.key` for a certificate with `names` (the first is the
    /// common name), signed by this CA.
    fn issue(&self, dir: &Path, name: &str, names: &[&str], server: bool) {
        let key = rcgen::KeyPair::generate().expect("key");
        let sans = if server { names.iter().map(|n| (*n).to_owned()).collect() } else { Vec::new() };
        let mut params = rcgen::CertificateParams::new(sans).expect("params");
        params.distinguished_name.push(rcgen::DnType::CommonName, names[0]);
        params.extended_key_usages = vec![if server {
            rcgen::ExtendedKeyUsagePurpose::ServerAuth
        } else {
            rcgen::ExtendedKeyUsagePurpose::ClientAuth
        }];
        let cert = params.signed_by(&key, &self.ca, &self.ca_key).expect("signed");
        std::fs::write(dir.join(format!("{name}.pem")), cert.pem()).expect("written");
        std::fs::write(dir.join(format!("{name}.key")), key.serialize_pem()).expect("written");
    }
}

#[test]
fn over_tls_a_client_certificate_logs_in_the_device_it_names() {
    let Some(mosquitto_pub) = services::program("mosquitto_pub", &["/usr/bin/mosquitto_pub"]) else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let pki = Pki::new();
    std::fs::write(dir.path().join("ca.pem"), pki.ca.pem()).expect("written");
    pki.issue(dir.path(), "server", &["127.0.0.1", "localhost"], true);
    pki.issue(dir.path(), "m-9", &["m-9"], false);
    pki.issue(dir.path(), "m-10", &["m-10"], false);
    let stranger = Pki::new();
    stranger.issue(dir.path(), "forged", &["m-9"], false);
    let file = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let api = Api::over(common::Server::start(
        &dir.path().join("data"),
        &[
            "--mqtts-listen",
            "127.0.0.1:0",
            "--mqtt-tls-cert",
            &file("server.pem"),
            "--mqtt-tls-key",
            &file("server.key"),
            "--mqtt-client-ca",
            &file("ca.pem"),
        ],
    ));
    let token = api.admin();
    let secret = register(&api, &token, "m-9");
    let tls = api.server.mqtts.clone().expect("the server announces its TLS listener");
    let (host, port) = tls.rsplit_once(':').expect("HOST:PORT");
    let ts = now_ms() - 10_000;
    let publish = |certificate: Option<&str>, login: Option<&str>, value: f64| {
        let mut command = std::process::Command::new(&mosquitto_pub);
        command.args(["-h", host, "-p", port, "--cafile", &file("ca.pem"), "-i", "m-9", "-q", "1", "-V", "mqttv311"]);
        command.args(["-t", "optibid/v1/devices/m-9/telemetry"]);
        command.args(["-m", &json!({ "ts": ts + value as i64, "values": { "power_w": value } }).to_string()]);
        if let Some(name) = certificate {
            command.args(["--cert", &file(&format!("{name}.pem")), "--key", &file(&format!("{name}.key"))]);
        }
        if let Some(secret) = login {
            command.args(["-u", "m-9", "-P", secret]);
        }
        let output = command.output().expect("mosquitto_pub runs");
        (output.status.success(), String::from_utf8_lossy(&output.stderr).into_owned())
    };
    let (ok, error) = publish(Some("m-9"), None, 1.0);
    assert!(ok, "the device's own certificate logs it in: {error}");
    let (ok, error) = publish(Some("m-10"), None, 2.0);
    assert!(!ok && error.contains("not authorised"), "another device's certificate: {error}");
    let (ok, _) = publish(Some("forged"), None, 3.0);
    assert!(!ok, "a certificate from another authority fails the handshake");
    let (ok, error) = publish(None, None, 4.0);
    assert!(!ok && error.contains("not authorised"), "no certificate and no secret: {error}");
    let (ok, error) = publish(None, Some(&secret), 5.0);
    assert!(ok, "a secret over TLS without a certificate: {error}");
    wait_for("two samples", || stored_power(&api, &token, "m-9").len() == 2);
    assert_eq!(stored_power(&api, &token, "m-9"), vec![(ts + 1, 1.0), (ts + 5, 5.0)]);
}
