//! health: active health checks of real servers, with keepalived's semantics.
//!
//! Owns deciding, from checks rvsd runs itself, which real servers (dests) get new connections,
//! and carrying that out as typed changes, the ones rvsadm sends. The parts:
//! - [`plan`]: the checked plan the config hands over (parsed from `[[service]]` /
//!   `[[service.dest]]` by `config::health`; docs/health.md has the keys and their keepalived
//!   names);
//! - [`state`] and [`engine`]: the decisions, sans-IO (checker results and the time in, table
//!   actions and scripts out): retries, up/down, weights, quorum, hysteresis, sorry server;
//! - [`apply`]: actions to typed changes against the table in force;
//! - [`check`]: the probes (TCP connect, HTTP GET, UDP, scripts), blocking std I/O with timeouts;
//! - [`runner`]: the control-plane threads that run probes and apply actions, never on a worker
//!   core, bounded (one check in flight per checker, a fixed pool of probe threads);
//! - [`bfd`]: the BFD sessions `BFD_CHECK` follows, in a thread of their own;
//! - [`board`]: the health state for `rvsadm -L --health` and the metrics.
//!
//! Must not touch: the data plane, the config's format. Changes reach the workers only through
//! the interface the control plane defines ([`crate::ctrl::health_state::HealthChanges`]),
//! acked when every worker runs them; the listing rows are the protocol's
//! ([`crate::proto::health`]).

pub mod apply;
pub mod bfd;
pub mod board;
pub mod check;
pub mod engine;
pub mod md5;
pub mod plan;
pub mod runner;
pub mod state;

pub use plan::HealthPlan;
