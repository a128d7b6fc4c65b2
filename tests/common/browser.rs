//! A real browser for the dashboard tests: Debian's chromium, driven by Playwright (the scenarios
//! in `tests/browser/`, run with node), or loading one page headless and printing its DOM.

use super::services;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

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

/// The folder of the browser scenarios.
fn scenarios() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// Node, when installed (required when `OPTIBID_REQUIRE_SERVICES=1`).
pub fn node() -> Option<PathBuf> {
    services::program("node", &["/usr/bin/node", "/usr/local/bin/node"])
}

/// What the scenarios need: chromium, node and Playwright (`npm ci --prefix tests/browser`),
/// each required when `OPTIBID_REQUIRE_SERVICES=1`.
pub fn playwright() -> Option<(PathBuf, PathBuf)> {
    let (chromium, node) = (chromium()?, node()?);
    let installed = scenarios().join("node_modules/playwright-core/package.json").exists();
    if !installed {
        assert!(
            std::env::var("OPTIBID_REQUIRE_SERVICES").as_deref() != Ok("1"),
            "Playwright is required (OPTIBID_REQUIRE_SERVICES=1): run `npm ci --prefix tests/browser`"
        );
        eprintln!("SKIPPED: Playwright is not installed; run `npm ci --prefix tests/browser`");
        return None;
    }
    Some((chromium, node))
}

/// Runs the scenario `script` of `tests/browser/` with `env`, printing its steps. When it asks
/// for something (`ASK WHAT` on a line), `answer(WHAT)` does it and the scenario hears
/// `DONE WHAT`. Panics when the scenario fails.
pub fn run_scenario(
    (chromium, node): &(PathBuf, PathBuf),
    script: &str,
    env: &[(&str, &str)],
    mut answer: impl FnMut(&str),
) {
    let mut child = Command::new(node)
        .arg(scenarios().join(script))
        .current_dir(scenarios())
        .env("CHROMIUM", chromium)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs");
    let mut to_scenario = child.stdin.take().expect("piped");
    let mut steps = Vec::new();
    for line in BufReader::new(child.stdout.take().expect("piped")).lines() {
        let line = line.expect("reads the scenario's output");
        println!("{script}: {line}");
        if let Some(what) = line.strip_prefix("ASK ") {
            answer(what);
            let _ = writeln!(to_scenario, "DONE {what}");
        } else {
            steps.push(line);
        }
    }
    drop(to_scenario);
    let output = child.wait_with_output().expect("the scenario ends");
    assert!(
        output.status.success(),
        "{script} failed:\n{}\n{}",
        steps.join("\n"),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(steps.iter().any(|line| line.starts_with("ok - ")), "{script} ran no step");
}
