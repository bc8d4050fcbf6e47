//! IPv6 neighbour discovery for the director's own addresses (RFC 4861) and their duplicate
//! address detection (RFC 4862), sans-IO: the IPv6 counterpart of [`super::arp`].
//!
//! Owns [`Nd`]: the director's IPv6 addresses per port and their DAD state, the per-core IPv6
//! neighbour table (a [`NeighTable`] over `Ipv6Addr`, so the bounds, states, eviction and
//! learning rules are ARP's, unchanged) and the ND rate limit. It answers neighbour
//! solicitations for its usable addresses with solicited advertisements (S and O set), sends the
//! solicitations the table asks for (multicast to the target's solicited-node address, from the
//! port's first usable address, with our link-layer address), runs DAD for each address before
//! using it (a solicitation from `::`; a solicitation from `::` or an advertisement for a
//! tentative address is a conflict, reported and never used), announces each address once
//! usable with unsolicited advertisements (as gratuitous ARP), and learns neighbours with
//! ARP's hardening (docs/hardening/floods.md): only from on-link senders (inside a prefix of
//! the port's addresses, or link-local), an entry for a host never asked about only from a
//! solicitation addressed to one of our addresses, a token per frame except an advertisement
//! answering our own resolution. Router solicitations, advertisements and redirects are
//! validated and ignored: the director is neither a router nor a host that autoconfigures.
//!
//! It does not route, own the exception path, or know the data path; [`super::stack6`] calls it
//! for the ND frames that concern the director (docs/ipv6.md). Frames are read and written through
//! [`crate::wire`]'s `ipv6`, `ipv6ext`, `icmpv6` and `ndisc` views.

use core::time::Duration;
use std::net::Ipv6Addr;

use thiserror::Error;

use super::counters::DropReason;
use super::exception::TokenBucket;
use super::io::{Ctx, NetIo};
use super::neigh::{Learn, NeighError, NeighParams, NeighTable, StaticNeigh};
use crate::buf::PacketBuf;
use crate::time::Instant;
use crate::wire::ndisc::{self, FLAG_OVERRIDE, FLAG_SOLICITED};
use crate::wire::{
    ethernet, icmpv6, ipv6, ipv6ext, EtherType, EthernetFrame, EthernetRepr, IpProtocol, MacAddr,
};

/// Hop limit of every ND message (RFC 4861: receivers refuse any other).
const ND_HOP_LIMIT: u8 = 255;

/// The all-nodes multicast address.
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// The usable source address of each port for the solicitations the neighbour table sends:
/// the first of the port's addresses whose DAD is done. [`Nd`] keeps it current.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sources {
    by_port: Vec<(u16, Ipv6Addr)>,
}

impl Sources {
    /// The source address for solicitations on `port`, if the port has a usable address.
    pub fn source(&self, port: u16) -> Option<Ipv6Addr> {
        self.by_port.iter().find(|(p, _)| *p == port).map(|&(_, a)| a)
    }
}

/// One of the director's IPv6 addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OwnAddr {
    /// The port it lives on.
    pub port: u16,
    /// The address.
    pub addr: Ipv6Addr,
    /// Its prefix: the on-link prefix of the port (128 for a VIP).
    pub prefix_len: u8,
}

/// Where an address is in its duplicate address detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DadState {
    /// Being checked: `sent` solicitations out, the next step due at `next`. Not used, not
    /// answered for.
    Tentative { sent: u32, next: Instant },
    /// Checked and in use.
    Preferred,
    /// Another node has it: never used (RFC 4862 section 5.4.5).
    Duplicate,
}

/// What [`Nd`] reports to its owner (drained with [`Nd::take_events`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NdEvent {
    /// DAD finished: the address is in use.
    Ready { port: u16, addr: Ipv6Addr },
    /// DAD found the address taken (a solicitation from `::` or an advertisement for it while
    /// tentative): it will not be used.
    DadConflict { port: u16, addr: Ipv6Addr, mac: Option<MacAddr> },
    /// Another node advertised an address already in use here.
    Conflict { port: u16, addr: Ipv6Addr, mac: Option<MacAddr> },
}

