//! The per-core L2/L3 stack: the entry point the worker calls for every received frame.
//!
//! Owns [`Stack`] and [`Input`]: Ethernet and IPv4 validation in a fixed order, dispatch to ARP
//! and ICMP echo for the director's own duties, and the hand-off of every other IPv4 packet to the
//! load balancer. Also the send path for packets the director originates or forwards
//! ([`Stack::send_ipv4`]: route, resolve, fill Ethernet, transmit) and the timers.
//!
//! It must not know services, conns or DPDK: a VIP is just an owned address here, and packets
//! reach the outside world only through [`NetIo`]. Interfaces, routes and static neighbours come
//! from the configuration, mapped by the dataplane; each core builds its own `Stack` and shares
//! the interface and route tables read-only with the others.
//!
//! # Buffer convention
//! A packet handed to [`Stack::send_ipv4`] starts with 14 bytes reserved for the Ethernet header
//! (contents ignored), followed by the IPv4 header. The stack writes the EtherType (IPv4) and,
//! once the next hop is resolved, the MACs. A received packet handed up in [`Input::Ipv4`] still
//! has its Ethernet header in front, so it can be sent back out the same way without a prepend.

use std::net::Ipv4Addr;
use std::sync::Arc;

use super::arp;
use super::counters::{DropReason, NetCounters};
use super::exception::{Admit, Exception};
use super::icmp::{self, IcmpError};
use super::iface::{AddrKind, IfaceTable};
use super::io::{drop_counted, Ctx, NetIo};
use super::l2cache::{L2Cache, L2Hop};
use super::neigh::{NeighError, NeighParams, NeighTable, Resolution, StaticNeigh};
use super::route::RouteTable;
use crate::buf::PacketBuf;
use crate::time::Instant;
use crate::wire::{
    self, ethernet, EtherType, EthernetFrame, IpProtocol, Ipv4Meta, Ipv4Packet, MacAddr, PacketMeta,
};

/// What became of a received frame.
#[derive(Debug)]
pub enum Input<B> {
    /// The stack answered, queued, freed or dropped it; the caller has nothing to do.
    Consumed,
    /// A valid IPv4 packet (Ethernet header and IPv4 header checked, checksum verified) that is
    /// not one of the director's own L2/L3 duties: for the load balancer, the exception path, or
    /// to be dropped by the caller as `no_service`/`not_for_us`.
    Ipv4 {
        /// The frame, Ethernet header included.
        pkt: B,
        /// The headers as the stack checked them: the IPv4 header with its offset in `pkt`
        /// (`meta.ip.l3`, 14: no VLAN support) and the transport header with the flow tuple
        /// (for packets the load balancer may take): the load balancer reads them rather than
        /// viewing and checking the headers again.
        meta: PacketMeta,
        /// Whether the destination is owned, and as what: `Some(Vip | Local)` is the load
        /// balancer's, `Some(Host)` is traffic to the director itself (not ICMP echo), `None`
        /// is not addressed to the director.
        owner: Option<AddrKind>,
    },
}

/// ICMP errors per second one core generates by default (as the kernel's `icmp_ratelimit`, 1000
/// per second, here per core and for every destination together).
pub const DEFAULT_ICMP_ERROR_PPS: u64 = 1000;
/// The burst of ICMP errors a core may send after a quiet spell, by default.
pub const DEFAULT_ICMP_ERROR_BURST: u64 = 100;

/// ARP packets per second one core processes by default (see [`Stack::with_arp_limit`]): far
/// more than the neighbours of a director's links send, a few µs of work per packet.
pub const DEFAULT_ARP_PPS: u64 = 2000;
/// The burst of ARP packets a core processes after a quiet spell, by default.
pub const DEFAULT_ARP_BURST: u64 = 200;

/// One core's L2/L3 stack.
#[derive(Debug)]
pub struct Stack<B> {
    pub(super) ifaces: Arc<IfaceTable>,
    routes: Arc<RouteTable>,
    neigh: NeighTable<B>,
    pub(super) counters: NetCounters,
    pub(super) exception: Exception,
    /// Paces the ICMP and ICMPv6 errors this core generates (see
    /// [`Stack::with_icmp_error_limit`]).
    pub(super) icmp_errors: super::TokenBucket,
    /// Paces the ARP packets this core processes (see [`Stack::with_arp_limit`]).
    arp_limit: super::TokenBucket,
    /// Bumped when the routes are replaced; part of [`Stack::l2_epoch`].
    route_generation: u32,
    /// The director's own IPv6 (`stack6.rs`); `None` without IPv6 addresses.
    pub(super) v6: Option<Box<super::stack6::Ipv6Setup<B>>>,
}

impl<B: PacketBuf> Stack<B> {
    /// A stack over the shared interface and route tables, with its own neighbour table.
    pub fn new(
        ifaces: impl Into<Arc<IfaceTable>>,
        routes: impl Into<Arc<RouteTable>>,
        static_neighs: &[StaticNeigh],
        params: NeighParams,
    ) -> Result<Self, NeighError> {
        Ok(Stack {
            ifaces: ifaces.into(),
            routes: routes.into(),
            neigh: NeighTable::new(params, static_neighs)?,
            counters: NetCounters::default(),
            exception: Exception::disabled(),
            icmp_errors: super::TokenBucket::new(
                DEFAULT_ICMP_ERROR_PPS,
                DEFAULT_ICMP_ERROR_BURST,
                Instant::ZERO,
            ),
            arp_limit: super::TokenBucket::new(DEFAULT_ARP_PPS, DEFAULT_ARP_BURST, Instant::ZERO),
            route_generation: 0,
            v6: None,
        })
    }

    /// Gives the stack an exception path: packets for the kernel's addresses (see
    /// [`IfaceTable::with_kernel_addrs`]), ARP for them, and IPv4 multicast and broadcast received
    /// on a port with a kernel interface go to [`NetIo::to_kernel`], metered by `exception`.
    pub fn with_exception(mut self, exception: Exception) -> Self {
        self.exception = exception;
        self
    }

    /// Limits the ICMP errors this core generates to `pps` per second with bursts of `burst`
    /// (`pps` 0 = unlimited); the default is [`DEFAULT_ICMP_ERROR_PPS`] with bursts of
    /// [`DEFAULT_ICMP_ERROR_BURST`]. An error not sent is counted in
    /// [`NetCounters::icmp_errors_limited`]; the offending packet is dropped as it would be anyway.
    pub fn with_icmp_error_limit(mut self, pps: u64, burst: u64, now: Instant) -> Self {
        self.icmp_errors = super::TokenBucket::new(pps, burst, now);
        self
    }

