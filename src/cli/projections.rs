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
    /// Rebuild projections from position 0 into fresh models and swap them in, in one pass over
    /// the log. Stop the server first: the data folder is used exclusively.
    Rebuild {
        /// The projections; all when none is named.
        names: Vec<String>,
        #[command(flatten)]
        data: DataArgs,
    },
}

/// Runs a projections verb.
pub fn run(command: ProjectionsCommand) -> anyhow::Result<ExitCode> {
    match command {
        ProjectionsCommand::Status { data } => status(&data),
        ProjectionsCommand::Rebuild { names, data } => rebuild(&names, &data),
    }
}

fn status(data: &DataArgs) -> anyhow::Result<ExitCode> {
    let log = SledEventLog::open_existing(&data.data)?;
    println!("{:<24} {:>10} {:>10} {:>10} {:>10}", "projection", "position", "head", "lag", "lag_ms");
    for name in PROJECTIONS {
        let tree = projector::model_tree(log.database(), name)?;
        let state = projector::status(&log, name, stored_checkpoint(&tree)?, None);
        println!(
            "{:<24} {:>10} {:>10} {:>10} {:>10}",
            state.name, state.position, state.head, state.lag_events, state.lag_ms
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn rebuild(names: &[String], data: &DataArgs) -> anyhow::Result<ExitCode> {
    if let Some(unknown) = names.iter().find(|name| !PROJECTIONS.contains(&name.as_str())) {
        bail!("no projection is named {unknown:?}; known: {}", PROJECTIONS.join(", "));
    }
    let chosen: Vec<&str> =
        PROJECTIONS.into_iter().filter(|name| names.is_empty() || names.iter().any(|n| n == name)).collect();
    let log = SledEventLog::open_existing(&data.data)?;
    let models: Vec<Box<dyn Projection>> = chosen.iter().map(|name| empty_model(name)).collect();
    let head = log.head().position;
    let bar = progress(usize::try_from(head).unwrap_or(usize::MAX), &format!("rebuilding {}", chosen.join(", ")));
    let started = Instant::now();
    let outcome = projector::rebuild_all(&log, models, |position| bar.set_position(position));
    bar.finish_and_clear();
    let rebuilt = match outcome {
        Ok(rebuilt) => rebuilt,
        Err(ProjectionFailure { position, reason }) => {
            println!("rebuild STOPPED at position {position}: {reason}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    for name in &chosen {
        println!("{name}: rebuilt from 0 to position {rebuilt}");
    }
    println!(
        "{} projection(s) rebuilt in one pass over {rebuilt} events in {seconds:.2} s ({:.0} events/s)",
        chosen.len(),
        rebuilt as f64 / seconds.max(1e-9)
    );
    Ok(ExitCode::SUCCESS)
}

/// An empty model of the projection `name` (one of [`PROJECTIONS`]).
fn empty_model(name: &str) -> Box<dyn Projection> {
    match name {
        "device_directory" => Box::new(Directory::<DeviceEntry>::default()),
        "edge_directory" => Box::new(Directory::<EdgeNodeEntry>::default()),
        "campaign_list" => Box::new(Directory::<CampaignEntry>::default()),
        "telemetry_rollups" => Box::new(TelemetryRollups::default()),
        "fleet_analytics" => Box::new(Directory::<DeviceHealth>::default()),
        "edge_analytics" => Box::new(Directory::<EdgeHealth>::default()),
        "alert_list" => Box::new(Directory::<DeviceAlerts>::default()),
        _ => Box::new(Directory::<DevicePrognosis>::default()),
    }
}