/// Tunables of neighbour discovery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NdParams {
    /// DAD solicitations per address (RFC 4862's `DupAddrDetectTransmits`; 0 = no DAD).
    pub dad_transmits: u32,
    /// Interval between them, and the wait after the last (`RetransTimer`).
    pub dad_retrans: Duration,
    /// Unsolicited advertisements sent for an address once it is usable (RFC 4861 allows up
    /// to 3; they go out together, as gratuitous ARP does at start).
    pub unsolicited_na: u32,
    /// ND frames handled per second (0 = unlimited), as the ARP budget.
    pub rate: u64,
    /// Burst of the rate limit.
    pub burst: u64,
}

impl Default for NdParams {
    fn default() -> Self {
        NdParams {
            dad_transmits: 1,
            dad_retrans: Duration::from_secs(1),
            unsolicited_na: 1,
            rate: 1000,
            burst: 100,
        }
    }
}

/// Counters of neighbour discovery (per core).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NdCounters {
    /// Solicitations answered with an advertisement.
    pub ns_answered: u64,
    /// Unsolicited advertisements sent (at the end of DAD, or to a DAD probe for our address).
    pub na_announced: u64,
    /// DAD solicitations sent.
    pub dad_sent: u64,
    /// Addresses found duplicate by DAD.
    pub dad_conflicts: u64,
    /// Advertisements from another node for an address in use here.
    pub conflicts: u64,
    /// Neighbour entries created or refreshed.
    pub learned: u64,
    /// Senders outside every prefix of the port (not learned).
    pub off_link: u64,
    /// Frames over the rate limit (freed unread).
    pub rate_limited: u64,
    /// Router solicitations, advertisements and redirects ignored.
    pub router_ignored: u64,
}

/// Why an [`Nd`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NdError {
    /// An address that cannot be a host's.
    #[error("IPv6 address {0} cannot be the director's (multicast, unspecified or loopback)")]
    BadAddr(Ipv6Addr),
    /// A prefix length over 128.
    #[error("IPv6 address {addr}: prefix length {prefix_len} is over 128")]
    BadPrefix { addr: Ipv6Addr, prefix_len: u8 },
    /// The same address twice.
    #[error("IPv6 address {0} is configured twice")]
    Duplicate(Ipv6Addr),
    /// The neighbour table's parameters or static entries.
    #[error(transparent)]
    Neigh(#[from] NeighError<Ipv6Addr>),
}

/// Neighbour discovery and DAD for one core (see the module documentation).
#[derive(Debug)]
pub struct Nd<B> {
    params: NdParams,
    addrs: Vec<(OwnAddr, DadState)>,
    table: NeighTable<B, Ipv6Addr>,
    limit: TokenBucket,
    counters: NdCounters,
    /// At most two per address (a state change and a conflict); drained by the owner.
    events: Vec<NdEvent>,
}

impl<B: PacketBuf> Nd<B> {
    /// Neighbour discovery for `addrs`, all tentative until [`Nd::start`].
    pub fn new(
        params: NdParams,
        neigh: NeighParams,
        addrs: &[OwnAddr],
        statics: &[StaticNeigh<Ipv6Addr>],
        now: Instant,
    ) -> Result<Self, NdError> {
        for (i, a) in addrs.iter().enumerate() {
            if a.addr.is_multicast() || a.addr.is_unspecified() || a.addr.is_loopback() {
                return Err(NdError::BadAddr(a.addr));
            }
            if a.prefix_len > 128 {
                return Err(NdError::BadPrefix { addr: a.addr, prefix_len: a.prefix_len });
            }
            if addrs[..i].iter().any(|b| b.addr == a.addr) {
                return Err(NdError::Duplicate(a.addr));
            }
        }
        Ok(Nd {
            params,
            addrs: addrs.iter().map(|&a| (a, DadState::Tentative { sent: 0, next: now })).collect(),
            table: NeighTable::new(neigh, statics)?,
            limit: TokenBucket::new(params.rate, params.burst, now),
            counters: NdCounters::default(),
            events: Vec::with_capacity(addrs.len() * 2),
        })
    }

    /// The IPv6 neighbour table (resolve and send through it).
    pub fn table(&mut self) -> &mut NeighTable<B, Ipv6Addr> {
        &mut self.table
    }

    /// The counters.
    pub fn counters(&self) -> &NdCounters {
        &self.counters
    }

