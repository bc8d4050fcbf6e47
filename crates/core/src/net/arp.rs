//! ARP for the director's owned addresses: answer, learn, announce, probe.
//!
//! Owns the ARP behaviour of RFC 826 on Ethernet/IPv4: input validation, the merge rule (refresh
//! a neighbour we already know, learn one only when the packet is addressed to us; never a sender
//! outside the receiving port's connected prefixes), replies built
//! in place in the request's buffer, gratuitous announcements of every owned address at start and
//! the requests the neighbour table sends to resolve a next hop. It answers for every owned
//! address kind (host, VIP, local) but only on the port the address lives on.
//!
//! It does not hold neighbour state ([`super::neigh`] does) nor parse headers itself (the views are
//! [`crate::wire`]'s). Addresses and MACs come from the [`super::IfaceTable`].

use std::net::Ipv4Addr;

use super::counters::DropReason;
use super::exception::TokenBucket;
use super::io::{Ctx, NetIo};
use super::neigh::{Learn, NeighTable};
use crate::buf::PacketBuf;
use crate::time::Instant;
use crate::wire::{
    arp, ethernet, ArpOperation, ArpPacket, ArpRepr, EtherType, EthernetFrame, EthernetRepr,
    MacAddr,
};

/// Length of the ARP frames the director builds: the Ethernet minimum without FCS (42 bytes of
/// headers, zero padding after), so no driver has to pad a runt.
pub const FRAME_LEN: usize = 60;

/// What [`input`] may do with an ARP frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArpRole {
    /// The frame arrived on this core's queue: learn, answer, count. `kernel`: the port has a
    /// kernel interface, so ARP for the kernel's addresses is handed back for it.
    Receive {
        /// The port has a kernel interface (exception path).
        kernel: bool,
    },
    /// A copy of a frame another core received: learn only (that core answered and counted).
    Observe,
}

