//! One OPC UA server in the configuration file: where it is, how to log in and which of its
//! nodes feed which device metrics.

use super::user_certificate::{UserCertificate, UserCertificateError};
use opcua::client::IdentityToken;
use opcua::crypto::SecurityPolicy;
use opcua::types::{MessageSecurityMode, NodeId};
use optibid_domain::ids::DeviceId;
use serde::Deserialize;
use std::collections::HashSet;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// Why an `[[opcua]]` section is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpcUaConfigError {
    /// The url is not `opc.tcp://host:port[/path]`.
    #[error("opcua[{index}].url {url:?} is not an opc.tcp:// address")]
    Url {
        /// Position of the section.
        index: usize,
        /// The url given.
        url: String,
    },
    /// The name is empty or too long.
    #[error("opcua[{index}].name must be 1 to 64 characters")]
    Name {
        /// Position of the section.
        index: usize,
    },
    /// Two sections have the same name.
    #[error("two [[opcua]] sections are named {0:?}")]
    DuplicateName(String),
    /// No node is mapped.
    #[error("opcua[{index}] maps no node: add [[opcua.items]] entries")]
    NoItems {
        /// Position of the section.
        index: usize,
    },
    /// A node id does not parse.
    #[error("opcua[{index}].items[{item}].node_id {node_id:?} is not an OPC UA node id (e.g. ns=2;s=Inverter7.Power)")]
    NodeId {
        /// Position of the section.
        index: usize,
        /// Position of the item.
        item: usize,
        /// The node id given.
        node_id: String,
    },
    /// A device id is invalid.
    #[error("opcua[{index}].items[{item}].device: {message}")]
    Device {
        /// Position of the section.
        index: usize,
        /// Position of the item.
        item: usize,
        /// Why.
        message: String,
    },
    /// A metric name is empty.
    #[error("opcua[{index}].items[{item}].metric must not be empty")]
    Metric {
        /// Position of the section.
        index: usize,
        /// Position of the item.
        item: usize,
    },
    /// One device metric is fed by two nodes.
    #[error("opcua[{index}].items[{item}] maps a second node to {device}/{metric}")]
    DuplicateMetric {
        /// Position of the section.
        index: usize,
        /// Position of the item.
        item: usize,
        /// The device.
        device: String,
        /// The metric.
        metric: String,
    },
    /// Only one of user and password is given.
    #[error("opcua[{index}]: give both user and password, or neither")]
    Login {
        /// Position of the section.
        index: usize,
    },
    /// Only one of user_certificate and user_private_key is given, or a certificate and a
    /// password are both given.
    #[error("opcua[{index}]: {message}")]
    Identity {
        /// Position of the section.
        index: usize,
        /// Why.
        message: String,
    },
    /// The user certificate or its key cannot be used.
    #[error("opcua[{index}]: {source}")]
    UserCertificate {
        /// Position of the section.
        index: usize,
        /// Why.
        source: UserCertificateError,
    },
    /// The security policy or mode is unknown, or they do not go together.
    #[error("opcua[{index}]: {message}")]
    Security {
        /// Position of the section.
        index: usize,
        /// Why.
        message: String,
    },
}

/// An `[[opcua]]` section as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpcUaEndpointFile {
    name: String,
    url: String,
    #[serde(default = "default_publishing_interval_ms")]
    publishing_interval_ms: u64,
    #[serde(default)]
    sampling_interval_ms: Option<u64>,
    #[serde(default = "default_retry_initial_ms")]
    retry_initial_ms: u64,
    #[serde(default = "default_retry_max_ms")]
    retry_max_ms: u64,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    user_certificate: Option<PathBuf>,
    #[serde(default)]
    user_private_key: Option<PathBuf>,
    #[serde(default)]
    security_policy: Option<String>,
    #[serde(default)]
    security_mode: Option<String>,
    #[serde(default)]
    trust_server_certs: bool,
    #[serde(default)]
    items: Vec<OpcUaItemFile>,
}

/// An `[[opcua.items]]` entry as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OpcUaItemFile {
    node_id: String,
    device: String,
    metric: String,
}

fn default_publishing_interval_ms() -> u64 {
    1_000
}

fn default_retry_initial_ms() -> u64 {
    500
}