    /// The DAD state of `addr`, if it is ours.
    pub fn state(&self, addr: Ipv6Addr) -> Option<DadState> {
        self.addrs.iter().find(|(a, _)| a.addr == addr).map(|&(_, s)| s)
    }

    /// Whether `addr` is ours on `port` and usable (its DAD done).
    pub fn is_usable(&self, addr: Ipv6Addr, port: u16) -> bool {
        self.addrs
            .iter()
            .any(|(a, s)| a.addr == addr && a.port == port && *s == DadState::Preferred)
    }

    /// The events since the last call.
    pub fn take_events(&mut self) -> Vec<NdEvent> {
        core::mem::take(&mut self.events)
    }

    /// Starts DAD for every address (or, with `dad_transmits` 0, makes each usable and
    /// announces it at once).
    pub fn start(&mut self, now: Instant, ctx: &mut Ctx<'_, impl NetIo<B>>) {
        for i in 0..self.addrs.len() {
            self.dad_step(i, now, ctx);
        }
    }

    /// Timer work due at `now`: DAD steps, then the neighbour table's probes and expiry.
    pub fn poll(&mut self, now: Instant, ctx: &mut Ctx<'_, impl NetIo<B>>) {
        for i in 0..self.addrs.len() {
            if matches!(self.addrs[i].1, DadState::Tentative { next, .. } if now >= next) {
                self.dad_step(i, now, ctx);
            }
        }
        self.table.poll(now, ctx);
    }

    /// The next step of address `i`'s DAD: another solicitation, or the address becomes usable.
    fn dad_step(&mut self, i: usize, now: Instant, ctx: &mut Ctx<'_, impl NetIo<B>>) {
        let (a, DadState::Tentative { sent, .. }) = self.addrs[i] else { return };
        if sent < self.params.dad_transmits {
            let target = a.addr;
            let ns = ndisc::Repr::NeighborSolicit { target, source_ll: None };
            let dst = ndisc::solicited_node(target);
            if send_nd(ctx, a.port, None, Ipv6Addr::UNSPECIFIED, dst, &ns) {
                self.counters.dad_sent += 1;
            }
            self.addrs[i].1 =
                DadState::Tentative { sent: sent + 1, next: now + self.params.dad_retrans };
            return;
        }
        self.addrs[i].1 = DadState::Preferred;
        self.refresh_sources();
        self.events.push(NdEvent::Ready { port: a.port, addr: a.addr });
        for _ in 0..self.params.unsolicited_na {
            self.advertise(a, ALL_NODES, None, FLAG_OVERRIDE, ctx);
        }
    }

    fn refresh_sources(&mut self) {
        let mut by_port: Vec<(u16, Ipv6Addr)> = Vec::new();
        for (a, s) in &self.addrs {
            if *s == DadState::Preferred && !by_port.iter().any(|(p, _)| *p == a.port) {
                by_port.push((a.port, a.addr));
            }
        }
        self.table.solicit_mut().by_port = by_port;
    }

    /// Sends an advertisement of `a` to `dst` (Ethernet destination `mac`, or the multicast
    /// address of `dst`) with `flags` and our link-layer address.
    fn advertise(
        &mut self,
        a: OwnAddr,
        dst: Ipv6Addr,
        mac: Option<MacAddr>,
        flags: u8,
        ctx: &mut Ctx<'_, impl NetIo<B>>,
    ) -> bool {
        let Some(our_mac) = ctx.ifaces.iface(a.port).map(|i| i.mac) else { return false };
        let na = ndisc::Repr::NeighborAdvert { flags, target: a.addr, target_ll: Some(our_mac) };
        let sent = send_nd(ctx, a.port, mac, a.addr, dst, &na);
        if sent && flags & FLAG_SOLICITED == 0 {
            self.counters.na_announced += 1;
        }
        sent
    }

    /// Whether `ip` may be a neighbour on `port`: a unicast address that is not ours and lies
    /// in a prefix of the port's addresses or is link-local.
    fn on_link(&self, ip: Ipv6Addr, port: u16) -> bool {
        ndisc::is_link_local(ip)
            || self.addrs.iter().any(|(a, _)| a.port == port && prefix_contains(a, ip))
    }

