//! What a worker does with one packet, independent of DPDK.
//!
//! Owns [`Pipeline`]: the per-core chain `net` (the director's own L2/L3) and then, for IPv4
//! packets the stack hands back, the load balancer. Generic over the packet buffer so the same
//! chain runs on mbufs in the worker and on `VecBuf` in tests. It must not touch ports, rings or
//! clocks: the worker passes `now` and an [`NetIo`] in.

use crate::buf::PacketBuf;
use crate::net::{AddrKind, DropReason, Input, NetCounters, NetIo, Stack};
use crate::time::Instant;

/// One core's packet-processing chain.
#[derive(Debug)]
pub struct Pipeline<B> {
    stack: Stack<B>,
}

impl<B: PacketBuf> Pipeline<B> {
    /// A chain over `stack`.
    pub fn new(stack: Stack<B>) -> Self {
        Pipeline { stack }
    }

    /// Sends what must go out when the worker starts (gratuitous ARP).
    pub fn start(&mut self, io: &mut impl NetIo<B>) {
        self.stack.start(io);
    }

    /// Handles one frame received on `port` (a port index, as in the config).
    #[inline]
    pub fn input(&mut self, port: u16, pkt: B, now: Instant, io: &mut impl NetIo<B>) {
        match self.stack.input(port, pkt, now, io) {
            Input::Consumed => {}
            Input::Ipv4 { pkt, owner, .. } => {
                // The load balancer takes VIP and local-address traffic once it is wired in; the
                // exception path takes the host's own traffic. Until then both are counted drops.
                let reason = match owner {
                    Some(AddrKind::Vip | AddrKind::Local) => DropReason::NoService,
                    Some(AddrKind::Host) | None => DropReason::NotForUs,
                };
                self.stack.drop_pkt(pkt, reason, io);
            }
        }
    }

    /// Learns from a copy of an ARP frame another core received on `port`.
    pub fn observe_arp(&mut self, port: u16, pkt: B, now: Instant, io: &mut impl NetIo<B>) {
        self.stack.observe_arp(port, pkt, now, io);
    }

    /// Runs timers (neighbour probes and expiry).
    pub fn poll(&mut self, now: Instant, io: &mut impl NetIo<B>) {
        self.stack.poll(now, io);
    }

    /// The stack's counters.
    pub fn net_counters(&self) -> &NetCounters {
        self.stack.counters()
    }
}
