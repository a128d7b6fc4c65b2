//! MQTT secrets of devices and edge nodes: issued with the registration and rotated on demand.
//! Only hashes are stored; a secret is shown once.

use super::auth::Principal;
use super::error::ApiError;
use super::schemas::{CommandErrors, IssuedCredentials};
use super::AppState;
use crate::mqtt::credentials::{device_login, edge_login};
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use optibid_domain::{DeviceId, EdgeNodeId};
use serde_json::{json, Value};

/// Adds a fresh secret for `login` to the answer of a registration, when the registration
/// created the instance just now (not on an error or a replayed retry).
pub async fn issue_on_registration(
    state: &AppState,
    response: HttpResponse,
    login: String,
) -> Result<HttpResponse, ApiError> {
    if response.status() != StatusCode::CREATED || response.headers().contains_key("idempotent-replayed") {
        return Ok(response);
    }
    let headers = response.headers().clone();
    let body = actix_web::body::to_bytes(response.into_body()).await.map_err(|e| ApiError::internal(e.to_string()))?;
    let mut body: Value = serde_json::from_slice(&body).map_err(|e| ApiError::internal(e.to_string()))?;
    let secret = state.credentials.issue(&login).await?;
    body["mqtt_login"] = json!(login);
    body["mqtt_secret"] = json!(secret);
    let mut answer = HttpResponse::Created();
    for (name, value) in headers.iter().filter(|(name, _)| *name != actix_web::http::header::CONTENT_LENGTH) {
        answer.insert_header((name.clone(), value.clone()));
    }
    Ok(answer.json(body))
}

#[utoipa::path(post, path = "/api/v1/devices/{id}/credentials", tag = "devices", summary = "Issue a new MQTT secret (the old one stops working)", params(("id" = String, Path, description = "Instance id")), responses((status = 201, description = "The new secret, shown once", body = IssuedCredentials), CommandErrors), security(("bearer" = [])))]
/// `POST /api/v1/devices/{id}/credentials`.
pub async fn rotate_device(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    principal.require_command()?;
    let device = DeviceId::new(id.as_str()).map_err(|e| ApiError::not_found(e.to_string()))?;
    let current = state.platform.devices.state(device.as_str()).await?;
    if current.state.profile.is_none() || current.state.decommissioned_at.is_some() {
        return Err(ApiError::not_found(format!("no active device {device}")));
    }
    issued(&state, device_login(&device)).await
}

#[utoipa::path(post, path = "/api/v1/edge-nodes/{id}/credentials", tag = "edge-nodes", summary = "Issue a new MQTT secret (the old one stops working)", params(("id" = String, Path, description = "Instance id")), responses((status = 201, description = "The new secret, shown once", body = IssuedCredentials), CommandErrors), security(("bearer" = [])))]
/// `POST /api/v1/edge-nodes/{id}/credentials`.
pub async fn rotate_edge_node(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    principal.require_command()?;
    let node = EdgeNodeId::new(id.as_str()).map_err(|e| ApiError::not_found(e.to_string()))?;
    let current = state.platform.edge_nodes.state(node.as_str()).await?;
    if current.state.profile.is_none() || current.state.decommissioned_at.is_some() {
        return Err(ApiError::not_found(format!("no active edge node {node}")));
    }
    issued(&state, edge_login(&node)).await
}

async fn issued(state: &AppState, login: String) -> Result<HttpResponse, ApiError> {
    let secret = state.credentials.issue(&login).await?;
    Ok(HttpResponse::Created().json(json!({ "mqtt_login": login, "mqtt_secret": secret })))
}
