//! End-to-end telemetry ingest: MQTT publishers on loopback, one per device, through the
//! embedded broker and the ingest actor into durable telemetry events; beside it, in the same
//! run, the broker alone passing the same messages from the publishers to one subscriber.

use super::quantile;
use super::workload::registration;
use crate::actors::{CommandMetadata, DirectoryConfig, Platform};
use crate::audit::any_event::DecodeStored;
use crate::mqtt::broker::{EmbeddedBroker, SERVICE_LOGIN};
use crate::mqtt::credentials::ClientCredentials;
use crate::mqtt::dead_letter::DeadLetterStore;
use crate::mqtt::pipeline::IngestOptions;
use crate::mqtt::topic::telemetry_topic;
use crate::mqtt::{MqttService, MqttSettings};
use crate::store::{EventLog, LogSubscription, SledEventLog};
use optibid_domain::telemetry::TelemetryEvent;
use optibid_domain::{DeviceId, FleetEvent};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a measurement waits without progress before it reports what it has.
const STALL: Duration = Duration::from_secs(10);

/// What one ingest measurement found.
#[derive(Debug, Clone)]
pub struct IngestFigures {
    /// Messages published (one sample each).
    pub published: usize,
    /// Messages found stored as telemetry.
    pub messages: usize,
    /// Messages per second from the first publish to the last durable event seen.
    pub per_second: f64,
    /// Telemetry events the messages became.
    pub telemetry_events: usize,
    /// Publishes the broker acknowledged to the publishers.
    pub broker_acks: usize,
    /// Messages the ingest received, acknowledged and sent to the dead letters.
    pub ingest_counts: (u64, u64, u64),
    /// Ingest rounds run.
    pub rounds: u64,
    /// Per device with messages not stored: the runs of missing message numbers (first, last).
    pub missing: Vec<(String, Vec<(u64, u64)>)>,
    /// Publish-to-durable latency, median.
    pub p50: Duration,
    /// Publish-to-durable latency, 99th percentile.
    pub p99: Duration,
}

/// What the broker-alone measurement found.
#[derive(Debug, Clone)]
pub struct BrokerFigures {
    /// Messages the subscriber received.
    pub received: usize,
    /// Messages per second from the first publish to the last one received by the subscriber.
    pub per_second: f64,
}

/// How a measurement publishes.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    /// Publishing devices (one MQTT connection each).
    pub devices: usize,
    /// Messages in all.
    pub messages: usize,
    /// Messages per second over all devices; `None` publishes as fast as the broker takes them.
    pub rate: Option<f64>,
    /// Ingest round window.
    pub window: Duration,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The runs of message numbers in `0..per_device` that `stored` lacks, per device.
fn missing_runs(
    stored: &HashMap<String, BTreeSet<u64>>,
    devices: &[String],
    per_device: usize,
) -> Vec<(String, Vec<(u64, u64)>)> {
    let empty = BTreeSet::new();
    let mut missing = Vec::new();
    for device in devices {
        let numbers = stored.get(device).unwrap_or(&empty);
        let mut runs: Vec<(u64, u64)> = Vec::new();
        for number in (0..per_device as u64).filter(|n| !numbers.contains(n)) {
            match runs.last_mut() {
                Some((_, last)) if *last + 1 == number => *last = number,
                _ => runs.push((number, number)),
            }
        }
        if !runs.is_empty() {
            missing.push((device.clone(), runs));
        }
    }
    missing
}

