//! One reader of the log for every live client: each new event is read, decoded and written as a
//! server-sent event once, then handed to every subscriber through one bounded buffer. The
//! publisher never waits for a client: a client that falls behind by more than the buffer (a slow
//! network, a paused tab) leaves the shared feed and reads the log itself until it has caught up,
//! so neither the log nor the other clients ever wait for it, and it misses nothing. Dashboards
//! may instead follow summaries of the log at a bounded rate ([`ActivitySummary`]).

use super::live_summary::{ActivitySummary, SUMMARY_IDLE, SUMMARY_PERIOD};
use crate::audit::export::ExportedEvent;
use crate::store::{EventLog, GlobalPosition, LogSubscription, RecordedEvent, StoreError};
use actix_web::web::Bytes;
use futures_util::Stream;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::watch;

/// Events a live client may be behind the shared feed before it reads the log itself.
pub const CLIENT_BUFFER: usize = 4_096;

/// Events read from the log at a time.
const READ_BATCH: usize = 256;

/// How long a client may go without a byte: then it gets an SSE comment, so a client that went
/// away is noticed (the write fails) even when no event comes.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The SSE comment sent to an idle client.
const KEEP_ALIVE_FRAME: &[u8] = b": keep-alive\n\n";

/// One event, encoded once for every client.
#[derive(Debug)]
pub struct LiveEvent {
    /// Its global position (the SSE id).
    pub position: GlobalPosition,
    /// Its stream, such as `device/inv-1`.
    pub stream: String,
    /// The server-sent event: `id`, `event` (its type) and `data` (its export line).
    pub frame: Bytes,
}

impl LiveEvent {
    /// Encodes `record` as a server-sent event.
    pub fn encode(record: &RecordedEvent) -> Self {
        let data = serde_json::to_string(&ExportedEvent::from_record(record)).unwrap_or_default();
        let frame = format!("id: {}\nevent: {}\ndata: {data}\n\n", record.position, record.event_type);
        Self { position: record.position, stream: record.stream.clone(), frame: Bytes::from(frame) }
    }
}

/// Which events a client asked for: some stream kinds, one stream, or everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamFilter {
    /// Only streams of these kinds (`device`, `edge`, `campaign`, `telemetry`); all when empty.
    pub kinds: Vec<String>,
    /// Only this stream (`device/inv-1`).
    pub stream: Option<String>,
}

impl StreamFilter {
    /// Whether an event of `stream` passes.
    pub fn admits(&self, stream: &str) -> bool {
        let kind = stream.split_once('/').map_or(stream, |(kind, _)| kind);
        (self.kinds.is_empty() || self.kinds.iter().any(|k| k == kind))
            && self.stream.as_deref().is_none_or(|only| only == stream)
    }
}

/// Summaries a summary client may be behind before it skips to the newest.
const SUMMARY_BUFFER: usize = 8;

/// The shared live feed of the log.
pub struct LiveFeed {
    sender: broadcast::Sender<Arc<LiveEvent>>,
    summaries: broadcast::Sender<Bytes>,
    log: Arc<dyn EventLog>,
    closing: watch::Sender<bool>,
}

impl LiveFeed {
    /// Starts following `log` from its head. Must run inside a tokio runtime.
    pub fn start(log: Arc<dyn EventLog>) -> Self {
        let (sender, _) = broadcast::channel(CLIENT_BUFFER);
        let (summaries, _) = broadcast::channel(SUMMARY_BUFFER);
        let head = log.head().position;
        let period = Arc::new(Mutex::new(ActivitySummary::at(head)));
        let subscription = LogSubscription::new(log.clone(), head + 1);
        tokio::spawn(publish(subscription, sender.clone(), summaries.clone(), period.clone()));
        tokio::spawn(summarise(period, summaries.clone()));
        Self { sender, summaries, log, closing: watch::Sender::new(false) }
    }

    /// Ends every client's stream (at shutdown, so the HTTP server need not wait for them).
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// How many live clients are subscribed, to events or to summaries.
    pub fn clients(&self) -> usize {
        self.sender.receiver_count() + self.summaries.receiver_count()
    }

