//! `optibid bench`: measurements on this machine (build with `--release`).

use crate::actors::{DirectoryConfig, Platform};
use crate::bench::appends::RawLayout;
use crate::bench::{
    appends, ingest, maintenance_cost, memory, projection_lag, registrations, rehydration, reopen, replay,
    telemetry_fill,
};
use crate::store::{EventLog, SledEventLog, StoreOptions};
use anyhow::Context;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// The measurements.
#[derive(Debug, clap::Subcommand)]
pub enum BenchCommand {
    /// What the live maintenance analysis costs per series: one anomaly-detector step and one
    /// trend step per value, and the memory of one series' state.
    Maintenance {
        /// Series (device metrics) analysed at once.
        #[arg(long, default_value_t = 10_000)]
        series: usize,
        /// Minute values fed to each.
        #[arg(long, default_value_t = 2_000)]
        values: usize,
    },
    /// Durable appends per second with concurrent appenders, beside raw sled in the same run.
    Appends {
        /// Concurrent appenders to measure, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "1,16,256")]
        appenders: Vec<usize>,
        /// Events per measurement.
        #[arg(long, default_value_t = 20_000)]
        events: usize,
        /// Append into this data folder instead of a temporary one (no raw-sled ceiling then).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Print `ack EVENT_ID POSITION` for every acknowledged event (for durability tests).
        #[arg(long)]
        print_acks: bool,
        /// Longest time between two checkpoints of the stream index, milliseconds.
        #[arg(long, default_value_t = 2_000, value_parser = clap::value_parser!(u64).range(1..))]
        index_checkpoint_ms: u64,
    },
    /// Full-log verification throughput, beside a raw sled scan with a BLAKE3 chain.
    Replay {
        /// Events in the log.
        #[arg(long, default_value_t = 1_000_000)]
        events: usize,
    },
    /// Time to open a log of many events with its stream index ready: after a clean close, and
    /// with the whole log to index.
    Reopen {
        /// Events in the log.
        #[arg(long, default_value_t = 1_000_000)]
        events: usize,
    },
    /// Rehydration time of device actors from snapshot plus tail.
    Rehydrate {
        /// Devices.
        #[arg(long, default_value_t = 1_000)]
        instances: usize,
        /// Events per device.
        #[arg(long, default_value_t = 250)]
        events_per_instance: usize,
        /// Snapshot every N events.
        #[arg(long, default_value_t = 100)]
        snapshot_every: u64,
    },
    /// End-to-end MQTT telemetry ingest through the platform's endpoint (publish to a PUBACK
    /// that means durable), beside the transport acknowledging on receipt and raw sled appends.
    Ingest {
        /// Publishing devices, one MQTT connection each.
        #[arg(long, default_value_t = 1_000)]
        devices: usize,
        /// Messages in all (one sample each).
        #[arg(long, default_value_t = 200_000)]
        messages: usize,
        /// Messages per second over all devices (default: as fast as acknowledgements allow).
        #[arg(long)]
        rate: Option<f64>,
        /// Unacknowledged publishes each device may have.
        #[arg(long, default_value_t = 10)]
        inflight: u16,
        /// Ingest round window, milliseconds.
        #[arg(long, default_value_t = 0)]
        window_ms: u64,
    },
    /// Write benchmark inverters and their telemetry into a data folder (then measure with
    /// `optibid projections rebuild` or a live `serve`).
    FillTelemetry {
        /// The data folder.
        #[arg(long)]
        data: PathBuf,
        /// Devices.
        #[arg(long, default_value_t = 200)]
        devices: usize,
        /// Telemetry events per device.
        #[arg(long, default_value_t = 100)]
        batches: usize,
        /// Samples per event.
        #[arg(long, default_value_t = 30)]
        samples: usize,
    },
    /// Live lag of every read model while benchmark inverters append telemetry as the ingest
    /// does.
    ProjectionLag {
        /// Appending devices.
        #[arg(long, default_value_t = 256)]
        devices: usize,
        /// Telemetry events per device.
        #[arg(long, default_value_t = 200)]
        rounds: usize,
        /// Samples per event.
        #[arg(long, default_value_t = 1)]
        samples: usize,
        /// Events per second over all devices (default: as fast as the log takes them).
        #[arg(long)]
        rate: Option<f64>,
    },
    /// Device registrations per second over HTTP (event and MQTT secret durable per answer).
    Registrations {
        /// Concurrent HTTP clients.
        #[arg(long, default_value_t = 64)]
        clients: usize,
        /// Registrations in all.
        #[arg(long, default_value_t = 10_000)]
        devices: usize,
    },
    /// Resident memory of many live device actors.
    Actors {
        /// Live device actors.
        #[arg(long, default_value_t = 100_000)]
        count: usize,
    },
}