fn default_retry_max_ms() -> u64 {
    30_000
}

/// A user name and password for the OPC UA session.
#[derive(Clone, PartialEq, Eq)]
pub struct OpcUaLogin {
    /// User name.
    pub user: String,
    /// Password.
    pub password: String,
}

impl std::fmt::Debug for OpcUaLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpcUaLogin").field("user", &self.user).finish_non_exhaustive()
    }
}

/// Who the session logs in as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpcUaIdentity {
    /// No user.
    Anonymous,
    /// A user name and password.
    UserName(OpcUaLogin),
    /// An X.509 user certificate and its private key, read again at every connect so that a
    /// renewed certificate needs no restart.
    Certificate(UserCertificate),
}

impl OpcUaIdentity {
    /// The identity token a session logs in with (a certificate is read from its files now).
    pub fn token(&self) -> Result<IdentityToken, UserCertificateError> {
        match self {
            Self::Anonymous => Ok(IdentityToken::Anonymous),
            Self::UserName(login) => Ok(IdentityToken::UserName(login.user.clone(), login.password.clone().into())),
            Self::Certificate(certificate) => certificate.token(),
        }
    }
}

/// How the secure channel to the server is protected.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OpcUaSecurity {
    /// The security policy (`None`, `Basic256Sha256`, `Aes128Sha256RsaOaep` ...).
    pub policy: SecurityPolicy,
    /// None, Sign or SignAndEncrypt.
    pub mode: MessageSecurityMode,
    /// Whether an unknown server certificate is trusted on first use (otherwise it lands in
    /// the PKI folder's `rejected/` until moved to `trusted/`).
    pub trust_server_certs: bool,
}

impl OpcUaSecurity {
    /// Reads `security_policy` and `security_mode` of section `index`: both absent is None; a
    /// policy without a mode signs and encrypts.
    fn parse(
        index: usize,
        policy: Option<&str>,
        mode: Option<&str>,
        trust_server_certs: bool,
    ) -> Result<Self, OpcUaConfigError> {
        let refuse = |message: String| OpcUaConfigError::Security { index, message };
        let policy = match policy {
            None => SecurityPolicy::None,
            Some(name) => match SecurityPolicy::from_str(name) {
                Ok(SecurityPolicy::Unknown) | Err(()) => {
                    return Err(refuse(format!(
                        "security_policy {name:?} is unknown (None, Basic256Sha256, Aes128Sha256RsaOaep, Aes256Sha256RsaPss)"
                    )))
                }
                Ok(policy) => policy,
            },
        };
        let mode = match mode {
            None if policy == SecurityPolicy::None => MessageSecurityMode::None,
            None => MessageSecurityMode::SignAndEncrypt,
            Some("None") => MessageSecurityMode::None,
            Some("Sign") => MessageSecurityMode::Sign,
            Some("SignAndEncrypt") => MessageSecurityMode::SignAndEncrypt,
            Some(other) => {
                return Err(refuse(format!("security_mode {other:?} is unknown (None, Sign, SignAndEncrypt)")))
            }
        };
        if (policy == SecurityPolicy::None) != (mode == MessageSecurityMode::None) {
            return Err(refuse(format!(
                "security_policy {policy} and security_mode {mode:?} do not go together: None goes only with None"
            )));
        }
        Ok(Self { policy, mode, trust_server_certs })
    }
}

/// One monitored node and the device metric it feeds.
#[derive(Debug, Clone, PartialEq)]
pub struct MonitoredNode {
    /// The node on the server.
    pub node_id: NodeId,
    /// The device its values belong to.
    pub device: DeviceId,
    /// The metric name its values are stored under.
    pub metric: String,
}

/// A validated OPC UA endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct OpcUaEndpointConfig {
    /// A short name (logs, metrics, dead letters).
    pub name: String,
    /// `opc.tcp://host:port/path`.
    pub url: String,
    /// How often the server sends changes.
    pub publishing_interval: Duration,
    /// How often the server samples each node.
    pub sampling_interval: Duration,
    /// First delay before reconnecting.
    pub retry_initial: Duration,
    /// Longest delay between reconnects.
    pub retry_max: Duration,
    /// Who the session logs in as.
    pub identity: OpcUaIdentity,
    /// The secure channel's protection.
    pub security: OpcUaSecurity,
    /// The nodes to monitor.
    pub nodes: Vec<MonitoredNode>,
}

