//! `/api/v1/events`: the global log, paged, and live as server-sent events.

use super::auth::Principal;
use super::error::ApiError;
use super::live_feed::StreamFilter;
use super::page_limit::page_limit;
use super::schemas::{EventsPage, ReadErrors, ServerSentEvent};
use super::AppState;
use crate::audit::export::ExportedEvent;
use crate::store::{EventLog, StreamName, STREAM_KINDS};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

/// Most events one page returns.
const MAX_PAGE: usize = 1_000;

/// The event routes.
pub fn routes(config: &mut web::ServiceConfig) {
    config.service(web::scope("/events").route("", web::get().to(page)).route("/stream", web::get().to(stream)));
}

#[derive(Deserialize)]
struct PageQuery {
    from: Option<u64>,
    limit: Option<usize>,
}

#[utoipa::path(get, path = "/api/v1/events", tag = "events", summary = "The global log, paged (auditor, admin)", params(("from" = Option<u64>, Query, minimum = 1), ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000)), responses((status = 200, description = "A page", body = EventsPage), ReadErrors), security(("bearer" = [])))]
async fn page(
    state: web::Data<AppState>,
    principal: Principal,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    principal.require_audit()?;
    let from = query.from.unwrap_or(1).max(1);
    let limit = page_limit(query.limit, 100, MAX_PAGE)?;
    let events: Vec<ExportedEvent> =
        state.platform.log.read_all(from, limit)?.iter().map(ExportedEvent::from_record).collect();
    let head = state.platform.log.head().position;
    let next = events.last().map(|event| event.position + 1).filter(|next| *next <= head);
    Ok(HttpResponse::Ok().json(json!({ "events": events, "head": head, "next_from": next })))
}

#[derive(Deserialize)]
struct StreamQuery {
    from: Option<u64>,
    kinds: Option<String>,
    stream: Option<String>,
    summary: Option<bool>,
}

impl StreamQuery {
    /// The events asked for: `kinds` is a comma-separated list of stream kinds.
    fn filter(&self) -> Result<StreamFilter, ApiError> {
        let kinds: Vec<String> = match &self.kinds {
            Some(list) => list.split(',').map(str::trim).filter(|k| !k.is_empty()).map(str::to_owned).collect(),
            None => Vec::new(),
        };
        if let Some(unknown) = kinds.iter().find(|kind| !STREAM_KINDS.contains(&kind.as_str())) {
            return Err(ApiError::bad_request(format!(
                "unknown stream kind {unknown:?} in `kinds`; known kinds are {}",
                STREAM_KINDS.join(", ")
            )));
        }
        if let Some(stream) = &self.stream {
            StreamName::parse(stream).map_err(|error| ApiError::bad_request(format!("`stream`: {error}")))?;
        }
        Ok(StreamFilter { kinds, stream: self.stream.clone() })
    }
}

/// Server-sent events from `from` (or after `Last-Event-ID`), then live. Each event's SSE id is
/// its global position. Every client shares one reader of the log; one that falls too far behind
/// reads the log itself until it has caught up. With `summary=true` the client gets instead one
/// `summary` event per second at most, saying what changed. The whole log (or some kinds of it)
/// is for auditors and admins; one stream, or summaries, for every role.
#[utoipa::path(get, path = "/api/v1/events/stream", tag = "events", summary = "The global log as server-sent events, resumable with Last-Event-ID (auditor, admin), or one stream's events or summaries at a bounded rate (every role)", params(("from" = Option<u64>, Query, minimum = 1), ("kinds" = Option<String>, Query, description = "Only these stream kinds, comma-separated: device, edge, campaign, telemetry"), ("stream" = Option<String>, Query, description = "Only this stream, such as device/inv-1"), ("summary" = Option<bool>, Query, description = "Instead of events, one `summary` event per second at most: events by kind, the streams that changed, the newest events other than telemetry"), ("Last-Event-ID" = Option<u64>, Header)), responses((status = 200, description = "text/event-stream; each event id is its global position", content_type = "text/event-stream", body = ServerSentEvent), ReadErrors), security(("bearer" = [])))]
async fn stream(
    state: web::Data<AppState>,
    principal: Principal,
    request: HttpRequest,
    query: web::Query<StreamQuery>,
) -> Result<HttpResponse, ApiError> {
    let filter = query.filter()?;
    let response = || {
        let mut response = HttpResponse::Ok();
        response.content_type("text/event-stream").insert_header(("cache-control", "no-cache"));
        response
    };
    if query.summary == Some(true) {
        if !filter.kinds.is_empty() || filter.stream.is_some() {
            return Err(ApiError::bad_request(
                "`summary=true` summarises the whole log: leave out `kinds` and `stream`",
            ));
        }
        return Ok(response().streaming(state.live.summary_client()));
    }
    if filter.stream.is_none() {
        principal.require_audit()?;
    }
    let last_seen = request.headers().get("last-event-id").and_then(|value| value.to_str().ok());
    let from = match last_seen {
        Some(text) => {
            text.trim()
                .parse::<u64>()
                .map_err(|_| ApiError::bad_request("header `Last-Event-ID` must be a global position"))?
                + 1
        }
        None => query.from.unwrap_or_else(|| state.platform.log.head().position + 1),
    };
    Ok(response().streaming(state.live.client(from, filter)))
}
