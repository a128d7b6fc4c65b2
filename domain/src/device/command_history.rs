//! One command's record rebuilt from the device's events, for commands the live state no longer
//! keeps (it keeps only the most recent finished ones).

use super::event::DeviceEvent;
use super::evolve::evolve;
use super::state::{DeviceCommandRecord, DeviceState};
use crate::ids::CommandId;

/// The record of `command_id` as the device's `events` (in stream order) leave it; `None` when
/// the command was never issued to this device.
pub fn replay_command<'a>(
    events: impl IntoIterator<Item = &'a DeviceEvent>,
    command_id: &CommandId,
) -> Option<DeviceCommandRecord> {
    let state = events
        .into_iter()
        .filter(|event| event.command_id() == Some(command_id))
        .fold(DeviceState::default(), |state, event| evolve(state, event.clone()));
    state.command(command_id).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::CommandState;
    use crate::Timestamp;

    fn command(id: &str) -> CommandId {
        CommandId::new(id).expect("valid id")
    }

    fn issued(id: &str, at: i64) -> DeviceEvent {
        DeviceEvent::CommandIssued {
            command_id: command(id),
            name: "reboot".into(),
            params: "{}".into(),
            deadline: Timestamp(at + 1_000),
            at: Timestamp(at),
        }
    }

    #[test]
    fn a_command_is_rebuilt_from_its_own_events_only() {
        let events = vec![
            issued("a", 1),
            issued("b", 2),
            DeviceEvent::CommandDelivered { command_id: command("a"), at: Timestamp(3) },
            DeviceEvent::CommandProgressed { command_id: command("a"), percent: 40, at: Timestamp(4) },
            DeviceEvent::CommandFailed { command_id: command("b"), reason: "busy".into(), at: Timestamp(5) },
            DeviceEvent::CommandSucceeded { command_id: command("a"), detail: "done".into(), at: Timestamp(6) },
        ];
        let a = replay_command(&events, &command("a")).expect("issued");
        assert_eq!(a.state, CommandState::Succeeded("done".into()));
        assert_eq!(a.delivered_at, Some(Timestamp(3)));
        assert_eq!(a.issued_at, Timestamp(1));
        let b = replay_command(&events, &command("b")).expect("issued");
        assert_eq!(b.state, CommandState::Failed("busy".into()));
        assert_eq!(b.delivered_at, None);
    }

    #[test]
    fn a_command_never_issued_is_none() {
        let events = vec![issued("a", 1)];
        assert_eq!(replay_command(&events, &command("z")), None);
    }
}
