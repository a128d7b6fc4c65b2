//! Durability waits for writes made beside the log.
//!
//! Other stores keep their own sled trees in the log's database (device secrets, API tokens,
//! dead letters, idempotency records). sled 0.34 deadlocks when several threads flush at once
//! (its issues 1308 and 1412), so nothing but the store's flusher ever flushes. A component that
//! wrote something and must know it is on disk asks [`Durability::wait`]: the request travels
//! through the single writer as an empty group and is answered after the flusher's next flush,
//! the same group commit that makes appended events durable.

use super::error::StoreError;
use super::writer::WriterMessage;
use tokio::sync::{mpsc, oneshot};

/// A handle that waits until everything written to the log's database so far is on disk.
///
/// It does not keep the log open: once the log is closed, every wait fails.
#[derive(Clone)]
pub struct Durability {
    inbox: mpsc::WeakSender<WriterMessage>,
}

impl Durability {
    /// A handle over the writer's inbox.
    pub(super) fn new(inbox: &mpsc::Sender<WriterMessage>) -> Self {
        Self { inbox: inbox.downgrade() }
    }

    /// Returns once every write made to the database before this call is durable.
    pub async fn wait(&self) -> Result<(), StoreError> {
        let inbox = self.inbox.upgrade().ok_or_else(closed)?;
        let (reply, answer) = oneshot::channel();
        inbox.send(WriterMessage::Barrier { reply }).await.map_err(|_| closed())?;
        drop(inbox);
        answer.await.map_err(|_| closed())?
    }

    /// [`Durability::wait`] for synchronous code (command-line tools working on a stopped
    /// server's data folder). Blocks the calling thread; callable inside or outside a runtime.
    pub fn wait_blocking(&self) -> Result<(), StoreError> {
        std::thread::scope(|scope| {
            let waiting = scope.spawn(|| {
                let inbox = self.inbox.upgrade().ok_or_else(closed)?;
                let (reply, answer) = oneshot::channel();
                inbox.blocking_send(WriterMessage::Barrier { reply }).map_err(|_| closed())?;
                drop(inbox);
                answer.blocking_recv().map_err(|_| closed())?
            });
            waiting.join().unwrap_or_else(|_| Err(closed()))
        })
    }
}

fn closed() -> StoreError {
    StoreError::WriterStopped("the event log is closed".to_owned())
}
