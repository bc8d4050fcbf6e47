//! The TOML file as written: serde structs that mirror the sections and keys one to one.
//!
//! Owns the key names and their defaults, and nothing else: every struct denies unknown keys, and
//! values stay as the user wrote them (strings for addresses, names for ports) so that the checks
//! in [`super::check`] can name the offending key when they reject one. Nothing outside `config`
//! sees these types.

use serde::Deserialize;

pub(crate) use super::services::raw::{RawService, RawSnat, RawTimeouts};

/// The whole file. Array sections are named in the singular, as they are written (`[[port]]`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    #[serde(default)]
    pub eal: RawEal,
    #[serde(default, rename = "port")]
    pub ports: Vec<RawPort>,
    #[serde(default, rename = "addr")]
    pub addrs: Vec<RawAddr>,
    #[serde(default, rename = "route")]
    pub routes: Vec<RawRoute>,
    #[serde(default, rename = "worker")]
    pub workers: Vec<RawWorker>,
    #[serde(default)]
    pub dataplane: RawDataplane,
    #[serde(default)]
    pub neigh: RawNeigh,
    #[serde(default)]
    pub ctrl: RawCtrl,
    #[serde(default)]
    pub metrics: RawMetrics,
    #[serde(default)]
    pub timeouts: RawTimeouts,
    #[serde(default, rename = "service")]
    pub services: Vec<RawService>,
    #[serde(default, rename = "snat")]
    pub snats: Vec<RawSnat>,
    #[serde(default)]
    pub exception: RawException,
    #[serde(default)]
    pub guard: RawGuard,
    /// Scale-out: `[announce]` (crate::config::announce).
    pub announce: Option<super::announce::RawAnnounce>,
    /// `[arp_limit]` (crate::config::exc_guard).
    #[serde(default)]
    pub arp_limit: super::exc_guard::RawArpLimit,
    /// `[exception_classes]` (crate::config::exc_guard).
    #[serde(default)]
    pub exception_classes: super::exc_guard::RawExceptionClasses,
    /// `[exception_classes_from_kernel]` (crate::config::exc_guard).
    #[serde(default)]
    pub exception_classes_from_kernel: super::exc_guard::RawExceptionClasses,
    /// `[[bfd_instance]]` (crate::config::bfd).
    #[serde(default, rename = "bfd_instance")]
    pub bfd_instances: Vec<super::bfd::RawBfdInstance>,
    /// `[nd]`: IPv6 neighbour discovery (crate::config::ipv6).
    #[serde(default)]
    pub nd: super::ipv6::RawNd,
    /// Connection sync: `[sync]` (crate::config::sync).
    pub sync: Option<super::sync::RawSync>,
}

/// `[eal]`: how the DPDK environment is started.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawEal {
    pub main_lcore: u32,
    /// CPU the main lcore runs on; absent = the same number as `main_lcore`.
    pub main_cpu: Option<u32>,
    pub no_huge: bool,
    pub no_pci: bool,
    pub memory_mb: Option<u32>,
    pub file_prefix: String,
    pub vdevs: Vec<String>,
    pub allow: Vec<String>,
    pub hugepage_dir: Option<String>,
    pub telemetry: bool,
    pub extra_args: Vec<String>,
}

impl Default for RawEal {
    fn default() -> Self {
        RawEal {
            main_lcore: 0,
            main_cpu: None,
            no_huge: false,
            no_pci: false,
            memory_mb: None,
            file_prefix: "rvs".to_owned(),
            vdevs: Vec::new(),
            allow: Vec::new(),
            hugepage_dir: None,
            telemetry: false,
            extra_args: Vec::new(),
        }
    }
}

fn one() -> u16 {
    1
}
fn desc_default() -> u16 {
    1024
}
fn mtu_default() -> u16 {
    1500
}

/// `[[port]]`: one Ethernet port.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPort {
    pub name: String,
    pub device: String,
    #[serde(default = "one")]
    pub rx_queues: u16,
    /// Absent = one per worker.
    #[serde(default)]
    pub tx_queues: Option<u16>,
    #[serde(default = "desc_default")]
    pub rx_desc: u16,
    #[serde(default = "desc_default")]
    pub tx_desc: u16,
    #[serde(default = "mtu_default")]
    pub mtu: u16,
    #[serde(default)]
    pub mac: Option<String>,
    #[serde(default)]
    pub promiscuous: bool,
    /// Name of the kernel interface (exception path) created for this port; absent = none.
    #[serde(default)]
    pub kernel_iface: Option<String>,
    /// Addresses the host kernel owns on this port (`a.b.c.d/len`), set on `kernel_iface`.
    #[serde(default)]
    pub kernel_addrs: Vec<String>,
}

/// `kind` of an `[[addr]]`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RawAddrKind {
    Host,
    Vip,
    Local,
}

/// `[[addr]]`: an address the director owns on a port.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAddr {
    pub port: String,
    pub ip: String,
    pub kind: RawAddrKind,
    /// A VIP that starts in standby (director HA: keepalived's notify scripts take it).
    #[serde(default)]
    pub standby: bool,
}

