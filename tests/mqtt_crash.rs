//! Acknowledged means stored: paho-mqtt devices stream numbered QoS 1 messages into the
//! embedded endpoint while the server is killed (kill -9) or stopped (SIGTERM) and restarted.
//! Every message a device saw acknowledged is in the log, no sample is stored twice, and the
//! audit chain verifies. `OPTIBID_CRASH_CYCLES` sets the number of cycles (default 4).

mod common;

use common::http::Api;
use common::telemetry::{now_ms, register_meter, stored_values};
use common::{paho, verify, Server};
use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::process::Child;
use std::time::Duration;

const DEVICES: usize = 4;

/// One device's stream of numbered messages.
struct Stream {
    id: String,
    secret: String,
    acked: std::path::PathBuf,
}

impl Stream {
    /// Starts paho publishing `count` messages from `first` (MQTT `version`).
    fn spawn(&self, server: &Server, version: &str, first: u64, count: u64, base_ts: i64) -> Child {
        let (host, port) = server.mqtt.rsplit_once(':').expect("HOST:PORT");
        paho::command(
            "stream",
            &[
                host,
                port,
                version,
                &self.id,
                &self.secret,
                &first.to_string(),
                &count.to_string(),
                &base_ts.to_string(),
                &self.acked.to_string_lossy(),
            ],
        )
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs")
    }

    /// The numbers the device saw acknowledged.
    fn acknowledged(&self) -> BTreeSet<u64> {
        std::fs::read_to_string(&self.acked)
            .unwrap_or_default()
            .lines()
            .map(|line| line.parse().expect("a number per line"))
            .collect()
    }
}

/// The (timestamp, metric) a message number was published as.
fn sample_of(number: u64, base_ts: i64) -> (i64, String) {
    let metric = if number.is_multiple_of(2) { "power_w" } else { "temp_c" };
    (base_ts + (number / 2) as i64, metric.to_owned())
}

fn streams(api: &Api, token: &str, dir: &Path) -> Vec<Stream> {
    (0..DEVICES)
        .map(|i| {
            let id = format!("crash-{i}");
            let secret = register_meter(api, token, &id);
            Stream { id: id.clone(), secret, acked: dir.join(format!("{id}.acked")) }
        })
        .collect()
}

/// Checks every acknowledged number is stored exactly once; returns how many were acknowledged.
fn check(api: &Api, token: &str, streams: &[Stream], base_ts: i64) -> usize {
    let mut acknowledged = 0;
    for stream in streams {
        let stored = stored_values(api, token, &stream.id);
        let mut times: HashMap<(i64, String), usize> = HashMap::new();
        for (ts, metric, _) in &stored {
            *times.entry((*ts, metric.clone())).or_default() += 1;
        }
        let twice: Vec<_> = times.iter().filter(|(_, n)| **n > 1).map(|(k, _)| k.clone()).collect();
        assert!(twice.is_empty(), "{}: stored more than once: {:?}", stream.id, &twice[..twice.len().min(5)]);
        let acked = stream.acknowledged();
        let lost: Vec<u64> = acked.iter().copied().filter(|n| !times.contains_key(&sample_of(*n, base_ts))).collect();
        assert!(
            lost.is_empty(),
            "{}: {} acknowledged and lost, first {:?}",
            stream.id,
            lost.len(),
            &lost[..lost.len().min(5)]
        );
        acknowledged += acked.len();
    }
    acknowledged
}

#[test]
fn one_metric_per_message_at_millisecond_time_keeps_every_sample() {
    if !paho::available() {
        return;
    }
    let (dir, api) = Api::start();
    let token = api.admin();
    let streams = streams(&api, &token, dir.path());
    let base_ts = now_ms() - 3_600_000;
    let children: Vec<Child> = streams
        .iter()
        .enumerate()
        .map(|(i, s)| s.spawn(&api.server, if i % 2 == 0 { "5" } else { "3" }, 0, 2_000, base_ts))
        .collect();
    for child in children {
        assert!(child.wait_with_output().expect("paho ends").status.success());
    }
    assert_eq!(check(&api, &token, &streams, base_ts), DEVICES * 2_000, "every message is acknowledged");
    for stream in &streams {
        assert_eq!(stored_values(&api, &token, &stream.id).len(), 2_000, "{}", stream.id);
    }
}

#[test]
fn kill_9_and_sigterm_lose_no_acknowledged_message() {
    if !paho::available() {
        return;
    }
    let cycles: u64 = std::env::var("OPTIBID_CRASH_CYCLES").ok().and_then(|v| v.parse().ok()).unwrap_or(4);
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let api = Api::over(Server::start(&data, &[]));
    let token = api.admin();
    let streams = streams(&api, &token, dir.path());
    let base_ts = now_ms() - 3_600_000;
    let per_cycle = 20_000;
    let mut server = api.server;
    for cycle in 0..cycles {
        let children: Vec<Child> = streams
            .iter()
            .enumerate()
            .map(|(i, s)| s.spawn(&server, if i % 2 == 0 { "5" } else { "3" }, cycle * per_cycle, per_cycle, base_ts))
            .collect();
        std::thread::sleep(Duration::from_millis(1_500 + 250 * (cycle % 4)));
        if cycle.is_multiple_of(2) {
            server.child.kill().expect("kill -9");
            server.child.wait().expect("exits");
        } else {
            let status = server.terminate();
            assert!(status.success(), "SIGTERM stops the server cleanly: {status}");
        }
        for child in children {
            child.wait_with_output().expect("paho ends");
        }
        server = Server::start(&data, &[]);
    }
    let api = Api::over(server);
    let acknowledged = check(&api, &token, &streams, base_ts);
    assert!(acknowledged > 0, "the devices got acknowledgements before each stop");
    eprintln!("{cycles} cycles: {acknowledged} acknowledged messages, none lost, none stored twice");
    drop(api);
    let verified = verify(&data);
    assert!(verified.status.success(), "audit verify: {}", common::stderr(&verified));
}
