//! The MQTT topic contract (`optibid/v1/...`): parsing what devices publish and naming what the
//! platform publishes to them.

use optibid_domain::ids::{CommandId, DeviceId, EdgeNodeId};

/// Prefix of every topic of the contract.
pub const TOPIC_PREFIX: &str = "optibid/v1";

/// The filters the ingest subscribes to (QoS 1), each with a short name for its shared group.
pub const INGEST_FILTERS: [(&str, &str); 4] = [
    ("telemetry", "optibid/v1/devices/+/telemetry"),
    ("status", "optibid/v1/devices/+/status"),
    ("responses", "optibid/v1/devices/+/commands/+/response"),
    ("heartbeats", "optibid/v1/edge/+/heartbeat"),
];

/// A topic a device or edge node publishes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboundTopic {
    /// `optibid/v1/devices/{id}/telemetry`
    Telemetry(DeviceId),
    /// `optibid/v1/devices/{id}/status`
    Status(DeviceId),
    /// `optibid/v1/devices/{id}/commands/{command_id}/response`
    CommandResponse(DeviceId, CommandId),
    /// `optibid/v1/edge/{id}/heartbeat`
    EdgeHeartbeat(EdgeNodeId),
}

/// Why a topic is not part of the contract.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopicError {
    /// The topic does not match any inbound topic of the contract.
    #[error("topic {0:?} is not an inbound topic of optibid/v1")]
    Unknown(String),
    /// The id segment is not a valid id (`[A-Za-z0-9._-]{{1,64}}`).
    #[error("topic {topic:?} names an invalid id: {reason}")]
    InvalidId {
        /// The topic.
        topic: String,
        /// What is wrong with the id.
        reason: String,
    },
}

impl InboundTopic {
    /// Parses a topic a client published to.
    pub fn parse(topic: &str) -> Result<Self, TopicError> {
        let unknown = || TopicError::Unknown(topic.to_owned());
        let rest = topic.strip_prefix(TOPIC_PREFIX).and_then(|r| r.strip_prefix('/')).ok_or_else(unknown)?;
        let segments: Vec<&str> = rest.split('/').collect();
        let invalid = |reason: String| TopicError::InvalidId { topic: topic.to_owned(), reason };
        let device = |id: &str| DeviceId::new(id).map_err(|e| invalid(e.to_string()));
        match segments.as_slice() {
            ["devices", id, "telemetry"] => Ok(Self::Telemetry(device(id)?)),
            ["devices", id, "status"] => Ok(Self::Status(device(id)?)),
            ["devices", id, "commands", command, "response"] => {
                Ok(Self::CommandResponse(device(id)?, CommandId::new(*command).map_err(|e| invalid(e.to_string()))?))
            }
            ["edge", id, "heartbeat"] => {
                Ok(Self::EdgeHeartbeat(EdgeNodeId::new(*id).map_err(|e| invalid(e.to_string()))?))
            }
            _ => Err(unknown()),
        }
    }
}

/// Topic of a device's telemetry.
pub fn telemetry_topic(device: &DeviceId) -> String {
    format!("{TOPIC_PREFIX}/devices/{device}/telemetry")
}

/// Topic of a device's status (also its last will).
pub fn status_topic(device: &DeviceId) -> String {
    format!("{TOPIC_PREFIX}/devices/{device}/status")
}

/// Topic the platform publishes a device's commands to.
pub fn commands_topic(device: &DeviceId) -> String {
    format!("{TOPIC_PREFIX}/devices/{device}/commands")
}

/// Topic a device answers one command on.
pub fn command_response_topic(device: &DeviceId, command: &CommandId) -> String {
    format!("{TOPIC_PREFIX}/devices/{device}/commands/{command}/response")
}

/// Topic of an edge node's heartbeat.
pub fn heartbeat_topic(node: &EdgeNodeId) -> String {
    format!("{TOPIC_PREFIX}/edge/{node}/heartbeat")
}

/// The filter a subscriber uses: `$share/{group}-{name}/{filter}` when a shared-subscription
/// group is set, so several connections or processes split one stream. Each filter gets a group
/// of its own (some brokers key a group by its name alone).
pub fn shared(name: &str, filter: &str, group: Option<&str>) -> String {
    match group {
        Some(group) => format!("$share/{group}-{name}/{filter}"),
        None => filter.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(id: &str) -> DeviceId {
        DeviceId::new(id).expect("valid id")
    }

    #[test]
    fn parses_every_inbound_topic() {
        assert_eq!(
            InboundTopic::parse("optibid/v1/devices/inv-1/telemetry"),
            Ok(InboundTopic::Telemetry(device("inv-1")))
        );
        assert_eq!(InboundTopic::parse("optibid/v1/devices/m.2/status"), Ok(InboundTopic::Status(device("m.2"))));
        assert_eq!(
            InboundTopic::parse("optibid/v1/devices/d/commands/c-9/response"),
            Ok(InboundTopic::CommandResponse(device("d"), CommandId::new("c-9").expect("valid id")))
        );
        assert_eq!(
            InboundTopic::parse("optibid/v1/edge/gw_1/heartbeat"),
            Ok(InboundTopic::EdgeHeartbeat(EdgeNodeId::new("gw_1").expect("valid id")))
        );
    }

    #[test]
    fn built_topics_parse_back() {
        let d = device("wind-7");
        let c = CommandId::new("abc").expect("valid id");
        assert_eq!(InboundTopic::parse(&telemetry_topic(&d)), Ok(InboundTopic::Telemetry(d.clone())));
        assert_eq!(InboundTopic::parse(&status_topic(&d)), Ok(InboundTopic::Status(d.clone())));
        assert_eq!(
            InboundTopic::parse(&command_response_topic(&d, &c)),
            Ok(InboundTopic::CommandResponse(d.clone(), c))
        );
        assert!(InboundTopic::parse(&commands_topic(&d)).is_err(), "the downlink topic is not inbound");
    }

    #[test]
    fn refuses_foreign_and_malformed_topics() {
        for topic in [
            "",
            "optibid/v1",
            "optibid/v2/devices/a/telemetry",
            "optibid/v1/devices/a/telemetry/extra",
            "optibid/v1/devices//telemetry",
            "optibid/v1/devices/a/unknown",
            "other/v1/devices/a/telemetry",
        ] {
            assert!(InboundTopic::parse(topic).is_err(), "{topic:?} must be refused");
        }
        assert!(matches!(
            InboundTopic::parse("optibid/v1/devices/bad id/telemetry"),
            Err(TopicError::InvalidId { .. })
        ));
    }

    #[test]
    fn shared_group_prefixes_the_filter() {
        let (name, filter) = INGEST_FILTERS[0];
        assert_eq!(shared(name, filter, Some("g")), "$share/g-telemetry/optibid/v1/devices/+/telemetry");
        assert_eq!(shared(name, filter, None), filter);
    }
}
