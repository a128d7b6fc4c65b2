//! The ingest queue: protocol connections submit decoded messages, one worker runs them through
//! the [`IngestPipeline`] in rounds, and each submitter hears its message's outcome once the
//! round is durable. A protocol acknowledges a message only after that answer.
//!
//! The queue is bounded: when the store falls behind, submitters wait for room, so the
//! connections stop reading (back-pressure) instead of holding an unbounded backlog. A transient
//! failure (a busy actor) retries the same round with backoff; a storage failure stops the
//! worker, and from then on every message is answered with [`IngestStopped`], never acknowledged.

use super::backoff::Backoff;
use super::pipeline::{DecodedMessage, IngestPipeline, MessageOutcome};
use crate::worker_health::WorkerHealth;
use optibid_domain::time::Timestamp;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// Messages that may wait for the worker before submitters are held back.
const QUEUE_CAPACITY: usize = 16_384;

/// The ingest has stopped after a storage failure; the message was not stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the ingest stopped after a storage failure: {0}")]
pub struct IngestStopped(pub String);

/// How rounds are formed.
#[derive(Debug, Clone, Copy)]
pub struct RoundSettings {
    /// Most messages in one round.
    pub max_round: usize,
    /// How long a round keeps collecting after its first message, so a device's samples of that
    /// time become one event.
    pub window: Duration,
}

impl Default for RoundSettings {
    fn default() -> Self {
        Self { max_round: 4_096, window: Duration::ZERO }
    }
}

/// Counters of the ingest, read by `/metrics`.
#[derive(Debug)]
pub struct IngestStats {
    /// Messages submitted.
    pub received: AtomicU64,
    /// Messages answered as stored, duplicate or dead-lettered (all durable).
    pub acknowledged: AtomicU64,
    /// Messages that were redeliveries of stored ones.
    pub duplicates: AtomicU64,
    /// Messages sent to the dead letters.
    pub dead_lettered: AtomicU64,
    /// Telemetry events appended.
    pub telemetry_events: AtomicU64,
    /// Samples in those events.
    pub samples: AtomicU64,
    /// Rounds run.
    pub rounds: AtomicU64,
    /// Seconds from a message's arrival to its outcome being durable (what a device waits for
    /// its PUBACK), from 100 µs to about 3 s.
    pub durable_seconds: Histogram,
}

impl Default for IngestStats {
    fn default() -> Self {
        Self {
            received: AtomicU64::default(),
            acknowledged: AtomicU64::default(),
            duplicates: AtomicU64::default(),
            dead_lettered: AtomicU64::default(),
            telemetry_events: AtomicU64::default(),
            samples: AtomicU64::default(),
            rounds: AtomicU64::default(),
            durable_seconds: Histogram::new(exponential_buckets(0.000_1, 2.0, 16)),
        }
    }
}

/// The answer a submitter waits for.
pub type OutcomeReceiver = oneshot::Receiver<Result<MessageOutcome, IngestStopped>>;

/// One message and where its outcome goes.
struct Submission {
    message: DecodedMessage,
    arrived: tokio::time::Instant,
    reply: oneshot::Sender<Result<MessageOutcome, IngestStopped>>,
}

/// Where protocol connections submit messages. Cheap to clone.
#[derive(Clone)]
pub struct IngestQueue {
    sender: mpsc::Sender<Submission>,
    stats: Arc<IngestStats>,
    health: Arc<WorkerHealth>,
}

impl IngestQueue {
    /// Starts the worker over `pipeline`. It runs until every clone of the queue is dropped and
    /// the messages already submitted are answered.
    pub fn start(pipeline: IngestPipeline, settings: RoundSettings) -> (Self, JoinHandle<()>) {
        let (sender, inbox) = mpsc::channel(QUEUE_CAPACITY);
        let stats = Arc::new(IngestStats::default());
        let health = WorkerHealth::new("ingest");
        let worker = Worker { pipeline, inbox, settings, stats: stats.clone(), health: health.clone() };
        let task = tokio::spawn(worker.run());
        (Self { sender, stats, health }, task)
    }

    /// Submits `message`, waiting for room in the queue; the receiver hears its outcome once it
    /// is durable.
    pub async fn submit(&self, message: DecodedMessage) -> Result<OutcomeReceiver, IngestStopped> {
        let (reply, answer) = oneshot::channel();
        self.stats.received.fetch_add(1, Ordering::Relaxed);
        self.sender
            .send(Submission { message, arrived: tokio::time::Instant::now(), reply })
            .await
            .map_err(|_| self.stopped())?;
        Ok(answer)
    }

