//! The protocol-neutral ingest: every protocol (the MQTT endpoint, an external MQTT broker,
//! OPC UA) decodes what it receives into [`pipeline::DecodedMessage`]s and hands them here.
//!
//! - [`payload`]: the JSON payloads of the device contract, decoded and validated.
//! - [`pipeline`]: one round of messages becomes telemetry events and actor commands, each
//!   message ending stored, duplicate or dead-lettered.
//! - [`queue`]: the bounded queue and the worker that runs rounds and answers each submitter
//!   once its message is durable.
//! - [`dead_letter`]: refused messages, kept with their reason.
//! - [`backoff`]: exponential backoff for retries and reconnects.

pub mod backoff;
pub mod dead_letter;
pub mod payload;
pub mod pipeline;
pub mod queue;
