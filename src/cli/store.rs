//! `optibid store`: restore a data folder from an export.

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
}

pub(super) async fn run(command: StoreCommand) -> anyhow::Result<ExitCode> {
    let StoreCommand::Import { data, input } = command;
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