/// Handles an ARP frame received on `port` (Ethernet header already checked to be ARP).
///
/// Returns the frame when it is for the host kernel (see [`ArpRole::Receive`]): a request for
/// one of the kernel's addresses on that port, or a reply to one of the kernel's own requests.
/// The director learns from it first, as from any ARP frame (a reply to the kernel is a solicited
/// answer, so its sender is learned even if new; a request only refreshes a known neighbour),
/// and never answers for the kernel. The caller hands the frame to the kernel.
pub(crate) fn input<B: PacketBuf>(
    mut pkt: B,
    port: u16,
    now: Instant,
    role: ArpRole,
    neigh: &mut NeighTable<B>,
    limit: &mut TokenBucket,
    ctx: &mut Ctx<'_, impl NetIo<B>>,
) -> Option<B> {
    let kernel_port = match role {
        ArpRole::Observe => {
            observe(pkt, port, now, neigh, limit, ctx);
            return None;
        }
        ArpRole::Receive { kernel } => kernel,
    };
    let parsed = pkt
        .data()
        .get(ethernet::HEADER_LEN..)
        .and_then(|p| ArpPacket::new_checked(p).ok())
        .and_then(|a| ArpRepr::parse(&a).ok());
    let Some(req) = parsed else {
        ctx.drop(pkt, DropReason::ArpMalformed);
        return None;
    };
    let is_request = match req.operation {
        ArpOperation::Request => true,
        ArpOperation::Reply => false,
        ArpOperation::Unknown(_) => {
            ctx.drop(pkt, DropReason::ArpMalformed);
            return None;
        }
    };
    if !req.sender_mac.is_unicast() || req.sender_mac.is_zero() {
        ctx.drop(pkt, DropReason::ArpMalformed);
        return None;
    }
    let Some(our_mac) = ctx.ifaces.iface(port).map(|i| i.mac) else {
        ctx.drop(pkt, DropReason::ArpNotForUs);
        return None;
    };
    if req.sender_mac == our_mac {
        // Our own broadcast (a gratuitous ARP or probe) looped back by a bridge or tap.
        ctx.drop(pkt, DropReason::ArpNotForUs);
        return None;
    }
    // A standby VIP (director HA) is owned but not answered for: the master director answers.
    let for_us = ctx.ifaces.answers_on(req.target_ip, port);
    let for_kernel = kernel_port && ctx.ifaces.kernel_owns(req.target_ip) == Some(port);

    // Merge rule. Never learn our own addresses (a conflict, not a neighbour) nor senders that
    // cannot be hosts (an ARP probe has sender 0.0.0.0).
    let spa = req.sender_ip;
    let host_like = host_like(spa, ctx);
    // Nor senders outside every connected prefix of the port: an on-link host cannot be there,
    // so such a sender is a spoofer filling the table (counted, not learned).
    let on_link = ctx.ifaces.iface(port).is_some_and(|i| i.on_link(spa));
    let learnable = host_like && on_link;
    // The core's ARP budget: every ARP frame takes a token except a reply to a resolution of
    // ours, so a flood cannot keep the director from resolving its gateway or real servers.
    let ours = !is_request && learnable && neigh.is_resolving(spa, port);
    if !ours && !limit.take(now) {
        ctx.counters.arp_rate_limited += 1;
        ctx.io.free(pkt);
        return None;
    }
    if host_like && !on_link {
        ctx.counters.arp_off_link += 1;
    }
    let how = learn_kind(is_request, for_us, for_kernel);
    let learned = learnable && neigh.learn(spa, port, req.sender_mac, how, now, ctx);
    if learned {
        ctx.counters.arp_learned += 1;
    }
    if for_kernel {
        return Some(pkt);
    }

    // A gratuitous request (sender = target) announces; it asks nothing, so it gets no reply.
    if is_request && for_us && req.sender_ip != req.target_ip {
        let reply = ArpRepr {
            operation: ArpOperation::Reply,
            sender_mac: our_mac,
            sender_ip: req.target_ip,
            target_mac: req.sender_mac,
            target_ip: req.sender_ip,
        };
        let eth =
            EthernetRepr { src_addr: our_mac, dst_addr: req.sender_mac, ethertype: EtherType::Arp };
        if write_frame(pkt.data_mut(), &eth, &reply) {
            ctx.counters.arp_requests_answered += 1;
            ctx.io.tx(port, pkt);
        } else {
            ctx.drop(pkt, DropReason::ArpMalformed);
        }
    } else if learned {
        ctx.io.free(pkt);
    } else {
        ctx.drop(pkt, DropReason::ArpNotForUs);
    }
    None
}

/// Learns from a copy of an ARP frame another core received, with the same merge rule, and frees
/// it. Nothing is answered or counted as a drop: the receiving core did that.
fn observe<B: PacketBuf>(
    pkt: B,
    port: u16,
    now: Instant,
    neigh: &mut NeighTable<B>,
    limit: &mut TokenBucket,
    ctx: &mut Ctx<'_, impl NetIo<B>>,
) {
    let parsed = pkt
        .data()
        .get(ethernet::HEADER_LEN..)
        .and_then(|b| ArpPacket::new_checked(b).ok())
        .and_then(|a| ArpRepr::parse(&a).ok());
    if let Some(a) = parsed {
        let our_mac = ctx.ifaces.iface(port).map(|i| i.mac);
        let spa = a.sender_ip;
        let is_request = a.operation == ArpOperation::Request;
        let for_us = matches!(ctx.ifaces.owns(a.target_ip), Some((p, _)) if p == port);
        let for_kernel = ctx.ifaces.kernel_owns(a.target_ip) == Some(port);
        let on_link = ctx.ifaces.iface(port).is_some_and(|i| i.on_link(spa));
        let learnable = on_link
            && Some(a.sender_mac) != our_mac
            && a.sender_mac.is_unicast()
            && !matches!(a.operation, ArpOperation::Unknown(_))
            && host_like(spa, ctx);
        let ours = !is_request && learnable && neigh.is_resolving(spa, port);
        if learnable && !ours && !limit.take(now) {
            ctx.counters.arp_rate_limited += 1;
        } else if learnable {
            let how = learn_kind(is_request, for_us, for_kernel);
            if neigh.learn(spa, port, a.sender_mac, how, now, ctx) {
                ctx.counters.arp_learned += 1;
            }
        }
    }
    ctx.io.free(pkt);
}

