//! One actor per aggregate instance: decide, persist, fold, reply.

use super::error::ExecuteError;
use super::rehydrate::{rehydrate, Loaded};
use crate::aggregates::{event_ids, StoredAggregate};
use crate::store::{
    AppendOutcome, EventLog, EventMetadata, ExpectedVersion, StoreError, StreamAppend, StreamName, StreamVersion,
};
use optibid_snapshots::{Snapshot, SnapshotPolicy, SnapshotStore};
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use std::marker::PhantomData;
use std::sync::Arc;
use tracing::{instrument, warn};
use uuid::Uuid;

/// How often a command is decided again after losing a version race to another writer.
const CONFLICT_RETRIES: usize = 3;

/// Who sends a command and in which context.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandMetadata {
    /// The user, token or device on whose behalf it runs.
    pub principal: String,
    /// The conversation it belongs to.
    pub correlation_id: Option<Uuid>,
    /// What directly caused it.
    pub causation_id: Option<Uuid>,
    /// A key that makes retries of the same command harmless.
    pub idempotency_key: Option<String>,
    /// The stream version the caller saw (HTTP `If-Match`); a different current version is
    /// refused with [`ExecuteError::VersionMismatch`].
    pub expected_version: Option<StreamVersion>,
}

/// The answer to an executed command.
#[derive(Debug, Clone)]
pub struct Executed<A: StoredAggregate> {
    /// The events the command caused (empty for a no-op or an already applied retry).
    pub events: Vec<A::Event>,
    /// The stream version after the command.
    pub version: StreamVersion,
    /// Whether it was a retry of a command already applied (nothing new was written).
    pub duplicate: bool,
}

/// The state of an instance as its actor holds it.
#[derive(Debug, Clone)]
pub struct InstanceState<A: StoredAggregate> {
    /// The state.
    pub state: A::State,
    /// Its stream version (0: no event yet).
    pub version: StreamVersion,
}

/// Messages an aggregate actor handles.
pub enum AggregateMessage<A: StoredAggregate> {
    /// Decide, persist, fold, reply.
    Execute {
        /// The command.
        command: A::Command,
        /// Events of other streams stored atomically with the command's own events.
        companions: Vec<StreamAppend>,
        /// Who and why.
        metadata: CommandMetadata,
        /// Where to answer.
        reply: RpcReplyPort<Result<Executed<A>, ExecuteError<A::Error>>>,
    },
    /// Reply with the current state.
    GetState {
        /// Where to answer.
        reply: RpcReplyPort<InstanceState<A>>,
    },
}

/// What an aggregate actor needs to start.
pub struct AggregateActorArgs {
    /// Its stream.
    pub stream: StreamName,
    /// The event log.
    pub log: Arc<dyn EventLog>,
    /// Snapshots.
    pub snapshots: SnapshotStore,
    /// When to snapshot.
    pub policy: SnapshotPolicy,
}

/// The running state of an aggregate actor.
pub struct AggregateActorState<A: StoredAggregate> {
    args: AggregateActorArgs,
    loaded: Loaded<A>,
}

/// The actor of one aggregate instance.
pub struct AggregateActor<A>(PhantomData<fn() -> A>);

impl<A> Default for AggregateActor<A> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

impl<A: StoredAggregate> Actor for AggregateActor<A> {
    type Msg = AggregateMessage<A>;
    type State = AggregateActorState<A>;
    type Arguments = AggregateActorArgs;

    #[instrument(name = "actor.start", skip_all, fields(stream = %args.stream))]
    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        args: AggregateActorArgs,
    ) -> Result<Self::State, ActorProcessingErr> {
        let loaded = rehydrate::<A>(args.log.as_ref(), &args.snapshots, &args.stream)?;
        Ok(AggregateActorState { args, loaded })
    }

    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            AggregateMessage::Execute { command, companions, metadata, reply } => {
                // Boxed: an idle actor's task then stays small instead of reserving room for the
                // whole command path.
                let result = Box::pin(state.execute(command, companions, metadata)).await;
                drop(reply.send(result));
            }
            AggregateMessage::GetState { reply } => {
                drop(reply.send(InstanceState { state: state.loaded.state.clone(), version: state.loaded.version }));
            }
        }
        Ok(())
    }
}

