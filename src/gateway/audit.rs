//! `/api/v1/audit`.

use super::auth::Principal;
use super::error::ApiError;
use super::schemas::{ReadErrors, VerifyResult};
use super::AppState;
use crate::audit::export::ExportedEvent;
use crate::audit::verify_log;
use crate::store::EventLog;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

/// Events read from the log per chunk of an export.
const EXPORT_CHUNK: usize = 1_000;

/// The audit routes.
pub fn routes(config: &mut web::ServiceConfig) {
    config
        .service(web::scope("/audit").route("/verify", web::post().to(verify)).route("/export", web::get().to(export)));
}

/// `?from=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// First global position to export (default 1).
    pub from: Option<u64>,
}

/// The log as JSON lines, the same lines as `optibid audit export`, while the platform runs:
/// from `from` to the head at the time of the request, read in chunks as the answer is sent.
#[utoipa::path(get, path = "/api/v1/audit/export", tag = "audit", summary = "The log as JSON lines, while the platform runs (auditor, admin)", params(ExportQuery), responses((status = 200, description = "One exported event per line (application/x-ndjson), as `optibid audit export` writes them", content_type = "application/x-ndjson", body = String), ReadErrors), security(("bearer" = [])))]
async fn export(
    state: web::Data<AppState>,
    principal: Principal,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    principal.require_audit()?;
    let log: Arc<dyn EventLog> = state.platform.log.clone();
    let head = log.head().position;
    let from = query.from.unwrap_or(1).max(1);
    let chunks = futures_util::stream::unfold(Some(from), move |next| {
        let log = log.clone();
        async move {
            let from = next.filter(|from| *from <= head)?;
            let read = web::block(move || log.read_all(from, EXPORT_CHUNK)).await;
            let records = match read {
                Ok(Ok(records)) => records,
                Ok(Err(error)) => return Some((Err(ApiError::from(error)), None)),
                Err(error) => return Some((Err(ApiError::internal(error.to_string())), None)),
            };
            let mut lines = Vec::new();
            for record in records.iter().filter(|record| record.position <= head) {
                if serde_json::to_writer(&mut lines, &ExportedEvent::from_record(record)).is_err() {
                    return Some((Err(ApiError::internal("an event could not be written as JSON")), None));
                }
                lines.push(b'\n');
            }
            let after = records.last().map(|record| record.position + 1).filter(|_| records.len() == EXPORT_CHUNK);
            Some((Ok(web::Bytes::from(lines)), after))
        }
    });
    Ok(HttpResponse::Ok().content_type("application/x-ndjson").streaming(chunks))
}

/// Runs the same check as `optibid audit verify` on the live log.
#[utoipa::path(post, path = "/api/v1/audit/verify", tag = "audit", summary = "Verify the whole log (auditor, admin)", responses((status = 200, description = "The result", body = VerifyResult), ReadErrors), security(("bearer" = [])))]
async fn verify(state: web::Data<AppState>, principal: Principal) -> Result<HttpResponse, ApiError> {
    principal.require_audit()?;
    let tree = state.platform.log.raw_events_tree().clone();
    let result =
        web::block(move || verify_log(&tree, None, |_| {})).await.map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(HttpResponse::Ok().json(match result {
        Ok(report) => json!({ "intact": true, "events": report.events, "streams": report.streams, "head": report.head.to_string() }),
        Err(failure) => json!({ "intact": false, "position": failure.position, "reason": failure.reason }),
    }))
}
