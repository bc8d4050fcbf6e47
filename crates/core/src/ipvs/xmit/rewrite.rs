//! The steps the forwarding modes share: checking that the IPv4 packet at `l3` can be forwarded
//! (well formed, not a fragment, TTL left, fits the MTU), and the in-place address and port
//! rewrite with RFC 1624 incremental checksums that NAT, FULLNAT and SNAT are made of.
//!
//! Every check runs before anything is written, so a mode that fails leaves the buffer as it
//! was; the rewrite itself cannot fail once the checks passed.
//!
//! # Checksums cannot be forgotten
//! A mode hands a packet back for sending only as an [`Xmit`], and an `Xmit` holds a
//! [`Checksummed`], which only the finishing steps here make: [`nat`] and [`nat_or_ip`]
//! (addresses, ports, TTL, with incremental updates), [`decrement_ttl`] (DR),
//! [`finish_tunnel`] (TUN's inner TTL and outer UDP checksum) and [`fill_icmp_checksum`] (a
//! translated ICMP error). A mode that rewrites bytes without one of them does not compile;
//! the property test in `checksums.rs` checks that the checksums they leave are right.

use std::net::{Ipv4Addr, SocketAddrV4};

use super::{Xmit, XmitError};
pub use crate::wire::checked::L4;
use crate::wire::checksum;
use crate::wire::icmpv4::Message;
use crate::wire::{Icmpv4Packet, IpProtocol, Ipv4Meta, Ipv4Packet, TcpPacket, UdpPacket};

/// Proof that the checksums of a rewritten packet are final: the IPv4 header's, the TCP, UDP
/// or ICMP checksum, an encapsulated packet's. Only this module's finishing steps make one (see
/// the module doc); every [`Xmit`] holds one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "a rewritten packet is sent as an Xmit holding its Checksummed"]
pub struct Checksummed(());

impl Checksummed {
    /// The result of a rewrite whose checksums this proof stands for.
    pub(super) fn xmit(self, route_to: Ipv4Addr, toa_inserted: bool, tx_csum: bool) -> Xmit {
        Xmit { route_to, toa_inserted, tx_csum, checksummed: self }
    }

    /// For tests' expected values only.
    #[cfg(test)]
    pub(crate) const EXPECTED: Checksummed = Checksummed(());
}

/// Smallest MTU an IPv4 link may have (RFC 791); a fragmentation-needed MTU below it is not
/// reported.
pub(super) const MIN_MTU: u16 = 68;

/// Where a packet sits in its datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Frag {
    /// Not a fragment.
    Whole,
    /// Offset 0 with More Fragments: carries the transport header.
    First,
    /// A nonzero offset: IP payload bytes only.
    Later,
}

/// What the checks learnt about the IPv4 packet at `l3`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Ip {
    /// Position in the datagram (only `Whole` unless fragments were allowed).
    pub frag: Frag,
    /// Header length.
    pub hl: usize,
    /// Total Length (the buffer may hold Ethernet padding after it).
    pub total: usize,
    pub ttl: u8,
    pub ident: u16,
    pub dont_frag: bool,
    pub proto: IpProtocol,
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
}

/// The IPv4 header of a mode's packet, checked once by the receiving stack and carried with
/// the packet, and the transport header the balancer checked when it did: neither is viewed
/// or checked again.
#[derive(Debug, Clone, Copy)]
pub(super) struct Head<'a> {
    /// The checked IPv4 header.
    pub meta: &'a Ipv4Meta,
    /// The checked transport header, if the caller checked it.
    pub l4: Option<L4>,
}

impl<'a> Head<'a> {
    /// A checked IPv4 header, with the transport header the caller checked (if any).
    pub fn new(meta: &'a Ipv4Meta, l4: Option<L4>) -> Self {
        Head { meta, l4 }
    }

    /// Offset of the IPv4 header in the frame.
    pub fn l3(&self) -> usize {
        self.meta.l3
    }
}

/// Checks the IPv4 header at `l3` of `data` ([`XmitError::Malformed`] unless `new_checked`
/// accepts it): for a header a mode changed (it needs a new [`Ipv4Meta`]) and for tests.
pub(super) fn parse_head(data: &[u8], l3: usize) -> Result<Ipv4Meta, XmitError> {
    Ipv4Meta::parse(data, l3).map_err(|_| XmitError::Malformed)
}

