//! ctrl: rvsd's control plane, the authority over the service table.
//!
//! [`control`] holds the authoritative table ([`table`]) and applies the control protocol's
//! requests and typed changes to it, pushing snapshots to the workers; [`listing`] sums the
//! workers' reports into listings, [`conn_stream`] walks the workers' connection tables in
//! bounded chunks for `-L -c`, [`baselines`] keeps `-Z`'s zero points, [`estimator`] the
//! `--rate` estimator, [`reload`] turns a declared state into live changes, [`health_state`] is
//! the narrow interface the health checks use, [`plumbing`] what rvsnet and `-F` may touch,
//! [`server`] rvsd's socket server (the metrics read [`listing`]'s sums through the view the
//! metrics module defines), and [`abuse`] a
//! misbehaving-client check for tests.
//!
//! Depends on the protocol (`crate::proto`) and the load balancer (`crate::ipvs`); defines
//! the interfaces others implement ([`control::Dataplane`], [`reload::ReloadSource`],
//! [`health_state::HealthRows`]) and must not depend on the config, health, the daemon or the
//! command-line tools.

/// The listing types' old path, kept while the load balancer moves to its own vocabulary.
pub use crate::proto::model;

/// Test support only: compiled for the unit tests and, with the `test-support` feature, for
/// the integration tests (the package enables it for its own tests).
#[cfg(any(test, feature = "test-support"))]
pub mod abuse;
pub mod baselines;
pub mod conn_stream;
pub mod control;
pub mod estimator;
pub mod health_state;
pub mod listing;
pub mod plumbing;
pub mod reload;
pub mod server;
pub mod table;
