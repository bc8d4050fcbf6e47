//! Control-plane model: the plain data rvsd and rvsadm exchange about services, real servers
//! (dests), local addresses, SNAT rules, connections and timeouts.
//!
//! Owns: the vocabulary types (serde, no behaviour beyond naming and validation) and the
//! validation rules every producer of these values must pass ([`ServiceSpec::validate`],
//! [`DestSpec::validate`]). Must not touch: sockets, the data plane, formatting of listings
//! (that is `rvsadm::format`). Data comes from the rvsadm command line (`rvsadm::cli`), from
//! restore files (`rvsadm::restore`) and, later, from the control socket.
//!
//! Names follow ipvsadm: a service is keyed by protocol, address and port (port 0 = all ports,
//! valid only with persistence); forwarding methods print as `Masq`, `Local`, `Tunnel`, `Route`,
//! `FullNat` and `SNAT`.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use thiserror::Error;

/// Longest timeout ipvsadm accepts for `-p` and `--set`, in seconds (31 days).
pub const MAX_TIMEOUT_S: u32 = 86_400 * 31;
/// Persistence timeout used when `-p` is given without a value: 300 s, as ipvsadm documents it
/// (its manual page) and as rvs's CLI reference fixes it. ipvsadm 1.31's library actually sends
/// `6*60` = 360 s; rvs follows the documented value.
pub const DEFAULT_PERSISTENCE_S: u32 = 300;
/// Largest real-server weight.
pub const MAX_WEIGHT: u32 = 65_535;
/// Largest connection threshold (`-x`, `-y`), C `INT_MAX`.
pub const MAX_THRESHOLD: u32 = i32::MAX as u32;
/// Scheduler used when `-s` is not given.
pub const DEFAULT_SCHEDULER: &str = "wlc";
/// Schedulers rvs implements, by their LVS names.
pub const SCHEDULERS: [&str; 14] =
    ["rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos"];
/// What rvs offers instead of firewall-mark services; part of the message users see.
pub const FWMARK_ALTERNATIVE: &str =
    "a match service (-H proto=...,src-range=...) or a per-port service (-t|-u host:port)";

/// Transport protocol of a virtual service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Protocol {
    /// TCP (IP protocol 6).
    Tcp,
    /// UDP (IP protocol 17).
    Udp,
}

impl Protocol {
    /// Name in listings: `TCP` or `UDP`.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
        }
    }
    /// Option that selects it on the command line: `-t` or `-u`.
    pub fn option(self) -> &'static str {
        match self {
            Protocol::Tcp => "-t",
            Protocol::Udp => "-u",
        }
    }
    /// Lower-case name as in /etc/services: `tcp` or `udp`.
    pub fn services_name(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

/// Identity of a virtual service: protocol, virtual address and port (0 = all ports).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ServiceKey {
    /// Transport protocol.
    pub proto: Protocol,
    /// Virtual address (VIP).
    pub addr: IpAddr,
    /// Virtual port; 0 means every port (persistent services only).
    pub port: u16,
}

/// Forwarding method of a real server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FwdMethod {
    /// NAT (`-m`): destination rewritten, replies come back through the director.
    Masq,
    /// The director itself serves (shown as `Local`, saved as `-g`).
    Local,
    /// IP tunnelling (`-i`): IPIP, GUE or GRE encapsulation.
    Tunnel,
    /// Direct routing (`-g`, the default): only the MAC is rewritten.
    Route,
    /// Full NAT (`-b` on a real server): both addresses rewritten, source from a local address.
    FullNat,
    /// Source NAT (`-J`): outbound traffic leaves from a local address.
    Snat,
}

impl FwdMethod {
    /// Name in listings (`Forward` column).
    pub fn name(self) -> &'static str {
        match self {
            FwdMethod::Masq => "Masq",
            FwdMethod::Local => "Local",
            FwdMethod::Tunnel => "Tunnel",
            FwdMethod::Route => "Route",
            FwdMethod::FullNat => "FullNat",
            FwdMethod::Snat => "SNAT",
        }
    }
    /// Option written by `-S`.
    pub fn switch(self) -> &'static str {
        match self {
            FwdMethod::Masq => "-m",
            FwdMethod::Tunnel => "-i",
            FwdMethod::Local | FwdMethod::Route => "-g",
            FwdMethod::FullNat => "-b",
            FwdMethod::Snat => "-J",
        }
    }
    /// Whether the real server must listen on the virtual port (DR and TUN do not rewrite ports).
    pub fn keeps_port(self) -> bool {
        matches!(self, FwdMethod::Route | FwdMethod::Tunnel)
    }
}

