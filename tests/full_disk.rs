//! A full disk: on a small file system of the test's own (a tmpfs, which needs root), appends are
//! refused with 507 over HTTP and go unacknowledged over MQTT while the disk is full; nothing
//! stored is lost or corrupted, the same requests succeed once space is freed, and the audit
//! chain verifies.

mod common;

use common::http::Api;
use common::mqtt::{Connect, TestClient};
use common::telemetry::{meter, now_ms, register_meter, stored_power};
use common::{stderr, verify, Server};
use rumqttc::{Event, Packet};
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// A tmpfs mounted on a temporary folder, unmounted on drop.
struct SmallFileSystem {
    _dir: tempfile::TempDir,
    mount: PathBuf,
}

impl SmallFileSystem {
    /// Mounts a tmpfs of `size` (such as `96m`); `None`, with a message, where this process may
    /// not mount (not root), unless `OPTIBID_REQUIRE_SERVICES=1`.
    fn mount(size: &str) -> Option<SmallFileSystem> {
        let dir = tempfile::tempdir().expect("temp dir");
        let mount = dir.path().join("fs");
        std::fs::create_dir(&mount).expect("mount point");
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&mount)
            .output()
            .is_ok_and(|output| output.status.success());
        if mounted {
            return Some(SmallFileSystem { _dir: dir, mount });
        }
        assert!(
            std::env::var("OPTIBID_REQUIRE_SERVICES").as_deref() != Ok("1"),
            "mounting a tmpfs is required (OPTIBID_REQUIRE_SERVICES=1) but failed: run the tests as root"
        );
        eprintln!("SKIPPED: cannot mount a tmpfs (needs root); set OPTIBID_REQUIRE_SERVICES=1 to fail instead");
        None
    }

    /// Writes a file until the file system refuses more: the disk is then full.
    fn fill(&self) -> PathBuf {
        let path = self.mount.join("filler");
        let mut file = std::fs::File::create(&path).expect("filler");
        let chunk = vec![0xA5u8; 64 * 1024];
        while file.write_all(&chunk).and_then(|()| file.flush()).is_ok() {}
        assert!(fs2::available_space(&self.mount).expect("free space") < chunk.len() as u64, "the disk is full");
        path
    }
}

impl Drop for SmallFileSystem {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.mount).status();
    }
}

fn telemetry(power: f64, ts: i64) -> String {
    json!({ "ts": ts, "values": { "power_w": power } }).to_string()
}

#[test]
fn a_full_disk_refuses_appends_with_507_and_no_puback_and_both_succeed_once_space_is_freed() {
    let Some(disk) = SmallFileSystem::mount("96m") else { return };
    let data = disk.mount.join("data");
    let api = Api::over(Server::start(&data, &["--min-free-mib", "16"]));
    let token = api.admin();
    let secret = register_meter(&api, &token, "disk-1");
    let topic = "optibid/v1/devices/disk-1/telemetry";
    let device = TestClient::connect(
        &api.server.mqtt,
        Connect { client_id: "disk-1", login: Some(("disk-1", &secret)), ..Connect::default() },
    )
    .expect("connects");
    let t0 = now_ms();
    device.publish(topic, telemetry(100.0, t0));

    let filler = disk.fill();
    let refused = api.post("/api/v1/devices", &token, meter("disk-2"));
    assert_eq!(refused.status, 507, "{}", refused.body);
    assert_eq!(refused.body["error"]["code"], "insufficient_storage", "{}", refused.body);
    let command = api.post("/api/v1/devices/disk-1/commands", &token, json!({ "name": "reboot", "params": {} }));
    assert_eq!(command.status, 507, "a command is refused as well: {}", command.body);
    assert_eq!(api.get("/healthz", &token).status, 200, "the server keeps answering");
    device.send(topic, telemetry(200.0, t0 + 1_000));
    let acknowledged =
        device.arrives_within(Duration::from_secs(3), |event| matches!(event, Ok(Event::Incoming(Packet::PubAck(_)))));
    assert!(!acknowledged, "a message that cannot be stored is not acknowledged");

    std::fs::remove_file(&filler).expect("free the space");
    device.wait(|event| matches!(event, Ok(Event::Incoming(Packet::PubAck(_)))).then_some(()));
    let created = api.post("/api/v1/devices", &token, meter("disk-2"));
    assert_eq!(created.status, 201, "appends resume once space is freed: {}", created.body);
    assert_eq!(stored_power(&api, &token, "disk-1"), vec![(t0, 100.0), (t0 + 1_000, 200.0)], "each sample once");

    let Api { server, .. } = api;
    assert!(server.terminate().success(), "a clean stop");
    let verified = verify(&data);
    assert!(verified.status.success(), "the chain verifies after the full disk: {}", stderr(&verified));
}
