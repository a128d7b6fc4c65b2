//! `optibid projections`: where each read model stands, and rebuilding one from position 0.

use super::fleet_registration::progress;
use super::DataArgs;
use crate::projector::{self, ProjectionFailure};
use crate::store::{EventLog, SledEventLog};
use anyhow::bail;
use optibid_projections::alert_list::DeviceAlerts;
use optibid_projections::campaign_list::CampaignEntry;
use optibid_projections::device_directory::DeviceEntry;
use optibid_projections::edge_analytics::EdgeHealth;
use optibid_projections::edge_directory::EdgeNodeEntry;
use optibid_projections::fleet_analytics::DeviceHealth;
use optibid_projections::maintenance_predictions::DevicePrognosis;
use optibid_projections::projection::stored_checkpoint;
use optibid_projections::telemetry_rollups::TelemetryRollups;
use optibid_projections::{Directory, Projection};
use std::process::ExitCode;
use std::time::Instant;

/// Every projection, by name.
pub const PROJECTIONS: [&str; 8] = [
    "device_directory",
    "edge_directory",
    "campaign_list",
    "telemetry_rollups",
    "fleet_analytics",
    "edge_analytics",
    "alert_list",
    "maintenance_predictions",
];

/// The projection verbs.
#[derive(Debug, clap::Subcommand)]
pub enum ProjectionsCommand {
    /// Each projection's position, the log's head and the lag.
    Status {
        #[command(flatten)]
        data: DataArgs,
    },
    /// Rebuild one projection (or all) from position 0 into a fresh model and swap it in. Stop
    /// the server first: the data folder is used exclusively.
    Rebuild {
        /// The projection; all when absent.
        name: Option<String>,
        #[command(flatten)]
        data: DataArgs,
    },
}

/// Runs a projections verb.
pub fn run(command: ProjectionsCommand) -> anyhow::Result<ExitCode> {
    match command {
        ProjectionsCommand::Status { data } => status(&data),
        ProjectionsCommand::Rebuild { name, data } => rebuild(name.as_deref(), &data),
    }
}

fn status(data: &DataArgs) -> anyhow::Result<ExitCode> {
    let log = SledEventLog::open_existing(&data.data)?;
    println!("{:<18} {:>10} {:>10} {:>10} {:>10}", "projection", "position", "head", "lag", "lag_ms");
    for name in PROJECTIONS {
        let tree = log.database().open_tree(name)?;
        let state = projector::status(&log, name, stored_checkpoint(&tree)?, None);
        println!(
            "{:<18} {:>10} {:>10} {:>10} {:>10}",
            state.name, state.position, state.head, state.lag_events, state.lag_ms
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn rebuild(name: Option<&str>, data: &DataArgs) -> anyhow::Result<ExitCode> {
    let names: Vec<&str> = match name {
        Some(name) if PROJECTIONS.contains(&name) => vec![name],
        Some(name) => bail!("no projection is named {name:?}; known: {}", PROJECTIONS.join(", ")),
        None => PROJECTIONS.to_vec(),
    };
    let log = SledEventLog::open_existing(&data.data)?;
    for name in names {
        let outcome = match name {
            "device_directory" => rebuild_one(&log, Directory::<DeviceEntry>::default()),
            "edge_directory" => rebuild_one(&log, Directory::<EdgeNodeEntry>::default()),
            "campaign_list" => rebuild_one(&log, Directory::<CampaignEntry>::default()),
            "telemetry_rollups" => rebuild_one(&log, TelemetryRollups::default()),
            "fleet_analytics" => rebuild_one(&log, Directory::<DeviceHealth>::default()),
            "edge_analytics" => rebuild_one(&log, Directory::<EdgeHealth>::default()),
            "alert_list" => rebuild_one(&log, Directory::<DeviceAlerts>::default()),
            _ => rebuild_one(&log, Directory::<DevicePrognosis>::default()),
        };
        if let Err(failure) = outcome {
            println!("{name}: rebuild STOPPED at position {}: {}", failure.position, failure.reason);
            return Ok(ExitCode::FAILURE);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn rebuild_one<P: Projection>(log: &SledEventLog, model: P) -> Result<(), ProjectionFailure> {
    let name = model.name();
    let head = log.head().position;
    let bar = progress(usize::try_from(head).unwrap_or(usize::MAX), &format!("rebuilding {name}"));
    let started = Instant::now();
    let rebuilt = projector::rebuild(log, model, |position| bar.set_position(position))?;
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{name}: rebuilt from 0 to position {rebuilt} in {seconds:.2} s ({:.0} events/s)",
        rebuilt as f64 / seconds.max(1e-9)
    );
    Ok(())
}
