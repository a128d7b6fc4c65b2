//! A device registered over HTTP and connected over MQTT with the secret it was given.

use super::http::Api;
use super::mqtt::{Connect, TestClient};
use serde_json::Value;

/// Registers the device `registration` describes (asserting 201) and connects it to the
/// server's broker with its id and the secret of the answer.
pub fn register_and_connect(api: &Api, token: &str, registration: Value) -> TestClient {
    let id = registration["id"].as_str().expect("the registration has an id").to_owned();
    let created = api.post("/api/v1/devices", token, registration);
    assert_eq!(created.status, 201, "{}", created.body);
    let secret = created.body["mqtt_secret"].as_str().expect("a secret with the registration").to_owned();
    TestClient::connect(&api.server.mqtt, Connect { client_id: &id, login: Some((&id, &secret)), ..Connect::default() })
        .expect("a registered device with its secret connects")
}