impl<A: StoredAggregate> AggregateActorState<A> {
    /// Decides and appends one command. The span names the command only at debug level:
    /// formatting every telemetry observation with its rules costs a fifth of the ingest's
    /// steady rate.
    #[instrument(name = "actor.execute", skip_all, fields(stream = %self.args.stream, command = tracing::field::Empty))]
    async fn execute(
        &mut self,
        command: A::Command,
        companions: Vec<StreamAppend>,
        metadata: CommandMetadata,
    ) -> Result<Executed<A>, ExecuteError<A::Error>> {
        if tracing::enabled!(tracing::Level::DEBUG) {
            tracing::Span::current().record("command", tracing::field::debug(&command));
        }
        let stream = self.args.stream.clone();
        let key = metadata.idempotency_key.as_deref();
        let companion_id =
            companions.iter().find_map(|part| part.events.first().map(|event| (part.stream.clone(), event.event_id)));
        let own_id = || key.map(|key| (stream.clone(), event_ids(&stream, Some(key), 1)[0]));
        if let Some((first_stream, first_id)) = companion_id.or_else(own_id) {
            if self.args.log.event_position(&first_stream, &first_id)?.is_some() {
                return Ok(Executed { events: Vec::new(), version: self.loaded.version, duplicate: true });
            }
        }
        if let Some(expected) = metadata.expected_version.filter(|expected| *expected != self.loaded.version) {
            return Err(ExecuteError::VersionMismatch { expected, current: self.loaded.version });
        }
        for _ in 0..CONFLICT_RETRIES {
            let events = A::decide(&self.loaded.state, command.clone()).map_err(ExecuteError::Rejected)?;
            if events.is_empty() && companions.is_empty() {
                return Ok(Executed { events, version: self.loaded.version, duplicate: false });
            }
            let event_metadata = EventMetadata {
                causation_id: metadata.causation_id,
                correlation_id: metadata.correlation_id,
                principal: metadata.principal.clone(),
            };
            let new_events = events
                .iter()
                .zip(event_ids(&stream, key, events.len()))
                .map(|(event, id)| A::to_new_event(event, id, event_metadata.clone()))
                .collect::<Result<Vec<_>, _>>()?;
            let before = self.loaded.version;
            let mut parts = Vec::with_capacity(companions.len() + 1);
            if !new_events.is_empty() {
                parts.push(StreamAppend {
                    stream: stream.clone(),
                    expected: ExpectedVersion::Exact(before),
                    events: new_events,
                });
            }
            parts.extend(companions.iter().cloned());
            let appended = self.args.log.append_atomic(parts).await.map(|outcomes| {
                let own = outcomes.first().filter(|_| !events.is_empty()).cloned();
                let duplicate = outcomes.iter().any(|outcome| outcome.duplicate);
                own.map_or(
                    AppendOutcome {
                        positions: Vec::new(),
                        version: before,
                        last_hash: self.loaded.last_hash,
                        duplicate,
                    },
                    |own| AppendOutcome { duplicate, ..own },
                )
            });
            match appended {
                Ok(outcome) if outcome.duplicate => {
                    self.loaded.catch_up(self.args.log.as_ref(), &stream)?;
                    return Ok(Executed { events: Vec::new(), version: self.loaded.version, duplicate: true });
                }
                Ok(outcome) => {
                    self.loaded.state = A::fold(std::mem::take(&mut self.loaded.state), events.clone());
                    self.loaded.version = outcome.version;
                    self.loaded.last_hash = outcome.last_hash;
                    self.snapshot_if_due(before);
                    return Ok(Executed { events, version: outcome.version, duplicate: false });
                }
                Err(StoreError::Conflict { .. }) => self.loaded.catch_up(self.args.log.as_ref(), &stream)?,
                Err(error) => return Err(error.into()),
            }
        }
        let actual = self.args.log.stream_version(&stream)?;
        Err(StoreError::Conflict { stream: stream.to_string(), expected: self.loaded.version, actual }.into())
    }

    fn snapshot_if_due(&self, before: StreamVersion) {
        if !self.args.policy.is_due(before, self.loaded.version) {
            return;
        }
        let snapshot = Snapshot::encode(
            self.args.stream.as_str(),
            self.loaded.version,
            self.loaded.last_hash,
            A::STATE_SCHEMA_VERSION,
            &self.loaded.state,
        );
        if let Err(error) = snapshot.and_then(|snapshot| self.args.snapshots.save(&snapshot)) {
            warn!(stream = %self.args.stream, %error, "snapshot not saved; rehydration will replay further");
        }
    }
}
