//! Request and response bodies of the API that are not domain types, with their OpenAPI
//! schemas.

use super::auth::Role;
use optibid_domain::device::DeviceStatus;
use optibid_domain::edge::OptimisationLevel;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// `PUT /devices/{id}/configuration`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ConfigurationBody {
    /// Keys and their new values (any JSON).
    pub changes: BTreeMap<String, Value>,
}

/// `POST /devices/{id}/status`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct StatusBody {
    /// The new status.
    pub status: DeviceStatus,
    /// Why.
    pub reason: Option<String>,
}

/// `POST /devices/{id}/commands`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SendCommandBody {
    /// Command name (`reboot`, `firmware_update`, ...).
    pub name: String,
    /// Parameters (any JSON).
    #[serde(default)]
    pub params: Value,
    /// How long the device has to finish it (default 60,000 ms).
    #[schema(minimum = 1)]
    pub timeout_ms: Option<u64>,
}

/// A body carrying only a reason (decommissioning).
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReasonBody {
    /// Why.
    pub reason: String,
}

/// `POST /campaigns/{id}/{action}` (the reason is used by `cancel`).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CampaignActionBody {
    /// Why (for `cancel`).
    pub reason: Option<String>,
}

/// `POST /edge-nodes/{id}/deployments`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct DeployBody {
    /// Model name.
    pub model: String,
    /// Model version.
    pub version: String,
    /// Optimisation level.
    pub optimisation: OptimisationLevel,
}

/// `POST /tokens`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateTokenBody {
    /// A name, recorded as the principal of what the token does.
    pub name: String,
    /// What the token may do.
    pub role: Role,
}

/// A created token (shown once).
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    /// The name.
    pub name: String,
    /// The role.
    pub role: Role,
    /// The token itself.
    pub token: String,
}

/// The caller's own token: who it is and what its role allows.
#[derive(Debug, Serialize, ToSchema)]
pub struct CurrentToken {
    /// The token's name.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// Whether it may send commands (operator, admin).
    pub may_command: bool,
    /// Whether it may read the global log and run audits (auditor, admin).
    pub may_audit: bool,
}

/// The answer to an accepted command.
#[derive(Debug, Serialize, ToSchema)]
pub struct CommandAccepted {
    /// The instance.
    pub id: String,
    /// Its stream version after the command (also in `ETag`).
    pub version: u64,
    /// Names of the events the command caused (empty for a no-op or a replayed retry).
    pub events: Vec<String>,
    /// Id of a command sent down to a device.
    pub command_id: Option<String>,
    /// Id of a model deployment.
    pub deployment_id: Option<String>,
    /// MQTT user name of a newly registered device or edge node.
    pub mqtt_login: Option<String>,
    /// Its MQTT secret, shown only in the answer to the registration.
    pub mqtt_secret: Option<String>,
}

/// A newly issued MQTT secret (shown once).
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedCredentials {
    /// The MQTT user name to connect with.
    pub mqtt_login: String,
    /// The secret; the previous one no longer works.
    pub mqtt_secret: String,
}

/// A page of dead letters.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeadLettersPage {
    /// The dead letters, oldest first.
    pub items: Vec<crate::ingest::dead_letter::DeadLetter>,
    /// Pass as `after` for the next page; `null` on the last page.
    pub next_cursor: Option<u64>,
}

/// Details of an error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable code: `bad_request`, `invalid_json`, `invalid_field`, `invalid_query`, `unauthorized`,
    /// `forbidden`, `not_found`, `rule_violation`, `version_conflict`, `payload_too_large`,
    /// `overloaded`, `unavailable`, `internal`.
    pub code: String,
    /// What went wrong.
    pub message: String,
    /// The current stream version, on version conflicts.
    pub current_version: Option<u64>,
}

