//! `optibid token`: API tokens.

use super::DataArgs;
use crate::gateway::auth::{Role, TokenStore};
use crate::store::SledEventLog;
use std::process::ExitCode;

/// The token verbs.
#[derive(Debug, clap::Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it (only its hash is stored). While `serve` runs, use
    /// `POST /api/v1/tokens` with an admin token instead.
    Create {
        #[command(flatten)]
        data: DataArgs,
        /// What the token may do.
        #[arg(long, value_enum)]
        role: Role,
        /// A name for the token, recorded as the principal of what it does.
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

pub(super) async fn run(command: TokenCommand) -> anyhow::Result<ExitCode> {
    let TokenCommand::Create { data, role, name } = command;
    std::fs::create_dir_all(&data.data)?;
    let log = SledEventLog::open(&data.data)?;
    let token = TokenStore::open(&log)?.create(&name, role).await?;
    println!("{token}");
    Ok(ExitCode::SUCCESS)
}
