//! The paho-mqtt device of `tests/clients/paho_device.py`: an MQTT client we did not write.

use std::process::{Command, Output};

/// The script's path.
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/paho_device.py");

/// Whether Python with paho-mqtt is installed. Panics when it is not and services are
/// required (`OPTIBID_REQUIRE_SERVICES=1`).
pub fn available() -> bool {
    let installed = Command::new("python3")
        .args(["-c", "import paho.mqtt.client"])
        .output()
        .is_ok_and(|output| output.status.success());
    if installed {
        return true;
    }
    assert!(
        std::env::var("OPTIBID_REQUIRE_SERVICES").as_deref() != Ok("1"),
        "paho-mqtt is required (OPTIBID_REQUIRE_SERVICES=1): pip install paho-mqtt"
    );
    eprintln!(
        "SKIPPED: paho-mqtt is not installed (pip install paho-mqtt); set OPTIBID_REQUIRE_SERVICES=1 to fail instead"
    );
    false
}

/// The script running `verb` with `args`.
pub fn command(verb: &str, args: &[&str]) -> Command {
    let mut command = Command::new("python3");
    command.arg(SCRIPT).arg(verb).args(args);
    command
}

/// Runs `verb` to its end and parses the JSON line it prints.
pub fn run(verb: &str, args: &[&str]) -> serde_json::Value {
    let output: Output = command(verb, args).output().expect("python3 runs");
    assert!(output.status.success(), "paho {verb} failed: {}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(text.trim().lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("paho {verb} printed {text:?}: {e}"))
}
