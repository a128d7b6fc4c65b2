//! `/api/v1/maintenance`: devices ranked by the risk that a metric leaves its normal range
//! within a week, with their trends and latest anomalies.

use super::auth::Principal;
use super::error::ApiError;
use super::page_limit::page_limit;
use super::schemas::ReadErrors;
use super::AppState;
use actix_web::{web, HttpResponse};
use optibid_projections::maintenance_predictions;
use serde::Deserialize;
use serde_json::json;

/// The maintenance routes.
pub fn routes(config: &mut web::ServiceConfig) {
    config.route("/maintenance/predictions", web::get().to(predictions));
}

/// `?min_risk=&limit=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PredictionQuery {
    /// Only devices with at least this risk (0..1, default 0).
    pub min_risk: Option<f64>,
    /// Most devices returned (default 100, at most 1,000).
    pub limit: Option<usize>,
}

#[utoipa::path(get, path = "/api/v1/maintenance/predictions", tag = "maintenance", summary = "Devices ranked by the risk of leaving a normal range within a week, with remaining hours, confidence, suggested maintenance time, trends and latest anomalies", params(PredictionQuery), responses((status = 200, description = "`items`, highest risk first", body = Object), ReadErrors), security(("bearer" = [])))]
async fn predictions(
    state: web::Data<AppState>,
    _principal: Principal,
    query: web::Query<PredictionQuery>,
) -> Result<HttpResponse, ApiError> {
    let min_risk = query.min_risk.filter(|r| r.is_finite()).unwrap_or(0.0);
    let limit = page_limit(query.limit, 100, 1_000)?;
    let items = state.maintenance.read(|model| maintenance_predictions::ranked(model, min_risk, limit));
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}
