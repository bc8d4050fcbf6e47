//! health: active health checks of real servers, with keepalived's semantics.
//!
//! Owns deciding, from checks rvsd runs itself, which real servers (dests) get new connections,
//! and carrying that out through the same control model rvsadm uses. The parts:
//! - [`plan`]: the checked configuration (from `[[service]]` / `[[service.dest]]`, see
//!   [`config`] and docs/health.md for the keys and their keepalived names);
//! - [`state`] and [`engine`]: the decisions, sans-IO (checker results and the time in, table
//!   actions and scripts out): retries, up/down, weights, quorum, hysteresis, sorry server;
//! - [`apply`]: actions to rvsadm commands against the table in force;
//! - [`check`]: the probes (TCP connect, HTTP GET, UDP, scripts), blocking std I/O with timeouts;
//! - [`runner`]: the control-plane threads that run probes and apply actions, never on a worker
//!   core, bounded (one check in flight per checker, a fixed pool of probe threads);
//! - [`board`]: the health state for `rvsadm -L --health` and the metrics.
//!
//! Must not touch: the data plane (changes reach the workers only through
//! [`crate::ctrl::control::Control`], acked when every worker runs them).

pub mod apply;
pub mod board;
pub mod check;
pub mod engine;
pub mod md5;
pub mod plan;
pub mod runner;
pub mod state;

pub use plan::HealthPlan;