/// Tunnel encapsulation of a `Tunnel` real server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum TunType {
    /// IP in IP (the default).
    #[default]
    Ipip,
    /// Generic UDP Encapsulation; needs a destination port.
    Gue,
    /// Generic Routing Encapsulation.
    Gre,
}

impl TunType {
    /// Name as written on the command line and in listings.
    pub fn name(self) -> &'static str {
        match self {
            TunType::Ipip => "ipip",
            TunType::Gue => "gue",
            TunType::Gre => "gre",
        }
    }
    /// Parse `ipip`, `gue` or `gre`.
    pub fn from_name(s: &str) -> Option<TunType> {
        match s {
            "ipip" => Some(TunType::Ipip),
            "gue" => Some(TunType::Gue),
            "gre" => Some(TunType::Gre),
            _ => None,
        }
    }
}

/// Checksum mode of a GUE/GRE tunnel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum TunCsum {
    /// No checksum (the default), shown `-c`.
    #[default]
    NoCsum,
    /// Checksum, shown `+c`.
    Csum,
    /// Remote checksum offload (GUE only), shown `r+c`.
    RemCsum,
}

impl TunCsum {
    /// Short form in the `TunnelInfo` column.
    pub fn short(self) -> &'static str {
        match self {
            TunCsum::NoCsum => "-c",
            TunCsum::Csum => "+c",
            TunCsum::RemCsum => "r+c",
        }
    }
    /// Option that selects it.
    pub fn option(self) -> &'static str {
        match self {
            TunCsum::NoCsum => "--tun-nocsum",
            TunCsum::Csum => "--tun-csum",
            TunCsum::RemCsum => "--tun-remcsum",
        }
    }
}

/// Tunnel details of a `Tunnel` real server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct TunInfo {
    /// Encapsulation.
    pub kind: TunType,
    /// GUE destination port; 0 when not applicable.
    pub port: u16,
    /// Checksum mode.
    pub csum: TunCsum,
}

/// Scheduler flags (`-b` on a service). Three bits, named after the scheduler: for `sh` bit 1 is
/// `sh-fallback` and bit 2 `sh-port`, for `mh` `mh-fallback`/`mh-port`, otherwise `flag-1..3`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct SchedFlags(pub u8);

impl SchedFlags {
    /// Scheduler flag 1 (`sh-fallback`, `mh-fallback`, `flag-1`).
    pub const FLAG_1: u8 = 1;
    /// Scheduler flag 2 (`sh-port`, `mh-port`, `flag-2`).
    pub const FLAG_2: u8 = 2;
    /// Scheduler flag 3 (`flag-3`).
    pub const FLAG_3: u8 = 4;

    /// No flag set.
    pub fn is_empty(self) -> bool {
        self.0 & (Self::FLAG_1 | Self::FLAG_2 | Self::FLAG_3) == 0
    }

    /// Parse a comma-separated flag list for `scheduler`.
    pub fn parse(scheduler: &str, list: &str) -> Result<SchedFlags, ModelError> {
        let mut bits = 0u8;
        for flag in list.split(',').filter(|f| !f.is_empty()) {
            let (bit, only) = match flag {
                "flag-1" => (Self::FLAG_1, None),
                "flag-2" => (Self::FLAG_2, None),
                "flag-3" => (Self::FLAG_3, None),
                "sh-fallback" => (Self::FLAG_1, Some("sh")),
                "sh-port" => (Self::FLAG_2, Some("sh")),
                "mh-fallback" => (Self::FLAG_1, Some("mh")),
                "mh-port" => (Self::FLAG_2, Some("mh")),
                _ => return Err(ModelError::InvalidSchedFlag(flag.to_string())),
            };
            if only.is_some_and(|s| s != scheduler) {
                return Err(ModelError::IncompatibleSchedFlag(flag.to_string()));
            }
            bits |= bit;
        }
        Ok(SchedFlags(bits))
    }

