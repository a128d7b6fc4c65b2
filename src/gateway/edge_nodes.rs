//! `/api/v1/edge-nodes`.

use super::auth::Principal;
use super::command::{parse_body, run_command, CommandHeaders, Invocation};
use super::error::ApiError;
use super::{now, AppState, ListQuery};
use crate::store::EventLog;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use optibid_domain::edge::{EdgeNodeCommand, EdgeNodeRegistration, OptimisationLevel};
use optibid_domain::DeploymentId;
use optibid_projections::edge_directory::EdgeNodeFilter;
use serde::Deserialize;
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
            .configure(super::history::routes("edge")),
    );
}

async fn register(
    state: web::Data<AppState>,
    principal: Principal,
    headers: CommandHeaders,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    principal.require_command()?;
    let registration: EdgeNodeRegistration = parse_body(&body)?;
    let id = registration.id.to_string();
    let command = EdgeNodeCommand::Register { registration, at: now() };
    run_command(
        &state,
        &state.platform.edge_nodes,
        Invocation { principal: &principal, headers, id: &id, command },
        StatusCode::CREATED,
        json!({}),
    )
    .await
}

async fn list(
    state: web::Data<AppState>,
    _principal: Principal,
    filter: web::Query<EdgeNodeFilter>,
    page: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = state
        .edge_directory
        .read(|directory| directory.page(|e| filter.matches(e), page.after.as_deref(), page.limit()));
    Ok(HttpResponse::Ok().json(page))
}

async fn detail(
    state: web::Data<AppState>,
    _principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let stream = super::history::stream("edge", &id)?;
    if state.platform.log.stream_version(&stream)? == 0 {
        return Err(ApiError::not_found(format!("edge node {id:?} does not exist")));
    }
    let instance = state.platform.edge_nodes.state(&id).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("etag", format!("\"{}\"", instance.version)))
        .json(json!({ "id": id.as_str(), "version": instance.version, "state": instance.state })))
}

#[derive(Deserialize)]
struct DeployBody {
    model: String,
    version: String,
    optimisation: OptimisationLevel,
}

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
