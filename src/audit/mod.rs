//! Auditing: verify the log, read an instance's state at any point, export and import the log.
//!
//! - [`verify`]: walks the whole log checking the hash chain, positions, stream versions and
//!   decoding; reports the first bad global position; checks an auditor's checkpoint.
//! - [`index_check`]: the stored stream index against the log.
//! - [`point_in_time`]: an instance's state at an instant or a version.
//! - [`export`]: the log as JSON lines and back.

pub mod export;
pub mod index_check;
pub mod point_in_time;
pub mod verify;

pub use verify::{verify_log, Checkpoint, VerifyFailure, VerifyReport};
