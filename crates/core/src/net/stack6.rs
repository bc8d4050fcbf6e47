//! The IPv6 half of the per-core stack (issue 16 item 1): the director's own IPv6 duties.
//!
//! Owns [`Ipv6Setup`] (a core's IPv6 state: the shared address and route tables and its own
//! [`Nd`]) and the `Stack` methods for IPv6: the receive path ([`Stack::ipv6_input`], called at
//! the EtherType dispatch), the send path ([`Stack::send_ipv6`]: route, resolve by ND, fill
//! Ethernet), ICMPv6 echo for the director's usable addresses and ICMPv6 errors
//! ([`Stack::send_icmpv6_error`], rate-limited with the IPv4 errors' bucket).
//!
//! Receive rules, in order: the IPv6 header is checked and the extension chain walked once
//! with the bounded walker ([`crate::wire::ipv6ext::walk`]); neighbour discovery (ICMPv6
//! 133-137) that concerns the director (a target it owns, an advertisement to one of its
//! addresses or answering its own resolution) goes to [`Nd`], the rest of ND to the kernel
//! interface when the port has one (the kernel resolves and defends its own addresses, as with
//! ARP); link-local and multicast destinations and unicast ones the director does not own go
//! to the kernel interface (it keeps its link-local addresses, and routing daemons hear their
//! multicast), or are dropped without one; a packet for an own address is handled only once
//! its DAD is done; fragments for the director are dropped (as IPv4's); an echo request is
//! answered; the rest is dropped with its reason: the data path does not forward IPv6 yet
//! (docs/ipv6.md), so nothing is handed to the load balancer.
//!
//! It must not know services or DPDK (as [`super::stack`]). Without an [`Ipv6Setup`] (no IPv6
//! address configured) every IPv6 frame is dropped as `unknown_ethertype`, as before.

use std::net::Ipv6Addr;
use std::sync::Arc;

use super::counters::DropReason;
use super::icmp::DEFAULT_TTL;
use super::io::{drop_counted, Ctx, NetIo};
use super::nd::{Nd, NdCounters, NdEvent};
use super::route6::{is_link_local, Ipv6Addrs, Route6Table};
use super::stack::{Input, Stack};
use super::AddrKind;
use crate::buf::PacketBuf;
use crate::time::Instant;
use crate::wire::icmpv6::{self, Message, Repr as Icmp6Repr};
use crate::wire::{ethernet, ipv6, ipv6ext, EtherType, EthernetFrame, IpProtocol};

/// A core's IPv6 state.
#[derive(Debug)]
pub struct Ipv6Setup<B> {
    addrs: Arc<Ipv6Addrs>,
    routes: Arc<Route6Table>,
    pub(super) nd: Nd<B>,
    /// ND events not yet taken by the owner (bounded: oldest dropped beyond [`MAX_EVENTS`]).
    events: Vec<NdEvent>,
}

/// Events kept for the owner between two [`Stack::take_nd_events`].
const MAX_EVENTS: usize = 64;

impl<B: PacketBuf> Ipv6Setup<B> {
    /// A core's IPv6: the shared tables and this core's neighbour discovery (built over
    /// `addrs.own_addrs()`).
    pub fn new(addrs: Arc<Ipv6Addrs>, routes: Arc<Route6Table>, nd: Nd<B>) -> Self {
        Ipv6Setup { addrs, routes, nd, events: Vec::new() }
    }
}

/// An ICMPv6 error the director can send about a packet (RFC 4443).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Icmp6Error {
    /// Destination unreachable with this code ([`icmpv6::unreachable`]).
    DstUnreachable(u8),
    /// Packet too big, with the MTU of the next hop (IPv6 routers never fragment).
    PacketTooBig {
        /// Largest IPv6 packet the next hop carries.
        mtu: u32,
    },
    /// Hop limit exceeded in transit.
    TimeExceeded,
}

