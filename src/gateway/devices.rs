//! `/api/v1/devices`.

use super::auth::Principal;
use super::command::{parse_body, run_command, CommandHeaders, Invocation};
use super::error::ApiError;
use super::schemas::{
    CommandAccepted, CommandErrors, ConfigurationBody, InstanceView, LatestValue, ListPage, ReadErrors, ReasonBody,
    SendCommandBody, StatusBody,
};
use super::{now, AppState, ListQuery};
use crate::mqtt::credentials::device_login;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use optibid_domain::device::{DeviceCommand, DeviceKind, DeviceRegistration, DeviceState, DeviceStatus, Protocol};
use optibid_domain::CommandId;
use optibid_projections::device_directory::DeviceFilter;
use serde_json::json;

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
            .route("/{id}/commands/{command_id}", web::get().to(super::device_commands::command_status))
            .route("/{id}/decommission", web::post().to(decommission))
            .route("/{id}/credentials", web::post().to(super::credentials::rotate_device))
            .route("/{id}/events", web::get().to(super::history::device_history))
            .route("/{id}/state", web::get().to(super::history::device_state)),
    );
}

#[utoipa::path(post, path = "/api/v1/devices", tag = "devices", summary = "Register a device", request_body = DeviceRegistration, params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried request return the first result"), ("If-Match" = Option<String>, Header, description = "The stream version the caller saw, such as \"3\"")), responses((status = 201, description = "Created", body = CommandAccepted), CommandErrors), security(("bearer" = [])))]
async fn register(
    state: web::Data<AppState>,
    principal: Principal,
    headers: CommandHeaders,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    principal.require_command()?;
    let registration: DeviceRegistration = parse_body(&body)?;
    let registration_id = registration.id.clone();
    let id = registration.id.to_string();
    let command = DeviceCommand::Register { registration, at: now() };
    let response = run_command(
        &state,
        &state.platform.devices,
        Invocation { principal: &principal, headers, id: &id, command },
        StatusCode::CREATED,
        json!({}),
    )
    .await?;
    super::credentials::issue_on_registration(&state, response, device_login(&registration_id)).await
}

#[utoipa::path(get, path = "/api/v1/devices", tag = "devices", summary = "List devices", params(("kind" = Option<DeviceKind>, Query, description = "Device type; `type` is accepted too"), ("status" = Option<DeviceStatus>, Query), ("protocol" = Option<Protocol>, Query), ("region" = Option<String>, Query), ("site" = Option<String>, Query), ("tag" = Option<String>, Query), ("q" = Option<String>, Query, description = "Text in the name"), ("include_decommissioned" = Option<bool>, Query), ("after" = Option<String>, Query, description = "Cursor"), ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000)), responses((status = 200, description = "A page", body = ListPage), ReadErrors), security(("bearer" = [])))]
async fn list(
    state: web::Data<AppState>,
    _principal: Principal,
    filter: web::Query<DeviceFilter>,
    page: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = page.limit()?;
    let query = filter.query();
    let page = state
        .device_directory
        .read(|directory| directory.search(&query, |e| filter.matches(e), page.after.as_deref(), limit));
    Ok(HttpResponse::Ok().json(page))
}

#[utoipa::path(get, path = "/api/v1/devices/{id}", tag = "devices", summary = "A device and the latest value of each metric", params(("id" = String, Path, description = "Instance id")), responses((status = 200, description = "The device", body = InstanceView), ReadErrors), security(("bearer" = [])))]
async fn detail(
    state: web::Data<AppState>,
    _principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    super::history::instance_view(&state, &state.platform.devices, &id, |device| {
        Ok(json!({ "latest": latest_values(&state, &id, device)? }))
    })
    .await
}

/// The newest sample of each declared metric, from the roll-ups.
fn latest_values(
    state: &AppState,
    id: &str,
    device: &DeviceState,
) -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
    let declared = device.profile.iter().flat_map(|profile| &profile.metrics);
    state.telemetry_rollups.read(|rollups| {
        let mut latest = serde_json::Map::new();
        for metric in declared {
            if let Some((at, value)) =
                rollups.latest(id, &metric.name).map_err(|e| ApiError::internal(e.to_string()))?
            {
                let view = LatestValue { value, at, unit: metric.unit.clone(), normal: metric.is_normal(value) };
                latest.insert(metric.name.clone(), json!(view));
            }
        }
        Ok(latest)
    })
}

#[utoipa::path(put, path = "/api/v1/devices/{id}/configuration", tag = "devices", summary = "Change configuration keys", request_body = ConfigurationBody, params(("id" = String, Path, description = "Instance id"), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried request return the first result"), ("If-Match" = Option<String>, Header, description = "The stream version the caller saw, such as \"3\"")), responses((status = 200, description = "Accepted", body = CommandAccepted), CommandErrors), security(("bearer" = [])))]
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

#[utoipa::path(post, path = "/api/v1/devices/{id}/status", tag = "devices", summary = "Change the status", request_body = StatusBody, params(("id" = String, Path, description = "Instance id"), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried request return the first result"), ("If-Match" = Option<String>, Header, description = "The stream version the caller saw, such as \"3\"")), responses((status = 200, description = "Accepted", body = CommandAccepted), CommandErrors), security(("bearer" = [])))]
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

#[utoipa::path(post, path = "/api/v1/devices/{id}/commands", tag = "devices", summary = "Send a command to the device", request_body = SendCommandBody, params(("id" = String, Path, description = "Instance id"), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried request return the first result"), ("If-Match" = Option<String>, Header, description = "The stream version the caller saw, such as \"3\"")), responses((status = 202, description = "Sent", body = CommandAccepted), CommandErrors), security(("bearer" = [])))]
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

#[utoipa::path(post, path = "/api/v1/devices/{id}/decommission", tag = "devices", summary = "Decommission the device", request_body = ReasonBody, params(("id" = String, Path, description = "Instance id"), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried request return the first result"), ("If-Match" = Option<String>, Header, description = "The stream version the caller saw, such as \"3\"")), responses((status = 200, description = "Accepted", body = CommandAccepted), CommandErrors), security(("bearer" = [])))]
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
