//! `/api/v1/devices`.

use super::auth::Principal;
use super::command::{parse_body, run_command, CommandHeaders, Invocation};
use super::error::ApiError;
use super::{now, AppState, ListQuery};
use crate::store::EventLog;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use optibid_domain::device::{DeviceCommand, DeviceRegistration, DeviceStatus};
use optibid_domain::CommandId;
use optibid_projections::device_directory::DeviceFilter;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Default time a device has to answer a command.
const DEFAULT_COMMAND_TIMEOUT_MS: u64 = 60_000;

/// The device routes.
pub fn routes(config: &mut web::ServiceConfig) {
    config.service(
        web::scope("/devices")
            .route("", web::post().to(register))
            .route("", web::get().to(list))
            .route("/{id}", web::get().to(detail))
            .route("/{id}/configuration", web::put().to(configure))
            .route("/{id}/status", web::post().to(change_status))
            .route("/{id}/commands", web::post().to(send_command))
            .route("/{id}/decommission", web::post().to(decommission))
            .configure(super::history::routes("device")),
    );
}

async fn register(
    state: web::Data<AppState>,
    principal: Principal,
    headers: CommandHeaders,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    principal.require_command()?;
    let registration: DeviceRegistration = parse_body(&body)?;
    let id = registration.id.to_string();
    let command = DeviceCommand::Register { registration, at: now() };
    run_command(
        &state,
        &state.platform.devices,
        Invocation { principal: &principal, headers, id: &id, command },
        StatusCode::CREATED,
        json!({}),
    )
    .await
}

async fn list(
    state: web::Data<AppState>,
    _principal: Principal,
    filter: web::Query<DeviceFilter>,
    page: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = state
        .device_directory
        .read(|directory| directory.page(|e| filter.matches(e), page.after.as_deref(), page.limit()));
    Ok(HttpResponse::Ok().json(page))
}

async fn detail(
    state: web::Data<AppState>,
    _principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let stream = super::history::stream("device", &id)?;
    if state.platform.log.stream_version(&stream)? == 0 {
        return Err(ApiError::not_found(format!("device {id:?} does not exist")));
    }
    let instance = state.platform.devices.state(&id).await?;
    let telemetry = super::history::stream("telemetry", &id)?;
    let last_telemetry = match state.platform.log.stream_version(&telemetry)? {
        0 => None,
        version => state
            .platform
            .log
            .read_stream_event(&telemetry, version)?
            .map(|r| crate::audit::export::ExportedEvent::from_record(&r)),
    };
    Ok(HttpResponse::Ok()
        .insert_header(("etag", format!("\"{}\"", instance.version)))
        .json(json!({ "id": id.as_str(), "version": instance.version, "state": instance.state, "last_telemetry": last_telemetry })))
}

#[derive(Deserialize)]
struct ConfigurationBody {
    changes: BTreeMap<String, Value>,
}

async fn configure(
    state: web::Data<AppState>,
    principal: Principal,
    headers: CommandHeaders,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    principal.require_command()?;
    let body: ConfigurationBody = parse_body(&body)?;
    let changes = body.changes.into_iter().map(|(key, value)| (key, value.to_string())).collect();
    let command = DeviceCommand::ChangeConfiguration { changes, at: now() };
    run_command(
        &state,
        &state.platform.devices,
        Invocation { principal: &principal, headers, id: &id, command },
        StatusCode::OK,
        json!({}),
    )
    .await
}

#[derive(Deserialize)]
struct StatusBody {
    status: DeviceStatus,
    reason: Option<String>,
}

async fn change_status(
    state: web::Data<AppState>,
    principal: Principal,
    headers: CommandHeaders,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    principal.require_command()?;
    let body: StatusBody = parse_body(&body)?;
    let command = DeviceCommand::ChangeStatus { status: body.status, reason: body.reason, at: now() };
    run_command(
        &state,
        &state.platform.devices,
        Invocation { principal: &principal, headers, id: &id, command },
        StatusCode::OK,
        json!({}),
    )
    .await
}

#[derive(Deserialize)]
struct SendCommandBody {
    name: String,
    #[serde(default)]
    params: Value,
    timeout_ms: Option<u64>,
}

async fn send_command(
    state: web::Data<AppState>,
    principal: Principal,
    headers: CommandHeaders,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    principal.require_command()?;
    let body: SendCommandBody = parse_body(&body)?;
    let command_id = CommandId::new(uuid::Uuid::new_v4().to_string()).map_err(|e| ApiError::internal(e.to_string()))?;
    let command = DeviceCommand::IssueCommand {
        command_id: command_id.clone(),
        name: body.name,
        params: body.params.to_string(),
        timeout_ms: body.timeout_ms.unwrap_or(DEFAULT_COMMAND_TIMEOUT_MS),
        at: now(),
    };
    let extra = json!({ "command_id": command_id.as_str() });
    run_command(
        &state,
        &state.platform.devices,
        Invocation { principal: &principal, headers, id: &id, command },
        StatusCode::ACCEPTED,
        extra,
    )
    .await
}

#[derive(Deserialize)]
struct ReasonBody {
    reason: String,
}

async fn decommission(
    state: web::Data<AppState>,
    principal: Principal,
    headers: CommandHeaders,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    principal.require_command()?;
    let body: ReasonBody = parse_body(&body)?;
    let command = DeviceCommand::Decommission { reason: body.reason, at: now() };
    run_command(
        &state,
        &state.platform.devices,
        Invocation { principal: &principal, headers, id: &id, command },
        StatusCode::OK,
        json!({}),
    )
    .await
}
