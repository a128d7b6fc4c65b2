//! The HTTP gateway (actix-web).
//!
//! - [`health`]: `/healthz`, liveness with the log head.
//! - [`request_span`]: a `tracing` span and a request id per request.

pub mod health;
pub mod request_span;

use crate::actors::Platform;
use actix_web::{web, App, HttpServer};
use std::net::TcpListener;
use std::sync::Arc;

/// Builds the HTTP server on an already bound listener (bind `127.0.0.1:0` in tests).
pub fn server(listener: TcpListener, platform: Arc<Platform>) -> std::io::Result<actix_web::dev::Server> {
    let platform = web::Data::from(platform);
    Ok(HttpServer::new(move || {
        App::new()
            .app_data(platform.clone())
            .wrap(actix_web::middleware::from_fn(request_span::trace_request))
            .service(health::healthz)
    })
    .workers(2)
    .listen(listener)?
    .run())
}
