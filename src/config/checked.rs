//! The validated configuration: plain typed values that the daemon uses as they are.
//!
//! Owns the shapes of the checked types. A [`super::Config`] is only built by the checks, so every
//! index in it points at an existing element and every rule of the module doc holds; the element
//! types are plain data with public fields.

use core::time::Duration;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use super::ip::Ipv4Net;

/// `[eal]`, checked. [`super::Config::eal_args`] turns it into EAL arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eal {
    /// The lcore of the control plane.
    pub main_lcore: u32,
    /// The CPU the main lcore is pinned to.
    pub main_cpu: u32,
    /// Plain memory instead of hugepages (`--no-huge`).
    pub no_huge: bool,
    /// Do not probe PCI devices (`--no-pci`).
    pub no_pci: bool,
    /// Memory to reserve in MB (`-m`); `None` = EAL's default.
    pub memory_mb: Option<u32>,
    /// Prefix of the EAL runtime files; unique per running instance.
    pub file_prefix: String,
    /// Virtual devices, each `name,key=value,...` as `--vdev` takes it.
    pub vdevs: Vec<String>,
    /// PCI devices to probe, each `DDDD:BB:DD.F[,devargs]` with the address in full lower-case form.
    pub allow: Vec<String>,
    /// Mount point of hugetlbfs to use (`--huge-dir`).
    pub hugepage_dir: Option<PathBuf>,
    /// Keep DPDK's telemetry socket (default off: `--no-telemetry`).
    pub telemetry: bool,
    /// Passed to EAL last, verbatim.
    pub extra_args: Vec<String>,
}

/// What a port is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Device {
    /// A virtual device from `eal.vdevs`, by its name (`net_af_packet0`).
    Vdev(String),
    /// A PCI device, by its full lower-case address (`0000:3b:00.0`).
    Pci(String),
}

impl Device {
    /// The DPDK device name (what `rte_eth_dev_get_port_by_name` takes).
    pub fn name(&self) -> &str {
        match self {
            Device::Vdev(n) | Device::Pci(n) => n,
        }
    }
}

/// `[[port]]`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Port {
    /// Position in the file's `[[port]]` list; every other section refers to ports by it.
    /// Not the DPDK port id, which the daemon looks up from [`Port::device`].
    pub index: u16,
    /// The name other sections use.
    pub name: String,
    /// The device behind the port.
    pub device: Device,
    /// Receive queues, 1..=1024; spread by RSS when more than one.
    pub rx_queues: u16,
    /// Transmit queues, at least the number of workers (worker `i` sends on queue `i`).
    pub tx_queues: u16,
    /// Descriptors per receive queue.
    pub rx_desc: u16,
    /// Descriptors per transmit queue.
    pub tx_desc: u16,
    /// IP MTU, 68..=9216.
    pub mtu: u16,
    /// MAC to set instead of the device's own; unicast.
    pub mac: Option<[u8; 6]>,
    /// Receive frames for any destination MAC.
    pub promiscuous: bool,
    /// The port's kernel interface (exception path), if any.
    pub kernel: Option<KernelIface>,
}

/// A port's kernel interface: a tap the director creates, carrying what it does not consume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelIface {
    /// Interface name in the kernel (1-15 characters).
    pub name: String,
    /// Addresses the kernel owns there, with their prefix; the director never answers for them.
    pub addrs: Vec<Ipv4Net>,
}

/// Descriptors of each queue of a kernel interface (each rx one holds an mbuf).
pub const KERNEL_QUEUE_DESC: u16 = 256;

/// `[exception]`, checked: per-worker limits of the exception path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exception {
    /// Packets per second one worker hands to the kernel; 0 = unlimited.
    pub to_kernel_pps: u64,
    /// Packets the to-kernel bucket banks (1..=1_000_000).
    pub to_kernel_burst: u64,
    /// Packets per second one worker takes from the kernel; 0 = unlimited.
    pub from_kernel_pps: u64,
    /// Packets the from-kernel bucket banks.
    pub from_kernel_burst: u64,
    /// How often a worker polls its kernel queues (each poll is a system call).
    pub poll: Duration,
}

/// What an address is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddrKind {
    /// The director's own address on a connected network (DIP): answers ARP and ping, and its
    /// prefix makes the network connected.
    Host,
    /// A virtual service address (VIP), /32.
    Vip,
    /// A local address for FULLNAT/SNAT (LocalAddr), /32.
    Local,
}

