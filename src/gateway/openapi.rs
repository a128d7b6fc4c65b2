//! The OpenAPI document, generated from the handlers' annotations, and a human-readable page
//! rendered from it.

use super::{
    alerts, analytics, audit, campaigns, credentials, dead_letters, device_commands, devices, edge_nodes, events,
    history, maintenance, projections, schemas, tokens,
};
use crate::ingest::dead_letter::{DeadLetter, DeadLetterReason};
use actix_web::{get, HttpResponse};
use optibid_domain::campaign::{CampaignDefinition, CampaignKind, TargetSelector};
use optibid_domain::device::{DeviceKind, DeviceRegistration, DeviceStatus, MetricDeclaration, Protocol};
use optibid_domain::edge::{EdgeNodeKind, EdgeNodeRegistration, GpuSpec, Hardware, OptimisationLevel};
use optibid_domain::{CampaignId, DeviceId, EdgeNodeId};
use std::fmt::Write;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The API's OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(title = "OptiBid IoT API", description = "Devices, edge nodes, fleet campaigns, the event log and its audit."),
    paths(
        devices::register, devices::list, devices::detail, devices::configure, devices::change_status,
        devices::send_command, device_commands::command_status, devices::decommission, history::device_history, history::device_state,
        edge_nodes::register, edge_nodes::list, edge_nodes::detail, edge_nodes::deploy, edge_nodes::service,
        edge_nodes::decommission, history::edge_history, history::edge_state,
        campaigns::create, campaigns::list, campaigns::detail, campaigns::act,
        history::campaign_history, history::campaign_state,
        events::page, events::stream, audit::verify, audit::export, tokens::create, tokens::current,
        credentials::rotate_device, credentials::rotate_edge_node, dead_letters::list, projections::list,
        analytics::device_telemetry, analytics::fleet, analytics::edge, alerts::list, alerts::acknowledge,
        alerts::resolve, maintenance::predictions,
    ),
    components(schemas(
        DeviceRegistration, DeviceKind, Protocol, DeviceStatus, MetricDeclaration, DeviceId,
        EdgeNodeRegistration, EdgeNodeKind, Hardware, GpuSpec, OptimisationLevel, EdgeNodeId,
        CampaignDefinition, CampaignKind, TargetSelector, CampaignId,
        schemas::CommandAccepted, schemas::LatestValue, schemas::ErrorBody, schemas::ErrorDetail, schemas::InstanceView,
        schemas::ListPage, schemas::HistoryPage, schemas::PointInTimeView, schemas::EventsPage,
        schemas::VerifyResult, schemas::CreatedToken, schemas::CurrentToken, schemas::ServerSentEvent,
        schemas::IssuedCredentials, schemas::DeadLettersPage, DeadLetter, DeadLetterReason,
        crate::projector::ProjectionStatus, device_commands::CommandView, device_commands::CommandStatus, analytics::Series, analytics::SeriesPoint,
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "devices", description = "Energy assets"),
        (name = "edge-nodes", description = "Gateways and edge computers"),
        (name = "campaigns", description = "Fleet rollouts in waves"),
        (name = "events", description = "The global event log"),
        (name = "audit", description = "Verification"),
        (name = "tokens", description = "API tokens"),
        (name = "dead-letters", description = "Device messages the platform refused"),
        (name = "projections", description = "Read models and their lag"),
        (name = "alerts", description = "Device alerts and their lifecycle"),
        (name = "maintenance", description = "Anomalies and remaining-life predictions"),
        (name = "analytics", description = "Fleet and edge figures, telemetry roll-ups"),
    )
)]
pub struct ApiDoc;

/// Declares the bearer-token scheme.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// `GET /openapi.json`.
#[get("/openapi.json")]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}

/// `GET /api/docs`: every operation of the OpenAPI document, for people.
#[get("/api/docs")]
pub async fn docs_page() -> HttpResponse {
    let document = ApiDoc::openapi();
    let mut page = String::from(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>OptiBid IoT API</title>\
         <style>body{font-family:sans-serif;max-width:60rem;margin:2rem auto}code{background:#eee;padding:0 .2rem}\
         td{padding:.2rem .6rem;vertical-align:top}</style></head><body><h1>OptiBid IoT API</h1>\
         <p>Send <code>Authorization: Bearer &lt;token&gt;</code>. Machine-readable: \
         <a href=\"/openapi.json\">/openapi.json</a>.</p><table>",
    );
    for (path, item) in &document.paths.paths {
        let operations = [("GET", &item.get), ("POST", &item.post), ("PUT", &item.put), ("DELETE", &item.delete)];
        for (method, operation) in operations {
            if let Some(operation) = operation {
                let summary = operation.summary.as_deref().unwrap_or("");
                let _ = write!(
                    page,
                    "<tr><td><code>{method}</code></td><td><code>{}</code></td><td>{}</td></tr>",
                    escape(path),
                    escape(summary)
                );
            }
        }
    }
    page.push_str("</table></body></html>");
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body(page)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
