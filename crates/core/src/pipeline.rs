//! What a worker does with one packet, independent of DPDK.
//!
//! Owns [`Pipeline`]: the per-core chain `net` (the director's own L2/L3) and then, for IPv4
//! packets the stack hands back, the load balancer ([`Balancer`], optional: without one, VIP
//! and local-address traffic is dropped as `no_service`). Generic over the packet buffer so the
//! same chain runs on mbufs in the worker and on `VecBuf` in tests. It must not touch ports,
//! rings or clocks: the worker passes `now` and an [`NetIo`] in, and moves packets between
//! cores itself: [`Pipeline::input`] returns a packet another core owns with what this core
//! checked of it ([`Carried`]), and that core's worker feeds both to
//! [`Pipeline::input_redirected`], which does not parse the packet again.
//!
//! Every packet ends in exactly one place: transmitted (or queued for ARP) by the stack, dropped
//! through [`NetIo::drop_pkt`] (load-balancer drops are counted in the balancer's counters, the
//! others in the stack's), or returned for redirection.

use std::net::Ipv4Addr;
use std::sync::Arc;

use crate::buf::PacketBuf;
use crate::ipvs::balancer::control::LbRequest;
use crate::ipvs::balancer::{Balancer, Egress, Verdict};
use crate::ipvs::service::Services;
use crate::net::control::{Ack, StackRequest, StackServed};
use crate::net::{AddrKind, DropReason, IfaceTable, Input, NetCounters, NetIo, RouteTable, Stack};
use crate::time::Instant;
use crate::wire::checked::PACKET_META_LEN;
use crate::wire::PacketMeta;

/// One core's packet-processing chain.
#[derive(Debug)]
pub struct Pipeline<B> {
    stack: Stack<B>,
    lb: Option<Balancer>,
}

/// What travels with a packet handed to another core: the headers this core's stack checked
/// and what its destination is to the director, so the owner core neither parses the packet
/// nor looks its destination up again. Its compact form ([`Carried::to_bytes`]) rides in the
/// packet buffer's private area across the ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Carried {
    /// The checked headers.
    pub meta: PacketMeta,
    /// The destination's kind, as the stack found it.
    pub owner: Option<AddrKind>,
}

/// Bytes of [`Carried::to_bytes`].
pub const CARRIED_LEN: usize = PACKET_META_LEN + 4;

impl Carried {
    /// The compact form (the headers' [`PacketMeta::to_bytes`], then the owner).
    pub fn to_bytes(&self) -> [u8; CARRIED_LEN] {
        let mut b = [0u8; CARRIED_LEN];
        b[..PACKET_META_LEN].copy_from_slice(&self.meta.to_bytes());
        b[PACKET_META_LEN] = match self.owner {
            None => 0,
            Some(AddrKind::Vip) => 1,
            Some(AddrKind::Local) => 2,
            Some(AddrKind::Host) => 3,
        };
        b
    }

    /// What [`Carried::to_bytes`] wrote; `None` for bytes it cannot have written.
    pub fn from_bytes(b: &[u8]) -> Option<Carried> {
        let meta = PacketMeta::from_bytes(b)?;
        let owner = match *b.get(PACKET_META_LEN)? {
            0 => None,
            1 => Some(AddrKind::Vip),
            2 => Some(AddrKind::Local),
            3 => Some(AddrKind::Host),
            _ => return None,
        };
        Some(Carried { meta, owner })
    }
}

/// The stack's routes and interfaces as the balancer's [`Egress`].
struct StackEgress<'a, B>(&'a Stack<B>);

impl<B: PacketBuf> Egress for StackEgress<'_, B> {
    fn egress(&self, dst: Ipv4Addr) -> Option<(u16, Option<Ipv4Addr>)> {
        let hit = self.0.routes().lookup(dst)?;
        let iface = self.0.ifaces().iface(hit.port)?;
        Some((iface.mtu, iface.source_addr_for(hit.next_hop)))
    }
}

impl<B: PacketBuf> Pipeline<B> {
    /// A chain over `stack`, without a load balancer.
    pub fn new(stack: Stack<B>) -> Self {
        Pipeline { stack, lb: None }
    }

    /// A chain over `stack` with a load balancer for VIP, local-address and SNAT traffic.
    pub fn with_balancer(stack: Stack<B>, lb: Balancer) -> Self {
        Pipeline { stack, lb: Some(lb) }
    }

    /// Sends what must go out when the worker starts (gratuitous ARP).
    pub fn start(&mut self, io: &mut impl NetIo<B>) {
        self.stack.start(io);
    }

