//! The platform's own MQTT endpoint for devices and edge nodes (MQTT 3.1.1 and 5, over TCP and
//! optionally TLS). It is not a general-purpose broker: a client logs in as one device or edge
//! node, may publish only about itself and subscribe only to its own commands, and a publish is
//! acknowledged only once its event (or its dead letter) is on disk.
//!
//! - [`login`]: who a connecting client is, or why it is refused.
//! - [`sessions`]: one live session per login (a new login takes it over), command routing.
//! - `connection` (private): one connection from CONNECT to close.
//! - [`packets`]: the packets sent, in the client's protocol version.
//! - [`tls`]: rustls configuration and client-certificate names.

mod connection;
pub mod login;
mod packet_reader;
pub mod packets;
pub mod sessions;
pub mod tls;

pub use connection::RECEIVE_MAXIMUM;

use crate::actors::Platform;
use crate::ingest::payload::PayloadLimits;
use crate::ingest::queue::IngestQueue;
use crate::mqtt::credentials::ClientCredentials;
use connection::ConnectionContext;
use mqtt_endpoint_tokio::mqtt_ep::transport::TcpTransport;
use sessions::Sessions;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tls::{StreamTransport, TlsError, TlsSettings};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How long `stop` waits for connections to finish their appends and disconnect.
const STOP_WAIT: Duration = Duration::from_secs(4);

/// How long a TLS handshake may take.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Counters of the endpoint, read by `/metrics` and `/readyz`.
#[derive(Debug, Default)]
pub struct EndpointStats {
    /// Connections logged in now.
    pub connections: AtomicU64,
    /// Logins accepted since start.
    pub accepted_logins: AtomicU64,
    /// Logins refused since start.
    pub refused_logins: AtomicU64,
    /// Commands published to devices.
    pub commands_sent: AtomicU64,
    /// Command publishes the devices acknowledged.
    pub commands_delivered: AtomicU64,
}

/// Where the endpoint listens.
#[derive(Debug, Clone)]
pub struct EndpointSettings {
    /// Plain TCP listen address.
    pub listen: SocketAddr,
    /// The TLS listener, if configured.
    pub tls: Option<TlsSettings>,
}

/// Why the endpoint could not start.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    /// A listen address could not be bound.
    #[error("cannot listen for MQTT on {address}: {source} (is another process using it? choose another address)")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The TLS configuration is refused.
    #[error(transparent)]
    Tls(#[from] TlsError),
}

/// The running endpoint.
pub struct DeviceEndpoint {
    /// Where plain MQTT listens.
    pub address: SocketAddr,
    /// Where MQTT over TLS listens, when configured.
    pub tls_address: Option<SocketAddr>,
    /// Counters.
    pub stats: Arc<EndpointStats>,
    /// The live sessions.
    pub sessions: Arc<Sessions>,
    stop: watch::Sender<bool>,
    listeners: Vec<JoinHandle<()>>,
}

impl DeviceEndpoint {
    /// Binds the listeners and starts accepting clients.
    pub async fn start(
        platform: Arc<Platform>,
        credentials: ClientCredentials,
        ingest: IngestQueue,
        limits: PayloadLimits,
        settings: &EndpointSettings,
    ) -> Result<Self, EndpointError> {
        let stats = Arc::new(EndpointStats::default());
        let sessions = Arc::new(Sessions::default());
        let context = Arc::new(ConnectionContext {
            platform,
            credentials,
            ingest,
            sessions: sessions.clone(),
            limits,
            stats: stats.clone(),
        });
        let (stop, stopped) = watch::channel(false);
        let bind = |address: SocketAddr| async move {
            TcpListener::bind(address).await.map_err(|source| EndpointError::Bind { address, source })
        };
        let plain = bind(settings.listen).await?;
        let address = plain.local_addr().map_err(|source| EndpointError::Bind { address: settings.listen, source })?;
        let mut listeners = vec![tokio::spawn(accept_plain(plain, context.clone(), stopped.clone()))];
        let mut tls_address = None;
        if let Some(tls) = &settings.tls {
            let config = tls::server_config(tls)?;
            let listener = bind(tls.listen).await?;
            tls_address =
                Some(listener.local_addr().map_err(|source| EndpointError::Bind { address: tls.listen, source })?);
            let acceptor = tokio_rustls::TlsAcceptor::from(config);
            listeners.push(tokio::spawn(accept_tls(listener, acceptor, context, stopped)));
        }
        tracing::info!(%address, tls = ?tls_address, "MQTT device endpoint listening");
        Ok(Self { address, tls_address, stats, sessions, stop, listeners })
    }

    /// Stops accepting, tells every session to finish its appends in flight, acknowledge them
    /// and disconnect, and waits for that (a bounded time).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for listener in &self.listeners {
            listener.abort();
        }
        self.sessions.shut_down_all();
        let deadline = tokio::time::Instant::now() + STOP_WAIT;
        while self.stats.connections.load(Ordering::SeqCst) > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let left = self.stats.connections.load(Ordering::SeqCst);
        if left > 0 {
            tracing::warn!(left, "MQTT connections still open at shutdown");
        }
    }
}

async fn accept_plain(listener: TcpListener, context: Arc<ConnectionContext>, mut stopped: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = stopped.changed() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(connection::serve(TcpTransport::from_stream(stream), Vec::new(), peer, context.clone()));
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot accept an MQTT connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
}

async fn accept_tls(
    listener: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    context: Arc<ConnectionContext>,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = stopped.changed() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let (acceptor, context) = (acceptor.clone(), context.clone());
                    tokio::spawn(async move {
                        match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                            Ok(Ok(tls)) => {
                                let names = tls
                                    .get_ref()
                                    .1
                                    .peer_certificates()
                                    .and_then(|chain| chain.first())
                                    .map(|leaf| tls::certificate_names(leaf))
                                    .unwrap_or_default();
                                connection::serve(StreamTransport::new(tls), names, peer, context).await;
                            }
                            Ok(Err(error)) => tracing::warn!(%peer, %error, "TLS handshake refused"),
                            Err(_) => tracing::warn!(%peer, "TLS handshake timed out"),
                        }
                    });
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot accept an MQTT connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
}