    /// Limits the ARP packets this core processes (answers, learns from, hands to the kernel) to
    /// `pps` per second with bursts of `burst` (`pps` 0 = unlimited); the default is
    /// [`DEFAULT_ARP_PPS`] with bursts of [`DEFAULT_ARP_BURST`]. Replies to the director's own
    /// requests are exempt, so a flood cannot keep it from resolving its next hops. A packet over
    /// the limit is freed and counted in [`NetCounters::arp_rate_limited`].
    pub fn with_arp_limit(mut self, pps: u64, burst: u64, now: Instant) -> Self {
        self.arp_limit = super::TokenBucket::new(pps, burst, now);
        self
    }

    /// Announces every owned address with a gratuitous ARP. Call once when the ports are up
    /// (from one core: every core shares the same addresses).
    pub fn start(&mut self, io: &mut impl NetIo<B>) {
        arp::send_gratuitous(&mut Ctx { ifaces: &self.ifaces, counters: &mut self.counters, io });
    }

    /// Learns from a copy of an ARP frame that another core received on `port` (RSS sends all
    /// ARP to one queue, while every core keeps its own neighbour table). Answers nothing and
    /// counts no drop; the copy is freed. See [`is_arp_frame`].
    /// A copy of an IPv6 neighbour discovery frame (see [`super::stack6::is_nd_frame`]) goes to
    /// the IPv6 neighbour discovery's observer the same way.
    pub fn observe_arp(&mut self, port: u16, pkt: B, now: Instant, io: &mut impl NetIo<B>) {
        if super::stack6::is_ipv6_frame(pkt.data()) {
            return self.observe_nd(port, pkt, now, io);
        }
        let mut ctx = Ctx { ifaces: &self.ifaces, counters: &mut self.counters, io };
        let (neigh, limit) = (&mut self.neigh, &mut self.arp_limit);
        arp::input(pkt, port, now, arp::ArpRole::Observe, neigh, limit, &mut ctx);
    }

    /// Runs the neighbour timers (probe retries, failures, expiry). Call every few milliseconds.
    pub fn poll(&mut self, now: Instant, io: &mut impl NetIo<B>) {
        self.neigh.poll(now, &mut Ctx { ifaces: &self.ifaces, counters: &mut self.counters, io });
        self.poll6(now, io);
    }

    /// Handles a frame received on `port`. Validation order: Ethernet length, destination MAC,
    /// EtherType; for IPv4: `Ipv4Packet::new_checked` (truncated, version, IHL, total length),
    /// header checksum, source address; then dispatch.
    pub fn input(&mut self, port: u16, pkt: B, now: Instant, io: &mut impl NetIo<B>) -> Input<B> {
        let (dst_mac, ethertype) = match EthernetFrame::new_checked(pkt.data()) {
            Ok(f) => (f.dst_addr(), f.ethertype()),
            Err(_) => return self.drop(io, pkt, DropReason::EthTruncated),
        };
        let Some(our_mac) = self.ifaces.iface(port).map(|i| i.mac) else {
            return self.drop(io, pkt, DropReason::NotForUs);
        };
        if dst_mac.is_unicast() && dst_mac != our_mac {
            return self.drop(io, pkt, DropReason::EthOtherHost);
        }
        match ethertype {
            EtherType::Arp => {
                let kernel = self.exception.has_port(port);
                let mut ctx = Ctx { ifaces: &self.ifaces, counters: &mut self.counters, io };
                let role = arp::ArpRole::Receive { kernel };
                let (neigh, limit) = (&mut self.neigh, &mut self.arp_limit);
                if let Some(pkt) = arp::input(pkt, port, now, role, neigh, limit, &mut ctx) {
                    self.to_kernel(port, pkt, now, io);
                }
                Input::Consumed
            }
            EtherType::Ipv4 => self.ipv4_input(port, our_mac, pkt, now, io),
            EtherType::Ipv6 => self.ipv6_input(port, pkt, now, io),
            EtherType::Vlan | EtherType::Unknown(0x88a8) | EtherType::Unknown(0x9100) => {
                self.drop(io, pkt, DropReason::VlanUnsupported)
            }
            _ => self.drop(io, pkt, DropReason::UnknownEthertype),
        }
    }

    fn ipv4_input(
        &mut self,
        port: u16,
        our_mac: MacAddr,
        pkt: B,
        now: Instant,
        io: &mut impl NetIo<B>,
    ) -> Input<B> {
        let l3 = ethernet::HEADER_LEN;
        let checked = match pkt.data().get(l3..) {
            Some(bytes) => match Ipv4Packet::new_checked(bytes) {
                Ok(ip) if !ip.verify_checksum() => Err(DropReason::Ipv4BadChecksum),
                Ok(ip) => Ok(Ipv4Meta::from_packet(l3, &ip)),
                Err(e) => Err(ipv4_reason(e)),
            },
            None => Err(DropReason::Ipv4Truncated),
        };
        let ip = match checked {
            Ok(v) => v,
            Err(reason) => return self.drop(io, pkt, reason),
        };
        let (src, dst, proto, frag) = (ip.src_addr, ip.dst_addr, ip.protocol, ip.is_fragment());
        if src.is_multicast() || src.is_broadcast() || src.is_unspecified() || src.is_loopback() {
            return self.drop(io, pkt, DropReason::Ipv4BadSource);
        }
        if let Some(kport) = self.ifaces.kernel_owns(dst) {
            // The host kernel's address: everything for it, fragments and ICMP included.
            let to = if kport == port { port } else { u16::MAX };
            self.to_kernel(to, pkt, now, io);
            return Input::Consumed;
        }
        if (dst.is_multicast() || dst.is_broadcast()) && self.exception.has_port(port) {
            // Routing protocols (OSPF, VRRP, RIP), DHCP: the kernel's business.
            self.to_kernel(port, pkt, now, io);
            return Input::Consumed;
        }
        let Some((_, kind)) = self.ifaces.owns(dst) else {
            let meta = PacketMeta::parse(pkt.data(), ip);
            return Input::Ipv4 { pkt, meta, owner: None };
        };
        if kind == AddrKind::Vip && self.ifaces.is_standby(dst) {
            // Director HA: the other director holds this VIP; a stale ARP cache sent it here.
            return self.drop(io, pkt, DropReason::VipStandby);
        }
        if proto != IpProtocol::ICMP {
            let meta = self.meta_for(&pkt, ip, kind);
            return Input::Ipv4 { pkt, meta, owner: Some(kind) };
        }
        if frag {
            return self.drop(io, pkt, DropReason::Ipv4Fragment);
        }
        match icmp::echo_input(pkt, l3, our_mac) {
            icmp::EchoOutcome::Reply(pkt) => {
                self.counters.echo_replies += 1;
                io.tx(port, pkt);
                Input::Consumed
            }
            icmp::EchoOutcome::NotEcho(pkt) if kind != AddrKind::Host => {
                let meta = self.meta_for(&pkt, ip, kind);
                Input::Ipv4 { pkt, meta, owner: Some(kind) }
            }
            icmp::EchoOutcome::NotEcho(pkt) => self.drop(io, pkt, DropReason::IcmpUnsupported),
            icmp::EchoOutcome::Drop(pkt, reason) => self.drop(io, pkt, reason),
        }
    }

