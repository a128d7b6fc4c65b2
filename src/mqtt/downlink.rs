//! Downlink: commands issued to devices (from the API or a campaign) reach them, each delivery
//! is recorded in the device's stream once acknowledged, and commands with no final answer by
//! their deadline are timed out.
//!
//! A command is an event in the log before anything is sent, and the device's state keeps it
//! undelivered until its delivery is acknowledged, so a restart between decision and delivery
//! loses nothing:
//! - on the platform's own endpoint, a device's session receives every undelivered command when
//!   it subscribes (or resumes its session), and new ones as they are issued; the device's
//!   PUBACK records the delivery;
//! - through an external broker, commands are published one at a time and the broker's PUBACK
//!   records the delivery; undelivered commands are published again at every start.
//!
//! The downlink tails the log from a checkpoint; the set of commands waiting for an answer (with
//! their deadlines) is written with the checkpoint in one sled batch.

use super::broker_address::BrokerAddress;
use super::command_payload::command_payload;
use super::device_endpoint::sessions::{CommandToDeliver, Sessions};
use super::topic::commands_topic;
use crate::actors::{CommandMetadata, ExecuteError, Platform};
use crate::events::decode_device_event;
use crate::ingest::backoff::Backoff;
use crate::log_follower::{follow_log, resume_position, StepError};
use crate::store::EventLog;
use crate::worker_health::WorkerHealth;
use optibid_domain::device::{DeviceCommand, DeviceEvent};
use optibid_domain::ids::{CommandId, DeviceId};
use optibid_domain::time::Timestamp;
use rumqttc::{AsyncClient, QoS};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Name of the sled tree of the downlink's checkpoint and waiting commands.
const DOWNLINK_TREE: &str = "downlink";
/// Prefix of the keys of commands waiting for an answer.
const PENDING_PREFIX: &[u8] = b"p/";
/// How often deadlines are checked.
const DEADLINE_SCAN: Duration = Duration::from_millis(250);
/// How long the downlink waits for an external broker's PUBACK before publishing again.
const BROKER_ACK_WAIT: Duration = Duration::from_secs(10);

/// Counters of the downlink, read by `/metrics`.
#[derive(Debug, Default)]
pub struct DownlinkStats {
    /// Commands handed to a session or published to the broker.
    pub published: AtomicU64,
    /// Commands timed out.
    pub timed_out: AtomicU64,
}

/// How commands reach devices.
pub enum CommandRoute {
    /// The platform's own endpoint: through each device's live session.
    Sessions(Arc<Sessions>),
    /// An external broker, as a client with this id.
    Broker(BrokerAddress, String),
}

