//! The stack's worker-side control messages: what the control plane asks of one core's
//! [`Stack`] between bursts (`rvsnet`), and [`StackRequest::serve`], which answers them.
//!
//! Owns the messages of `net` (new interface and route tables, with addresses to announce; a
//! copy of the neighbour table, optionally flushed) and their answers. The worker takes them
//! from its inbox (`dataplane::control`) at a burst boundary and hands them here with its
//! stack and its [`NetIo`]; it must not look inside them. Must not touch: the balancer (new
//! tables are reported back as [`StackServed::NewTables`], and the caller has what reads the
//! routes re-read them before it acknowledges).

use super::{IfaceTable, NeighInfo, NetIo, RouteTable, Stack};
use crate::buf::PacketBuf;
use crate::time::Instant;
use crossbeam_channel::Sender;
use std::net::Ipv4Addr;
use std::sync::Arc;

/// A request to one core's stack.
#[derive(Debug)]
pub enum StackRequest {
    /// Run these interface and route tables from now on (an `rvsnet addr` or `route` change);
    /// the reply says it is done.
    SetTables {
        /// The new interface table.
        ifaces: Arc<IfaceTable>,
        /// The new route table.
        routes: Arc<RouteTable>,
        /// Added addresses the announcing worker sends a gratuitous ARP for.
        announce: Vec<Ipv4Addr>,
        /// Acknowledgement.
        reply: Sender<()>,
    },
    /// Copy the core's neighbour table, with the core's clock reading.
    Neighs {
        /// Forget learned and incomplete entries after copying (`rvsnet neigh flush`).
        flush: bool,
        /// Where the copy goes.
        reply: Sender<(Instant, Vec<NeighInfo>)>,
    },
}

/// What is left to do once [`StackRequest::serve`] has answered.
#[must_use]
#[derive(Debug)]
pub enum StackServed {
    /// Nothing: the answer is sent.
    Answered,
    /// The stack runs new tables: what reads the routes re-reads them, the packets the request
    /// queued go out, then the [`Ack`] is sent.
    NewTables(Ack),
}

/// The acknowledgement of new tables, sent when they are in force everywhere on the core.
#[derive(Debug)]
pub struct Ack(Sender<()>);

impl Ack {
    /// Tells the control plane the change is done.
    pub fn send(self) {
        let _ = self.0.send(());
    }
}

impl StackRequest {
    /// Answers the request on `stack` at `now`; `announcer` is whether this core sends the
    /// director's gratuitous ARPs. Packets it sends or drops go through `io`.
    pub fn serve<B: PacketBuf>(
        self,
        stack: &mut Stack<B>,
        announcer: bool,
        now: Instant,
        io: &mut impl NetIo<B>,
    ) -> StackServed {
        match self {
            StackRequest::SetTables { ifaces, routes, announce, reply } => {
                stack.set_tables(ifaces, routes);
                if announcer && !announce.is_empty() {
                    stack.announce(&announce, io);
                }
                StackServed::NewTables(Ack(reply))
            }
            StackRequest::Neighs { flush, reply } => {
                let rows = stack.neigh().entries();
                if flush {
                    stack.flush_neighbours(io);
                }
                let _ = reply.send((now, rows));
                StackServed::Answered
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{ifaces, outgoing, routes, stack, TestIo, PEER};
    use super::super::{AddrKind, IfAddr};
    use super::*;
    use crossbeam_channel::bounded;

    const NOW: Instant = Instant::from_secs(5);

    #[test]
    fn new_tables_run_at_once_and_the_caller_acknowledges() {
        let mut s = stack();
        let added = Ipv4Addr::new(10, 0, 0, 60);
        let mut table: Vec<_> = ifaces().iter().cloned().collect();
        table[0].addrs.push(IfAddr { ip: added, prefix_len: 32, kind: AddrKind::Vip });
        let table = IfaceTable::new(table).unwrap();
        let route_table = routes(&table);
        for announcer in [false, true] {
            let mut io = TestIo::default();
            let (reply, rx) = bounded(1);
            let req = StackRequest::SetTables {
                ifaces: Arc::new(table.clone()),
                routes: Arc::new(route_table.clone()),
                announce: vec![added],
                reply,
            };
            let StackServed::NewTables(ack) = req.serve(&mut s, announcer, NOW, &mut io) else {
                panic!("new tables are reported to the caller")
            };
            assert_eq!(s.ifaces().owns(added), Some((0, AddrKind::Vip)));
            assert_eq!(io.tx.len(), usize::from(announcer), "only the announcer sends a GARP");
            assert!(rx.try_recv().is_err(), "no acknowledgement before the caller's");
            ack.send();
            assert_eq!(rx.try_recv(), Ok(()));
        }
    }

    #[test]
    fn neighbours_are_copied_and_flushed_only_on_request() {
        let mut s = stack();
        let mut io = TestIo::default();
        s.send_ipv4(outgoing(PEER, 1), PEER, NOW, &mut io);
        let waiting = s.neigh().entries();
        assert_eq!(waiting.len(), 1, "an incomplete entry with a packet waiting");
        for flush in [false, true] {
            let (reply, rx) = bounded(1);
            let served = StackRequest::Neighs { flush, reply }.serve(&mut s, false, NOW, &mut io);
            assert!(matches!(served, StackServed::Answered));
            assert_eq!(rx.try_recv(), Ok((NOW, waiting.clone())), "the copy is taken first");
        }
        assert!(s.neigh().entries().is_empty());
        assert_eq!(io.dropped.len(), 1, "the waiting packet is dropped by the flush");
    }
}
