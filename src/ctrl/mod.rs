//! ctrl: rvsd's control plane, the authority over the service table.
//!
//! [`control`] holds the authoritative table ([`table`]) and applies the control protocol's
//! requests and typed changes to it, pushing snapshots to the workers; [`listing`] sums the
//! workers' reports into listings, [`baselines`] keeps `-Z`'s zero points, [`estimator`] the
//! `--rate` estimator, [`reload`] turns a declared state into live changes, [`health_state`] is
//! the narrow interface the health checks use, [`plumbing`] what rvsnet and `-F` may touch,
//! [`server`] rvsd's socket server, [`metrics_source`] what the metrics read, and [`abuse`] a
//! misbehaving-client check for tests.
//!
//! Depends on the protocol (`crate::proto`) and the load balancer (`crate::ipvs`); defines
//! the interfaces others implement ([`control::Dataplane`], [`reload::ReloadSource`],
//! [`health_state::HealthRows`]) and must not depend on the config, health, the daemon or the
//! command-line tools.

/// The listing types' old path, kept while the load balancer moves to its own vocabulary.
pub use crate::proto::model;

pub mod abuse;
pub mod baselines;
pub mod control;
pub mod estimator;
pub mod health_state;
pub mod listing;
pub mod metrics_source;
pub mod plumbing;
pub mod reload;
pub mod server;
pub mod table;