    /// Applies a configuration snapshot to the balancer (between bursts); MTUs and tunnel
    /// source addresses toward the dests come from the stack's routes. No-op without one.
    pub fn set_services(&mut self, snap: Arc<Services>, now: Instant) {
        if let Some(lb) = self.lb.as_mut() {
            lb.set_services(snap, now, &StackEgress(&self.stack));
        }
    }

    /// Handles one frame received on `port` (a port index, as in the config). Returns the
    /// packet, the core it must be handed to and what travels with it when it belongs to
    /// another core's connection (a FULLNAT/SNAT reply to a local port that core owns); `None`
    /// when it was dealt with.
    #[inline]
    pub fn input(
        &mut self,
        port: u16,
        pkt: B,
        now: Instant,
        io: &mut impl NetIo<B>,
    ) -> Option<(B, usize, Carried)> {
        match self.stack.input(port, pkt, now, io) {
            Input::Consumed => None,
            // `meta` is read where the stack wrote it, not copied out first (see
            // `Balancer::process`).
            Input::Ipv4 { pkt, owner, ref meta } => {
                let Some(lb) = self.lb.as_mut() else {
                    let reason = match owner {
                        Some(AddrKind::Vip | AddrKind::Local) => DropReason::NoService,
                        Some(AddrKind::Host) | None => DropReason::NotForUs,
                    };
                    self.stack.drop_pkt(pkt, reason, io);
                    return None;
                };
                let v = lb.input_checked(pkt, meta, owner, now);
                let (pkt, core) = self.verdict(v, meta.ip.l3, now, io)?;
                Some((pkt, core, Carried { meta: *meta, owner }))
            }
        }
    }

