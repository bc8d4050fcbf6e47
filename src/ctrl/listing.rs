//! Listings: the table in force with every worker's reports summed into it.
//!
//! Owns answering [`ListRequest`]s and what the metrics and the `--rate` estimator read: the
//! table's services, dests, local addresses and match services with the per-core counters
//! (connections, packets, bytes, ports in use) summed over the workers, minus the `-Z`
//! baselines (`ctrl::baselines`) and with the estimated rates. Must not touch: the table (only
//! reads it), the workers' state (only their reports). The metrics read the same sums through
//! [`LbViewSource`], the view the metrics module defines.

use super::conn_stream::ConnStream;
use super::control::{Control, Dataplane, BANNER_SIZE};
use crate::ipvs::balancer::PoolOwner;
use crate::ipvs::counters::TrafficCounters;
use crate::ipvs::service::SnatMatch;
use crate::metrics::lb_source::{LbView, LbViewSource};
use crate::proto::model::{MatchService, ServiceInfo, ServiceLocalAddrs, Stats};
use crate::proto::{ErrorCode, ListRequest, Reply, Response};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// `a += b`, field by field, saturating.
fn add(a: &mut Stats, b: &TrafficCounters) {
    a.conns = a.conns.saturating_add(b.conns);
    a.inpkts = a.inpkts.saturating_add(b.inpkts);
    a.outpkts = a.outpkts.saturating_add(b.outpkts);
    a.inbytes = a.inbytes.saturating_add(b.inbytes);
    a.outbytes = a.outbytes.saturating_add(b.outbytes);
}

impl<D: Dataplane> Control<D> {
    /// A connection listing of at most `limit` entries per worker, to drive without this
    /// control plane's lock.
    pub fn conn_stream(&self, limit: usize) -> ConnStream {
        ConnStream::new(self.dp.conn_source(), limit)
    }

    pub(super) fn list(&mut self, l: ListRequest) -> Response {
        match l {
            ListRequest::Timeouts => Response::Ok(Reply::Timeouts(self.table.timeouts())),
            ListRequest::Health => Response::Ok(Reply::Health(
                self.health.as_ref().map(|h| h.rows()).unwrap_or_default(),
            )),
            ListRequest::Matches => match self.merged_matches(true) {
                Ok(m) => Response::Ok(Reply::Matches(m)),
                Err(e) => Response::error(ErrorCode::Dataplane, e),
            },
            ListRequest::LocalAddrs(None) => self.laddr_usage(self.table.local_addrs().to_vec()),
            ListRequest::LocalAddrs(Some(key)) => {
                if !self.table.services().iter().any(|s| s.spec.key == key) {
                    return Response::error(ErrorCode::NotFound, "No such service");
                }
                let l = self.table.local_addrs().iter().filter(|l| l.key == key).cloned();
                self.laddr_usage(l.collect())
            }
            // Answered in chunks by the server, outside this lock (`conn_stream`).
            ListRequest::Conns { .. } => Response::error(
                ErrorCode::BadRequest,
                "the connection listing is answered in chunks by the control socket's server",
            ),
            ListRequest::Services => match self.merged(true) {
                Ok(services) => Response::Ok(Reply::Services { size: BANNER_SIZE, services }),
                Err(e) => Response::error(ErrorCode::Dataplane, e),
            },
            ListRequest::Service(key) => {
                if !self.table.services().iter().any(|s| s.spec.key == key) {
                    return Response::error(ErrorCode::NotFound, "No such service");
                }
                match self.merged(true) {
                    Ok(all) => match all.into_iter().find(|s| s.spec.key == key) {
                        Some(s) => Response::Ok(Reply::Service(s)),
                        None => Response::error(ErrorCode::NotFound, "No such service"),
                    },
                    Err(e) => Response::error(ErrorCode::Dataplane, e),
                }
            }
        }
    }

    /// Samples every service's and dest's totals for the `--rate` estimator. Call every
    /// [`crate::ctrl::estimator::INTERVAL`].
    pub fn sample_rates(&mut self) -> Result<(), String> {
        let raw = self.merged(false)?;
        self.rates.sample(&raw);
        let raw = self.merged_matches(false)?;
        self.rates.sample_matches(&raw);
        Ok(())
    }

    /// `-G`: each local address with its ports in use (`CONNS`) and allocation misses
    /// (`CONFLICTS`), summed over the workers' pools.
    fn laddr_usage(&self, mut list: Vec<ServiceLocalAddrs>) -> Response {
        let pools = match self.dp.pools() {
            Ok(p) => p,
            Err(e) => return Response::error(ErrorCode::Dataplane, e),
        };
        for s in &mut list {
            for l in &mut s.laddrs {
                let reports = pools.iter().flat_map(|p| &p.laddrs).filter(|r| {
                    r.owner == PoolOwner::Service(s.key) && IpAddr::V4(r.addr) == l.spec.addr
                });
                for r in reports {
                    l.conns = l.conns.saturating_add(u32::try_from(r.in_use).unwrap_or(u32::MAX));
                    l.conflicts = l.conflicts.saturating_add(r.misses);
                }
            }
        }
        Response::Ok(Reply::LocalAddrs(list))
    }