pub(super) async fn run(command: BenchCommand) -> anyhow::Result<ExitCode> {
    match command {
        BenchCommand::Appends { appenders, events, data, print_acks, index_checkpoint_ms } => {
            let options = StoreOptions {
                index_checkpoint_interval: Duration::from_millis(index_checkpoint_ms),
                ..StoreOptions::default()
            };
            bench_appends(appenders, events, data, print_acks, options).await?
        }
        BenchCommand::FillTelemetry { data, devices, batches, samples } => {
            let log = Arc::new(SledEventLog::open(&data)?);
            let platform = Platform::start(log, DirectoryConfig::default()).await?;
            let fill = telemetry_fill::Fill { devices: devices.max(1), batches, samples: samples.clamp(1, 1_000) };
            let bar = super::fleet_registration::progress(fill.devices * fill.batches, "writing telemetry");
            let started = std::time::Instant::now();
            let written = telemetry_fill::fill(&platform, fill, |n| bar.set_position(n)).await?;
            bar.finish_and_clear();
            let head = platform.log.head().position;
            platform.shutdown().await;
            println!(
                "wrote {written} telemetry events ({} samples) for {} devices in {:.1} s; log head {head}",
                written * fill.samples as u64,
                fill.devices,
                started.elapsed().as_secs_f64(),
            );
        }
        BenchCommand::Ingest { devices, messages, rate, inflight, window_ms } => {
            let load = ingest::Load {
                devices: devices.max(1),
                messages,
                rate,
                inflight,
                window: std::time::Duration::from_millis(window_ms),
            };
            let transport = ingest::measure_transport(load).await?;
            let figures = ingest::measure_endpoint(tempfile_folder()?.path(), load).await?;
            let raw_folder = tempfile_folder()?;
            let raw = appends::raw_sled_inserts(
                &raw_folder.path().join("raw"),
                messages.min(200_000),
                256,
                RawLayout::RecordOnly,
            )?;
            let publish = &figures.publish;
            println!(
                "ingest through the endpoint: {} of {} messages from {} devices acknowledged durable, {:.0} messages/s, \
                 publish-to-PUBACK p50 {:?}, p99 {:?}; {} telemetry events in {} rounds; acknowledged but not stored: {}, \
                 stored twice: {}",
                publish.acknowledged,
                figures.published,
                load.devices,
                publish.per_second,
                publish.p50,
                publish.p99,
                figures.telemetry_events,
                figures.rounds,
                figures.lost,
                figures.duplicated,
            );
            println!(
                "same run: transport acknowledging on receipt {:.0} messages/s (p50 {:?}, p99 {:?}), ratio {:.2}; \
                 raw sled one key per event in batches of 256 {raw:.0} events/s",
                transport.per_second,
                transport.p50,
                transport.p99,
                publish.per_second / transport.per_second.max(1e-9),
            );
        }
        BenchCommand::ProjectionLag { devices, rounds, samples, rate } => {
            let folder = tempfile_folder()?;
            let log = Arc::new(SledEventLog::open(folder.path())?);
            let platform = Arc::new(Platform::start(log, DirectoryConfig::default()).await?);
            let state = Arc::new(crate::gateway::AppState::start(platform.clone())?);
            let load = projection_lag::LagLoad {
                devices: devices.max(1),
                rounds: rounds.max(1),
                samples: samples.clamp(1, 1_000),
                rate,
            };
            let figures = projection_lag::measure(state, load).await?;
            println!(
                "projection lag: {} telemetry events of {} samples from {} devices at {:.0} events/s",
                figures.events, load.samples, load.devices, figures.events_per_second
            );
            for lag in &figures.lags {
                println!("  {:<24} p50 {:>10.1?}  p99 {:>10.1?}  max {:>10.1?}", lag.name, lag.p50, lag.p99, lag.max);
            }
            platform.shutdown().await;
        }
        BenchCommand::Reopen { events } => {
            let folder = tempfile_folder()?;
            let log = Arc::new(SledEventLog::open(folder.path())?);
            let bar = super::fleet_registration::progress(events, "filling the log");
            let filling = tokio::spawn({
                let log = log.clone();
                async move { replay::fill(log, events).await }
            });
            while !filling.is_finished() {
                bar.set_position(log.head().position);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            filling.await??;
            bar.finish_and_clear();
            log.close();
            drop(log);
            let figures = reopen::measure(folder.path())?;
            println!(
                "reopen of a {}-event log: {:?} with its index checkpoint; {:?} indexing the whole log ({:.0} events/s)",
                figures.events,
                figures.checkpointed,
                figures.unindexed,
                figures.indexed_per_second()
            );
        }
        BenchCommand::Replay { events } => {
            let folder = tempfile_folder()?;
            let log = Arc::new(SledEventLog::open(folder.path())?);
            replay::fill(log.clone(), events).await?;
            let figures = replay::measure(&log)?;
            println!(
                "replay with verification: {} events, {:.0} events/s; raw sled scan + blake3 chain: {:.0} events/s; ratio {:.2}",
                figures.events,
                figures.verified_per_second,
                figures.raw_per_second,
                figures.verified_per_second / figures.raw_per_second
            );
        }
        BenchCommand::Rehydrate { instances, events_per_instance, snapshot_every } => {
            let folder = tempfile_folder()?;
            let log = Arc::new(SledEventLog::open(folder.path())?);
            let figures = rehydration::measure(log, instances, events_per_instance, snapshot_every).await?;
            println!(
                "rehydration of {} devices with {} events (snapshot every {snapshot_every}): median {:?} from snapshot, {:?} full replay; actor spawn + first answer median {:?}",
                figures.instances, figures.events_per_instance, figures.rehydrate_p50, figures.replay_p50, figures.spawn_p50
            );
        }
        BenchCommand::Registrations { clients, devices } => {
            let load = registrations::RegistrationLoad { clients: clients.max(1), devices: devices.max(1) };
            let figures = registrations::measure(tempfile_folder()?.path(), load).await?;
            println!(
                "registrations over HTTP, {} clients: {} registered, {:.0}/s, p50 {:?}, p99 {:?}",
                load.clients, figures.registered, figures.per_second, figures.p50, figures.p99
            );
        }
        BenchCommand::Maintenance { series, values } => {
            let cost = maintenance_cost::measure(series.max(1), values.max(1));
            println!(
                "maintenance analysis, {} series × {} values: detector {:.0} ns and trend {:.0} ns per value (medians); \
                 {:.0} bytes resident and {} bytes stored per series",
                cost.series, cost.values, cost.detector_ns, cost.trend_ns, cost.resident_per_series, cost.stored_per_series
            );
        }
        BenchCommand::Actors { count } => {
            let folder = tempfile_folder()?;
            let log = Arc::new(SledEventLog::open(folder.path())?);
            let figures = memory::measure(log, count, 256).await?;
            let added = figures.rss_after.saturating_sub(figures.rss_before);
            println!(
                "{} live device actors: resident memory {:.1} MiB (was {:.1} MiB before spawning them; {:.0} bytes per actor)",
                figures.actors,
                figures.rss_after as f64 / 1_048_576.0,
                figures.rss_before as f64 / 1_048_576.0,
                added as f64 / figures.actors.max(1) as f64
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn bench_appends(
    appenders: Vec<usize>,
    events: usize,
    data: Option<PathBuf>,
    print_acks: bool,
    options: StoreOptions,
) -> anyhow::Result<()> {
    for count in appenders {
        let temporary = tempfile_folder()?;
        let folder = data.clone().unwrap_or_else(|| temporary.path().join("log"));
        let log = Arc::new(SledEventLog::open_with(&folder, options)?);
        let (acks, printer) = if print_acks {
            let (sender, mut receiver) = mpsc::unbounded_channel::<appends::Ack>();
            let printer = tokio::spawn(async move {
                let mut stdout = std::io::stdout();
                while let Some(ack) = receiver.recv().await {
                    let _ = writeln!(stdout, "ack {} {}", ack.event_id, ack.position);
                    let _ = stdout.flush();
                }
            });
            (Some(sender), Some(printer))
        } else {
            (None, None)
        };
        let figures = appends::durable_appends(log.clone(), count, events, acks).await?;
        if let Some(printer) = printer {
            printer.await?;
        }
        log.close();
        let raw = if data.is_none() {
            let root = temporary.path();
            let batched = appends::raw_sled_inserts(&root.join("raw-1"), events, 256, RawLayout::RecordOnly)?;
            let single = appends::raw_sled_inserts(&root.join("raw-2"), events.min(5_000), 1, RawLayout::RecordOnly)?;
            let indexed = appends::raw_sled_inserts(&root.join("raw-3"), events, 256, RawLayout::RecordAndIndexes)?;
            format!(
                "; raw sled same run: {batched:.0}/s one key per event in batches of 256 (ratio {:.2}), \
                 {indexed:.0}/s with the log's three keys per event (ratio {:.2}), {single:.0}/s one flush per event",
                figures.events_per_second / batched,
                figures.events_per_second / indexed
            )
        } else {
            String::new()
        };
        eprintln!(
            "durable appends, {} appenders: {} events of {} bytes, {:.0} events/s, p50 {:?}, p99 {:?}{raw}",
            figures.appenders,
            figures.events,
            figures.record_bytes,
            figures.events_per_second,
            figures.p50,
            figures.p99
        );
    }
    Ok(())
}

fn tempfile_folder() -> anyhow::Result<tempfile::TempDir> {
    tempfile::Builder::new().prefix("optibid-bench-").tempdir().context("cannot create a temporary folder")
}
