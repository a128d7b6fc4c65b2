//! `optibid serve` over real HTTP on a free loopback port.

mod common;

use common::OPTIBID;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

struct Server {
    child: Child,
    address: String,
}

impl Server {
    fn start(data: &std::path::Path) -> Server {
        let mut child = Command::new(OPTIBID)
            .args(["serve", "--http", "127.0.0.1:0", "--data"])
            .arg(data)
            .env("OPTIBID_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("serve starts");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("reads the address");
        let address = line.trim().rsplit("http://").next().expect("address").to_owned();
        Server { child, address }
    }

    fn get(&self, path: &str) -> String {
        let mut stream = TcpStream::connect(&self.address).expect("connects");
        write!(stream, "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", self.address).expect("writes");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("reads");
        response
    }

    fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs");
        self.child.wait().expect("exits")
    }
}

#[test]
fn healthz_answers_with_a_request_id_and_sigterm_stops_cleanly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("data"));
    let response = server.get("/healthz");
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
    let server = Server::start(&data);
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