/// Whether `spa` can be a neighbour: not unspecified, broadcast, multicast or loopback, and not
/// an address of ours or of the kernel's.
fn host_like<B: PacketBuf>(spa: Ipv4Addr, ctx: &Ctx<'_, impl NetIo<B>>) -> bool {
    !(spa.is_unspecified() || spa.is_broadcast() || spa.is_multicast() || spa.is_loopback())
        && ctx.ifaces.owns(spa).is_none()
        && ctx.ifaces.kernel_owns(spa).is_none()
}

/// What an ARP packet from an on-link host may do to the neighbour table (see
/// [`NeighTable::learn`]): a reply to one of our (or the kernel's) addresses confirms its sender;
/// a request for one of our addresses may create an unconfirmed entry (RFC 826 learns the
/// sender of a request addressed to us, so the reply to it and the traffic that follows need no
/// request of our own); anything else only refreshes what we know.
fn learn_kind(is_request: bool, for_us: bool, for_kernel: bool) -> Learn {
    match (is_request, for_us || for_kernel) {
        (false, true) => Learn::Confirmed,
        (true, true) if for_us => Learn::Addressed,
        _ => Learn::Refresh,
    }
}

/// Writes an Ethernet header and an ARP packet at the start of `data`; false if it is too short.
fn write_frame(data: &mut [u8], eth: &EthernetRepr, a: &ArpRepr) -> bool {
    let end = ethernet::HEADER_LEN + arp::PACKET_LEN;
    let Some(hdrs) = data.get_mut(..end) else { return false };
    let (eth_bytes, arp_bytes) = hdrs.split_at_mut(ethernet::HEADER_LEN);
    // Both slices have exactly the lengths the emitters need, so `new_unchecked` cannot panic.
    eth.emit(&mut EthernetFrame::new_unchecked(eth_bytes));
    a.emit(&mut ArpPacket::new_unchecked(arp_bytes));
    true
}

/// Allocates a [`FRAME_LEN`] buffer holding `eth` + `a`, zero padded, and transmits it on `port`.
/// Counts [`DropReason::NoMbuf`] and returns false when no buffer is available.
fn send<B: PacketBuf>(
    port: u16,
    eth: &EthernetRepr,
    a: &ArpRepr,
    ctx: &mut Ctx<'_, impl NetIo<B>>,
) -> bool {
    let Some(mut pkt) = ctx.io.alloc() else {
        ctx.counters.count_drop(DropReason::NoMbuf);
        return false;
    };
    let ok = pkt.set_len(0).is_ok() && pkt.append(FRAME_LEN).is_ok() && {
        let data = pkt.data_mut();
        data.fill(0);
        write_frame(data, eth, a)
    };
    if !ok {
        // A buffer too small for 60 bytes: the pool is misconfigured; count it as no buffer.
        ctx.drop(pkt, DropReason::NoMbuf);
        return false;
    }
    ctx.io.tx(port, pkt);
    true
}

/// Broadcasts an ARP request for `target` on `port`, from the port's host address that shares a
/// prefix with it (else its first host address, else 0.0.0.0).
pub(crate) fn send_request<B: PacketBuf>(
    ctx: &mut Ctx<'_, impl NetIo<B>>,
    port: u16,
    target: Ipv4Addr,
) {
    let Some(iface) = ctx.ifaces.iface(port) else { return };
    let a = ArpRepr {
        operation: ArpOperation::Request,
        sender_mac: iface.mac,
        sender_ip: iface.source_addr_for(target).unwrap_or(Ipv4Addr::UNSPECIFIED),
        target_mac: MacAddr::ZERO,
        target_ip: target,
    };
    let eth = EthernetRepr {
        src_addr: iface.mac,
        dst_addr: MacAddr::BROADCAST,
        ethertype: EtherType::Arp,
    };
    if send(port, &eth, &a, ctx) {
        ctx.counters.arp_requests_sent += 1;
    }
}

