//! `/api/v1/dead-letters`: device messages the platform refused, with the reason.

use super::auth::Principal;
use super::error::ApiError;
use super::page_limit::page_limit;
use super::schemas::{DeadLettersPage, ReadErrors};
use super::AppState;
use crate::ingest::dead_letter::DeadLetterReason;
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
}

#[utoipa::path(get, path = "/api/v1/dead-letters", tag = "dead-letters", summary = "Refused device messages, oldest first", params(("after" = Option<u64>, Query, description = "Cursor"), ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000), ("reason" = Option<DeadLetterReason>, Query)), responses((status = 200, description = "A page", body = DeadLettersPage), ReadErrors), security(("bearer" = [])))]
async fn list(
    state: web::Data<AppState>,
    _principal: Principal,
    query: web::Query<DeadLetterQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = page_limit(query.limit, 50, 1_000)?;
    let items =
        state.dead_letters.page(query.after, limit, query.reason).map_err(|e| ApiError::internal(e.to_string()))?;
    let next = if items.len() == limit { items.last().map(|l| l.sequence) } else { None };
    Ok(HttpResponse::Ok().json(json!({ "items": items, "next": next })))
}
