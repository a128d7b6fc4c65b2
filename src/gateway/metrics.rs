//! `/metrics` in Prometheus text format: requests, latencies, events appended, live actors,
//! commands waiting in actor mailboxes, and read-model positions.

use super::AppState;
use crate::ingest::queue::IngestStats;
use crate::store::EventLog;
use actix_web::{get, web, HttpResponse};
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::atomic::Ordering;
use std::sync::Mutex;

/// Labels of a request.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct RequestLabels {
    /// HTTP method.
    pub method: String,
    /// Route pattern (`/api/v1/devices/{id}`), not the raw path, so ids do not explode the series.
    pub route: String,
    /// Status code.
    pub status: u16,
}

/// Labels of a read model.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct ProjectionLabels {
    /// Projection name.
    pub projection: String,
}

/// Labels of a dead-letter reason.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct ReasonLabels {
    /// The reason's code.
    pub reason: String,
}

/// Labels of an MQTT counter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct MqttLabels {
    /// What is counted.
    pub kind: String,
}

/// Labels of an OPC UA counter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct OpcUaLabels {
    /// The endpoint's configured name.
    pub endpoint: String,
    /// What is counted.
    pub kind: String,
}

/// Labels of an OPC UA endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct EndpointLabels {
    /// The endpoint's configured name.
    pub endpoint: String,
}

/// Labels of a background worker.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct WorkerLabels {
    /// The worker's name.
    pub worker: String,
}

/// The gateway's metrics.
pub struct ApiMetrics {
    registry: Mutex<Registry>,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RequestLabels, Histogram>,
    events_appended: Counter,
    live_actors: Gauge,
    pending_commands: Gauge,
    live_stream_clients: Gauge,
    projection_position: Family<ProjectionLabels, Gauge>,
    projection_lag_events: Family<ProjectionLabels, Gauge>,
    projection_lag_ms: Family<ProjectionLabels, Gauge>,
    dead_letters: Family<ReasonLabels, Counter>,
    mqtt: Family<MqttLabels, Counter>,
    mqtt_connected: Gauge,
    opcua: Family<OpcUaLabels, Counter>,
    opcua_connected: Family<EndpointLabels, Gauge>,
    worker_stopped: Family<WorkerLabels, Gauge>,
    worker_retries: Family<WorkerLabels, Counter>,
}

impl Default for ApiMetrics {
    fn default() -> Self {
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RequestLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.000_1, 2.0, 16))
        });
        let events_appended = Counter::default();
        let live_actors = Gauge::default();
        let pending_commands = Gauge::default();
        let live_stream_clients = Gauge::default();
        let projection_position = Family::<ProjectionLabels, Gauge>::default();
        let projection_lag_events = Family::<ProjectionLabels, Gauge>::default();
        let projection_lag_ms = Family::<ProjectionLabels, Gauge>::default();
        let dead_letters = Family::<ReasonLabels, Counter>::default();
        let mqtt = Family::<MqttLabels, Counter>::default();
        let mqtt_connected = Gauge::default();
        let opcua = Family::<OpcUaLabels, Counter>::default();
        let opcua_connected = Family::<EndpointLabels, Gauge>::default();
        let worker_stopped = Family::<WorkerLabels, Gauge>::default();
        let worker_retries = Family::<WorkerLabels, Counter>::default();
        let mut registry = Registry::with_prefix("optibid");
        registry.register("http_requests", "HTTP requests answered", requests.clone());
        registry.register("http_request_duration_seconds", "HTTP request latency", latency.clone());
        registry.register("events_appended", "Events appended to the log", events_appended.clone());
        registry.register("live_actors", "Live aggregate actors", live_actors.clone());
        registry.register("actor_pending_commands", "Commands waiting in actor mailboxes", pending_commands.clone());
        registry.register(
            "live_stream_clients",
            "Clients following the live event stream (open dashboards)",
            live_stream_clients.clone(),
        );
        registry.register(
            "projection_position",
            "Global position each read model has applied",
            projection_position.clone(),
        );
        registry.register(
            "projection_lag_events",
            "Events each read model is behind the head",
            projection_lag_events.clone(),
        );
        registry.register(
            "projection_lag_milliseconds",
            "Commit-time distance between each read model's last event and the head",
            projection_lag_ms.clone(),
        );
        registry.register("dead_letters", "Device messages refused, by reason", dead_letters.clone());
        registry.register(
            "mqtt",
            "MQTT messages received, acknowledged, duplicates, stored as telemetry; logins; commands sent, delivered and timed out",
            mqtt.clone(),
        );
        registry.register(
            "mqtt_connected",
            "Whether devices can reach the platform over MQTT (its endpoint listens, or the external broker is connected)",
            mqtt_connected.clone(),
        );
        registry.register(
            "opcua",
            "OPC UA data changes received, samples stored, dead letters, connection losses and refused items",
            opcua.clone(),
        );
        registry.register("opcua_connected", "Whether an OPC UA session is up", opcua_connected.clone());
        registry.register(
            "worker_stopped",
            "Whether a background worker stopped after a storage failure (its reason is in /readyz)",
            worker_stopped.clone(),
        );
        registry.register("worker_retries", "Transient errors a background worker retried", worker_retries.clone());
        Self {
            registry: Mutex::new(registry),
            opcua,
            opcua_connected,
            worker_stopped,
            worker_retries,
            dead_letters,
            mqtt,
            mqtt_connected,
            requests,
            latency,
            events_appended,
            live_actors,
            pending_commands,
            live_stream_clients,
            projection_position,
            projection_lag_events,
            projection_lag_ms,
        }
    }
}

