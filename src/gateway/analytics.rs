//! `/api/v1/analytics`: read models for dashboards: fleet and edge figures, and a device
//! metric's roll-up series.

use super::auth::Principal;
use super::error::ApiError;
use super::schemas::ReadErrors;
use super::AppState;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, SecondsFormat, Utc};
use optibid_projections::telemetry_rollups::Resolution;
use optibid_projections::{edge_analytics, fleet_analytics};
use serde::{Deserialize, Serialize};

/// Most buckets one answer holds.
const MAX_POINTS: usize = 10_000;

/// The analytics routes.
pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/analytics/fleet", web::get().to(fleet))
        .route("/analytics/edge", web::get().to(edge))
        .route("/analytics/devices/{id}/telemetry", web::get().to(device_telemetry));
}

#[utoipa::path(get, path = "/api/v1/analytics/fleet", tag = "analytics", summary = "Devices, online rate, average uptime, data points, energy and active alerts, in all and per region and device kind", responses((status = 200, description = "The figures", body = Object), ReadErrors), security(("bearer" = [])))]
async fn fleet(state: web::Data<AppState>, _principal: Principal) -> HttpResponse {
    let now = Utc::now().timestamp_millis();
    let summary = state.fleet_analytics.read(|devices| fleet_analytics::summarise(devices.entries(), now));
    HttpResponse::Ok().json(summary)
}

#[utoipa::path(get, path = "/api/v1/analytics/edge", tag = "analytics", summary = "Edge nodes, models deployed, inference rate, latency and resource use, in all and per region", responses((status = 200, description = "The figures", body = Object), ReadErrors), security(("bearer" = [])))]
async fn edge(state: web::Data<AppState>, _principal: Principal) -> HttpResponse {
    let now = Utc::now().timestamp_millis();
    let summary = state.edge_analytics.read(|nodes| edge_analytics::summarise(nodes.entries(), now));
    HttpResponse::Ok().json(summary)
}

/// `?metric=&from=&to=&resolution=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SeriesQuery {
    /// The metric.
    pub metric: String,
    /// Start (RFC 3339); default `to` minus 24 hours.
    pub from: Option<String>,
    /// End (RFC 3339); default now.
    pub to: Option<String>,
    /// `1m`, `1h` or `1d`; default the finest that gives at most 1,500 buckets over the range.
    #[param(value_type = Option<String>, pattern = "^(1m|1h|1d)$")]
    pub resolution: Option<Resolution>,
}

/// One bucket of a series.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SeriesPoint {
    /// Bucket start (RFC 3339).
    pub start: String,
    /// Samples in the bucket.
    pub count: u64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Mean value.
    pub mean: f64,
    /// The latest sample's value.
    pub last: f64,
}

/// A metric's series.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Series {
    /// The device.
    pub device: String,
    /// The metric.
    pub metric: String,
    /// `1m`, `1h` or `1d`.
    #[schema(value_type = String)]
    pub resolution: Resolution,
    /// Start of the range (RFC 3339).
    pub from: String,
    /// End of the range (RFC 3339).
    pub to: String,
    /// Buckets with samples, oldest first.
    pub points: Vec<SeriesPoint>,
}

fn instant(text: &str, name: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).map_err(|_| {
        ApiError::bad_request(format!("{name} {text:?} is not an RFC 3339 time such as 2026-11-28T10:00:00Z"))
    })
}

fn rfc3339(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[utoipa::path(get, path = "/api/v1/analytics/devices/{id}/telemetry", tag = "analytics", summary = "A device metric's roll-up series (count, min, max, mean, last per bucket)", params(("id" = String, Path, description = "Device id"), SeriesQuery), responses((status = 200, description = "The series", body = Series), ReadErrors), security(("bearer" = [])))]
async fn device_telemetry(
    state: web::Data<AppState>,
    _principal: Principal,
    id: web::Path<String>,
    query: web::Query<SeriesQuery>,
) -> Result<HttpResponse, ApiError> {
    if state.device_directory.read(|directory| directory.get(&id).is_none()) {
        return Err(ApiError::not_found(format!("no device {id}")));
    }
    if query.metric.is_empty() {
        return Err(ApiError::bad_request("metric must not be empty"));
    }
    let to = query.to.as_deref().map(|t| instant(t, "to")).transpose()?.unwrap_or_else(Utc::now);
    let from = match query.from.as_deref() {
        Some(text) => instant(text, "from")?,
        None => to - chrono::Duration::hours(24),
    };
    if from > to {
        return Err(ApiError::bad_request("from must not be after to"));
    }
    let (from_ms, to_ms) = (from.timestamp_millis(), to.timestamp_millis());
    let resolution = query.resolution.unwrap_or_else(|| {
        Resolution::ALL.into_iter().find(|r| (to_ms - from_ms) / r.width_ms() <= 1_500).unwrap_or(Resolution::Day)
    });
    let buckets = state
        .telemetry_rollups
        .read(|rollups| rollups.series(&id, &query.metric, resolution, from_ms, to_ms, MAX_POINTS))
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let points = buckets
        .iter()
        .map(|b| SeriesPoint {
            start: rfc3339(b.start),
            count: b.count,
            min: b.min,
            max: b.max,
            mean: b.mean(),
            last: b.last,
        })
        .collect();
    Ok(HttpResponse::Ok().json(Series {
        device: id.into_inner(),
        metric: query.metric.clone(),
        resolution,
        from: rfc3339(from_ms),
        to: rfc3339(to_ms),
        points,
    }))
}
