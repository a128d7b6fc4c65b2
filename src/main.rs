//! The `optibid` binary.

use clap::Parser;
use optibid::cli::{self, Cli};
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

/// mimalloc instead of the system allocator: the append path, the HTTP server and the read
/// models allocate many small, short-lived buffers from several threads (docs/dependencies.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let filter = EnvFilter::try_from_env("OPTIBID_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("OPTIBID_LOG_FORMAT").is_ok_and(|format| format == "json");
    let subscriber = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if json {
        subscriber.json().init();
    } else {
        subscriber.init();
    }
    match cli::run(Cli::parse()).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
