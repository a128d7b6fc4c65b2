//! Stream names: `{kind}/{id}`.

use optibid_domain::ids::validate_id;
use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

/// Namespace of the UUID v5 ids derived from stream names (so that esrs, which names aggregate
/// instances by UUID, sees stable ids).
const STREAM_UUID_NAMESPACE: Uuid = Uuid::from_u128(0x6f70_7469_6269_642d_696f_742d_7374_726d);

/// Stream kinds the platform writes.
pub const STREAM_KINDS: [&str; 4] = ["device", "edge", "campaign", "telemetry"];

/// Why a stream name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamNameError {
    /// The name is not `kind/id`.
    #[error("stream name {0:?} is not of the form KIND/ID (for example device/iot-001)")]
    Malformed(String),
    /// The kind is not one the platform knows.
    #[error("unknown stream kind {kind:?}; known kinds are {known}", known = STREAM_KINDS.join(", "))]
    UnknownKind {
        /// The kind given.
        kind: String,
    },
    /// The id breaks the id contract.
    #[error(transparent)]
    Id(#[from] optibid_domain::IdError),
}

/// The name of one event stream, such as `device/iot-001-solar-a` or `telemetry/iot-001-solar-a`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct StreamName(String);

impl StreamName {
    /// Builds a stream name from a kind and an id, checking both.
    pub fn new(kind: &str, id: &str) -> Result<Self, StreamNameError> {
        if !STREAM_KINDS.contains(&kind) {
            return Err(StreamNameError::UnknownKind { kind: kind.to_owned() });
        }
        validate_id("stream", id)?;
        Ok(Self(format!("{kind}/{id}")))
    }

    /// Parses `kind/id`.
    pub fn parse(text: &str) -> Result<Self, StreamNameError> {
        let (kind, id) = text.split_once('/').ok_or_else(|| StreamNameError::Malformed(text.to_owned()))?;
        Self::new(kind, id)
    }

    /// The kind (`device`, `edge`, `campaign`, `telemetry`).
    pub fn kind(&self) -> &str {
        self.0.split_once('/').map_or("", |(kind, _)| kind)
    }

    /// The external id.
    pub fn id(&self) -> &str {
        self.0.split_once('/').map_or("", |(_, id)| id)
    }

    /// The whole name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The UUID v5 derived from the name, stable forever.
    pub fn uuid(&self) -> Uuid {
        Uuid::new_v5(&STREAM_UUID_NAMESPACE, self.0.as_bytes())
    }
}

impl TryFrom<String> for StreamName {
    type Error = StreamNameError;
    fn try_from(value: String) -> Result<Self, StreamNameError> {
        Self::parse(&value)
    }
}

impl From<StreamName> for String {
    fn from(name: StreamName) -> String {
        name.0
    }
}

impl fmt::Display for StreamName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_derives_stable_uuids() {
        let name = StreamName::parse("device/iot-001-solar-a").expect("valid");
        assert_eq!(name.kind(), "device");
        assert_eq!(name.id(), "iot-001-solar-a");
        assert_eq!(name.uuid(), StreamName::new("device", "iot-001-solar-a").expect("valid").uuid());
        assert_ne!(name.uuid(), StreamName::new("telemetry", "iot-001-solar-a").expect("valid").uuid());
    }

    #[test]
    fn refuses_bad_names() {
        assert!(matches!(StreamName::parse("device"), Err(StreamNameError::Malformed(_))));
        assert!(matches!(StreamName::parse("robot/x"), Err(StreamNameError::UnknownKind { .. })));
        assert!(matches!(StreamName::parse("device/a b"), Err(StreamNameError::Id(_))));
        assert!(matches!(StreamName::parse("device/a/b"), Err(StreamNameError::Id(_))));
    }
}
