//! The writer's view of each stream it appends to: its head version, for expected-version
//! checks, and the ids of its last [`IDEMPOTENCY_WINDOW`] events, for retries.
//!
//! An event id appended again while it is among the stream's last [`IDEMPOTENCY_WINDOW`]
//! events is stored once (docs/decisions.md states the guarantee). The view of a stream is
//! loaded from the [`StreamIndex`] the first time the writer touches it and kept up to date by
//! every append; when the views hold more than a budget of ids, whole streams are dropped and
//! reloaded on their next append, so memory stays bounded whatever the fleet's size.

use super::error::StoreError;
use super::index_chunk::IndexEntry;
use super::record::{GlobalPosition, StreamVersion};
use super::stream_index::StreamIndex;
use std::collections::{HashMap, VecDeque};
use uuid::Uuid;

/// How many of a stream's last events a retried event id is found among.
pub const IDEMPOTENCY_WINDOW: usize = 1_000;

/// Most event ids the views hold before streams are dropped.
const ID_BUDGET: usize = 2_000_000;

/// Most streams the views hold before streams are dropped.
const STREAM_BUDGET: usize = 250_000;

/// One stream as the writer sees it.
#[derive(Debug, Default)]
struct StreamView {
    version: StreamVersion,
    recent: VecDeque<IndexEntry>,
}

/// Head versions and recent event ids of the streams the writer appends to.
#[derive(Debug, Default)]
pub struct IdempotencyWindows {
    streams: HashMap<String, StreamView>,
    ids: usize,
}

impl IdempotencyWindows {
    /// The stream's head version (durable or not).
    pub fn version(&mut self, stream: &str, index: &StreamIndex) -> Result<StreamVersion, StoreError> {
        Ok(self.view(stream, index)?.version)
    }

    /// Where the event with `event_id` is stored, if it is among the stream's last
    /// [`IDEMPOTENCY_WINDOW`] events.
    pub fn position_of(
        &mut self,
        stream: &str,
        event_id: &Uuid,
        index: &StreamIndex,
    ) -> Result<Option<GlobalPosition>, StoreError> {
        let view = self.view(stream, index)?;
        Ok(view.recent.iter().rev().find(|entry| entry.event_id == *event_id).map(|entry| entry.position))
    }

    /// Records an event just staged at `version` of `stream`.
    pub fn remember(&mut self, stream: &str, version: StreamVersion, entry: IndexEntry) {
        let Some(view) = self.streams.get_mut(stream) else { return };
        view.version = version;
        view.recent.push_back(entry);
        self.ids += 1;
        if view.recent.len() > IDEMPOTENCY_WINDOW {
            view.recent.pop_front();
            self.ids -= 1;
        }
    }

    /// Drops views while over budget. Called between groups only: a view dropped while a group
    /// is staged would reload without that group's events.
    pub fn trim(&mut self) {
        if self.ids <= ID_BUDGET && self.streams.len() <= STREAM_BUDGET {
            return;
        }
        let mut ids = self.ids;
        let mut streams = self.streams.len();
        self.streams.retain(|_, view| {
            let keep = ids <= ID_BUDGET * 3 / 4 && streams <= STREAM_BUDGET * 3 / 4;
            if !keep {
                ids -= view.recent.len();
                streams -= 1;
            }
            keep
        });
        tracing::debug!(streams, ids, "idempotency windows trimmed");
        self.ids = ids;
    }

    fn view(&mut self, stream: &str, index: &StreamIndex) -> Result<&StreamView, StoreError> {
        if !self.streams.contains_key(stream) {
            let recent = index.recent(stream, IDEMPOTENCY_WINDOW)?;
            let version = recent.last().map_or(0, |(version, _)| *version);
            self.ids += recent.len();
            let recent = recent.into_iter().map(|(_, entry)| entry).collect();
            self.streams.insert(stream.to_owned(), StreamView { version, recent });
        }
        self.streams.get(stream).ok_or_else(|| StoreError::WriterStopped("a stream view vanished".to_owned()))
    }
}
