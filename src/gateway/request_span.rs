//! One `tracing` span per request, with a request id echoed in `x-request-id`.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use tracing::Instrument;

/// Header carrying the request id.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Wraps the request in a span named `request` and adds the request id to the response.
pub async fn trace_request(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let request_id = uuid::Uuid::new_v4().to_string();
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %request.method(),
        path = %request.path(),
        status = tracing::field::Empty,
    );
    let mut response = next.call(request).instrument(span.clone()).await?;
    span.record("status", response.status().as_u16());
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
    }
    Ok(response)
}