    /// The checked headers handed up with a packet to an owned address of `kind`: the
    /// transport header is checked only when the load balancer may take the packet (not for
    /// the director's own host traffic).
    #[inline]
    fn meta_for(&self, pkt: &B, ip: Ipv4Meta, kind: AddrKind) -> PacketMeta {
        if kind == AddrKind::Host {
            PacketMeta { ip, flow: None }
        } else {
            PacketMeta::parse(pkt.data(), ip)
        }
    }

    /// Routes `pkt` to `dst`, resolves the next hop (queueing the packet while ARP runs) and
    /// transmits it. `pkt` holds 14 reserved bytes, then a complete IPv4 packet (see the module
    /// doc). Drops as [`DropReason::NoRoute`] when no route matches.
    pub fn send_ipv4(&mut self, mut pkt: B, dst: Ipv4Addr, now: Instant, io: &mut impl NetIo<B>) {
        let Some(hit) = self.routes.lookup(dst) else {
            return drop_counted(&mut self.counters, io, pkt, DropReason::NoRoute);
        };
        match EthernetFrame::new_checked(pkt.data_mut()) {
            Ok(mut f) => f.set_ethertype(EtherType::Ipv4),
            Err(_) => return drop_counted(&mut self.counters, io, pkt, DropReason::EthTruncated),
        }
        let mut ctx = Ctx { ifaces: &self.ifaces, counters: &mut self.counters, io };
        self.neigh.output(pkt, hit.next_hop, hit.port, now, &mut ctx);
    }

    /// The L2 epoch: changes whenever a next hop or MAC the stack gave out may have become
    /// wrong (the neighbour table's generation, plus a count of route replacements). A
    /// connection's [`L2Cache`] is only trusted under the epoch it was filled in.
    #[inline]
    pub fn l2_epoch(&self) -> u32 {
        self.neigh.generation().wrapping_add(self.route_generation)
    }

    /// Replaces the route table (between bursts); every cached L2 header becomes stale.
    pub fn set_routes(&mut self, routes: impl Into<Arc<RouteTable>>) {
        self.routes = routes.into();
        self.route_generation = self.route_generation.wrapping_add(1);
    }

    /// [`Stack::send_ipv4`] for a packet of a connection whose cached L2 headers are `cache`,
    /// travelling in direction `dir` (0 or 1). When `cache` holds a hop for `dir` under the
    /// current [`Stack::l2_epoch`], the Ethernet header is written from it and the packet sent
    /// with no route or neighbour lookup (`l2_cache_hits`). Otherwise (`l2_cache_misses`) the
    /// packet is routed and resolved as by [`Stack::send_ipv4`]; if the next hop is resolved
    /// now, the hop is stored in `cache`. No allocation.
    ///
    /// `dst` must be the address the connection's packets in `dir` are always routed to.
    #[inline]
    pub fn send_ipv4_cached(
        &mut self,
        mut pkt: B,
        dst: Ipv4Addr,
        cache: &mut L2Cache,
        dir: usize,
        now: Instant,
        io: &mut impl NetIo<B>,
    ) {
        let epoch = self.l2_epoch();
        if let Some(hop) = cache.get(dir, epoch) {
            if let Some(src) = self.ifaces.iface(hop.port).map(|i| i.mac) {
                if write_eth(&mut pkt, hop.dst, src) {
                    self.counters.l2_cache_hits += 1;
                    return io.tx(hop.port, pkt);
                }
            }
        }
        self.counters.l2_cache_misses += 1;
        let Some(hit) = self.routes.lookup(dst) else {
            return drop_counted(&mut self.counters, io, pkt, DropReason::NoRoute);
        };
        if let (Resolution::Resolved(mac), Some(src)) = (
            self.neigh.resolve(hit.next_hop, hit.port, now),
            self.ifaces.iface(hit.port).map(|i| i.mac),
        ) {
            if write_eth(&mut pkt, mac, src) {
                cache.set(dir, epoch, L2Hop { dst: mac, port: hit.port });
                return io.tx(hit.port, pkt);
            }
        }
        self.send_ipv4(pkt, dst, now, io);
    }

    /// Sends the ICMP error `kind` about `offending` (an IPv4 packet, from its header on) to its
    /// source, from the host address of the port the error leaves by. Nothing is sent (and false
    /// returned) when RFC 1122 forbids an error about that packet (an ICMP error, a non-first
    /// fragment, a broadcast/multicast/unspecified address), when there is no route back, or when
    /// no buffer is left (counted as [`DropReason::NoMbuf`]). The offending packet stays the
    /// caller's.
    pub fn send_icmp_error(
        &mut self,
        offending: &[u8],
        kind: IcmpError,
        now: Instant,
        io: &mut impl NetIo<B>,
    ) -> bool {
        let Some(to) = icmp::error_destination(offending) else { return false };
        if !self.icmp_errors.take(now) {
            self.counters.icmp_errors_limited += 1;
            return false;
        }
        let Some(hit) = self.routes.lookup(to) else { return false };
        let Some(src) = self.ifaces.iface(hit.port).and_then(|i| i.source_addr_for(hit.next_hop))
        else {
            return false;
        };
        let Some(mut pkt) = io.alloc() else {
            self.counters.count_drop(DropReason::NoMbuf);
            return false;
        };
        if icmp::build_error(&mut pkt, offending, src, kind).is_err() {
            drop_counted(&mut self.counters, io, pkt, DropReason::NoMbuf);
            return false;
        }
        self.counters.icmp_errors_sent += 1;
        self.send_ipv4(pkt, to, now, io);
        true
    }

