//! An external MQTT broker the platform connects to, given as `mqtt://[user:password@]host[:port]`.

use rumqttc::MqttOptions;
use std::time::Duration;

/// Largest MQTT packet the platform's clients accept or send, bytes.
const MAX_PACKET_BYTES: usize = 1024 * 1024;

/// Why a broker URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    /// Not `mqtt://` or `tcp://`.
    #[error("broker URL {0:?} must start with mqtt:// or tcp:// (TLS is not supported yet)")]
    Scheme(String),
    /// No host, or a port that is not a number.
    #[error("broker URL {0:?} must look like mqtt://host:port")]
    Address(String),
}

/// A broker the platform connects to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerAddress {
    /// Host name or IP address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// User name and password, when the broker wants them.
    pub login: Option<(String, String)>,
}

impl BrokerAddress {
    /// Parses `mqtt://[user:password@]host[:port]` (port 1883 when omitted).
    pub fn parse(url: &str) -> Result<Self, EndpointError> {
        let rest = url
            .strip_prefix("mqtt://")
            .or_else(|| url.strip_prefix("tcp://"))
            .ok_or_else(|| EndpointError::Scheme(url.to_owned()))?
            .trim_end_matches('/');
        let (login, address) = match rest.rsplit_once('@') {
            Some((login, address)) => {
                let (user, password) = login.split_once(':').unwrap_or((login, ""));
                (Some((user.to_owned(), password.to_owned())), address)
            }
            None => (None, rest),
        };
        let (host, port) = match address.rsplit_once(':') {
            Some((host, port)) => (host, port.parse().map_err(|_| EndpointError::Address(url.to_owned()))?),
            None => (address, 1883),
        };
        if host.is_empty() {
            return Err(EndpointError::Address(url.to_owned()));
        }
        Ok(Self { host: host.to_owned(), port, login })
    }

    /// Options for a platform client named `client_id`: a persistent session (the broker keeps
    /// unacknowledged QoS 1 messages while the client is away), 30 s keep-alive.
    pub fn options(&self, client_id: &str) -> MqttOptions {
        let mut options = MqttOptions::new(client_id, self.host.clone(), self.port);
        if let Some((user, password)) = &self.login {
            options.set_credentials(user.clone(), password.clone());
        }
        options
            .set_keep_alive(Duration::from_secs(30))
            .set_clean_session(false)
            .set_max_packet_size(MAX_PACKET_BYTES, MAX_PACKET_BYTES);
        options
    }

    /// `mqtt://host:port`, for logs and the start banner.
    pub fn url(&self) -> String {
        format!("mqtt://{}:{}", self.host, self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_broker_urls() {
        assert_eq!(
            BrokerAddress::parse("mqtt://127.0.0.1:1883"),
            Ok(BrokerAddress { host: "127.0.0.1".into(), port: 1883, login: None })
        );
        assert_eq!(
            BrokerAddress::parse("tcp://broker.example/"),
            Ok(BrokerAddress { host: "broker.example".into(), port: 1883, login: None })
        );
        assert_eq!(
            BrokerAddress::parse("mqtt://svc:s3cret@10.0.0.2:2883"),
            Ok(BrokerAddress { host: "10.0.0.2".into(), port: 2883, login: Some(("svc".into(), "s3cret".into())) })
        );
        assert!(matches!(BrokerAddress::parse("http://x:1"), Err(EndpointError::Scheme(_))));
        assert!(matches!(BrokerAddress::parse("mqtt://:1883"), Err(EndpointError::Address(_))));
        assert!(matches!(BrokerAddress::parse("mqtt://host:port"), Err(EndpointError::Address(_))));
    }
}