    /// Comma-separated names as listings show them for `scheduler`.
    pub fn names(self, scheduler: &str) -> String {
        let table: &[(u8, &str)] = match scheduler {
            "sh" => &[(Self::FLAG_1, "sh-fallback"), (Self::FLAG_2, "sh-port")],
            "mh" => &[(Self::FLAG_1, "mh-fallback"), (Self::FLAG_2, "mh-port")],
            _ => &[(Self::FLAG_1, "flag-1"), (Self::FLAG_2, "flag-2"), (Self::FLAG_3, "flag-3")],
        };
        let names: Vec<&str> =
            table.iter().filter(|(bit, _)| self.0 & bit != 0).map(|(_, n)| *n).collect();
        names.join(",")
    }
}

/// Persistence granularity (`-M`): a dotted mask for IPv4 services, a prefix length for IPv6.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Netmask {
    /// IPv4 mask; any 32-bit value is accepted, as ipvsadm does.
    V4(Ipv4Addr),
    /// IPv6 prefix length, 1..=128.
    V6(u8),
}

impl Netmask {
    /// The per-host default for the family of `addr` (/32 or /128).
    pub fn host(addr: IpAddr) -> Netmask {
        match addr {
            IpAddr::V4(_) => Netmask::V4(Ipv4Addr::BROADCAST),
            IpAddr::V6(_) => Netmask::V6(128),
        }
    }
    /// True for /32 and /128 (listings then omit the mask).
    pub fn is_host(self) -> bool {
        matches!(self, Netmask::V4(m) if m == Ipv4Addr::BROADCAST) || self == Netmask::V6(128)
    }
}

impl fmt::Display for Netmask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Netmask::V4(m) => write!(f, "{m}"),
            Netmask::V6(p) => write!(f, "{p}"),
        }
    }
}

/// A virtual service as configured.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceSpec {
    /// Protocol, address, port.
    pub key: ServiceKey,
    /// Scheduler name (`wlc` by default).
    pub scheduler: String,
    /// Scheduler flags.
    pub flags: SchedFlags,
    /// Persistence timeout in seconds; `None` = not persistent.
    pub persistence: Option<u32>,
    /// Persistence granularity.
    pub netmask: Netmask,
    /// One-packet scheduling (UDP only).
    pub one_packet: bool,
    /// Persistence engine name, if any.
    pub pe: Option<String>,
    /// FULLNAT: carry the client's address to the real server in TCP option 254 (TOA). Not an
    /// ipvsadm option: set from rvsd's config (`toa = true`), absent from `-S` output.
    #[serde(default)]
    pub toa: bool,
}

impl ServiceSpec {
    /// A service with ipvsadm's defaults: `wlc`, not persistent, host mask.
    pub fn new(key: ServiceKey) -> ServiceSpec {
        ServiceSpec {
            key,
            scheduler: DEFAULT_SCHEDULER.to_string(),
            flags: SchedFlags::default(),
            persistence: None,
            netmask: Netmask::host(key.addr),
            one_packet: false,
            pe: None,
            toa: false,
        }
    }

    /// Rules every service must satisfy wherever it comes from.
    pub fn validate(&self) -> Result<(), ModelError> {
        if self.key.port == 0 && self.persistence.is_none() {
            return Err(ModelError::ZeroPortNotPersistent);
        }
        if self.one_packet && self.key.proto != Protocol::Udp {
            return Err(ModelError::OnePacketNotUdp);
        }
        if let Some(t) = self.persistence {
            if t == 0 || t > MAX_TIMEOUT_S {
                return Err(ModelError::InvalidTimeout(t.to_string()));
            }
        }
        match (self.key.addr, self.netmask) {
            (IpAddr::V4(_), Netmask::V4(_)) => {}
            (IpAddr::V6(_), Netmask::V6(p)) if (1..=128).contains(&p) => {}
            (IpAddr::V6(_), Netmask::V6(_)) => return Err(ModelError::IllegalIpv6Netmask),
            _ => return Err(ModelError::IllegalNetmask),
        }
        if !SCHEDULERS.contains(&self.scheduler.as_str()) || self.pe.is_some() {
            return Err(ModelError::SchedulerNotFound);
        }
        Ok(())
    }
}

