//! `GET /api/v1/devices/{id}/commands/{command_id}`: where one command stands.

use super::auth::Principal;
use super::error::ApiError;
use super::history::stream;
use super::schemas::ReadErrors;
use super::AppState;
use crate::events::decode_device_event;
use crate::store::EventLog;
use actix_web::{web, HttpResponse};
use optibid_domain::device::{replay_command, CommandState, DeviceCommandRecord, DeviceEvent};
use optibid_domain::CommandId;
use serde::Serialize;
use utoipa::ToSchema;

/// Where a command stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CommandStatus {
    /// Recorded, not yet received by the device.
    Issued,
    /// The device acknowledged receiving it, and has not answered yet.
    Delivered,
    /// The device took it.
    Accepted,
    /// The device reports progress.
    InProgress,
    /// The device finished it.
    Succeeded,
    /// The device could not carry it out.
    Failed,
    /// No answer came before the deadline.
    TimedOut,
}

/// One command sent to a device and what became of it. Times are milliseconds since the Unix
/// epoch.
#[derive(Debug, Serialize, ToSchema)]
pub struct CommandView {
    /// The command's id.
    pub command_id: String,
    /// The device it was sent to.
    pub device_id: String,
    /// Its name.
    pub name: String,
    /// Its parameters.
    pub params: serde_json::Value,
    /// Where it stands.
    pub status: CommandStatus,
    /// Percent done: 0 until the device reports progress, 100 once it succeeded; `null` once
    /// it failed or timed out.
    #[schema(minimum = 0, maximum = 100)]
    pub progress_percent: Option<u8>,
    /// Whether it still waits for the device.
    pub pending: bool,
    /// What the device said when it succeeded.
    pub result: Option<String>,
    /// Why it failed or timed out.
    pub error: Option<String>,
    /// When it was issued.
    pub issued_at: i64,
    /// When the device acknowledged receiving it, once it did.
    pub delivered_at: Option<i64>,
    /// When the device must have finished.
    pub deadline: i64,
}

impl CommandView {
    /// The view of `record`, a command of `device_id`.
    pub fn new(device_id: &str, record: &DeviceCommandRecord) -> Self {
        let (status, progress_percent, result, error) = match &record.state {
            CommandState::Issued if record.delivered_at.is_some() => (CommandStatus::Delivered, Some(0), None, None),
            CommandState::Issued => (CommandStatus::Issued, Some(0), None, None),
            CommandState::Accepted => (CommandStatus::Accepted, Some(0), None, None),
            CommandState::InProgress(percent) => (CommandStatus::InProgress, Some((*percent).min(100)), None, None),
            CommandState::Succeeded(detail) => (CommandStatus::Succeeded, Some(100), Some(detail.clone()), None),
            CommandState::Failed(reason) => (CommandStatus::Failed, None, None, Some(reason.clone())),
            CommandState::TimedOut => {
                (CommandStatus::TimedOut, None, None, Some("no answer before the deadline".to_owned()))
            }
        };
        Self {
            command_id: record.command_id.as_str().to_owned(),
            device_id: device_id.to_owned(),
            name: record.name.clone(),
            params: serde_json::from_str(&record.params)
                .unwrap_or_else(|_| serde_json::Value::String(record.params.clone())),
            status,
            progress_percent,
            pending: record.state.is_pending(),
            result,
            error,
            issued_at: record.issued_at.millis(),
            delivered_at: record.delivered_at.map(|at| at.millis()),
            deadline: record.deadline.millis(),
        }
    }
}

/// `GET /api/v1/devices/{id}/commands/{command_id}`.
#[utoipa::path(get, path = "/api/v1/devices/{id}/commands/{command_id}", tag = "devices", summary = "Where one command stands", params(("id" = String, Path, description = "Device id"), ("command_id" = String, Path, description = "The id the command's `POST` answered")), responses((status = 200, description = "The command", body = CommandView), ReadErrors), security(("bearer" = [])))]
pub async fn command_status(
    state: web::Data<AppState>,
    _principal: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (device_id, command_id) = path.into_inner();
    let missing = || ApiError::not_found(format!("device {device_id:?} has no command {command_id:?}"));
    let command = CommandId::new(command_id.clone()).map_err(|_| missing())?;
    let device_stream = stream("device", &device_id)?;
    if state.platform.log.stream_version(&device_stream)? == 0 {
        return Err(ApiError::not_found(format!("device {device_id:?} does not exist")));
    }
    let live = state.platform.devices.state(&device_id).await?;
    let record = match live.state.command(&command) {
        Some(record) => record.clone(),
        None => {
            let events: Vec<DeviceEvent> = state
                .platform
                .log
                .read_stream(&device_stream, 1)?
                .iter()
                .filter_map(|record| decode_device_event(record).map(|(_, event)| event))
                .collect();
            replay_command(&events, &command).ok_or_else(missing)?
        }
    };
    Ok(HttpResponse::Ok().json(CommandView::new(&device_id, &record)))
}