    /// Hands `pkt` (a whole frame) to the kernel interface of `port` through
    /// [`NetIo::to_kernel`], if the port has one and the core's rate limit allows; otherwise
    /// drops it, counted in the exception counters.
    pub fn to_kernel(&mut self, port: u16, pkt: B, now: Instant, io: &mut impl NetIo<B>) {
        let class = super::exc_class::classify(pkt.data());
        match self.exception.admit_to_kernel(port, class, pkt.data().len(), now) {
            Admit::Pass => io.to_kernel(port, pkt),
            Admit::Drop(_) => io.drop_pkt(pkt, DropReason::NotForUs),
        }
    }

    /// Sends a frame the kernel wrote on the kernel interface of `port` out of `port`, as it is
    /// (the kernel built the Ethernet header with the port's MAC and did its own ARP), if its
    /// (port, class) rate allows; otherwise drops it, counted in the exception counters.
    pub fn from_kernel(&mut self, port: u16, pkt: B, now: Instant, io: &mut impl NetIo<B>) {
        let class = super::exc_from_kernel::classify_from_kernel(pkt.data());
        match self.exception.admit_from_kernel(port, class, pkt.data().len(), now) {
            Admit::Pass => io.tx(port, pkt),
            Admit::Drop(_) => io.drop_pkt(pkt, DropReason::NotForUs),
        }
    }

    /// How many frames the worker may read from the kernel interfaces now, at most `max`.
    pub fn from_kernel_budget(&mut self, now: Instant, max: usize) -> usize {
        self.exception.from_kernel_budget(now, max)
    }

    /// Counts `n` packets for the kernel that the worker could not queue.
    pub fn count_kernel_queue_full(&mut self, n: u64) {
        for _ in 0..n {
            self.exception.count_drop(super::exception::ExceptionDrop::KernelQueueFull);
        }
    }

    /// The exception path's counts per (port, class).
    pub fn exception_class_counts(
        &self,
    ) -> &[[super::exc_class::ClassCount; super::exc_class::ExcClass::COUNT]] {
        self.exception.class_counts()
    }

    /// The exception path's counts per (port, class) of what the kernel sent.
    pub fn exception_from_kernel_class_counts(
        &self,
    ) -> &[[super::exc_class::ClassCount; super::exc_class::ExcClass::COUNT]] {
        self.exception.from_kernel_class_counts()
    }

    /// The exception path's counters.
    pub fn exception_counters(&self) -> &super::exception::ExceptionCounters {
        self.exception.counters()
    }

    /// Whether any port has a kernel interface.
    pub fn has_exception(&self) -> bool {
        self.exception.enabled()
    }

    /// Drops every packet waiting for a neighbour (for shutdown: buffers go back to the pool).
    pub fn flush(&mut self, io: &mut impl NetIo<B>) {
        let mut ctx = Ctx { ifaces: &self.ifaces, counters: &mut self.counters, io };
        self.neigh.flush(&mut ctx);
        if let Some(v6) = self.v6.as_mut() {
            v6.nd.table().flush(&mut ctx);
        }
    }

    /// This core's counters.
    pub fn counters(&self) -> &NetCounters {
        &self.counters
    }

    /// Counts a drop the caller decided (for example `no_service` for an [`Input::Ipv4`] packet
    /// with no virtual service) and hands the packet to [`NetIo::drop_pkt`].
    pub fn drop_pkt(&mut self, pkt: B, reason: DropReason, io: &mut impl NetIo<B>) {
        drop_counted(&mut self.counters, io, pkt, reason);
    }

    /// The interface table.
    pub fn ifaces(&self) -> &Arc<IfaceTable> {
        &self.ifaces
    }

    /// The route table.
    pub fn routes(&self) -> &Arc<RouteTable> {
        &self.routes
    }

    /// This core's neighbour table.
    pub fn neigh(&self) -> &NeighTable<B> {
        &self.neigh
    }

    /// Replaces the interface and route tables (an address or route change from the control
    /// plane, applied between bursts). Learned neighbours stay; packets already queued for a
    /// neighbour keep their port.
    pub fn set_tables(&mut self, ifaces: Arc<IfaceTable>, routes: Arc<RouteTable>) {
        self.ifaces = ifaces;
        self.routes = routes;
        // Cached L2 headers may name a hop the new tables route elsewhere.
        self.route_generation = self.route_generation.wrapping_add(1);
    }

    /// Announces `addrs` (owned addresses, typically just added or taken over) with a
    /// gratuitous ARP each; an address listed n times is announced n times. Addresses the
    /// tables do not own, and standby VIPs, are skipped.
    pub fn announce(&mut self, addrs: &[Ipv4Addr], io: &mut impl NetIo<B>) {
        let mut ctx = Ctx { ifaces: &self.ifaces, counters: &mut self.counters, io };
        arp::send_gratuitous_for(&mut ctx, Some(addrs));
    }

    /// Forgets every learned and incomplete neighbour (static ones stay); packets waiting for
    /// resolution are dropped. Returns how many entries were removed.
    pub fn flush_neighbours(&mut self, io: &mut impl NetIo<B>) -> usize {
        let before = self.neigh.len();
        self.neigh.flush(&mut Ctx { ifaces: &self.ifaces, counters: &mut self.counters, io });
        before - self.neigh.len()
    }

    fn drop(&mut self, io: &mut impl NetIo<B>, pkt: B, reason: DropReason) -> Input<B> {
        drop_counted(&mut self.counters, io, pkt, reason);
        Input::Consumed
    }
}

/// Writes a whole IPv4 Ethernet header; false when the buffer is shorter than one.
#[inline]
fn write_eth<B: PacketBuf>(pkt: &mut B, dst: MacAddr, src: MacAddr) -> bool {
    match EthernetFrame::new_checked(pkt.data_mut()) {
        Ok(mut f) => {
            f.set_dst_addr(dst);
            f.set_src_addr(src);
            f.set_ethertype(EtherType::Ipv4);
            true
        }
        Err(_) => false,
    }
}

/// The drop reason for an IPv4 view error.
fn ipv4_reason(e: wire::Error) -> DropReason {
    match e {
        wire::Error::BadVersion => DropReason::Ipv4BadVersion,
        wire::Error::BadIhl => DropReason::Ipv4BadIhl,
        wire::Error::BadTotalLength => DropReason::Ipv4BadLength,
        wire::Error::BadChecksum => DropReason::Ipv4BadChecksum,
        _ => DropReason::Ipv4Truncated,
    }
}

