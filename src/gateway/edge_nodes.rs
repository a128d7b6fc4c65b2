//! `/api/v1/edge-nodes`.

use super::auth::Principal;
use super::command::{parse_body, run_command, CommandHeaders, Invocation};
use super::error::ApiError;
use super::schemas::{CommandAccepted, CommandErrors, DeployBody, InstanceView, ListPage, ReadErrors, ReasonBody};
use super::{now, AppState, ListQuery};
use crate::mqtt::credentials::edge_login;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use optibid_domain::edge::{EdgeNodeCommand, EdgeNodeKind, EdgeNodeRegistration};
use optibid_domain::DeploymentId;
use optibid_projections::edge_directory::EdgeNodeFilter;
use serde_json::json;

/// The edge node routes.
pub fn routes(config: &mut web::ServiceConfig) {
    config.service(
        web::scope("/edge-nodes")
            .route("", web::post().to(register))
            .route("", web::get().to(list))
            .route("/{id}", web::get().to(detail))
            .route("/{id}/deployments", web::post().to(deploy))
            .route("/{id}/services/{service}/{action}", web::post().to(service))
            .route("/{id}/decommission", web::post().to(decommission))
            .route("/{id}/credentials", web::post().to(super::credentials::rotate_edge_node))
            .route("/{id}/events", web::get().to(super::history::edge_history))
            .route("/{id}/state", web::get().to(super::history::edge_state)),
    );
}

#[utoipa::path(post, path = "/api/v1/edge-nodes", tag = "edge-nodes", summary = "Register an edge node", request_body = EdgeNodeRegistration, params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried request return the first result"), ("If-Match" = Option<String>, Header, description = "The stream version the caller saw, such as \"3\"")), responses((status = 201, description = "Created", body = CommandAccepted), CommandErrors), security(("bearer" = [])))]
async fn register(
    state: web::Data<AppState>,
    principal: Principal,
    headers: CommandHeaders,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    principal.require_command()?;
    let registration: EdgeNodeRegistration = parse_body(&body)?;
    let registration_id = registration.id.clone();
    let id = registration.id.to_string();
    let command = EdgeNodeCommand::Register { registration, at: now() };
    let response = run_command(
        &state,
        &state.platform.edge_nodes,
        Invocation { principal: &principal, headers, id: &id, command },
        StatusCode::CREATED,
        json!({}),
    )
    .await?;
    super::credentials::issue_on_registration(&state, response, edge_login(&registration_id)).await
}

#[utoipa::path(get, path = "/api/v1/edge-nodes", tag = "edge-nodes", summary = "List edge nodes", params(("kind" = Option<EdgeNodeKind>, Query), ("region" = Option<String>, Query), ("site" = Option<String>, Query), ("q" = Option<String>, Query), ("include_decommissioned" = Option<bool>, Query), ("after" = Option<String>, Query), ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000)), responses((status = 200, description = "A page", body = ListPage), ReadErrors), security(("bearer" = [])))]
async fn list(
    state: web::Data<AppState>,
    _principal: Principal,
    filter: web::Query<EdgeNodeFilter>,
    page: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = page.limit()?;
    let page =
        state.edge_directory.read(|directory| directory.page(|e| filter.matches(e), page.after.as_deref(), limit));
    Ok(HttpResponse::Ok().json(page))
}

#[utoipa::path(get, path = "/api/v1/edge-nodes/{id}", tag = "edge-nodes", summary = "An edge node", params(("id" = String, Path, description = "Instance id")), responses((status = 200, description = "The node", body = InstanceView), ReadErrors), security(("bearer" = [])))]
async fn detail(
    state: web::Data<AppState>,
    _principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    super::history::instance_view(&state, &state.platform.edge_nodes, &id, |_| Ok(json!({}))).await
}

#[utoipa::path(post, path = "/api/v1/edge-nodes/{id}/deployments", tag = "edge-nodes", summary = "Request a model deployment", request_body = DeployBody, params(("id" = String, Path, description = "Instance id"), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried request return the first result"), ("If-Match" = Option<String>, Header, description = "The stream version the caller saw, such as \"3\"")), responses((status = 202, description = "Sent", body = CommandAccepted), CommandErrors), security(("bearer" = [])))]
async fn deploy(
    state: web::Data<AppState>,
    principal: Principal,
    headers: CommandHeaders,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    principal.require_command()?;
    let body: DeployBody = parse_body(&body)?;
    let deployment_id =
        DeploymentId::new(uuid::Uuid::new_v4().to_string()).map_err(|e| ApiError::internal(e.to_string()))?;
    let command = EdgeNodeCommand::RequestModelDeployment {
        deployment_id: deployment_id.clone(),
        model: body.model,
        version: body.version,
        optimisation: body.optimisation,
        at: now(),
    };
    let extra = json!({ "deployment_id": deployment_id.as_str() });
    run_command(
        &state,
        &state.platform.edge_nodes,
        Invocation { principal: &principal, headers, id: &id, command },
        StatusCode::ACCEPTED,
        extra,
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/edge-nodes/{id}/services/{service}/{action}", tag = "edge-nodes", summary = "Start, stop or restart a service", params(("id" = String, Path, description = "Instance id"), ("service" = String, Path), ("action" = String, Path, description = "start, stop or restart"), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried request return the first result"), ("If-Match" = Option<String>, Header, description = "The stream version the caller saw, such as \"3\"")), responses((status = 200, description = "Accepted", body = CommandAccepted), CommandErrors), security(("bearer" = [])))]
async fn service(
    state: web::Data<AppState>,
    principal: Principal,
    headers: CommandHeaders,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    principal.require_command()?;
    let (id, service, action) = path.into_inner();
    let at = now();
    let command = match action.as_str() {
        "start" => EdgeNodeCommand::StartService { service, at },
        "stop" => EdgeNodeCommand::StopService { service, at },
        "restart" => EdgeNodeCommand::RestartService { service, at },
        other => return Err(ApiError::not_found(format!("no service action {other:?}; use start, stop or restart"))),
    };
    run_command(
        &state,
        &state.platform.edge_nodes,
        Invocation { principal: &principal, headers, id: &id, command },
        StatusCode::OK,
        json!({}),
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/edge-nodes/{id}/decommission", tag = "edge-nodes", summary = "Decommission the node", request_body = ReasonBody, params(("id" = String, Path, description = "Instance id"), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried request return the first result"), ("If-Match" = Option<String>, Header, description = "The stream version the caller saw, such as \"3\"")), responses((status = 200, description = "Accepted", body = CommandAccepted), CommandErrors), security(("bearer" = [])))]
async fn decommission(
    state: web::Data<AppState>,
    principal: Principal,
    headers: CommandHeaders,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    principal.require_command()?;
    let body: ReasonBody = parse_body(&body)?;
    let command = EdgeNodeCommand::Decommission { reason: body.reason, at: now() };
    run_command(
        &state,
        &state.platform.edge_nodes,
        Invocation { principal: &principal, headers, id: &id, command },
        StatusCode::OK,
        json!({}),
    )
    .await
}