/// `[[addr]]`, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Addr {
    /// Index of the port in [`super::Config::ports`].
    pub port: u16,
    /// The address.
    pub ip: Ipv4Addr,
    /// Prefix length: the connected network for `Host`, always 32 for `Vip` and `Local`.
    pub prefix_len: u8,
    /// What it is for.
    pub kind: AddrKind,
    /// A VIP that starts in standby (director HA): owned, not answered for until
    /// `rvsnet addr take`.
    pub standby: bool,
}

impl Addr {
    /// The address with its prefix length.
    pub fn net(&self) -> Ipv4Net {
        // prefix_len <= 32 holds for checked addresses; a /32 stands in otherwise.
        Ipv4Net::new(self.ip, self.prefix_len).unwrap_or(Ipv4Net::host(self.ip))
    }
}

/// `[[route]]`, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// Destination network, host bits clear (`0.0.0.0/0` for the default route).
    pub dst: Ipv4Net,
    /// Next hop inside a host prefix of the port; `None` = destination directly on the link.
    pub via: Option<Ipv4Addr>,
    /// Index of the outgoing port.
    pub port: u16,
    /// Preference among routes to the same destination; lower wins.
    pub metric: u32,
}

/// `[[neigh.static]]`, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StaticNeigh {
    /// The neighbour's address, inside a host prefix of the port.
    pub ip: Ipv4Addr,
    /// Its MAC, unicast.
    pub mac: [u8; 6],
    /// Index of the port it is reached on.
    pub port: u16,
}

/// One receive queue a worker polls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RxQueue {
    /// Index of the port.
    pub port: u16,
    /// Queue id on that port.
    pub queue: u16,
}

/// `[[worker]]`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Worker {
    /// Position in the file's `[[worker]]` list.
    pub index: u16,
    /// The EAL lcore it runs on; never the main lcore.
    pub lcore: u32,
    /// The CPU that lcore is pinned to.
    pub cpu: u32,
    /// The receive queues it polls; each queue of each port belongs to exactly one worker.
    pub rx: Vec<RxQueue>,
    /// The transmit queue it owns on every port: its index.
    pub tx_queue: u16,
}

/// `[dataplane].idle_backoff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdleBackoff {
    /// Empty polls in a row before sleeping.
    pub empty_polls: u32,
    /// How long the first sleep lasts.
    pub sleep: Duration,
    /// Longest sleep: each further idle poll doubles the sleep up to this.
    pub max_sleep: Duration,
}

/// `[dataplane]`, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dataplane {
    /// Packets per rx/tx burst, 1..=256.
    pub burst: u16,
    /// Mbufs in the packet pool; at least [`super::Config::min_mbufs`].
    pub mbufs: u32,
    /// Per-lcore mempool cache size, 0..=512.
    pub mbuf_cache: u32,
    /// `None` = busy polling.
    pub idle_backoff: Option<IdleBackoff>,
    /// Connection table capacity of each worker, 64..=2^27 (default 2^20).
    pub conns_per_worker: u32,
    /// Whether forwarded packets' IPv4/TCP/UDP checksums are left to ports that offer it.
    pub tx_checksum_offload: TxChecksumOffload,
    /// Where FULLNAT/SNAT local port sets start their search at each start of rvsd.
    pub local_port_start: LocalPortStart,
}

/// `[dataplane].local_port_start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LocalPortStart {
    /// At an offset drawn at each start, per port set: a restarted director does not walk the
    /// ports its real servers may still hold in TIME_WAIT from the last run.
    #[default]
    Random,
    /// At each set's first port (reproducible runs: golden captures, tests).
    First,
}

/// `[dataplane].tx_checksum_offload`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TxChecksumOffload {
    /// On every port whose driver advertises IPv4, TCP and UDP transmit checksum offloads.
    #[default]
    Auto,
    /// Never: checksums are always computed in software.
    Off,
}

/// `[neigh]`, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeighParams {
    /// How long a resolved entry stays valid.
    pub timeout: Duration,
    /// Packets held per unresolved neighbour; 0 = drop while resolving.
    pub pending_per_neigh: u32,
    /// Packets held for all unresolved neighbours together.
    pub pending_total: u32,
    /// Table capacity, static entries included.
    pub max_entries: u32,
    /// Time between ARP requests for an unresolved neighbour.
    pub retry: Duration,
    /// ARP requests before giving up on a neighbour.
    pub probes: u32,
    /// Unicast probes per second confirming used STALE entries (0 = unlimited).
    pub confirm_pps: u32,
}

/// `[ctrl]`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ctrl {
    /// Absolute path of the Unix control socket.
    pub socket: PathBuf,
    /// Group that may use the socket (mode 0660 instead of 0600); resolved at start.
    pub group: Option<String>,
}

/// `[metrics]`, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metrics {
    /// Where the Prometheus exporter listens; `None` = no exporter.
    pub listen: Option<SocketAddr>,
}