/// The ICMPv6 type of a received ND message, or `None` if `chain` is not ND.
fn nd_type(ip: &[u8], chain: &ipv6ext::Chain) -> Option<u8> {
    if chain.protocol != IpProtocol::ICMPV6 || !chain.has_l4_header() || chain.is_fragment() {
        return None;
    }
    let t = *ip.get(chain.l4_offset)?;
    (133..=137).contains(&t).then_some(t)
}

/// The target of an NS or NA (bytes 8..24 of the message), if present.
fn nd_target(ip: &[u8], chain: &ipv6ext::Chain) -> Option<Ipv6Addr> {
    let b: [u8; 16] = ip.get(chain.l4_offset + 8..chain.l4_offset + 24)?.try_into().ok()?;
    Some(Ipv6Addr::from(b))
}

impl<B: PacketBuf> Stack<B> {
    /// Gives the stack the director's IPv6 (see the module doc of `stack6`).
    pub fn with_ipv6(mut self, v6: Ipv6Setup<B>) -> Self {
        self.v6 = Some(Box::new(v6));
        self
    }

    /// Whether the stack has IPv6 (an IPv6 address was configured).
    pub fn has_ipv6(&self) -> bool {
        self.v6.is_some()
    }

    /// Learns from a copy of an ND frame another core received on `port` (through
    /// [`Stack::observe_arp`]): DAD conflicts and neighbours, nothing sent; the copy is freed.
    pub(super) fn observe_nd(&mut self, port: u16, pkt: B, now: Instant, io: &mut impl NetIo<B>) {
        let Some(v6) = self.v6.as_mut() else { return io.free(pkt) };
        let mut ctx = Ctx { ifaces: &self.ifaces, counters: &mut self.counters, io };
        v6.nd.observe(pkt, port, now, &mut ctx);
        Self::sync_nd(v6, &mut self.counters);
    }

    /// Neighbour discovery's counters, when the stack has IPv6.
    pub fn nd_counters(&self) -> Option<&NdCounters> {
        self.v6.as_ref().map(|v| v.nd.counters())
    }

    /// The IPv6 neighbour discovery of this core, when the stack has IPv6.
    pub fn nd(&self) -> Option<&Nd<B>> {
        self.v6.as_ref().map(|v| &v.nd)
    }

    /// Packets waiting for an IPv6 neighbour's resolution on this core.
    pub fn nd_pending_len(&mut self) -> usize {
        self.v6.as_mut().map_or(0, |v| v.nd.table().pending_len())
    }

    /// The ND events (DAD done, DAD conflicts, conflicts) since the last call.
    pub fn take_nd_events(&mut self) -> Vec<NdEvent> {
        self.v6.as_mut().map(|v| core::mem::take(&mut v.events)).unwrap_or_default()
    }

    /// IPv6 timers: DAD steps and the IPv6 neighbour table's probes and expiry.
    pub(super) fn poll6(&mut self, now: Instant, io: &mut impl NetIo<B>) {
        let Some(v6) = self.v6.as_mut() else { return };
        let mut ctx = Ctx { ifaces: &self.ifaces, counters: &mut self.counters, io };
        v6.nd.poll(now, &mut ctx);
        Self::sync_nd(v6, &mut self.counters);
    }

    /// Copies ND's counters into the stack's and keeps its events for the owner.
    fn sync_nd(v6: &mut Ipv6Setup<B>, counters: &mut super::NetCounters) {
        counters.nd = *v6.nd.counters();
        for e in v6.nd.take_events() {
            if v6.events.len() >= MAX_EVENTS {
                v6.events.remove(0);
            }
            v6.events.push(e);
        }
    }

