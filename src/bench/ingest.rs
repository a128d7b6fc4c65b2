//! End-to-end telemetry ingest: MQTT publishers on loopback, one connection per device, into
//! the platform's own endpoint, where a PUBACK means the message is durable. Each publisher times
//! every publish to its PUBACK. Beside it, in the same run: the same publishers against the same
//! MQTT library acknowledging on receipt (the transport's ceiling), and a check of the log that
//! every acknowledged message is stored exactly once.

use super::quantile;
use super::workload::registration;
use crate::actors::{CommandMetadata, DirectoryConfig, Platform};
use crate::events::DecodeStored;
use crate::ingest::dead_letter::DeadLetterStore;
use crate::ingest::pipeline::IngestOptions;
use crate::ingest::queue::RoundSettings;
use crate::mqtt::credentials::ClientCredentials;
use crate::mqtt::topic::telemetry_topic;
use crate::mqtt::{DeviceAccess, MqttService, MqttSettings};
use crate::store::{EventLog, SledEventLog};
use mqtt_endpoint_tokio::mqtt_ep;
use optibid_domain::telemetry::TelemetryEvent;
use optibid_domain::{DeviceId, FleetEvent};
use rumqttc::{AsyncClient, Event, MqttOptions, Outgoing, Packet, QoS};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long publishing may go without an acknowledgement before the measurement reports what
/// it has.
const STALL: Duration = Duration::from_secs(15);

/// How long the publishers may take to connect before a measurement gives up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(60);

/// How a measurement publishes.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    /// Publishing devices (one MQTT connection each).
    pub devices: usize,
    /// Messages in all (one sample each).
    pub messages: usize,
    /// Messages per second over all devices; `None` publishes as fast as acknowledgements allow.
    pub rate: Option<f64>,
    /// Unacknowledged publishes each device may have.
    pub inflight: u16,
    /// Ingest round window.
    pub window: Duration,
}

/// What the publishers saw.
#[derive(Debug, Clone, Default)]
pub struct PublishFigures {
    /// Publishes acknowledged.
    pub acknowledged: usize,
    /// Acknowledged messages per second, first publish to last acknowledgement.
    pub per_second: f64,
    /// Publish-to-PUBACK latency, median.
    pub p50: Duration,
    /// Publish-to-PUBACK latency, 99th percentile.
    pub p99: Duration,
    /// Acknowledged message numbers per device.
    acked: HashMap<String, Vec<u64>>,
}

/// What the end-to-end measurement found.
#[derive(Debug, Clone)]
pub struct IngestFigures {
    /// Messages published.
    pub published: usize,
    /// The publishers' figures (a PUBACK means durable).
    pub publish: PublishFigures,
    /// Telemetry events the messages became.
    pub telemetry_events: usize,
    /// Ingest rounds run.
    pub rounds: u64,
    /// Acknowledged messages not found in the log.
    pub lost: usize,
    /// Messages stored more than once.
    pub duplicated: usize,
}

