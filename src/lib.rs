//! OptiBid IoT: an event-sourced platform for fleets of energy assets.
//!
//! The pure rules live in the `optibid-domain` crate; this crate is the imperative shell around
//! them:
//!
//! - [`store`]: the append-only, hash-chained event log in sled, with group commit, idempotent
//!   appends, optimistic concurrency, live tailing and an adapter to `esrs`.
//! - [`aggregates`]: how each domain aggregate is stored (stream kind, event codec, snapshots).
//! - [`actors`]: one ractor actor per aggregate instance, spawned on first use under a
//!   supervisor, rehydrated from snapshot plus events, persisting before replying.
//! - [`audit`]: verification of the whole log, point-in-time state, export and import.
//! - [`events`]: decoding stored events, shared by every reader.
//! - [`projector`]: runs the read models of `optibid-projections` over the global log.
//! - [`gateway`]: the HTTP API.
//! - [`ingest`]: the protocol-neutral ingest every protocol feeds: rounds of decoded messages,
//!   each acknowledged only once stored or dead-lettered.
//! - [`mqtt`]: devices and edge nodes over MQTT (the platform's own device endpoint, or an
//!   external broker), and the downlink of commands.
//! - [`opcua`]: devices behind OPC UA servers (one subscribing client actor per server).
//! - [`config`]: the `--config` file of `serve`.
//! - [`log_follower`]: the loop of the process managers that act on the global log.
//! - [`rollout`]: carries fleet campaigns out on devices, wave by wave.
//! - [`condition_monitor`]: turns anomalies and forecast limit crossings into device alerts.
//! - [`simulator`]: a realistic simulated fleet over MQTT.
//! - [`bench`]: the measurements behind `docs/benchmarks.md`.
//! - [`worker_health`]: how background workers report retries and stops.
//! - [`cli`]: the `optibid` command line.

pub mod actors;
pub mod aggregates;
pub mod audit;
pub mod bench;
pub mod cli;
pub mod condition_monitor;
pub mod config;
pub mod events;
pub mod gateway;
pub mod ingest;
pub mod log_follower;
pub mod mqtt;
pub mod opcua;
pub mod projector;
pub mod rollout;
pub mod simulator;
pub mod store;
pub mod worker_health;
