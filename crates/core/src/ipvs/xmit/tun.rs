//! TUN (IP tunnelling, ipvsadm `-i`): the request is wrapped whole in an outer IPv4 header from
//! the director to the real server, which decapsulates it and answers the client directly (so
//! `Out` is [`XmitError::WrongDirection`]). `route_to` is the real server.
//!
//! Encapsulations (`ctx.tun`, with the director's source address):
//! - IP-in-IP (RFC 2003): outer header protocol 4, TOS and DF copied from the inner header,
//!   TTL [`OUTER_TTL`]. The inner packet's own TTL is decremented like in every mode.
//! - GUE: outer IPv4 (as above, protocol 17), UDP to the dest's tunnel port, then a GUE
//!   variant 0 header (4 bytes: version 0, no control bit, Hlen 0, Proto 4, no flags) and the
//!   inner packet. Variant 0 is what a Linux receiver with `ip fou add port N gue` decapsulates
//!   on every kernel with GUE (it hands the payload to the IPv4-in-IPv4 handler, so a `tunl0`
//!   or ipip device receives it); direct variant 1 is only accepted by newer kernels. The UDP
//!   source port is taken from a hash of the inner flow (addresses, protocol, ports) in
//!   49152..=65535 so that a receiver spreading UDP flows over queues (RSS) spreads tunnelled
//!   flows too. The outer UDP checksum is zero for [`TunCsum::NoCsum`] and computed for
//!   [`TunCsum::Csum`]; [`TunCsum::RemCsum`] is sent as `Csum` (remote checksum offload only
//!   pays for packets whose inner checksum is left to hardware, and ours are complete).
//!
//! The outer Identification is the inner one mixed with the flow hash (no per-packet counter,
//! which would be shared state). When the encapsulated packet passes `ctx.mtu`:
//! [`XmitError::FragNeeded`] with `mtu - overhead` if the inner packet has DF set (the caller
//! answers the client with ICMP fragmentation needed), [`XmitError::TooBig`] otherwise (the
//! director does not fragment). Without [`ENCAP_HEADROOM`]-worth of headroom in front of the
//! frame: [`XmitError::NoRoom`]. The Ethernet header bytes (up to [`MAX_L2_LEN`]) move in
//! front of the outer header, Ethernet padding is dropped.

use super::rewrite::{self, Head};
use super::{Direction, TunCsum, TunEncap, Xmit, XmitCtx, XmitError};
use crate::buf::PacketBuf;
use crate::wire::ipip::{self, Outer};
use crate::wire::{gue, tuple, udp, IpProtocol};

/// TTL of the outer header.
pub const OUTER_TTL: u8 = 64;
/// Bytes added by IP-in-IP.
pub const IPIP_OVERHEAD: usize = ipip::OUTER_LEN;
/// Bytes added by GUE: outer IPv4, UDP, the 4-byte GUE header.
pub const GUE_OVERHEAD: usize = ipip::OUTER_LEN + udp::HEADER_LEN + gue::HEADER_LEN;
/// Headroom the largest encapsulation needs in front of the frame.
pub const ENCAP_HEADROOM: usize = GUE_OVERHEAD;
/// Longest L2 header (Ethernet with two VLAN tags, with room to spare) carried in front.
pub const MAX_L2_LEN: usize = 64;

/// Encapsulates one TUN packet; see the module doc. On error the buffer is unchanged.
/// `ctx.tun` is required ([`XmitError::Malformed`] without it).
#[cfg(test)]
pub(crate) fn xmit<B: PacketBuf>(pkt: &mut B, l3: usize, ctx: &XmitCtx) -> Result<Xmit, XmitError> {
    rewrite::with_head(pkt, l3, |p, h| run(p, h, ctx, false))
}

