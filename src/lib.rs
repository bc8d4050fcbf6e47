//! rvs ("Rust Virtual Server"): a DPDK-based layer-4 load balancer in the LVS/IPVS family.
//!
//! The crate is split the way a director is: [`wire`] views packet bytes, [`net`] does the
//! director's own L2/L3 duties (ARP, neighbours, routes, ICMP), [`ipvs`] is the load balancer,
//! [`dataplane`] is the per-core worker loop that drives them with DPDK mbufs from [`dpdk`],
//! [`config`] is the validated TOML model, [`ctrl`] the control plane and [`metrics`] the
//! Prometheus exporter.
//!
//! Everything from [`wire`] to [`ipvs`] is sans-IO: it works on any [`buf::PacketBuf`] and a
//! clock passed in ([`time::Instant`]), so it is tested without an EAL.

pub mod announce;
pub mod config;
pub mod ctrl;
pub mod daemon;
pub mod dataplane;
pub mod health;
pub mod metrics;
pub mod sync;

pub use rvs_core::{buf, ipvs, net, time, wire};
pub use rvs_dpdk as dpdk;
pub use rvs_proto as proto;

/// The tools' front ends, for the daemon's tests (rvsadm's parser writes their tables).
#[cfg(test)]
use rvs_tools::rvsadm;

/// Build metadata recorded by `build.rs`.
pub mod build_info {
    /// Package version.
    pub const VERSION: &str = env!("CARGO_PKG_VERSION");
    /// Git revision the binary was built from, or `unknown`.
    pub const GIT_REV: &str = match option_env!("RVS_GIT_REV") {
        Some(v) => v,
        None => "unknown",
    };
    /// DPDK version found by pkg-config at build time, or `unknown`.
    pub const DPDK_VERSION: &str = match option_env!("RVS_DPDK_VERSION") {
        Some(v) => v,
        None => "unknown",
    };
}