/// Checks the IPv4 header at `l3` and runs `step` with it: the unchecked entries tests use
/// (the data path hands the modes the header the stack checked).
#[cfg(test)]
pub(super) fn with_head<B: crate::buf::PacketBuf>(
    pkt: &mut B,
    l3: usize,
    step: impl FnOnce(&mut B, Head<'_>) -> Result<Xmit, XmitError>,
) -> Result<Xmit, XmitError> {
    let meta = parse_head(pkt.data(), l3)?;
    step(pkt, Head::new(&meta, None))
}

/// Views the IPv4 packet at `l3`: [`XmitError::Malformed`] unless `new_checked` accepts it,
/// [`XmitError::Fragment`] for any fragment.
pub(super) fn check_ipv4(data: &[u8], l3: usize) -> Result<Ip, XmitError> {
    check_ipv4_frag(data, Head::new(&parse_head(data, l3)?, None), false)
}

/// [`check_ipv4`] of `head` (taken as it is when the stack checked it), accepting fragments
/// when `fragments` (the caller follows the datagram).
pub(super) fn check_ipv4_frag(
    data: &[u8],
    head: Head<'_>,
    fragments: bool,
) -> Result<Ip, XmitError> {
    let _ = data;
    let m = head.meta;
    let frag = match (m.is_fragment(), m.frag_offset) {
        (false, _) => Frag::Whole,
        (true, 0) => Frag::First,
        (true, _) => Frag::Later,
    };
    if frag != Frag::Whole && !fragments {
        return Err(XmitError::Fragment);
    }
    Ok(Ip {
        frag,
        hl: m.header_len,
        total: m.total_len,
        ttl: m.ttl,
        ident: m.ident,
        dont_frag: m.dont_frag,
        proto: m.protocol,
        src: m.src_addr,
        dst: m.dst_addr,
    })
}

/// [`XmitError::TtlExpired`] when decrementing would leave the TTL at zero.
pub(super) fn check_ttl(ip: &Ip) -> Result<(), XmitError> {
    if ip.ttl <= 1 {
        return Err(XmitError::TtlExpired);
    }
    Ok(())
}

/// Checks that the packet plus `overhead` bytes of new outer headers fits `mtu`. Too big with
/// DF set: [`XmitError::FragNeeded`] with the MTU the sender should use (`mtu - overhead`),
/// unless that is below 68; otherwise [`XmitError::TooBig`].
pub(super) fn check_mtu(ip: &Ip, mtu: u16, overhead: usize) -> Result<(), XmitError> {
    if ip.total + overhead <= usize::from(mtu) {
        return Ok(());
    }
    let inner_mtu = usize::from(mtu).saturating_sub(overhead);
    match u16::try_from(inner_mtu) {
        Ok(m) if ip.dont_frag && m >= MIN_MTU => Err(XmitError::FragNeeded { mtu: m }),
        _ => Err(XmitError::TooBig),
    }
}

/// Checks that the packet carries `proto` with a whole transport header inside Total Length:
/// TCP (header and options), UDP (header, Length inside the IP payload), or an ICMP echo
/// request/reply when `allow_echo`. [`XmitError::Malformed`] otherwise.
pub(super) fn check_l4(
    data: &[u8],
    l3: usize,
    ip: &Ip,
    proto: IpProtocol,
    allow_echo: bool,
) -> Result<L4, XmitError> {
    if ip.proto != proto {
        return Err(XmitError::Malformed);
    }
    let payload = data.get(l3 + ip.hl..l3 + ip.total).ok_or(XmitError::Malformed)?;
    match proto {
        IpProtocol::TCP => {
            TcpPacket::new_checked(payload).map_err(|_| XmitError::Malformed)?;
            Ok(L4::Tcp)
        }
        // A first fragment holds the UDP header, not the datagram its Length counts.
        IpProtocol::UDP
            if ip.frag == Frag::First && payload.len() >= crate::wire::udp::HEADER_LEN =>
        {
            Ok(L4::Udp)
        }
        IpProtocol::UDP => {
            UdpPacket::new_checked(payload).map_err(|_| XmitError::Malformed)?;
            Ok(L4::Udp)
        }
        IpProtocol::ICMP if allow_echo => {
            let icmp = Icmpv4Packet::new_checked(payload).map_err(|_| XmitError::Malformed)?;
            match icmp.msg_type() {
                Message::EchoRequest => Ok(L4::Echo { request: true }),
                Message::EchoReply => Ok(L4::Echo { request: false }),
                _ => Err(XmitError::Malformed),
            }
        }
        _ => Err(XmitError::Malformed),
    }
}

/// Whether a rewritten packet's checksums may be left to the NIC: a whole TCP/UDP packet.
pub(super) fn offloadable(ip: &Ip, l4: Option<L4>) -> bool {
    ip.frag == Frag::Whole && matches!(l4, Some(L4::Tcp | L4::Udp))
}

/// [`check_l4`] for a packet that may be a fragment: a later fragment has no transport header
/// (`None`; only its protocol is checked).
/// A transport header `head` carries is taken as it is when it is what `proto` and
/// `allow_echo` ask for (the packet's protocol is still compared with `proto`).
pub(super) fn check_l4_frag(
    data: &[u8],
    head: Head<'_>,
    ip: &Ip,
    proto: IpProtocol,
    allow_echo: bool,
) -> Result<Option<L4>, XmitError> {
    if ip.frag == Frag::Later {
        return if ip.proto == proto { Ok(None) } else { Err(XmitError::Malformed) };
    }
    if let Some(l4) = head.l4 {
        let fits = match l4 {
            L4::Tcp => proto == IpProtocol::TCP,
            L4::Udp => proto == IpProtocol::UDP,
            L4::Echo { .. } => proto == IpProtocol::ICMP && allow_echo,
        };
        if fits && ip.proto == proto {
            return Ok(Some(l4));
        }
    }
    check_l4(data, head.l3(), ip, proto, allow_echo).map(Some)
}

/// [`nat`] when the transport header is there (`l4`), otherwise (a later fragment) the
/// IP-level part only: TTL and addresses, with the IPv4 header checksum. The transport
/// checksum, which covers the whole datagram, was updated in the first fragment.
pub(super) fn nat_or_ip(
    data: &mut [u8],
    l3: usize,
    ip: &Ip,
    l4: Option<L4>,
    new_src: Option<SocketAddrV4>,
    new_dst: Option<SocketAddrV4>,
) -> Checksummed {
    if let Some(l4) = l4 {
        return nat(data, l3, ip, l4, new_src, new_dst);
    }
    let Some(hdr) = data.get_mut(l3..l3 + ip.hl) else { return Checksummed(()) };
    if hdr.len() < crate::wire::ipv4::HEADER_LEN {
        return Checksummed(());
    }
    rewrite_ip_header(hdr, new_src, new_dst);
    Checksummed(())
}

/// Decrements the TTL and replaces the source and/or destination address and port, keeping
/// the IPv4 header checksum and the TCP/UDP checksum (pseudo-header included) right with
/// incremental updates. For an ICMP echo the identifier is the requester's port: a request
/// takes `new_src`'s port, a reply `new_dst`'s; the ICMP checksum covers no pseudo-header.
///
/// Each checksum is read and written once: the changes to its area (TTL and addresses for the
/// IPv4 header; addresses and ports for TCP/UDP) are folded into one RFC 1624 update
/// ([`checksum::Delta`]), which gives the same bytes as one update per field.
///
/// Only call after [`check_ipv4`] and [`check_l4`] accepted the same bytes.
pub(super) fn nat(
    data: &mut [u8],
    l3: usize,
    ip: &Ip,
    l4: L4,
    new_src: Option<SocketAddrV4>,
    new_dst: Option<SocketAddrV4>,
) -> Checksummed {
    let Some(bytes) = data.get_mut(l3..l3 + ip.total) else {
        return Checksummed(());
    };
    let (hdr, seg) = bytes.split_at_mut(ip.hl.min(bytes.len()));
    if hdr.len() < crate::wire::ipv4::HEADER_LEN {
        return Checksummed(());
    }
    rewrite_ip_header(hdr, new_src, new_dst);
    // The pseudo-header's part of the TCP/UDP change: the addresses.
    let mut pseudo = checksum::Delta::NONE;
    if let Some(s) = new_src {
        pseudo.addr(ip.src, *s.ip());
    }
    if let Some(d) = new_dst {
        pseudo.addr(ip.dst, *d.ip());
    }
    match l4 {
        L4::Tcp => {
            let Ok(mut t) = TcpPacket::new_checked(seg) else { return Checksummed(()) };
            let mut delta = pseudo;
            if let Some(s) = new_src {
                delta.u16(t.src_port(), s.port());
                t.set_src_port(s.port());
            }
            if let Some(d) = new_dst {
                delta.u16(t.dst_port(), d.port());
                t.set_dst_port(d.port());
            }
            let c = delta.apply(t.checksum());
            t.set_checksum(c);
        }
        L4::Udp => {
            // A first fragment: only the 8 header bytes are there (checked by `check_l4`);
            // the views below touch nothing else.
            let seg = if ip.frag == Frag::First { seg.get_mut(..8) } else { Some(seg) };
            let Some(seg) = seg else { return Checksummed(()) };
            let mut u = if ip.frag == Frag::First {
                UdpPacket::new_unchecked(seg)
            } else {
                let Ok(u) = UdpPacket::new_checked(seg) else { return Checksummed(()) };
                u
            };
            let mut delta = pseudo;
            if let Some(s) = new_src {
                delta.u16(u.src_port(), s.port());
                u.set_src_port(s.port());
            }
            if let Some(d) = new_dst {
                delta.u16(u.dst_port(), d.port());
                u.set_dst_port(d.port());
            }
            // Zero means the sender sent no checksum: it stays zero. A computed zero is sent
            // as its other form, 0xffff (RFC 768).
            let old = u.checksum();
            if old != 0 {
                let c = delta.apply(old);
                u.set_checksum(if c == 0 { 0xffff } else { c });
            }
        }
        L4::Echo { request } => {
            let Ok(mut e) = Icmpv4Packet::new_checked(seg) else { return Checksummed(()) };
            let ident = if request { new_src } else { new_dst }.map(|a| a.port());
            if let Some(id) = ident {
                let c = crate::wire::checksum::update_u16(e.checksum(), e.echo_ident(), id);
                e.set_echo_ident(id);
                e.set_checksum(c);
            }
        }
    }
    Checksummed(())
}

/// Decrements the TTL of the IPv4 header `hdr` (at least 20 bytes) and replaces the
/// addresses given, with one incremental update of its checksum for all of them.
fn rewrite_ip_header(hdr: &mut [u8], new_src: Option<SocketAddrV4>, new_dst: Option<SocketAddrV4>) {
    let mut iph = Ipv4Packet::new_unchecked(hdr);
    let mut delta = checksum::Delta::NONE;
    let ttl = iph.ttl();
    let new_ttl = ttl.saturating_sub(1);
    let proto = u8::from(iph.protocol());
    delta.u16(u16::from_be_bytes([ttl, proto]), u16::from_be_bytes([new_ttl, proto]));
    iph.set_ttl(new_ttl);
    if let Some(s) = new_src {
        delta.addr(iph.src_addr(), *s.ip());
        iph.set_src_addr(*s.ip());
    }
    if let Some(d) = new_dst {
        delta.addr(iph.dst_addr(), *d.ip());
        iph.set_dst_addr(*d.ip());
    }
    let c = delta.apply(iph.checksum());
    iph.set_checksum(c);
}

/// Decrements the TTL of the IPv4 header at `l3` (header checksum updated incrementally).
/// Only call after [`check_ipv4`] accepted the same bytes.
pub(super) fn decrement_ttl(data: &mut [u8], l3: usize, ip: &Ip) -> Checksummed {
    if let Some(hdr) = data.get_mut(l3..l3 + ip.hl) {
        Ipv4Packet::new_unchecked(hdr).decrement_ttl();
    }
    Checksummed(())
}

/// Finishes a tunnelled packet whose outer headers (IPv4, checksummed by their `emit`) start
/// `data`: decrements the inner TTL (the inner IPv4 header sits at `inner`, `inner_hl` long),
/// and with `gue_csum` (outer source, destination) computes the outer UDP checksum, last, over
/// the finished inner packet.
pub(super) fn finish_tunnel(
    data: &mut [u8],
    inner: usize,
    inner_hl: usize,
    gue_csum: Option<(Ipv4Addr, Ipv4Addr)>,
) -> Checksummed {
    if let Some(hdr) = data.get_mut(inner..inner + inner_hl) {
        Ipv4Packet::new_unchecked(hdr).decrement_ttl();
    }
    if let Some((src, dst)) = gue_csum {
        if let Some(seg) = data.get_mut(crate::wire::ipv4::HEADER_LEN..) {
            if let Ok(mut u) = UdpPacket::new_checked(seg) {
                u.fill_checksum_v4(src, dst);
            }
        }
    }
    Checksummed(())
}

/// Computes the checksum of the ICMP message `msg` afresh (after a translation changed what it
/// quotes).
pub(super) fn fill_icmp_checksum(msg: &mut [u8]) -> Checksummed {
    if let Ok(mut m) = Icmpv4Packet::new_checked(msg) {
        m.fill_checksum();
    }
    Checksummed(())
}