/// [`xmit`], taking fragments too when `fragments` (see [`super::forward_fragment`]): a
/// fragment is encapsulated as it is.
pub(super) fn run<B: PacketBuf>(
    pkt: &mut B,
    head: Head<'_>,
    ctx: &XmitCtx,
    fragments: bool,
) -> Result<Xmit, XmitError> {
    if ctx.dir != Direction::In {
        return Err(XmitError::WrongDirection);
    }
    let (encap, director) = ctx.tun.ok_or(XmitError::Malformed)?;
    let l3 = head.l3();
    if l3 > MAX_L2_LEN {
        return Err(XmitError::Malformed);
    }
    let ip = rewrite::check_ipv4_frag(pkt.data(), head, fragments)?;
    rewrite::check_ttl(&ip)?;
    let overhead = match encap {
        TunEncap::Ipip => IPIP_OVERHEAD,
        TunEncap::Gue { .. } => GUE_OVERHEAD,
    };
    rewrite::check_mtu(&ip, ctx.mtu, overhead)?;
    if ip.total + overhead > usize::from(u16::MAX) {
        return Err(XmitError::TooBig);
    }
    if pkt.headroom() < overhead {
        return Err(XmitError::NoRoom);
    }

    let hash = flow_hash(pkt.data(), l3, &ip);
    let outer = Outer {
        src: director,
        dst: *ctx.dest.ip(),
        ttl: OUTER_TTL,
        ident: ip.ident ^ (hash as u16),
    };
    let mut l2 = [0u8; MAX_L2_LEN];
    if let (Some(save), Some(frame)) = (l2.get_mut(..l3), pkt.data().get(..l3)) {
        save.copy_from_slice(frame);
    }
    pkt.adj(l3).map_err(|_| XmitError::Malformed)?;
    let done = match encap {
        TunEncap::Ipip => ipip::encapsulate(pkt, &outer),
        TunEncap::Gue { port, .. } => {
            let repr = gue::Repr::Data { protocol: IpProtocol::IPIP };
            gue::encapsulate(pkt, &outer, gue_source_port(hash), port, &repr)
        }
    };
    if done.is_err() {
        // Unchanged by the failed encapsulation: give the L2 header back.
        let _ = pkt.prepend(l3);
        return Err(XmitError::NoRoom);
    }

    let gue_csum = match encap {
        TunEncap::Gue { csum: TunCsum::Csum | TunCsum::RemCsum, .. } => {
            Some((director, *ctx.dest.ip()))
        }
        _ => None,
    };
    let done = rewrite::finish_tunnel(pkt.data_mut(), overhead, ip.hl, gue_csum);
    if let (Ok(front), Some(saved)) = (pkt.prepend(l3), l2.get(..l3)) {
        front.copy_from_slice(saved);
    }
    Ok(done.xmit(*ctx.dest.ip(), false, false))
}

/// A hash of the inner flow: addresses, protocol and, for unfragmented TCP/UDP, the ports.
fn flow_hash(data: &[u8], l3: usize, ip: &rewrite::Ip) -> u32 {
    let ports = match ip.proto {
        // Every fragment of a datagram hashes alike: on addresses and protocol only.
        _ if ip.frag != rewrite::Frag::Whole => 0,
        IpProtocol::TCP | IpProtocol::UDP => data
            .get(l3 + ip.hl..)
            .and_then(tuple::ports)
            .map_or(0, |(s, d)| (u32::from(s) << 16) | u32::from(d)),
        _ => 0,
    };
    let addrs = (u64::from(u32::from(ip.src)) << 32) | u64::from(u32::from(ip.dst));
    let rest = (u64::from(ports) << 8) | u64::from(ip.proto.number());
    let h = (addrs ^ 0x9e37_79b9_7f4a_7c15).wrapping_mul(0xbf58_476d_1ce4_e5b9)
        ^ (rest ^ 0xd6e8_feb8_6659_fd93).wrapping_mul(0x94d0_49bb_1331_11eb);
    let h = h ^ (h >> 29);
    (h ^ (h >> 32)) as u32
}