/// Whether `frame` is an Ethernet frame carrying ARP (the cheap test the worker makes before it
/// hands copies of ARP frames to the other cores).
#[inline]
pub fn is_arp_frame(frame: &[u8]) -> bool {
    EthernetFrame::new_checked(frame).is_ok_and(|f| f.ethertype() == EtherType::Arp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buf::VecBuf;
    use crate::net::testutil::*;
    use crate::net::Route;
    use crate::wire::FlowMeta;
    use proptest::prelude::*;

    /// Independent check of an echo reply against the request it answers.
    fn check_echo_reply(req_ip: &[u8], reply: &[u8], port_mac: MacAddr) {
        assert_eq!(&reply[0..6], &PEER_MAC.0);
        assert_eq!(&reply[6..12], &port_mac.0);
        assert_eq!(&reply[12..14], &[8, 0]);
        let ip = &reply[14..];
        assert_eq!(ip.len(), req_ip.len(), "padding removed, nothing else");
        let hl = usize::from(req_ip[0] & 0x0f) * 4;
        assert_eq!(&ip[12..16], &req_ip[16..20], "src = pinged address");
        assert_eq!(&ip[16..20], &req_ip[12..16], "dst = requester");
        assert_eq!(ip[8], 64, "TTL reset");
        assert_eq!(&ip[..8], &req_ip[..8]);
        assert_eq!(ip[9], 1);
        assert_eq!(&ip[20..hl], &req_ip[20..hl], "options kept");
        let mut h = ip[..hl].to_vec();
        h[10..12].fill(0);
        assert_eq!(u16::from_be_bytes([ip[10], ip[11]]), naive_checksum(&h), "IPv4 checksum");
        let icmp = &ip[hl..];
        let req_icmp = &req_ip[hl..];
        assert_eq!(icmp[0], 0, "echo reply");
        assert_eq!(icmp[1], req_icmp[1]);
        assert_eq!(&icmp[4..], &req_icmp[4..], "id, seq and data echoed");
        // The checksum verifies over the whole message, and equals a from-scratch computation
        // (up to the two encodings of one's-complement zero).
        assert_eq!(naive_checksum(icmp), 0, "ICMP checksum verifies");
        let mut m = icmp.to_vec();
        m[2..4].fill(0);
        let full = naive_checksum(&m);
        let got = u16::from_be_bytes([icmp[2], icmp[3]]);
        assert!(
            got == full || (full == 0xffff && got == 0) || (full == 0 && got == 0xffff),
            "{got:04x} vs {full:04x}"
        );
    }

    #[test]
    fn echo_request_to_owned_addresses_is_answered() {
        for (dst, port, mac) in
            [(VIP, 0u16, MAC0), (HOST0, 0, MAC0), (LADDR, 0, MAC0), (HOST1, 1, MAC1)]
        {
            let mut s = stack();
            let mut io = TestIo::default();
            let req_ip =
                ipv4(CLIENT, dst, 1, 17, &icmp(8, 0, [0x12, 0x34, 0, 7], b"abcdefghijklmnopq"));
            let mut frame = eth(mac, PEER_MAC, 0x0800, &req_ip);
            frame.resize(frame.len().max(60) + 4, 0xaa); // padding the reply must not keep
            assert!(matches!(rx(&mut s, &mut io, port, &frame), Input::Consumed));
            assert_eq!(io.tx.len(), 1, "{dst}");
            assert_eq!(io.tx[0].0, port);
            check_echo_reply(&req_ip, data(&io.tx[0].1), mac);
            assert_eq!(s.counters().echo_replies, 1);
        }
    }

    #[test]
    fn echo_reply_checksum_corner_cases() {
        // All-zero message after the type change: incremental arithmetic would give 0x0000.
        let cases: Vec<Vec<u8>> = vec![
            icmp(8, 0, [0; 4], &[]),
            icmp(8, 0, [0xff, 0xff, 0xf7, 0xff], &[]),
            icmp(8, 0, [0, 0, 0, 0], &[0xff, 0xff]),
            icmp(8, 0, [1, 2, 3, 4], &[9; 1]),
        ];
        for m in cases {
            let mut s = stack();
            let mut io = TestIo::default();
            let req_ip = ipv4(CLIENT, VIP, 1, 64, &m);
            rx(&mut s, &mut io, 0, &eth(MAC0, PEER_MAC, 0x0800, &req_ip));
            assert_eq!(io.tx.len(), 1);
            check_echo_reply(&req_ip, data(&io.tx[0].1), MAC0);
        }
    }

    #[test]
    fn echo_with_ip_options() {
        let mut s = stack();
        let mut io = TestIo::default();
        let mut req_ip = ipv4(CLIENT, VIP, 1, 5, &icmp(8, 0, [0, 1, 0, 2], b"xy"));
        // Insert 4 bytes of options (NOP x3, EOL) and fix IHL, length and checksum.
        req_ip.splice(20..20, [1, 1, 1, 0]);
        req_ip[0] = 0x46;
        let total = req_ip.len() as u16;
        req_ip[2..4].copy_from_slice(&total.to_be_bytes());
        req_ip[10..12].fill(0);
        let c = naive_checksum(&req_ip[..24]);
        req_ip[10..12].copy_from_slice(&c.to_be_bytes());
        rx(&mut s, &mut io, 0, &eth(MAC0, PEER_MAC, 0x0800, &req_ip));
        assert_eq!(io.tx.len(), 1);
        check_echo_reply(&req_ip, data(&io.tx[0].1), MAC0);
    }

    #[test]
    fn icmp_drops() {
        let mut bad = icmp(8, 0, [0, 1, 0, 1], b"data");
        bad[5] ^= 1;
        dropped_as(
            &eth(MAC0, PEER_MAC, 0x0800, &ipv4(CLIENT, VIP, 1, 64, &bad)),
            0,
            DropReason::IcmpBadChecksum,
        );
        dropped_as(
            &eth(MAC0, PEER_MAC, 0x0800, &ipv4(CLIENT, VIP, 1, 64, &[8, 0, 0, 0])),
            0,
            DropReason::IcmpMalformed,
        );
        let unreach = icmp(3, 3, [0; 4], &[0; 28]);
        dropped_as(
            &eth(MAC0, PEER_MAC, 0x0800, &ipv4(CLIENT, HOST0, 1, 64, &unreach)),
            0,
            DropReason::IcmpUnsupported,
        );
        let mut frag = ipv4(CLIENT, HOST0, 1, 64, &icmp(8, 0, [0; 4], &[]));
        frag[6] |= 0x20; // MF
        frag[10..12].fill(0);
        let c = naive_checksum(&frag[..20]);
        frag[10..12].copy_from_slice(&c.to_be_bytes());
        dropped_as(&eth(MAC0, PEER_MAC, 0x0800, &frag), 0, DropReason::Ipv4Fragment);
    }

    #[test]
    fn non_echo_icmp_to_vip_goes_to_the_load_balancer() {
        let mut s = stack();
        let mut io = TestIo::default();
        let unreach = icmp(3, 3, [0; 4], &[0; 28]);
        let f = eth(MAC0, PEER_MAC, 0x0800, &ipv4(CLIENT, VIP, 1, 64, &unreach));
        match rx(&mut s, &mut io, 0, &f) {
            Input::Ipv4 { pkt, meta, owner: Some(AddrKind::Vip) } if meta.ip.l3 == 14 => {
                assert_eq!(data(&pkt), &f[..])
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn ipv4_for_the_load_balancer_or_not_ours() {
        let cases = [
            (VIP, 6u8, Some(AddrKind::Vip)),
            (LADDR, 17, Some(AddrKind::Local)),
            (HOST0, 6, Some(AddrKind::Host)),
            (Ipv4Addr::new(10, 0, 0, 9), 6, None),
            (Ipv4Addr::new(10, 0, 0, 9), 1, None),
        ];
        for (dst, proto, owner) in cases {
            let mut s = stack();
            let mut io = TestIo::default();
            let f = eth(MAC0, PEER_MAC, 0x0800, &ipv4(CLIENT, dst, proto, 64, &[0; 20]));
            match rx(&mut s, &mut io, 0, &f) {
                Input::Ipv4 { pkt, meta, owner: o } => {
                    let ip = Ipv4Meta::parse(&f, 14).unwrap();
                    assert_eq!(meta.ip, ip);
                    let flow = (o != Some(AddrKind::Host)).then(|| FlowMeta::parse(&f, &ip));
                    assert_eq!(meta.flow, flow.flatten(), "{dst} {proto}");
                    assert_eq!(o, owner, "{dst} {proto}");
                    assert_eq!(data(&pkt), &f[..], "handed up untouched");
                }
                Input::Consumed => panic!("{dst} {proto} consumed"),
            }
            assert!(io.tx.is_empty() && io.dropped.is_empty());
        }
    }

    #[test]
    fn validation_drop_reasons() {
        let good = ipv4(CLIENT, VIP, 6, 64, &[0; 20]);
        dropped_as(&[0u8; 13], 0, DropReason::EthTruncated);
        dropped_as(&eth(MAC0, PEER_MAC, 0x0800, &good[..19]), 0, DropReason::Ipv4Truncated);
        let mut v6 = good.clone();
        v6[0] = 0x65;
        dropped_as(&eth(MAC0, PEER_MAC, 0x0800, &v6), 0, DropReason::Ipv4BadVersion);
        let mut ihl = good.clone();
        ihl[0] = 0x44;
        dropped_as(&eth(MAC0, PEER_MAC, 0x0800, &ihl), 0, DropReason::Ipv4BadIhl);
        let mut long = good.clone();
        long[2..4].copy_from_slice(&100u16.to_be_bytes());
        dropped_as(&eth(MAC0, PEER_MAC, 0x0800, &long), 0, DropReason::Ipv4BadLength);
        let mut csum = good.clone();
        csum[11] ^= 0x01;
        dropped_as(&eth(MAC0, PEER_MAC, 0x0800, &csum), 0, DropReason::Ipv4BadChecksum);
        let martian = ipv4(Ipv4Addr::new(224, 1, 1, 1), VIP, 6, 64, &[0; 20]);
        dropped_as(&eth(MAC0, PEER_MAC, 0x0800, &martian), 0, DropReason::Ipv4BadSource);
        dropped_as(&eth(MAC0, PEER_MAC, 0x86dd, &[0; 40]), 0, DropReason::UnknownEthertype);
        dropped_as(&eth(MAC0, PEER_MAC, 0x8100, &[0; 40]), 0, DropReason::VlanUnsupported);
        dropped_as(&eth(MAC1, PEER_MAC, 0x0800, &good), 0, DropReason::EthOtherHost);
        dropped_as(&eth(MAC0, PEER_MAC, 0x0800, &good), 9, DropReason::NotForUs);
    }

    #[test]
    fn observed_arp_copy_teaches_this_core_and_answers_nothing() {
        // Core B queued packets for PEER; the ARP reply arrived on core A's queue and a copy
        // reaches core B through observe_arp.
        let mut b = stack();
        let mut io = TestIo::default();
        let t0 = Instant::from_secs(10);
        b.send_ipv4(outgoing(PEER, 1), PEER, t0, &mut io);
        io.tx.clear();
        let rep = eth(MAC0, PEER_MAC, 0x0806, &arp(2, PEER_MAC, PEER, MAC0, HOST0));
        assert!(is_arp_frame(&rep));
        b.observe_arp(0, buf(&rep), t0, &mut io);
        assert_eq!(io.tx.len(), 1, "only the released packet goes out");
        assert_eq!(&data(&io.tx[0].1)[0..6], &PEER_MAC.0);
        assert_eq!(io.freed.len(), 1, "the copy is freed");
        assert!(io.dropped.is_empty());
        assert_eq!(b.counters().arp_requests_answered, 0);

        // A request for our address seen as a copy: learned (addressed to us), never answered.
        let mut c = stack();
        let mut io = TestIo::default();
        let req = eth(
            MacAddr::BROADCAST,
            PEER_MAC,
            0x0806,
            &arp(1, PEER_MAC, PEER, MacAddr::ZERO, HOST0),
        );
        c.observe_arp(0, buf(&req), t0, &mut io);
        assert!(io.tx.is_empty());
        assert_eq!(c.counters().arp_learned, 1);
        // A request for someone else from a stranger: nothing learned, nothing counted.
        let other = eth(
            MacAddr::BROADCAST,
            PEER_MAC,
            0x0806,
            &arp(1, PEER_MAC, CLIENT, MacAddr::ZERO, Ipv4Addr::new(10, 0, 0, 99)),
        );
        c.observe_arp(0, buf(&other), t0, &mut io);
        assert_eq!(c.counters().arp_learned, 1);
        assert_eq!(c.counters().total_drops(), 0);
        assert!(!is_arp_frame(&eth(MAC0, PEER_MAC, 0x0800, &[0; 20])));
    }

    #[test]
    fn send_ipv4_resolves_then_releases() {
        let mut s = stack();
        let mut io = TestIo::default();
        let t0 = Instant::from_secs(10);
        s.send_ipv4(outgoing(PEER, 1), PEER, t0, &mut io);
        s.send_ipv4(outgoing(PEER, 2), PEER, t0, &mut io);
        // One ARP request (the second packet joins the queue), nothing else.
        assert_eq!(io.tx.len(), 1);
        let mut want =
            eth(MacAddr::BROADCAST, MAC0, 0x0806, &arp(1, MAC0, HOST0, MacAddr::ZERO, PEER));
        want.resize(60, 0);
        assert_eq!((io.tx[0].0, data(&io.tx[0].1)), (0, &want[..]));
        assert_eq!(s.neigh().pending_len(), 2);
        assert_eq!(s.counters().arp_requests_sent, 1);
        io.tx.clear();

        let rep = eth(MAC0, PEER_MAC, 0x0806, &arp(2, PEER_MAC, PEER, MAC0, HOST0));
        s.input(0, buf(&rep), t0, &mut io);
        assert_eq!(io.tx.len(), 2);
        for (i, (port, pkt)) in io.tx.iter().enumerate() {
            let d = data(pkt);
            assert_eq!(*port, 0);
            assert_eq!(&d[0..6], &PEER_MAC.0);
            assert_eq!(&d[6..12], &MAC0.0);
            assert_eq!(&d[12..14], &[8, 0]);
            assert_eq!(
                &d[14..],
                &data(&outgoing(PEER, i as u8 + 1))[14..],
                "in order, payload untouched"
            );
        }
        assert_eq!(s.neigh().pending_len(), 0);
        assert_eq!(s.counters().neigh_released, 2);
        // Resolved now: sent at once.
        io.tx.clear();
        s.send_ipv4(outgoing(PEER, 3), PEER, t0, &mut io);
        assert_eq!(io.tx.len(), 1);
        assert_eq!(&data(&io.tx[0].1)[0..6], &PEER_MAC.0);
    }

    #[test]
    fn send_ipv4_via_gateway_and_no_route() {
        let mut s = stack();
        let mut io = TestIo::default();
        s.send_ipv4(
            outgoing(Ipv4Addr::new(8, 8, 8, 8), 1),
            Ipv4Addr::new(8, 8, 8, 8),
            Instant::ZERO,
            &mut io,
        );
        assert_eq!(&data(&io.tx[0].1)[38..42], &GW.octets(), "ARP for the gateway");
        let i = ifaces();
        let r = RouteTable::build(&i, &[]).unwrap();
        let mut s: Stack<VecBuf> = Stack::new(i, r, &[], NeighParams::default()).unwrap();
        let mut io = TestIo::default();
        s.send_ipv4(
            outgoing(Ipv4Addr::new(8, 8, 8, 8), 1),
            Ipv4Addr::new(8, 8, 8, 8),
            Instant::ZERO,
            &mut io,
        );
        assert_eq!(io.drop_reasons(), vec![DropReason::NoRoute]);
        s.send_ipv4(buf(&[0; 10]), PEER, Instant::ZERO, &mut io);
        assert_eq!(io.drop_reasons().last(), Some(&DropReason::EthTruncated));
    }

    #[test]
    fn icmp_errors_are_rate_limited_per_core() {
        let i = ifaces();
        let r = routes(&i);
        let st = [StaticNeigh { ip: GW, port: 0, mac: PEER_MAC }];
        let mut s: Stack<VecBuf> = Stack::new(i, r, &st, NeighParams::default())
            .unwrap()
            .with_icmp_error_limit(10, 4, Instant::ZERO);
        let mut io = TestIo::default();
        let off = ipv4(Ipv4Addr::new(1, 2, 3, 4), VIP, 6, 64, &[7; 40]);
        let sent = (0..20)
            .filter(|_| s.send_icmp_error(&off, IcmpError::TimeExceeded, Instant::ZERO, &mut io))
            .count();
        assert_eq!(sent, 4, "the burst");
        assert_eq!((s.counters().icmp_errors_sent, s.counters().icmp_errors_limited), (4, 16));
        let later = Instant::ZERO + core::time::Duration::from_millis(100);
        assert!(s.send_icmp_error(&off, IcmpError::TimeExceeded, later, &mut io), "refilled");
        assert_eq!(io.tx.len(), 5);
    }

    #[test]
    fn icmp_error_sent_to_source_via_static_neighbour() {
        let i = ifaces();
        let r = routes(&i);
        let st = [StaticNeigh { ip: GW, port: 0, mac: PEER_MAC }];
        let mut s: Stack<VecBuf> = Stack::new(i, r, &st, NeighParams::default()).unwrap();
        let mut io = TestIo::default();
        let client = Ipv4Addr::new(1, 2, 3, 4);
        let off = ipv4(client, VIP, 6, 64, &[7; 40]);
        assert!(s.send_icmp_error(
            &off,
            IcmpError::FragNeeded { mtu: 1480 },
            Instant::ZERO,
            &mut io
        ));
        assert_eq!(io.tx.len(), 1);
        let d = data(&io.tx[0].1);
        assert_eq!(&d[0..6], &PEER_MAC.0);
        assert_eq!(&d[6..12], &MAC0.0);
        assert_eq!(&d[12..14], &[8, 0]);
        assert_eq!(&d[26..30], &HOST0.octets());
        assert_eq!(&d[30..34], &client.octets());
        assert_eq!((d[34], d[35]), (3, 4));
        assert_eq!(&d[42..], &off[..28]);
        assert_eq!(s.counters().icmp_errors_sent, 1);
        // Never about an ICMP error.
        let err = ipv4(client, VIP, 1, 64, &icmp(11, 0, [0; 4], &[0; 28]));
        assert!(!s.send_icmp_error(&err, IcmpError::TimeExceeded, Instant::ZERO, &mut io));
        assert_eq!(io.tx.len(), 1);
    }

    #[test]
    fn cached_send_hits_until_the_routes_change() {
        let i = ifaces();
        let r = routes(&i);
        let other_gw_mac = MacAddr([0x52, 0, 0, 0, 0, 0x77]);
        let other_gw = Ipv4Addr::new(10, 0, 0, 253);
        let st = [
            StaticNeigh { ip: GW, port: 0, mac: PEER_MAC },
            StaticNeigh { ip: other_gw, port: 0, mac: other_gw_mac },
        ];
        let i = Arc::new(i);
        let mut s: Stack<VecBuf> = Stack::new(i.clone(), r, &st, NeighParams::default()).unwrap();
        let mut io = TestIo::default();
        let far = Ipv4Addr::new(8, 8, 8, 8);
        let mut cache = L2Cache::EMPTY;
        for _ in 0..3 {
            s.send_ipv4_cached(outgoing(far, 1), far, &mut cache, 1, Instant::ZERO, &mut io);
        }
        assert_eq!((s.counters().l2_cache_hits, s.counters().l2_cache_misses), (2, 1));
        assert!(io.tx.iter().all(|(p, b)| *p == 0 && data(b)[0..6] == PEER_MAC.0));
        assert!(io.tx.iter().all(|(_, b)| data(b)[6..14] == [2, 0, 0, 0, 0, 1, 8, 0]));
        // The same frames as the uncached path.
        let mut io2 = TestIo::default();
        s.send_ipv4(outgoing(far, 1), far, Instant::ZERO, &mut io2);
        assert_eq!(data(&io2.tx[0].1), data(&io.tx[0].1));
        // New routes: the default goes through another gateway; the next packet follows them.
        io.tx.clear();
        let new = RouteTable::build(
            &i,
            &[Route {
                prefix: Ipv4Addr::UNSPECIFIED,
                prefix_len: 0,
                port: 0,
                gateway: Some(other_gw),
            }],
        )
        .unwrap();
        s.set_routes(new);
        s.send_ipv4_cached(outgoing(far, 2), far, &mut cache, 1, Instant::ZERO, &mut io);
        s.send_ipv4_cached(outgoing(far, 3), far, &mut cache, 1, Instant::ZERO, &mut io);
        assert_eq!((s.counters().l2_cache_hits, s.counters().l2_cache_misses), (3, 2));
        assert!(io.tx.iter().all(|(_, b)| data(b)[0..6] == other_gw_mac.0));
        // No route any more: dropped, and nothing cached is used.
        s.set_routes(RouteTable::build(&i, &[]).unwrap());
        s.send_ipv4_cached(outgoing(far, 4), far, &mut cache, 1, Instant::ZERO, &mut io);
        assert_eq!(io.drop_reasons(), vec![DropReason::NoRoute]);
    }

    #[test]
    fn caller_drop_is_counted_once() {
        let mut s = stack();
        let mut io = TestIo::default();
        s.drop_pkt(buf(&[0; 60]), DropReason::NoService, &mut io);
        assert_eq!(s.counters().drop_count(DropReason::NoService), 1);
        assert_eq!(io.drop_reasons(), vec![DropReason::NoService]);
    }

    fn arb_frame() -> impl Strategy<Value = Vec<u8>> {
        let macs = prop_oneof![Just(MAC0), Just(MAC1), Just(MacAddr::BROADCAST), Just(PEER_MAC)];
        let ips = prop_oneof![
            Just(VIP),
            Just(HOST0),
            Just(HOST1),
            Just(LADDR),
            Just(PEER),
            Just(CLIENT),
            any::<u32>().prop_map(Ipv4Addr::from)
        ];
        let raw = proptest::collection::vec(any::<u8>(), 0..120);
        let arp_frame = (
            macs.clone(),
            ips.clone(),
            ips.clone(),
            0u16..4,
            proptest::collection::vec(any::<u8>(), 0..4),
        )
            .prop_map(|(dst, spa, tpa, op, pad)| {
                let mut f = eth(dst, PEER_MAC, 0x0806, &arp(op, PEER_MAC, spa, MacAddr::ZERO, tpa));
                f.extend_from_slice(&pad);
                f
            });
        let ip_frame = (
            macs.clone(),
            ips.clone(),
            ips,
            prop_oneof![Just(1u8), Just(6), Just(17), any::<u8>()],
            any::<u8>(),
            proptest::collection::vec(any::<u8>(), 0..64),
            any::<bool>(),
        )
            .prop_map(|(dst, src, to, proto, ty, payload, as_icmp)| {
                let body = if as_icmp { icmp(ty % 16, 0, [1, 2, 3, 4], &payload) } else { payload };
                eth(dst, PEER_MAC, 0x0800, &ipv4(src, to, proto, 64, &body))
            });
        let corrupt = (proptest::collection::vec(any::<u8>(), 14..100), any::<u16>(), any::<u8>())
            .prop_map(|(mut f, at, x)| {
                f[12] = 0x08;
                f[13] = if at % 2 == 0 { 0x00 } else { 0x06 };
                if f.len() > 14 {
                    f[14] = 0x40 | (x & 0x0f)
                }
                f
            });
        prop_oneof![raw, arp_frame, ip_frame, corrupt]
    }

    #[derive(Debug, Clone)]
    enum Op {
        Input(u16, Vec<u8>),
        Send(Ipv4Addr),
        Advance(u64),
    }

    proptest! {
        #[test]
        fn every_packet_is_accounted_for(ops in proptest::collection::vec(prop_oneof![
            (0u16..3, arb_frame()).prop_map(|(p, f)| Op::Input(p, f)),
            prop_oneof![Just(PEER), Just(CLIENT), Just(GW), any::<u32>().prop_map(Ipv4Addr::from)].prop_map(Op::Send),
            (0u64..3_000_000).prop_map(Op::Advance),
        ], 0..60), budget in proptest::option::of(0usize..6)) {
            let i = ifaces();
            let r = routes(&i);
            let params = NeighParams { pending_per_neigh: 2, pending_total: 3, max_entries: 4, ..NeighParams::default() };
            let mut s: Stack<VecBuf> = Stack::new(i, r, &[], params).unwrap();
            let mut io = TestIo { alloc_budget: budget, ..TestIo::default() };
            let mut now = Instant::from_secs(1);
            let (mut inputs, mut returned) = (0usize, 0usize);
            s.start(&mut io);
            for op in ops {
                match op {
                    Op::Input(port, f) => {
                        inputs += 1;
                        if let Input::Ipv4 { pkt, meta, .. } = s.input(port, buf(&f), now, &mut io) {
                            prop_assert_eq!(meta.ip.l3, 14);
                            prop_assert!(pkt.len() >= 34);
                            returned += 1;
                        }
                    }
                    Op::Send(dst) => {
                        inputs += 1;
                        s.send_ipv4(outgoing(dst, 0), dst, now, &mut io);
                    }
                    Op::Advance(us) => {
                        now = now + core::time::Duration::from_micros(us);
                        s.poll(now, &mut io);
                    }
                }
                prop_assert!(s.neigh().pending_len() <= 3);
                prop_assert!(s.neigh().len() <= 4);
                prop_assert_eq!(
                    inputs + io.allocs,
                    io.tx.len() + io.dropped.len() + io.freed.len() + returned + s.neigh().pending_len()
                );
            }
            let dropped_by_stack = io.dropped.len() as u64 + s.counters().drop_count(DropReason::NoMbuf);
            prop_assert_eq!(s.counters().total_drops(), dropped_by_stack);
            s.flush(&mut io);
            prop_assert_eq!(s.neigh().pending_len(), 0);
            prop_assert_eq!(inputs + io.allocs, io.tx.len() + io.dropped.len() + io.freed.len() + returned);
        }
    }
}