/// Publishes `load` from one client per login, each message carrying its number in the device's
/// sequence as its value, and times every publish to its PUBACK.
async fn publish_all(
    address: SocketAddr,
    load: Load,
    logins: Vec<(DeviceId, String)>,
) -> anyhow::Result<PublishFigures> {
    let connected = Arc::new(AtomicUsize::new(0));
    let (go_tx, go) = tokio::sync::watch::channel(false);
    let per_device = load.messages / load.devices.max(1);
    let interval = load.rate.map(|rate| Duration::from_secs_f64(load.devices as f64 / rate));
    let base_ts = chrono::Utc::now().timestamp_millis() - 1_000_000;
    let mut tasks = tokio::task::JoinSet::new();
    for (device, secret) in logins {
        let (connected, mut go) = (connected.clone(), go.clone());
        tasks.spawn(async move {
            let mut options = MqttOptions::new(device.as_str(), address.ip().to_string(), address.port());
            options
                .set_credentials(device.as_str(), secret)
                .set_keep_alive(Duration::from_secs(60))
                .set_inflight(load.inflight.max(1));
            let (client, mut eventloop) = AsyncClient::new(options, 64);
            let (done_tx, done) = tokio::sync::oneshot::channel();
            let connection = tokio::spawn(async move {
                let mut sent: HashMap<u16, Instant> = HashMap::new();
                let mut latencies = Vec::with_capacity(per_device);
                let mut acked = Vec::with_capacity(per_device);
                let mut numbers = std::collections::VecDeque::new();
                let mut next_number = 0u64;
                let mut last_ack = Instant::now();
                while latencies.len() < per_device {
                    match tokio::time::timeout(STALL, eventloop.poll()).await {
                        Err(_) => break,
                        Ok(Ok(Event::Incoming(Packet::ConnAck(_)))) => {
                            connected.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(Ok(Event::Outgoing(Outgoing::Publish(pkid)))) => {
                            sent.insert(pkid, Instant::now());
                            numbers.push_back((pkid, next_number));
                            next_number += 1;
                        }
                        Ok(Ok(Event::Incoming(Packet::PubAck(ack)))) => {
                            if let Some(at) = sent.remove(&ack.pkid) {
                                latencies.push(at.elapsed());
                                last_ack = Instant::now();
                            }
                            if let Some(index) = numbers.iter().position(|(pkid, _)| *pkid == ack.pkid) {
                                if let Some((_, number)) = numbers.remove(index) {
                                    acked.push(number);
                                }
                            }
                        }
                        Ok(Ok(_)) => {}
                        Ok(Err(_)) => tokio::time::sleep(Duration::from_millis(50)).await,
                    }
                }
                let _ = done_tx.send((latencies, acked, last_ack));
                loop {
                    if eventloop.poll().await.is_err() {
                        return;
                    }
                }
            });
            if go.wait_for(|go| *go).await.is_err() {
                connection.abort();
                return (device, Vec::new(), Vec::new(), None);
            }
            let topic = telemetry_topic(&device);
            let mut ticker = interval.map(tokio::time::interval);
            let first = Instant::now();
            for i in 0..per_device {
                if let Some(ticker) = &mut ticker {
                    ticker.tick().await;
                }
                let payload = format!(r#"{{"ts":{},"values":{{"power_w":{i}}}}}"#, base_ts + i as i64);
                if client.publish(topic.clone(), QoS::AtLeastOnce, false, payload).await.is_err() {
                    break;
                }
            }
            let (latencies, acked, last_ack) = done.await.unwrap_or_else(|_| (Vec::new(), Vec::new(), Instant::now()));
            let _ = client.disconnect().await;
            tokio::time::sleep(Duration::from_millis(50)).await;
            connection.abort();
            (device, latencies, acked, Some((first, last_ack)))
        });
    }
    let deadline = Instant::now() + CONNECT_TIMEOUT;
    while connected.load(Ordering::Relaxed) < load.devices {
        anyhow::ensure!(
            Instant::now() < deadline,
            "only {} of {} publishers connected within {CONNECT_TIMEOUT:?}",
            connected.load(Ordering::Relaxed),
            load.devices
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    go_tx.send(true)?;
    let mut figures = PublishFigures::default();
    let mut latencies = Vec::with_capacity(load.messages);
    let mut span: Option<(Instant, Instant)> = None;
    while let Some(result) = tasks.join_next().await {
        let (device, device_latencies, acked, times) = result?;
        latencies.extend(device_latencies);
        figures.acked.insert(device.to_string(), acked);
        if let Some((first, last)) = times {
            span = Some(match span {
                None => (first, last),
                Some((a, b)) => (a.min(first), b.max(last)),
            });
        }
    }
    figures.acknowledged = latencies.len();
    if let Some((first, last)) = span {
        figures.per_second = latencies.len() as f64 / last.duration_since(first).as_secs_f64().max(1e-9);
    }
    figures.p50 = quantile(&mut latencies, 0.5);
    figures.p99 = quantile(&mut latencies, 0.99);
    Ok(figures)
}

async fn register(
    platform: &Platform,
    credentials: &ClientCredentials,
    devices: usize,
) -> anyhow::Result<Vec<(DeviceId, String)>> {
    let mut logins = Vec::with_capacity(devices);
    for n in 0..devices {
        let command = registration(n)?;
        let optibid_domain::device::DeviceCommand::Register { registration, .. } = &command else { continue };
        let id = registration.id.clone();
        platform.devices.execute(id.as_str(), command, CommandMetadata::default()).await?;
        logins.push((id.clone(), credentials.issue(id.as_str()).await?));
    }
    Ok(logins)
}

/// Measures ingest through the platform's endpoint into a fresh store in `folder`.
pub async fn measure_endpoint(folder: &std::path::Path, load: Load) -> anyhow::Result<IngestFigures> {
    let log = Arc::new(SledEventLog::open(folder)?);
    let platform = Arc::new(Platform::start(log.clone(), DirectoryConfig::default()).await?);
    let credentials = ClientCredentials::open(&log)?;
    let dead_letters = DeadLetterStore::open(&log, 1_000)?;
    let logins = register(&platform, &credentials, load.devices).await?;
    let settings = MqttSettings {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        tls: None,
        external: None,
        shared_group: None,
        ingest_connections: 1,
        ingest: IngestOptions::default(),
        rounds: RoundSettings { max_round: 16_384, window: load.window },
    };
    let service = MqttService::start(platform.clone(), credentials, dead_letters, settings).await?;
    let DeviceAccess::Endpoint(endpoint) = &service.access else {
        anyhow::bail!("the benchmark runs on the platform's own endpoint");
    };
    let from = log.head().position + 1;
    let publish = publish_all(endpoint.address, load, logins).await?;
    let rounds = service.ingest_stats.rounds.load(Ordering::Relaxed);
    service.stop().await;
    let mut stored: HashMap<String, HashMap<u64, usize>> = HashMap::new();
    let mut telemetry_events = 0;
    let mut position = from;
    loop {
        let records = log.read_all(position, 4_096)?;
        let Some(last) = records.last().map(|r| r.position) else { break };
        position = last + 1;
        for record in records {
            if let Ok(FleetEvent::Telemetry(TelemetryEvent::Recorded(batch))) = FleetEvent::decode(&record) {
                telemetry_events += 1;
                let numbers = stored.entry(batch.device_id.to_string()).or_default();
                for value in batch.samples.iter().filter_map(|s| s.values.first()) {
                    *numbers.entry(value.value as u64).or_default() += 1;
                }
            }
        }
    }
    platform.shutdown().await;
    let empty = HashMap::new();
    let lost = publish
        .acked
        .iter()
        .map(|(device, numbers)| {
            let found = stored.get(device).unwrap_or(&empty);
            numbers.iter().filter(|n| !found.contains_key(n)).count()
        })
        .sum();
    let duplicated = stored.values().flat_map(|numbers| numbers.values()).filter(|count| **count > 1).count();
    Ok(IngestFigures {
        published: load.messages / load.devices.max(1) * load.devices,
        publish,
        telemetry_events,
        rounds,
        lost,
        duplicated,
    })
}

/// Measures the same publishers against the same MQTT library acknowledging every publish on
/// receipt: what the transport allows on this machine.
pub async fn measure_transport(load: Load) -> anyhow::Result<PublishFigures> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let server = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            tokio::spawn(acknowledge_on_receipt(stream));
        }
    });
    let logins = (0..load.devices)
        .map(|n| Ok((DeviceId::new(format!("bench-{n:06}"))?, "any".to_owned())))
        .collect::<Result<Vec<_>, optibid_domain::IdError>>()?;
    let figures = publish_all(address, load, logins).await;
    server.abort();
    figures
}

/// A connection that accepts any login and acknowledges every publish as it arrives.
async fn acknowledge_on_receipt(stream: tokio::net::TcpStream) {
    let endpoint = mqtt_ep::Endpoint::<mqtt_ep::role::Server>::new(mqtt_ep::Version::Undetermined);
    let transport = mqtt_ep::transport::TcpTransport::from_stream(stream);
    if endpoint.attach(transport, mqtt_ep::Mode::Server).await.is_err() {
        return;
    }
    while let Ok(packet) = endpoint.recv().await {
        let version = match packet {
            mqtt_ep::packet::Packet::V3_1_1Connect(_) => mqtt_ep::Version::V3_1_1,
            mqtt_ep::packet::Packet::V5_0Connect(_) => mqtt_ep::Version::V5_0,
            _ => continue,
        };
        if let Ok(ack) = crate::mqtt::device_endpoint::packets::connack_accepted(version, false) {
            if endpoint.send(ack).await.is_err() {
                return;
            }
        }
    }
}
