//! Kill -9 the binary in the middle of durable appends, many times over: every acknowledged
//! event must survive, and the log must verify after each restart.

mod common;

use common::{export, optibid, stderr, stdout, verify, OPTIBID};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// Kill cycles; raise with `OPTIBID_CRASH_CYCLES` for a longer soak.
fn cycles() -> usize {
    std::env::var("OPTIBID_CRASH_CYCLES").ok().and_then(|v| v.parse().ok()).unwrap_or(12)
}

#[test]
fn acknowledged_appends_survive_repeated_kill_9() {
    kill_9_cycles(cycles(), "2000");
}

/// With the stream index checkpointed every millisecond, most kills land while a checkpoint is
/// being written or waits for its flush.
#[test]
fn acknowledged_appends_survive_kill_9_during_index_checkpoints() {
    kill_9_cycles(cycles().div_ceil(2), "1");
}

/// Kills `bench appends` `cycles` times at varying points, checkpointing the stream index at
/// least every `checkpoint_ms`; verifies the folder after each kill and, at the end, that every
/// acknowledged event is stored at its acknowledged position.
fn kill_9_cycles(cycles: usize, checkpoint_ms: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let mut acknowledged: HashMap<String, u64> = HashMap::new();
    for cycle in 0..cycles {
        let mut child = Command::new(OPTIBID)
            .args(["bench", "appends", "--appenders", "16", "--events", "100000000", "--print-acks"])
            .args(["--index-checkpoint-ms", checkpoint_ms, "--data"])
            .arg(&data)
            .env("OPTIBID_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("optibid starts");
        let acks = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(acks).lines();
        let kill_after = 300 + (cycle * 397) % 2_500;
        let mut seen = 0;
        while seen < kill_after {
            let Some(Ok(line)) = lines.next() else { break };
            record_ack(&line, &mut acknowledged);
            seen += 1;
        }
        child.kill().expect("kill -9");
        for line in lines.map_while(Result::ok) {
            record_ack(&line, &mut acknowledged);
        }
        child.wait().expect("reaped");
        assert!(seen >= kill_after, "cycle {cycle}: the appender stopped after {seen} acknowledgements");

        let verified = verify(&data);
        assert!(
            verified.status.success(),
            "cycle {cycle}: verify failed after kill -9: {} {}",
            stdout(&verified),
            stderr(&verified)
        );
    }
    let stored: HashMap<String, u64> = export(&data)
        .into_iter()
        .map(|event| {
            (event["event_id"].as_str().expect("id").to_owned(), event["position"].as_u64().expect("position"))
        })
        .collect();
    let lost: Vec<_> = acknowledged.iter().filter(|(id, position)| stored.get(*id) != Some(position)).collect();
    assert!(lost.is_empty(), "{} acknowledged events lost or moved, such as {:?}", lost.len(), lost.first());
    assert!(acknowledged.len() > cycles * 300);
    let checkpoint = optibid(&["audit", "checkpoint", "--data", &data.to_string_lossy()]);
    assert!(stdout(&checkpoint).trim().starts_with(&format!("{}:", stored.len())));
}

fn record_ack(line: &str, acknowledged: &mut HashMap<String, u64>) {
    let mut parts = line.split_whitespace();
    if let (Some("ack"), Some(id), Some(position)) = (parts.next(), parts.next(), parts.next()) {
        acknowledged.insert(id.to_owned(), position.parse().expect("numeric position"));
    }
}
