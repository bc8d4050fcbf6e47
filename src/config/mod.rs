//! The configuration of `rvsd`: the TOML file, parsed and validated into checked types.
//!
//! Owns parsing and validation only. [`Config::load`] (or [`Config::from_toml_str`]) reads the file
//! into serde structs that deny unknown keys, then checks every rule that the daemon would
//! otherwise trip over later, halfway through starting DPDK: references to ports that do not
//! exist, rx queues polled by two workers or by none, overlapping connected networks, next hops
//! off-link, packet pools too small for the rings. A refused file gives a [`ConfigError`] naming
//! the file, the key (`port[1].rx_queues`, `worker[0].rx[1]`) and the fix.
//!
//! A [`Config`] can only be obtained that way, so its consumers trust it: every port index points
//! at a port, every rx queue of every port has exactly one worker, worker `i` owns tx queue `i` on
//! every port. This module does not touch DPDK, the data plane or the system (it does not resolve
//! group names or open sockets); [`Config::eal_args`] only builds the EAL argument vector.
//!
//! The sections (see `conf/rvs.toml` for the lab and `conf/bare-metal.toml` for a real director):
//! `[eal]`, `[[port]]` (with `kernel_iface`/`kernel_addrs` for the exception path), `[[addr]]`,
//! `[[route]]`, `[[worker]]`, `[dataplane]`, `[neigh]` with its `[[neigh.static]]` entries,
//! `[ctrl]`, `[metrics]`, `[exception]`; and the virtual services: `[timeouts]`,
//! `[[service]]` with its `[[service.dest]]` entries, `[[snat]]` (see [`to_toml`] for the shape).
//! Services are checked by applying the commands `rvsadm` would send to an
//! [`crate::ctrl::table::ServiceTable`], so the file and the command line obey the same rules.

pub mod announce;
/// BFD: `[[bfd_instance]]` and `bfd_check` (crate::health::bfd).
pub mod bfd;
mod check;
mod checked;
mod eal_args;
pub(crate) mod error;
pub mod exc_guard;
pub mod health;
mod ip;
/// The director's own IPv6 (issue 16): IPv6 addresses, routes, neighbours, `[nd]`.
pub mod ip6;
pub mod ipv6;
mod raw;
mod reload;
mod services;
/// Connection sync: `[sync]` (crate::sync).
pub mod sync;

use std::path::{Path, PathBuf};

pub use checked::{
    Addr, AddrKind, Ctrl, Dataplane, Device, Eal, IdleBackoff, LocalPortStart, Metrics,
    NeighParams, Port, Route, RxQueue, StaticNeigh, TxChecksumOffload, Worker,
};
pub use checked::{Exception, KernelIface, KERNEL_QUEUE_DESC};
pub use error::ConfigError;
pub use ip::{format_mac, parse_mac, Ipv4Net, Ipv4NetError};
pub use reload::Reloader;
pub use services::to_toml;

use crate::ctrl::table::ServiceTable;
use crate::ipvs::spec::{SnatRule, Timeouts};

/// A validated configuration. Built only by [`Config::load`] and [`Config::from_toml_str`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    eal: Eal,
    ports: Vec<Port>,
    addrs: Vec<Addr>,
    routes: Vec<Route>,
    neighs: Vec<StaticNeigh>,
    workers: Vec<Worker>,
    dataplane: Dataplane,
    neigh: NeighParams,
    ctrl: Ctrl,
    metrics: Metrics,
    services: ServiceTable,
    snat: Vec<SnatRule>,
    health: crate::health::HealthPlan,
    exception: Exception,
    guard: crate::ipvs::guard::GuardConfig,
    announce: Option<announce::Announce>,
    exc_guard: exc_guard::ExcGuard,
    /// The director's own IPv6 (crate::config::ipv6).
    ipv6: ipv6::Ipv6Config,
    sync: Option<sync::SyncConfig>,
}

/// The path shown in errors for a config given as a string.
const INLINE: &str = "<inline>";

impl Config {
    /// Reads and validates the file at `path`; errors name the file.
    pub fn load(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
        Config::parse(&text, path)
    }

