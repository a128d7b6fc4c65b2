//! Live projection lag: benchmark inverters append telemetry through the platform, as the
//! ingest does (one event per device per round), while every read model tails the log. For each
//! event, the lag is the time from its append's acknowledgement to a projection having applied
//! it; "all" is the time until every projection has.

use super::quantile;
use super::telemetry_fill::{self, FillError};
use crate::actors::{CommandMetadata, Platform};
use crate::gateway::{projections::position_watches, AppState};
use crate::store::EventLog;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// What to append.
#[derive(Debug, Clone, Copy)]
pub struct LagLoad {
    /// Appending devices, one task each.
    pub devices: usize,
    /// Telemetry events per device.
    pub rounds: usize,
    /// Samples per event.
    pub samples: usize,
    /// Events per second over all devices (default: as fast as the log takes them).
    pub rate: Option<f64>,
}

/// Lag quantiles of one projection (or of all together).
#[derive(Debug, Clone)]
pub struct LagQuantiles {
    /// Projection name, or `all`.
    pub name: String,
    /// Median.
    pub p50: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// Largest.
    pub max: Duration,
}

/// Figures of one run.
#[derive(Debug, Clone)]
pub struct LagFigures {
    /// Telemetry events appended.
    pub events: usize,
    /// Durable telemetry events per second while appending.
    pub events_per_second: f64,
    /// Every projection's lag, then all together.
    pub lags: Vec<LagQuantiles>,
}

/// Why the run stopped.
#[derive(Debug, thiserror::Error)]
pub enum LagError {
    /// A device could not be registered or take telemetry.
    #[error(transparent)]
    Fill(#[from] FillError),
    /// A projection stopped or did not catch up within a minute.
    #[error("projection {0} did not reach the log's head")]
    Behind(&'static str),
}

/// The times at which a projection's applied position advanced.
type Advances = Vec<(u64, Instant)>;

/// Records when `position` advanced, until it reaches the position `until` is set to.
async fn record_advances(mut position: watch::Receiver<u64>, mut until: watch::Receiver<u64>) -> Advances {
    let mut advances: Advances = Vec::new();
    loop {
        let applied = *position.borrow_and_update();
        if advances.last().is_none_or(|(last, _)| *last != applied) {
            advances.push((applied, Instant::now()));
        }
        if applied >= *until.borrow_and_update() {
            return advances;
        }
        tokio::select! {
            changed = position.changed() => if changed.is_err() { return advances },
            Ok(()) = until.changed() => {}
        }
    }
}

/// When `advances` first covered `position`.
fn applied_at(advances: &Advances, position: u64) -> Option<Instant> {
    let index = advances.partition_point(|(applied, _)| *applied < position);
    advances.get(index).map(|(_, at)| *at)
}

/// Registers the devices, waits for the read models, then appends and measures.
pub async fn measure(state: Arc<AppState>, load: LagLoad) -> Result<LagFigures, LagError> {
    let platform = state.platform.clone();
    telemetry_fill::register(&platform, load.devices).await?;
    let watches = position_watches(&state);
    let settled = platform.log.head().position;
    for (name, watch) in &watches {
        let mut watch = watch.clone();
        let reached = tokio::time::timeout(Duration::from_secs(60), watch.wait_for(|at| *at >= settled)).await;
        if !matches!(reached, Ok(Ok(_))) {
            return Err(LagError::Behind(name));
        }
    }
    let (until_tx, until_rx) = watch::channel(u64::MAX);
    let recorders: Vec<_> =
        watches.iter().map(|(_, position)| tokio::spawn(record_advances(position.clone(), until_rx.clone()))).collect();
    let started = Instant::now();
    let per_device_interval = load.rate.map(|rate| Duration::from_secs_f64(load.devices as f64 / rate.max(1.0)));
    let appenders: Vec<_> = (0..load.devices)
        .map(|n| {
            let platform = platform.clone();
            tokio::spawn(append_rounds(platform, n, load, per_device_interval))
        })
        .collect();
    let mut acks = Vec::with_capacity(load.devices * load.rounds);
    for appender in appenders {
        match appender.await {
            Ok(result) => acks.extend(result?),
            Err(join) => {
                return Err(FillError::Device { device: "appender".to_owned(), reason: join.to_string() }.into())
            }
        }
    }
    let elapsed = started.elapsed();
    let head = platform.log.head().position;
    until_tx.send_replace(head);
    let mut lags = Vec::with_capacity(watches.len() + 1);
    let mut all = vec![Duration::ZERO; acks.len()];
    for ((name, _), recorder) in watches.iter().zip(recorders) {
        let advances = tokio::time::timeout(Duration::from_secs(60), recorder)
            .await
            .map_err(|_| LagError::Behind(name))?
            .map_err(|_| LagError::Behind(name))?;
        let mut lag: Vec<Duration> = Vec::with_capacity(acks.len());
        for (slot, (position, acknowledged)) in all.iter_mut().zip(&acks) {
            let applied = applied_at(&advances, *position).ok_or(LagError::Behind(name))?;
            let delay = applied.saturating_duration_since(*acknowledged);
            *slot = (*slot).max(delay);
            lag.push(delay);
        }
        lags.push(quantiles(name, &mut lag));
    }
    lags.push(quantiles("all", &mut all));
    Ok(LagFigures { events: acks.len(), events_per_second: acks.len() as f64 / elapsed.as_secs_f64(), lags })
}

fn quantiles(name: &str, lags: &mut [Duration]) -> LagQuantiles {
    let max = lags.iter().max().copied().unwrap_or_default();
    LagQuantiles { name: name.to_owned(), p50: quantile(lags, 0.5), p99: quantile(lags, 0.99), max }
}

async fn append_rounds(
    platform: Arc<Platform>,
    n: usize,
    load: LagLoad,
    interval: Option<Duration>,
) -> Result<Vec<(u64, Instant)>, FillError> {
    let mut acks = Vec::with_capacity(load.rounds);
    let mut next = Instant::now();
    for round in 0..load.rounds {
        if let Some(interval) = interval {
            tokio::time::sleep_until(next.into()).await;
            next += interval;
        }
        let batch = telemetry_fill::batch(n, round, load.samples)?;
        let device = batch.device_id.clone();
        let position = platform
            .record_telemetry(&device, vec![batch], CommandMetadata::default())
            .await
            .map_err(|e| FillError::Device { device: format!("bench-{n:06}"), reason: e.to_string() })?
            .position;
        acks.push((position, Instant::now()));
    }
    Ok(acks)
}
