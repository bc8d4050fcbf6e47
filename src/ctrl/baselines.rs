//! `-Z`: where zero is for each service, dest and match service.
//!
//! Workers count from when they started and never reset (a reset would be a write from
//! outside the worker); `-Z` records the totals at that moment instead, and listings subtract
//! them. Owns [`Baselines`]: recording them, subtracting them, and forgetting those of services,
//! dests and match services the table no longer has. Must not touch: the table, the workers.

use crate::ctrl::table::ServiceTable;
use crate::ipvs::spec::{MatchSpec, ServiceKey};
use crate::proto::model::{MatchService, ServiceInfo, Stats};
use std::collections::HashMap;
use std::net::IpAddr;

type DestId = (ServiceKey, IpAddr, u16);

/// The `-Z` baselines of services and dests (by key) and of match services and their SNAT
/// addresses (by spec).
#[derive(Debug, Default)]
pub struct Baselines {
    services: HashMap<ServiceKey, Stats>,
    dests: HashMap<DestId, Stats>,
    matches: HashMap<MatchSpec, Stats>,
    match_dests: HashMap<(MatchSpec, IpAddr), Stats>,
}

/// `a -= b`, field by field, never below zero.
pub fn sub(a: &mut Stats, b: &Stats) {
    a.conns = a.conns.saturating_sub(b.conns);
    a.inpkts = a.inpkts.saturating_sub(b.inpkts);
    a.outpkts = a.outpkts.saturating_sub(b.outpkts);
    a.inbytes = a.inbytes.saturating_sub(b.inbytes);
    a.outbytes = a.outbytes.saturating_sub(b.outbytes);
}

impl Baselines {
    /// Records `raw` (totals summed over the workers) as zero for the services `zero` names
    /// (`None`: every service).
    pub fn record_services(&mut self, raw: &[ServiceInfo], zero: &[Option<ServiceKey>]) {
        for s in raw.iter().filter(|s| zero.iter().any(|z| z.map_or(true, |k| k == s.spec.key))) {
            self.services.insert(s.spec.key, s.stats);
            for d in &s.dests {
                self.dests.insert((s.spec.key, d.spec.addr, d.spec.port), d.stats);
            }
        }
    }

    /// Records `raw` as zero for every match service.
    pub fn record_matches(&mut self, raw: Vec<MatchService>) {
        for m in raw {
            for d in &m.dests {
                self.match_dests.insert((m.spec.clone(), d.spec.addr), d.stats);
            }
            self.matches.insert(m.spec, m.stats);
        }
    }

    /// Subtracts the baselines of `s` and its dests.
    pub fn apply(&self, s: &mut ServiceInfo) {
        let key = s.spec.key;
        if let Some(z) = self.services.get(&key) {
            sub(&mut s.stats, z);
        }
        for d in &mut s.dests {
            if let Some(z) = self.dests.get(&(key, d.spec.addr, d.spec.port)) {
                sub(&mut d.stats, z);
            }
        }
    }

    /// Subtracts the baselines of `m` and its SNAT address.
    pub fn apply_match(&self, m: &mut MatchService) {
        if let Some(z) = self.matches.get(&m.spec) {
            sub(&mut m.stats, z);
        }
        for d in &mut m.dests {
            if let Some(z) = self.match_dests.get(&(m.spec.clone(), d.spec.addr)) {
                sub(&mut d.stats, z);
            }
        }
    }

    /// Drops the baselines of services, dests and match services `table` no longer has.
    pub fn forget_removed(&mut self, table: &ServiceTable) {
        let services = table.services();
        self.services.retain(|k, _| services.iter().any(|s| s.spec.key == *k));
        self.dests.retain(|(k, a, p), _| {
            services.iter().any(|s| {
                s.spec.key == *k && s.dests.iter().any(|d| d.spec.addr == *a && d.spec.port == *p)
            })
        });
        let matches = table.matches();
        self.matches.retain(|k, _| matches.iter().any(|m| m.spec == *k));
        self.match_dests.retain(|(k, a), _| {
            matches.iter().any(|m| m.spec == *k && m.dests.iter().any(|d| d.spec.addr == *a))
        });
    }
}
