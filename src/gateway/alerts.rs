//! `/api/v1/alerts`: device alerts across the fleet; acknowledging and resolving one are
//! commands to its device, so both are recorded (and audited) on the device's stream.

use super::auth::Principal;
use super::command::{run_command, CommandHeaders, Invocation};
use super::error::ApiError;
use super::page_limit::page_limit;
use super::schemas::{CommandAccepted, CommandErrors, ReadErrors};
use super::{now, AppState};
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use optibid_domain::device::{AlertSeverity, DeviceCommand, DeviceKind};
use optibid_domain::ids::AlertId;
use optibid_projections::alert_list::{self, AlertFilter, AlertState};
use optibid_projections::device_directory::DeviceFilter;
use serde::Deserialize;
use serde_json::json;

/// The alert routes.
pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/alerts", web::get().to(list))
        .route("/alerts/{device}/{alert}/acknowledge", web::post().to(acknowledge))
        .route("/alerts/{device}/{alert}/resolve", web::post().to(resolve));
}

/// `?state=&severity=&device=&metric=&kind=&region=&limit=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlertQuery {
    /// `active`, `acknowledged` or `resolved`; by default active and acknowledged.
    #[param(value_type = Option<String>, pattern = "^(active|acknowledged|resolved)$")]
    pub state: Option<AlertState>,
    /// `info`, `warning` or `critical`.
    #[param(value_type = Option<String>, pattern = "^(info|warning|critical)$")]
    pub severity: Option<AlertSeverity>,
    /// Only this device.
    pub device: Option<String>,
    /// Only this metric.
    pub metric: Option<String>,
    /// Only devices of this kind.
    pub kind: Option<DeviceKind>,
    /// Only devices of this region.
    pub region: Option<String>,
    /// Most alerts returned (default 100, at most 1,000).
    pub limit: Option<usize>,
}

#[utoipa::path(get, path = "/api/v1/alerts", tag = "alerts", summary = "Alerts, newest first", params(AlertQuery), responses((status = 200, description = "`items` and `total`", body = Object), ReadErrors), security(("bearer" = [])))]
async fn list(
    state: web::Data<AppState>,
    _principal: Principal,
    query: web::Query<AlertQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let limit = page_limit(query.limit, 100, 1_000)?;
    let devices = (query.kind.is_some() || query.region.is_some()).then(|| {
        let of = DeviceFilter {
            kind: query.kind,
            region: query.region.clone(),
            include_decommissioned: true,
            ..DeviceFilter::default()
        };
        state.device_directory.read(|directory| {
            directory.entries().filter(|entry| of.matches(entry)).map(|entry| entry.id.clone()).collect()
        })
    });
    let filter = AlertFilter {
        state: query.state,
        severity: query.severity,
        device: query.device,
        metric: query.metric,
        devices,
    };
    let (items, total) = state.alert_list.read(|alerts| alert_list::list(alerts, &filter, limit));
    Ok(HttpResponse::Ok().json(json!({ "items": items, "total": total })))
}

fn alert_id(alert: &str) -> Result<AlertId, ApiError> {
    AlertId::new(alert).map_err(|_| ApiError::not_found(format!("no alert {alert}")))
}

#[utoipa::path(post, path = "/api/v1/alerts/{device}/{alert}/acknowledge", tag = "alerts", summary = "Acknowledge an alert (recorded on the device's stream with the caller's name)", params(("device" = String, Path, description = "Device id"), ("alert" = String, Path, description = "Alert id"), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried request return the first result")), responses((status = 200, description = "Acknowledged", body = CommandAccepted), CommandErrors), security(("bearer" = [])))]
async fn acknowledge(
    state: web::Data<AppState>,
    principal: Principal,
    headers: CommandHeaders,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let by = principal.name.clone();
    alert_command(state, principal, headers, path, |alert_id| DeviceCommand::AcknowledgeAlert {
        alert_id,
        by,
        at: now(),
    })
    .await
}

#[utoipa::path(post, path = "/api/v1/alerts/{device}/{alert}/resolve", tag = "alerts", summary = "Resolve an alert", params(("device" = String, Path, description = "Device id"), ("alert" = String, Path, description = "Alert id"), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried request return the first result")), responses((status = 200, description = "Resolved", body = CommandAccepted), CommandErrors), security(("bearer" = [])))]
async fn resolve(
    state: web::Data<AppState>,
    principal: Principal,
    headers: CommandHeaders,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    alert_command(state, principal, headers, path, |alert_id| DeviceCommand::ResolveAlert { alert_id, at: now() }).await
}

/// Sends the command `command` builds for the alert in `path` to its device.
async fn alert_command(
    state: web::Data<AppState>,
    principal: Principal,
    headers: CommandHeaders,
    path: web::Path<(String, String)>,
    command: impl FnOnce(AlertId) -> DeviceCommand,
) -> Result<HttpResponse, ApiError> {
    principal.require_command()?;
    let (device, alert) = path.into_inner();
    let command = command(alert_id(&alert)?);
    let invocation = Invocation { principal: &principal, headers, id: &device, command };
    run_command(&state, &state.platform.devices, invocation, StatusCode::OK, json!({})).await
}
