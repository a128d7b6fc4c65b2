//! The supervisor of all actors of one aggregate kind.
//!
//! ractor's default is to stop the supervisor when a child fails; here a child that panics is
//! restarted at once from snapshot plus log, so that the instance is never left dead.

use super::directory::DirectoryInner;
use crate::aggregates::StoredAggregate;
use ractor::{Actor, ActorProcessingErr, ActorRef, SupervisionEvent};
use std::marker::PhantomData;
use std::sync::Weak;
use tracing::{error, info};

/// What the supervisor needs.
pub(super) struct SupervisorArgs<A: StoredAggregate> {
    pub(super) directory: Weak<DirectoryInner<A>>,
}

/// Supervises the actors of aggregate `A`.
pub(super) struct AggregateSupervisor<A>(PhantomData<fn() -> A>);

impl<A> Default for AggregateSupervisor<A> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

impl<A: StoredAggregate> Actor for AggregateSupervisor<A> {
    type Msg = ();
    type State = SupervisorArgs<A>;
    type Arguments = SupervisorArgs<A>;

    async fn pre_start(&self, _myself: ActorRef<()>, args: Self::Arguments) -> Result<Self::State, ActorProcessingErr> {
        Ok(args)
    }

    async fn handle_supervisor_evt(
        &self,
        _myself: ActorRef<()>,
        event: SupervisionEvent,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        let SupervisionEvent::ActorFailed(cell, reason) = event else {
            return Ok(());
        };
        let Some(directory) = state.directory.upgrade() else {
            return Ok(());
        };
        let Some(stream) = directory.stream_of_actor(cell.get_id()) else {
            return Ok(());
        };
        error!(%stream, %reason, "actor failed; restarting it from the log");
        directory.forget(&stream, cell.get_id());
        tokio::spawn(async move {
            match directory.restart(&stream).await {
                Ok(()) => info!(%stream, "actor restarted from the log"),
                Err(error) => error!(%stream, %error, "actor could not be restarted; the next command retries"),
            }
        });
        Ok(())
    }
}
