//! `optibid demo`: the platform with its own MQTT endpoint plus a simulated fleet of about 250
//! devices and 20 edge nodes, so one command shows a live platform.

use super::fleet_registration::register_in_process;
use super::serve::{shutdown_signal, RunningServer, ServeArgs};
use crate::gateway::auth::Role;
use crate::mqtt::broker_address::BrokerAddress;
use crate::mqtt::DeviceAccess;
use crate::simulator::fleet::FleetPlan;
use crate::simulator::{RunningFleet, Simulation};
use std::process::ExitCode;
use std::time::Duration;

/// Options of `optibid demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    #[command(flatten)]
    serve: ServeArgs,
    /// Number of simulated devices.
    #[arg(long, default_value_t = 250)]
    devices: usize,
    /// Number of simulated edge nodes.
    #[arg(long, default_value_t = 20)]
    edge_nodes: usize,
    /// Telemetry messages per device per second.
    #[arg(long, default_value_t = 1.0)]
    rate: f64,
    /// Simulated devices behave perfectly (no spikes, stuck sensors or drift).
    #[arg(long)]
    no_faults: bool,
}

pub(super) async fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.rate > 0.0 && args.rate <= 1_000.0, "--rate must be above 0 and at most 1000");
    let running = RunningServer::start(&args.serve).await?;
    let token = running.state.tokens.create("demo", Role::Admin).await?;
    let plan = FleetPlan::new("demo", args.devices, args.edge_nodes)?;
    let secrets = register_in_process(&running.platform, &running.state.credentials, &plan).await?;
    let broker = match &running.mqtt.access {
        DeviceAccess::Endpoint(endpoint) => {
            BrokerAddress { host: endpoint.address.ip().to_string(), port: endpoint.address.port(), login: None }
        }
        DeviceAccess::Broker(address, _) => address.clone(),
    };
    let simulation = Simulation {
        broker,
        rate_hz: args.rate,
        faults: !args.no_faults,
        command_failure_rate: 0.05,
        firmware_step: Duration::from_millis(500),
        seed: 42,
    };
    let fleet = RunningFleet::start(simulation, &plan, &secrets);
    running.announce()?;
    let base = format!("http://{}", running.http_address);
    println!("demo: {} simulated devices and {} edge nodes are live", plan.devices.len(), plan.edge_nodes.len());
    println!("demo: admin token for this run: {token}");
    println!("demo: open the dashboard at {}", running.login_link(&token));
    println!("demo: try  curl -H 'Authorization: Bearer {token}' {base}/api/v1/devices?limit=5");
    println!("demo: API reference at {base}/api/docs, metrics at {base}/metrics; Ctrl-C stops");
    shutdown_signal().await;
    println!("demo: stopping ({})", fleet.stats.summary());
    fleet.stop().await;
    running.stop().await;
    Ok(ExitCode::SUCCESS)
}
