//! The director's own IPv6, as configured (issue 16 item 1): IPv6 `[[addr]]` blocks, IPv6
//! `[[route]]`s and `[[neigh.static]]` entries, and the `[nd]` section (neighbour discovery and
//! duplicate address detection).
//!
//! Owns the checked IPv6 types ([`Ipv6Config`], [`Addr6`], [`Route6`], [`StaticNeigh6`],
//! [`NdConfig`]) and the raw `[nd]` keys. The IPv4 sections keep their own types; an entry of
//! those sections whose address is IPv6 (it has a colon) is checked here instead (see
//! `check/net6.rs`). IPv6 services are refused by the service checks: the data path does not
//! forward IPv6 yet (docs/ipv6.md).

use core::time::Duration;
use std::net::Ipv6Addr;

use serde::Deserialize;

use super::checked::AddrKind;
use super::ip6::Ipv6Net;

/// `[nd]` as written.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawNd {
    pub dad_transmits: u32,
    pub dad_retrans_ms: u32,
    pub unsolicited_na: u32,
    pub pps: u64,
    pub burst: u64,
}

impl Default for RawNd {
    fn default() -> Self {
        RawNd { dad_transmits: 1, dad_retrans_ms: 1000, unsolicited_na: 1, pps: 1000, burst: 100 }
    }
}

/// `[nd]`, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NdConfig {
    /// Duplicate address detection probes per address (0 = addresses usable at once), 0..=10.
    pub dad_transmits: u32,
    /// Time between DAD probes, and the wait after the last one.
    pub dad_retrans: Duration,
    /// Unsolicited advertisements per address once usable, 0..=3 (RFC 4861's limit).
    pub unsolicited_na: u32,
    /// ND frames one worker handles per second (0 = unlimited).
    pub pps: u64,
    /// Burst of that rate.
    pub burst: u64,
}

impl Default for NdConfig {
    fn default() -> Self {
        NdConfig {
            dad_transmits: 1,
            dad_retrans: Duration::from_secs(1),
            unsolicited_na: 1,
            pps: 1000,
            burst: 100,
        }
    }
}

/// An IPv6 `[[addr]]`, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Addr6 {
    /// Index of the port.
    pub port: u16,
    /// The address: global or unique-local unicast, never link-local (those are the kernel
    /// interface's).
    pub ip: Ipv6Addr,
    /// The on-link prefix for `Host`, 128 for `Vip` and `Local`.
    pub prefix_len: u8,
    /// What it is for.
    pub kind: AddrKind,
}

impl Addr6 {
    /// The address with its prefix length.
    pub fn net(&self) -> Ipv6Net {
        Ipv6Net::new(self.ip, self.prefix_len).unwrap_or(Ipv6Net::ANY)
    }
}

/// An IPv6 `[[route]]`, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route6 {
    /// Destination network, host bits clear (`::/0` for the default route).
    pub dst: Ipv6Net,
    /// Next hop: inside a host prefix of the port, or link-local; `None` = on the link.
    pub via: Option<Ipv6Addr>,
    /// Index of the outgoing port.
    pub port: u16,
    /// Preference among routes to the same destination; lower wins.
    pub metric: u32,
}

/// An IPv6 `[[neigh.static]]`, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StaticNeigh6 {
    /// The neighbour: inside a host prefix of the port, or link-local.
    pub ip: Ipv6Addr,
    /// Its MAC, unicast.
    pub mac: [u8; 6],
    /// Index of the port.
    pub port: u16,
}

/// Everything IPv6 of the director's own, checked.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ipv6Config {
    /// IPv6 `[[addr]]`s, in file order.
    pub addrs: Vec<Addr6>,
    /// IPv6 `[[route]]`s, in file order.
    pub routes: Vec<Route6>,
    /// IPv6 `[[neigh.static]]`s, in file order.
    pub neighs: Vec<StaticNeigh6>,
    /// `[nd]`.
    pub nd: NdConfig,
}

impl Ipv6Config {
    /// Whether the director has any IPv6 address (otherwise it handles no IPv6 at all).
    pub fn enabled(&self) -> bool {
        !self.addrs.is_empty()
    }
}

/// Whether a config text names an IPv6 address (the way the shared sections tell the
/// families apart: only IPv6 text has a colon).
pub(crate) fn is_v6_text(s: &str) -> bool {
    s.contains(':')
}
