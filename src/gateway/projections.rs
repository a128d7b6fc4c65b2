//! `/api/v1/projections`: where each read model stands against the log.

use super::auth::Principal;
use super::schemas::ReadErrors;
use super::AppState;
use crate::projector::{self, ProjectionStatus};
use actix_web::{web, HttpResponse};

/// The projection routes.
pub fn routes(config: &mut web::ServiceConfig) {
    config.route("/projections", web::get().to(list));
}

/// Every read model's status, in a fixed order.
pub fn statuses(state: &AppState) -> Vec<ProjectionStatus> {
    let log = state.platform.log.as_ref();
    vec![
        projector::status(log, "device_directory", state.device_directory.position(), state.device_directory.failure()),
        projector::status(log, "edge_directory", state.edge_directory.position(), state.edge_directory.failure()),
        projector::status(log, "campaign_list", state.campaign_list.position(), state.campaign_list.failure()),
        projector::status(
            log,
            "telemetry_rollups",
            state.telemetry_rollups.position(),
            state.telemetry_rollups.failure(),
        ),
        projector::status(log, "fleet_analytics", state.fleet_analytics.position(), state.fleet_analytics.failure()),
        projector::status(log, "edge_analytics", state.edge_analytics.position(), state.edge_analytics.failure()),
        projector::status(log, "alert_list", state.alert_list.position(), state.alert_list.failure()),
        projector::status(log, "maintenance_predictions", state.maintenance.position(), state.maintenance.failure()),
    ]
}

/// Every read model's name and a receiver of its applied position, in the order of [`statuses`].
pub fn position_watches(state: &AppState) -> Vec<(&'static str, tokio::sync::watch::Receiver<u64>)> {
    vec![
        ("device_directory", state.device_directory.watch_position()),
        ("edge_directory", state.edge_directory.watch_position()),
        ("campaign_list", state.campaign_list.watch_position()),
        ("telemetry_rollups", state.telemetry_rollups.watch_position()),
        ("fleet_analytics", state.fleet_analytics.watch_position()),
        ("edge_analytics", state.edge_analytics.watch_position()),
        ("alert_list", state.alert_list.watch_position()),
        ("maintenance_predictions", state.maintenance.watch_position()),
    ]
}

#[utoipa::path(get, path = "/api/v1/projections", tag = "projections", summary = "Each read model's position, lag behind the log's head, and failure", responses((status = 200, description = "One entry per projection", body = Vec<ProjectionStatus>), ReadErrors), security(("bearer" = [])))]
async fn list(state: web::Data<AppState>, _principal: Principal) -> HttpResponse {
    HttpResponse::Ok().json(statuses(&state))
}