    fn host_like(&self, ip: Ipv6Addr) -> bool {
        let special = ip.is_unspecified() || ip.is_multicast() || ip.is_loopback();
        !special && !self.addrs.iter().any(|(a, _)| a.addr == ip)
    }

    /// Handles an ICMPv6 neighbour discovery frame received on `port` (an Ethernet frame whose
    /// IPv6 packet carries ICMPv6 types 133-137). Consumes it: answered, learned from, or
    /// dropped and counted (malformed messages, bad checksums and RFC 4861 validity failures
    /// as [`DropReason::IcmpMalformed`] / [`DropReason::IcmpBadChecksum`], the rest freed).
    pub fn input(&mut self, pkt: B, port: u16, now: Instant, ctx: &mut Ctx<'_, impl NetIo<B>>) {
        self.handle(pkt, port, now, ctx, true);
    }

    /// Learns from a copy of an ND frame another core received on `port` (RSS sends an
    /// answer to wherever its hash says, while every core keeps its own neighbour table and
    /// DAD state): the same rules as [`Nd::input`], DAD conflicts included, but nothing is
    /// sent (no answer, no defence: the core that received the frame sends them).
    pub fn observe(&mut self, pkt: B, port: u16, now: Instant, ctx: &mut Ctx<'_, impl NetIo<B>>) {
        self.handle(pkt, port, now, ctx, false);
    }

    fn handle(
        &mut self,
        pkt: B,
        port: u16,
        now: Instant,
        ctx: &mut Ctx<'_, impl NetIo<B>>,
        answer: bool,
    ) {
        let parsed = match parse(pkt.data()) {
            Ok(p) => p,
            Err(reason) => return discard(ctx, pkt, reason, answer),
        };
        let our_mac = ctx.ifaces.iface(port).map(|i| i.mac);
        if our_mac.is_none() || Some(parsed.eth_src) == our_mac {
            // No such port, or our own multicast looped back.
            return discard(ctx, pkt, DropReason::NotForUs, answer);
        }
        // The budget: every frame but an advertisement answering a resolution of ours.
        let answers_us = matches!(parsed.msg, ndisc::Repr::NeighborAdvert { target, .. }
            if self.table.is_resolving(target, port));
        if !answers_us && !self.limit.take(now) {
            self.counters.rate_limited += 1;
            ctx.io.free(pkt);
            return;
        }
        let ours = |t: Ipv6Addr| self.addrs.iter().position(|(a, _)| a.addr == t && a.port == port);
        match parsed.msg {
            ndisc::Repr::NeighborSolicit { target, source_ll } => {
                let Some(i) = ours(target) else {
                    // For another host: a known sender is refreshed, nothing else.
                    if let Some(mac) = source_ll {
                        self.learn(parsed.src, port, mac, Learn::Refresh, now, ctx);
                    }
                    return discard(ctx, pkt, DropReason::NotForUs, answer);
                };
                let (a, state) = self.addrs[i];
                match state {
                    DadState::Tentative { .. } if parsed.src.is_unspecified() => {
                        self.dad_conflict(i, Some(parsed.eth_src));
                    }
                    DadState::Tentative { .. } | DadState::Duplicate => {}
                    DadState::Preferred if parsed.src.is_unspecified() => {
                        // Another node's DAD for our address: defend it (RFC 4861 7.2.4).
                        if answer {
                            self.advertise(a, ALL_NODES, None, FLAG_OVERRIDE, ctx);
                        }
                    }
                    DadState::Preferred => {
                        if let Some(mac) = source_ll {
                            self.learn(parsed.src, port, mac, Learn::Addressed, now, ctx);
                        }
                        // A unicast probe without the option is answered to the frame's source.
                        let to = source_ll.unwrap_or(parsed.eth_src);
                        let flags = FLAG_SOLICITED | FLAG_OVERRIDE;
                        if answer && self.advertise(a, parsed.src, Some(to), flags, ctx) {
                            self.counters.ns_answered += 1;
                        }
                    }
                }
                ctx.io.free(pkt);
            }
            ndisc::Repr::NeighborAdvert { flags, target, target_ll } => {
                if let Some(i) = ours(target) {
                    match self.addrs[i].1 {
                        DadState::Tentative { .. } => self.dad_conflict(i, target_ll),
                        DadState::Preferred => {
                            self.counters.conflicts += 1;
                            let mac = target_ll;
                            self.events.push(NdEvent::Conflict { port, addr: target, mac });
                        }
                        DadState::Duplicate => {}
                    }
                    return ctx.io.free(pkt);
                }
                let to_us = self.is_usable(parsed.dst, port);
                let how = if to_us && flags & FLAG_SOLICITED != 0 {
                    Learn::Confirmed
                } else {
                    Learn::Refresh
                };
                let mac = target_ll.or(answers_us.then_some(parsed.eth_src));
                let learned = mac.is_some_and(|m| self.learn(target, port, m, how, now, ctx));
                if learned {
                    ctx.io.free(pkt);
                } else {
                    discard(ctx, pkt, DropReason::NotForUs, answer);
                }
            }
            ndisc::Repr::RouterSolicit { .. } | ndisc::Repr::RouterAdvert { .. } => {
                self.counters.router_ignored += 1;
                ctx.io.free(pkt);
            }
        }
    }

