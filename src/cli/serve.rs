//! `optibid serve`: the event store, the actors and the HTTP gateway.

use super::DataArgs;
use crate::actors::{DirectoryConfig, Platform};
use crate::condition_monitor::ConditionMonitor;
use crate::config::PlatformConfig;
use crate::gateway::{self, auth::Role, AppState, Connectivity};
use crate::ingest::payload::PayloadLimits;
use crate::ingest::pipeline::IngestOptions;
use crate::ingest::queue::RoundSettings;
use crate::mqtt::broker_address::BrokerAddress;
use crate::mqtt::device_endpoint::tls::TlsSettings;
use crate::mqtt::{MqttService, MqttSettings};
use crate::opcua::OpcUaService;
use crate::rollout::Rollout;
use crate::store::{EventLog, SledEventLog, StoreOptions};
use crate::worker_health::WorkerHealth;
use anyhow::Context;
use optibid_snapshots::SnapshotPolicy;
use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tracing::info;

/// Options of `optibid serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub(crate) data: DataArgs,
    /// Address of the HTTP gateway (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8470")]
    http: SocketAddr,
    /// Snapshot each instance every N events (0 disables snapshots).
    #[arg(long, default_value_t = 100)]
    snapshot_every: u64,
    /// Stop an instance's actor after it has been idle this many seconds.
    #[arg(long, default_value_t = 300)]
    passivate_after_secs: u64,
    /// Commands that may wait for one instance before callers are told to retry.
    #[arg(long, default_value_t = 64)]
    mailbox_capacity: usize,
    /// Size of the storage engine's page cache, MiB.
    #[arg(long, default_value_t = 256)]
    cache_mib: u64,
    /// Free space kept on the data folder's file system, MiB: below it, writes are refused
    /// (HTTP 507, no MQTT acknowledgement) until space is freed; 0 turns the check off.
    #[arg(long, default_value_t = 64)]
    min_free_mib: u64,
    /// Configuration file (TOML): OPC UA servers and their node mappings (docs/opcua.md), and
    /// threshold alert rules per device kind and metric.
    #[arg(long)]
    config: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) mqtt: MqttArgs,
}

/// MQTT options shared by `serve` and `demo`.
#[derive(Debug, Clone, clap::Args)]
pub struct MqttArgs {
    /// Address of the platform's MQTT endpoint for devices (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8471", conflicts_with = "mqtt_broker")]
    pub mqtt_listen: SocketAddr,
    /// Also listen for MQTT over TLS here (needs --mqtt-tls-cert and --mqtt-tls-key).
    #[arg(long, requires_all = ["mqtt_tls_cert", "mqtt_tls_key"], conflicts_with = "mqtt_broker")]
    pub mqtts_listen: Option<SocketAddr>,
    /// The TLS listener's certificate chain (PEM).
    #[arg(long, requires = "mqtts_listen")]
    pub mqtt_tls_cert: Option<PathBuf>,
    /// The TLS listener's private key (PEM).
    #[arg(long, requires = "mqtts_listen")]
    pub mqtt_tls_key: Option<PathBuf>,
    /// CA certificates (PEM) of device certificates: a device may then log in over TLS with a
    /// client certificate whose common name or DNS alternative name is its id.
    #[arg(long, requires = "mqtts_listen")]
    pub mqtt_client_ca: Option<PathBuf>,
    /// Read devices through this broker (mqtt://[user:password@]host:port) instead of running the
    /// platform's own endpoint (docs/mqtt.md gives a Mosquitto configuration that loses nothing).
    #[arg(long)]
    pub mqtt_broker: Option<String>,
    /// MQTT shared-subscription group, so several `serve` processes split the device stream.
    #[arg(long)]
    pub mqtt_shared_group: Option<String>,
    /// Connections the ingest reads from an external broker with --mqtt-shared-group (they
    /// subscribe through that group; a broker's limit on unacknowledged messages applies per
    /// connection). The platform's own endpoint needs none of them.
    #[arg(long, default_value_t = 4)]
    pub mqtt_ingest_connections: usize,
    /// Largest MQTT payload accepted, bytes.
    #[arg(long, default_value_t = 64 * 1024)]
    pub mqtt_max_payload: usize,
    /// How long an ingest round keeps collecting messages after its first one, milliseconds: a
    /// device's samples of that time become one event (and one disk write).
    #[arg(long, default_value_t = 0)]
    pub mqtt_ingest_window_ms: u64,
    /// Most MQTT messages handled in one ingest round.
    #[arg(long, default_value_t = 4_096)]
    pub mqtt_max_round: usize,
    /// Register unknown devices on their first telemetry instead of refusing their messages.
    #[arg(long)]
    pub auto_provision: bool,
}