/// Sends an ARP request for `target` on `port` to `mac` only (unicast, as Linux's PROBE state
/// does to confirm a cached address), from the same source address as [`send_request`].
pub(crate) fn send_unicast_request<B: PacketBuf>(
    ctx: &mut Ctx<'_, impl NetIo<B>>,
    port: u16,
    target: Ipv4Addr,
    mac: MacAddr,
) {
    let Some(iface) = ctx.ifaces.iface(port) else { return };
    let a = ArpRepr {
        operation: ArpOperation::Request,
        sender_mac: iface.mac,
        sender_ip: iface.source_addr_for(target).unwrap_or(Ipv4Addr::UNSPECIFIED),
        target_mac: MacAddr::ZERO,
        target_ip: target,
    };
    let eth = EthernetRepr { src_addr: iface.mac, dst_addr: mac, ethertype: EtherType::Arp };
    if send(port, &eth, &a, ctx) {
        ctx.counters.arp_requests_sent += 1;
        ctx.counters.neigh_confirm_probes += 1;
    }
}

/// Broadcasts one gratuitous ARP request (sender = target = the address) for every owned address
/// on its port, so that switches and neighbours learn where the director's addresses are.
pub(crate) fn send_gratuitous<B: PacketBuf>(ctx: &mut Ctx<'_, impl NetIo<B>>) {
    send_gratuitous_for(ctx, None);
}

/// Gratuitous ARP for the owned addresses in `only` (every owned address when `None`): for an
/// address added while running, so neighbours learn it at once. An address listed n times in
/// `only` is announced n times (a VIP taken over in director HA, as keepalived repeats its
/// gratuitous ARPs); standby VIPs are never announced.
pub(crate) fn send_gratuitous_for<B: PacketBuf>(
    ctx: &mut Ctx<'_, impl NetIo<B>>,
    only: Option<&[Ipv4Addr]>,
) {
    let ifaces = ctx.ifaces;
    for iface in ifaces.iter() {
        let wanted = |ip: &Ipv4Addr| only.map_or(1, |o| o.iter().filter(|&a| a == ip).count());
        for addr in iface.addrs.iter().filter(|a| !ifaces.is_standby(a.ip)) {
            for _ in 0..wanted(&addr.ip) {
                send_gratuitous_one(ctx, iface, addr.ip);
            }
        }
    }
}