    /// Handles a received IPv6 frame (the EtherType said IPv6). See the module doc.
    pub(super) fn ipv6_input(
        &mut self,
        port: u16,
        pkt: B,
        now: Instant,
        io: &mut impl NetIo<B>,
    ) -> Input<B> {
        let Some(v6) = self.v6.as_mut() else {
            return self.drop6(io, pkt, DropReason::UnknownEthertype);
        };
        let l3 = ethernet::HEADER_LEN;
        let Some(bytes) = pkt.data().get(l3..) else {
            return self.drop6(io, pkt, DropReason::Ipv6Malformed);
        };
        let Ok(ip) = ipv6::Packet::new_checked(bytes) else {
            return self.drop6(io, pkt, DropReason::Ipv6Malformed);
        };
        let (src, dst) = (ip.src_addr(), ip.dst_addr());
        if src.is_multicast() || src.is_loopback() {
            return self.drop6(io, pkt, DropReason::Ipv6BadSource);
        }
        let Ok(chain) = ipv6ext::walk(&ip) else {
            return self.drop6(io, pkt, DropReason::Ipv6Malformed);
        };
        let kernel = self.exception.has_port(port);
        if let Some(t) = nd_type(bytes, &chain) {
            let target = nd_target(bytes, &chain);
            let owned = |a: Option<Ipv6Addr>| a.is_some_and(|a| v6.addrs.owns(a).is_some());
            let ours = match t {
                135 => owned(target),
                136 => {
                    owned(target)
                        || owned(Some(dst))
                        || target.is_some_and(|a| v6.nd.table().is_resolving(a, port))
                }
                _ => false,
            };
            if !ours && kernel {
                // The kernel's own neighbours and routers (RS, RA, redirects).
                self.to_kernel(port, pkt, now, io);
                return Input::Consumed;
            }
            let mut ctx = Ctx { ifaces: &self.ifaces, counters: &mut self.counters, io };
            v6.nd.input(pkt, port, now, &mut ctx);
            Self::sync_nd(v6, &mut self.counters);
            return Input::Consumed;
        }
        if src.is_unspecified() {
            return self.drop6(io, pkt, DropReason::Ipv6BadSource);
        }
        let owner = v6.addrs.owns(dst);
        let Some((oport, kind)) = owner.filter(|_| !dst.is_multicast() && !is_link_local(dst))
        else {
            // Link-local, multicast, or an address the director does not own: the kernel's
            // (its link-local and autoconfigured addresses, MLD, routing protocols).
            if kernel {
                self.to_kernel(port, pkt, now, io);
                return Input::Consumed;
            }
            return self.drop6(io, pkt, DropReason::NotForUs);
        };
        if !v6.nd.is_usable(dst, oport) {
            // Tentative (DAD running) or duplicate: not ours to answer (RFC 4862 5.4).
            return self.drop6(io, pkt, DropReason::NotForUs);
        }
        if chain.is_fragment() {
            return self.drop6(io, pkt, DropReason::Ipv6Fragment);
        }
        if chain.protocol != IpProtocol::ICMPV6 || !chain.has_l4_header() {
            // The data path does not take IPv6 yet.
            let reason = match kind {
                AddrKind::Host => DropReason::NotForUs,
                AddrKind::Vip | AddrKind::Local => DropReason::NoService,
            };
            return self.drop6(io, pkt, reason);
        }
        self.echo6(pkt, chain.l4_offset, now, io)
    }