/// Why the downlink could not start.
#[derive(Debug, thiserror::Error)]
pub enum DownlinkError {
    /// Its tree cannot be opened or read.
    #[error("downlink storage failed: {0}")]
    Storage(#[from] sled::Error),
    /// Its checkpoint cannot be read.
    #[error("downlink checkpoint unreadable: {0}")]
    Checkpoint(#[from] optibid_projections::ProjectionError),
}

/// The running downlink: its tasks stop when it is dropped.
pub struct Downlink {
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Downlink {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// One command for the broker publisher.
struct BrokerCommand {
    device: DeviceId,
    command: CommandToDeliver,
}

impl Downlink {
    /// Starts delivering commands along `route` and timing them out.
    pub fn start(
        platform: Arc<Platform>,
        route: CommandRoute,
        stats: Arc<DownlinkStats>,
        health: Arc<WorkerHealth>,
    ) -> Result<Self, DownlinkError> {
        let tree = platform.log.database().open_tree(DOWNLINK_TREE)?;
        let from = resume_position(&tree)?;
        let mut tasks = Vec::new();
        let deliver: Deliver = match route {
            CommandRoute::Sessions(sessions) => Deliver::Sessions(sessions),
            CommandRoute::Broker(broker, client_id) => {
                let (sender, queue) = mpsc::unbounded_channel();
                tasks.push(tokio::spawn(publish_to_broker(platform.clone(), broker, client_id, queue, stats.clone())));
                tasks.push(tokio::spawn(republish_undelivered(platform.clone(), tree.clone(), sender.clone())));
                Deliver::Broker(sender)
            }
        };
        tasks.push(tokio::spawn(follow_commands(platform.clone(), tree.clone(), from, deliver, stats.clone(), health)));
        tasks.push(tokio::spawn(time_out_commands(platform, tree, stats)));
        Ok(Self { tasks })
    }
}

/// Where the follower hands a newly issued command.
#[derive(Clone)]
enum Deliver {
    Sessions(Arc<Sessions>),
    Broker(mpsc::UnboundedSender<BrokerCommand>),
}

fn pending_key(device: &DeviceId, command: &CommandId) -> Vec<u8> {
    [PENDING_PREFIX, device.as_str().as_bytes(), b"\0", command.as_str().as_bytes()].concat()
}

fn parse_pending_key(key: &[u8]) -> Option<(DeviceId, CommandId)> {
    let rest = key.strip_prefix(PENDING_PREFIX)?;
    let split = rest.iter().position(|b| *b == 0)?;
    let device = std::str::from_utf8(&rest[..split]).ok()?;
    let command = std::str::from_utf8(&rest[split + 1..]).ok()?;
    Some((DeviceId::new(device).ok()?, CommandId::new(command).ok()?))
}

fn now() -> Timestamp {
    Timestamp(chrono::Utc::now().timestamp_millis())
}

#[tracing::instrument(name = "downlink.follow", skip_all, fields(from))]
async fn follow_commands(
    platform: Arc<Platform>,
    tree: sled::Tree,
    from: u64,
    deliver: Deliver,
    stats: Arc<DownlinkStats>,
    health: Arc<WorkerHealth>,
) {
    let log: Arc<dyn EventLog> = platform.log.clone();
    follow_log(log, tree, from, 512, health, |records| {
        let (deliver, stats) = (deliver.clone(), stats.clone());
        async move {
            let mut batch = sled::Batch::default();
            for record in &records {
                let Some((device, event)) = decode_device_event(record) else { continue };
                match event {
                    DeviceEvent::CommandIssued { command_id, name, params, deadline, .. } => {
                        batch.insert(pending_key(&device, &command_id), &deadline.0.to_be_bytes());
                        if deadline <= now() {
                            continue;
                        }
                        let command = CommandToDeliver {
                            payload: command_payload(&command_id, &name, &params),
                            command_id: command_id.clone(),
                        };
                        stats.published.fetch_add(1, Ordering::Relaxed);
                        match &deliver {
                            Deliver::Sessions(sessions) => {
                                if !sessions.deliver(&device, command) {
                                    tracing::debug!(%device, %command_id, "device not connected; the command waits");
                                }
                            }
                            Deliver::Broker(queue) => {
                                queue
                                    .send(BrokerCommand { device, command })
                                    .map_err(|_| StepError::Storage("the broker publisher is gone".to_owned()))?;
                            }
                        }
                    }
                    DeviceEvent::CommandSucceeded { command_id, .. }
                    | DeviceEvent::CommandFailed { command_id, .. }
                    | DeviceEvent::CommandTimedOut { command_id, .. } => {
                        batch.remove(pending_key(&device, &command_id))
                    }
                    _ => {}
                }
            }
            Ok(batch)
        }
    })
    .await;
}

/// At start (external broker): publishes again every waiting command the device state still
/// holds as undelivered.
async fn republish_undelivered(platform: Arc<Platform>, tree: sled::Tree, queue: mpsc::UnboundedSender<BrokerCommand>) {
    for entry in tree.scan_prefix(PENDING_PREFIX) {
        let Ok((key, _)) = entry else { continue };
        let Some((device, command_id)) = parse_pending_key(&key) else { continue };
        let Ok(instance) = platform.devices.state(device.as_str()).await else { continue };
        let undelivered = instance.state.undelivered_commands().find(|c| c.command_id == command_id).cloned();
        if let Some(record) = undelivered {
            let payload = command_payload(&record.command_id, &record.name, &record.params);
            let command = CommandToDeliver { command_id, payload };
            if queue.send(BrokerCommand { device, command }).is_err() {
                return;
            }
        }
    }
}

/// Publishes commands to an external broker one at a time, each after the previous one's
/// PUBACK, and records each delivery.
#[tracing::instrument(name = "downlink.broker", skip_all, fields(client_id = %client_id))]
async fn publish_to_broker(
    platform: Arc<Platform>,
    broker: BrokerAddress,
    client_id: String,
    mut queue: mpsc::UnboundedReceiver<BrokerCommand>,
    stats: Arc<DownlinkStats>,
) {
    let (client, mut eventloop) = AsyncClient::new(broker.options(&client_id), 64);
    let (acks, mut acked) = mpsc::unbounded_channel();
    let connection = tokio::spawn(async move {
        let mut backoff = Backoff::default();
        loop {
            match eventloop.poll().await {
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(_))) => backoff.reset(),
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::PubAck(ack))) => {
                    let _ = acks.send(ack.pkid);
                }
                Ok(_) => {}
                Err(error) => {
                    let delay = backoff.next_delay();
                    tracing::warn!(%error, retry_in_ms = delay.as_millis() as u64, "MQTT downlink connection lost");
                    tokio::time::sleep(delay).await;
                }
            }
        }
    });
    while let Some(BrokerCommand { device, command }) = queue.recv().await {
        let mut backoff = Backoff::default();
        loop {
            while acked.try_recv().is_ok() {}
            let topic = commands_topic(&device);
            if let Err(error) = client.publish(topic, QoS::AtLeastOnce, false, command.payload.clone()).await {
                tracing::warn!(%device, %error, "cannot queue a command publish");
                tokio::time::sleep(backoff.next_delay()).await;
                continue;
            }
            if let Ok(Some(_)) = tokio::time::timeout(BROKER_ACK_WAIT, acked.recv()).await {
                break;
            }
            tracing::warn!(%device, command_id = %command.command_id, "no PUBACK from the broker; publishing again");
        }
        stats.published.fetch_add(1, Ordering::Relaxed);
        let metadata = CommandMetadata { principal: "downlink".to_owned(), ..CommandMetadata::default() };
        let delivered = DeviceCommand::RecordCommandDelivery { command_id: command.command_id.clone(), at: now() };
        if let Err(error) = platform.devices.execute(device.as_str(), delivered, metadata).await {
            tracing::warn!(%device, command_id = %command.command_id, %error, "delivery not recorded");
        }
    }
    connection.abort();
}

