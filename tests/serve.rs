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