    /// Summaries of the log as server-sent events: one at once with the log's head, then at most
    /// one per [`SUMMARY_PERIOD`] while the log grows, and an empty one at the head after
    /// [`SUMMARY_IDLE`] without any, so a client notices a dead connection. A client that falls
    /// behind skips to the newest summary. Ends when the feed is closed. A summary covers its
    /// whole period, so a client that joins during one may find events from before its first
    /// head in its first summary; the positions of `recent` tell them apart.
    pub fn summary_client(&self) -> impl Stream<Item = Result<Bytes, actix_web::Error>> + use<> {
        let first = ActivitySummary::at(self.log.head().position).frame();
        let state = (Some(first), self.summaries.subscribe(), self.closing.subscribe(), self.log.clone());
        futures_util::stream::unfold(state, |(first, mut live, mut closing, log)| async move {
            if let Some(frame) = first {
                return Some((Ok(frame), (None, live, closing, log)));
            }
            loop {
                if *closing.borrow() {
                    return None;
                }
                let frame = tokio::select! {
                    received = live.recv() => match received {
                        Ok(frame) => frame,
                        Err(RecvError::Lagged(_)) => continue,
                        Err(RecvError::Closed) => return None,
                    },
                    _ = closing.changed() => return None,
                    () = tokio::time::sleep(SUMMARY_IDLE) => ActivitySummary::at(log.head().position).frame(),
                };
                return Some((Ok(frame), (None, live, closing, log)));
            }
        })
    }

    /// The events of `filter` from position `from` on, as server-sent events: read from the log
    /// up to its head, then live from the shared feed (and from the log again whenever the client
    /// falls more than [`CLIENT_BUFFER`] events behind), with a keep-alive comment when idle.
    /// Ends when the feed is closed or the log cannot be read.
    pub fn client(
        &self,
        from: GlobalPosition,
        filter: StreamFilter,
    ) -> impl Stream<Item = Result<Bytes, actix_web::Error>> + use<> {
        let client = Client {
            live: self.sender.subscribe(),
            log: self.log.clone(),
            closing: self.closing.subscribe(),
            next: from.max(1),
            caught_up: false,
            filter,
        };
        futures_util::stream::unfold(client, |mut client| async move {
            match client.next_chunk().await {
                Ok(Some(chunk)) => Some((Ok(chunk), client)),
                Ok(None) => None,
                Err(error) => {
                    tracing::warn!(%error, "a live client's stream ends: the log cannot be read");
                    None
                }
            }
        })
    }
}

/// One client's position in the log and its share of the feed.
struct Client {
    live: broadcast::Receiver<Arc<LiveEvent>>,
    log: Arc<dyn EventLog>,
    closing: watch::Receiver<bool>,
    next: GlobalPosition,
    /// Whether everything before `next` up to the log's head was sent: then only the shared feed
    /// is read, never the log.
    caught_up: bool,
    filter: StreamFilter,
}

impl Client {
    /// The next bytes to send (possibly empty when nothing passed the filter), or `None` when the
    /// stream ends.
    async fn next_chunk(&mut self) -> Result<Option<Bytes>, StoreError> {
        if !self.caught_up {
            let behind = self.log.read_all(self.next, READ_BATCH)?;
            if !behind.is_empty() {
                return Ok(Some(self.frames_of(&behind)));
            }
            self.caught_up = true;
        }
        loop {
            if *self.closing.borrow() {
                return Ok(None);
            }
            let received = tokio::select! {
                received = self.live.recv() => received,
                _ = self.closing.changed() => return Ok(None),
                () = tokio::time::sleep(KEEP_ALIVE) => return Ok(Some(Bytes::from_static(KEEP_ALIVE_FRAME))),
            };
            let event = match received {
                Ok(event) => event,
                Err(RecvError::Lagged(missed)) => {
                    tracing::debug!(missed, "a live client fell behind the shared feed; it reads the log");
                    self.caught_up = false;
                    let behind = self.log.read_all(self.next, READ_BATCH)?;
                    return Ok(Some(self.frames_of(&behind)));
                }
                Err(RecvError::Closed) => return Ok(None),
            };
            if event.position < self.next {
                continue;
            }
            if event.position > self.next {
                self.caught_up = false;
                let gap = self.log.read_all(self.next, READ_BATCH)?;
                return Ok(Some(self.frames_of(&gap)));
            }
            self.next = event.position + 1;
            if self.filter.admits(&event.stream) {
                return Ok(Some(event.frame.clone()));
            }
        }
    }

    /// Encodes events read from the log for this client alone (catching up, or filling a gap).
    fn frames_of(&mut self, records: &[RecordedEvent]) -> Bytes {
        let mut chunk = Vec::new();
        for record in records {
            self.next = record.position + 1;
            if self.filter.admits(&record.stream) {
                chunk.extend_from_slice(&LiveEvent::encode(record).frame);
            }
        }
        Bytes::from(chunk)
    }
}