impl MqttArgs {
    /// The settings these options describe.
    pub fn settings(&self) -> anyhow::Result<MqttSettings> {
        let external = match &self.mqtt_broker {
            Some(url) => Some(BrokerAddress::parse(url)?),
            None => None,
        };
        let tls = match (self.mqtts_listen, &self.mqtt_tls_cert, &self.mqtt_tls_key) {
            (Some(listen), Some(certificate), Some(private_key)) => Some(TlsSettings {
                listen,
                certificate: certificate.clone(),
                private_key: private_key.clone(),
                client_ca: self.mqtt_client_ca.clone(),
            }),
            _ => None,
        };
        Ok(MqttSettings {
            listen: self.mqtt_listen,
            tls,
            external,
            shared_group: self.mqtt_shared_group.clone(),
            ingest_connections: self.mqtt_ingest_connections.clamp(1, 64),
            ingest: IngestOptions {
                limits: PayloadLimits { max_bytes: self.mqtt_max_payload, ..PayloadLimits::default() },
                auto_provision: self.auto_provision,
            },
            rounds: RoundSettings {
                max_round: self.mqtt_max_round.max(1),
                window: Duration::from_millis(self.mqtt_ingest_window_ms.min(10_000)),
            },
        })
    }
}

/// Starts the MQTT side for `state` and records its counters there.
pub async fn start_mqtt(state: &Arc<AppState>, args: &MqttArgs) -> anyhow::Result<MqttService> {
    let service = MqttService::start(
        state.platform.clone(),
        state.credentials.clone(),
        state.dead_letters.clone(),
        args.settings()?,
    )
    .await?;
    state.metrics.register_ingest(&service.ingest_stats);
    let _ = state.connectivity.set(Connectivity {
        url: service.url(),
        connected: service.connected(),
        ingest: service.ingest_stats.clone(),
        endpoint: service.endpoint_stats(),
        downlink: service.downlink_stats.clone(),
    });
    for worker in &service.workers {
        state.workers.register(worker.clone());
    }
    Ok(service)
}

