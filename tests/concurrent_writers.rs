//! Many writers at once through every door that makes something durable: registrations (events
//! and MQTT secrets), credential rotations, token creation and a storm of refused MQTT payloads
//! (dead letters). Every one of them must complete and `/healthz` must answer throughout.

mod common;

use common::http::Api;
use common::mqtt::{Connect, TestClient};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Concurrent HTTP writers.
const WRITERS: usize = 64;
/// Devices each writer registers (each also gets its secret rotated once).
const DEVICES_PER_WRITER: usize = 3;
/// Malformed payloads published while the writers run.
const BAD_PAYLOADS: usize = 300;

fn meter(id: &str) -> Value {
    json!({
        "id": id, "name": format!("Meter {id}"), "kind": "smart_meter", "protocol": "mqtt",
        "site": "plant-1", "region": "eu", "tags": [], "firmware_version": "1.0.0",
        "metrics": [{ "name": "power_w", "unit": "W", "normal_min": 0.0, "normal_max": 5000.0 }]
    })
}

/// One request with its own timeout: a hung server fails the test instead of hanging it.
fn request(agent: &ureq::Agent, method: &str, url: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    let request = agent.request(method, url).set("Authorization", &format!("Bearer {token}"));
    let result = match body {
        Some(body) => request.send_string(&body.to_string()),
        None => request.call(),
    };
    let response = match result {
        Ok(response) => response,
        Err(ureq::Error::Status(_, response)) => response,
        Err(error) => panic!("{method} {url}: {error}"),
    };
    let status = response.status();
    let body = response.into_json().unwrap_or(Value::Null);
    (status, body)
}

#[test]
fn registrations_rotations_tokens_and_dead_letters_at_once_all_complete() {
    let (_dir, api) = Api::start();
    let admin = api.admin();
    let base = api.server.url("");
    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(20)).build();

    let (status, body) = request(&agent, "POST", &format!("{base}/api/v1/devices"), &admin, Some(meter("noisy")));
    assert_eq!(status, 201, "{body}");
    let secret = body["mqtt_secret"].as_str().expect("secret").to_owned();
    let noisy = TestClient::connect(
        &api.server.mqtt,
        Connect { client_id: "noisy", login: Some(("noisy", &secret)), ..Connect::default() },
    )
    .expect("the noisy device connects");

    let running = Arc::new(AtomicBool::new(true));
    let health = {
        let (agent, base, running) = (agent.clone(), base.clone(), running.clone());
        std::thread::spawn(move || {
            let mut answered = 0_u32;
            while running.load(Ordering::SeqCst) {
                let response = agent.get(&format!("{base}/healthz")).call().expect("/healthz answers during the load");
                assert_eq!(response.status(), 200);
                answered += 1;
                // A prober at 50 requests/s: it checks liveness without adding load of its own.
                std::thread::sleep(Duration::from_millis(20));
            }
            answered
        })
    };

    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let (agent, base, admin) = (agent.clone(), base.clone(), admin.clone());
            std::thread::spawn(move || {
                for n in 0..DEVICES_PER_WRITER {
                    let id = format!("m-{writer}-{n}");
                    let url = format!("{base}/api/v1/devices");
                    let (status, body) = request(&agent, "POST", &url, &admin, Some(meter(&id)));
                    assert_eq!(status, 201, "registering {id}: {body}");
                    let rotate = format!("{base}/api/v1/devices/{id}/credentials");
                    let (status, body) = request(&agent, "POST", &rotate, &admin, None);
                    assert_eq!(status, 201, "rotating {id}'s secret: {body}");
                }
                let token = json!({ "name": format!("writer-{writer}"), "role": "viewer" });
                let (status, body) = request(&agent, "POST", &format!("{base}/api/v1/tokens"), &admin, Some(token));
                assert_eq!(status, 201, "creating a token: {body}");
            })
        })
        .collect();

    for n in 0..BAD_PAYLOADS {
        noisy.publish("optibid/v1/devices/noisy/telemetry", format!("not json {n}"));
    }
    for writer in writers {
        writer.join().expect("every writer completes");
    }
    running.store(false, Ordering::SeqCst);
    let answered = health.join().expect("/healthz answered throughout");
    assert!(answered > 0, "/healthz was asked at least once");

    let devices = api.eventually("/api/v1/devices?limit=1000", &admin, |page| {
        page["items"].as_array().is_some_and(|items| items.len() == WRITERS * DEVICES_PER_WRITER + 1)
    });
    assert_eq!(devices["items"].as_array().map(Vec::len), Some(WRITERS * DEVICES_PER_WRITER + 1));
    let letters = api.eventually("/api/v1/dead-letters?limit=1000", &admin, |page| {
        page["items"].as_array().is_some_and(|items| items.len() >= BAD_PAYLOADS)
    });
    assert!(letters["items"].as_array().is_some_and(|items| items.len() >= BAD_PAYLOADS));
}
