//! `/api/v1/campaigns`. The targets are resolved from the device directory when a campaign
//! starts (looked-up facts go into the command); the wave orchestration itself is the campaign
//! actor's work.

use super::auth::Principal;
use super::command::{parse_body, run_command, CommandHeaders, Invocation};
use super::error::ApiError;
use super::schemas::{CampaignActionBody, CommandAccepted, CommandErrors, InstanceView, ListPage, ReadErrors};
use super::{now, AppState, ListQuery};
use crate::actors::CommandMetadata;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use optibid_domain::campaign::{CampaignCommand, CampaignDefinition, CampaignKind, CampaignPhase, TargetSelector};
use optibid_domain::DeviceId;
use optibid_projections::campaign_list::{CampaignFilter, CampaignProgress};
use optibid_projections::device_directory::DeviceEntry;
use serde_json::json;

/// The campaign routes.
pub fn routes(config: &mut web::ServiceConfig) {
    config.service(
        web::scope("/campaigns")
            .route("", web::post().to(create))
            .route("", web::get().to(list))
            .route("/{id}", web::get().to(detail))
            .route("/{id}/{action}", web::post().to(act))
            .route("/{id}/events", web::get().to(super::history::campaign_history))
            .route("/{id}/state", web::get().to(super::history::campaign_state)),
    );
}

#[utoipa::path(post, path = "/api/v1/campaigns", tag = "campaigns", summary = "Create a campaign", request_body = CampaignDefinition, params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried request return the first result"), ("If-Match" = Option<String>, Header, description = "The stream version the caller saw, such as \"3\"")), responses((status = 201, description = "Created", body = CommandAccepted), CommandErrors), security(("bearer" = [])))]
async fn create(
    state: web::Data<AppState>,
    principal: Principal,
    headers: CommandHeaders,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    principal.require_command()?;
    let definition: CampaignDefinition = parse_body(&body)?;
    let id = definition.id.to_string();
    let command = CampaignCommand::Create { definition, at: now() };
    run_command(
        &state,
        &state.platform.campaigns,
        Invocation { principal: &principal, headers, id: &id, command },
        StatusCode::CREATED,
        json!({}),
    )
    .await
}

#[utoipa::path(get, path = "/api/v1/campaigns", tag = "campaigns", summary = "List campaigns", params(("phase" = Option<String>, Query), ("kind" = Option<CampaignKind>, Query), ("after" = Option<String>, Query), ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000)), responses((status = 200, description = "A page", body = ListPage), ReadErrors), security(("bearer" = [])))]
async fn list(
    state: web::Data<AppState>,
    _principal: Principal,
    filter: web::Query<CampaignFilter>,
    page: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = page.limit()?;
    let page = state.campaign_list.read(|list| list.page(|e| filter.matches(e), page.after.as_deref(), limit));
    let items: Vec<&CampaignProgress> = page.items.iter().map(|entry| &entry.progress).collect();
    Ok(HttpResponse::Ok().json(json!({ "items": items, "next_cursor": page.next_cursor, "total": page.total })))
}

#[utoipa::path(get, path = "/api/v1/campaigns/{id}", tag = "campaigns", summary = "A campaign", params(("id" = String, Path, description = "Instance id")), responses((status = 200, description = "The campaign", body = InstanceView), ReadErrors), security(("bearer" = [])))]
async fn detail(
    state: web::Data<AppState>,
    _principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    super::history::instance_view(&state, &state.platform.campaigns, &id, |_| Ok(json!({}))).await
}

#[utoipa::path(post, path = "/api/v1/campaigns/{id}/{action}", tag = "campaigns", summary = "Start (resolving its targets), pause, resume or cancel", request_body = Option<CampaignActionBody>, params(("id" = String, Path, description = "Instance id"), ("action" = String, Path, description = "start, pause, resume or cancel"), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried request return the first result"), ("If-Match" = Option<String>, Header, description = "The stream version the caller saw, such as \"3\"")), responses((status = 200, description = "Accepted", body = CommandAccepted), CommandErrors), security(("bearer" = [])))]
async fn act(
    state: web::Data<AppState>,
    principal: Principal,
    headers: CommandHeaders,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    principal.require_command()?;
    let (id, action) = path.into_inner();
    let body: CampaignActionBody = if body.is_empty() { CampaignActionBody::default() } else { parse_body(&body)? };
    let at = now();
    let command = match action.as_str() {
        "start" => {
            resolve_targets(&state, &principal, &id).await?;
            CampaignCommand::Start { at }
        }
        "pause" => CampaignCommand::Pause { at },
        "resume" => CampaignCommand::Resume { at },
        "cancel" => CampaignCommand::Cancel { reason: body.reason.unwrap_or_else(|| "cancelled".to_owned()), at },
        other => {
            return Err(ApiError::not_found(format!(
                "no campaign action {other:?}; use start, pause, resume or cancel"
            )))
        }
    };
    run_command(
        &state,
        &state.platform.campaigns,
        Invocation { principal: &principal, headers, id: &id, command },
        StatusCode::OK,
        json!({}),
    )
    .await
}

/// Resolves the targets of a draft campaign from the device directory.
async fn resolve_targets(state: &AppState, principal: &Principal, id: &str) -> Result<(), ApiError> {
    let instance = state.platform.campaigns.state(id).await?;
    let Some(definition) = instance.state.definition.as_ref() else {
        return Err(ApiError::not_found(format!("campaign {id:?} does not exist")));
    };
    if instance.state.phase != CampaignPhase::Draft || !instance.state.targets.is_empty() {
        return Ok(());
    }
    let selector = definition.selector.clone();
    let devices: Vec<DeviceId> = state.device_directory.read(|directory| {
        directory
            .page(|entry| selects(&selector, entry), None, usize::MAX)
            .items
            .into_iter()
            .filter_map(|entry| DeviceId::new(entry.id).ok())
            .collect()
    });
    let metadata = CommandMetadata { principal: principal.name.clone(), ..CommandMetadata::default() };
    state.platform.campaigns.execute(id, CampaignCommand::ResolveTargets { devices, at: now() }, metadata).await?;
    Ok(())
}

fn selects(selector: &TargetSelector, entry: &DeviceEntry) -> bool {
    !entry.decommissioned
        && (selector.kinds.is_empty() || selector.kinds.contains(&entry.kind))
        && (selector.regions.is_empty() || selector.regions.contains(&entry.region))
        && (selector.sites.is_empty() || selector.sites.contains(&entry.site))
        && selector.tags.iter().all(|tag| entry.tags.contains(tag))
        && (selector.device_ids.is_empty() || selector.device_ids.iter().any(|id| id.as_str() == entry.id))
}