/// A real server (dest) of a service as configured.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestSpec {
    /// Real server address.
    pub addr: IpAddr,
    /// Real server port (the virtual port for DR and TUN).
    pub port: u16,
    /// Forwarding method.
    pub fwd: FwdMethod,
    /// Weight 0..=65535; 0 = quiescent (no new connections).
    pub weight: u32,
    /// Upper connection threshold (`-x`), 0 = none.
    pub upper: u32,
    /// Lower connection threshold (`-y`), 0 = none.
    pub lower: u32,
    /// Tunnel details (only for `Tunnel`).
    pub tun: Option<TunInfo>,
}

impl DestSpec {
    /// A dest with ipvsadm's defaults: direct routing, weight 1, no thresholds.
    pub fn new(addr: IpAddr, port: u16) -> DestSpec {
        DestSpec { addr, port, fwd: FwdMethod::Route, weight: 1, upper: 0, lower: 0, tun: None }
    }

    /// Rules every dest of `service` must satisfy.
    pub fn validate(&self, service: &ServiceKey) -> Result<(), ModelError> {
        if self.weight > MAX_WEIGHT {
            return Err(ModelError::WeightRange(self.weight));
        }
        if self.upper > MAX_THRESHOLD {
            return Err(ModelError::IllegalUThreshold);
        }
        if self.lower > MAX_THRESHOLD {
            return Err(ModelError::IllegalLThreshold);
        }
        if self.lower > self.upper {
            return Err(ModelError::ThresholdOrder);
        }
        if self.addr.is_ipv4() != service.addr.is_ipv4() && self.fwd != FwdMethod::Tunnel {
            return Err(ModelError::DifferentFamily);
        }
        if self.tun.is_some() && self.fwd != FwdMethod::Tunnel {
            return Err(ModelError::TunnelOptionsConflict);
        }
        Ok(())
    }
}

/// Packet and byte counters (totals since creation or the last zero).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Stats {
    /// Connections scheduled.
    pub conns: u64,
    /// Packets client -> server.
    pub inpkts: u64,
    /// Packets server -> client.
    pub outpkts: u64,
    /// Bytes client -> server.
    pub inbytes: u64,
    /// Bytes server -> client.
    pub outbytes: u64,
}

impl Stats {
    /// Counts one packet of `len` bytes, client -> server (`inbound`) or back.
    #[inline]
    pub fn count_packet(&mut self, inbound: bool, len: u32) {
        if inbound {
            self.inpkts += 1;
            self.inbytes += u64::from(len);
        } else {
            self.outpkts += 1;
            self.outbytes += u64::from(len);
        }
    }
}

/// Rates estimated over the last seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Rates {
    /// Connections per second.
    pub cps: u64,
    /// Packets per second client -> server.
    pub inpps: u64,
    /// Packets per second server -> client.
    pub outpps: u64,
    /// Bytes per second client -> server.
    pub inbps: u64,
    /// Bytes per second server -> client.
    pub outbps: u64,
}

/// A dest as listed: configuration plus live counters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestInfo {
    /// Configuration.
    pub spec: DestSpec,
    /// Established connections.
    pub active: u32,
    /// Other connections.
    pub inactive: u32,
    /// Persistence templates pointing at this dest.
    pub persist: u32,
    /// Totals.
    pub stats: Stats,
    /// Rates.
    pub rates: Rates,
}

impl DestInfo {
    /// A dest with zero counters.
    pub fn new(spec: DestSpec) -> DestInfo {
        DestInfo {
            spec,
            active: 0,
            inactive: 0,
            persist: 0,
            stats: Stats::default(),
            rates: Rates::default(),
        }
    }
}

/// A service as listed: configuration, counters and dests.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceInfo {
    /// Configuration.
    pub spec: ServiceSpec,
    /// Totals.
    pub stats: Stats,
    /// Rates.
    pub rates: Rates,
    /// Real servers.
    pub dests: Vec<DestInfo>,
}

impl ServiceInfo {
    /// A service with zero counters and no dests.
    pub fn new(spec: ServiceSpec) -> ServiceInfo {
        ServiceInfo { spec, stats: Stats::default(), rates: Rates::default(), dests: Vec::new() }
    }
}

/// One connection entry as listed by `-c`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnEntry {
    /// Protocol.
    pub proto: Protocol,
    /// State name (`ESTABLISHED`, `FIN_WAIT`, ...; `UDP` for UDP).
    pub state: String,
    /// Seconds until expiry.
    pub expire_s: u32,
    /// Client address.
    pub client: SocketAddr,
    /// Virtual address.
    pub virt: SocketAddr,
    /// Real server address.
    pub dest: SocketAddr,
    /// Local address of a FULLNAT/SNAT connection.
    pub local: Option<SocketAddr>,
}

