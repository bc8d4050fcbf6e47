//! The plain data rvsnet and rvsd exchange about the director's plumbing.
//!
//! Owns [`NetRequest`] (one operation) and [`NetReply`] (its data), carried inside the control
//! protocol's `Request::Net` / `Reply::Net`. No behaviour beyond naming; the daemon validates
//! changes (`daemon::netctl`), rvsnet formats listings (`rvsnet::format`).

use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;

/// What an address of the director is for (as in the config's `[[addr]] kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NetAddrKind {
    /// The director's own address on the link (connected route, ARP probe source).
    Host,
    /// A virtual IP.
    Vip,
    /// A local address (FULLNAT source toward real servers, SNAT WAN address).
    Local,
}

impl NetAddrKind {
    /// Lower-case name, as the config and rvsnet write it.
    pub fn name(self) -> &'static str {
        match self {
            NetAddrKind::Host => "host",
            NetAddrKind::Vip => "vip",
            NetAddrKind::Local => "local",
        }
    }

    /// Parses `host`, `vip` or `local`.
    pub fn from_name(s: &str) -> Option<NetAddrKind> {
        [NetAddrKind::Host, NetAddrKind::Vip, NetAddrKind::Local]
            .into_iter()
            .find(|k| k.name() == s)
    }
}

/// An address to add: `addr add IP/LEN dev PORT [kind host|vip|local]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddrSpec {
    /// Port name (the config's `[[port]] name`).
    pub port: String,
    /// The address.
    pub ip: Ipv4Addr,
    /// Prefix length of the attached network.
    pub prefix_len: u8,
    /// What it is for.
    pub kind: NetAddrKind,
}

/// A route to add or delete: `route add|del PREFIX/LEN [via GW] [dev PORT]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteSpec {
    /// Network address (host bits zero).
    pub prefix: Ipv4Addr,
    /// Prefix length (0 = default route).
    pub prefix_len: u8,
    /// Next-hop router; `None` for an on-link route.
    pub via: Option<Ipv4Addr>,
    /// Port name; on `add` it may be left out when `via` is on exactly one port's network.
    pub port: Option<String>,
}

/// One rvsnet operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NetRequest {
    /// `addr show`.
    AddrShow,
    /// `addr add`.
    AddrAdd(AddrSpec),
    /// `addr del IP [dev PORT]`.
    AddrDel {
        /// The address.
        ip: Ipv4Addr,
        /// Port it must be on, if given.
        port: Option<String>,
    },
    /// `addr standby VIP`: keep the VIP and its services, stop answering for it (director
    /// HA: the other director is master).
    AddrStandby {
        /// The VIP.
        ip: Ipv4Addr,
    },
    /// `addr take VIP`: answer for the VIP again and announce it with gratuitous ARPs.
    AddrTake {
        /// The VIP.
        ip: Ipv4Addr,
    },
    /// `route show`.
    RouteShow,
    /// `route add`.
    RouteAdd(RouteSpec),
    /// `route del`.
    RouteDel(RouteSpec),
    /// `neigh show`, or `neigh flush` with `flush`.
    Neigh {
        /// Forget learned and incomplete entries after listing them.
        flush: bool,
    },
    /// `link show [-s]`.
    LinkShow {
        /// Add per-core counters.
        stats: bool,
    },
    /// `steering show`.
    SteeringShow,
}

/// Port-pool usage of a local address.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PoolUsage {
    /// Ports in use on each worker, by worker index.
    pub in_use: Vec<u64>,
    /// Times a new connection found no free port on this address, over all workers.
    pub misses: u64,
}

/// One address of a port.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddrEntry {
    /// The address.
    pub ip: Ipv4Addr,
    /// Prefix length.
    pub prefix_len: u8,
    /// What it is for.
    pub kind: NetAddrKind,
    /// Pool usage, for local addresses.
    pub pool: Option<PoolUsage>,
    /// A VIP held in standby (director HA): owned, not answered for.
    #[serde(default)]
    pub standby: bool,
}

/// A port and its addresses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortAddrs {
    /// Port index (config order).
    pub index: u16,
    /// Port name.
    pub port: String,
    /// MAC address.
    pub mac: [u8; 6],
    /// IP MTU.
    pub mtu: u16,
    /// Addresses in configuration order, then added ones.
    pub addrs: Vec<AddrEntry>,
}