#[tracing::instrument(name = "downlink.deadlines", skip_all)]
async fn time_out_commands(platform: Arc<Platform>, tree: sled::Tree, stats: Arc<DownlinkStats>) {
    let mut tick = tokio::time::interval(DEADLINE_SCAN);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let now = now();
        for entry in tree.scan_prefix(PENDING_PREFIX) {
            let Ok((key, value)) = entry else { continue };
            let deadline = value.as_ref().try_into().map_or(i64::MAX, i64::from_be_bytes);
            if deadline > now.0 {
                continue;
            }
            let Some((device, command)) = parse_pending_key(&key) else { continue };
            let metadata = CommandMetadata { principal: "downlink".to_owned(), ..CommandMetadata::default() };
            let time_out = DeviceCommand::TimeOutCommand { command_id: command.clone(), at: now };
            match platform.devices.execute(device.as_str(), time_out, metadata).await {
                Ok(_) => {
                    stats.timed_out.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(%device, %command, "command timed out");
                }
                Err(ExecuteError::Rejected(error)) => {
                    tracing::debug!(%device, %command, %error, "command already answered");
                    let _ = tree.remove(&key);
                }
                Err(error) => tracing::warn!(%device, %command, %error, "cannot time out a command; retrying"),
            }
        }
    }
}
