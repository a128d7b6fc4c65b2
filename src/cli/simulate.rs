//! `optibid simulate`: a realistic fleet over real MQTT against any broker.

use super::fleet_registration::register_over_api;
use crate::mqtt::broker_address::BrokerAddress;
use crate::simulator::fleet::FleetPlan;
use crate::simulator::{RunningFleet, Secrets, Simulation};
use indicatif::ProgressBar;
use std::process::ExitCode;
use std::time::Duration;

/// Options of `optibid simulate`.
#[derive(Debug, Clone, clap::Args)]
pub struct SimulateArgs {
    /// Where the devices connect: the platform's MQTT endpoint or a broker
    /// (mqtt://[user:password@]host:port).
    #[arg(long, default_value = "mqtt://127.0.0.1:8471")]
    pub broker: String,
    /// Number of simulated devices.
    #[arg(long, default_value_t = 100)]
    pub devices: usize,
    /// Number of simulated edge nodes (default: one per 12 devices).
    #[arg(long)]
    pub edge_nodes: Option<usize>,
    /// Telemetry messages per device per second.
    #[arg(long, default_value_t = 1.0)]
    pub rate: f64,
    /// Devices show faults: spikes, stuck sensors, drift.
    #[arg(long)]
    pub faults: bool,
    /// Share of commands a device fails (0..1).
    #[arg(long, default_value_t = 0.05)]
    pub command_failure_rate: f64,
    /// Stop after this many seconds (default: run until Ctrl-C).
    #[arg(long)]
    pub duration_secs: Option<u64>,
    /// Prefix of the simulated ids.
    #[arg(long, default_value = "sim")]
    pub prefix: String,
    /// Seed of the simulated randomness.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Register the fleet through this API first (http://host:port) and connect with the secrets
    /// it issues; without it, devices connect anonymously and must already be known.
    #[arg(long, requires = "token")]
    pub api: Option<String>,
    /// API token (operator or admin) for --api.
    #[arg(long, env = "OPTIBID_TOKEN")]
    pub token: Option<String>,
}

pub(super) async fn run(args: SimulateArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.rate > 0.0 && args.rate <= 1_000.0, "--rate must be above 0 and at most 1000");
    anyhow::ensure!((0.0..=1.0).contains(&args.command_failure_rate), "--command-failure-rate must be in 0..1");
    let broker = BrokerAddress::parse(&args.broker)?;
    let plan = FleetPlan::new(&args.prefix, args.devices, args.edge_nodes.unwrap_or(args.devices / 12))?;
    let secrets = match (&args.api, &args.token) {
        (Some(api), Some(token)) => {
            let (api, token, plan) = (api.clone(), token.clone(), plan.clone());
            tokio::task::spawn_blocking(move || register_over_api(&api, &token, &plan)).await??
        }
        _ => Secrets::new(),
    };
    let simulation = Simulation {
        broker,
        rate_hz: args.rate,
        faults: args.faults,
        command_failure_rate: args.command_failure_rate,
        firmware_step: Duration::from_millis(500),
        seed: args.seed,
    };
    println!(
        "simulating {} devices and {} edge nodes at {} Hz against {}",
        plan.devices.len(),
        plan.edge_nodes.len(),
        args.rate,
        args.broker
    );
    let fleet = RunningFleet::start(simulation, &plan, &secrets);
    let status = ProgressBar::new_spinner();
    let deadline = args.duration_secs.map(|s| tokio::time::Instant::now() + Duration::from_secs(s));
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let stop = super::serve::shutdown_signal();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                status.set_message(fleet.stats.summary());
                status.tick();
                if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
                    break;
                }
            }
            _ = &mut stop => break,
        }
    }
    status.finish_and_clear();
    let summary = fleet.stats.summary();
    fleet.stop().await;
    println!("simulation stopped: {summary}");
    Ok(ExitCode::SUCCESS)
}
