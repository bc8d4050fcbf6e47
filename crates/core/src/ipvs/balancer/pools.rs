//! What one core's local-address pools and SNAT WAN addresses report to the control plane.
//!
//! Owns [`PoolReports`]: per local address (of a FULLNAT service or a SNAT WAN address) the
//! ports in use and the allocation misses, per service pool the allocations refused because
//! every address was exhausted, and per SNAT WAN address its connection, packet and byte
//! totals, and per SNAT rule its live connections and totals. Built on the control path from the balancer's books (a copy, never shared with the
//! packet path); the control plane sums the cores.

use std::net::{IpAddr, Ipv4Addr};

use crate::ipvs::counters::TrafficCounters;
use crate::ipvs::service::SnatMatch;
use crate::ipvs::spec::ServiceKey;

use super::{svc_key, Balancer};

/// Whose pool a local address belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PoolOwner {
    /// A FULLNAT service's pool (`-P` local addresses).
    Service(ServiceKey),
    /// The pool of a SNAT WAN address (`[[snat]] out`).
    Snat,
}

/// One local address of one pool on one core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LaddrReport {
    /// The pool.
    pub owner: PoolOwner,
    /// The local address.
    pub addr: Ipv4Addr,
    /// Ports held by live connections.
    pub in_use: u64,
    /// Ports handed out since the pool began.
    pub allocs: u64,
    /// New connections that tried this address and found no free port toward their dest.
    pub misses: u64,
}

/// A service pool's refusals on one core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolExhaustion {
    /// The pool.
    pub owner: PoolOwner,
    /// Which address (the WAN address for SNAT; unspecified for a service pool).
    pub addr: Option<Ipv4Addr>,
    /// New connections refused: every local address was exhausted (or none configured).
    pub exhausted: u64,
}

/// A SNAT WAN address as one core counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnatReport {
    /// The WAN (out) address.
    pub out_addr: Ipv4Addr,
    /// Whether a rule of the current snapshot uses it.
    pub live: bool,
    /// Connections, packets (`in` = inside host to outside server) and bytes on this core.
    pub stats: TrafficCounters,
}

/// A SNAT rule (match service) as one core counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnatRuleReport {
    /// The rule: protocol, ranges and WAN address (what identifies it).
    pub rule: SnatMatch,
    /// Whether the current snapshot has it.
    pub live: bool,
    /// Live connections in TCP ESTABLISHED.
    pub active: u32,
    /// Other live connections.
    pub inactive: u32,
    /// Connections, packets (`in` = inside host to outside server) and bytes on this core.
    pub stats: TrafficCounters,
}

/// Everything one core reports about its pools.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolReports {
    /// Local addresses of every pool, active and draining.
    pub laddrs: Vec<LaddrReport>,
    /// Refusals of every pool.
    pub exhausted: Vec<PoolExhaustion>,
    /// SNAT WAN addresses.
    pub snat: Vec<SnatReport>,
    /// SNAT rules (match services), live and removed-but-referenced.
    pub rules: Vec<SnatRuleReport>,
}

fn v4(a: IpAddr) -> Option<Ipv4Addr> {
    match a {
        IpAddr::V4(a) => Some(a),
        IpAddr::V6(_) => None,
    }
}

impl Balancer {
    /// This core's pools: local addresses of live FULLNAT services and of SNAT WAN addresses.
    /// Control path: allocates.
    pub fn pool_reports(&self) -> PoolReports {
        let mut out = PoolReports::default();
        for s in self.book.svcs.iter().filter(|s| !s.free) {
            let Some(pool) = s.pool.as_ref() else { continue };
            let owner = PoolOwner::Service(svc_key(s.proto, s.addr, s.port));
            for (addr, st) in pool.stats() {
                let Some(addr) = v4(addr) else { continue };
                out.laddrs.push(LaddrReport {
                    owner,
                    addr,
                    in_use: st.in_use,
                    allocs: st.allocs,
                    misses: st.misses,
                });
            }
            out.exhausted.push(PoolExhaustion { owner, addr: None, exhausted: pool.exhausted() });
        }
        for s in self.book.snat.iter().filter(|s| !s.free) {
            for (addr, st) in s.pool.stats() {
                let Some(addr) = v4(addr) else { continue };
                out.laddrs.push(LaddrReport {
                    owner: PoolOwner::Snat,
                    addr,
                    in_use: st.in_use,
                    allocs: st.allocs,
                    misses: st.misses,
                });
            }
            out.exhausted.push(PoolExhaustion {
                owner: PoolOwner::Snat,
                addr: Some(s.addr),
                exhausted: s.pool.exhausted(),
            });
            out.snat.push(SnatReport { out_addr: s.addr, live: s.live, stats: s.stats });
        }
        for s in self.book.snat_rules.iter().filter(|s| !s.free) {
            out.rules.push(SnatRuleReport {
                rule: s.rule,
                live: s.live,
                active: s.active,
                inactive: s.inactive,
                stats: s.stats,
            });
        }
        out
    }
}
