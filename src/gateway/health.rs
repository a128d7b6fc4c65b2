//! Liveness and readiness.

use super::AppState;
use crate::store::EventLog;
use actix_web::{get, web, HttpResponse};
use serde_json::json;

/// `GET /healthz`: the process is up; reports the log head.
#[get("/healthz")]
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok", "log_head": state.platform.log.head().position }))
}

/// `GET /readyz`: the store is open, the actors answer and no read model has stopped.
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let projections = super::projections::statuses(&state);
    let mut stopped: Vec<String> =
        projections.iter().filter_map(|p| p.failure.as_ref().map(|f| format!("{}: {f}", p.name))).collect();
    for worker in state.workers.all() {
        if let Some(reason) = worker.stop_reason() {
            stopped.push(format!("{} stopped: {reason}", worker.name()));
        }
    }
    let actors_answer = state.platform.devices.state("readiness-probe").await.is_ok();
    let ready = stopped.is_empty() && actors_answer;
    let body = json!({
        "ready": ready,
        "log_head": state.platform.log.head().position,
        "actors": actors_answer,
        "mqtt": state.connectivity.get().map(|c| json!({
            "url": c.url,
            "connected": c.connected.load(std::sync::atomic::Ordering::Relaxed),
            "sessions": c.endpoint.as_ref().map(|e| e.connections.load(std::sync::atomic::Ordering::Relaxed)),
        })),
        "workers": state.workers.all().iter().map(|w| (w.name().to_owned(), json!({
            "stopped": w.stop_reason(),
            "retried": w.retried(),
            "last_error": w.last_error(),
        }))).collect::<serde_json::Map<_, _>>(),
        "opcua": state.opcua.get().into_iter().flatten().map(|e| json!({
            "endpoint": e.name,
            "url": e.url,
            "connected": e.connected.load(std::sync::atomic::Ordering::Relaxed),
            "last_error": e.last_error(),
        })).collect::<Vec<_>>(),
        "projections": projections.iter().map(|p| (p.name.clone(), json!(p.position))).collect::<serde_json::Map<_, _>>(),
        "problems": stopped,
    });
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}