/// Connection timeouts in seconds (`--set`); 0 in an update keeps the current value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeouts {
    /// TCP ESTABLISHED.
    pub tcp: u32,
    /// TCP FIN_WAIT.
    pub tcpfin: u32,
    /// UDP.
    pub udp: u32,
}

impl Default for Timeouts {
    /// The IPVS defaults: 900 120 300.
    fn default() -> Self {
        Timeouts { tcp: 900, tcpfin: 120, udp: 300 }
    }
}

/// A local address of a FULLNAT/SNAT service (`-P/-Q -z addr [-F ifname]`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LocalAddrSpec {
    /// The address.
    pub addr: IpAddr,
    /// Interface the address lives on, if given.
    pub ifname: Option<String>,
}

/// A local address as listed by `-G`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalAddrInfo {
    /// Configuration.
    pub spec: LocalAddrSpec,
    /// Port allocation conflicts seen.
    pub conflicts: u64,
    /// Connections using it.
    pub conns: u32,
}

/// The local addresses of one service, as listed by `-G`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceLocalAddrs {
    /// The service.
    pub key: ServiceKey,
    /// Its local addresses.
    pub laddrs: Vec<LocalAddrInfo>,
}

/// An inclusive address range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AddrRange {
    /// First address.
    pub first: IpAddr,
    /// Last address.
    pub last: IpAddr,
}

impl AddrRange {
    /// Whether `a` is within the range (same family only).
    pub fn contains(&self, a: IpAddr) -> bool {
        match (self.first, self.last, a) {
            (IpAddr::V4(f), IpAddr::V4(l), IpAddr::V4(x)) => f <= x && x <= l,
            (IpAddr::V6(f), IpAddr::V6(l), IpAddr::V6(x)) => f <= x && x <= l,
            _ => false,
        }
    }
}

/// Protocols a source-NAT rule matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum SnatProto {
    /// TCP, UDP and ICMP (the default).
    #[default]
    Any,
    /// TCP only.
    Tcp,
    /// UDP only.
    Udp,
    /// ICMP only (echo; the identifier plays the port's part).
    Icmp,
}

impl SnatProto {
    /// Lower-case name as rvsd's config writes it: `any`, `tcp`, `udp`, `icmp`.
    pub fn name(self) -> &'static str {
        match self {
            SnatProto::Any => "any",
            SnatProto::Tcp => "tcp",
            SnatProto::Udp => "udp",
            SnatProto::Icmp => "icmp",
        }
    }
    /// Parse `any`, `tcp`, `udp` or `icmp`.
    pub fn from_name(s: &str) -> Option<SnatProto> {
        [SnatProto::Any, SnatProto::Tcp, SnatProto::Udp, SnatProto::Icmp]
            .into_iter()
            .find(|p| p.name() == s)
    }
}

/// A source-NAT rule: traffic matching it leaves from `out_addr`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SnatRule {
    /// Source addresses matched; `None` = any.
    pub src: Option<AddrRange>,
    /// Destination addresses matched; `None` = any.
    pub dst: Option<AddrRange>,
    /// Protocols matched.
    pub proto: SnatProto,
    /// Source address used on the way out.
    pub out_addr: IpAddr,
}

/// What a match service (`-H`, DPVS's SNAT spelling) selects: the fields of a `[[snat]]` rule
/// without its source address. The text forms are `rvsadm::matchspec`'s.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MatchSpec {
    /// Protocols matched.
    pub proto: SnatProto,
    /// Source addresses matched; `None` = any.
    pub src: Option<AddrRange>,
    /// Destination addresses matched; `None` = any.
    pub dst: Option<AddrRange>,
}

/// A match service: traffic its [`MatchSpec`] selects leaves from its one SNAT real server
/// (`-a -H ... -r WAN_ADDR -J`). With that real server it is exactly one [`SnatRule`]; the
/// TOML `[[snat]]` rules load as match services.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchService {
    /// What it selects.
    pub spec: MatchSpec,
    /// Scheduler name (one real server: it only shows).
    pub scheduler: String,
    /// Its SNAT address, as a `-J` real server (at most one).
    pub dests: Vec<DestInfo>,
    /// Connections, packets and bytes of the rule (summed over workers, since `-Z`); always
    /// zero in the table, filled in listings.
    #[serde(default)]
    pub stats: Stats,
    /// Estimated rates (listings only).
    #[serde(default)]
    pub rates: Rates,
}

