//! The path every command takes through the API: role check, idempotency, `If-Match`,
//! execution by the instance's actor, and one response shape.

use super::auth::Principal;
use super::error::ApiError;
use super::idempotency;
use super::AppState;
use crate::actors::{ActorDirectory, CommandMetadata};
use crate::aggregates::StoredAggregate;
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use optibid_domain::EventName;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use std::future::{ready, Ready};

/// Longest accepted idempotency key.
const MAX_IDEMPOTENCY_KEY: usize = 128;

/// The command-related headers of a request.
#[derive(Debug, Clone, Default)]
pub struct CommandHeaders {
    /// `Idempotency-Key`.
    pub idempotency_key: Option<String>,
    /// `If-Match`, as a stream version.
    pub expected_version: Option<u64>,
}

impl FromRequest for CommandHeaders {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let header = |name: &str| request.headers().get(name).map(|value| value.to_str().map(str::trim));
        let idempotency_key = match header("idempotency-key") {
            None => None,
            Some(Ok(key)) if !key.is_empty() && key.len() <= MAX_IDEMPOTENCY_KEY => Some(key.to_owned()),
            Some(_) => {
                return ready(Err(ApiError::bad_request(format!(
                    "header `Idempotency-Key` must be 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters"
                ))))
            }
        };
        let expected_version = match header("if-match") {
            None => None,
            Some(Ok(value)) => match value.trim_matches('"').parse::<u64>() {
                Ok(version) => Some(version),
                Err(_) => {
                    return ready(Err(ApiError::bad_request(
                        "header `If-Match` must be a stream version, such as \"3\"".to_owned(),
                    )))
                }
            },
            Some(Err(_)) => return ready(Err(ApiError::bad_request("header `If-Match` is not ASCII"))),
        };
        ready(Ok(CommandHeaders { idempotency_key, expected_version }))
    }
}

/// Parses a JSON body into `T`, naming the offending field on failure.
pub fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", format!("malformed JSON: {inner}"))
        } else if path == "." {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_field", inner.to_string())
        } else {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_field", format!("field `{path}`: {inner}"))
        }
    })
}

/// One command, as the API received it.
pub struct Invocation<'a, A: StoredAggregate> {
    /// Who sends it.
    pub principal: &'a Principal,
    /// Its idempotency key and expected version.
    pub headers: CommandHeaders,
    /// The instance.
    pub id: &'a str,
    /// The command.
    pub command: A::Command,
}

/// Runs an invocation on its instance of `A`, answering `success` with the new version and the
/// names of the events it caused, plus `extra` fields.
pub async fn run_command<A: StoredAggregate>(
    state: &web::Data<AppState>,
    directory: &ActorDirectory<A>,
    invocation: Invocation<'_, A>,
    success: StatusCode,
    extra: Value,
) -> Result<HttpResponse, ApiError> {
    let Invocation { principal, headers, id, command } = invocation;
    principal.require_command()?;
    let cache_key = headers.idempotency_key.as_ref().map(|key| {
        let mut hasher = blake3::Hasher::new();
        for part in [principal.name.as_str(), A::NAME, id, key.as_str()] {
            hasher.update(part.as_bytes());
            hasher.update(&[0]);
        }
        *hasher.finalize().as_bytes()
    });
    if let Some(key) = &cache_key {
        if let Some(stored) = state.idempotency.get(key, idempotency::now_ms())? {
            let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
            return Ok(HttpResponse::build(status)
                .insert_header(("idempotent-replayed", "true"))
                .content_type("application/json")
                .body(stored.body));
        }
    }
    let metadata = CommandMetadata {
        principal: principal.name.clone(),
        idempotency_key: headers.idempotency_key.map(|key| format!("{}:{key}", principal.name)),
        expected_version: headers.expected_version,
        ..CommandMetadata::default()
    };
    let (status, body, version) = match directory.execute(id, command, metadata).await {
        Ok(executed) => {
            let events: Vec<&str> = executed.events.iter().map(EventName::event_name).collect();
            let mut body = json!({ "id": id, "version": executed.version, "events": events });
            if let (Value::Object(body), Value::Object(extra)) = (&mut body, extra) {
                body.extend(extra);
            }
            (success, body, Some(executed.version))
        }
        Err(error) => {
            let error = ApiError::from(error);
            if error.status.is_server_error() || error.status == StatusCode::TOO_MANY_REQUESTS {
                return Err(error);
            }
            let mut detail = json!({ "code": error.code, "message": error.message });
            if let Some(current) = error.current_version {
                detail["current_version"] = json!(current);
            }
            (error.status, json!({ "error": detail }), None)
        }
    };
    let bytes = serde_json::to_vec(&body).map_err(|e| ApiError::internal(e.to_string()))?;
    if let Some(key) = &cache_key {
        state.idempotency.put(key, status.as_u16(), bytes.clone(), idempotency::now_ms())?;
        state.platform.log.durability().wait().await?;
    }
    let mut response = HttpResponse::build(status);
    if let Some(version) = version {
        response.insert_header(("etag", format!("\"{version}\"")));
    }
    Ok(response.content_type("application/json").body(bytes))
}

impl From<sled::Error> for ApiError {
    fn from(error: sled::Error) -> Self {
        ApiError::internal(format!("storage failure: {error}"))
    }
}
