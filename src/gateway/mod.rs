//! The HTTP API (actix-web), everything under `/api/v1/`.
//!
//! - [`auth`]: bearer tokens with roles (admin, operator, auditor, viewer).
//! - [`command`]: the path every command takes (role, idempotency, `If-Match`, one response).
//! - [`idempotency`]: first responses by idempotency key, replayed for 24 hours.
//! - [`error`]: every error as `{"error": {"code", "message"}}` with its status, in one place.
//! - [`devices`], [`edge_nodes`], [`campaigns`]: commands and queries per resource;
//!   [`device_commands`]: where one device command stands.
//! - [`history`]: an instance's events and its state at any instant.
//! - [`events`]: the global log, paged and as server-sent events; [`audit`]: verification.
//! - [`tokens`]: token creation by admins; [`credentials`]: MQTT secrets of devices and edge
//!   nodes; [`dead_letters`]: device messages that were refused.
//! - [`metrics`]: `/metrics` for Prometheus; [`openapi`]: `/openapi.json` and `/api/docs`.
//! - [`health`]: `/healthz` and `/readyz`; [`request_span`]: a span and request id per request.
//! - [`route_table`]: 405 with `Allow` for a known path asked with another method, else 404.

pub mod alerts;
pub mod analytics;
pub mod audit;
pub mod auth;
pub mod campaigns;
pub mod command;
pub mod credentials;
pub mod dashboard;
pub mod dead_letters;
pub mod device_commands;
pub mod devices;
pub mod edge_nodes;
pub mod error;
pub mod error_bodies;
pub mod events;
pub mod health;
pub mod history;
pub mod idempotency;
pub mod live_feed;
pub mod live_summary;
pub mod maintenance;
pub mod metrics;
pub mod openapi;
pub mod page_limit;
pub mod projections;
pub mod request_span;
pub mod route_table;
pub mod schemas;
pub mod tokens;

use crate::actors::Platform;
use crate::ingest::dead_letter::DeadLetterStore;
use crate::ingest::queue::IngestStats;
use crate::mqtt::credentials::ClientCredentials;
use crate::mqtt::device_endpoint::EndpointStats;
use crate::mqtt::downlink::DownlinkStats;
use crate::opcua::client::OpcUaStats;
use crate::projector::Projected;
use crate::worker_health::Workers;
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::StatusCode;
use actix_web::{web, App, HttpRequest, HttpServer};
use auth::TokenStore;
use error::ApiError;
use optibid_domain::Timestamp;
use optibid_projections::alert_list::DeviceAlerts;
use optibid_projections::campaign_list::CampaignEntry;
use optibid_projections::device_directory::DeviceEntry;
use optibid_projections::edge_analytics::EdgeHealth;
use optibid_projections::edge_directory::EdgeNodeEntry;
use optibid_projections::fleet_analytics::DeviceHealth;
use optibid_projections::maintenance_predictions::DevicePrognosis;
use optibid_projections::telemetry_rollups::TelemetryRollups;
use optibid_projections::Directory;
use serde::Deserialize;
use std::net::TcpListener;
use std::sync::{Arc, OnceLock};

/// How many dead letters are kept (the oldest go first).
pub const DEAD_LETTERS_KEPT: usize = 100_000;

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// Everything a request handler reaches.
pub struct AppState {
    /// Log and actors.
    pub platform: Arc<Platform>,
    /// Device list.
    pub device_directory: Projected<Directory<DeviceEntry>>,
    /// Edge node list.
    pub edge_directory: Projected<Directory<EdgeNodeEntry>>,
    /// Campaign list.
    pub campaign_list: Projected<Directory<CampaignEntry>>,
    /// Telemetry roll-ups.
    pub telemetry_rollups: Projected<TelemetryRollups>,
    /// Per-device fleet figures.
    pub fleet_analytics: Projected<Directory<DeviceHealth>>,
    /// Per-node edge figures.
    pub edge_analytics: Projected<Directory<EdgeHealth>>,
    /// Device alerts.
    pub alert_list: Projected<Directory<DeviceAlerts>>,
    /// Anomalies and remaining-life trends per device.
    pub maintenance: Projected<Directory<DevicePrognosis>>,
    /// API tokens.
    pub tokens: TokenStore,
    /// First responses by idempotency key, for 24 hours.
    pub idempotency: idempotency::ResponseCache,
    /// Prometheus metrics.
    pub metrics: metrics::ApiMetrics,
    /// MQTT secrets of devices and edge nodes.
    pub credentials: ClientCredentials,
    /// Refused device messages.
    pub dead_letters: DeadLetterStore,
    /// The MQTT side's counters, once it runs.
    pub connectivity: OnceLock<Connectivity>,
    /// The log as one live feed shared by every server-sent-event client.
    pub live: live_feed::LiveFeed,
    /// The OPC UA clients' counters, once they run.
    pub opcua: OnceLock<Vec<Arc<OpcUaStats>>>,
    /// Background workers, reported in `/readyz` and `/metrics`.
    pub workers: Workers,
}