/// `[[route]]`: a static route.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRoute {
    pub dst: String,
    #[serde(default)]
    pub via: Option<String>,
    pub port: String,
    #[serde(default)]
    pub metric: u32,
}

/// `[[neigh.static]]`: a neighbour whose MAC is fixed.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStaticNeigh {
    pub ip: String,
    pub mac: String,
    pub port: String,
}

/// One `{ port, queue }` entry of a worker's `rx` list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRxQueue {
    pub port: String,
    pub queue: u16,
}

/// `[[worker]]`: one polling lcore.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWorker {
    pub lcore: u32,
    #[serde(default)]
    pub cpu: Option<u32>,
    #[serde(default)]
    pub rx: Vec<RawRxQueue>,
}

/// `[dataplane].idle_backoff`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawIdleBackoff {
    pub empty_polls: u32,
    pub sleep_us: u32,
    /// The sleep doubles while the worker stays idle, up to this; absent = `sleep_us`.
    #[serde(default)]
    pub max_sleep_us: Option<u32>,
}

/// `[dataplane]`: worker loop and packet memory.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawDataplane {
    pub burst: u16,
    /// Absent = the minimum the ports and workers need, rounded up to 2^n - 1.
    pub mbufs: Option<u32>,
    pub mbuf_cache: u32,
    pub idle_backoff: Option<RawIdleBackoff>,
    /// Connection table capacity of each worker (connections plus persistence templates).
    pub conns_per_worker: u32,
    /// `"auto"` (the default) or `"off"`.
    pub tx_checksum_offload: String,
    /// Where FULLNAT/SNAT local port sets start at each start: `"random"` (the default) or
    /// `"first"`.
    pub local_port_start: String,
}

impl Default for RawDataplane {
    fn default() -> Self {
        RawDataplane {
            burst: 32,
            mbufs: None,
            mbuf_cache: 256,
            idle_backoff: None,
            conns_per_worker: 1 << 20,
            tx_checksum_offload: "auto".to_owned(),
            local_port_start: "random".to_owned(),
        }
    }
}

/// `[neigh]`: neighbour (ARP) table parameters, and `[[neigh.static]]` entries.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawNeigh {
    pub timeout_s: u32,
    pub pending_per_neigh: u32,
    pub pending_total: u32,
    pub max_entries: u32,
    pub retry_ms: u32,
    pub probes: u32,
    /// Unicast probes per second to confirm used STALE entries (0 = unlimited).
    pub confirm_pps: u32,
    #[serde(rename = "static")]
    pub statics: Vec<RawStaticNeigh>,
}

impl Default for RawNeigh {
    fn default() -> Self {
        RawNeigh {
            timeout_s: 300,
            pending_per_neigh: 16,
            pending_total: 1024,
            max_entries: 4096,
            retry_ms: 1000,
            probes: 3,
            confirm_pps: 100,
            statics: Vec::new(),
        }
    }
}

/// `[ctrl]`: the control socket.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawCtrl {
    pub socket: String,
    pub group: Option<String>,
}

impl Default for RawCtrl {
    fn default() -> Self {
        RawCtrl { socket: "/run/rvs/rvs.sock".to_owned(), group: None }
    }
}

/// `[metrics]`: the Prometheus exporter.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawMetrics {
    pub listen: Option<String>,
}

/// `[exception]`: limits of the exception path (the kernel interfaces of `[[port]]`s).
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawException {
    pub to_kernel_pps: u64,
    pub to_kernel_burst: u64,
    pub from_kernel_pps: u64,
    pub from_kernel_burst: u64,
    pub poll_us: u32,
}

impl Default for RawException {
    fn default() -> Self {
        RawException {
            to_kernel_pps: 20_000,
            to_kernel_burst: 512,
            from_kernel_pps: 20_000,
            from_kernel_burst: 512,
            poll_us: 100,
        }
    }
}

/// `[guard]`: the load balancer's flood defences, per worker (see `check/guard.rs`).
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawGuard {
    /// Most TCP connections in SYN_RECV per worker; absent = a quarter of
    /// `dataplane.conns_per_worker`; 0 = no budget of their own.
    pub embryonic_max: Option<u32>,
    pub syn_recv_pressure_timeout_s: u32,
    pub tcp_share_pct: u8,
    pub udp_share_pct: u8,
    pub other_share_pct: u8,
    /// Resets per second per worker for SYNs with no dest; 0 = unlimited.
    pub reset_pps: u32,
    pub reset_burst: u32,
}

impl Default for RawGuard {
    fn default() -> Self {
        let d = crate::ipvs::guard::GuardConfig::protective(1 << 20);
        RawGuard {
            embryonic_max: None,
            syn_recv_pressure_timeout_s: d.syn_recv_pressure_timeout,
            tcp_share_pct: d.tcp_share,
            udp_share_pct: d.udp_share,
            other_share_pct: d.other_share,
            reset_pps: d.reset_pps,
            reset_burst: d.reset_burst,
        }
    }
}
