//! Downlink: commands issued to devices (from the API or a campaign) are published to each
//! device's commands topic, and commands with no final answer by their deadline are timed out.
//!
//! The downlink tails the global log from a checkpoint. The checkpoint and the set of commands
//! waiting for an answer are written together in one sled batch, so after a crash the downlink
//! resumes where it was: a command may be published twice (devices tell by `command_id`), never
//! zero times.

use super::backoff::Backoff;
use super::endpoint::MqttEndpoint;
use super::topic::commands_topic;
use crate::actors::{CommandMetadata, ExecuteError, Platform};
use crate::audit::any_event::DecodeStored;
use crate::log_follower::{follow_log, resume_position};
use crate::store::{EventLog, RecordedEvent};
use optibid_domain::device::{DeviceCommand, DeviceEvent};
use optibid_domain::ids::{CommandId, DeviceId};
use optibid_domain::time::Timestamp;
use optibid_domain::FleetEvent;
use rumqttc::{AsyncClient, QoS};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// Name of the sled tree of the downlink's checkpoint and waiting commands.
const DOWNLINK_TREE: &str = "downlink";
/// Prefix of the keys of commands waiting for an answer.
const PENDING_PREFIX: &[u8] = b"p/";
/// How often deadlines are checked.
const DEADLINE_SCAN: Duration = Duration::from_millis(250);

/// Counters of the downlink, read by `/metrics`.
#[derive(Debug, Default)]
pub struct DownlinkStats {
    /// Commands published to devices.
    pub published: AtomicU64,
    /// Commands timed out.
    pub timed_out: AtomicU64,
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

impl Downlink {
    /// Starts publishing commands through `endpoint` as `client_id` and timing them out.
    pub fn start(
        platform: Arc<Platform>,
        endpoint: &MqttEndpoint,
        client_id: &str,
        stats: Arc<DownlinkStats>,
    ) -> Result<Self, DownlinkError> {
        let tree = platform.log.database().open_tree(DOWNLINK_TREE)?;
        let from = resume_position(&tree)?;
        let (client, mut eventloop) = AsyncClient::new(endpoint.options(client_id), 1_024);
        let connection = tokio::spawn(async move {
            let mut backoff = Backoff::default();
            loop {
                match eventloop.poll().await {
                    Ok(rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(_))) => backoff.reset(),
                    Ok(_) => {}
                    Err(error) => {
                        let delay = backoff.next_delay();
                        tracing::warn!(%error, retry_in_ms = delay.as_millis() as u64, "MQTT downlink connection lost");
                        tokio::time::sleep(delay).await;
                    }
                }
            }
        });
        let publisher = tokio::spawn(publish_commands(platform.clone(), tree.clone(), client, from, stats.clone()));
        let deadlines = tokio::spawn(time_out_commands(platform, tree, stats));
        Ok(Self { tasks: vec![connection, publisher, deadlines] })
    }
}

fn pending_key(device: &DeviceId, command: &CommandId) -> Vec<u8> {
    [PENDING_PREFIX, device.as_str().as_bytes(), b"\0", command.as_str().as_bytes()].concat()
}

fn parse_pending_key(key: &[u8]) -> Option<(String, CommandId)> {
    let rest = key.strip_prefix(PENDING_PREFIX)?;
    let split = rest.iter().position(|b| *b == 0)?;
    let device = std::str::from_utf8(&rest[..split]).ok()?;
    let command = std::str::from_utf8(&rest[split + 1..]).ok()?;
    Some((device.to_owned(), CommandId::new(command).ok()?))
}

fn now() -> Timestamp {
    Timestamp(chrono::Utc::now().timestamp_millis())
}

#[tracing::instrument(name = "downlink.publish", skip_all, fields(from))]
async fn publish_commands(
    platform: Arc<Platform>,
    tree: sled::Tree,
    client: AsyncClient,
    from: u64,
    stats: Arc<DownlinkStats>,
) {
    let log: Arc<dyn EventLog> = platform.log.clone();
    follow_log(log, tree, from, 512, |records| {
        let (client, stats) = (client.clone(), stats.clone());
        async move {
            let mut batch = sled::Batch::default();
            for record in &records {
                if let Some((device, event)) = device_event(record) {
                    apply(&client, &mut batch, &device, event, &stats).await?;
                }
            }
            Ok::<_, rumqttc::ClientError>(batch)
        }
    })
    .await;
}

fn device_event(record: &RecordedEvent) -> Option<(DeviceId, DeviceEvent)> {
    let id = record.stream.strip_prefix("device/")?;
    if !matches!(
        record.event_type.as_str(),
        "device.command_issued" | "device.command_succeeded" | "device.command_failed" | "device.command_timed_out"
    ) {
        return None;
    }
    match FleetEvent::decode(record) {
        Ok(FleetEvent::Device(event)) => Some((DeviceId::new(id).ok()?, event)),
        Ok(_) => None,
        Err(error) => {
            tracing::warn!(%error, position = record.position, "the downlink skips an event it cannot decode");
            None
        }
    }
}

async fn apply(
    client: &AsyncClient,
    batch: &mut sled::Batch,
    device: &DeviceId,
    event: DeviceEvent,
    stats: &DownlinkStats,
) -> Result<(), rumqttc::ClientError> {
    match event {
        DeviceEvent::CommandIssued { command_id, name, params, deadline, .. } => {
            batch.insert(pending_key(device, &command_id), &deadline.0.to_be_bytes());
            if deadline <= now() {
                return Ok(());
            }
            let params: serde_json::Value = serde_json::from_str(&params).unwrap_or(serde_json::Value::Null);
            let body = serde_json::json!({ "command_id": command_id.as_str(), "name": name, "params": params });
            client.publish(commands_topic(device), QoS::AtLeastOnce, false, body.to_string()).await?;
            stats.published.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(%device, %command_id, "command published");
        }
        DeviceEvent::CommandSucceeded { command_id, .. }
        | DeviceEvent::CommandFailed { command_id, .. }
        | DeviceEvent::CommandTimedOut { command_id, .. } => batch.remove(pending_key(device, &command_id)),
        _ => {}
    }
    Ok(())
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
            match platform.devices.execute(&device, time_out, metadata).await {
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
