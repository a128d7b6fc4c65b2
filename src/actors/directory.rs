//! The registry of live aggregate actors of one kind.
//!
//! An actor is spawned on first use, under the kind's supervisor, and found here afterwards.
//! Each instance accepts a bounded number of waiting commands (beyond it, callers get
//! [`ExecuteError::Overloaded`] at once instead of queueing without limit). Instances idle for
//! longer than the passivation time are stopped; the next command spawns them again from
//! snapshot plus log.

use super::aggregate_actor::{
    AggregateActor, AggregateActorArgs, AggregateMessage, CommandMetadata, Executed, InstanceState,
};
use super::error::ExecuteError;
use super::supervisor::{AggregateSupervisor, SupervisorArgs};
use crate::aggregates::StoredAggregate;
use crate::store::{EventLog, StreamAppend, StreamName};
use optibid_snapshots::{SnapshotPolicy, SnapshotStore};
use ractor::rpc::CallResult;
use ractor::{Actor, ActorCell, ActorId, ActorRef, MessagingErr};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::sync::OnceCell;
use tokio::time::Instant;
use tracing::{debug, instrument};

/// How long shutdown waits for one actor to stop.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(5);

/// Settings of a directory.
#[derive(Debug, Clone, Copy)]
pub struct DirectoryConfig {
    /// Commands that may wait for one instance before callers are turned away.
    pub mailbox_capacity: usize,
    /// How long an instance may sit idle before it is stopped.
    pub passivate_after: Duration,
    /// How long a caller waits for an answer.
    pub call_timeout: Duration,
    /// When to snapshot.
    pub snapshots: SnapshotPolicy,
}

impl Default for DirectoryConfig {
    fn default() -> Self {
        Self {
            mailbox_capacity: 64,
            passivate_after: Duration::from_secs(300),
            call_timeout: Duration::from_secs(30),
            snapshots: SnapshotPolicy::default(),
        }
    }
}

/// A live instance.
struct Instance<A: StoredAggregate> {
    actor: ActorRef<AggregateMessage<A>>,
    in_flight: AtomicUsize,
    last_used_ms: AtomicU64,
}

type Slot<A> = Arc<OnceCell<Arc<Instance<A>>>>;

/// Shared part of a directory, also reached (weakly) by its supervisor.
pub(super) struct DirectoryInner<A: StoredAggregate> {
    log: Arc<dyn EventLog>,
    snapshots: SnapshotStore,
    config: DirectoryConfig,
    slots: Mutex<HashMap<String, Slot<A>>>,
    supervisor: OnceCell<ActorCell>,
    started: Instant,
}

/// The registry of live actors of aggregate `A`.
pub struct ActorDirectory<A: StoredAggregate> {
    inner: Arc<DirectoryInner<A>>,
    supervisor: ActorRef<()>,
}

impl<A: StoredAggregate> ActorDirectory<A> {
    /// Starts the kind's supervisor and the passivation sweep.
    pub async fn start(
        log: Arc<dyn EventLog>,
        snapshots: SnapshotStore,
        config: DirectoryConfig,
    ) -> Result<Self, ractor::SpawnErr> {
        let inner = Arc::new(DirectoryInner {
            log,
            snapshots,
            config,
            slots: Mutex::new(HashMap::new()),
            supervisor: OnceCell::new(),
            started: Instant::now(),
        });
        let args = SupervisorArgs { directory: Arc::downgrade(&inner) };
        let (supervisor, _) = Actor::spawn(None, AggregateSupervisor::<A>::default(), args).await?;
        let _ = inner.supervisor.set(supervisor.get_cell());
        tokio::spawn(sweep_idle(Arc::downgrade(&inner)));
        Ok(Self { inner, supervisor })
    }

    /// Runs `command` on instance `id`: decide, persist, fold, reply.
    pub async fn execute(
        &self,
        id: &str,
        command: A::Command,
        metadata: CommandMetadata,
    ) -> Result<Executed<A>, ExecuteError<A::Error>> {
        self.execute_with(id, command, Vec::new(), metadata).await
    }

