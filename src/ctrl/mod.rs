//! ctrl: the control plane shared by rvsd and rvsadm.
//!
//! [`model`] holds the plain request/listing data (services, dests, local addresses,
//! connections, timeouts) and the validation rules both sides apply. [`proto`] is the wire
//! protocol of the Unix control socket, [`control`] the authoritative table and how requests
//! change it, [`estimator`] the `--rate` estimator,
//! [`reload`] the config reload's diff, [`server`] rvsd's socket server, [`client`] the client end,
//! [`metrics_source`] the Prometheus families of
//! services, dests and pools, and [`abuse`] a misbehaving-client check for tests.

/// The listing types' old path, kept while the load balancer moves to its own vocabulary.
pub use crate::proto::model;

pub mod abuse;
pub mod control;
pub mod estimator;
pub mod metrics_source;
pub mod reload;
pub mod server;
pub mod table;
