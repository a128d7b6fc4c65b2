//! `optibid audit`: verify, checkpoint, state, export.

use super::DataArgs;
use crate::audit::export::ExportedEvent;
use crate::audit::point_in_time::{state_at, Until};
use crate::audit::{verify_log, Checkpoint};
use crate::store::{EventLog, SledEventLog, StreamName};
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit code of `audit verify` when the log is broken (other failures exit with 1).
pub const BROKEN_LOG_EXIT: u8 = 2;

/// The audit verbs.
#[derive(Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// Walk the whole log: hash chain, positions, stream versions, decoding.
    Verify {
        #[command(flatten)]
        data: DataArgs,
        /// A head kept elsewhere (`POSITION:HASH`, from `audit checkpoint`): the log up to it
        /// must be unchanged.
        #[arg(long)]
        checkpoint: Option<Checkpoint>,
    },
    /// Print the head of the log as `POSITION:HASH`, for an auditor to keep elsewhere.
    Checkpoint {
        #[command(flatten)]
        data: DataArgs,
    },
    /// An instance's state at an instant or a version, as JSON.
    State {
        #[command(flatten)]
        data: DataArgs,
        /// The stream, `KIND/ID` (device/…, edge/…, campaign/…).
        #[arg(long)]
        stream: String,
        /// The instant (RFC 3339, such as 2026-11-28T10:00:00Z).
        #[arg(long, conflicts_with = "version", required_unless_present = "version")]
        at: Option<String>,
        /// The stream version.
        #[arg(long)]
        version: Option<u64>,
    },
    /// Write events as JSON lines (a readable audit trail and a restorable backup).
    Export {
        #[command(flatten)]
        data: DataArgs,
        /// First global position to export.
        #[arg(long, default_value_t = 1)]
        from: u64,
        /// Write to this file instead of standard output.
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

pub(super) async fn run(command: AuditCommand) -> anyhow::Result<ExitCode> {
    match command {
        AuditCommand::Verify { data, checkpoint } => verify(&data, checkpoint),
        AuditCommand::Checkpoint { data } => {
            let log = SledEventLog::open_existing(&data.data)?;
            println!("{}", Checkpoint::of(log.head()));
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::State { data, stream, at, version } => {
            let stream = StreamName::parse(&stream)?;
            let until = match (at, version) {
                (_, Some(version)) => Until::Version(version),
                (Some(at), None) => Until::Instant(parse_instant(&at)?),
                (None, None) => anyhow::bail!("give --at RFC3339 or --version N"),
            };
            let log = SledEventLog::open_existing(&data.data)?;
            let state = state_at(&log, &stream, until)?;
            println!("{}", serde_json::to_string_pretty(&state)?);
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Export { data, from, output } => export(&data, from, output),
    }
}

fn parse_instant(text: &str) -> anyhow::Result<i64> {
    let instant = chrono::DateTime::parse_from_rfc3339(text)
        .with_context(|| format!("--at {text:?} is not an RFC 3339 time such as 2026-11-28T10:00:00Z"))?;
    Ok(instant.timestamp_millis())
}

fn verify(data: &DataArgs, checkpoint: Option<Checkpoint>) -> anyhow::Result<ExitCode> {
    let log = SledEventLog::open_existing(&data.data)?;
    let head = log.head().position;
    let bar = ProgressBar::new(head).with_style(
        ProgressStyle::with_template("verifying {bar:40} {pos}/{len} events ({per_sec}, eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let result = verify_log(log.raw_events_tree(), checkpoint, |checked| bar.set_position(checked));
    bar.finish_and_clear();
    match result {
        Ok(report) => {
            println!(
                "log intact: {} events in {} streams ({} pruned payloads); head {}",
                report.events, report.streams, report.pruned, report.head
            );
            if let Some(checkpoint) = checkpoint {
                println!("checkpoint {checkpoint} matches");
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(failure) => {
            println!("LOG BROKEN at global position {}: {}", failure.position, failure.reason);
            Ok(ExitCode::from(BROKEN_LOG_EXIT))
        }
    }
}

fn export(data: &DataArgs, from: u64, output: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let log = SledEventLog::open_existing(&data.data)?;
    let sink: Box<dyn Write> = match &output {
        Some(path) => {
            Box::new(std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?)
        }
        None => Box::new(std::io::stdout().lock()),
    };
    let mut sink = BufWriter::new(sink);
    let bar = ProgressBar::new(log.head().position.saturating_sub(from.saturating_sub(1)));
    let mut next = from.max(1);
    loop {
        let batch = log.read_all(next, 4_096)?;
        let Some(last) = batch.last() else { break };
        next = last.position + 1;
        for record in &batch {
            serde_json::to_writer(&mut sink, &ExportedEvent::from_record(record))?;
            sink.write_all(b"\n")?;
        }
        bar.inc(batch.len() as u64);
    }
    sink.flush()?;
    bar.finish_and_clear();
    Ok(ExitCode::SUCCESS)
}