    /// Answers an ICMPv6 echo request to a usable own address (anything else ICMPv6 is
    /// dropped): the reply is routed and resolved by ND like every packet the director sends.
    fn echo6(&mut self, pkt: B, l4: usize, now: Instant, io: &mut impl NetIo<B>) -> Input<B> {
        let l3 = ethernet::HEADER_LEN;
        let reply = {
            let Some(ip) = pkt.data().get(l3..).and_then(|b| ipv6::Packet::new_checked(b).ok())
            else {
                return self.drop6(io, pkt, DropReason::Ipv6Malformed);
            };
            let (src, dst) = (ip.src_addr(), ip.dst_addr());
            let end = ipv6::HEADER_LEN + usize::from(ip.payload_len());
            let Some(m) = ip.into_inner().get(l4..end) else {
                return self.drop6(io, pkt, DropReason::Ipv6Malformed);
            };
            let Ok(m) = icmpv6::Packet::new_checked(m) else {
                return self.drop6(io, pkt, DropReason::IcmpMalformed);
            };
            if m.msg_type() != Message::EchoRequest {
                return self.drop6(io, pkt, DropReason::IcmpUnsupported);
            }
            if !m.verify_checksum(src, dst) {
                return self.drop6(io, pkt, DropReason::IcmpBadChecksum);
            }
            let Ok(Icmp6Repr::EchoRequest { ident, seq, data }) = Icmp6Repr::parse(&m) else {
                return self.drop6(io, pkt, DropReason::IcmpMalformed);
            };
            let r = Icmp6Repr::EchoReply { ident, seq, data };
            build_ipv6(io, dst, src, DEFAULT_TTL, &r)
        };
        io.free(pkt);
        match reply {
            Some((out, to)) => {
                self.counters.echo6_replies += 1;
                self.send_ipv6(out, to, now, io);
            }
            None => self.counters.count_drop(DropReason::NoMbuf),
        }
        Input::Consumed
    }

    /// Routes `pkt` to `dst` with the IPv6 routes, resolves the next hop by neighbour discovery
    /// (queueing the packet meanwhile, within the neighbour table's bounds) and transmits it.
    /// `pkt` holds 14 reserved bytes, then a complete IPv6 packet. Dropped as
    /// [`DropReason::NoRoute`] without a route or without IPv6.
    pub fn send_ipv6(&mut self, mut pkt: B, dst: Ipv6Addr, now: Instant, io: &mut impl NetIo<B>) {
        let Some(v6) = self.v6.as_mut() else {
            return drop_counted(&mut self.counters, io, pkt, DropReason::NoRoute);
        };
        let Some(hit) = v6.routes.lookup(dst) else {
            return drop_counted(&mut self.counters, io, pkt, DropReason::NoRoute);
        };
        match EthernetFrame::new_checked(pkt.data_mut()) {
            Ok(mut f) => f.set_ethertype(EtherType::Ipv6),
            Err(_) => return drop_counted(&mut self.counters, io, pkt, DropReason::EthTruncated),
        }
        let mut ctx = Ctx { ifaces: &self.ifaces, counters: &mut self.counters, io };
        v6.nd.table().output(pkt, hit.next_hop, hit.port, now, &mut ctx);
    }

    /// Sends the ICMPv6 error `kind` about `offending` (an IPv6 packet, from its header on) to
    /// its source, from a usable address of the port the error leaves by, quoting as much of
    /// the packet as fits 1280 bytes. Nothing is sent (false) when RFC 4443 2.4(e) forbids an
    /// error about that packet (an ICMPv6 error or a redirect, a source that is unspecified or
    /// multicast, a multicast destination except for packet too big), when the core's
    /// ICMP-error budget is spent (counted in `icmp6_errors_limited`), without a route back or
    /// a usable source, or without a buffer.
    pub fn send_icmpv6_error(
        &mut self,
        offending: &[u8],
        kind: Icmp6Error,
        now: Instant,
        io: &mut impl NetIo<B>,
    ) -> bool {
        let Some(v6) = self.v6.as_mut() else { return false };
        let Ok(ip) = ipv6::Packet::new_checked_header(offending) else { return false };
        let (to, dst) = (ip.src_addr(), ip.dst_addr());
        if to.is_unspecified() || to.is_multicast() || to.is_loopback() {
            return false;
        }
        if dst.is_multicast() && !matches!(kind, Icmp6Error::PacketTooBig { .. }) {
            return false;
        }
        if let Ok(chain) = ipv6ext::walk_payload(ip.next_header(), ip.payload()) {
            if chain.protocol == IpProtocol::ICMPV6 {
                let t = offending.get(ipv6::HEADER_LEN + chain.l4_offset).copied();
                if t.map_or(true, |t| t < 128 || t == 137) {
                    return false;
                }
            }
        }
        if !self.icmp_errors.take(now) {
            self.counters.icmp6_errors_limited += 1;
            return false;
        }
        let Some(hit) = v6.routes.lookup(to) else { return false };
        let Some(src) = v6.nd.table().solicit_mut().source(hit.port) else { return false };
        let invoking = Icmp6Repr::quote(offending);
        let r = match kind {
            Icmp6Error::DstUnreachable(code) => Icmp6Repr::DstUnreachable { code, invoking },
            Icmp6Error::PacketTooBig { mtu } => Icmp6Repr::PacketTooBig { mtu, invoking },
            Icmp6Error::TimeExceeded => {
                Icmp6Repr::TimeExceeded { code: icmpv6::time_exceeded::HOP_LIMIT, invoking }
            }
        };
        let Some((pkt, to)) = build_ipv6(io, src, to, DEFAULT_TTL, &r) else {
            self.counters.count_drop(DropReason::NoMbuf);
            return false;
        };
        self.counters.icmp6_errors_sent += 1;
        self.send_ipv6(pkt, to, now, io);
        true
    }

