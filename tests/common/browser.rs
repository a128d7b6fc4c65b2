//! A real browser for the dashboard tests: Debian's chromium, headless, with a profile of its own,
//! that loads a page, runs its scripts and prints the resulting DOM.

use super::services;
use std::path::PathBuf;
use std::process::Command;

/// The chromium program, when installed (required when `OPTIBID_REQUIRE_SERVICES=1`).
pub fn chromium() -> Option<PathBuf> {
    services::program("chromium", &["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"])
}

/// The DOM of `url` once its scripts have run (up to 5 s of page time), as HTML.
pub fn rendered_dom(chromium: &PathBuf, url: &str) -> String {
    let profile = tempfile::tempdir().expect("profile dir");
    let output = Command::new(chromium)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--virtual-time-budget=5000"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(["--dump-dom", url])
        .output()
        .expect("chromium runs");
    assert!(output.status.success(), "chromium failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("UTF-8 DOM")
}
