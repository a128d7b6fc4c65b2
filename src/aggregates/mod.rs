//! How domain aggregates are stored: stream names, event encoding, event ids.
//!
//! Every aggregate of the domain crate that meets [`StoredAggregate`]'s bounds gets it for free:
//! its events are postcard payloads tagged with the aggregate's event schema version, in streams
//! named `{NAME}/{id}`.

pub mod upcast;

use crate::store::codec::encode_payload;
use crate::store::{EventMetadata, NewEvent, RecordedEvent, StoreError, StreamName, StreamNameError};
use optibid_domain::{Aggregate, EventName};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt::Debug;
use uuid::Uuid;

/// An aggregate whose state, events and commands can be stored and moved between tasks.
pub trait StoredAggregate:
    Aggregate<
        State: Serialize + DeserializeOwned + Debug + Send + Sync + 'static,
        Event: Serialize + DeserializeOwned + Debug + Send + Sync + 'static,
        Command: Clone + Debug + Send + 'static,
        Error: Send + Sync + 'static,
    > + upcast::Upcast
    + Send
    + Sync
    + 'static
{
    /// The stream of the instance `id`.
    fn stream(id: &str) -> Result<StreamName, StreamNameError> {
        StreamName::new(Self::NAME, id)
    }

    /// Encodes `event` for appending, with the given id and metadata.
    fn to_new_event(event: &Self::Event, event_id: Uuid, metadata: EventMetadata) -> Result<NewEvent, StoreError> {
        Ok(NewEvent {
            event_id,
            event_type: event.event_name().to_owned(),
            schema_version: Self::EVENT_SCHEMA_VERSION,
            payload: encode_payload(event)?,
            metadata,
        })
    }

    /// Decodes a stored event of this aggregate, upcasting an older schema version.
    fn decode(record: &RecordedEvent) -> Result<Self::Event, StoreError> {
        let payload = record.payload.as_deref().ok_or(StoreError::Pruned(record.position))?;
        let at = upcast::StoredAt {
            position: record.position,
            event_type: &record.event_type,
            schema_version: record.schema_version,
        };
        upcast::decode_event::<Self>(at, payload)
    }
}

impl<A> StoredAggregate for A
where
    A: Aggregate + upcast::Upcast + Send + Sync + 'static,
    A::State: Serialize + DeserializeOwned + Debug + Send + Sync + 'static,
    A::Event: Serialize + DeserializeOwned + Debug + Send + Sync + 'static,
    A::Command: Clone + Debug + Send + 'static,
    A::Error: Send + Sync + 'static,
{
}

/// Event ids for the events one command causes: derived from the command's idempotency key when
/// it has one (so a retried command maps to the same ids and is stored once), random otherwise.
pub fn event_ids(stream: &StreamName, idempotency_key: Option<&str>, count: usize) -> Vec<Uuid> {
    match idempotency_key {
        Some(key) => {
            (0..count).map(|index| Uuid::new_v5(&stream.uuid(), format!("{key}#{index}").as_bytes())).collect()
        }
        None => (0..count).map(|_| Uuid::new_v4()).collect(),
    }
}
