//! Time to bring an instance back: snapshot plus tail, and a full actor spawn.

use super::quantile;
use super::workload::{configuration_command, registration};
use crate::actors::rehydrate::rehydrate;
use crate::actors::{CommandMetadata, DirectoryConfig, Platform};
use crate::store::{SledEventLog, StreamName};
use optibid_domain::device::Device;
use optibid_snapshots::SnapshotPolicy;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Figures of a rehydration run.
#[derive(Debug, Clone)]
pub struct RehydrationFigures {
    /// Instances measured.
    pub instances: usize,
    /// Events per instance.
    pub events_per_instance: usize,
    /// Median time of `rehydrate` (latest snapshot plus tail).
    pub rehydrate_p50: Duration,
    /// Median time from asking a fresh directory for an instance's state to the answer
    /// (actor spawn, rehydration, one round trip).
    pub spawn_p50: Duration,
    /// Median time of `rehydrate` with snapshots disabled (full replay), for comparison.
    pub replay_p50: Duration,
}

/// Writes `instances` devices with `events_per_instance` events each through the actors
/// (snapshots every `snapshot_every`), then measures.
pub async fn measure(
    log: Arc<SledEventLog>,
    instances: usize,
    events_per_instance: usize,
    snapshot_every: u64,
) -> anyhow::Result<RehydrationFigures> {
    let config =
        DirectoryConfig { snapshots: SnapshotPolicy { every: snapshot_every, keep: 2 }, ..DirectoryConfig::default() };
    let platform = Arc::new(Platform::start(log.clone(), config).await?);
    let mut writers = Vec::new();
    for n in 0..instances {
        let platform = platform.clone();
        writers.push(tokio::spawn(async move {
            let id = format!("bench-{n:06}");
            platform.devices.execute(&id, registration(n)?, CommandMetadata::default()).await?;
            for sequence in 1..events_per_instance as u64 {
                platform.devices.execute(&id, configuration_command(sequence), CommandMetadata::default()).await?;
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    for writer in writers {
        writer.await??;
    }
    platform.devices.shutdown().await;
    let snapshots = Platform::snapshot_store(&log, 2)?;
    let no_snapshots = optibid_snapshots::SnapshotStore::new(log.database().open_tree("bench-no-snapshots")?, 1);
    let streams: Vec<StreamName> =
        (0..instances).map(|n| StreamName::new("device", &format!("bench-{n:06}"))).collect::<Result<_, _>>()?;
    let mut with_snapshot = Vec::with_capacity(instances);
    let mut full_replay = Vec::with_capacity(instances);
    for stream in &streams {
        let started = Instant::now();
        let loaded = rehydrate::<Device>(log.as_ref(), &snapshots, stream)?;
        with_snapshot.push(started.elapsed());
        anyhow::ensure!(loaded.version == events_per_instance as u64, "{stream} rehydrated at the wrong version");
        let started = Instant::now();
        rehydrate::<Device>(log.as_ref(), &no_snapshots, stream)?;
        full_replay.push(started.elapsed());
    }
    let fresh = Platform::start(log.clone(), config).await?;
    let mut spawns = Vec::with_capacity(instances);
    for stream in &streams {
        let started = Instant::now();
        fresh.devices.state(stream.id()).await?;
        spawns.push(started.elapsed());
    }
    fresh.devices.shutdown().await;
    Ok(RehydrationFigures {
        instances,
        events_per_instance,
        rehydrate_p50: quantile(&mut with_snapshot, 0.5),
        spawn_p50: quantile(&mut spawns, 0.5),
        replay_p50: quantile(&mut full_replay, 0.5),
    })
}
