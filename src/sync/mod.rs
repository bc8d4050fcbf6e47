//! sync: rvsd's connection-sync daemon, the kernel's IPVS sync protocol version 1 over UDP
//! (docs/scale-out.md, "Connection sync").
//!
//! Owns the daemon's threads and sockets: the sending thread ([`daemon`]: the workers' report
//! queues -> [`crate::ipvs::sync::Batcher`] -> datagrams to the multicast group or the listed
//! peers) and the receiving thread (datagrams -> [`crate::ipvs::sync::Message`] -> learnt
//! connections -> every worker's inbox as one [`crate::ipvs::balancer::control::LbRequest::SyncInstall`]
//! per message; each worker installs those that belong on it), its settings ([`SyncSettings`])
//! and counters ([`SyncStats`]); which daemons run ([`SyncControl`]: `[sync]`, rvsadm's
//! `--start-daemon`/`--stop-daemon`/`-L --daemon`) and their Prometheus families
//! ([`SyncMetrics`]). Must not touch: the connection tables (only the workers do,
//! through their inboxes), the configuration files, the control protocol.

pub mod control;
pub mod daemon;
mod metrics;
pub mod settings;
mod stats;

pub use control::{SyncControl, REPORT_QUEUE};
pub use daemon::{SyncDaemon, SyncError, SyncRole, SyncSettings};
pub use metrics::SyncMetrics;
pub use stats::{SyncCounts, SyncStats};

#[cfg(test)]
mod control_tests;
#[cfg(test)]
mod tests;
