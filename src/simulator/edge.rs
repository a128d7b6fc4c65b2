//! One simulated edge node: a heartbeat every few seconds with CPU, memory, GPU, inference rate
//! and latency that follow the load of its site.

use super::device::client_options;
use super::fleet::EdgePlan;
use super::physics::gaussian;
use super::{Simulation, SimulationStats};
use crate::ingest::backoff::Backoff;
use crate::mqtt::topic::heartbeat_topic;
use rumqttc::{AsyncClient, QoS};
use serde_json::json;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Time between heartbeats.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(5);

/// Runs the edge node until `stop` turns true.
#[tracing::instrument(name = "simulated_edge_node", skip_all, fields(node = %plan.registration.id))]
pub async fn run(
    simulation: Arc<Simulation>,
    plan: EdgePlan,
    login: Option<(String, String)>,
    seed: u64,
    stats: Arc<SimulationStats>,
    mut stop: watch::Receiver<bool>,
) {
    let id = plan.registration.id.clone();
    let client_id = format!("edge:{id}");
    let (client, mut eventloop) = AsyncClient::new(client_options(&simulation, &client_id, login.as_ref()), 64);
    let connection = tokio::spawn(async move {
        let mut backoff = Backoff::default();
        loop {
            match eventloop.poll().await {
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(_))) => backoff.reset(),
                Ok(_) => {}
                Err(_) => tokio::time::sleep(backoff.next_delay()).await,
            }
        }
    });
    let mut rng = fastrand::Rng::with_seed(seed);
    let has_gpu = plan.registration.hardware.gpu.is_some();
    let mut load: f64 = 0.4 + 0.3 * rng.f64();
    let mut ticker = tokio::time::interval(HEARTBEAT_EVERY);
    let topic = heartbeat_topic(&id);
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                load = (load + 0.03 * gaussian(&mut rng)).clamp(0.05, 0.98);
                let beat = json!({
                    "ts": chrono::Utc::now().timestamp_millis(),
                    "cpu_pct": 100.0 * load,
                    "memory_pct": 35.0 + 40.0 * load,
                    "gpu_pct": has_gpu.then_some(100.0 * (load * 1.1).min(1.0)),
                    "inference_rate": if has_gpu { 400.0 } else { 60.0 } * load,
                    "latency_ms": 4.0 + 30.0 * load * load + gaussian(&mut rng).abs(),
                    "models": ["anomaly-detector-v2"],
                    "services": { "inference": "running", "collector": "running" },
                });
                if client.publish(topic.clone(), QoS::AtLeastOnce, false, beat.to_string()).await.is_ok() {
                    stats.heartbeats.fetch_add(1, Ordering::Relaxed);
                }
            }
            _ = stop.changed() => break,
        }
    }
    let _ = client.disconnect().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    connection.abort();
}
