//! The announcer's settings: `[announce]` once checked, each service's policy, and which VIP a
//! service key stands for. The config module parses and checks the keys into these types
//! (`crate::config::announce`); they live here so that the announcer depends on nothing of the
//! config module. Must not touch: parsing, the system.

use core::time::Duration;
use std::net::Ipv4Addr;

use crate::ipvs::spec::ServiceKey;

/// When a service's VIP is announced (`[[service]] announce = ...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AnnouncePolicy {
    /// While the service has a real server with weight above 0 (health checks remove or
    /// quiesce failed ones). The default, and that of services added with rvsadm.
    #[default]
    Healthy,
    /// Whatever the real servers' state, while rvsd runs.
    Always,
    /// Never on behalf of this service.
    Never,
}

/// `[announce]`, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Announce {
    /// Kernel routing table of the announced routes (rvsd flushes it at start).
    pub table: u32,
    /// Kernel interface the routes point at.
    pub dev: String,
    /// Time between two looks at the table.
    pub interval: Duration,
    /// How long a clean stop waits for established connections after withdrawing.
    pub drain_timeout: Duration,
    /// Services whose policy is not [`AnnouncePolicy::Healthy`].
    pub policies: Vec<(ServiceKey, AnnouncePolicy)>,
    /// BIRD's control socket, asked for the BGP sessions' state every round (listings and
    /// metrics only: what is announced never depends on it).
    pub bird_socket: Option<std::path::PathBuf>,
}

impl Eq for Announce {}

/// The VIP of a service key, when IPv4 (rvs forwards IPv4 only).
pub fn vip_of(key: &ServiceKey) -> Option<Ipv4Addr> {
    match key.addr {
        std::net::IpAddr::V4(a) => Some(a),
        std::net::IpAddr::V6(_) => None,
    }
}