    /// The table's services with counters summed over every worker; when `zeroed` (a listing),
    /// minus the `-Z` baselines and with the estimated rates.
    pub(super) fn merged(&self, zeroed: bool) -> Result<Vec<ServiceInfo>, String> {
        let reports = self.dp.reports()?;
        let mut out = self.table.services().to_vec();
        for s in &mut out {
            let key = s.spec.key;
            for (svcs, dests) in &reports {
                for r in svcs.iter().filter(|r| r.service == key && r.live) {
                    add(&mut s.stats, &r.stats);
                }
                for r in dests.iter().filter(|r| r.service == key && r.live) {
                    let addr = IpAddr::V4(r.addr);
                    if let Some(d) =
                        s.dests.iter_mut().find(|d| d.spec.addr == addr && d.spec.port == r.port)
                    {
                        d.active = d.active.saturating_add(r.active);
                        d.inactive = d.inactive.saturating_add(r.inactive);
                        d.persist = d.persist.saturating_add(r.persist);
                        add(&mut d.stats, &r.stats);
                    }
                }
            }
            if zeroed {
                self.rates.fill(std::slice::from_mut(s));
                self.zero.apply(s);
            }
        }
        Ok(out)
    }

    /// The match services with their rules' counts summed over every worker: live connections
    /// (active, inactive) on the SNAT real server, totals on both lines; when `zeroed` (a
    /// listing), minus the `-Z` baselines and with the estimated rates. A rule is found by its
    /// whole data-plane form (spec and SNAT address); one that is not forwarded (IPv6) or has
    /// no address yet counts nothing.
    pub(super) fn merged_matches(&self, zeroed: bool) -> Result<Vec<MatchService>, String> {
        let mut out = self.table.matches().to_vec();
        if out.is_empty() {
            return Ok(out);
        }
        let pools = self.dp.pools()?;
        for m in &mut out {
            let Some(rule) = m.rule().as_ref().and_then(SnatMatch::from_rule) else { continue };
            for r in pools.iter().flat_map(|p| &p.rules).filter(|r| r.live && r.rule == rule) {
                add(&mut m.stats, &r.stats);
                if let Some(d) = m.dests.first_mut() {
                    d.active = d.active.saturating_add(r.active);
                    d.inactive = d.inactive.saturating_add(r.inactive);
                    add(&mut d.stats, &r.stats);
                }
            }
            if zeroed {
                self.rates.fill_matches(std::slice::from_mut(m));
                self.zero.apply_match(m);
            }
        }
        Ok(out)
    }
}

