//! One simulated device on its own MQTT connection: it reports `online` (its last will says
//! `offline`), publishes telemetry at the configured rate, and answers the commands the platform
//! sends: accepted, progress for firmware updates, then succeeded or failed.

use super::fleet::DevicePlan;
use super::physics::AssetModel;
use super::{Simulation, SimulationStats};
use crate::ingest::backoff::Backoff;
use crate::mqtt::topic::{command_response_topic, commands_topic, status_topic, telemetry_topic};
use optibid_domain::ids::{CommandId, DeviceId};
use rumqttc::{AsyncClient, Event, LastWill, MqttOptions, Packet, QoS};
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// A command as the platform publishes it.
#[derive(Debug, Deserialize)]
struct DownlinkCommand {
    command_id: String,
    name: String,
    #[serde(default)]
    params: serde_json::Value,
}

/// Options of one simulated MQTT client.
pub fn client_options(simulation: &Simulation, client_id: &str, login: Option<&(String, String)>) -> MqttOptions {
    let mut options = MqttOptions::new(client_id, simulation.broker.host.clone(), simulation.broker.port);
    options.set_keep_alive(Duration::from_secs(30)).set_clean_session(true);
    if let Some((user, secret)) = login {
        options.set_credentials(user.clone(), secret.clone());
    }
    options
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Runs the device until `stop` turns true.
#[tracing::instrument(name = "simulated_device", skip_all, fields(device = %plan.registration.id))]
pub async fn run(
    simulation: Arc<Simulation>,
    plan: DevicePlan,
    login: Option<(String, String)>,
    seed: u64,
    stats: Arc<SimulationStats>,
    mut stop: watch::Receiver<bool>,
) {
    let id = plan.registration.id.clone();
    let mut options = client_options(&simulation, id.as_str(), login.as_ref());
    let offline = json!({ "status": "offline", "reason": "connection lost" }).to_string();
    options.set_last_will(LastWill::new(status_topic(&id), offline, QoS::AtLeastOnce, false));
    let (client, mut eventloop) = AsyncClient::new(options, 256);
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut model = AssetModel::new(plan.registration.kind, &mut rng, plan.aging, simulation.faults);
    let connection = {
        let (client, id, simulation, stats) = (client.clone(), id.clone(), simulation.clone(), stats.clone());
        tokio::spawn(async move {
            let mut backoff = Backoff::default();
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        backoff.reset();
                        stats.connections.fetch_add(1, Ordering::Relaxed);
                        let (client, id) = (client.clone(), id.clone());
                        tokio::spawn(async move {
                            let online = json!({ "status": "online", "ts": now_ms() }).to_string();
                            let _ = client.subscribe(commands_topic(&id), QoS::AtLeastOnce).await;
                            let _ = client.publish(status_topic(&id), QoS::AtLeastOnce, false, online).await;
                        });
                    }
                    Ok(Event::Incoming(Packet::Publish(publish))) => {
                        let (client, id, simulation, stats) =
                            (client.clone(), id.clone(), simulation.clone(), stats.clone());
                        tokio::spawn(answer(client, id, publish.payload.to_vec(), simulation, stats));
                    }
                    Ok(_) => {}
                    Err(error) => {
                        let delay = backoff.next_delay();
                        tracing::debug!(%error, "simulated device reconnecting");
                        tokio::time::sleep(delay).await;
                    }
                }
            }
        })
    };
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / simulation.rate_hz));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let topic = telemetry_topic(&id);
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                let ts = now_ms();
                let values: BTreeMap<&str, f64> = model.sample(ts, &mut rng).into_iter().collect();
                let payload = json!({ "ts": ts, "values": values }).to_string();
                if client.publish(topic.clone(), QoS::AtLeastOnce, false, payload).await.is_ok() {
                    stats.telemetry.fetch_add(1, Ordering::Relaxed);
                }
            }
            _ = stop.changed() => break,
        }
    }
    let offline = json!({ "status": "offline", "reason": "simulation stopped", "ts": now_ms() }).to_string();
    let _ = client.publish(status_topic(&id), QoS::AtLeastOnce, false, offline).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ = client.disconnect().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    connection.abort();
}

/// Answers one command: accepted, progress (firmware updates), then the outcome.
async fn answer(
    client: AsyncClient,
    id: DeviceId,
    payload: Vec<u8>,
    simulation: Arc<Simulation>,
    stats: Arc<SimulationStats>,
) {
    let Ok(command) = serde_json::from_slice::<DownlinkCommand>(&payload) else {
        tracing::warn!(device = %id, "simulated device got an unreadable command");
        return;
    };
    let Ok(command_id) = CommandId::new(command.command_id) else { return };
    let topic = command_response_topic(&id, &command_id);
    let respond = |body: serde_json::Value| client.publish(topic.clone(), QoS::AtLeastOnce, false, body.to_string());
    let _ = respond(json!({ "status": "accepted" })).await;
    if command.name == "firmware_update" {
        for progress in [20, 40, 60, 80, 100] {
            tokio::time::sleep(simulation.firmware_step).await;
            let _ = respond(json!({ "status": "in_progress", "progress": progress })).await;
        }
    }
    let failed = fastrand::f64() < simulation.command_failure_rate;
    let outcome = if failed {
        json!({ "status": "failed", "detail": format!("{} failed: flash verification error", command.name) })
    } else {
        let detail = match command.params.get("version").and_then(|v| v.as_str()) {
            Some(version) => format!("firmware {version} installed"),
            None => format!("{} done", command.name),
        };
        json!({ "status": "succeeded", "detail": detail })
    };
    if respond(outcome).await.is_ok() {
        stats.commands_answered.fetch_add(1, Ordering::Relaxed);
    }
}