    /// Starts the connection-table reads of a received burst before its frames are handed to
    /// [`Pipeline::input`] one by one (see [`Balancer::prefetch_burst`]); a hint that changes
    /// nothing.
    #[inline]
    pub fn prefetch<'a>(&self, frames: impl IntoIterator<Item = &'a [u8]>) {
        if let Some(lb) = self.lb.as_ref() {
            lb.prefetch_burst(frames);
        }
    }

    /// Learns from a copy of an ARP frame another core received on `port`.
    pub fn observe_arp(&mut self, port: u16, pkt: B, now: Instant, io: &mut impl NetIo<B>) {
        self.stack.observe_arp(port, pkt, now, io);
    }

    /// Handles a frame another core's [`Pipeline::input`] returned for this core, with what
    /// travelled with it (`carried`, which must describe `pkt` as that core handed it over).
    /// It has passed that core's stack already and is not parsed again; it is never
    /// redirected again.
    #[inline]
    pub fn input_redirected(
        &mut self,
        pkt: B,
        carried: &Carried,
        now: Instant,
        io: &mut impl NetIo<B>,
    ) {
        let Some(lb) = self.lb.as_mut() else {
            self.stack.drop_pkt(pkt, DropReason::NotForUs, io);
            return;
        };
        let l3 = carried.meta.ip.l3;
        let v = lb.input_redirected(pkt, &carried.meta, carried.owner, now);
        if let Some((pkt, _)) = self.verdict(v, l3, now, io) {
            // The balancer never redirects a redirected packet; keep the buffer accounted.
            io.drop_pkt(pkt, DropReason::NotForUs);
        }
    }

    fn verdict(
        &mut self,
        v: Verdict<B>,
        l3: usize,
        now: Instant,
        io: &mut impl NetIo<B>,
    ) -> Option<(B, usize)> {
        match v {
            Verdict::Forward { pkt, route_to, conn: Some((id, dir)) } => {
                // The established path: the connection's cached L2 header, checked against
                // the stack's L2 epoch; a miss routes, resolves and refills it.
                match self.lb.as_mut().and_then(|lb| lb.l2_cache_mut(id)) {
                    Some(cache) => {
                        self.stack.send_ipv4_cached(pkt, route_to, cache, dir as usize, now, io)
                    }
                    None => self.stack.send_ipv4(pkt, route_to, now, io),
                }
            }
            Verdict::Forward { pkt, route_to, conn: None } | Verdict::Reply { pkt, route_to } => {
                self.stack.send_ipv4(pkt, route_to, now, io);
            }
            // Counted by the balancer; the stack's reason only labels the freed buffer.
            Verdict::Drop { pkt, reason } => io.drop_pkt(pkt, reason.net_reason()),
            Verdict::DropWithIcmp { pkt, reason, error } => {
                if let Some(ip) = pkt.data().get(l3..) {
                    self.stack.send_icmp_error(ip, error, now, io);
                }
                io.drop_pkt(pkt, reason.net_reason());
            }
            Verdict::Redirect { pkt, core } => return Some((pkt, core)),
            Verdict::NotMine { pkt } => self.stack.drop_pkt(pkt, DropReason::NotForUs, io),
        }
        None
    }

    /// Sends a frame the host kernel wrote on the kernel interface of `port` out of `port` (the
    /// exception path's way out; counted).
    #[inline]
    pub fn from_kernel(&mut self, port: u16, pkt: B, now: Instant, io: &mut impl NetIo<B>) {
        self.stack.from_kernel(port, pkt, now, io);
    }

    /// How many frames the worker may read from the kernel interfaces now, at most `max` (the
    /// from-kernel rate limit).
    #[inline]
    pub fn from_kernel_budget(&mut self, now: Instant, max: usize) -> usize {
        self.stack.from_kernel_budget(now, max)
    }

    /// Counts `n` frames for the kernel that the worker's kernel queues refused.
    pub fn count_kernel_queue_full(&mut self, n: u64) {
        self.stack.count_kernel_queue_full(n);
    }

    /// Runs timers (neighbour probes and expiry, connection expiry).
    pub fn poll(&mut self, now: Instant, io: &mut impl NetIo<B>) {
        self.stack.poll(now, io);
        if let Some(lb) = self.lb.as_mut() {
            lb.poll(now);
        }
    }

    /// The stack's counters.
    pub fn net_counters(&self) -> &NetCounters {
        self.stack.counters()
    }

    /// The load balancer, if any.
    pub fn balancer(&self) -> Option<&Balancer> {
        self.lb.as_ref()
    }

    /// The load balancer, if any, writable (for control operations between bursts).
    pub fn balancer_mut(&mut self) -> Option<&mut Balancer> {
        self.lb.as_mut()
    }

    /// The stack's IPv6 neighbour discovery events (DAD done or in conflict) since the last
    /// call, for the worker to report.
    pub fn take_nd_events(&mut self) -> Vec<crate::net::nd::NdEvent> {
        self.stack.take_nd_events()
    }

    /// The stack.
    pub fn stack(&self) -> &Stack<B> {
        &self.stack
    }

    /// Runs new interface and route tables (an address or route change, between bursts). The
    /// balancer re-reads its snapshot against them, so MTUs and tunnel source addresses toward
    /// the dests follow the new routes (as after any service change).
    pub fn set_net(&mut self, ifaces: Arc<IfaceTable>, routes: Arc<RouteTable>, now: Instant) {
        self.stack.set_tables(ifaces, routes);
        self.reread_routes(now);
    }

    /// Has the balancer re-read its snapshot against the stack's tables.
    fn reread_routes(&mut self, now: Instant) {
        if let Some(lb) = self.lb.as_mut() {
            let snap = lb.services().clone();
            lb.set_services(snap, now, &StackEgress(&self.stack));
        }
    }

    /// Answers a balancer request with this core's balancer and routes (see
    /// [`LbRequest::serve`]); returns the generation to publish for a snapshot.
    pub fn serve_lb(&mut self, req: LbRequest, now: Instant) -> Option<u64> {
        req.serve(self.lb.as_mut(), &StackEgress(&self.stack), now)
    }

    /// Answers a stack request (see [`StackRequest::serve`]); after new tables the balancer
    /// re-reads its snapshot against them, and the acknowledgement to send once the packets
    /// the request queued are out is returned.
    pub fn serve_net(
        &mut self,
        req: StackRequest,
        announcer: bool,
        now: Instant,
        io: &mut impl NetIo<B>,
    ) -> Option<Ack> {
        match req.serve(&mut self.stack, announcer, now, io) {
            StackServed::Answered => None,
            StackServed::NewTables(ack) => {
                self.reread_routes(now);
                Some(ack)
            }
        }
    }

    /// Sends a gratuitous ARP for each of `addrs` (see [`Stack::announce`]).
    pub fn announce(&mut self, addrs: &[Ipv4Addr], io: &mut impl NetIo<B>) {
        self.stack.announce(addrs, io);
    }

    /// Forgets learned neighbours (see [`Stack::flush_neighbours`]).
    pub fn flush_neighbours(&mut self, io: &mut impl NetIo<B>) -> usize {
        self.stack.flush_neighbours(io)
    }
}

#[cfg(test)]
mod tests;
