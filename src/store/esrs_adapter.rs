//! The platform's aggregates and log behind `esrs`'s traits.
//!
//! [`EsrsAggregate`] implements `esrs::Aggregate` over any domain aggregate, and [`EsrsSledStore`]
//! implements `esrs::store::EventStore` over the sled log, so esrs's `AggregateManager` runs the
//! same rules on the same log; with esrs's `postgres` feature the same aggregates also run on
//! its PostgreSQL store. esrs names instances by UUID: the UUID of an instance is the UUID v5 of
//! its stream name (`device/iot-001`), and the external id stays in the registration event.

use super::error::StoreError;
use super::event_log::{EventLog, ExpectedVersion};
use super::record::{EventMetadata, RecordedEvent};
use super::stream_name::StreamName;
use crate::aggregates::{event_ids, StoredAggregate};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use esrs::store::{EventStore, EventStoreLockGuard, StoreEvent, UnlockOnDrop};
use esrs::AggregateState;
use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};
use uuid::Uuid;

/// A domain aggregate seen through `esrs::Aggregate`.
pub struct EsrsAggregate<A>(PhantomData<fn() -> A>);

impl<A: StoredAggregate> esrs::Aggregate for EsrsAggregate<A> {
    const NAME: &'static str = A::NAME;
    type State = A::State;
    type Command = A::Command;
    type Event = A::Event;
    type Error = A::Error;

    fn handle_command(state: &A::State, command: A::Command) -> Result<Vec<A::Event>, A::Error> {
        A::decide(state, command)
    }

    fn apply_event(state: A::State, event: A::Event) -> A::State {
        A::evolve(state, event)
    }
}

/// Errors of the esrs adapter.
#[derive(Debug, thiserror::Error)]
pub enum EsrsAdapterError {
    /// The log failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// esrs asked for an instance whose events do not name it.
    #[error("cannot tell which {kind} instance aggregate {uuid} is: its events do not carry its external id")]
    UnknownInstance {
        /// Aggregate kind.
        kind: &'static str,
        /// The UUID esrs used.
        uuid: Uuid,
    },
    /// The UUID esrs used is not the one derived from the instance's stream name.
    #[error("aggregate id {given} does not match {stream}, whose id is {derived}")]
    IdMismatch {
        /// The UUID esrs used.
        given: Uuid,
        /// The stream.
        stream: String,
        /// The UUID derived from it.
        derived: Uuid,
    },
    /// The log is append-only.
    #[error("the event log is append-only: aggregates cannot be deleted")]
    AppendOnly,
    /// A sequence number does not fit esrs's `i32`.
    #[error("stream version {0} exceeds esrs's sequence number range")]
    SequenceOverflow(u64),
}

/// Instance locks kept before the unused ones are forgotten.
const LOCKS_BEFORE_PRUNING: usize = 1_024;

/// esrs's `EventStore` over the platform's log.
pub struct EsrsSledStore<A> {
    log: Arc<dyn EventLog>,
    principal: String,
    locks: Mutex<HashMap<Uuid, Arc<tokio::sync::Mutex<()>>>>,
    aggregate: PhantomData<fn() -> A>,
}

impl<A: StoredAggregate> EsrsSledStore<A> {
    /// Uses `log`, recording `principal` as the author of appended events.
    pub fn new(log: Arc<dyn EventLog>, principal: impl Into<String>) -> Self {
        Self { log, principal: principal.into(), locks: Mutex::new(HashMap::new()), aggregate: PhantomData }
    }

    /// The esrs aggregate id of instance `id`.
    pub fn aggregate_id(id: &str) -> Result<Uuid, super::StreamNameError> {
        Ok(A::stream(id)?.uuid())
    }

    fn to_store_event(&self, uuid: Uuid, record: &RecordedEvent) -> Result<StoreEvent<A::Event>, EsrsAdapterError> {
        let sequence_number =
            i32::try_from(record.version).map_err(|_| EsrsAdapterError::SequenceOverflow(record.version))?;
        Ok(StoreEvent {
            id: record.event_id,
            aggregate_id: uuid,
            payload: A::decode(record)?,
            occurred_on: DateTime::<Utc>::from_timestamp_millis(record.recorded_at).unwrap_or_default(),
            sequence_number,
            version: Some(i32::from(record.schema_version)),
        })
    }
}