    fn drop6(&mut self, io: &mut impl NetIo<B>, pkt: B, reason: DropReason) -> Input<B> {
        drop_counted(&mut self.counters, io, pkt, reason);
        Input::Consumed
    }
}

/// Allocates a frame holding 14 reserved Ethernet bytes, an IPv6 header from `src` to `dst`
/// and the ICMPv6 message `msg`; `None` when no buffer is available or it is too small.
fn build_ipv6<B: PacketBuf>(
    io: &mut impl NetIo<B>,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    hop_limit: u8,
    msg: &Icmp6Repr<'_>,
) -> Option<(B, Ipv6Addr)> {
    let mut pkt = io.alloc()?;
    let l4_len = msg.buffer_len();
    let len = ethernet::HEADER_LEN + ipv6::HEADER_LEN + l4_len;
    let ok = pkt.set_len(0).is_ok() && pkt.append(len).is_ok() && {
        let data = pkt.data_mut();
        data[..ethernet::HEADER_LEN].fill(0);
        let (ip_bytes, l4) = data[ethernet::HEADER_LEN..].split_at_mut(ipv6::HEADER_LEN);
        let ip = ipv6::Repr {
            src_addr: src,
            dst_addr: dst,
            next_header: IpProtocol::ICMPV6,
            payload_len: l4_len as u16,
            hop_limit,
            traffic_class: 0,
            flow_label: 0,
        };
        ip.emit(&mut ipv6::Packet::new_unchecked(ip_bytes));
        msg.emit(src, dst, &mut icmpv6::Packet::new_unchecked(l4)).is_ok()
    };
    if !ok {
        io.drop_pkt(pkt, DropReason::NoMbuf);
        return None;
    }
    Some((pkt, dst))
}

/// Whether `frame` is an Ethernet frame carrying an IPv6 neighbour discovery message right
/// after the fixed header (the cheap test the worker makes before it hands copies of ND frames
/// to the other cores, as it does for ARP; ND messages carry no extension header).
#[inline]
pub fn is_nd_frame(frame: &[u8]) -> bool {
    is_ipv6_frame(frame)
        && frame.get(ethernet::HEADER_LEN + 6) == Some(&58)
        && frame
            .get(ethernet::HEADER_LEN + ipv6::HEADER_LEN)
            .is_some_and(|t| (133..=137).contains(t))
}

/// Whether `frame` is an Ethernet frame carrying IPv6.
#[inline]
pub fn is_ipv6_frame(frame: &[u8]) -> bool {
    EthernetFrame::new_checked(frame).is_ok_and(|f| f.ethertype() == EtherType::Ipv6)
}

#[cfg(test)]
#[path = "stack6_tests.rs"]
mod tests;
