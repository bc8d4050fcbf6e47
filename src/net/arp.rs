//! ARP for the director's owned addresses: answer, learn, announce, probe.
//!
//! Owns the ARP behaviour of RFC 826 on Ethernet/IPv4: input validation, the merge rule (refresh
//! a neighbour we already know, learn one only when the packet is addressed to us), replies built
//! in place in the request's buffer, gratuitous announcements of every owned address at start and
//! the requests the neighbour table sends to resolve a next hop. It answers for every owned
//! address kind (host, VIP, local) but only on the port the address lives on.
//!
//! It does not hold neighbour state ([`super::neigh`] does) nor parse headers itself (the views are
//! [`crate::wire`]'s). Addresses and MACs come from the [`IfaceTable`].

use std::net::Ipv4Addr;

use super::counters::DropReason;
use super::io::{Ctx, NetIo};
use super::neigh::NeighTable;
use crate::buf::PacketBuf;
use crate::time::Instant;
use crate::wire::{arp, ethernet, ArpOperation, ArpPacket, ArpRepr, EtherType, EthernetFrame, EthernetRepr, MacAddr};

/// Length of the ARP frames the director builds: the Ethernet minimum without FCS (42 bytes of
/// headers, zero padding after), so no driver has to pad a runt.
pub const FRAME_LEN: usize = 60;

/// Handles an ARP frame received on `port` (Ethernet header already checked to be ARP).
pub(crate) fn input<B: PacketBuf>(
    mut pkt: B,
    port: u16,
    now: Instant,
    neigh: &mut NeighTable<B>,
    ctx: &mut Ctx<'_, impl NetIo<B>>,
) {
    let parsed = pkt
        .data()
        .get(ethernet::HEADER_LEN..)
        .and_then(|p| ArpPacket::new_checked(p).ok())
        .and_then(|a| ArpRepr::parse(&a).ok());
    let Some(req) = parsed else {
        return ctx.drop(pkt, DropReason::ArpMalformed);
    };
    let is_request = match req.operation {
        ArpOperation::Request => true,
        ArpOperation::Reply => false,
        ArpOperation::Unknown(_) => return ctx.drop(pkt, DropReason::ArpMalformed),
    };
    if !req.sender_mac.is_unicast() || req.sender_mac.is_zero() {
        return ctx.drop(pkt, DropReason::ArpMalformed);
    }
    let Some(our_mac) = ctx.ifaces.iface(port).map(|i| i.mac) else {
        return ctx.drop(pkt, DropReason::ArpNotForUs);
    };
    let for_us = matches!(ctx.ifaces.owns(req.target_ip), Some((p, _)) if p == port);

    // Merge rule. Never learn our own addresses (a conflict, not a neighbour) nor senders that
    // cannot be hosts (an ARP probe has sender 0.0.0.0).
    let spa = req.sender_ip;
    let learnable = !(spa.is_unspecified() || spa.is_broadcast() || spa.is_multicast() || spa.is_loopback())
        && ctx.ifaces.owns(spa).is_none();
    let learned = learnable && neigh.learn(spa, port, req.sender_mac, for_us, now, ctx);
    if learned {
        ctx.counters.arp_learned += 1;
    }

    if is_request && for_us {
        let reply = ArpRepr {
            operation: ArpOperation::Reply,
            sender_mac: our_mac,
            sender_ip: req.target_ip,
            target_mac: req.sender_mac,
            target_ip: req.sender_ip,
        };
        let eth = EthernetRepr { src_addr: our_mac, dst_addr: req.sender_mac, ethertype: EtherType::Arp };
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
fn send<B: PacketBuf>(port: u16, eth: &EthernetRepr, a: &ArpRepr, ctx: &mut Ctx<'_, impl NetIo<B>>) -> bool {
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
pub(crate) fn send_request<B: PacketBuf>(ctx: &mut Ctx<'_, impl NetIo<B>>, port: u16, target: Ipv4Addr) {
    let Some(iface) = ctx.ifaces.iface(port) else { return };
    let a = ArpRepr {
        operation: ArpOperation::Request,
        sender_mac: iface.mac,
        sender_ip: iface.source_addr_for(target).unwrap_or(Ipv4Addr::UNSPECIFIED),
        target_mac: MacAddr::ZERO,
        target_ip: target,
    };
    let eth = EthernetRepr { src_addr: iface.mac, dst_addr: MacAddr::BROADCAST, ethertype: EtherType::Arp };
    if send(port, &eth, &a, ctx) {
        ctx.counters.arp_requests_sent += 1;
    }
}

/// Broadcasts one gratuitous ARP request (sender = target = the address) for every owned address
/// on its port, so that switches and neighbours learn where the director's addresses are.
pub(crate) fn send_gratuitous<B: PacketBuf>(ctx: &mut Ctx<'_, impl NetIo<B>>) {
    let ifaces = ctx.ifaces;
    for iface in ifaces.iter() {
        for addr in &iface.addrs {
            let a = ArpRepr {
                operation: ArpOperation::Request,
                sender_mac: iface.mac,
                sender_ip: addr.ip,
                target_mac: MacAddr::ZERO,
                target_ip: addr.ip,
            };
            let eth = EthernetRepr { src_addr: iface.mac, dst_addr: MacAddr::BROADCAST, ethertype: EtherType::Arp };
            if send(iface.port, &eth, &a, ctx) {
                ctx.counters.gratuitous_sent += 1;
            }
        }
    }
}
