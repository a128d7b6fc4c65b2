//! Bearer tokens with roles. Tokens are stored as BLAKE3 hashes; the token itself is shown once.

use super::error::ApiError;
use super::AppState;
use crate::store::{Durability, SledEventLog, StoreError};
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest};
use serde::{Deserialize, Serialize};
use std::future::{ready, Ready};

/// Name of the sled tree holding token hashes.
const TOKENS_TREE: &str = "api_tokens";

/// What a token may do. Ordered: each role can do what the roles before it can, except that
/// auditors, not operators, read the global log and run audits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads devices, edge nodes and campaigns.
    Viewer,
    /// Reads everything, including the global log, and runs audits; changes nothing.
    Auditor,
    /// Reads devices, edge nodes and campaigns, and sends commands.
    Operator,
    /// Everything.
    Admin,
}

impl Role {
    /// Whether the role may send commands.
    pub fn can_command(self) -> bool {
        matches!(self, Role::Operator | Role::Admin)
    }

    /// Whether the role may read the global log and run audits.
    pub fn can_audit(self) -> bool {
        matches!(self, Role::Auditor | Role::Admin)
    }
}

/// A stored token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct TokenRecord {
    name: String,
    role: Role,
}

/// The token store.
#[derive(Clone)]
pub struct TokenStore {
    tree: sled::Tree,
    durability: Durability,
}

impl TokenStore {
    /// Opens the token tree beside `log`.
    pub fn open(log: &SledEventLog) -> Result<Self, StoreError> {
        Ok(Self { tree: log.database().open_tree(TOKENS_TREE)?, durability: log.durability() })
    }

    /// Whether no token exists yet.
    pub fn is_empty(&self) -> bool {
        self.tree.is_empty()
    }

    /// Creates a token with `role`, stores its hash durably, and returns the token (shown only
    /// now).
    pub async fn create(&self, name: &str, role: Role) -> Result<String, StoreError> {
        let token = format!("obt_{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
        let record = TokenRecord { name: name.to_owned(), role };
        let bytes = postcard::to_stdvec(&record).unwrap_or_default();
        self.tree.insert(blake3::hash(token.as_bytes()).as_bytes(), bytes)?;
        self.durability.wait().await?;
        Ok(token)
    }

    fn lookup(&self, token: &str) -> Option<TokenRecord> {
        let bytes = self.tree.get(blake3::hash(token.as_bytes()).as_bytes()).ok()??;
        postcard::from_bytes(&bytes).ok()
    }
}

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's name.
    pub name: String,
    /// Its role.
    pub role: Role,
}

impl Principal {
    /// 403 unless the caller may send commands.
    pub fn require_command(&self) -> Result<(), ApiError> {
        if self.role.can_command() {
            return Ok(());
        }
        Err(forbidden(self.role, "send commands"))
    }

    /// 403 unless the caller may read the global log and run audits.
    pub fn require_audit(&self) -> Result<(), ApiError> {
        if self.role.can_audit() {
            return Ok(());
        }
        Err(forbidden(self.role, "read the global log or run audits"))
    }
}

fn forbidden(role: Role, action: &str) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "forbidden", format!("the {role:?} role may not {action}"))
}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let unauthorized = |message: &str| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message);
        let Some(state) = request.app_data::<web::Data<AppState>>() else {
            return ready(Err(ApiError::internal("no application state")));
        };
        let header = request.headers().get("authorization").and_then(|value| value.to_str().ok());
        let Some(token) = header.and_then(|value| value.strip_prefix("Bearer ")) else {
            return ready(Err(unauthorized("send `Authorization: Bearer <token>`")));
        };
        ready(match state.tokens.lookup(token.trim()) {
            Some(record) => Ok(Principal { name: record.name, role: record.role }),
            None => Err(unauthorized("unknown token")),
        })
    }
}