/// How long the publishers may take to connect before a measurement gives up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Connects one client per device, waits until all are connected, then publishes `load` from
/// them; each message carries its number in the device's sequence as its value, and sample
/// timestamps increase per device. Returns, once publishing has begun, the count of broker
/// acknowledgements the publishers have received so far.
async fn publish_all(
    address: SocketAddr,
    load: Load,
    logins: Vec<(DeviceId, String)>,
) -> anyhow::Result<Arc<AtomicUsize>> {
    let broker_acks = Arc::new(AtomicUsize::new(0));
    let connected = Arc::new(AtomicUsize::new(0));
    let (go_tx, go) = tokio::sync::watch::channel(false);
    let per_device = load.messages / load.devices.max(1);
    let interval = load.rate.map(|rate| Duration::from_secs_f64(load.devices as f64 / rate));
    let mut tasks = tokio::task::JoinSet::new();
    for (device, secret) in logins {
        let (broker_acks, connected, mut go) = (broker_acks.clone(), connected.clone(), go.clone());
        tasks.spawn(async move {
            let mut options = MqttOptions::new(device.as_str(), address.ip().to_string(), address.port());
            options.set_credentials(device.as_str(), secret).set_keep_alive(Duration::from_secs(30));
            let (client, mut eventloop) = AsyncClient::new(options, 1_024);
            let (acked_tx, mut acked) = tokio::sync::watch::channel(0usize);
            let connection = tokio::spawn(async move {
                let mut count = 0;
                loop {
                    match eventloop.poll().await {
                        Ok(Event::Incoming(Packet::ConnAck(_))) => {
                            connected.fetch_add(1, AtomicOrdering::Relaxed);
                        }
                        Ok(Event::Incoming(Packet::PubAck(_))) => {
                            count += 1;
                            broker_acks.fetch_add(1, AtomicOrdering::Relaxed);
                            let _ = acked_tx.send(count);
                        }
                        Ok(_) => {}
                        Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                    }
                }
            });
            if go.wait_for(|go| *go).await.is_err() {
                connection.abort();
                return;
            }
            let topic = telemetry_topic(&device);
            let mut ticker = interval.map(tokio::time::interval);
            let mut last_ts = 0;
            for i in 0..per_device {
                if let Some(ticker) = &mut ticker {
                    ticker.tick().await;
                }
                last_ts = now_ms().max(last_ts + 1);
                let payload = format!(r#"{{"ts":{last_ts},"values":{{"power_w":{i}}}}}"#);
                if client.publish(topic.clone(), QoS::AtLeastOnce, false, payload).await.is_err() {
                    break;
                }
            }
            let _ = acked.wait_for(|count| *count >= per_device).await;
            let _ = client.disconnect().await;
            tokio::time::sleep(Duration::from_millis(100)).await;
            connection.abort();
        });
    }
    tasks.detach_all();
    let deadline = Instant::now() + CONNECT_TIMEOUT;
    while connected.load(AtomicOrdering::Relaxed) < load.devices {
        anyhow::ensure!(
            Instant::now() < deadline,
            "only {} of {} publishers connected within {CONNECT_TIMEOUT:?}",
            connected.load(AtomicOrdering::Relaxed),
            load.devices
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    go_tx.send(true)?;
    Ok(broker_acks)
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

/// Measures ingest into a fresh store in `folder`.
pub async fn measure_ingest(folder: &std::path::Path, load: Load) -> anyhow::Result<IngestFigures> {
    let log = Arc::new(SledEventLog::open(folder)?);
    let platform = Arc::new(Platform::start(log.clone(), DirectoryConfig::default()).await?);
    let credentials = ClientCredentials::open(&log)?;
    let dead_letters = DeadLetterStore::open(&log, 1_000)?;
    let logins = register(&platform, &credentials, load.devices).await?;
    let settings = MqttSettings {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        external: None,
        shared_group: None,
        ingest_connections: 1,
        ingest: IngestOptions::default(),
        max_round: 16_384,
        window: load.window,
    };
    let service = MqttService::start(platform.clone(), credentials, dead_letters, settings).await?;
    let crate::mqtt::endpoint::MqttEndpoint::Embedded(broker) = &service.endpoint else {
        anyhow::bail!("the benchmark runs on the embedded broker");
    };
    let expected = load.messages / load.devices.max(1) * load.devices;
    let shared: Arc<dyn EventLog> = log.clone();
    let mut subscription = LogSubscription::new(shared, log.head().position + 1);
    let device_ids: Vec<String> = logins.iter().map(|(id, _)| id.to_string()).collect();
    let broker_acks = publish_all(broker.address(), load, logins).await?;
    let started = Instant::now();
    let mut latencies = Vec::with_capacity(expected);
    let mut stored: HashMap<String, BTreeSet<u64>> = HashMap::new();
    let mut events = 0;
    let mut last_progress = Instant::now();
    while latencies.len() < expected && last_progress.elapsed() < STALL {
        let Ok(batch) = tokio::time::timeout(Duration::from_secs(1), subscription.next_batch(4_096)).await else {
            continue;
        };
        for record in batch? {
            if let Ok(FleetEvent::Telemetry(TelemetryEvent::Recorded(batch))) = FleetEvent::decode(&record) {
                let now = now_ms();
                events += 1;
                last_progress = Instant::now();
                latencies.extend(batch.samples.iter().map(|s| Duration::from_millis((now - s.ts.0).max(0) as u64)));
                let numbers = stored.entry(batch.device_id.to_string()).or_default();
                numbers.extend(batch.samples.iter().filter_map(|s| s.values.first()).map(|v| v.value as u64));
            }
        }
    }
    let elapsed = last_progress.duration_since(started).as_secs_f64();
    let figures = IngestFigures {
        published: expected,
        messages: latencies.len(),
        per_second: latencies.len() as f64 / elapsed,
        telemetry_events: events,
        broker_acks: broker_acks.load(AtomicOrdering::Relaxed),
        rounds: service.ingest_stats.rounds.load(std::sync::atomic::Ordering::Relaxed),
        ingest_counts: (
            service.ingest_stats.received.load(std::sync::atomic::Ordering::Relaxed),
            service.ingest_stats.acknowledged.load(std::sync::atomic::Ordering::Relaxed),
            service.ingest_stats.dead_lettered.load(std::sync::atomic::Ordering::Relaxed),
        ),
        missing: missing_runs(&stored, &device_ids, load.messages / load.devices.max(1)),
        p50: quantile(&mut latencies, 0.5),
        p99: quantile(&mut latencies, 0.99),
    };
    service.stop().await;
    platform.shutdown().await;
    Ok(figures)
}

/// Measures the embedded broker alone: the same publishers, one QoS 1 subscriber.
pub async fn measure_broker(folder: &std::path::Path, load: Load) -> anyhow::Result<BrokerFigures> {
    let log = SledEventLog::open(folder)?;
    let credentials = ClientCredentials::open(&log)?;
    let mut logins = Vec::with_capacity(load.devices);
    for n in 0..load.devices {
        let id = DeviceId::new(format!("bench-{n:06}"))?;
        logins.push((id.clone(), credentials.issue(id.as_str()).await?));
    }
    let listen = SocketAddr::from(([127, 0, 0, 1], 0));
    let broker = tokio::task::spawn_blocking(move || EmbeddedBroker::start(listen, credentials, 1 << 20)).await??;
    let mut options = MqttOptions::new("bench-subscriber", broker.address().ip().to_string(), broker.address().port());
    options.set_credentials(SERVICE_LOGIN, broker.service_secret()).set_keep_alive(Duration::from_secs(30));
    let (client, mut eventloop) = AsyncClient::new(options, 1_024);
    client.subscribe("optibid/v1/devices/+/telemetry", QoS::AtLeastOnce).await?;
    loop {
        if let Event::Incoming(Packet::SubAck(_)) = eventloop.poll().await? {
            break;
        }
    }
    broker.admit_devices();
    let expected = load.messages / load.devices.max(1) * load.devices;
    publish_all(broker.address(), load, logins).await?;
    let started = Instant::now();
    let mut received = 0;
    let mut last_progress = Instant::now();
    while received < expected && last_progress.elapsed() < STALL {
        if let Ok(Event::Incoming(Packet::Publish(_))) =
            tokio::time::timeout(Duration::from_secs(1), eventloop.poll()).await?
        {
            received += 1;
            last_progress = Instant::now();
        }
    }
    Ok(BrokerFigures { received, per_second: received as f64 / last_progress.duration_since(started).as_secs_f64() })
}
