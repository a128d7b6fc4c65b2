//! Reads a connection's packets on a task of its own.
//!
//! The endpoint's `recv` is not cancel-safe: it asks the connection's event loop for the next
//! packet and awaits the answer, so a `recv` future dropped by a `select!` whose other branch won
//! loses the packet it had already taken. The reader awaits every `recv` to its end and hands
//! the packets over a small bounded channel, which `select!` may poll and drop freely. When the
//! session stops taking packets the channel fills, the reader stops reading, and TCP pushes back
//! on the client.

use mqtt_endpoint_tokio::mqtt_ep::{self, packet::Packet};
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The server side of one MQTT connection.
pub(super) type ServerEndpoint = mqtt_ep::Endpoint<mqtt_ep::role::Server>;

/// Packets read ahead of the session at most.
const READ_AHEAD: usize = 16;

/// What the reader hands over: boxed, because the channel allocates its slots in blocks and a
/// packet is large, and an idle connection should stay small.
type ReadPacket = Box<Result<Packet, mqtt_ep::ConnectionError>>;

/// The packets of one connection, read by their own task; the task stops when this is dropped.
pub(super) struct PacketReader {
    packets: mpsc::Receiver<ReadPacket>,
    task: JoinHandle<()>,
}

impl PacketReader {
    /// Starts reading `endpoint`.
    pub(super) fn start(endpoint: Arc<ServerEndpoint>) -> Self {
        let (sender, packets) = mpsc::channel(READ_AHEAD);
        let task = tokio::spawn(async move {
            loop {
                let packet = Box::new(endpoint.recv().await);
                let failed = packet.is_err();
                if sender.send(packet).await.is_err() || failed {
                    return;
                }
            }
        });
        Self { packets, task }
    }

    /// The next packet, or the error that ended the connection. Cancel-safe.
    pub(super) async fn next(&mut self) -> Result<Packet, mqtt_ep::ConnectionError> {
        self.packets.recv().await.map_or(Err(mqtt_ep::ConnectionError::ChannelClosed), |packet| *packet)
    }
}

impl Drop for PacketReader {
    fn drop(&mut self) {
        self.task.abort();
    }
}