/// One route.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteEntry {
    /// Network address.
    pub prefix: Ipv4Addr,
    /// Prefix length.
    pub prefix_len: u8,
    /// Next hop, if any.
    pub via: Option<Ipv4Addr>,
    /// Port name.
    pub port: String,
    /// A connected route (from a host address); removed with the address, not `route del`.
    pub connected: bool,
}

/// State of a neighbour entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NeighStateName {
    /// Resolution under way.
    Incomplete,
    /// Learned, not expired.
    Reachable,
    /// From the config.
    Permanent,
    /// Learned from ARP the director did not ask for; not confirmed, evicted first.
    Stale,
}

impl NeighStateName {
    /// Upper-case name, as `ip neigh` prints states.
    pub fn name(self) -> &'static str {
        match self {
            NeighStateName::Incomplete => "INCOMPLETE",
            NeighStateName::Reachable => "REACHABLE",
            NeighStateName::Permanent => "PERMANENT",
            NeighStateName::Stale => "STALE",
        }
    }
}

/// One neighbour entry of one worker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeighEntry {
    /// Worker index.
    pub worker: usize,
    /// Neighbour address.
    pub ip: Ipv4Addr,
    /// Port name.
    pub port: String,
    /// State.
    pub state: NeighStateName,
    /// MAC, unless incomplete.
    pub mac: Option<[u8; 6]>,
    /// Seconds since a learned entry was last confirmed.
    pub age_s: Option<u64>,
    /// Seconds until a learned entry expires.
    pub expires_s: Option<u64>,
    /// Packets waiting for resolution.
    pub pending: u32,
}

/// Counters of a port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PortCounters {
    /// Packets received.
    pub rx_packets: u64,
    /// Bytes received.
    pub rx_bytes: u64,
    /// Packets the NIC dropped: rx ring full.
    pub rx_missed: u64,
    /// Rx mbuf allocation failures.
    pub rx_nombuf: u64,
    /// Erroneous packets received.
    pub rx_errors: u64,
    /// Packets sent.
    pub tx_packets: u64,
    /// Bytes sent.
    pub tx_bytes: u64,
    /// Failed transmissions.
    pub tx_errors: u64,
}

/// One DPDK port.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkEntry {
    /// Port index (config order).
    pub index: u16,
    /// Port name.
    pub port: String,
    /// DPDK device name (PCI address or vdev).
    pub device: String,
    /// Driver.
    pub driver: String,
    /// MAC address.
    pub mac: [u8; 6],
    /// IP MTU.
    pub mtu: u16,
    /// Link up; `None` when it could not be read.
    pub up: Option<bool>,
    /// Speed in Mbit/s (0 = unknown).
    pub speed_mbps: u32,
    /// Full duplex.
    pub full_duplex: bool,
    /// Counters; `None` when they could not be read.
    pub counters: Option<PortCounters>,
}

/// Per-core counters for `link show -s`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoreEntry {
    /// Worker index.
    pub core: usize,
    /// Polls that received packets.
    pub busy_polls: u64,
    /// Polls that received nothing.
    pub idle_polls: u64,
    /// Packets received (from the NIC and from other cores).
    pub rx_packets: u64,
    /// Packets sent.
    pub tx_packets: u64,
    /// Packets taken from other cores' redirect rings.
    pub redirects_in: u64,
    /// Packets for another core dropped because its ring was full.
    pub redirects_lost: u64,
    /// Packets dropped because the tx ring was full.
    pub tx_dropped: u64,
    /// Non-zero drop counters by reason (`net:` stack reasons, `lb:` balancer reasons).
    pub drops: Vec<(String, u64)>,
}

/// Reply steering of one port.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SteeringEntry {
    /// Port name.
    pub port: String,
    /// `rte_flow`, `software` or `none`.
    pub mode: String,
    /// Flow rules installed.
    pub rules: usize,
    /// Why this mode (the start log's words).
    pub detail: String,
}

/// Data of a successful [`NetRequest`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NetReply {
    /// The change is in force on every worker.
    Done,
    /// `addr show`.
    Addrs(Vec<PortAddrs>),
    /// `route show`.
    Routes(Vec<RouteEntry>),
    /// `neigh show`.
    Neighs(Vec<NeighEntry>),
    /// `link show`.
    Links {
        /// Ports.
        links: Vec<LinkEntry>,
        /// Per-core counters (empty without `-s`).
        cores: Vec<CoreEntry>,
    },
    /// `steering show`.
    Steering(Vec<SteeringEntry>),
}
