//! Control-plane model: the listings and replies rvsd and rvsadm exchange about services, real
//! servers (dests), local addresses, SNAT rules and connections.
//!
//! Owns the listing types (counters as listed, rates, services and dests with their counters,
//! connection entries, local addresses in use, match services). The vocabulary they are built
//! from (service key and spec, dest spec, forwarding method, tunnel, timeouts, SNAT rules) is
//! the load balancer's, [`rvs_core::ipvs::spec`], re-exported here under its old paths. Must not
//! touch: sockets, the data plane, formatting of listings (that is `rvsadm::format`).

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

use rvs_core::ipvs::counters::TrafficCounters;
use rvs_core::ipvs::sched::SchedKind;
use rvs_core::ipvs::spec::{
    DestSpec, FwdMethod, LocalAddrSpec, MatchSpec, Protocol, ServiceKey, ServiceSpec, SnatRule,
    DEFAULT_SCHEDULER,
};

/// Connection, packet and byte counters as listed (totals since creation or the last zero,
/// summed over the worker cores).
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

/// A core's counters as listed.
impl From<TrafficCounters> for Stats {
    fn from(c: TrafficCounters) -> Self {
        let TrafficCounters { conns, inpkts, outpkts, inbytes, outbytes } = c;
        Stats { conns, inpkts, outpkts, inbytes, outbytes }
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

/// A match service: traffic its [`MatchSpec`] selects leaves from its one SNAT real server
/// (`-a -H ... -r WAN_ADDR -J`). With that real server it is exactly one [`SnatRule`]; the
/// TOML `[[snat]]` rules load as match services.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchService {
    /// What it selects.
    pub spec: MatchSpec,
    /// Scheduler (one real server: it only shows).
    pub scheduler: SchedKind,
    /// Its SNAT address, as a `-J` real server (at most one).
    pub dests: Vec<DestInfo>,
    /// Connections, packets and bytes of the rule (summed over workers, since `-Z`); always
    /// zero in the table, filled in listings.
    #[serde(default)]
    pub stats: Stats,
    /// Estimated rates (listings only).
    #[serde(default)]
    pub rates: Rates,
    /// SYN proxy for its TCP traffic (`--synproxy`, rvs extension; hardening).
    #[serde(default)]
    pub synproxy: bool,
}

impl MatchService {
    /// The match service of a `[[snat]]` rule: scheduler `wlc` (ipvsadm's default), one `-J`
    /// real server at the rule's source address, port 0, weight 1.
    pub fn from_rule(r: &SnatRule) -> MatchService {
        let dest = DestSpec { fwd: FwdMethod::Snat, ..DestSpec::new(r.out_addr, 0) };
        MatchService {
            spec: MatchSpec { proto: r.proto, src: r.src, dst: r.dst },
            scheduler: DEFAULT_SCHEDULER,
            dests: vec![DestInfo::new(dest)],
            stats: Stats::default(),
            rates: Rates::default(),
            synproxy: r.synproxy,
        }
    }

    /// The SNAT rule the data plane runs, once the service has its address.
    pub fn rule(&self) -> Option<SnatRule> {
        self.dests
            .first()
            .map(|d| SnatRule { synproxy: self.synproxy, ..self.spec.rule(d.spec.addr) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_round_trip() {
        let key = ServiceKey { proto: Protocol::Tcp, addr: "10.0.0.1".parse().unwrap(), port: 80 };
        let mut s = ServiceInfo::new(ServiceSpec::new(key));
        s.dests.push(DestInfo::new(DestSpec::new("10.0.0.2".parse().unwrap(), 80)));
        s.stats =
            TrafficCounters { conns: 1, inpkts: 2, outpkts: 3, inbytes: 4, outbytes: 5 }.into();
        let text = toml::to_string(&s).unwrap();
        let back: ServiceInfo = toml::from_str(&text).unwrap();
        assert_eq!(back, s);
        assert_eq!((back.stats.conns, back.stats.outbytes), (1, 5));
    }
}