/// A started platform: store, actors, MQTT side and HTTP gateway.
pub struct RunningServer {
    /// Log and actors.
    pub platform: Arc<Platform>,
    /// What the handlers reach.
    pub state: Arc<AppState>,
    /// The MQTT side.
    pub mqtt: MqttService,
    /// The OPC UA clients.
    pub opcua: OpcUaService,
    /// Where the HTTP gateway listens.
    pub http_address: SocketAddr,
    /// The admin token created on this start (the first start of a data folder), if any.
    first_token: Option<String>,
    rollout: Rollout,
    condition_monitor: ConditionMonitor,
    handle: actix_web::dev::ServerHandle,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// Opens the data folder and starts everything `args` describes.
    pub async fn start(args: &ServeArgs) -> anyhow::Result<Self> {
        let file_config = match &args.config {
            Some(path) => PlatformConfig::load(path)?,
            None => PlatformConfig::default(),
        };
        std::fs::create_dir_all(&args.data.data)
            .with_context(|| format!("cannot create the data folder {}", args.data.data.display()))?;
        let options = StoreOptions {
            cache_bytes: args.cache_mib.saturating_mul(1024 * 1024),
            min_free_bytes: args.min_free_mib.saturating_mul(1024 * 1024),
            ..StoreOptions::default()
        };
        let log = Arc::new(SledEventLog::open_with(&args.data.data, options)?);
        let config = DirectoryConfig {
            mailbox_capacity: args.mailbox_capacity.max(1),
            passivate_after: Duration::from_secs(args.passivate_after_secs),
            snapshots: SnapshotPolicy { every: args.snapshot_every, keep: 2 },
            ..DirectoryConfig::default()
        };
        let platform = Arc::new(Platform::start(log, config).await?.with_alert_rules(file_config.alert_rules.clone()));
        let state = Arc::new(AppState::start(platform.clone())?);
        let first_token = if state.tokens.is_empty() {
            let token = state.tokens.create("admin", Role::Admin).await?;
            println!("first start: admin token (shown only once, keep it): {token}");
            Some(token)
        } else {
            None
        };
        let listener = TcpListener::bind(args.http).with_context(|| {
            format!("cannot listen on {} (is another process using it? choose another address with --http)", args.http)
        })?;
        let http_address = listener.local_addr()?;
        let mqtt = start_mqtt(&state, &args.mqtt).await?;
        let opcua =
            OpcUaService::start(platform.clone(), state.dead_letters.clone(), &file_config.opcua, &args.data.data)
                .await?;
        let _ = state.opcua.set(opcua.stats.clone());
        let rollout_health = WorkerHealth::new("rollout");
        let monitor_health = WorkerHealth::new("condition_monitor");
        state.workers.register(rollout_health.clone());
        state.workers.register(monitor_health.clone());
        let rollout = Rollout::start(platform.clone(), rollout_health)?;
        let condition_monitor = ConditionMonitor::start(state.clone(), monitor_health)?;
        let server = gateway::server(listener, state.clone())?;
        let handle = server.handle();
        info!(address = %http_address, data = %args.data.data.display(), head = platform.log.head().position, "optibid serving");
        let server = tokio::spawn(server);
        Ok(Self { platform, state, mqtt, opcua, http_address, first_token, rollout, condition_monitor, handle, server })
    }

    /// Prints where the platform listens (tests and scripts read these lines).
    pub fn announce(&self) -> std::io::Result<()> {
        let mut stdout = std::io::stdout();
        writeln!(stdout, "optibid MQTT on {}", self.mqtt.url())?;
        if let Some(tls) = self.mqtt.tls_url() {
            writeln!(stdout, "optibid MQTT over TLS on {tls}")?;
        }
        match &self.first_token {
            Some(token) => writeln!(stdout, "optibid dashboard: {}", self.login_link(token))?,
            None => writeln!(stdout, "optibid dashboard: http://{}/ (sign in with an API token)", self.http_address)?,
        }
        writeln!(stdout, "optibid listening on http://{}", self.http_address)?;
        stdout.flush()
    }

    /// The dashboard's address signed in with `token`: the token is in the fragment, which a
    /// browser never sends to a server, so it stays out of every log.
    pub fn login_link(&self, token: &str) -> String {
        format!("http://{}/#token={token}", self.http_address)
    }

    /// Stops HTTP (letting requests finish), then MQTT, then the actors and the log.
    pub async fn stop(self) {
        info!("shutting down");
        self.state.live.close();
        self.handle.stop(true).await;
        let _ = self.server.await;
        drop(self.rollout);
        drop(self.condition_monitor);
        self.opcua.stop().await;
        self.mqtt.stop().await;
        self.platform.shutdown().await;
    }
}

pub(super) async fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let running = RunningServer::start(&args).await?;
    running.announce()?;
    shutdown_signal().await;
    running.stop().await;
    Ok(ExitCode::SUCCESS)
}

/// Waits for Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => return drop(interrupt.await),
        };
        tokio::select! {
            _ = interrupt => {},
            _ = terminate.recv() => {},
        }
    }
    #[cfg(not(unix))]
    drop(interrupt.await);
}