impl ApiMetrics {
    /// Counts one answered request.
    pub fn observe_request(&self, labels: RequestLabels, seconds: f64) {
        self.requests.get_or_create(&labels).inc();
        self.latency.get_or_create(&labels).observe(seconds);
    }

    /// Adds the MQTT ingest's arrival-to-durable latency (`optibid_ingest_durable_seconds`).
    pub fn register_ingest(&self, stats: &IngestStats) {
        self.registry.lock().unwrap_or_else(std::sync::PoisonError::into_inner).register(
            "ingest_durable_seconds",
            "Seconds from a device message's arrival to its outcome being durable (the PUBACK's wait)",
            stats.durable_seconds.clone(),
        );
    }
}

/// Moves a counter up to `value`, a total kept elsewhere.
fn catch_up(counter: impl std::ops::Deref<Target = Counter>, value: u64) {
    counter.inc_by(value.saturating_sub(counter.get()));
}

/// `GET /metrics`.
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let metrics = &state.metrics;
    let head = state.platform.log.head().position;
    metrics.events_appended.inc_by(head.saturating_sub(metrics.events_appended.get()));
    let platform = &state.platform;
    let live =
        platform.devices.live_instances() + platform.edge_nodes.live_instances() + platform.campaigns.live_instances();
    metrics.live_actors.set(i64::try_from(live).unwrap_or(i64::MAX));
    let pending = platform.devices.pending_commands()
        + platform.edge_nodes.pending_commands()
        + platform.campaigns.pending_commands();
    metrics.pending_commands.set(i64::try_from(pending).unwrap_or(i64::MAX));
    metrics.live_stream_clients.set(i64::try_from(state.live.clients()).unwrap_or(i64::MAX));
    for status in super::projections::statuses(&state) {
        let labels = ProjectionLabels { projection: status.name };
        metrics.projection_position.get_or_create(&labels).set(i64::try_from(status.position).unwrap_or(i64::MAX));
        metrics.projection_lag_events.get_or_create(&labels).set(i64::try_from(status.lag_events).unwrap_or(i64::MAX));
        metrics.projection_lag_ms.get_or_create(&labels).set(status.lag_ms);
    }
    for (reason, count) in state.dead_letters.counts() {
        catch_up(metrics.dead_letters.get_or_create(&ReasonLabels { reason: reason.code().to_owned() }), count);
    }
    if let Some(connectivity) = state.connectivity.get() {
        let (ingest, downlink) = (&connectivity.ingest, &connectivity.downlink);
        let mut counters = vec![
            ("received", ingest.received.load(Ordering::Relaxed)),
            ("acknowledged", ingest.acknowledged.load(Ordering::Relaxed)),
            ("duplicates", ingest.duplicates.load(Ordering::Relaxed)),
            ("telemetry_events", ingest.telemetry_events.load(Ordering::Relaxed)),
            ("samples", ingest.samples.load(Ordering::Relaxed)),
            ("ingest_rounds", ingest.rounds.load(Ordering::Relaxed)),
            ("commands_published", downlink.published.load(Ordering::Relaxed)),
            ("commands_timed_out", downlink.timed_out.load(Ordering::Relaxed)),
        ];
        if let Some(endpoint) = &connectivity.endpoint {
            counters.extend([
                ("logins_accepted", endpoint.accepted_logins.load(Ordering::Relaxed)),
                ("logins_refused", endpoint.refused_logins.load(Ordering::Relaxed)),
                ("commands_sent", endpoint.commands_sent.load(Ordering::Relaxed)),
                ("commands_delivered", endpoint.commands_delivered.load(Ordering::Relaxed)),
            ]);
        }
        for (kind, value) in counters {
            catch_up(metrics.mqtt.get_or_create(&MqttLabels { kind: kind.to_owned() }), value);
        }
        metrics.mqtt_connected.set(i64::from(connectivity.connected.load(Ordering::Relaxed)));
    }
    for endpoint in state.opcua.get().into_iter().flatten() {
        for (kind, value) in [
            ("values", &endpoint.values),
            ("samples", &endpoint.samples),
            ("dead_letters", &endpoint.dead_letters),
            ("connection_losses", &endpoint.connection_losses),
            ("refused_items", &endpoint.refused_items),
        ] {
            let labels = OpcUaLabels { endpoint: endpoint.name.clone(), kind: kind.to_owned() };
            catch_up(metrics.opcua.get_or_create(&labels), value.load(Ordering::Relaxed));
        }
        let labels = EndpointLabels { endpoint: endpoint.name.clone() };
        metrics.opcua_connected.get_or_create(&labels).set(i64::from(endpoint.connected.load(Ordering::Relaxed)));
    }
    for worker in state.workers.all() {
        let labels = WorkerLabels { worker: worker.name().to_owned() };
        metrics.worker_stopped.get_or_create(&labels).set(i64::from(worker.stop_reason().is_some()));
        catch_up(metrics.worker_retries.get_or_create(&labels), worker.retried());
    }
    let mut text = String::new();
    let encoded = match metrics.registry.lock() {
        Ok(registry) => encode(&mut text, &registry).is_ok(),
        Err(_) => false,
    };
    if !encoded {
        return HttpResponse::InternalServerError().body("metrics could not be encoded");
    }
    HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(text)
}
