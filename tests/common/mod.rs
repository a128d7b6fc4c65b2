//! Helpers shared by the tests that run the real `optibid` binary.

#![allow(dead_code)]

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
