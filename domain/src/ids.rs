//! Validated identifiers.
//!
//! External ids (devices, edge nodes, campaigns, commands, alerts, ...) follow the product's
//! contract `[A-Za-z0-9._-]{1,64}`: safe in MQTT topics, URLs and stream names. They are checked
//! once, at construction, and can then be used anywhere without further checks.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Longest accepted identifier, in bytes.
pub const MAX_ID_LEN: usize = 64;

/// Why a string is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The string is empty.
    #[error("{kind} id is empty")]
    Empty {
        /// Which identifier was being built.
        kind: &'static str,
    },
    /// The string is longer than [`MAX_ID_LEN`].
    #[error("{kind} id is {len} bytes long; at most {MAX_ID_LEN} are allowed")]
    TooLong {
        /// Which identifier was being built.
        kind: &'static str,
        /// The length that was given.
        len: usize,
    },
    /// The string holds a character outside `[A-Za-z0-9._-]`.
    #[error("{kind} id {value:?} holds {found:?}; only letters, digits, '.', '_' and '-' are allowed")]
    InvalidCharacter {
        /// Which identifier was being built.
        kind: &'static str,
        /// The rejected value.
        value: String,
        /// The first character that is not allowed.
        found: char,
    },
}

/// Checks `value` against `[A-Za-z0-9._-]{1,64}`.
pub fn validate_id(kind: &'static str, value: &str) -> Result<(), IdError> {
    if value.is_empty() {
        return Err(IdError::Empty { kind });
    }
    if value.len() > MAX_ID_LEN {
        return Err(IdError::TooLong { kind, len: value.len() });
    }
    match value.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))) {
        Some(found) => Err(IdError::InvalidCharacter { kind, value: value.to_owned(), found }),
        None => Ok(()),
    }
}

macro_rules! external_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Builds the id, checking the `[A-Za-z0-9._-]{1,64}` contract.
            pub fn new(value: impl Into<String>) -> Result<Self, IdError> {
                let value = value.into();
                validate_id($kind, &value)?;
                Ok(Self(value))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(value: String) -> Result<Self, IdError> {
                Self::new(value)
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(value: &str) -> Result<Self, IdError> {
                Self::new(value)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .pattern(Some("^[A-Za-z0-9._-]{1,64}$"))
                    .min_length(Some(1))
                    .max_length(Some(MAX_ID_LEN))
                    .description(Some(concat!("A ", $kind, " id: 1 to 64 letters, digits, '.', '_' or '-'")))
                    .into()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

external_id!(
    /// Identifies a device (inverter, turbine, battery, meter, sensor, gateway).
    DeviceId,
    "device"
);
external_id!(
    /// Identifies an edge node.
    EdgeNodeId,
    "edge node"
);
external_id!(
    /// Identifies a fleet campaign.
    CampaignId,
    "campaign"
);
external_id!(
    /// Identifies a command sent down to a device.
    CommandId,
    "command"
);
external_id!(
    /// Identifies an alert raised on a device.
    AlertId,
    "alert"
);
external_id!(
    /// Identifies a scheduled maintenance of a device.
    MaintenanceId,
    "maintenance"
);
external_id!(
    /// Identifies one model deployment request on an edge node.
    DeploymentId,
    "deployment"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_contract_alphabet() {
        assert!(DeviceId::new("iot-001_solar.A").is_ok());
        assert!(DeviceId::new("a".repeat(64)).is_ok());
    }

    #[test]
    fn rejects_empty_long_and_foreign_characters() {
        assert_eq!(DeviceId::new(""), Err(IdError::Empty { kind: "device" }));
        assert_eq!(DeviceId::new("a".repeat(65)), Err(IdError::TooLong { kind: "device", len: 65 }));
        assert!(matches!(DeviceId::new("a/b"), Err(IdError::InvalidCharacter { found: '/', .. })));
        assert!(DeviceId::new("é").is_err());
    }
}
