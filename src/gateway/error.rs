//! Every API error, mapped to its HTTP status in one place, and rendered as
//! `{"error": {"code": "...", "message": "..."}}`.

use crate::actors::ExecuteError;
use crate::store::StoreError;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use optibid_domain::MissingResource;
use serde_json::json;

/// An API error.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code.
    pub code: &'static str,
    /// What went wrong, for people.
    pub message: String,
    /// The current stream version, on version conflicts.
    pub current_version: Option<u64>,
}

impl ApiError {
    /// An error with this status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), current_version: None }
    }

    /// 400: a malformed request or field.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 404: no such resource.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 500: something that is not the caller's fault.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut error = json!({ "code": self.code, "message": self.message });
        if let Some(current) = self.current_version {
            error["current_version"] = json!(current);
        }
        HttpResponse::build(self.status).json(json!({ "error": error }))
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict { actual, .. } => Self {
                current_version: Some(actual),
                ..Self::new(StatusCode::CONFLICT, "version_conflict", error.to_string())
            },
            StoreError::InsufficientSpace { .. } => {
                Self::new(StatusCode::INSUFFICIENT_STORAGE, "insufficient_storage", error.to_string())
            }
            StoreError::WriterStopped(_) => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", error.to_string())
            }
            other => Self::internal(other.to_string()),
        }
    }
}

impl<E: std::error::Error + MissingResource + 'static> From<ExecuteError<E>> for ApiError {
    fn from(error: ExecuteError<E>) -> Self {
        let message = error.to_string();
        match error {
            ExecuteError::Rejected(rejection) if rejection.names_missing_resource() => Self::not_found(message),
            ExecuteError::Rejected(_) => Self::new(StatusCode::CONFLICT, "rule_violation", message),
            ExecuteError::VersionMismatch { current, .. } => {
                Self { current_version: Some(current), ..Self::new(StatusCode::CONFLICT, "version_conflict", message) }
            }
            ExecuteError::Store(store) => store.into(),
            ExecuteError::InvalidId(_) => Self::not_found(message),
            ExecuteError::Overloaded { .. } => Self::new(StatusCode::TOO_MANY_REQUESTS, "overloaded", message),
            ExecuteError::Timeout(_) | ExecuteError::ActorFailed(_) | ExecuteError::Unavailable { .. } => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
            }
        }
    }
}