    /// Runs `command` on instance `id` and appends `companions` (events of other streams that
    /// belong to the same decision) atomically with the events it decides: both are stored, or
    /// neither is (when the command is rejected, nothing is).
    #[instrument(name = "directory.execute", skip_all, fields(kind = A::NAME, id = id))]
    pub async fn execute_with(
        &self,
        id: &str,
        command: A::Command,
        companions: Vec<StreamAppend>,
        metadata: CommandMetadata,
    ) -> Result<Executed<A>, ExecuteError<A::Error>> {
        let stream = stream_of::<A>(id)?;
        loop {
            let instance = self.inner.acquire(&stream).await?;
            let message = |reply| AggregateMessage::Execute {
                command: command.clone(),
                companions: companions.clone(),
                metadata: metadata.clone(),
                reply,
            };
            let answer = instance.actor.call(message, Some(self.inner.config.call_timeout)).await;
            self.inner.release(&instance);
            match answer {
                Ok(CallResult::Success(result)) => return result,
                Ok(CallResult::Timeout) => return Err(ExecuteError::Timeout(stream.to_string())),
                Ok(CallResult::SenderError) => return Err(ExecuteError::ActorFailed(stream.to_string())),
                Err(MessagingErr::SendErr(_)) | Err(MessagingErr::ChannelClosed) => {
                    self.inner.forget(&stream, instance.actor.get_id());
                }
                Err(MessagingErr::InvalidActorType) => return Err(ExecuteError::ActorFailed(stream.to_string())),
            }
        }
    }

    /// The current state of instance `id` (the default state and version 0 if it has no events).
    pub async fn state(&self, id: &str) -> Result<InstanceState<A>, ExecuteError<A::Error>> {
        let stream = stream_of::<A>(id)?;
        loop {
            let instance = self.inner.acquire(&stream).await?;
            let answer = instance
                .actor
                .call(|reply| AggregateMessage::GetState { reply }, Some(self.inner.config.call_timeout))
                .await;
            self.inner.release(&instance);
            match answer {
                Ok(CallResult::Success(state)) => return Ok(state),
                Ok(CallResult::Timeout) => return Err(ExecuteError::Timeout(stream.to_string())),
                Ok(CallResult::SenderError) | Err(MessagingErr::InvalidActorType) => {
                    return Err(ExecuteError::ActorFailed(stream.to_string()))
                }
                Err(_) => self.inner.forget(&stream, instance.actor.get_id()),
            }
        }
    }

    /// How many instances are live.
    pub fn live_instances(&self) -> usize {
        self.inner.slots.lock().map(|slots| slots.len()).unwrap_or(0)
    }

    /// Commands waiting over all live instances.
    pub fn pending_commands(&self) -> usize {
        let slots = match self.inner.slots.lock() {
            Ok(slots) => slots.values().cloned().collect::<Vec<_>>(),
            Err(_) => return 0,
        };
        slots.iter().filter_map(|slot| slot.get()).map(|instance| instance.in_flight.load(Ordering::Relaxed)).sum()
    }

    /// Stops every live instance and the supervisor, and waits until they have stopped.
    pub async fn shutdown(&self) {
        let slots: Vec<Slot<A>> = match self.inner.slots.lock() {
            Ok(mut slots) => slots.drain().map(|(_, slot)| slot).collect(),
            Err(_) => Vec::new(),
        };
        for instance in slots.iter().filter_map(|slot| slot.get()) {
            let _ = instance.actor.stop_and_wait(Some("shutdown".to_owned()), Some(SHUTDOWN_WAIT)).await;
        }
        let _ = self.supervisor.stop_and_wait(Some("shutdown".to_owned()), Some(SHUTDOWN_WAIT)).await;
    }
}

fn stream_of<A: StoredAggregate>(id: &str) -> Result<StreamName, ExecuteError<A::Error>> {
    A::stream(id).map_err(|error| ExecuteError::InvalidId(error.to_string()))
}

impl<A: StoredAggregate> DirectoryInner<A> {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The live instance of `stream`, spawned if needed, with one more command counted in flight.
    async fn acquire(&self, stream: &StreamName) -> Result<Arc<Instance<A>>, ExecuteError<A::Error>> {
        loop {
            let slot = self.slot(stream.as_str())?;
            let instance = slot.get_or_try_init(|| self.spawn(stream)).await;
            let instance = match instance {
                Ok(instance) => instance.clone(),
                Err(error) => {
                    self.remove_slot_if(stream.as_str(), &slot);
                    return Err(error);
                }
            };
            let slots = self.slots.lock().map_err(|_| poisoned(stream))?;
            if !slots.get(stream.as_str()).is_some_and(|current| Arc::ptr_eq(current, &slot)) {
                continue;
            }
            let pending = instance.in_flight.fetch_add(1, Ordering::AcqRel);
            if pending >= self.config.mailbox_capacity {
                instance.in_flight.fetch_sub(1, Ordering::AcqRel);
                return Err(ExecuteError::Overloaded { stream: stream.to_string(), pending });
            }
            instance.last_used_ms.store(self.now_ms(), Ordering::Relaxed);
            return Ok(instance);
        }
    }

