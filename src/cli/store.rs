//! `optibid store`: restore a data folder from an export; prune old telemetry payloads.

use super::DataArgs;
use crate::audit::export::ExportedEvent;
use crate::store::{EventLog, SledEventLog};
use anyhow::Context;
use indicatif::ProgressBar;
use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

/// Records sent to the writer at once during an import.
const IMPORT_BATCH: usize = 2_048;

/// The store verbs.
#[derive(Debug, clap::Subcommand)]
pub enum StoreCommand {
    /// Rebuild a log from `optibid audit export` output. The data folder must be new or hold
    /// exactly the exported log's beginning; every record is checked against the chain.
    Import {
        #[command(flatten)]
        data: DataArgs,
        /// The export (JSON lines); `-` for standard input.
        #[arg(long)]
        input: PathBuf,
    },
    /// Remove the payloads of telemetry events recorded before an instant, keeping their hashes
    /// (the log still verifies). Other events are never touched.
    PruneTelemetry {
        #[command(flatten)]
        data: DataArgs,
        /// Prune telemetry recorded before this instant (RFC 3339).
        #[arg(long)]
        before: String,
    },
}

pub(super) async fn run(command: StoreCommand) -> anyhow::Result<ExitCode> {
    match command {
        StoreCommand::Import { data, input } => import(data, input).await,
        StoreCommand::PruneTelemetry { data, before } => {
            let before = chrono::DateTime::parse_from_rfc3339(&before)
                .with_context(|| format!("--before {before:?} is not an RFC 3339 time such as 2026-01-01T00:00:00Z"))?;
            let log = SledEventLog::open_existing(&data.data)?;
            let report = crate::store::prune::prune_telemetry(&log, before.timestamp_millis())?;
            println!("pruned {} telemetry payloads ({} bytes); hashes kept", report.pruned, report.bytes);
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn import(data: DataArgs, input: PathBuf) -> anyhow::Result<ExitCode> {
    let reader: Box<dyn BufRead> = if input.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        let file = std::fs::File::open(&input).with_context(|| format!("cannot open {}", input.display()))?;
        Box::new(std::io::BufReader::new(file))
    };
    std::fs::create_dir_all(&data.data)
        .with_context(|| format!("cannot create the data folder {}", data.data.display()))?;
    let log = SledEventLog::open(&data.data)?;
    let start = log.head().position;
    let bar = ProgressBar::new_spinner();
    let mut batch = Vec::with_capacity(IMPORT_BATCH);
    for (index, line) in reader.lines().enumerate() {
        let line = line.with_context(|| format!("cannot read line {}", index + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let record = ExportedEvent::parse_line(index + 1, &line)?;
        if record.position < start {
            continue;
        }
        if record.position == start {
            anyhow::ensure!(
                record.hash == log.head().hash,
                "the data folder already holds a different log (position {start} differs from the export)"
            );
            continue;
        }
        batch.push(record);
        if batch.len() == IMPORT_BATCH {
            log.import(std::mem::take(&mut batch)).await?;
            bar.set_position(log.head().position);
        }
    }
    if !batch.is_empty() {
        log.import(batch).await?;
    }
    bar.finish_and_clear();
    let head = log.head();
    println!("imported {} events; head {}", head.position - start, crate::audit::Checkpoint::of(head));
    Ok(ExitCode::SUCCESS)
}
