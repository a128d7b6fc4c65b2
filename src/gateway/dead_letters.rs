//! `/api/v1/dead-letters`: device messages the platform refused, with the reason.

use super::auth::Principal;
use super::error::ApiError;
use super::page_limit::page_limit;
use super::schemas::{DeadLettersPage, ReadErrors};
use super::AppState;
use crate::ingest::dead_letter::{DeadLetterFilter, DeadLetterReason};
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

/// The dead-letter routes.
pub fn routes(config: &mut web::ServiceConfig) {
    config.route("/dead-letters", web::get().to(list));
}

/// `?after=&limit=&reason=`.
#[derive(Debug, Deserialize)]
pub struct DeadLetterQuery {
    /// Cursor: the sequence after which to continue.
    pub after: Option<u64>,
    /// Page size (default 50, at most 1,000).
    pub limit: Option<usize>,
    /// Only this reason.
    pub reason: Option<DeadLetterReason>,
    /// Only messages about this device or edge node.
    pub device: Option<String>,
    /// Only this exact topic.
    pub topic: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/dead-letters", tag = "dead-letters", summary = "Refused device messages, oldest first", params(("after" = Option<u64>, Query, description = "Cursor"), ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000), ("reason" = Option<DeadLetterReason>, Query), ("device" = Option<String>, Query, description = "Only messages about this device or edge node"), ("topic" = Option<String>, Query, description = "Only this exact topic")), responses((status = 200, description = "A page", body = DeadLettersPage), ReadErrors), security(("bearer" = [])))]
async fn list(
    state: web::Data<AppState>,
    _principal: Principal,
    query: web::Query<DeadLetterQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = page_limit(query.limit, 50, 1_000)?;
    let query = query.into_inner();
    let filter = DeadLetterFilter { reason: query.reason, device: query.device, topic: query.topic };
    let items = state.dead_letters.page(query.after, limit, &filter).map_err(|e| ApiError::internal(e.to_string()))?;
    let next_cursor = if items.len() == limit { items.last().map(|l| l.sequence) } else { None };
    Ok(HttpResponse::Ok().json(json!({ "items": items, "next_cursor": next_cursor })))
}