/// Counters of the protocol side, shown in `/metrics` and `/readyz`.
#[derive(Clone)]
pub struct Connectivity {
    /// Where devices connect over MQTT.
    pub url: String,
    /// Whether devices can reach the platform.
    pub connected: Arc<std::sync::atomic::AtomicBool>,
    /// MQTT ingest counters.
    pub ingest: Arc<IngestStats>,
    /// The device endpoint's counters, when the platform runs it.
    pub endpoint: Option<Arc<EndpointStats>>,
    /// Downlink counters.
    pub downlink: Arc<DownlinkStats>,
}

impl AppState {
    /// Starts the read models over `platform`'s log and opens the token and idempotency stores.
    pub fn start(platform: Arc<Platform>) -> anyhow::Result<Self> {
        let log = platform.log.clone();
        Ok(Self {
            device_directory: Projected::start(log.clone(), Directory::default())?,
            edge_directory: Projected::start(log.clone(), Directory::default())?,
            campaign_list: Projected::start(log.clone(), Directory::default())?,
            telemetry_rollups: Projected::start(log.clone(), TelemetryRollups::default())?,
            fleet_analytics: Projected::start(log.clone(), Directory::default())?,
            edge_analytics: Projected::start(log.clone(), Directory::default())?,
            alert_list: Projected::start(log.clone(), Directory::default())?,
            maintenance: Projected::start(log.clone(), Directory::default())?,
            tokens: TokenStore::open(&log)?,
            idempotency: idempotency::ResponseCache::open(log.database())?,
            metrics: metrics::ApiMetrics::default(),
            credentials: ClientCredentials::open(&log)?,
            dead_letters: DeadLetterStore::open(&log, DEAD_LETTERS_KEPT)?,
            connectivity: OnceLock::new(),
            live: live_feed::LiveFeed::start(log.clone()),
            opcua: OnceLock::new(),
            workers: Workers::default(),
            platform,
        })
    }
}

/// `?after=&limit=` of a list.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    /// Cursor: the id after which to continue.
    pub after: Option<String>,
    /// Page size (default 50, at most 1,000).
    pub limit: Option<usize>,
}

impl ListQuery {
    /// The page size to use; 0 is refused.
    pub fn limit(&self) -> Result<usize, ApiError> {
        page_limit::page_limit(self.limit, 50, 1_000)
    }
}

/// The current time, as commands carry it.
pub fn now() -> Timestamp {
    Timestamp(chrono::Utc::now().timestamp_millis())
}

/// Builds the HTTP server on an already bound listener (bind `127.0.0.1:0` in tests).
pub fn server(listener: TcpListener, state: Arc<AppState>) -> std::io::Result<actix_web::dev::Server> {
    let state = web::Data::from(state);
    Ok(HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
            .app_data(web::JsonConfig::default().limit(MAX_BODY_BYTES).error_handler(json_error))
            .app_data(web::QueryConfig::default().error_handler(query_error))
            .app_data(web::PathConfig::default().error_handler(path_error))
            .wrap(error_bodies::json_error_bodies())
            .wrap(actix_web::middleware::from_fn(request_span::trace_request))
            .service(health::healthz)
            .service(health::readyz)
            .service(metrics::metrics)
            .service(openapi::openapi_json)
            .service(openapi::docs_page)
            .configure(dashboard::routes)
            .service(
                web::scope("/api/v1")
                    .configure(devices::routes)
                    .configure(edge_nodes::routes)
                    .configure(campaigns::routes)
                    .configure(dead_letters::routes)
                    .configure(projections::routes)
                    .configure(analytics::routes)
                    .configure(alerts::routes)
                    .configure(maintenance::routes)
                    .configure(events::routes)
                    .configure(audit::routes)
                    .configure(tokens::routes),
            )
            .default_service(web::to(route_table::unmatched))
    })
    .workers(2)
    .listen(listener)?
    .run())
}

fn json_error(error: JsonPayloadError, _request: &HttpRequest) -> actix_web::Error {
    match error {
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the body exceeds {MAX_BODY_BYTES} bytes"),
        )
        .into(),
        other => ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", other.to_string()).into(),
    }
}

fn query_error(error: QueryPayloadError, _request: &HttpRequest) -> actix_web::Error {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", format!("query string: {error}")).into()
}

fn path_error(error: PathError, _request: &HttpRequest) -> actix_web::Error {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_path", error.to_string()).into()
}