/// What the metrics exporter shows: the services as `-L --stats` lists them, and every
/// worker's pool reports, under the lock rvsadm's listings take.
impl<D: Dataplane> LbViewSource for Arc<Mutex<Control<D>>> {
    fn lb_view(&self) -> Result<LbView, String> {
        let control = self.lock().map_err(|_| "control plane failed earlier".to_string())?;
        Ok(LbView { services: control.merged(true)?, pools: control.dp.pools()? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ctrl::control::tests::{cmd, key, FakeDp};
    use crate::ctrl::table::ServiceTable;
    use crate::ipvs::balancer::{DestReport, PoolReports, ServiceReport};
    use crate::ipvs::service::BuildOptions;
    use crate::ipvs::spec::ServiceKey;
    use crate::proto::Request;

    #[test]
    fn match_services_list_their_rules_counts_and_zero_them() {
        use crate::ipvs::balancer::SnatRuleReport;
        let dp = FakeDp::default();
        let mut c = Control::new(ServiceTable::new(), Vec::new(), BuildOptions::default(), dp);
        let h = "proto=tcp,src-range=10.0.0.1-10.0.0.254";
        for l in [format!("rvsadm -A -H {h} -s rr"), format!("rvsadm -a -H {h} -r 192.0.2.200 -J")]
        {
            assert_eq!(c.handle(Request::Apply(cmd(&l))), Response::Ok(Reply::Done));
        }
        let m = &c.table().matches()[0];
        let rule = SnatMatch::from_rule(&m.rule().unwrap()).unwrap();
        // Another rule through the same address: not this match service's.
        let other = SnatMatch { proto: Some(crate::wire::IpProtocol::UDP), ..rule };
        let st = |n: u64| TrafficCounters {
            conns: n,
            inpkts: 4 * n,
            outpkts: 3 * n,
            inbytes: 100 * n,
            outbytes: 90 * n,
        };
        let core = |n: u64| PoolReports {
            rules: vec![
                SnatRuleReport { rule, live: true, active: n as u32, inactive: 1, stats: st(n) },
                SnatRuleReport { rule: other, live: true, active: 7, inactive: 7, stats: st(50) },
            ],
            ..PoolReports::default()
        };
        *c.dp.pools.lock().unwrap() = vec![core(2), core(3)];
        let list = |c: &mut Control<FakeDp>| {
            let Response::Ok(Reply::Matches(m)) = c.handle(Request::List(ListRequest::Matches))
            else {
                panic!("listing")
            };
            m
        };
        let m = list(&mut c);
        assert_eq!(m[0].stats, Stats::from(st(5)));
        let d = &m[0].dests[0];
        assert_eq!((d.active, d.inactive, d.stats), (5, 2, Stats::from(st(5))));
        // -Z: totals from here on; live connections are not totals.
        assert_eq!(c.handle(Request::Apply(cmd("rvsadm -Z"))), Response::Ok(Reply::Done));
        *c.dp.pools.lock().unwrap() = vec![core(3), core(3)];
        let m = list(&mut c);
        assert_eq!(m[0].stats, Stats::from(st(1)));
        assert_eq!((m[0].dests[0].active, m[0].dests[0].stats), (6, Stats::from(st(1))));
        // The table itself keeps no counts.
        assert_eq!(c.table().matches()[0].stats, Stats::default());
    }

    #[test]
    fn listings_sum_cores_and_zero_uses_baselines() {
        let dp = FakeDp::default();
        let mut c = Control::new(ServiceTable::new(), Vec::new(), BuildOptions::default(), dp);
        for l in ["rvsadm -A -t 10.0.0.1:80 -s rr", "rvsadm -a -t 10.0.0.1:80 -r 10.0.0.2 -g"] {
            assert_eq!(c.handle(Request::Apply(cmd(l))), Response::Ok(Reply::Done));
        }
        let st = |n: u64| TrafficCounters {
            conns: n,
            inpkts: 10 * n,
            outpkts: 0,
            inbytes: 100 * n,
            outbytes: 0,
        };
        let core = |n: u64| {
            (
                vec![ServiceReport { service: key(), live: true, stats: st(n) }],
                vec![DestReport {
                    service: key(),
                    addr: "10.0.0.2".parse().unwrap(),
                    port: 80,
                    live: true,
                    active: n as u32,
                    inactive: 1,
                    persist: 0,
                    overloaded: false,
                    stats: st(n),
                }],
            )
        };
        *c.dp.reports.lock().unwrap() = vec![core(2), core(3)];
        let Response::Ok(Reply::Services { services, .. }) =
            c.handle(Request::List(ListRequest::Services))
        else {
            panic!("listing")
        };
        let s = &services[0];
        assert_eq!(s.stats, Stats::from(st(5)));
        assert_eq!(
            (s.dests[0].active, s.dests[0].inactive, s.dests[0].stats),
            (5, 2, Stats::from(st(5)))
        );
        assert_eq!(c.handle(Request::Apply(cmd("rvsadm -Z"))), Response::Ok(Reply::Done));
        *c.dp.reports.lock().unwrap() = vec![core(3), core(3)];
        let Response::Ok(Reply::Service(s)) = c.handle(Request::List(ListRequest::Service(key())))
        else {
            panic!("listing")
        };
        assert_eq!(s.stats, Stats::from(st(1)));
        assert_eq!((s.dests[0].active, s.dests[0].stats), (6, Stats::from(st(1))));
        // -G: ports in use and misses of each local address, summed over the cores.
        assert_eq!(
            c.handle(Request::Apply(cmd("rvsadm -P -t 10.0.0.1:80 -z 10.0.0.250"))),
            Response::Ok(Reply::Done)
        );
        let laddr = |in_use: u64, misses: u64| crate::ipvs::balancer::LaddrReport {
            owner: PoolOwner::Service(key()),
            addr: "10.0.0.250".parse().unwrap(),
            in_use,
            allocs: in_use,
            misses,
        };
        *c.dp.pools.lock().unwrap() = vec![
            PoolReports { laddrs: vec![laddr(3, 1)], ..PoolReports::default() },
            PoolReports { laddrs: vec![laddr(4, 0)], ..PoolReports::default() },
        ];
        let Response::Ok(Reply::LocalAddrs(l)) =
            c.handle(Request::List(ListRequest::LocalAddrs(Some(key()))))
        else {
            panic!("-G")
        };
        assert_eq!((l[0].laddrs[0].conns, l[0].laddrs[0].conflicts), (7, 1));
        let missing = ServiceKey { port: 81, ..key() };
        assert_eq!(
            c.handle(Request::List(ListRequest::Service(missing))),
            Response::error(ErrorCode::NotFound, "No such service")
        );
    }

    #[test]
    fn the_metrics_view_is_the_stats_listing_and_the_pools() {
        let dp = FakeDp::default();
        let mut c = Control::new(ServiceTable::new(), Vec::new(), BuildOptions::default(), dp);
        assert_eq!(
            c.handle(Request::Apply(cmd("rvsadm -A -t 10.0.0.1:80"))),
            Response::Ok(Reply::Done)
        );
        let pools = vec![PoolReports::default(), PoolReports::default()];
        *c.dp.pools.lock().unwrap() = pools.clone();
        let Response::Ok(Reply::Services { services, .. }) =
            c.handle(Request::List(ListRequest::Services))
        else {
            panic!("listing")
        };
        let view = Arc::new(Mutex::new(c)).lb_view().unwrap();
        assert_eq!((view.services, view.pools), (services, pools));
    }
}
