//! `optibid serve` over real HTTP on a free loopback port.

mod common;

use common::{Server, OPTIBID};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;

#[test]
fn healthz_answers_with_a_request_id_and_sigterm_stops_cleanly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("data"), &[]);
    let response = get(&server, "/healthz");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.to_ascii_lowercase().contains("x-request-id:"), "{response}");
    assert!(response.contains("\"status\":\"ok\""), "{response}");
    let status = server.terminate();
    assert!(status.success(), "{status:?}");
}

#[test]
fn sigterm_stops_the_server_while_a_live_stream_is_open() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut server = Server::start(&dir.path().join("data"), &[]);
    let token = server.admin_token.clone().expect("an admin token");
    let mut stream = TcpStream::connect(&server.address).expect("connects");
    write!(stream, "GET /api/v1/events/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n")
        .expect("asks for the stream");
    let mut head = [0_u8; 64];
    let read = stream.read(&mut head).expect("the stream answers");
    assert!(String::from_utf8_lossy(&head[..read]).starts_with("HTTP/1.1 200"), "the stream is open");
    let mut metrics = TcpStream::connect(&server.address).expect("connects");
    write!(metrics, "GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n")
        .expect("asks for the metrics");
    let mut text = String::new();
    metrics.read_to_string(&mut text).expect("reads");
    assert!(text.contains("optibid_live_stream_clients 1"), "the open stream is counted: {text}");
    let pid = server.child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs");
    // The HTTP server would wait 30 s for an open response before it gives up on it: the live
    // streams end at shutdown, so the process is gone long before that.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let status = loop {
        if let Some(status) = server.child.try_wait().expect("waits") {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "serve still runs 20 s after SIGTERM with a live stream open");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest);
}

#[test]
fn a_second_serve_on_the_same_folder_or_port_says_why_it_cannot_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let server = Server::start(&data, &[]);
    let same_folder =
        Command::new(OPTIBID).args(["serve", "--http", "127.0.0.1:0", "--data"]).arg(&data).output().expect("runs");
    assert!(!same_folder.status.success());
    assert!(String::from_utf8_lossy(&same_folder.stderr).contains("in use by another optibid process"));

    let same_port = Command::new(OPTIBID)
        .args(["serve", "--http", &server.address, "--data"])
        .arg(dir.path().join("other"))
        .output()
        .expect("runs");
    assert!(!same_port.status.success());
    assert!(
        String::from_utf8_lossy(&same_port.stderr).contains("--http"),
        "{}",
        String::from_utf8_lossy(&same_port.stderr)
    );
    assert!(server.terminate().success());
}

fn get(server: &Server, path: &str) -> String {
    let mut stream = TcpStream::connect(&server.address).expect("connects");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", server.address).expect("writes");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("reads");
    response
}