    fn release(&self, instance: &Instance<A>) {
        instance.last_used_ms.store(self.now_ms(), Ordering::Relaxed);
        instance.in_flight.fetch_sub(1, Ordering::AcqRel);
    }

    fn slot(&self, stream: &str) -> Result<Slot<A>, ExecuteError<A::Error>> {
        let mut slots = self.slots.lock().map_err(|_| ExecuteError::Unavailable {
            stream: stream.to_owned(),
            reason: "actor registry poisoned".to_owned(),
        })?;
        Ok(slots.entry(stream.to_owned()).or_default().clone())
    }

    fn remove_slot_if(&self, stream: &str, slot: &Slot<A>) {
        if let Ok(mut slots) = self.slots.lock() {
            if slots.get(stream).is_some_and(|current| Arc::ptr_eq(current, slot)) {
                slots.remove(stream);
            }
        }
    }

    async fn spawn(&self, stream: &StreamName) -> Result<Arc<Instance<A>>, ExecuteError<A::Error>> {
        let unavailable = |reason: String| ExecuteError::Unavailable { stream: stream.to_string(), reason };
        let supervisor = self.supervisor.get().cloned().ok_or_else(|| unavailable("no supervisor".to_owned()))?;
        let args = AggregateActorArgs {
            stream: stream.clone(),
            log: self.log.clone(),
            snapshots: self.snapshots.clone(),
            policy: self.config.snapshots,
        };
        let (actor, _) = Actor::spawn_linked(None, AggregateActor::<A>::default(), args, supervisor)
            .await
            .map_err(|error| unavailable(error.to_string()))?;
        debug!(%stream, "actor spawned");
        Ok(Arc::new(Instance { actor, in_flight: AtomicUsize::new(0), last_used_ms: AtomicU64::new(self.now_ms()) }))
    }

    /// Drops the registry entry of `stream` if it still names actor `id`.
    pub(super) fn forget(&self, stream: &StreamName, id: ActorId) {
        if let Ok(mut slots) = self.slots.lock() {
            let same = slots.get(stream.as_str()).and_then(|slot| slot.get()).is_some_and(|i| i.actor.get_id() == id);
            if same {
                slots.remove(stream.as_str());
            }
        }
    }

    /// The stream of the live actor `id`, if it is registered.
    pub(super) fn stream_of_actor(&self, id: ActorId) -> Option<StreamName> {
        let slots = self.slots.lock().ok()?;
        slots.iter().find_map(|(stream, slot)| {
            slot.get().filter(|instance| instance.actor.get_id() == id).and_then(|_| StreamName::parse(stream).ok())
        })
    }

    /// Spawns a fresh actor for `stream` from the log, replacing whatever is registered.
    pub(super) async fn restart(&self, stream: &StreamName) -> Result<(), ExecuteError<A::Error>> {
        if let Ok(mut slots) = self.slots.lock() {
            slots.remove(stream.as_str());
        }
        self.acquire(stream).await.map(|instance| self.release(&instance))
    }

    /// Stops instances idle for longer than the passivation time with nothing in flight.
    fn passivate_idle(&self) -> usize {
        let idle_ms = u64::try_from(self.config.passivate_after.as_millis()).unwrap_or(u64::MAX);
        let now = self.now_ms();
        let mut stopped = Vec::new();
        if let Ok(mut slots) = self.slots.lock() {
            slots.retain(|_, slot| match slot.get() {
                Some(instance)
                    if instance.in_flight.load(Ordering::Acquire) == 0
                        && now.saturating_sub(instance.last_used_ms.load(Ordering::Relaxed)) >= idle_ms =>
                {
                    stopped.push(instance.actor.clone());
                    false
                }
                _ => true,
            });
        }
        for actor in &stopped {
            actor.stop(Some("passivated".to_owned()));
        }
        stopped.len()
    }
}

fn poisoned<E: std::error::Error>(stream: &StreamName) -> ExecuteError<E> {
    ExecuteError::Unavailable { stream: stream.to_string(), reason: "actor registry poisoned".to_owned() }
}

async fn sweep_idle<A: StoredAggregate>(directory: Weak<DirectoryInner<A>>) {
    let period = match directory.upgrade() {
        Some(inner) => (inner.config.passivate_after / 4).max(Duration::from_millis(50)),
        None => return,
    };
    let mut ticks = tokio::time::interval(period);
    loop {
        ticks.tick().await;
        let Some(inner) = directory.upgrade() else { return };
        let stopped = inner.passivate_idle();
        if stopped > 0 {
            debug!(kind = A::NAME, stopped, "idle actors passivated");
        }
    }
}
