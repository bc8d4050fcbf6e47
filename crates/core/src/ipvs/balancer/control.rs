//! The balancer's worker-side control messages: what the control plane asks of one core's
//! [`Balancer`] between bursts, and [`LbRequest::serve`], which answers them.
//!
//! Owns the messages of `ipvs` (a new services snapshot, the connection listing, per-service
//! and per-dest reports, pool and SNAT reports, local-address counters, ending the connections
//! of removed services) and their answers. The worker takes them from its inbox
//! (`dataplane::control`) at a burst boundary and hands them here with its balancer; it must
//! not look inside them. Must not touch: packets, the stack's tables (the routes reach the
//! balancer only as an [`Egress`]).

use super::{Balancer, DestReport, Egress, PoolReports, ServiceReport};
use crate::ipvs::conn::ConnInfo;
use crate::ipvs::laddr::LaddrStats;
use crate::ipvs::service::Services;
use crate::time::Instant;
use crossbeam_channel::Sender;
use std::net::IpAddr;
use std::sync::Arc;

/// A request to one core's balancer. Each answer goes to its `reply` channel; a snapshot is
/// acknowledged by the generation [`LbRequest::serve`] returns, which the worker publishes.
#[derive(Debug)]
pub enum LbRequest {
    /// Run this snapshot from now on.
    SetServices(Arc<Services>),
    /// Copy up to `limit` entries of the connection table (`rvsadm -L -c`).
    Conns {
        /// Most entries to copy.
        limit: usize,
        /// Where the copy goes.
        reply: Sender<Vec<ConnInfo>>,
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
            LbRequest::Conns { limit, reply } => {
                let _ = reply.send(lb.map(|lb| lb.conns_snapshot(now, limit)).unwrap_or_default());
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
    fn every_question_is_answered_and_acknowledges_no_generation() {
        for mut b in [Some(lb()), None] {
            let (tx, rx) = bounded(1);
            let served = LbRequest::Conns { limit: 10, reply: tx }.serve(b.as_mut(), &EGRESS, NOW);
            assert_eq!((served, rx.try_recv()), (None, Ok(Vec::new())));
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
        }
    }
}
