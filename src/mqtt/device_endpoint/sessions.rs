//! The live sessions, one per login. A new connection with valid credentials for a login takes
//! its session over (the older connection is told and closes); commands issued to a device go to
//! its session, if it has one.

use crate::mqtt::identity::ClientIdentity;
use optibid_domain::ids::{CommandId, DeviceId};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use tokio::sync::mpsc;

/// Messages a session may queue before a command is left for the next connection.
const CONTROL_CAPACITY: usize = 256;

/// A command to deliver to a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandToDeliver {
    /// Its id.
    pub command_id: CommandId,
    /// The JSON published on the device's command topic.
    pub payload: Vec<u8>,
}

/// What the endpoint tells a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionControl {
    /// Another connection logged in as the same client; close without a last will.
    TakenOver,
    /// Deliver this command (if the session is subscribed to its command topic).
    Deliver(CommandToDeliver),
    /// The platform is shutting down: stop reading, acknowledge what is stored, disconnect.
    Shutdown,
}

/// The registry's handle on one connection.
#[derive(Debug)]
struct SessionEntry {
    id: u64,
    control: mpsc::Sender<SessionControl>,
}

/// A connection's hold on its login's session.
#[derive(Debug)]
pub struct SessionTicket {
    /// This session's number (to tell it from a later one of the same login).
    pub id: u64,
    /// What the endpoint tells this connection.
    pub control: mpsc::Receiver<SessionControl>,
}

/// Every live session, by login.
#[derive(Debug, Default)]
pub struct Sessions {
    by_login: Mutex<HashMap<String, SessionEntry>>,
    next_id: AtomicU64,
}

impl Sessions {
    /// Opens the session of `identity`, taking over any earlier one.
    pub fn open(&self, identity: &ClientIdentity) -> SessionTicket {
        let (control, receiver) = mpsc::channel(CONTROL_CAPACITY);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let previous = self.lock().insert(identity.login(), SessionEntry { id, control });
        if let Some(previous) = previous {
            tracing::info!(client = %identity, "a new connection takes the session over");
            let _ = previous.control.try_send(SessionControl::TakenOver);
        }
        SessionTicket { id, control: receiver }
    }

    /// Closes session `id` of `identity`. Returns whether it was still the login's session (not
    /// taken over meanwhile).
    pub fn close(&self, identity: &ClientIdentity, id: u64) -> bool {
        let mut sessions = self.lock();
        let current = sessions.get(&identity.login()).is_some_and(|entry| entry.id == id);
        if current {
            sessions.remove(&identity.login());
        }
        current
    }

    /// Hands `command` to the session of `device`; `false` when it has none (the command waits
    /// for its next connection) or its queue is full.
    pub fn deliver(&self, device: &DeviceId, command: CommandToDeliver) -> bool {
        let sessions = self.lock();
        match sessions.get(device.as_str()) {
            Some(entry) => entry.control.try_send(SessionControl::Deliver(command)).is_ok(),
            None => false,
        }
    }

    /// Tells every session the platform is shutting down.
    pub fn shut_down_all(&self) {
        for entry in self.lock().values() {
            let _ = entry.control.try_send(SessionControl::Shutdown);
        }
    }

    /// Live sessions.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no session is live.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, SessionEntry>> {
        self.by_login.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(id: &str) -> ClientIdentity {
        ClientIdentity::Device(DeviceId::new(id).expect("valid id"))
    }

    #[tokio::test]
    async fn a_second_login_takes_the_session_over_and_the_first_close_changes_nothing() {
        let sessions = Sessions::default();
        let mut first = sessions.open(&device("inv-1"));
        let second = sessions.open(&device("inv-1"));
        assert_eq!(first.control.recv().await, Some(SessionControl::TakenOver));
        assert!(!sessions.close(&device("inv-1"), first.id), "the first is no longer the session");
        assert_eq!(sessions.len(), 1);
        assert!(sessions.close(&device("inv-1"), second.id));
        assert!(sessions.is_empty());
    }

    #[tokio::test]
    async fn commands_reach_only_the_devices_own_session() {
        let sessions = Sessions::default();
        let mut one = sessions.open(&device("inv-1"));
        let command = CommandToDeliver { command_id: CommandId::new("c1").expect("valid"), payload: b"{}".to_vec() };
        assert!(sessions.deliver(&DeviceId::new("inv-1").expect("valid"), command.clone()));
        assert!(!sessions.deliver(&DeviceId::new("inv-2").expect("valid"), command.clone()));
        assert_eq!(one.control.recv().await, Some(SessionControl::Deliver(command)));
    }
}
