//! `/api/v1/audit`.

use super::auth::Principal;
use super::error::ApiError;
use super::schemas::{ReadErrors, VerifyResult};
use super::AppState;
use crate::audit::verify_log;
use actix_web::{web, HttpResponse};
use serde_json::json;

/// The audit routes.
pub fn routes(config: &mut web::ServiceConfig) {
    config.service(web::scope("/audit").route("/verify", web::post().to(verify)));
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
