//! Helpers shared by the tests that run the real `optibid` binary.

#![allow(dead_code)]

pub mod browser;
pub mod device;
pub mod http;
pub mod mosquitto;
pub mod mqtt;
pub mod paho;
pub mod services;
pub mod telemetry;

use std::path::Path;
use std::process::{Command, Output};

/// Path of the built `optibid` binary.
pub const OPTIBID: &str = env!("CARGO_BIN_EXE_optibid");

/// Runs `optibid` with `args`, returning its output.
pub fn optibid(args: &[&str]) -> Output {
    Command::new(OPTIBID).args(args).env("OPTIBID_LOG", "warn").output().expect("optibid runs")
}

/// Standard output as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Polls `done` until it holds, failing the test after 30 s.
pub fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !done() {
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// `optibid audit verify` on `data`.
pub fn verify(data: &Path) -> Output {
    optibid(&["audit", "verify", "--data", &data.to_string_lossy()])
}

/// Every exported event of `data` as JSON values.
pub fn export(data: &Path) -> Vec<serde_json::Value> {
    let output = optibid(&["audit", "export", "--data", &data.to_string_lossy()]);
    assert!(output.status.success(), "export failed: {}", stderr(&output));
    stdout(&output).lines().map(|line| serde_json::from_str(line).expect("export lines are JSON")).collect()
}

/// A running `optibid serve` on a free loopback port.
pub struct Server {
    /// The child process.
    pub child: std::process::Child,
    /// `127.0.0.1:PORT`.
    pub address: String,
    /// The admin token printed on first start, if this start printed one.
    pub admin_token: Option<String>,
    /// `HOST:PORT` of the MQTT endpoint (or external broker) devices use.
    pub mqtt: String,
    /// `HOST:PORT` of the MQTT over TLS listener, when one is configured.
    pub mqtts: Option<String>,
}

impl Server {
    /// Starts `optibid serve` on `data` with `extra` arguments (with the embedded MQTT endpoint on
    /// a free port unless `extra` names a broker).
    pub fn start(data: &Path, extra: &[&str]) -> Server {
        Self::start_on(data, "127.0.0.1:0", "127.0.0.1:0", extra)
    }

    /// Starts it again on the addresses of this one (after it stopped), so that its clients
    /// reconnect to the same place.
    pub fn start_again(data: &Path, http: &str, mqtt: &str) -> Server {
        Self::start_on(data, http, mqtt, &[])
    }

    fn start_on(data: &Path, http: &str, mqtt: &str, extra: &[&str]) -> Server {
        use std::io::BufRead;
        let mqtt = if extra.contains(&"--mqtt-broker") { Vec::new() } else { vec!["--mqtt-listen", mqtt] };
        let child = Command::new(OPTIBID)
            .args(["serve", "--http", http, "--data"])
            .arg(data)
            .args(mqtt)
            .args(extra)
            .env("OPTIBID_LOG", std::env::var("OPTIBID_TEST_SERVER_LOG").map_or("warn", |_| "info"))
            .stdout(std::process::Stdio::piped())
            .stderr(server_log())
            .spawn()
            .expect("serve starts");
        let mut server = Server { child, address: String::new(), admin_token: None, mqtt: String::new(), mqtts: None };
        let mut stdout = std::io::BufReader::new(server.child.stdout.take().expect("piped"));
        loop {
            let mut line = String::new();
            assert!(stdout.read_line(&mut line).unwrap_or(0) > 0, "serve exited before listening");
            if let Some(token) = line.trim().rsplit(' ').next().filter(|_| line.contains("admin token")) {
                server.admin_token = Some(token.to_owned());
            }
            if let Some(address) = line.trim().strip_prefix("optibid MQTT on mqtt://") {
                server.mqtt = address.to_owned();
            }
            if let Some(address) = line.trim().strip_prefix("optibid MQTT over TLS on mqtts://") {
                server.mqtts = Some(address.to_owned());
            }
            if let Some(address) = line.trim().strip_prefix("optibid listening on http://") {
                server.address = address.to_owned();
                return server;
            }
        }
    }

    /// `http://ADDRESS{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// Sends SIGTERM and waits for the exit, keeping the server's addresses.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs");
        self.child.wait().expect("exits")
    }

    /// Sends SIGTERM and waits for the exit.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        self.stop()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where a test server's log goes: appended to the file `OPTIBID_TEST_SERVER_LOG` names, when
/// set (for looking into a failing test), else nowhere.
fn server_log() -> std::process::Stdio {
    std::env::var("OPTIBID_TEST_SERVER_LOG")
        .ok()
        .and_then(|path| std::fs::OpenOptions::new().create(true).append(true).open(path).ok())
        .map_or_else(std::process::Stdio::null, std::process::Stdio::from)
}