/// Every error body.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// An instance and its current state.
#[derive(Debug, Serialize, ToSchema)]
pub struct InstanceView {
    /// The instance id.
    pub id: String,
    /// Its stream version (also in `ETag`).
    pub version: u64,
    /// Its state.
    pub state: Value,
    /// Devices only: the newest sample of each declared metric that has one, by metric name,
    /// as the telemetry roll-ups hold it (a moment behind the log).
    #[schema(value_type = Option<std::collections::BTreeMap<String, LatestValue>>)]
    pub latest: Option<Value>,
}

/// The newest sample of one metric.
#[derive(Debug, Serialize, ToSchema)]
pub struct LatestValue {
    /// The value.
    pub value: f64,
    /// The sample's time, milliseconds since the Unix epoch.
    pub at: i64,
    /// The metric's unit.
    pub unit: String,
    /// Whether the value lies in the metric's declared normal range.
    pub normal: bool,
}

/// A page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListPage {
    /// Entries ordered by id.
    pub items: Vec<Value>,
    /// Pass as `after` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
    /// Entries matching the filter in all.
    pub total: u64,
}

/// A page of an instance's events.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryPage {
    /// The stream.
    pub stream: String,
    /// Its current version.
    pub version: u64,
    /// The events.
    pub events: Vec<Value>,
    /// Pass as `from_version` for the next page.
    pub next_from_version: Option<u64>,
}

/// An instance's state at a point of its history.
#[derive(Debug, Serialize, ToSchema)]
pub struct PointInTimeView {
    /// The stream.
    pub stream: String,
    /// The version folded.
    pub version: u64,
    /// When its last folded event was recorded (RFC 3339).
    pub recorded_at: String,
    /// The state.
    pub state: Value,
}

/// A page of the global log.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventsPage {
    /// The events.
    pub events: Vec<Value>,
    /// The log head.
    pub head: u64,
    /// Pass as `from` for the next page.
    pub next_from: Option<u64>,
}

/// The result of a verification.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyResult {
    /// Whether the log is intact.
    pub intact: bool,
    /// Events checked (when intact).
    pub events: Option<u64>,
    /// Streams (when intact).
    pub streams: Option<u64>,
    /// Head `POSITION:HASH` (when intact).
    pub head: Option<String>,
    /// First bad global position (when broken).
    pub position: Option<u64>,
    /// What is wrong there (when broken).
    pub reason: Option<String>,
}

/// One server-sent event of `/events/stream`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServerSentEvent {
    /// The event's global position (resume with `Last-Event-ID`).
    pub id: String,
    /// The event type (`device.registered`, ...).
    pub event: String,
    /// The exported event, as JSON text.
    pub data: String,
}

/// The error answers of a command.
#[derive(Debug, utoipa::IntoResponses)]
pub enum CommandErrors {
    /// Malformed JSON, a bad field or a bad header.
    #[response(status = 400)]
    BadRequest(ErrorBody),
    /// Missing or unknown token.
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// The role may not do this.
    #[response(status = 403)]
    Forbidden(ErrorBody),
    /// Unknown id.
    #[response(status = 404)]
    NotFound(ErrorBody),
    /// A rule violation or a version conflict.
    #[response(status = 409)]
    Conflict(ErrorBody),
    /// The body is too large.
    #[response(status = 413)]
    PayloadTooLarge(ErrorBody),
    /// Too many commands are waiting for this instance.
    #[response(status = 429)]
    Overloaded(ErrorBody),
    /// Temporarily unavailable.
    #[response(status = 503)]
    Unavailable(ErrorBody),
    /// The data folder's disk is below its free-space reserve; nothing was written.
    #[response(status = 507)]
    InsufficientStorage(ErrorBody),
}

/// The error answers of a query.
#[derive(Debug, utoipa::IntoResponses)]
pub enum ReadErrors {
    /// A bad query string.
    #[response(status = 400)]
    BadRequest(ErrorBody),
    /// Missing or unknown token.
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// The role may not do this.
    #[response(status = 403)]
    Forbidden(ErrorBody),
    /// Unknown id, or no events yet at that point.
    #[response(status = 404)]
    NotFound(ErrorBody),
}
