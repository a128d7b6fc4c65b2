//! Resident memory of many live device actors.

use super::workload::registration;
use crate::actors::{CommandMetadata, DirectoryConfig, Platform};
use crate::store::SledEventLog;
use std::sync::Arc;
use std::time::Duration;

/// Figures of a memory run.
#[derive(Debug, Clone)]
pub struct MemoryFigures {
    /// Live actors.
    pub actors: usize,
    /// Resident memory before spawning them, bytes.
    pub rss_before: u64,
    /// Resident memory with all of them live, bytes.
    pub rss_after: u64,
}

/// Resident set size of this process, bytes (Linux `/proc/self/status`).
pub fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1_024)
}

/// Registers `count` devices through their actors, keeps them all live, and measures RSS.
pub async fn measure(log: Arc<SledEventLog>, count: usize, concurrency: usize) -> anyhow::Result<MemoryFigures> {
    let config = DirectoryConfig { passivate_after: Duration::from_secs(24 * 3_600), ..DirectoryConfig::default() };
    let platform = Arc::new(Platform::start(log, config).await?);
    let rss_before = resident_bytes().unwrap_or(0);
    let concurrency = concurrency.max(1);
    let mut workers = Vec::new();
    for worker in 0..concurrency {
        let platform = platform.clone();
        workers.push(tokio::spawn(async move {
            for n in (worker..count).step_by(concurrency) {
                let id = format!("bench-{n:06}");
                platform.devices.execute(&id, registration(n)?, CommandMetadata::default()).await?;
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    for worker in workers {
        worker.await??;
    }
    anyhow::ensure!(platform.devices.live_instances() == count, "not every actor is live");
    let rss_after = resident_bytes().unwrap_or(0);
    platform.devices.shutdown().await;
    Ok(MemoryFigures { actors: count, rss_before, rss_after })
}
