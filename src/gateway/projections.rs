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

#[utoipa::path(get, path = "/api/v1/projections", tag = "projections", summary = "Each read model's position, lag behind the log's head, and failure", responses((status = 200, description = "One entry per projection", body = Vec<ProjectionStatus>), ReadErrors), security(("bearer" = [])))]
async fn list(state: web::Data<AppState>, _principal: Principal) -> HttpResponse {
    HttpResponse::Ok().json(statuses(&state))
}
