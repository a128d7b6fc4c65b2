//! The embedded MQTT broker (rumqttd, in-process), so `optibid serve` needs nothing else. Clients
//! authenticate with a login and its secret ([`ClientCredentials`]); the platform's own clients
//! use a service login whose secret is made fresh at every start.
//!
//! The broker keeps messages only for subscriptions that exist when they arrive, so devices are
//! admitted only once the ingest has subscribed ([`EmbeddedBroker::admit_devices`]): a device
//! that connects earlier is refused and retries, instead of having its publishes acknowledged
//! and dropped.

use super::credentials::ClientCredentials;
use rumqttd::{Broker, Config, ConnectionSettings, RouterConfig, ServerSettings, Strategy};
use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// User name of the platform's own MQTT clients (ingest and downlink).
pub const SERVICE_LOGIN: &str = "optibid-platform";

/// How long to wait for the broker to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the embedded broker could not start.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// The listen address is in use or not available.
    #[error(
        "cannot listen for MQTT on {address}: {source} (is another broker using it? choose another address \
         with --mqtt-listen, or use that broker with --mqtt-broker)"
    )]
    Listen {
        /// The address asked for.
        address: SocketAddr,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The broker thread did not start.
    #[error("cannot start the MQTT broker thread: {0}")]
    Thread(std::io::Error),
    /// The broker did not accept connections in time.
    #[error("the embedded MQTT broker did not accept connections on {0} within 10 s")]
    NotReady(SocketAddr),
}

/// A running embedded broker.
#[derive(Debug, Clone)]
pub struct EmbeddedBroker {
    address: SocketAddr,
    service_secret: String,
    admitting_devices: Arc<AtomicBool>,
}

impl EmbeddedBroker {
    /// Starts the broker on `listen` (port 0 picks a free port) and waits until it listens. Payloads over `max_payload_bytes` are refused by the broker itself.
    pub fn start(
        listen: SocketAddr,
        credentials: ClientCredentials,
        max_payload_bytes: usize,
    ) -> Result<Self, BrokerError> {
        let address = TcpListener::bind(listen)
            .and_then(|probe| probe.local_addr())
            .map_err(|source| BrokerError::Listen { address: listen, source })?;
        let service_secret = format!("svc_{}", uuid::Uuid::new_v4().simple());
        let expected = service_secret.clone();
        let admitting_devices = Arc::new(AtomicBool::new(false));
        let admitting = admitting_devices.clone();
        let mut connections = ConnectionSettings {
            connection_timeout_ms: 60_000,
            max_payload_size: max_payload_bytes,
            max_inflight_count: 100,
            auth: None,
            external_auth: None,
            dynamic_filters: true,
        };
        connections.set_auth_handler(move |client_id: String, login: String, secret: String| {
            let allowed = if login == SERVICE_LOGIN {
                secret == expected
            } else if !admitting.load(Ordering::Acquire) {
                tracing::info!(client_id, login, "MQTT connection refused: the ingest has not subscribed yet");
                return std::future::ready(false);
            } else {
                credentials.verify(&login, &secret)
            };
            if !allowed {
                tracing::warn!(client_id, login, "MQTT connection refused: unknown login or wrong secret");
            }
            std::future::ready(allowed)
        });
        let server = ServerSettings {
            name: "optibid-mqtt".to_owned(),
            listen: address,
            tls: None,
            next_connection_delay_ms: 0,
            connections,
        };
        let config = Config {
            router: RouterConfig {
                max_connections: 20_000,
                max_outgoing_packet_count: 1_000,
                max_segment_size: 64 * 1024 * 1024,
                max_segment_count: 4,
                shared_subscriptions_strategy: Strategy::Random,
                ..RouterConfig::default()
            },
            v4: Some(HashMap::from([("1".to_owned(), server)])),
            ..Config::default()
        };
        std::thread::Builder::new()
            .name("mqtt-broker".to_owned())
            .spawn(move || {
                let mut broker = Broker::new(config);
                if let Err(error) = broker.start() {
                    tracing::error!(%error, "the embedded MQTT broker stopped");
                }
            })
            .map_err(BrokerError::Thread)?;
        let deadline = Instant::now() + READY_TIMEOUT;
        while TcpListener::bind(address).is_ok() {
            if Instant::now() > deadline {
                return Err(BrokerError::NotReady(address));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        tracing::info!(%address, "embedded MQTT broker listening");
        Ok(Self { address, service_secret, admitting_devices })
    }

    /// The address it listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The secret of [`SERVICE_LOGIN`] for this run.
    pub fn service_secret(&self) -> &str {
        &self.service_secret
    }

    /// Lets devices connect; until then only the platform's own clients may.
    pub fn admit_devices(&self) {
        self.admitting_devices.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rumqttc::{AsyncClient, ConnectReturnCode, Event, MqttOptions, Packet};

    /// The broker's answer to a device connecting with `login` and `secret`.
    async fn connect(broker: &EmbeddedBroker, login: &str, secret: &str) -> Result<ConnectReturnCode, String> {
        let address = broker.address();
        let mut options = MqttOptions::new(login, address.ip().to_string(), address.port());
        options.set_credentials(login, secret);
        let (_client, mut eventloop) = AsyncClient::new(options, 10);
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(ack))) => return Ok(ack.code),
                Ok(_) => {}
                Err(error) => return Err(error.to_string()),
            }
        }
    }

    #[tokio::test]
    async fn devices_are_refused_until_admitted() {
        let folder = tempfile::tempdir().expect("temp dir");
        let log = crate::store::SledEventLog::open(folder.path()).expect("log");
        let credentials = ClientCredentials::open(&log).expect("credentials");
        let secret = credentials.issue("inv-early").await.expect("secret");
        let listen = SocketAddr::from(([127, 0, 0, 1], 0));
        let broker = tokio::task::spawn_blocking(move || EmbeddedBroker::start(listen, credentials, 1 << 16))
            .await
            .expect("start task")
            .expect("broker");
        let early = connect(&broker, "inv-early", &secret).await;
        assert!(early.is_err() || early == Ok(ConnectReturnCode::NotAuthorized), "{early:?}");
        let service = connect(&broker, SERVICE_LOGIN, broker.service_secret()).await;
        assert_eq!(service, Ok(ConnectReturnCode::Success), "the platform's own clients connect at once");
        broker.admit_devices();
        assert_eq!(connect(&broker, "inv-early", &secret).await, Ok(ConnectReturnCode::Success));
        assert!(connect(&broker, "inv-early", "wrong").await != Ok(ConnectReturnCode::Success));
    }
}