impl OpcUaEndpointFile {
    /// Checks the section at `index`.
    pub fn validate(self, index: usize) -> Result<OpcUaEndpointConfig, OpcUaConfigError> {
        if self.name.is_empty() || self.name.len() > 64 {
            return Err(OpcUaConfigError::Name { index });
        }
        let has_host =
            self.url.strip_prefix("opc.tcp://").is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'));
        if !has_host {
            return Err(OpcUaConfigError::Url { index, url: self.url });
        }
        if self.items.is_empty() {
            return Err(OpcUaConfigError::NoItems { index });
        }
        let identity = identity(index, self.user, self.password, self.user_certificate, self.user_private_key)?;
        let security = OpcUaSecurity::parse(
            index,
            self.security_policy.as_deref(),
            self.security_mode.as_deref(),
            self.trust_server_certs,
        )?;
        let mut nodes = Vec::with_capacity(self.items.len());
        let mut fed = HashSet::new();
        for (item, entry) in self.items.into_iter().enumerate() {
            let node_id = NodeId::from_str(&entry.node_id).map_err(|_| OpcUaConfigError::NodeId {
                index,
                item,
                node_id: entry.node_id.clone(),
            })?;
            let device = DeviceId::new(entry.device).map_err(|e| OpcUaConfigError::Device {
                index,
                item,
                message: e.to_string(),
            })?;
            if entry.metric.trim().is_empty() {
                return Err(OpcUaConfigError::Metric { index, item });
            }
            if !fed.insert((device.clone(), entry.metric.clone())) {
                return Err(OpcUaConfigError::DuplicateMetric {
                    index,
                    item,
                    device: device.to_string(),
                    metric: entry.metric,
                });
            }
            nodes.push(MonitoredNode { node_id, device, metric: entry.metric });
        }
        let publishing_interval = Duration::from_millis(self.publishing_interval_ms.clamp(10, 3_600_000));
        Ok(OpcUaEndpointConfig {
            name: self.name,
            url: self.url,
            publishing_interval,
            sampling_interval: self
                .sampling_interval_ms
                .map_or(publishing_interval, |ms| Duration::from_millis(ms.min(3_600_000))),
            retry_initial: Duration::from_millis(self.retry_initial_ms.clamp(10, 600_000)),
            retry_max: Duration::from_millis(
                self.retry_max_ms.clamp(self.retry_initial_ms.clamp(10, 600_000), 600_000),
            ),
            identity,
            security,
            nodes,
        })
    }
}