/// Holds an instance's lock until esrs drops the guard.
struct HeldLock {
    _guard: tokio::sync::OwnedMutexGuard<()>,
}

impl UnlockOnDrop for HeldLock {}

#[async_trait]
impl<A: StoredAggregate> EventStore for EsrsSledStore<A> {
    type Aggregate = EsrsAggregate<A>;
    type Error = EsrsAdapterError;

    async fn lock(&self, aggregate_id: Uuid) -> Result<EventStoreLockGuard, EsrsAdapterError> {
        let mutex = {
            let mut locks = self.locks.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if locks.len() >= LOCKS_BEFORE_PRUNING {
                // An entry only the map holds is neither held nor awaited: forget it.
                locks.retain(|_, lock| Arc::strong_count(lock) > 1);
            }
            locks.entry(aggregate_id).or_default().clone()
        };
        Ok(EventStoreLockGuard::new(HeldLock { _guard: mutex.lock_owned().await }))
    }

    async fn by_aggregate_id(&self, aggregate_id: Uuid) -> Result<Vec<StoreEvent<A::Event>>, EsrsAdapterError> {
        let Some(stream) = self.log.stream_by_uuid(&aggregate_id)? else {
            return Ok(Vec::new());
        };
        self.log.read_stream(&stream, 1)?.iter().map(|record| self.to_store_event(aggregate_id, record)).collect()
    }

    async fn persist(
        &self,
        aggregate_state: &mut AggregateState<A::State>,
        events: Vec<A::Event>,
    ) -> Result<Vec<StoreEvent<A::Event>>, EsrsAdapterError> {
        let uuid = *aggregate_state.id();
        let stream = match self.log.stream_by_uuid(&uuid)? {
            Some(stream) => stream,
            None => {
                let after = A::fold(aggregate_state.inner().clone(), events.iter().cloned());
                let id = A::instance_id(&after).ok_or(EsrsAdapterError::UnknownInstance { kind: A::NAME, uuid })?;
                let stream = StreamName::new(A::NAME, id).map_err(|e| StoreError::Encode(e.to_string()))?;
                if stream.uuid() != uuid {
                    return Err(EsrsAdapterError::IdMismatch {
                        given: uuid,
                        stream: stream.to_string(),
                        derived: stream.uuid(),
                    });
                }
                stream
            }
        };
        let expected = u64::try_from(*aggregate_state.sequence_number()).unwrap_or(0);
        let metadata = EventMetadata { principal: self.principal.clone(), ..EventMetadata::default() };
        let new_events = events
            .iter()
            .zip(event_ids(&stream, None, events.len()))
            .map(|(event, id)| A::to_new_event(event, id, metadata.clone()))
            .collect::<Result<Vec<_>, _>>()?;
        let appended = self.log.append(stream.clone(), ExpectedVersion::Exact(expected), new_events).await?;
        for _ in &events {
            aggregate_state.next_sequence_number();
        }
        // Only this append's events: others may have been appended after them meanwhile.
        self.log
            .read_stream(&stream, expected + 1)?
            .iter()
            .take_while(|record| record.version <= appended.version)
            .map(|record| self.to_store_event(uuid, record))
            .collect()
    }

    /// Nothing to publish: projections tail the global log instead of an esrs event bus.
    async fn publish(&self, _store_events: &[StoreEvent<A::Event>]) {}

    async fn delete(&self, _aggregate_id: Uuid) -> Result<(), EsrsAdapterError> {
        Err(EsrsAdapterError::AppendOnly)
    }
}

#[cfg(test)]
impl<A> EsrsSledStore<A> {
    /// Instance locks currently kept.
    pub(super) fn kept_locks(&self) -> usize {
        self.locks.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).len()
    }
}
