//! Summaries of the log at a bounded rate, for dashboards: what changed in the last period (how
//! many events of each stream kind, which streams, the newest events other than telemetry) in
//! one server-sent event, encoded once for every client. A dashboard that follows summaries costs
//! the platform one small write per period, however fast the log grows.

use crate::audit::export::ExportedEvent;
use crate::store::{GlobalPosition, RecordedEvent};
use actix_web::web::Bytes;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

/// How often a summary is sent at most.
pub const SUMMARY_PERIOD: Duration = Duration::from_secs(1);

/// How long a summary client waits without news before it gets an empty summary at the head: a
/// sign of life, so that a client whose connection died without a word notices and reconnects.
pub const SUMMARY_IDLE: Duration = Duration::from_secs(5);

/// The newest events (other than telemetry) a summary carries.
pub const RECENT_EVENTS: usize = 20;

/// The changed streams a summary names; past this it says only that more changed.
pub const CHANGED_STREAMS: usize = 256;

/// What changed in the log during one period, as a dashboard sees it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ActivitySummary {
    /// The log's head at the end of the period (the SSE id).
    pub head: GlobalPosition,
    /// Events appended during the period.
    pub events: u64,
    /// Those events by stream kind (`device`, `edge`, `campaign`, `telemetry`).
    pub by_kind: BTreeMap<String, u64>,
    /// The streams other than telemetry that changed, at most [`CHANGED_STREAMS`].
    pub changed: BTreeSet<String>,
    /// Whether more streams changed than `changed` names.
    pub changed_truncated: bool,
    /// The newest events other than telemetry, oldest first, at most [`RECENT_EVENTS`].
    pub recent: VecDeque<ExportedEvent>,
}

impl ActivitySummary {
    /// A summary of nothing, at `head` (the first event a client gets, so it knows the head).
    pub fn at(head: GlobalPosition) -> Self {
        Self { head, ..Self::default() }
    }

    /// Adds `records` (read from the log in order) to the period's summary.
    pub fn add(&mut self, records: &[RecordedEvent]) {
        for record in records {
            self.head = self.head.max(record.position);
            self.events += 1;
            let kind = record.stream.split_once('/').map_or(record.stream.as_str(), |(kind, _)| kind);
            *self.by_kind.entry(kind.to_owned()).or_default() += 1;
            if kind == "telemetry" {
                continue;
            }
            if self.changed.len() < CHANGED_STREAMS {
                self.changed.insert(record.stream.clone());
            } else if !self.changed.contains(&record.stream) {
                self.changed_truncated = true;
            }
            if self.recent.len() == RECENT_EVENTS {
                self.recent.pop_front();
            }
            self.recent.push_back(ExportedEvent::from_record(record));
        }
    }

    /// Whether anything happened in the period.
    pub fn is_empty(&self) -> bool {
        self.events == 0
    }

    /// The summary as one server-sent event of type `summary`.
    pub fn frame(&self) -> Bytes {
        let data = serde_json::to_string(self).unwrap_or_default();
        Bytes::from(format!("id: {}\nevent: summary\ndata: {data}\n\n", self.head))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{EventMetadata, RecordedEvent};

    fn record(position: u64, stream: &str) -> RecordedEvent {
        RecordedEvent {
            position,
            stream: stream.to_owned(),
            version: position,
            event_id: uuid::Uuid::new_v4(),
            event_type: "test.happened".to_owned(),
            schema_version: 1,
            recorded_at: 0,
            metadata: EventMetadata::default(),
            payload_hash: [0; 32],
            payload: Some(Vec::new()),
            prev_hash: [0; 32],
            hash: [0; 32],
        }
    }

    #[test]
    fn a_summary_counts_every_kind_and_keeps_only_the_newest_events_other_than_telemetry() {
        let mut summary = ActivitySummary::at(7);
        let records: Vec<RecordedEvent> =
            (8..=100).map(|n| record(n, if n % 2 == 0 { "telemetry/m-1" } else { "device/m-1" })).collect();
        summary.add(&records);
        assert_eq!(summary.head, 100);
        assert_eq!(summary.events, 93);
        assert_eq!(summary.by_kind["telemetry"], 47);
        assert_eq!(summary.by_kind["device"], 46);
        assert_eq!(summary.changed.iter().collect::<Vec<_>>(), ["device/m-1"]);
        let recent: Vec<u64> = summary.recent.iter().map(|event| event.position).collect();
        assert_eq!(recent, (61..=99).step_by(2).collect::<Vec<u64>>());
    }

    #[test]
    fn a_summary_names_a_bounded_number_of_changed_streams() {
        let mut summary = ActivitySummary::default();
        let records: Vec<RecordedEvent> =
            (1..=CHANGED_STREAMS as u64 + 10).map(|n| record(n, &format!("device/m-{n}"))).collect();
        summary.add(&records);
        assert_eq!(summary.changed.len(), CHANGED_STREAMS);
        assert!(summary.changed_truncated);
        assert!(
            String::from_utf8_lossy(&summary.frame()).starts_with(&format!("id: {}\nevent: summary\n", records.len()))
        );
    }
}
