//! Why a device command is rejected.

use super::state::DeviceStatus;
use crate::ids::{AlertId, CommandId, DeviceId, MaintenanceId};
use crate::time::Timestamp;

/// A rejected device command. Every variant names the offending value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DeviceError {
    /// The device has not been registered.
    #[error("device is not registered")]
    NotRegistered,
    /// The device is already registered.
    #[error("device {0} is already registered")]
    AlreadyRegistered(DeviceId),
    /// The device was decommissioned; it accepts no more commands.
    #[error("device {0} was decommissioned and accepts no more commands")]
    Decommissioned(DeviceId),
    /// A registration field is not acceptable.
    #[error("invalid registration field `{field}`: {reason}")]
    InvalidRegistration {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The device already has that status.
    #[error("device is already {0:?}")]
    StatusUnchanged(DeviceStatus),
    /// A command with that id was already issued.
    #[error("command {0} was already issued")]
    DuplicateCommand(CommandId),
    /// The command name is empty or the timeout is zero.
    #[error("invalid command: {0}")]
    InvalidCommand(String),
    /// No such command is known.
    #[error("unknown command {0}")]
    UnknownCommand(CommandId),
    /// The command already finished.
    #[error("command {0} already finished")]
    CommandFinished(CommandId),
    /// Progress must be within 0..=100.
    #[error("progress {0} is outside 0..=100")]
    InvalidProgress(u8),
    /// The command's deadline has not passed yet.
    #[error("command {command_id} is not due to time out before {deadline}")]
    DeadlineNotReached {
        /// The command.
        command_id: CommandId,
        /// Its deadline.
        deadline: Timestamp,
    },
    /// The firmware version is empty or the same as the current one.
    #[error("firmware version {0:?} is empty or already running")]
    FirmwareUnchanged(String),
    /// An alert with that id was already raised.
    #[error("alert {0} was already raised")]
    DuplicateAlert(AlertId),
    /// No such alert is known.
    #[error("unknown alert {0}")]
    UnknownAlert(AlertId),
    /// The alert was already acknowledged.
    #[error("alert {0} was already acknowledged")]
    AlertAlreadyAcknowledged(AlertId),
    /// The alert was already resolved.
    #[error("alert {0} was already resolved")]
    AlertAlreadyResolved(AlertId),
    /// A maintenance with that id was already scheduled.
    #[error("maintenance {0} was already scheduled")]
    DuplicateMaintenance(MaintenanceId),
    /// No such maintenance is known.
    #[error("unknown maintenance {0}")]
    UnknownMaintenance(MaintenanceId),
    /// The maintenance was already completed.
    #[error("maintenance {0} was already completed")]
    MaintenanceAlreadyCompleted(MaintenanceId),
}
