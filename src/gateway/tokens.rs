//! `/api/v1/tokens`: admins create tokens while the server runs; every caller can learn its own
//! token's role (the dashboard shows only the actions the role allows).

use super::auth::{Principal, Role};
use super::command::parse_body;
use super::error::ApiError;
use super::schemas::{CommandErrors, CreateTokenBody, CreatedToken, CurrentToken, ReadErrors};
use super::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde_json::json;

/// The token routes.
pub fn routes(config: &mut web::ServiceConfig) {
    config.route("/tokens", web::post().to(create)).route("/tokens/current", web::get().to(current));
}

#[utoipa::path(get, path = "/api/v1/tokens/current", tag = "tokens", summary = "The caller's own token: name, role and what it may do (every role)", responses((status = 200, description = "The caller's token", body = CurrentToken), ReadErrors), security(("bearer" = [])))]
async fn current(principal: Principal) -> HttpResponse {
    HttpResponse::Ok().json(CurrentToken {
        may_command: principal.role.can_command(),
        may_audit: principal.role.can_audit(),
        name: principal.name,
        role: principal.role,
    })
}

#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", summary = "Create a token (admin)", request_body = CreateTokenBody, responses((status = 201, description = "The token, shown once", body = CreatedToken), CommandErrors), security(("bearer" = [])))]
async fn create(state: web::Data<AppState>, principal: Principal, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    if principal.role != Role::Admin {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", "only admins create tokens"));
    }
    let request: CreateTokenBody = parse_body(&body)?;
    if request.name.trim().is_empty() {
        return Err(ApiError::bad_request("field `name`: must not be empty"));
    }
    let token = state.tokens.create(&request.name, request.role).await?;
    Ok(HttpResponse::Created().json(json!({ "name": request.name, "role": request.role, "token": token })))
}
