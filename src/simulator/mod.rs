//! A realistic simulated fleet over real MQTT, for `optibid simulate` and `optibid demo`.
//!
//! - [`physics`]: how each kind of asset behaves, ages and fails.
//! - [`fault`]: spikes, stuck sensors and drift.
//! - [`fleet`]: which devices and edge nodes exist.
//! - [`device`], [`edge`]: one MQTT client per simulated device or edge node.

pub mod device;
pub mod edge;
pub mod fault;
pub mod fleet;
pub mod physics;

use crate::mqtt::broker_address::BrokerAddress;
use crate::mqtt::credentials::{device_login, edge_login};
use fleet::FleetPlan;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// How the simulation runs.
#[derive(Debug, Clone)]
pub struct Simulation {
    /// The broker the simulated clients connect to.
    pub broker: BrokerAddress,
    /// Telemetry messages per device per second.
    pub rate_hz: f64,
    /// Whether devices show faults (spikes, stuck sensors, drift).
    pub faults: bool,
    /// Share of commands a device fails (0..1).
    pub command_failure_rate: f64,
    /// Time between firmware update progress reports.
    pub firmware_step: Duration,
    /// Seed of the devices' randomness (the same seed gives the same fleet behaviour).
    pub seed: u64,
}

/// Counters of a running simulation.
#[derive(Debug, Default)]
pub struct SimulationStats {
    /// Telemetry messages published.
    pub telemetry: AtomicU64,
    /// Heartbeats published.
    pub heartbeats: AtomicU64,
    /// Commands answered with an outcome.
    pub commands_answered: AtomicU64,
    /// Successful (re)connections.
    pub connections: AtomicU64,
}

impl SimulationStats {
    /// One line for a progress display.
    pub fn summary(&self) -> String {
        format!(
            "{} telemetry messages, {} heartbeats, {} commands answered, {} connections",
            self.telemetry.load(Ordering::Relaxed),
            self.heartbeats.load(Ordering::Relaxed),
            self.commands_answered.load(Ordering::Relaxed),
            self.connections.load(Ordering::Relaxed)
        )
    }
}

/// MQTT secrets by login (`device id`, or `edge:` and the edge node id).
pub type Secrets = HashMap<String, String>;

/// A running simulation: stop it with [`RunningFleet::stop`].
pub struct RunningFleet {
    /// Its counters.
    pub stats: Arc<SimulationStats>,
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl RunningFleet {
    /// Starts every device and edge node of `plan`; each connects with its secret from `secrets`
    /// when there is one, anonymously otherwise. Connections are spread over the first seconds.
    pub fn start(simulation: Simulation, plan: &FleetPlan, secrets: &Secrets) -> Self {
        let simulation = Arc::new(simulation);
        let stats = Arc::new(SimulationStats::default());
        let (stop, stopped) = watch::channel(false);
        let mut tasks = JoinSet::new();
        let spread = Duration::from_millis(5);
        for (index, device) in plan.devices.iter().enumerate() {
            let login = device_login(&device.registration.id);
            let credentials = secrets.get(&login).map(|secret| (login, secret.clone()));
            let seed = simulation.seed.wrapping_add(index as u64);
            let task =
                device::run(simulation.clone(), device.clone(), credentials, seed, stats.clone(), stopped.clone());
            let delay = spread * u32::try_from(index).unwrap_or(u32::MAX);
            tasks.spawn(async move {
                tokio::time::sleep(delay).await;
                task.await;
            });
        }
        for (index, node) in plan.edge_nodes.iter().enumerate() {
            let login = edge_login(&node.registration.id);
            let credentials = secrets.get(&login).map(|secret| (login, secret.clone()));
            let seed = simulation.seed.wrapping_add(1_000_000 + index as u64);
            tasks.spawn(edge::run(simulation.clone(), node.clone(), credentials, seed, stats.clone(), stopped.clone()));
        }
        Self { stats, stop, tasks }
    }

    /// Stops every simulated client (devices report offline first) and waits for them.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        while self.tasks.join_next().await.is_some() {}
    }
}