    fn dad_conflict(&mut self, i: usize, mac: Option<MacAddr>) {
        let a = self.addrs[i].0;
        self.addrs[i].1 = DadState::Duplicate;
        self.counters.dad_conflicts += 1;
        self.events.push(NdEvent::DadConflict { port: a.port, addr: a.addr, mac });
    }

    /// Learns `ip` -> `mac` on `port` under ARP's rules: host-like and on-link senders only.
    fn learn(
        &mut self,
        ip: Ipv6Addr,
        port: u16,
        mac: MacAddr,
        how: Learn,
        now: Instant,
        ctx: &mut Ctx<'_, impl NetIo<B>>,
    ) -> bool {
        if !self.host_like(ip) {
            return false;
        }
        if !self.on_link(ip, port) {
            self.counters.off_link += 1;
            return false;
        }
        let learned = self.table.learn(ip, port, mac, how, now, ctx);
        if learned {
            self.counters.learned += 1;
        }
        learned
    }
}

/// Drops `pkt` for `reason`, counted, when it was received here; frees a copy another core
/// received (counted there).
fn discard<B>(ctx: &mut Ctx<'_, impl NetIo<B>>, pkt: B, reason: DropReason, counted: bool) {
    if counted {
        ctx.drop(pkt, reason);
    } else {
        ctx.io.free(pkt);
    }
}

/// Whether `ip` is inside `a`'s prefix.
fn prefix_contains(a: &OwnAddr, ip: Ipv6Addr) -> bool {
    let n = u32::from(a.prefix_len.min(128));
    let mask = if n == 0 { 0 } else { u128::MAX << (128 - n) };
    u128::from(a.addr) & mask == u128::from(ip) & mask
}

/// A received ND message with what its headers said.
struct Parsed {
    eth_src: MacAddr,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    msg: ndisc::Repr,
}

/// Reads and validates an ND frame: Ethernet, IPv6, the extension chain, ICMPv6 checksum,
/// the message and RFC 4861 section 7.1's checks.
fn parse(frame: &[u8]) -> Result<Parsed, DropReason> {
    let eth = EthernetFrame::new_checked(frame).map_err(|_| DropReason::EthTruncated)?;
    if eth.ethertype() != EtherType::Ipv6 {
        return Err(DropReason::UnknownEthertype);
    }
    let ip = ipv6::Packet::new_checked(eth.payload()).map_err(|_| DropReason::IcmpMalformed)?;
    let chain = ipv6ext::walk(&ip).map_err(|_| DropReason::IcmpMalformed)?;
    if chain.protocol != IpProtocol::ICMPV6 || !chain.has_l4_header() || chain.is_fragment() {
        return Err(DropReason::IcmpMalformed);
    }
    let end = ipv6::HEADER_LEN + usize::from(ip.payload_len());
    let bytes = eth.payload().get(chain.l4_offset..end).ok_or(DropReason::IcmpMalformed)?;
    let m = icmpv6::Packet::new_checked(bytes).map_err(|_| DropReason::IcmpMalformed)?;
    let (src, dst) = (ip.src_addr(), ip.dst_addr());
    if !m.verify_checksum(src, dst) {
        return Err(DropReason::IcmpBadChecksum);
    }
    let msg = ndisc::Repr::parse(&m).map_err(|_| DropReason::IcmpMalformed)?;
    msg.validate(src, dst, ip.hop_limit()).map_err(|_| DropReason::IcmpMalformed)?;
    Ok(Parsed { eth_src: eth.src_addr(), src, dst, msg })
}