    /// Submits `message` and waits for its outcome.
    pub async fn process(&self, message: DecodedMessage) -> Result<MessageOutcome, IngestStopped> {
        let answer = self.submit(message).await?;
        answer.await.map_err(|_| self.stopped())?
    }

    /// The counters.
    pub fn stats(&self) -> &Arc<IngestStats> {
        &self.stats
    }

    /// The worker's health.
    pub fn health(&self) -> &Arc<WorkerHealth> {
        &self.health
    }

    fn stopped(&self) -> IngestStopped {
        IngestStopped(self.health.stop_reason().unwrap_or_else(|| "the ingest worker has ended".to_owned()))
    }
}

/// The worker that runs the rounds.
struct Worker {
    pipeline: IngestPipeline,
    inbox: mpsc::Receiver<Submission>,
    settings: RoundSettings,
    stats: Arc<IngestStats>,
    health: Arc<WorkerHealth>,
}

impl Worker {
    #[tracing::instrument(name = "ingest_worker", skip_all)]
    async fn run(mut self) {
        while let Some(first) = self.inbox.recv().await {
            let round = self.collect(first).await;
            if let Err(stopped) = self.run_round(round).await {
                self.refuse_all(stopped).await;
                return;
            }
        }
    }

    /// The first message and whatever else arrives within the window, up to the round limit.
    async fn collect(&mut self, first: Submission) -> Vec<Submission> {
        let closes = tokio::time::Instant::now() + self.settings.window;
        let mut round = vec![first];
        while round.len() < self.settings.max_round.max(1) {
            match self.inbox.try_recv() {
                Ok(submission) => round.push(submission),
                Err(_) if self.settings.window.is_zero() => break,
                Err(_) => match tokio::time::timeout_at(closes, self.inbox.recv()).await {
                    Ok(Some(submission)) => round.push(submission),
                    Ok(None) | Err(_) => break,
                },
            }
        }
        round
    }

    /// Runs one round until it succeeds, retrying transient failures; a storage failure stops
    /// the worker.
    async fn run_round(&mut self, round: Vec<Submission>) -> Result<(), IngestStopped> {
        let arrivals: Vec<tokio::time::Instant> = round.iter().map(|s| s.arrived).collect();
        let (messages, replies): (Vec<DecodedMessage>, Vec<_>) =
            round.into_iter().map(|s| (s.message, s.reply)).unzip();
        let mut backoff = Backoff::new(Duration::from_millis(20), Duration::from_secs(2));
        loop {
            let now = Timestamp(chrono::Utc::now().timestamp_millis());
            match self.pipeline.process(&messages, now).await {
                Ok(report) => {
                    let stats = &self.stats;
                    stats.rounds.fetch_add(1, Ordering::Relaxed);
                    stats.acknowledged.fetch_add(messages.len() as u64, Ordering::Relaxed);
                    stats.dead_lettered.fetch_add(report.dead_letters as u64, Ordering::Relaxed);
                    stats.telemetry_events.fetch_add(report.telemetry_events as u64, Ordering::Relaxed);
                    stats.samples.fetch_add(report.samples as u64, Ordering::Relaxed);
                    let duplicates = report.outcomes.iter().filter(|o| **o == MessageOutcome::Duplicate).count();
                    stats.duplicates.fetch_add(duplicates as u64, Ordering::Relaxed);
                    for arrived in arrivals {
                        stats.durable_seconds.observe(arrived.elapsed().as_secs_f64());
                    }
                    for (reply, outcome) in replies.into_iter().zip(report.outcomes) {
                        let _ = reply.send(Ok(outcome));
                    }
                    return Ok(());
                }
                Err(error) if error.is_transient() => {
                    self.health.retrying(&error);
                    tokio::time::sleep(backoff.next_delay()).await;
                }
                Err(error) => {
                    self.health.stopped_by(&error);
                    let stopped = IngestStopped(error.to_string());
                    for reply in replies {
                        let _ = reply.send(Err(stopped.clone()));
                    }
                    return Err(stopped);
                }
            }
        }
    }

    /// After a storage failure: answers every later message with the failure.
    async fn refuse_all(&mut self, stopped: IngestStopped) {
        while let Some(submission) = self.inbox.recv().await {
            let _ = submission.reply.send(Err(stopped.clone()));
        }
    }
}
