//! Who an MQTT client is, and what that identity may do: a device publishes only on its own
//! topics and subscribes only to its own command topic; an edge node publishes only its own
//! heartbeat. The login (user name) is the device id, or `edge:` and the edge node id; the
//! client id must be the same login, so one device can never take another's session.

use super::topic::{commands_topic, InboundTopic};
use optibid_domain::ids::{DeviceId, EdgeNodeId};

/// Prefix of an edge node's login.
const EDGE_PREFIX: &str = "edge:";

/// The identity a client authenticated as.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ClientIdentity {
    /// A device.
    Device(DeviceId),
    /// An edge node.
    EdgeNode(EdgeNodeId),
}

impl ClientIdentity {
    /// Parses a login: a device id, or `edge:` and an edge node id.
    pub fn from_login(login: &str) -> Option<Self> {
        match login.strip_prefix(EDGE_PREFIX) {
            Some(node) => EdgeNodeId::new(node).ok().map(Self::EdgeNode),
            None => DeviceId::new(login).ok().map(Self::Device),
        }
    }

    /// The login: the key of its secret and the client id it must use.
    pub fn login(&self) -> String {
        match self {
            Self::Device(device) => device.to_string(),
            Self::EdgeNode(node) => format!("{EDGE_PREFIX}{node}"),
        }
    }

    /// The device, when the identity is one.
    pub fn device(&self) -> Option<&DeviceId> {
        match self {
            Self::Device(device) => Some(device),
            Self::EdgeNode(_) => None,
        }
    }

    /// Whether this identity may publish to `topic`: only topics about itself.
    pub fn may_publish(&self, topic: &InboundTopic) -> bool {
        match (self, topic) {
            (
                Self::Device(me),
                InboundTopic::Telemetry(device)
                | InboundTopic::Status(device)
                | InboundTopic::CommandResponse(device, _),
            ) => me == device,
            (Self::EdgeNode(me), InboundTopic::EdgeHeartbeat(node)) => me == node,
            _ => false,
        }
    }

    /// Whether this identity may subscribe to `filter`: a device to its own command topic only.
    pub fn may_subscribe(&self, filter: &str) -> bool {
        match self {
            Self::Device(device) => filter == commands_topic(device),
            Self::EdgeNode(_) => false,
        }
    }
}

impl std::fmt::Display for ClientIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.login())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn device(id: &str) -> DeviceId {
        DeviceId::new(id).expect("valid id")
    }

    #[test]
    fn logins_name_devices_and_edge_nodes_apart() {
        assert_eq!(ClientIdentity::from_login("inv-1"), Some(ClientIdentity::Device(device("inv-1"))));
        let node = ClientIdentity::from_login("edge:gw-1").expect("an edge login");
        assert_eq!(node.login(), "edge:gw-1");
        assert!(node.device().is_none());
        assert_eq!(ClientIdentity::from_login("edge:"), None);
        assert_eq!(ClientIdentity::from_login("a/b"), None, "not a valid id");
    }

    #[test]
    fn a_device_publishes_and_subscribes_only_as_itself() {
        let me = ClientIdentity::Device(device("inv-1"));
        let topic = |t: &str| InboundTopic::parse(t).expect("a contract topic");
        assert!(me.may_publish(&topic("optibid/v1/devices/inv-1/telemetry")));
        assert!(me.may_publish(&topic("optibid/v1/devices/inv-1/status")));
        assert!(me.may_publish(&topic("optibid/v1/devices/inv-1/commands/c1/response")));
        assert!(!me.may_publish(&topic("optibid/v1/devices/inv-2/telemetry")));
        assert!(!me.may_publish(&topic("optibid/v1/devices/inv-2/commands/c1/response")));
        assert!(!me.may_publish(&topic("optibid/v1/edge/inv-1/heartbeat")));
        assert!(me.may_subscribe("optibid/v1/devices/inv-1/commands"));
        for filter in ["#", "optibid/v1/devices/+/commands", "optibid/v1/devices/inv-2/commands", "optibid/#"] {
            assert!(!me.may_subscribe(filter), "{filter}");
        }
    }

    #[test]
    fn an_edge_node_publishes_only_its_heartbeat() {
        let me = ClientIdentity::EdgeNode(EdgeNodeId::new("gw-1").expect("valid id"));
        let topic = |t: &str| InboundTopic::parse(t).expect("a contract topic");
        assert!(me.may_publish(&topic("optibid/v1/edge/gw-1/heartbeat")));
        assert!(!me.may_publish(&topic("optibid/v1/edge/gw-2/heartbeat")));
        assert!(!me.may_publish(&topic("optibid/v1/devices/gw-1/telemetry")));
        assert!(!me.may_subscribe("optibid/v1/devices/gw-1/commands"));
    }

    proptest! {
        #[test]
        fn no_topic_of_another_device_is_ever_allowed(me in "[a-z0-9]{1,8}", other in "[a-z0-9]{1,8}", tail in "[a-z/+#]{0,12}") {
            prop_assume!(me != other);
            let identity = ClientIdentity::Device(device(&me));
            let topic = format!("optibid/v1/devices/{other}/{tail}");
            if let Ok(parsed) = InboundTopic::parse(&topic) {
                prop_assert!(!identity.may_publish(&parsed));
            }
            prop_assert!(!identity.may_subscribe(&topic));
        }
    }
}