impl MatchService {
    /// The match service of a `[[snat]]` rule: scheduler `wlc` (ipvsadm's default), one `-J`
    /// real server at the rule's source address, port 0, weight 1.
    pub fn from_rule(r: &SnatRule) -> MatchService {
        let dest = DestSpec { fwd: FwdMethod::Snat, ..DestSpec::new(r.out_addr, 0) };
        MatchService {
            spec: MatchSpec { proto: r.proto, src: r.src, dst: r.dst },
            scheduler: DEFAULT_SCHEDULER.to_string(),
            dests: vec![DestInfo::new(dest)],
            stats: Stats::default(),
            rates: Rates::default(),
        }
    }

    /// The SNAT rule the data plane runs, once the service has its address.
    pub fn rule(&self) -> Option<SnatRule> {
        self.dests.first().map(|d| SnatRule {
            src: self.spec.src,
            dst: self.spec.dst,
            proto: self.spec.proto,
            out_addr: d.spec.addr,
        })
    }
}

/// Why a model value is refused. Messages are ipvsadm's where ipvsadm has one.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ModelError {
    /// Weight outside 0..=65535.
    #[error("illegal weight specified")]
    WeightRange(u32),
    /// Upper threshold above `INT_MAX`.
    #[error("illegal u_threshold specified")]
    IllegalUThreshold,
    /// Lower threshold above `INT_MAX`.
    #[error("illegal l_threshold specified")]
    IllegalLThreshold,
    /// Lower threshold above the upper one (the kernel answers ERANGE).
    #[error(
        "Numerical result out of range (lower threshold -y is higher than upper threshold -x)"
    )]
    ThresholdOrder,
    /// Port 0 needs persistence.
    #[error("Zero port specified for non-persistent service")]
    ZeroPortNotPersistent,
    /// `-o` on a TCP service.
    #[error("One-Packet Scheduling is only for UDP virtual services")]
    OnePacketNotUdp,
    /// Timeout out of range.
    #[error("invalid timeout value `{0}' specified")]
    InvalidTimeout(String),
    /// IPv4 netmask on an IPv6 service or the reverse.
    #[error("illegal virtual server persistent mask specified")]
    IllegalNetmask,
    /// IPv6 prefix outside 1..=128.
    #[error("illegal ipv6 netmask specified")]
    IllegalIpv6Netmask,
    /// Unknown scheduler or persistence engine.
    #[error("Scheduler or persistence engine not found")]
    SchedulerNotFound,
    /// Unknown scheduler flag.
    #[error("invalid scheduler flag `{0}'")]
    InvalidSchedFlag(String),
    /// Flag for another scheduler (`sh-port` with `rr`).
    #[error("incompatible scheduler flag `{0}'")]
    IncompatibleSchedFlag(String),
    /// Real server of another address family without tunnelling.
    #[error("Different address family is allowed only for tunneling servers")]
    DifferentFamily,
    /// Tunnel options on a non-tunnel real server.
    #[error("Tunnel options conflict with forward method")]
    TunnelOptionsConflict,
    /// Firewall-mark services do not exist in rvs.
    #[error(
        "fwmark services are not supported: DPDK has no netfilter marks; use {FWMARK_ALTERNATIVE}"
    )]
    FwmarkUnsupported,
    /// A `-H` match that rvs cannot take; the message says what to write.
    #[error("invalid match `{0}': {1}")]
    BadMatch(String, String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(port: u16) -> ServiceKey {
        ServiceKey { proto: Protocol::Tcp, addr: "10.0.0.1".parse().unwrap(), port }
    }

    #[test]
    fn service_defaults_are_ipvsadm_defaults() {
        let s = ServiceSpec::new(key(80));
        assert_eq!(s.scheduler, "wlc");
        assert_eq!(s.netmask, Netmask::V4(Ipv4Addr::new(255, 255, 255, 255)));
        assert!(s.netmask.is_host());
        assert_eq!(s.persistence, None);
        assert_eq!(s.validate(), Ok(()));
        let d = DestSpec::new("10.0.0.2".parse().unwrap(), 80);
        assert_eq!((d.fwd, d.weight), (FwdMethod::Route, 1));
    }

    #[test]
    fn zero_port_needs_persistence() {
        let mut s = ServiceSpec::new(key(0));
        assert_eq!(s.validate(), Err(ModelError::ZeroPortNotPersistent));
        s.persistence = Some(DEFAULT_PERSISTENCE_S);
        assert_eq!(s.validate(), Ok(()));
    }

    #[test]
    fn one_packet_only_udp_and_unknown_scheduler_refused() {
        let mut s = ServiceSpec::new(key(53));
        s.one_packet = true;
        assert_eq!(s.validate(), Err(ModelError::OnePacketNotUdp));
        s.key.proto = Protocol::Udp;
        assert_eq!(s.validate(), Ok(()));
        s.scheduler = "fancy".into();
        assert_eq!(s.validate(), Err(ModelError::SchedulerNotFound));
    }

    #[test]
    fn dest_validation() {
        let k = key(80);
        let mut d = DestSpec::new("10.0.0.2".parse().unwrap(), 80);
        d.weight = 65_536;
        assert_eq!(d.validate(&k), Err(ModelError::WeightRange(65_536)));
        d.weight = 65_535;
        assert_eq!(d.validate(&k), Ok(()));
        d.lower = 5;
        assert_eq!(d.validate(&k), Err(ModelError::ThresholdOrder));
        d.upper = 5;
        assert_eq!(d.validate(&k), Ok(()));
        d.addr = "2001:db8::1".parse().unwrap();
        assert_eq!(d.validate(&k), Err(ModelError::DifferentFamily));
        d.fwd = FwdMethod::Tunnel;
        assert_eq!(d.validate(&k), Ok(()));
        d.fwd = FwdMethod::Masq;
        d.addr = "10.0.0.2".parse().unwrap();
        d.tun = Some(TunInfo::default());
        assert_eq!(d.validate(&k), Err(ModelError::TunnelOptionsConflict));
    }

    #[test]
    fn sched_flags_named_by_scheduler() {
        let f = SchedFlags::parse("sh", "sh-fallback,sh-port").unwrap();
        assert_eq!(f, SchedFlags(SchedFlags::FLAG_1 | SchedFlags::FLAG_2));
        assert_eq!(f.names("sh"), "sh-fallback,sh-port");
        assert_eq!(f.names("mh"), "mh-fallback,mh-port");
        assert_eq!(f.names("rr"), "flag-1,flag-2");
        assert_eq!(
            SchedFlags::parse("rr", "sh-port"),
            Err(ModelError::IncompatibleSchedFlag("sh-port".into()))
        );
        assert_eq!(
            SchedFlags::parse("rr", "bogus"),
            Err(ModelError::InvalidSchedFlag("bogus".into()))
        );
        assert_eq!(SchedFlags(SchedFlags::FLAG_3).names("sh"), "");
    }

    #[test]
    fn forward_names_and_switches() {
        let all = [
            (FwdMethod::Masq, "Masq", "-m"),
            (FwdMethod::Local, "Local", "-g"),
            (FwdMethod::Tunnel, "Tunnel", "-i"),
            (FwdMethod::Route, "Route", "-g"),
            (FwdMethod::FullNat, "FullNat", "-b"),
            (FwdMethod::Snat, "SNAT", "-J"),
        ];
        for (m, n, s) in all {
            assert_eq!((m.name(), m.switch()), (n, s));
        }
    }

    #[test]
    fn serde_round_trip() {
        let mut s = ServiceInfo::new(ServiceSpec::new(key(80)));
        s.dests.push(DestInfo::new(DestSpec::new("10.0.0.2".parse().unwrap(), 80)));
        let text = toml::to_string(&s).unwrap();
        let back: ServiceInfo = toml::from_str(&text).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn addr_range_contains() {
        let r = AddrRange { first: "10.0.0.1".parse().unwrap(), last: "10.0.0.9".parse().unwrap() };
        assert!(r.contains("10.0.0.5".parse().unwrap()));
        assert!(!r.contains("10.0.0.10".parse().unwrap()));
        assert!(!r.contains("::1".parse().unwrap()));
    }
}
