//! Error answers that actix-web makes itself, before a handler runs, get the API's JSON error
//! shape too (a body over the limit read as raw bytes, for one).

use super::error::ApiError;
use super::MAX_BODY_BYTES;
use actix_web::dev::ServiceResponse;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::http::StatusCode;
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::ResponseError;

/// The middleware that rewrites actix-web's plain-text error answers.
pub fn json_error_bodies<B: 'static>() -> ErrorHandlers<B> {
    ErrorHandlers::new().handler(StatusCode::PAYLOAD_TOO_LARGE, too_large)
}

fn too_large<B>(response: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let json =
        response.headers().get(CONTENT_TYPE).is_some_and(|value| value.as_bytes().starts_with(b"application/json"));
    if json {
        return Ok(ErrorHandlerResponse::Response(response.map_into_left_body()));
    }
    let (request, _) = response.into_parts();
    let error = ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("the body exceeds {MAX_BODY_BYTES} bytes"),
    );
    Ok(ErrorHandlerResponse::Response(ServiceResponse::new(request, error.error_response()).map_into_right_body()))
}
