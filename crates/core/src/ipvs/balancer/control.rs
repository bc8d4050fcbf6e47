//! The balancer's worker-side control messages: what the control plane asks of one core's
//! [`Balancer`] between bursts, and [`LbRequest::serve`], which answers them.
//!
//! Owns the messages of `ipvs` (a new services snapshot, the connection listing a bounded slice
//! at a time, per-service
//! and per-dest reports, pool and SNAT reports, local-address counters, ending the connections
//! of removed services) and their answers. The worker takes them from its inbox
//! (`dataplane::control`) at a burst boundary and hands them here with its balancer; it must
//! not look inside them. Must not touch: packets, the stack's tables (the routes reach the
//! balancer only as an [`Egress`]).

use super::{
    Balancer, DestReport, Egress, InstallCounts, PoolReports, ServiceReport, SyncCoreCounts,
    SyncReports,
};
use crate::ipvs::conn::ConnInfo;
use crate::ipvs::laddr::LaddrStats;
use crate::ipvs::service::Services;
use crate::ipvs::sync::Learnt;
use crate::time::Instant;
use crossbeam_channel::Sender;
use std::net::IpAddr;
use std::sync::Arc;

/// Most table slots one [`LbRequest::ConnSlice`] visits: a few hundred microseconds of
/// copying at most, whatever the control plane asks.
pub const MAX_SLICE_SLOTS: u32 = 4096;

/// One step of a connection listing: what [`LbRequest::ConnSlice`] answers.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ConnSlice {
    /// The live entries of the slots visited, in slot order.
    pub conns: Vec<ConnInfo>,
    /// The slot the next step starts from; `None` when the walk is over.
    pub next: Option<u32>,
}

/// A request to one core's balancer. Each answer goes to its `reply` channel; a snapshot is
/// acknowledged by the generation [`LbRequest::serve`] returns, which the worker publishes.
#[derive(Debug)]
pub enum LbRequest {
    /// Run this snapshot from now on.
    SetServices(Arc<Services>),
    /// One step of a connection listing (`rvsadm -L -c`): copy the live entries among at
    /// most `slots` (capped at [`MAX_SLICE_SLOTS`]) slots of the table from slot `from`. The
    /// control plane asks for the next step only once it has this one, so the worker copies a
    /// bounded slice per request and forwards in between.
    ConnSlice {
        /// First slot of the step.
        from: u32,
        /// Slots to visit.
        slots: u32,
        /// Where the copy goes.
        reply: Sender<ConnSlice>,
    },
    /// Before a connection listing: how many of this core's connections the listing shows
    /// with a local address ([`Balancer::conns_listed_with_local`]), so the listing's header
    /// is known before its rows.
    ConnsListedWithLocal {
        /// Where the count goes.
        reply: Sender<u32>,
    },
    /// Report per-service and per-dest counts of this core.
    Reports {
        /// Where the reports go.
        reply: Sender<(Vec<ServiceReport>, Vec<DestReport>)>,
    },
    /// Report this core's local-address pools and SNAT WAN addresses.
    Pools {
        /// Where the report goes.
        reply: Sender<PoolReports>,
    },
    /// Report the port-pool counters of every local address on this core.
    Laddrs {
        /// Where the counters go.
        reply: Sender<Vec<(IpAddr, LaddrStats)>>,
    },
    /// End the connections of services, dests and SNAT rules the snapshot in force no longer
    /// has (`rvsadm --flush-removed`); the reply is how many entries ended.
    FlushRemoved {
        /// Where the count goes.
        reply: Sender<u32>,
    },
    /// Connection sync: start (`Some`) or stop (`None`) reporting this core's connections.
    SyncReports(Option<SyncReports>),
    /// Connection sync: install the connections a peer reported that belong on this core
    /// ([`Balancer::install_batch`]; at most one message's worth, 255). What was done goes to
    /// `reply` if it has room (never waited on).
    SyncInstall {
        /// The learnt connections.
        conns: Vec<Learnt>,
        /// Where the counts go.
        reply: Sender<InstallCounts>,
    },
    /// Connection sync: report this core's sync counters (for the metrics).
    SyncCounts {
        /// Where the counters go.
        reply: Sender<SyncCoreCounts>,
    },
}