/// Sends a neighbour solicitation for `target` on `port` (the neighbour table's probe): to the
/// solicited-node address, from the port's usable address in `how`, with our link-layer
/// address. Nothing is sent while the port has no usable address (its DAD is not done): the
/// table's probes then run out and what waited is dropped as unresolved.
pub(crate) fn send_solicit<B: PacketBuf>(
    how: &Sources,
    ctx: &mut Ctx<'_, impl NetIo<B>>,
    port: u16,
    target: Ipv6Addr,
) {
    let (Some(src), Some(mac)) = (how.source(port), ctx.ifaces.iface(port).map(|i| i.mac)) else {
        return;
    };
    let ns = ndisc::Repr::NeighborSolicit { target, source_ll: Some(mac) };
    send_nd(ctx, port, None, src, ndisc::solicited_node(target), &ns);
}

/// Sends a unicast neighbour solicitation for `target` to `mac` on `port` (the neighbour
/// table's confirmation probe of a stale entry in use, RFC 4861 7.3.3's PROBE state): to the
/// target address itself, from the port's usable address. Nothing is sent while the port has
/// no usable address.
pub(crate) fn send_unicast_solicit<B: PacketBuf>(
    how: &Sources,
    ctx: &mut Ctx<'_, impl NetIo<B>>,
    port: u16,
    target: Ipv6Addr,
    mac: MacAddr,
) {
    let (Some(src), Some(our)) = (how.source(port), ctx.ifaces.iface(port).map(|i| i.mac)) else {
        return;
    };
    let ns = ndisc::Repr::NeighborSolicit { target, source_ll: Some(our) };
    send_nd(ctx, port, Some(mac), src, target, &ns);
}

/// Allocates and transmits an Ethernet + IPv6 + ND frame on `port`: Ethernet destination
/// `mac`, or the multicast address of `dst`. Counts [`DropReason::NoMbuf`] and returns false
/// when no buffer is available.
fn send_nd<B: PacketBuf>(
    ctx: &mut Ctx<'_, impl NetIo<B>>,
    port: u16,
    mac: Option<MacAddr>,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    msg: &ndisc::Repr,
) -> bool {
    let Some(our_mac) = ctx.ifaces.iface(port).map(|i| i.mac) else { return false };
    let Some(mut pkt) = ctx.io.alloc() else {
        ctx.counters.count_drop(DropReason::NoMbuf);
        return false;
    };
    let l4_len = msg.buffer_len();
    let len = ethernet::HEADER_LEN + ipv6::HEADER_LEN + l4_len;
    let ok = pkt.set_len(0).is_ok() && pkt.append(len).is_ok() && {
        let data = pkt.data_mut();
        let (eth_bytes, rest) = data.split_at_mut(ethernet::HEADER_LEN);
        let eth = EthernetRepr {
            src_addr: our_mac,
            dst_addr: mac.unwrap_or_else(|| ndisc::multicast_mac(dst)),
            ethertype: EtherType::Ipv6,
        };
        eth.emit(&mut EthernetFrame::new_unchecked(eth_bytes));
        let (ip_bytes, l4) = rest.split_at_mut(ipv6::HEADER_LEN);
        let ip = ipv6::Repr {
            src_addr: src,
            dst_addr: dst,
            next_header: IpProtocol::ICMPV6,
            payload_len: l4_len as u16,
            hop_limit: ND_HOP_LIMIT,
            traffic_class: 0,
            flow_label: 0,
        };
        ip.emit(&mut ipv6::Packet::new_unchecked(ip_bytes));
        msg.emit(src, dst, l4).is_ok()
    };
    if !ok {
        ctx.drop(pkt, DropReason::NoMbuf);
        return false;
    }
    ctx.io.tx(port, pkt);
    true
}

#[cfg(test)]
#[path = "nd_tests.rs"]
mod tests;