    /// Validates a config given as TOML text; errors name the file `<inline>`.
    pub fn from_toml_str(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new(INLINE))
    }

    fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let raw: raw::RawConfig = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map_or((1, 1), |s| error::line_column(text, s.start));
            ConfigError::Syntax {
                path: path.to_owned(),
                line,
                column,
                message: e.message().trim_end().to_owned(),
            }
        })?;
        check::check(raw).map_err(|e| ConfigError::Invalid {
            path: PathBuf::from(path),
            key: e.key,
            message: e.message,
        })
    }

    /// Scale-out: `[announce]`, when rvsd announces its VIPs to a routing daemon.
    pub fn announce(&self) -> Option<&announce::Announce> {
        self.announce.as_ref()
    }

    /// The director's own IPv6: IPv6 `[[addr]]`, `[[route]]` and `[[neigh.static]]` entries
    /// and `[nd]`.
    pub fn ipv6(&self) -> &ipv6::Ipv6Config {
        &self.ipv6
    }

    /// Connection sync: `[sync]`, when rvsd starts sync daemons.
    pub fn sync(&self) -> Option<&sync::SyncConfig> {
        self.sync.as_ref()
    }

    /// The ports' kernel interfaces that can carry sync traffic (`--mcast-interface`).
    pub fn sync_ifaces(&self) -> Vec<sync::SyncIface> {
        sync::sync_ifaces(&self.ports)
    }

    /// `[eal]`.
    pub fn eal(&self) -> &Eal {
        &self.eal
    }

    /// `[[port]]`, in file order: `ports()[i].index == i`.
    pub fn ports(&self) -> &[Port] {
        &self.ports
    }

    /// `[[addr]]`, in file order.
    pub fn addrs(&self) -> &[Addr] {
        &self.addrs
    }

    /// `[[route]]`, in file order.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// `[[neigh.static]]`, in file order.
    pub fn static_neighs(&self) -> &[StaticNeigh] {
        &self.neighs
    }

    /// `[[worker]]`, in file order: `workers()[i].index == i == workers()[i].tx_queue`.
    pub fn workers(&self) -> &[Worker] {
        &self.workers
    }

    /// `[dataplane]`, with `mbufs` filled in when the file leaves it out.
    pub fn dataplane(&self) -> &Dataplane {
        &self.dataplane
    }

    /// `[arp_limit]` and `[exception_classes]`: the per-worker ARP rate limit and the
    /// exception path's per-(port, class) rates, defaults filled in.
    pub fn exc_guard(&self) -> &exc_guard::ExcGuard {
        &self.exc_guard
    }

    /// `[guard]`: the load balancer's flood defences per worker, defaults filled in.
    pub fn guard(&self) -> &crate::ipvs::guard::GuardConfig {
        &self.guard
    }

    /// `[neigh]` parameters.
    pub fn neigh(&self) -> &NeighParams {
        &self.neigh
    }

    /// `[ctrl]`.
    pub fn ctrl(&self) -> &Ctrl {
        &self.ctrl
    }

    /// `[metrics]`.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// `[[service]]` with their dests and local addresses, and `[timeouts]`: the table the
    /// daemon starts from, as `rvsadm -A`, `-a`, `-P` and `--set` would have built it.
    pub fn services(&self) -> &ServiceTable {
        &self.services
    }

    /// `[[snat]]`, in file order.
    pub fn snat_rules(&self) -> &[SnatRule] {
        &self.snat
    }

    /// The health checks of the services (their keepalived-style keys), see docs/health.md.
    pub fn health(&self) -> &crate::health::HealthPlan {
        &self.health
    }

    /// `[exception]`: the limits of the ports' kernel interfaces.
    pub fn exception(&self) -> &Exception {
        &self.exception
    }

    /// The DPDK vdev name of port `index`'s kernel interface (`net_tap_rvs<index>`).
    pub fn kernel_vdev_name(index: u16) -> String {
        format!("net_tap_rvs{index}")
    }

    /// `[timeouts]`, the defaults (900 120 300) where absent or 0.
    pub fn timeouts(&self) -> Timeouts {
        self.services.timeouts()
    }

    /// The smallest packet pool this config can run with: every rx descriptor filled, every tx
    /// descriptor holding a sent mbuf, each worker's rx and tx burst, each lcore's mempool cache
    /// at 1.5 times its size, and the packets waiting for neighbour resolution:
    ///
    /// `Σ_ports (rx_queues·rx_desc + tx_queues·tx_desc) + workers·burst·2
    ///  + (workers + 1)·⌈1.5·mbuf_cache⌉ + neigh.pending_total`
    ///
    /// `dataplane().mbufs` is at least this.
    pub fn min_mbufs(&self) -> u64 {
        check::min_mbufs(
            &self.ports,
            self.workers.len(),
            self.dataplane.burst,
            self.dataplane.mbuf_cache,
            self.neigh.pending_total,
        )
    }
}

#[cfg(test)]
mod tests;

/// Configs shared by unit tests of several modules.
#[cfg(test)]
pub(crate) mod test_fixtures {
    /// One `net_null` port with a host address and a VIP, one worker; no services.
    pub(crate) const NULL_DIRECTOR: &str = r#"
[eal]
main_lcore = 0
no_huge = true
no_pci = true
file_prefix = "rvs-reload"
vdevs = ["net_null0"]

[[port]]
name = "p0"
device = "net_null0"
rx_queues = 1
tx_queues = 1

[[addr]]
port = "p0"
ip = "192.0.2.1/24"
kind = "host"

[[addr]]
port = "p0"
ip = "192.0.2.100/32"
kind = "vip"

[[worker]]
lcore = 1
cpu = 0
rx = [{ port = "p0", queue = 0 }]
"#;
}
