//! `/api/v1/events`: the global log, paged, and live as server-sent events.

use super::auth::Principal;
use super::error::ApiError;
use super::page_limit::page_limit;
use super::schemas::{EventsPage, ReadErrors, ServerSentEvent};
use super::AppState;
use crate::audit::export::ExportedEvent;
use crate::store::{EventLog, LogSubscription};
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
}

/// Server-sent events from `from` (or after `Last-Event-ID`), then live. Each event's SSE id is
/// its global position.
#[utoipa::path(get, path = "/api/v1/events/stream", tag = "events", summary = "The global log as server-sent events, resumable with Last-Event-ID (auditor, admin)", params(("from" = Option<u64>, Query, minimum = 1), ("Last-Event-ID" = Option<u64>, Header)), responses((status = 200, description = "text/event-stream; each event id is its global position", content_type = "text/event-stream", body = ServerSentEvent), ReadErrors), security(("bearer" = [])))]
async fn stream(
    state: web::Data<AppState>,
    principal: Principal,
    request: HttpRequest,
    query: web::Query<StreamQuery>,
) -> Result<HttpResponse, ApiError> {
    principal.require_audit()?;
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
    let shared: std::sync::Arc<dyn EventLog> = state.platform.log.clone();
    let subscription = LogSubscription::new(shared, from);
    let body = futures_util::stream::unfold(subscription, |mut subscription| async move {
        match subscription.next_batch(256).await {
            Ok(events) if events.is_empty() => None,
            Ok(events) => {
                let mut chunk = String::new();
                for event in &events {
                    let data = serde_json::to_string(&ExportedEvent::from_record(event)).unwrap_or_default();
                    chunk.push_str(&format!("id: {}\nevent: {}\ndata: {data}\n\n", event.position, event.event_type));
                }
                Some((Ok::<_, actix_web::Error>(web::Bytes::from(chunk)), subscription))
            }
            Err(_) => None,
        }
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("cache-control", "no-cache"))
        .streaming(body))
}