/// The outer UDP source port for a flow hash: in the dynamic range 49152..=65535.
fn gue_source_port(hash: u32) -> u16 {
    49152 | (hash as u16 & 0x3fff)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buf::VecBuf;
    use crate::ipvs::xmit::testutil::*;

    /// Encapsulates `spec` with `cx` and checks the outer headers field by field; returns the
    /// outer packet (from the outer IPv4 header on).
    fn check(spec: &Spec, cx: &XmitCtx) -> Vec<u8> {
        let f = spec.frame();
        let inner_before = spec.ip();
        let mut b = VecBuf::from_slice(&f);
        let r = xmit(&mut b, L3, cx);
        assert_eq!(
            r,
            Ok(Xmit {
                route_to: *rs().ip(),
                toa_inserted: false,
                tx_csum: false,
                checksummed: Checksummed::EXPECTED
            })
        );
        let d = b.data();
        assert_eq!(&d[..L3], &f[..L3], "L2 header moved in front");
        let outer = &d[L3..];
        let gue = matches!(cx.tun, Some((TunEncap::Gue { .. }, _)));
        let oh = if gue { 32 } else { 20 };
        assert_eq!(outer.len(), oh + inner_before.len());
        // Outer IPv4, RFC 791 layout.
        assert_eq!(outer[0], 0x45);
        assert_eq!(outer[1], spec.tos, "TOS copied");
        assert_eq!(usize::from(u16::from_be_bytes([outer[2], outer[3]])), outer.len());
        assert_eq!(outer[6] & 0x40 != 0, spec.df, "DF copied");
        assert_eq!(outer[6] & 0x3f, 0);
        assert_eq!(outer[7], 0);
        assert_eq!(outer[8], 64, "outer TTL");
        assert_eq!(outer[9], if gue { 17 } else { 4 });
        assert_eq!(&outer[12..16], &DIRECTOR);
        assert_eq!(&outer[16..20], &RS.0);
        assert_eq!(u16::from_be_bytes([outer[10], outer[11]]), naive_csum(&[], &outer[..20], 10));
        // Inner: the original but for TTL - 1.
        let inner = &outer[oh..];
        assert_checksums(inner);
        assert_eq!(seen(inner), Seen { ttl: spec.ttl - 1, ..seen(&inner_before) });
        assert_eq!(&inner[20..], &inner_before[20..]);
        outer.to_vec()
    }

    fn gue_udp(outer: &[u8]) -> (u16, u16, u16, u16) {
        let u = &outer[20..28];
        let w = |i: usize| u16::from_be_bytes([u[i], u[i + 1]]);
        (w(0), w(2), w(4), w(6))
    }

    #[test]
    fn ipip_carries_every_kind_of_request() {
        let (c, v) = (client(), vip());
        let cx = ctx(Direction::In, 6);
        check(&Spec::tcp(c, v, SYN, &[]), &cx);
        check(&Spec::tcp(c, v, ACK, &[]), &cx);
        check(&Spec::tcp(c, v, PSH | ACK, b"GET / HTTP/1.1\r\n\r\n"), &cx);
        check(&Spec::tcp(c, v, FIN | ACK, &[]), &cx);
        check(&Spec::udp(c, v, b"query"), &ctx(Direction::In, 17));
    }

    #[test]
    fn gue_without_checksum() {
        let spec = Spec::tcp(client(), vip(), PSH | ACK, b"payload");
        let outer = check(&spec, &gue_ctx(5555, TunCsum::NoCsum));
        let (sport, dport, len, csum) = gue_udp(&outer);
        assert!(sport >= 49152);
        assert_eq!(dport, 5555);
        assert_eq!(usize::from(len), outer.len() - 20);
        assert_eq!(csum, 0);
        assert_eq!(&outer[28..32], &[0x00, 0x04, 0x00, 0x00], "GUE variant 0, proto IPv4");
        // The same flow always gets the same source port; another flow (most likely) not.
        let again = check(&Spec::tcp(client(), vip(), ACK, &[]), &gue_ctx(5555, TunCsum::NoCsum));
        assert_eq!(gue_udp(&again).0, sport);
        let other = Spec::tcp(sa(CLIENT.0, 40002), vip(), ACK, &[]);
        let other = check(&other, &gue_ctx(5555, TunCsum::NoCsum));
        assert_ne!(gue_udp(&other).0, sport);
    }

    #[test]
    fn gue_with_checksum() {
        for csum in [TunCsum::Csum, TunCsum::RemCsum] {
            let spec = Spec::udp(client(), vip(), b"odd-length!");
            let outer = check(&spec, &gue_ctx(6080, csum));
            let (_, _, _, got) = gue_udp(&outer);
            let mut pseudo = Vec::new();
            pseudo.extend_from_slice(&DIRECTOR);
            pseudo.extend_from_slice(&RS.0);
            pseudo.extend_from_slice(&[0, 17]);
            pseudo.extend_from_slice(&((outer.len() - 20) as u16).to_be_bytes());
            let want = naive_csum(&pseudo, &outer[20..], 6);
            assert_eq!(got, if want == 0 { 0xffff } else { want });
        }
    }

    #[test]
    fn padding_is_dropped() {
        let spec = Spec::tcp(client(), vip(), SYN, &[]);
        let mut f = spec.frame();
        f.extend_from_slice(&[0xaa; 6]);
        let mut b = VecBuf::from_slice(&f);
        xmit(&mut b, L3, &ctx(Direction::In, 6)).unwrap();
        assert_eq!(b.len(), L3 + 20 + 40);
    }

    #[test]
    fn frag_needed_with_df_and_too_big_without() {
        // 1480-byte inner packet: fits 1500 alone, not with 20 bytes of IPIP.
        let spec = Spec::tcp(client(), vip(), ACK, &[0; 1440]);
        let f = spec.frame();
        let mut b = VecBuf::from_slice(&f);
        assert_eq!(
            xmit(&mut b, L3, &ctx(Direction::In, 6)),
            Ok(Xmit {
                route_to: *rs().ip(),
                toa_inserted: false,
                tx_csum: false,
                checksummed: Checksummed::EXPECTED
            })
        );
        let spec = Spec::tcp(client(), vip(), ACK, &[0; 1461]);
        let f = spec.frame();
        let mut b = VecBuf::from_slice(&f);
        assert_eq!(
            xmit(&mut b, L3, &ctx(Direction::In, 6)),
            Err(XmitError::FragNeeded { mtu: 1480 })
        );
        assert_eq!(b.data(), &f[..]);
        let mut b = VecBuf::from_slice(&f);
        let r = xmit(&mut b, L3, &gue_ctx(5555, TunCsum::NoCsum));
        assert_eq!(r, Err(XmitError::FragNeeded { mtu: 1468 }));
        assert_eq!(b.data(), &f[..]);
        let f = Spec { df: false, ..spec }.frame();
        let mut b = VecBuf::from_slice(&f);
        assert_eq!(xmit(&mut b, L3, &ctx(Direction::In, 6)), Err(XmitError::TooBig));
        assert_eq!(b.data(), &f[..]);
    }

    #[test]
    fn refusals_leave_the_packet_unchanged() {
        let f = Spec::tcp(client(), vip(), SYN, &[]).frame();
        let mut b = VecBuf::from_slice(&f);
        assert_eq!(xmit(&mut b, L3, &ctx(Direction::Out, 6)), Err(XmitError::WrongDirection));
        assert_eq!(b.data(), &f[..]);

        let mut small = VecBuf::with_capacity(19, 200);
        small.append(f.len()).unwrap().copy_from_slice(&f);
        let before = small.clone();
        assert_eq!(xmit(&mut small, L3, &ctx(Direction::In, 6)), Err(XmitError::NoRoom));
        assert_eq!(small, before);

        let mut b = VecBuf::from_slice(&f);
        let cx = XmitCtx { tun: None, ..ctx(Direction::In, 6) };
        assert_eq!(xmit(&mut b, L3, &cx), Err(XmitError::Malformed));
        assert_eq!(b.data(), &f[..]);

        let f = Spec { ttl: 1, ..Spec::tcp(client(), vip(), SYN, &[]) }.frame();
        let mut b = VecBuf::from_slice(&f);
        assert_eq!(xmit(&mut b, L3, &ctx(Direction::In, 6)), Err(XmitError::TtlExpired));
        assert_eq!(b.data(), &f[..]);
    }

    #[test]
    fn exactly_enough_headroom_is_enough() {
        let f = Spec::tcp(client(), vip(), SYN, &[]).frame();
        let mut b = VecBuf::with_capacity(20, 200);
        b.append(f.len()).unwrap().copy_from_slice(&f);
        xmit(&mut b, L3, &ctx(Direction::In, 6)).unwrap();
        assert_eq!(b.headroom(), 0);
        assert_eq!(&b.data()[..L3], &f[..L3]);
    }
}