#[tracing::instrument(name = "live_feed", skip_all)]
async fn publish(
    mut subscription: LogSubscription,
    sender: broadcast::Sender<Arc<LiveEvent>>,
    summaries: broadcast::Sender<Bytes>,
    period: Arc<Mutex<ActivitySummary>>,
) {
    loop {
        let events = match subscription.next_batch(READ_BATCH).await {
            Ok(events) if events.is_empty() => return,
            Ok(events) => events,
            Err(error) => {
                tracing::error!(%error, "the live feed cannot read the log; live clients catch up from it instead");
                return;
            }
        };
        if summaries.receiver_count() > 0 {
            period.lock().unwrap_or_else(std::sync::PoisonError::into_inner).add(&events);
        }
        if sender.receiver_count() == 0 {
            continue;
        }
        for record in &events {
            let _ = sender.send(Arc::new(LiveEvent::encode(record)));
        }
    }
}

/// Every [`SUMMARY_PERIOD`], sends what the period gathered (when anything happened) to the
/// summary clients, encoded once for all of them.
#[tracing::instrument(name = "live_summaries", skip_all)]
async fn summarise(period: Arc<Mutex<ActivitySummary>>, summaries: broadcast::Sender<Bytes>) {
    let mut ticks = tokio::time::interval(SUMMARY_PERIOD);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let finished = {
            let mut open = period.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let head = open.head;
            std::mem::replace(&mut *open, ActivitySummary::at(head))
        };
        if !finished.is_empty() {
            let _ = summaries.send(finished.frame());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{EventMetadata, ExpectedVersion, NewEvent, SledEventLog, StreamName};
    use futures_util::StreamExt;

    fn positions_in(chunk: &[u8]) -> Vec<u64> {
        String::from_utf8_lossy(chunk)
            .lines()
            .filter_map(|line| line.strip_prefix("id: "))
            .map(|id| id.parse().expect("numeric id"))
            .collect()
    }

    #[tokio::test]
    async fn a_client_far_behind_the_shared_feed_reads_the_log_and_misses_nothing_of_its_kinds() {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = Arc::new(SledEventLog::open(dir.path()).expect("opens"));
        let feed = LiveFeed::start(log.clone());
        let devices = StreamFilter { kinds: vec!["device".to_owned()], stream: None };
        let mut client = Box::pin(feed.client(1, devices));
        let mut early = Box::pin(feed.client(1, StreamFilter::default()));
        let events = CLIENT_BUFFER as u64 + 500;
        let mut device_positions = Vec::new();
        let mut all = Vec::new();
        for n in 0..events {
            let kind = if n % 5 == 0 { "telemetry" } else { "device" };
            let stream = StreamName::new(kind, &format!("x-{}", n % 7)).expect("stream");
            let event = NewEvent {
                event_id: uuid::Uuid::new_v4(),
                event_type: "test.happened".to_owned(),
                schema_version: 1,
                payload: vec![1, 2, 3],
                metadata: EventMetadata::default(),
            };
            let outcome = log.append(stream, ExpectedVersion::Any, vec![event]).await.expect("appends");
            if kind == "device" {
                device_positions.extend(outcome.positions);
            }
            if n == 10 {
                let first = early.next().await.expect("a chunk").expect("bytes");
                all.extend(positions_in(&first));
                assert!(!all.is_empty(), "the early client is under way");
            }
        }
        let mut seen = Vec::new();
        while seen.len() < device_positions.len() {
            let chunk = client.next().await.expect("the stream goes on").expect("bytes");
            seen.extend(positions_in(&chunk));
        }
        assert_eq!(seen, device_positions, "every device event once, in order, and nothing else");
        while all.len() < events as usize {
            let chunk = early.next().await.expect("the stream goes on").expect("bytes");
            all.extend(positions_in(&chunk));
        }
        assert_eq!(all, (1..=events).collect::<Vec<u64>>(), "every event once, in order, to the head");
    }

    #[test]
    fn a_filter_admits_its_kinds_and_its_one_stream() {
        let everything = StreamFilter::default();
        assert!(everything.admits("telemetry/m-1"));
        let devices = StreamFilter { kinds: vec!["device".to_owned(), "edge".to_owned()], stream: None };
        assert!(devices.admits("device/m-1") && devices.admits("edge/e-1"));
        assert!(!devices.admits("telemetry/m-1"));
        let one = StreamFilter { kinds: Vec::new(), stream: Some("device/m-1".to_owned()) };
        assert!(one.admits("device/m-1") && !one.admits("device/m-2"));
    }
}
