//! Liveness.

use crate::actors::Platform;
use crate::store::EventLog;
use actix_web::{get, web, HttpResponse};
use serde_json::json;

/// `GET /healthz`: the process is up and its log is open; reports the log head.
#[get("/healthz")]
pub async fn healthz(platform: web::Data<Platform>) -> HttpResponse {
    let head = platform.log.head();
    HttpResponse::Ok().json(json!({
        "status": "ok",
        "log_head": head.position,
        "live_devices": platform.devices.live_instances(),
    }))
}