/// Reads the login of section `index`: a user and password, a user certificate and its key,
/// or neither (anonymous). A certificate and key are checked to load and to belong together.
fn identity(
    index: usize,
    user: Option<String>,
    password: Option<String>,
    certificate: Option<PathBuf>,
    private_key: Option<PathBuf>,
) -> Result<OpcUaIdentity, OpcUaConfigError> {
    let refuse = |message: &str| OpcUaConfigError::Identity { index, message: message.to_owned() };
    let login = match (user, password) {
        (Some(user), Some(password)) => Some(OpcUaLogin { user, password }),
        (None, None) => None,
        _ => return Err(OpcUaConfigError::Login { index }),
    };
    let certificate = match (certificate, private_key) {
        (Some(certificate), Some(private_key)) => Some(UserCertificate { certificate, private_key }),
        (None, None) => None,
        _ => return Err(refuse("give both user_certificate and user_private_key, or neither")),
    };
    match (login, certificate) {
        (Some(_), Some(_)) => {
            Err(refuse("log in with user and password or with user_certificate and user_private_key, not both"))
        }
        (Some(login), None) => Ok(OpcUaIdentity::UserName(login)),
        (None, Some(certificate)) => {
            certificate.check().map_err(|source| OpcUaConfigError::UserCertificate { index, source })?;
            Ok(OpcUaIdentity::Certificate(certificate))
        }
        (None, None) => Ok(OpcUaIdentity::Anonymous),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(items: &str) -> OpcUaEndpointFile {
        toml::from_str(&format!("name = \"plant\"\nurl = \"opc.tcp://127.0.0.1:4840/\"\n{items}")).expect("toml")
    }

    const ITEM: &str = "[[items]]\nnode_id = \"ns=2;s=Inv.Power\"\ndevice = \"inv-1\"\nmetric = \"power_w\"\n";

    #[test]
    fn a_valid_section_keeps_its_nodes_and_defaults() {
        let config = section(ITEM).validate(0).expect("valid");
        assert_eq!(config.nodes.len(), 1);
        assert_eq!(config.nodes[0].node_id, NodeId::new(2, "Inv.Power"));
        assert_eq!(config.nodes[0].device.as_str(), "inv-1");
        assert_eq!(config.publishing_interval, Duration::from_secs(1));
        assert_eq!(config.sampling_interval, config.publishing_interval);
        assert_eq!(config.identity, OpcUaIdentity::Anonymous);
        assert_eq!(config.security.policy, SecurityPolicy::None);
        assert_eq!(config.security.mode, MessageSecurityMode::None);
    }

    #[test]
    fn security_policy_and_mode_go_together() {
        let secure = format!("security_policy = \"Basic256Sha256\"\n{ITEM}");
        let config = section(&secure).validate(0).expect("valid");
        assert_eq!(config.security.policy, SecurityPolicy::Basic256Sha256);
        assert_eq!(config.security.mode, MessageSecurityMode::SignAndEncrypt, "signs and encrypts by default");
        let signed = format!("security_policy = \"Basic256Sha256\"\nsecurity_mode = \"Sign\"\n{ITEM}");
        assert_eq!(section(&signed).validate(0).expect("valid").security.mode, MessageSecurityMode::Sign);
        for bad in [
            "security_policy = \"Rot13\"",
            "security_mode = \"Sign\"",
            "security_policy = \"Basic256Sha256\"\nsecurity_mode = \"None\"",
            "security_policy = \"Basic256Sha256\"\nsecurity_mode = \"Encrypt\"",
        ] {
            let result = section(&format!("{bad}\n{ITEM}")).validate(2);
            assert!(matches!(result, Err(OpcUaConfigError::Security { index: 2, .. })), "{bad}: {result:?}");
        }
    }

    #[test]
    fn each_mistake_is_named() {
        let bad_node = ITEM.replace("ns=2;s=Inv.Power", "not a node");
        assert!(matches!(section(&bad_node).validate(3), Err(OpcUaConfigError::NodeId { index: 3, item: 0, .. })));
        let bad_device = ITEM.replace("inv-1", "inv/1");
        assert!(matches!(section(&bad_device).validate(0), Err(OpcUaConfigError::Device { .. })));
        let twice = format!("{ITEM}{}", ITEM.replace("s=Inv.Power", "s=Other"));
        assert!(matches!(section(&twice).validate(0), Err(OpcUaConfigError::DuplicateMetric { item: 1, .. })));
        assert_eq!(section("").validate(0), Err(OpcUaConfigError::NoItems { index: 0 }));
        let half_login = format!("user = \"op\"\n{ITEM}");
        assert_eq!(section(&half_login).validate(0), Err(OpcUaConfigError::Login { index: 0 }));
        let half_certificate = format!("user_certificate = \"user.der\"\n{ITEM}");
        assert!(matches!(section(&half_certificate).validate(1), Err(OpcUaConfigError::Identity { index: 1, .. })));
        let both_logins = format!(
            "user = \"op\"\npassword = \"pw\"\nuser_certificate = \"user.der\"\nuser_private_key = \"user.pem\"\n{ITEM}"
        );
        assert!(matches!(section(&both_logins).validate(0), Err(OpcUaConfigError::Identity { .. })));
        let missing = format!("user_certificate = \"/nonexistent/user.der\"\nuser_private_key = \"user.pem\"\n{ITEM}");
        let refused = section(&missing).validate(0);
        assert!(
            matches!(
                &refused,
                Err(OpcUaConfigError::UserCertificate { source: UserCertificateError::Certificate { .. }, .. })
            ),
            "{refused:?}"
        );
        let mut wrong_url = section(ITEM);
        wrong_url.url = "http://127.0.0.1:4840/".to_owned();
        assert!(matches!(wrong_url.validate(0), Err(OpcUaConfigError::Url { .. })));
    }
}
