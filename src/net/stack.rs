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
use super::icmp::{self, IcmpError};
use super::iface::{AddrKind, IfaceTable};
use super::io::{drop_counted, Ctx, NetIo};
use super::neigh::{NeighError, NeighParams, NeighTable, StaticNeigh};
use super::route::RouteTable;
use crate::buf::PacketBuf;
use crate::time::Instant;
use crate::wire::{self, ethernet, EtherType, EthernetFrame, IpProtocol, Ipv4Packet, MacAddr};

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
        /// Offset of the IPv4 header in `pkt` (14: no VLAN support).
        l3_offset: usize,
        /// Whether the destination is owned, and as what: `Some(Vip | Local)` is the load
        /// balancer's, `Some(Host)` is traffic to the director itself (not ICMP echo), `None`
        /// is not addressed to the director.
        owner: Option<AddrKind>,
    },
}

/// One core's L2/L3 stack.
#[derive(Debug)]
pub struct Stack<B> {
    ifaces: Arc<IfaceTable>,
    routes: Arc<RouteTable>,
    neigh: NeighTable<B>,
    counters: NetCounters,
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
        })
    }

    /// Announces every owned address with a gratuitous ARP. Call once when the ports are up
    /// (from one core: every core shares the same addresses).
    pub fn start(&mut self, io: &mut impl NetIo<B>) {
        arp::send_gratuitous(&mut Ctx { ifaces: &self.ifaces, counters: &mut self.counters, io });
    }

    /// Runs the neighbour timers (probe retries, failures, expiry). Call every few milliseconds.
    pub fn poll(&mut self, now: Instant, io: &mut impl NetIo<B>) {
        self.neigh.poll(now, &mut Ctx { ifaces: &self.ifaces, counters: &mut self.counters, io });
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
                let mut ctx = Ctx { ifaces: &self.ifaces, counters: &mut self.counters, io };
                arp::input(pkt, port, now, &mut self.neigh, &mut ctx);
                Input::Consumed
            }
            EtherType::Ipv4 => self.ipv4_input(port, our_mac, pkt, io),
            EtherType::Vlan | EtherType::Unknown(0x88a8) | EtherType::Unknown(0x9100) => {
                self.drop(io, pkt, DropReason::VlanUnsupported)
            }
            _ => self.drop(io, pkt, DropReason::UnknownEthertype),
        }
    }

    fn ipv4_input(&mut self, port: u16, our_mac: MacAddr, pkt: B, io: &mut impl NetIo<B>) -> Input<B> {
        let l3 = ethernet::HEADER_LEN;
        let checked = match pkt.data().get(l3..) {
            Some(bytes) => match Ipv4Packet::new_checked(bytes) {
                Ok(ip) if !ip.verify_checksum() => Err(DropReason::Ipv4BadChecksum),
                Ok(ip) => Ok((ip.src_addr(), ip.dst_addr(), ip.protocol(), ip.is_fragment())),
                Err(e) => Err(ipv4_reason(e)),
            },
            None => Err(DropReason::Ipv4Truncated),
        };
        let (src, dst, proto, frag) = match checked {
            Ok(v) => v,
            Err(reason) => return self.drop(io, pkt, reason),
        };
        if src.is_multicast() || src.is_broadcast() || src.is_unspecified() || src.is_loopback() {
            return self.drop(io, pkt, DropReason::Ipv4BadSource);
        }
        let Some((_, kind)) = self.ifaces.owns(dst) else {
            return Input::Ipv4 { pkt, l3_offset: l3, owner: None };
        };
        if proto != IpProtocol::Icmp {
            return Input::Ipv4 { pkt, l3_offset: l3, owner: Some(kind) };
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
                Input::Ipv4 { pkt, l3_offset: l3, owner: Some(kind) }
            }
            icmp::EchoOutcome::NotEcho(pkt) => self.drop(io, pkt, DropReason::IcmpUnsupported),
            icmp::EchoOutcome::Drop(pkt, reason) => self.drop(io, pkt, reason),
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

    /// Sends the ICMP error `kind` about `offending` (an IPv4 packet, from its header on) to its
    /// source, from the host address of the port the error leaves by. Nothing is sent (and false
    /// returned) when RFC 1122 forbids an error about that packet (an ICMP error, a non-first
    /// fragment, a broadcast/multicast/unspecified address), when there is no route back, or when
    /// no buffer is left (counted as [`DropReason::NoMbuf`]). The offending packet stays the
    /// caller's.
    pub fn send_icmp_error(&mut self, offending: &[u8], kind: IcmpError, now: Instant, io: &mut impl NetIo<B>) -> bool {
        let Some(to) = icmp::error_destination(offending) else { return false };
        let Some(hit) = self.routes.lookup(to) else { return false };
        let Some(src) = self.ifaces.iface(hit.port).and_then(|i| i.source_addr_for(hit.next_hop)) else {
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

    /// Drops every packet waiting for a neighbour (for shutdown: buffers go back to the pool).
    pub fn flush(&mut self, io: &mut impl NetIo<B>) {
        self.neigh.flush(&mut Ctx { ifaces: &self.ifaces, counters: &mut self.counters, io });
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

    fn drop(&mut self, io: &mut impl NetIo<B>, pkt: B, reason: DropReason) -> Input<B> {
        drop_counted(&mut self.counters, io, pkt, reason);
        Input::Consumed
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
