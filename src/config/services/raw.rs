//! `[timeouts]`, `[[service]]` with its `[[service.dest]]` entries, and `[[snat]]` as written.
//!
//! Owns these key names and their defaults only. Values stay text where the checks must name a
//! bad one with its fix (protocols, addresses, forwarding methods, tunnel types); numbers are
//! typed so that a string where a number belongs is a syntax error with its line. `fwmark` is
//! read only to be refused with the reason (rvs has no firewall-mark services).

use serde::Deserialize;

/// `[timeouts]`: as `rvsadm --set tcp tcpfin udp`; 0 or absent keeps the default.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawTimeouts {
    pub tcp: u32,
    pub tcpfin: u32,
    pub udp: u32,
}

/// `[[service]]`: a virtual service, as `rvsadm -A` with its `-a` and `-P` lines.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawService {
    /// `tcp` or `udp`; required (checked, so that a missing one names its service).
    pub proto: Option<String>,
    /// `a.b.c.d:port`; required.
    pub vip: Option<String>,
    /// Absent = `wlc`.
    pub scheduler: Option<String>,
    pub flags: Vec<String>,
    pub persistence: Option<u32>,
    pub netmask: Option<String>,
    pub one_packet: bool,
    pub laddrs: Vec<String>,
    pub toa: bool,
    /// Never valid; present so that the refusal can say why and what to use instead.
    pub fwmark: Option<toml::Value>,
    #[serde(rename = "dest")]
    pub dests: Vec<RawDest>,
}

fn one() -> u32 {
    1
}

/// `[[service.dest]]`: a real server, as `rvsadm -a`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDest {
    pub addr: String,
    /// Absent = `dr`, as `-a` without a forwarding switch.
    #[serde(default)]
    pub fwd: Option<String>,
    #[serde(default = "one")]
    pub weight: u32,
    #[serde(default)]
    pub upper: u32,
    #[serde(default)]
    pub lower: u32,
    #[serde(default)]
    pub tun_type: Option<String>,
    #[serde(default)]
    pub tun_port: Option<u16>,
    #[serde(default)]
    pub tun_csum: Option<String>,
}

/// `[[snat]]`: a source-NAT rule.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSnat {
    pub src: String,
    /// Absent = any destination.
    #[serde(default)]
    pub dst: Option<String>,
    /// Absent = `any`.
    #[serde(default)]
    pub proto: Option<String>,
    pub out: String,
}
