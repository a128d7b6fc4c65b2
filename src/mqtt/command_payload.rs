//! The JSON a device receives on its command topic: `{"command_id", "name", "params"}`.

use optibid_domain::ids::CommandId;

/// The payload of command `command_id` named `name` with `params` (JSON text as issued; not
/// JSON becomes `null`).
pub fn command_payload(command_id: &CommandId, name: &str, params: &str) -> Vec<u8> {
    let params: serde_json::Value = serde_json::from_str(params).unwrap_or(serde_json::Value::Null);
    serde_json::json!({ "command_id": command_id.as_str(), "name": name, "params": params }).to_string().into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_are_embedded_as_json() {
        let id = CommandId::new("c-1").expect("valid id");
        let payload: serde_json::Value =
            serde_json::from_slice(&command_payload(&id, "reboot", r#"{"delay_s": 5}"#)).expect("JSON");
        assert_eq!(payload, serde_json::json!({ "command_id": "c-1", "name": "reboot", "params": { "delay_s": 5 } }));
        let broken: serde_json::Value = serde_json::from_slice(&command_payload(&id, "x", "{")).expect("JSON");
        assert_eq!(broken["params"], serde_json::Value::Null);
    }
}