impl LbRequest {
    /// Answers the request on `lb` (a core without a balancer answers empty: no connections,
    /// no reports, nothing flushed) at `now`; `egress` is how the core reaches a destination
    /// (MTU, tunnel source). Returns the generation the core runs when the request was a
    /// snapshot, for the worker to publish as its acknowledgement.
    pub fn serve(
        self,
        lb: Option<&mut Balancer>,
        egress: &dyn Egress,
        now: Instant,
    ) -> Option<u64> {
        match self {
            LbRequest::SetServices(snap) => {
                let generation = snap.generation();
                if let Some(lb) = lb {
                    lb.set_services(snap, now, egress);
                }
                return Some(generation);
            }
            LbRequest::ConnSlice { from, slots, reply } => {
                let mut conns = Vec::new();
                let slots = slots.min(MAX_SLICE_SLOTS);
                let next = lb.and_then(|lb| lb.conns_from(now, from, slots, &mut conns));
                let _ = reply.send(ConnSlice { conns, next });
            }
            LbRequest::ConnsListedWithLocal { reply } => {
                let _ = reply.send(lb.map_or(0, |lb| lb.conns_listed_with_local()));
            }
            LbRequest::Reports { reply } => {
                let r = lb.map(|lb| (lb.service_reports(), lb.dest_reports()));
                let _ = reply.send(r.unwrap_or_default());
            }
            LbRequest::Pools { reply } => {
                let _ = reply.send(lb.map(|lb| lb.pool_reports()).unwrap_or_default());
            }
            LbRequest::Laddrs { reply } => {
                let _ = reply.send(lb.map(|lb| lb.laddr_usage()).unwrap_or_default());
            }
            LbRequest::FlushRemoved { reply } => {
                let _ = reply.send(lb.map_or(0, |lb| lb.flush_removed()));
            }
            LbRequest::SyncReports(reports) => {
                if let Some(lb) = lb {
                    lb.set_sync_reports(reports);
                }
            }
            LbRequest::SyncInstall { conns, reply } => {
                let counts = match lb {
                    Some(lb) => lb.install_batch(&conns, now),
                    None => {
                        InstallCounts { not_mine: conns.len() as u64, ..InstallCounts::default() }
                    }
                };
                let _ = reply.try_send(counts);
            }
            LbRequest::SyncCounts { reply } => {
                let _ = reply.send(lb.map(|lb| lb.sync_core_counts()).unwrap_or_default());
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::super::{BalancerConfig, FixedEgress, HashSeed};
    use super::*;
    use crossbeam_channel::bounded;

    const NOW: Instant = Instant::from_secs(5);
    const EGRESS: FixedEgress = FixedEgress { mtu: 1500, source: None };

    fn lb() -> Balancer {
        let cfg = BalancerConfig {
            conn_capacity: 16,
            hash_seed: HashSeed::from_u64(1),
            ..BalancerConfig::new(0, 1)
        };
        Balancer::new(cfg, NOW).unwrap()
    }

    #[test]
    fn a_snapshot_is_acknowledged_by_its_generation_with_or_without_a_balancer() {
        let snap = Arc::new(Services::empty().with_generation(9));
        let mut b = lb();
        assert_eq!(LbRequest::SetServices(snap.clone()).serve(Some(&mut b), &EGRESS, NOW), Some(9));
        assert_eq!(b.services().generation(), 9);
        assert_eq!(LbRequest::SetServices(snap).serve(None, &EGRESS, NOW), Some(9));
    }

    #[test]
    fn a_listing_step_visits_at_most_its_slots_and_says_where_to_go_on() {
        let cfg = BalancerConfig {
            conn_capacity: 3 * MAX_SLICE_SLOTS,
            hash_seed: HashSeed::from_u64(1),
            ..BalancerConfig::new(0, 1)
        };
        let mut b = Balancer::new(cfg, NOW).unwrap();
        let cap = b.conn_capacity();
        let mut steps = Vec::new();
        let mut at = Some(0);
        while let Some(from) = at {
            let (tx, rx) = bounded(1);
            let req = LbRequest::ConnSlice { from, slots: u32::MAX, reply: tx };
            assert_eq!(req.serve(Some(&mut b), &EGRESS, NOW), None);
            let slice = rx.try_recv().unwrap();
            assert!(slice.conns.is_empty());
            steps.push(from);
            at = slice.next;
        }
        // However many slots were asked for, each step visited at most MAX_SLICE_SLOTS.
        let want: Vec<u32> = (0..cap).step_by(MAX_SLICE_SLOTS as usize).collect();
        assert_eq!(steps, want);
    }

    #[test]
    fn every_question_is_answered_and_acknowledges_no_generation() {
        for mut b in [Some(lb()), None] {
            let (tx, rx) = bounded(1);
            let req = LbRequest::ConnSlice { from: 0, slots: 100, reply: tx };
            let served = req.serve(b.as_mut(), &EGRESS, NOW);
            assert_eq!((served, rx.try_recv()), (None, Ok(ConnSlice::default())));
            let (tx, rx) = bounded(1);
            let served =
                LbRequest::ConnsListedWithLocal { reply: tx }.serve(b.as_mut(), &EGRESS, NOW);
            assert_eq!((served, rx.try_recv()), (None, Ok(0)));
            let (tx, rx) = bounded(1);
            let served = LbRequest::Reports { reply: tx }.serve(b.as_mut(), &EGRESS, NOW);
            assert_eq!((served, rx.try_recv()), (None, Ok((Vec::new(), Vec::new()))));
            let (tx, rx) = bounded(1);
            let served = LbRequest::Pools { reply: tx }.serve(b.as_mut(), &EGRESS, NOW);
            assert_eq!((served, rx.try_recv().is_ok()), (None, true));
            let (tx, rx) = bounded(1);
            let served = LbRequest::Laddrs { reply: tx }.serve(b.as_mut(), &EGRESS, NOW);
            assert_eq!((served, rx.try_recv()), (None, Ok(Vec::new())));
            let (tx, rx) = bounded(1);
            let served = LbRequest::FlushRemoved { reply: tx }.serve(b.as_mut(), &EGRESS, NOW);
            assert_eq!((served, rx.try_recv()), (None, Ok(0)));
            // Sync: nothing of a learnt connection to a service this core lacks is installed;
            // a core without a balancer has none of them.
            let (tx, rx) = bounded(1);
            let l = crate::ipvs::sync::Learnt {
                proto: crate::wire::IpProtocol::TCP,
                client: (std::net::Ipv4Addr::new(10, 0, 0, 1), 4000),
                virt: (std::net::Ipv4Addr::new(10, 0, 0, 9), 80),
                dest_addr: (std::net::Ipv4Addr::new(10, 0, 1, 1), 80),
                local: None,
                fwd: crate::ipvs::spec::FwdMethod::Masq,
                state: crate::ipvs::proto::ConnState::Tcp(
                    crate::ipvs::proto::TcpState::Established,
                ),
                timeout: 60,
            };
            let has_lb = b.is_some();
            let req = LbRequest::SyncInstall { conns: vec![l], reply: tx };
            assert_eq!(req.serve(b.as_mut(), &EGRESS, NOW), None);
            let want = if has_lb {
                InstallCounts { refused: 1, ..InstallCounts::default() }
            } else {
                InstallCounts { not_mine: 1, ..InstallCounts::default() }
            };
            assert_eq!(rx.try_recv(), Ok(want));
            assert_eq!(LbRequest::SyncReports(None).serve(b.as_mut(), &EGRESS, NOW), None);
        }
    }
}
