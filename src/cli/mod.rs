//! The `optibid` command line: one file per verb.

mod audit;
mod bench;
mod demo;
mod fleet_registration;
mod maintenance;
mod projections;
mod rul_forest;
mod score_nab;
mod serve;
mod simulate;
mod store;
mod token;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// OptiBid IoT: run, audit and measure the platform.
#[derive(Debug, Parser)]
#[command(name = "optibid", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The verbs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the platform: event store, actors and the HTTP gateway.
    Serve(serve::ServeArgs),
    /// Verify, inspect and export the event log.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Maintain the data folder (restore from an export).
    #[command(subcommand)]
    Store(store::StoreCommand),
    /// Create API tokens.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// The platform plus a simulated fleet of about 250 devices and 20 edge nodes, in one command.
    Demo(demo::DemoArgs),
    /// A realistic simulated fleet over MQTT against any broker.
    Simulate(simulate::SimulateArgs),
    /// Read-model status and rebuilds.
    #[command(subcommand)]
    Projections(projections::ProjectionsCommand),
    /// Replay labelled data sets through the anomaly detector and the RUL estimator.
    #[command(subcommand)]
    Maintenance(maintenance::MaintenanceCommand),
    /// Measure the platform on this machine.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

/// The data folder argument shared by every verb.
#[derive(Debug, Clone, clap::Args)]
pub struct DataArgs {
    /// Data folder holding the event log.
    #[arg(long, env = "OPTIBID_DATA", default_value = "optibid-data")]
    pub data: PathBuf,
}

/// Runs the command line; the exit code comes back as the `Ok` value.
pub async fn run(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    match cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::Demo(args) => demo::run(args).await,
        Command::Simulate(args) => simulate::run(args).await,
        Command::Audit(command) => audit::run(command).await,
        Command::Store(command) => store::run(command).await,
        Command::Token(command) => token::run(command).await,
        Command::Bench(command) => bench::run(command).await,
        Command::Maintenance(command) => maintenance::run(command),
        Command::Projections(command) => projections::run(command),
    }
}
