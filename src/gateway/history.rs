//! Per-instance history and point-in-time state, shared by devices, edge nodes and campaigns.

use super::auth::Principal;
use super::error::ApiError;
use super::page_limit::page_limit;
use super::schemas::{HistoryPage, PointInTimeView, ReadErrors};
use super::AppState;
use crate::actors::ActorDirectory;
use crate::aggregates::StoredAggregate;
use crate::audit::export::ExportedEvent;
use crate::audit::point_in_time::{state_at, PointInTimeError, Until};
use crate::store::{EventLog, StreamName};
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

/// Most events one history page returns.
const MAX_PAGE: usize = 1_000;

/// `?from_version=&limit=` of a history request.
#[derive(Debug, Deserialize)]
pub struct HistoryQuery {
    /// First stream version to return (default 1).
    pub from_version: Option<u64>,
    /// Page size (default 100, at most 1,000).
    pub limit: Option<usize>,
}

/// `?at=RFC3339` or `?version=N` of a state request.
#[derive(Debug, Deserialize)]
pub struct StateQuery {
    /// An instant, RFC 3339.
    pub at: Option<String>,
    /// A stream version.
    pub version: Option<u64>,
}

/// The stream `kind/id`, or 404 for an id outside the id contract.
pub fn stream(kind: &str, id: &str) -> Result<StreamName, ApiError> {
    StreamName::new(kind, id).map_err(|e| ApiError::not_found(format!("no {kind} {id:?}: {e}")))
}

/// An instance's current state from its actor, 404 when it has no events; the fields `extra`
/// makes of the state are added to the body.
pub async fn instance_view<A: StoredAggregate>(
    state: &AppState,
    directory: &ActorDirectory<A>,
    id: &str,
    extra: impl FnOnce(&A::State) -> Result<serde_json::Value, ApiError>,
) -> Result<HttpResponse, ApiError> {
    if state.platform.log.stream_version(&stream(A::NAME, id)?)? == 0 {
        return Err(ApiError::not_found(format!("{} {id:?} does not exist", A::NAME)));
    }
    let instance = directory.state(id).await?;
    let extra = extra(&instance.state)?;
    let mut body = json!({ "id": id, "version": instance.version, "state": instance.state });
    if let (serde_json::Value::Object(body), serde_json::Value::Object(extra)) = (&mut body, extra) {
        body.extend(extra);
    }
    Ok(HttpResponse::Ok().insert_header(("etag", format!("\"{}\"", instance.version))).json(body))
}

/// One page of a stream's events.
pub fn history(state: &AppState, stream: &StreamName, query: &HistoryQuery) -> Result<HttpResponse, ApiError> {
    let from = query.from_version.unwrap_or(1).max(1);
    let limit = page_limit(query.limit, 100, MAX_PAGE)?;
    let version = state.platform.log.stream_version(stream)?;
    if version == 0 {
        return Err(ApiError::not_found(format!("{stream} does not exist")));
    }
    let events: Vec<ExportedEvent> =
        state.platform.log.read_stream(stream, from)?.iter().take(limit).map(ExportedEvent::from_record).collect();
    let next = events.last().map(|event| event.version + 1).filter(|next| *next <= version);
    Ok(HttpResponse::Ok()
        .json(json!({ "stream": stream.as_str(), "version": version, "events": events, "next_from_version": next })))
}

/// The state of `stream` at an instant or a version.
pub fn state_at_point(state: &AppState, stream: &StreamName, query: &StateQuery) -> Result<HttpResponse, ApiError> {
    let until = match (&query.at, query.version) {
        (Some(_), Some(_)) => return Err(ApiError::bad_request("give `at` or `version`, not both")),
        (Some(at), None) => Until::Instant(
            chrono::DateTime::parse_from_rfc3339(at)
                .map_err(|_| ApiError::bad_request(format!("field `at`: {at:?} is not an RFC 3339 time")))?
                .timestamp_millis(),
        ),
        (None, Some(version)) => Until::Version(version),
        (None, None) => Until::Version(u64::MAX),
    };
    match state_at(state.platform.log.as_ref(), stream, until) {
        Ok(point) => Ok(HttpResponse::Ok().json(point)),
        Err(PointInTimeError::UnknownStream(_)) => Err(ApiError::not_found(format!("{stream} does not exist"))),
        Err(error @ PointInTimeError::NotYetExisting(_)) => Err(ApiError::not_found(error.to_string())),
        Err(PointInTimeError::Store(error)) => Err(error.into()),
        Err(error @ PointInTimeError::NoAggregate(_)) => Err(ApiError::bad_request(error.to_string())),
    }
}

macro_rules! instance_history_routes {
    ($kind:literal, $prefix:literal, $tag:literal, $history:ident, $state:ident) => {
        /// One page of the instance's events.
        #[utoipa::path(get, path = concat!("/api/v1/", $prefix, "/{id}/events"), tag = $tag,
            summary = "The instance's events, paged",
            params(("id" = String, Path), ("from_version" = Option<u64>, Query, minimum = 1), ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000)),
            responses((status = 200, description = "A page", body = HistoryPage), ReadErrors),
            security(("bearer" = [])))]
        pub async fn $history(
            state: web::Data<AppState>,
            _who: Principal,
            id: web::Path<String>,
            query: web::Query<HistoryQuery>,
        ) -> Result<HttpResponse, ApiError> {
            history(&state, &stream($kind, &id)?, &query)
        }

        /// The instance's state at an instant or a version (default: now).
        #[utoipa::path(get, path = concat!("/api/v1/", $prefix, "/{id}/state"), tag = $tag,
            summary = "The instance's state at an instant (at=RFC3339) or a version",
            params(("id" = String, Path), ("at" = Option<String>, Query, description = "RFC 3339"), ("version" = Option<u64>, Query)),
            responses((status = 200, description = "The state", body = PointInTimeView), ReadErrors),
            security(("bearer" = [])))]
        pub async fn $state(
            state: web::Data<AppState>,
            _who: Principal,
            id: web::Path<String>,
            query: web::Query<StateQuery>,
        ) -> Result<HttpResponse, ApiError> {
            state_at_point(&state, &stream($kind, &id)?, &query)
        }
    };
}

instance_history_routes!("device", "devices", "devices", device_history, device_state);
instance_history_routes!("edge", "edge-nodes", "edge-nodes", edge_history, edge_state);
instance_history_routes!("campaign", "campaigns", "campaigns", campaign_history, campaign_state);