/// Broadcasts one gratuitous ARP request (sender = target = `ip`) on `iface`'s port.
fn send_gratuitous_one<B: PacketBuf>(
    ctx: &mut Ctx<'_, impl NetIo<B>>,
    iface: &super::Iface,
    ip: Ipv4Addr,
) {
    let a = ArpRepr {
        operation: ArpOperation::Request,
        sender_mac: iface.mac,
        sender_ip: ip,
        target_mac: MacAddr::ZERO,
        target_ip: ip,
    };
    let eth = EthernetRepr {
        src_addr: iface.mac,
        dst_addr: MacAddr::BROADCAST,
        ethertype: EtherType::Arp,
    };
    if send(iface.port, &eth, &a, ctx) {
        ctx.counters.gratuitous_sent += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::stack::Input;
    use crate::net::testutil::*;
    use crate::net::Resolution;

    #[test]
    fn arp_request_for_owned_address_is_answered_in_place() {
        // The requester is on the port's connected prefix (an off-link one is not learned).
        let peer1 = Ipv4Addr::new(192, 168, 1, 77);
        for (target, port, mac, peer) in [
            (VIP, 0, MAC0, PEER),
            (HOST0, 0, MAC0, PEER),
            (LADDR, 0, MAC0, PEER),
            (HOST1, 1, MAC1, peer1),
        ] {
            let mut s = stack();
            let mut io = TestIo::default();
            let mut req = eth(
                MacAddr::BROADCAST,
                PEER_MAC,
                0x0806,
                &arp(1, PEER_MAC, peer, MacAddr::ZERO, target),
            );
            req.extend_from_slice(&[0xee; 18]); // Ethernet padding to 60 bytes
            assert!(matches!(rx(&mut s, &mut io, port, &req), Input::Consumed));
            assert_eq!(io.tx.len(), 1);
            let (p, reply) = &io.tx[0];
            assert_eq!(*p, port);
            let r = data(reply);
            assert_eq!(r.len(), 60, "same buffer, same length");
            assert_eq!(&r[0..6], &PEER_MAC.0, "eth dst = requester");
            assert_eq!(&r[6..12], &mac.0, "eth src = our port MAC");
            assert_eq!(&r[12..14], &[0x08, 0x06]);
            assert_eq!(&r[14..20], &[0, 1, 8, 0, 6, 4], "htype, ptype, hlen, plen");
            assert_eq!(&r[20..22], &[0, 2], "op reply");
            assert_eq!(&r[22..28], &mac.0, "sha = our MAC");
            assert_eq!(&r[28..32], &target.octets(), "spa = asked address");
            assert_eq!(&r[32..38], &PEER_MAC.0, "tha = requester MAC");
            assert_eq!(&r[38..42], &peer.octets(), "tpa = requester IP");
            assert_eq!(&r[42..], &[0xee; 18], "padding untouched");
            assert_eq!(s.counters().arp_requests_answered, 1);
            // The request was addressed to us, so its sender was learned (RFC 826).
            assert_eq!(
                s.neigh().resolve(peer, port, Instant::from_secs(1)),
                Resolution::Resolved(PEER_MAC)
            );
            assert_eq!(s.counters().arp_learned, 1);
            assert!(io.dropped.is_empty() && io.freed.is_empty());
        }
    }

    #[test]
    fn arp_from_a_sender_off_the_ports_prefixes_is_answered_but_not_learned() {
        let mut s = stack();
        let mut io = TestIo::default();
        let spoofed = Ipv4Addr::new(198, 18, 0, 7);
        let req = eth(
            MacAddr::BROADCAST,
            PEER_MAC,
            0x0806,
            &arp(1, PEER_MAC, spoofed, MacAddr::ZERO, VIP),
        );
        assert!(matches!(rx(&mut s, &mut io, 0, &req), Input::Consumed));
        assert_eq!(io.tx.len(), 1, "still answered: the VIP is ours");
        assert_eq!(s.neigh().len(), 0, "no entry for an off-link sender");
        assert_eq!((s.counters().arp_learned, s.counters().arp_off_link), (0, 1));
    }

    #[test]
    fn arp_not_for_us_is_dropped_and_not_learned() {
        let other = Ipv4Addr::new(10, 0, 0, 9);
        let req = eth(
            MacAddr::BROADCAST,
            PEER_MAC,
            0x0806,
            &arp(1, PEER_MAC, PEER, MacAddr::ZERO, other),
        );
        dropped_as(&req, 0, DropReason::ArpNotForUs);
        // Owned, but on the other port.
        let req = eth(
            MacAddr::BROADCAST,
            PEER_MAC,
            0x0806,
            &arp(1, PEER_MAC, PEER, MacAddr::ZERO, HOST1),
        );
        dropped_as(&req, 0, DropReason::ArpNotForUs);
        let mut s = stack();
        let mut io = TestIo::default();
        rx(&mut s, &mut io, 0, &req);
        assert_eq!(s.neigh().len(), 0, "no entry created for a request not addressed to us");
    }

    #[test]
    fn arp_malformed() {
        let good = arp(1, PEER_MAC, PEER, MacAddr::ZERO, VIP);
        dropped_as(
            &eth(MacAddr::BROADCAST, PEER_MAC, 0x0806, &good[..27]),
            0,
            DropReason::ArpMalformed,
        );
        let mut bad_htype = good.clone();
        bad_htype[1] = 6;
        dropped_as(
            &eth(MacAddr::BROADCAST, PEER_MAC, 0x0806, &bad_htype),
            0,
            DropReason::ArpMalformed,
        );
        let mut bad_op = good.clone();
        bad_op[7] = 3;
        dropped_as(
            &eth(MacAddr::BROADCAST, PEER_MAC, 0x0806, &bad_op),
            0,
            DropReason::ArpMalformed,
        );
        let mcast_sender = arp(1, MacAddr::BROADCAST, PEER, MacAddr::ZERO, VIP);
        dropped_as(
            &eth(MacAddr::BROADCAST, PEER_MAC, 0x0806, &mcast_sender),
            0,
            DropReason::ArpMalformed,
        );
    }

    #[test]
    fn arp_reply_to_us_is_learned_and_freed() {
        let mut s = stack();
        let mut io = TestIo::default();
        let rep = eth(MAC0, PEER_MAC, 0x0806, &arp(2, PEER_MAC, PEER, MAC0, HOST0));
        assert!(matches!(rx(&mut s, &mut io, 0, &rep), Input::Consumed));
        assert_eq!(io.freed.len(), 1);
        assert!(io.tx.is_empty() && io.dropped.is_empty());
        assert_eq!(
            s.neigh().resolve(PEER, 0, Instant::from_secs(1)),
            Resolution::Resolved(PEER_MAC)
        );
        // A probe (sender 0.0.0.0) or a claim on our own address is never learned.
        let mut s = stack();
        let mut io = TestIo::default();
        let probe = eth(
            MacAddr::BROADCAST,
            PEER_MAC,
            0x0806,
            &arp(1, PEER_MAC, Ipv4Addr::UNSPECIFIED, MacAddr::ZERO, VIP),
        );
        rx(&mut s, &mut io, 0, &probe);
        assert_eq!(io.tx.len(), 1, "a probe for our address is answered (we defend it)");
        let claim =
            eth(MacAddr::BROADCAST, PEER_MAC, 0x0806, &arp(2, PEER_MAC, VIP, MacAddr::ZERO, VIP));
        rx(&mut s, &mut io, 0, &claim);
        assert_eq!(s.neigh().len(), 0);
    }

    #[test]
    fn own_and_gratuitous_announcements_get_no_reply() {
        let mut s = stack();
        let mut io = TestIo::default();
        s.start(&mut io);
        let ours: Vec<Vec<u8>> = io.tx.drain(..).map(|(_, p)| data(&p).to_vec()).collect();
        for f in &ours {
            rx(&mut s, &mut io, 0, f);
        }
        assert!(io.tx.is_empty(), "our own looped-back announcements are not answered");
        assert_eq!(io.dropped.len(), ours.len());
        // Someone else's gratuitous ARP claiming our address: no reply, no learning.
        let claim =
            eth(MacAddr::BROADCAST, PEER_MAC, 0x0806, &arp(1, PEER_MAC, VIP, MacAddr::ZERO, VIP));
        rx(&mut s, &mut io, 0, &claim);
        assert!(io.tx.is_empty());
        assert_eq!(s.neigh().len(), 0);
        // A neighbour's own gratuitous ARP refreshes an entry we have, and is not answered.
        let rep = eth(MAC0, PEER_MAC, 0x0806, &arp(2, PEER_MAC, PEER, MAC0, HOST0));
        rx(&mut s, &mut io, 0, &rep);
        let newer = MacAddr([0x52, 0, 0, 0, 0, 0x77]);
        let garp =
            eth(MacAddr::BROADCAST, newer, 0x0806, &arp(1, newer, PEER, MacAddr::ZERO, PEER));
        rx(&mut s, &mut io, 0, &garp);
        assert!(io.tx.is_empty());
        assert_eq!(s.neigh().resolve(PEER, 0, Instant::from_secs(1)), Resolution::Resolved(newer));
        assert_eq!(io.freed.len(), 2);
    }

    #[test]
    fn gratuitous_arp_for_every_owned_address() {
        let mut s = stack();
        let mut io = TestIo::default();
        s.start(&mut io);
        let expect = [(0u16, MAC0, HOST0), (0, MAC0, VIP), (0, MAC0, LADDR), (1, MAC1, HOST1)];
        assert_eq!(io.tx.len(), expect.len());
        for ((port, pkt), (eport, mac, ip)) in io.tx.iter().zip(expect) {
            assert_eq!(*port, eport);
            let mut want =
                eth(MacAddr::BROADCAST, mac, 0x0806, &arp(1, mac, ip, MacAddr::ZERO, ip));
            want.resize(60, 0);
            assert_eq!(data(pkt), &want[..]);
        }
        assert_eq!(s.counters().gratuitous_sent, 4);
        assert_eq!(io.allocs, 4);
        // Out of buffers: counted, nothing sent.
        let mut io = TestIo { alloc_budget: Some(1), ..TestIo::default() };
        s.start(&mut io);
        assert_eq!(io.tx.len(), 1);
        assert_eq!(s.counters().drop_count(DropReason::NoMbuf), 3);
    }
}
