//! Changing one stored byte, or removing events, is caught by `audit verify` at the right
//! global position; an auditor's checkpoint proves the log up to it unchanged.

mod common;

use common::{optibid, stderr, stdout, verify};
use optibid::store::{keys, SledEventLog};
use std::path::Path;

fn fill(data: &Path, events: usize) {
    let output = optibid(&[
        "bench",
        "appends",
        "--appenders",
        "4",
        "--events",
        &events.to_string(),
        "--data",
        &data.to_string_lossy(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
}

fn checkpoint(data: &Path) -> String {
    let output = optibid(&["audit", "checkpoint", "--data", &data.to_string_lossy()]);
    assert!(output.status.success(), "{}", stderr(&output));
    stdout(&output).trim().to_owned()
}

fn flip_byte(data: &Path, position: u64, offset_from_end: usize) {
    let log = SledEventLog::open(data).expect("opens");
    let tree = log.raw_events_tree();
    let key = keys::log_key(position);
    let mut bytes = tree.get(key).expect("reads").expect("event exists").to_vec();
    let index = bytes.len() - offset_from_end;
    bytes[index] ^= 0x01;
    tree.insert(key, bytes).expect("writes");
    log.durability().wait_blocking().expect("durable");
}

#[test]
fn one_flipped_byte_fails_verification_at_its_position() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    fill(&data, 400);
    let intact = verify(&data);
    assert!(intact.status.success(), "{}", stdout(&intact));
    assert!(stdout(&intact).contains("log intact: 400 events"), "{}", stdout(&intact));

    flip_byte(&data, 137, 120);
    let broken = verify(&data);
    assert_eq!(broken.status.code(), Some(2), "{}", stdout(&broken));
    assert!(stdout(&broken).contains("global position 137"), "{}", stdout(&broken));
}

#[test]
fn a_flipped_hash_byte_is_caught_too() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    fill(&data, 100);
    flip_byte(&data, 42, 1);
    let broken = verify(&data);
    assert_eq!(broken.status.code(), Some(2));
    assert!(stdout(&broken).contains("global position 42"), "{}", stdout(&broken));
}

#[test]
fn a_checkpoint_proves_the_log_unchanged_and_catches_truncation() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    fill(&data, 120);
    let kept = checkpoint(&data);
    assert!(kept.starts_with("120:"), "{kept}");
    fill(&data, 30);
    let later = optibid(&["audit", "verify", "--data", &data.to_string_lossy(), "--checkpoint", &kept]);
    assert!(later.status.success(), "{}", stdout(&later));
    assert!(stdout(&later).contains("matches"));

    let log = SledEventLog::open(&data).expect("opens");
    let head = optibid::store::EventLog::head(&log).position;
    assert!(head > 120);
    for position in 101..=head {
        log.raw_events_tree().remove(keys::log_key(position)).expect("removes");
    }
    log.durability().wait_blocking().expect("durable");
    drop(log);
    let truncated = optibid(&["audit", "verify", "--data", &data.to_string_lossy(), "--checkpoint", &kept]);
    assert_eq!(truncated.status.code(), Some(2), "{}", stdout(&truncated));
    assert!(stdout(&truncated).contains("global position 120"), "{}", stdout(&truncated));

    let forged = format!("120:{}", "0".repeat(64));
    let wrong = optibid(&["audit", "verify", "--data", &data.to_string_lossy(), "--checkpoint", &forged]);
    assert_eq!(wrong.status.code(), Some(2));
}

#[test]
fn a_stream_index_entry_that_points_elsewhere_fails_verification() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    fill(&data, 200);
    let log = SledEventLog::open(&data).expect("opens");
    let tree = log.raw_events_tree();
    let (key, mut chunk) = tree
        .scan_prefix(keys::chunk_prefix())
        .next()
        .expect("the index was checkpointed when the writer closed")
        .expect("reads");
    let mut bytes = chunk.to_vec();
    bytes[8] ^= 0x01;
    chunk = bytes.into();
    tree.insert(key, chunk).expect("writes");
    log.durability().wait_blocking().expect("durable");
    drop(log);
    let broken = verify(&data);
    assert_eq!(broken.status.code(), Some(2), "{}", stdout(&broken));
    assert!(stdout(&broken).contains("stream index"), "{}", stdout(&broken));
}
