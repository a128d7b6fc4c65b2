//! Machine services (a broker on its standard port): used when present, skipped with a clear
//! message when absent, and required when `OPTIBID_REQUIRE_SERVICES=1`.

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Whether `name` answers on `address`. Panics when it does not and services are required.
pub fn available(name: &str, address: &str) -> bool {
    let reachable = address
        .parse::<SocketAddr>()
        .is_ok_and(|addr| TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok());
    if reachable {
        return true;
    }
    assert!(
        std::env::var("OPTIBID_REQUIRE_SERVICES").as_deref() != Ok("1"),
        "{name} is required (OPTIBID_REQUIRE_SERVICES=1) but nothing answers on {address}"
    );
    eprintln!("SKIPPED: {name} is not reachable on {address}; set OPTIBID_REQUIRE_SERVICES=1 to fail instead");
    false
}

/// The path of a program, when it is installed. Panics when it is not and services are required.
pub fn program(name: &str, candidates: &[&str]) -> Option<std::path::PathBuf> {
    if let Some(found) = candidates.iter().map(std::path::PathBuf::from).find(|p| p.exists()) {
        return Some(found);
    }
    assert!(
        std::env::var("OPTIBID_REQUIRE_SERVICES").as_deref() != Ok("1"),
        "{name} is required (OPTIBID_REQUIRE_SERVICES=1) but is not installed at any of {candidates:?}"
    );
    eprintln!("SKIPPED: {name} is not installed; set OPTIBID_REQUIRE_SERVICES=1 to fail instead");
    None
}

/// A free loopback TCP port, for programs of others that cannot bind port 0 and say which port
/// they got (Mosquitto); servers of ours bind port 0 and print their address.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}
