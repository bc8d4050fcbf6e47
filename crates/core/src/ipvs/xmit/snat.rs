//! SNAT (source NAT of outbound traffic through a local address): hosts behind the director
//! reach outside servers from the director's WAN address.
//!
//! The context's roles: `client` is the inside host and its port, `vip` and `dest` are the
//! outside server, `local` the WAN address and port standing in for the host.
//!
//! - `In` (host:hport -> server): source becomes `local`; destination unchanged; `route_to` is
//!   the server.
//! - `Out` (server -> wan:wport): destination becomes host:hport; `route_to` is the host.
//!
//! TCP, UDP and ICMP echo. For echo the identifier plays the port: a request `In` gets the
//! `local` port as identifier, a reply `Out` gets the host's (`client`) port back; a key for
//! an echo conn therefore uses the identifier as both ports. An echo reply `In` or request
//! `Out` is [`XmitError::Malformed`]. Checksums incremental, TTL decremented, MTU checked.

use super::rewrite::{self, Head, L4};
use super::{Direction, Xmit, XmitCtx, XmitError};
use crate::buf::PacketBuf;
use crate::wire::IpProtocol;

/// Rewrites one SNAT packet in place; see the module doc. On error the buffer is unchanged.
/// `ctx.local` is required ([`XmitError::Malformed`] without it).
#[cfg(test)]
pub(crate) fn xmit<B: PacketBuf>(pkt: &mut B, l3: usize, ctx: &XmitCtx) -> Result<Xmit, XmitError> {
    rewrite::with_head(pkt, l3, |p, h| run(p, h, ctx, false))
}

/// [`xmit`], taking fragments too when `fragments` (see [`super::forward_fragment`]).
pub(super) fn run<B: PacketBuf>(
    pkt: &mut B,
    head: Head<'_>,
    ctx: &XmitCtx,
    fragments: bool,
) -> Result<Xmit, XmitError> {
    if !matches!(ctx.proto, IpProtocol::TCP | IpProtocol::UDP | IpProtocol::ICMP) {
        return Err(XmitError::Malformed);
    }
    let local = ctx.local.ok_or(XmitError::Malformed)?;
    let ip = rewrite::check_ipv4_frag(pkt.data(), head, fragments)?;
    let l3 = head.l3();
    let l4 = rewrite::check_l4_frag(pkt.data(), head, &ip, ctx.proto, true)?;
    match (l4, ctx.dir) {
        (Some(L4::Echo { request: false }), Direction::In)
        | (Some(L4::Echo { request: true }), Direction::Out) => return Err(XmitError::Malformed),
        _ => {}
    }
    rewrite::check_ttl(&ip)?;
    rewrite::check_mtu(&ip, ctx.mtu, 0)?;
    let tx_csum = rewrite::offloadable(&ip, l4);
    match ctx.dir {
        Direction::In => {
            let done = rewrite::nat_or_ip(pkt.data_mut(), l3, &ip, l4, Some(local), None);
            Ok(done.xmit(ip.dst, false, tx_csum))
        }
        Direction::Out => {
            let done = rewrite::nat_or_ip(pkt.data_mut(), l3, &ip, l4, None, Some(ctx.client));
            Ok(done.xmit(*ctx.client.ip(), false, tx_csum))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buf::VecBuf;
    use crate::ipvs::xmit::testutil::*;
    use proptest::prelude::*;
    use std::net::SocketAddrV4;

    fn host() -> SocketAddrV4 {
        sa([192, 168, 1, 50], 51000)
    }
    fn server() -> SocketAddrV4 {
        sa([93, 184, 216, 34], 443)
    }
    fn wan() -> SocketAddrV4 {
        sa([203, 0, 113, 1], 20480)
    }
    fn snat_ctx(dir: Direction, proto: u8) -> XmitCtx {
        XmitCtx {
            client: host(),
            vip: server(),
            dest: server(),
            local: Some(wan()),
            tun: None,
            ..ctx(dir, proto)
        }
    }

    fn check(spec: &Spec, dir: Direction, src: SocketAddrV4, dst: SocketAddrV4) {
        let before = seen(&spec.ip());
        let mut b = VecBuf::from_slice(&spec.frame());
        let r = xmit(&mut b, L3, &snat_ctx(dir, spec.proto));
        assert_eq!(
            r,
            Ok(Xmit {
                route_to: *dst.ip(),
                toa_inserted: false,
                tx_csum: spec.proto != 1,
                checksummed: Checksummed::EXPECTED
            })
        );
        let ip = &b.data()[L3..];
        assert_checksums(ip);
        assert_eq!(seen(ip), Seen { src, dst, ttl: before.ttl - 1, ..before });
    }

    #[test]
    fn tcp_connection_both_ways() {
        let (h, s, w) = (host(), server(), wan());
        check(&Spec::tcp(h, s, SYN, &[]), Direction::In, w, s);
        check(&Spec::tcp(s, w, SYN | ACK, &[]), Direction::Out, s, h);
        check(&Spec::tcp(h, s, PSH | ACK, b"\x16\x03\x01hello"), Direction::In, w, s);
        check(&Spec::tcp(s, w, PSH | ACK, b"\x16\x03\x03server"), Direction::Out, s, h);
        check(&Spec::tcp(h, s, FIN | ACK, &[]), Direction::In, w, s);
        check(&Spec::tcp(s, w, FIN | ACK, &[]), Direction::Out, s, h);
    }

    #[test]
    fn udp_both_ways() {
        let (h, s, w) = (host(), server(), wan());
        check(&Spec::udp(h, s, b"dns?"), Direction::In, w, s);
        check(&Spec::udp(s, w, b"dns!"), Direction::Out, s, h);
    }

    #[test]
    fn icmp_echo_identifier_is_translated() {
        // The echo "ports" are the identifier: host's 51000 outside becomes wan's 20480.
        let (h, s, w) = (host(), server(), wan());
        let req = Spec::echo(h, sa(s.ip().octets(), h.port()), true, b"ping data 123");
        check(&req, Direction::In, w, sa(s.ip().octets(), w.port()));
        let mut b = VecBuf::from_slice(&req.frame());
        xmit(&mut b, L3, &snat_ctx(Direction::In, 1)).unwrap();
        assert_eq!(&b.data()[L3 + 24..L3 + 26], &w.port().to_be_bytes(), "identifier");
        assert_eq!(b.data()[L3 + 20], 8, "still a request");

        let reply = Spec::echo(sa(s.ip().octets(), w.port()), w, false, b"ping data 123");
        check(&reply, Direction::Out, sa(s.ip().octets(), h.port()), h);

        // Request/reply in the wrong direction, and other ICMP, are refused.
        for (spec, dir) in [(reply.clone(), Direction::In), (req.clone(), Direction::Out)] {
            let f = spec.frame();
            let mut b = VecBuf::from_slice(&f);
            assert_eq!(xmit(&mut b, L3, &snat_ctx(dir, 1)), Err(XmitError::Malformed));
            assert_eq!(b.data(), &f[..]);
        }
        let mut f = req.frame();
        f[L3 + 20] = 13; // timestamp request
        fill_l4_csum(&mut f[L3..]);
        let mut b = VecBuf::from_slice(&f);
        assert_eq!(xmit(&mut b, L3, &snat_ctx(Direction::In, 1)), Err(XmitError::Malformed));
        assert_eq!(b.data(), &f[..]);
    }

    proptest! {
        #[test]
        fn any_tuple_keeps_checksums_right(
            h in any::<([u8; 4], u16)>(), s in any::<([u8; 4], u16)>(), w in any::<([u8; 4], u16)>(),
            payload in proptest::collection::vec(any::<u8>(), 0..64), proto in 0usize..3,
            out in any::<bool>(),
        ) {
            let (h, s, w) = (sa(h.0, h.1), sa(s.0, s.1), sa(w.0, w.1));
            let (from, to) = if out { (s, w) } else { (h, s) };
            let spec = match proto {
                0 => Spec::tcp(from, to, ACK, &payload),
                1 => Spec::udp(from, to, &payload),
                _ if out => Spec::echo(from, to, false, &payload),
                _ => Spec::echo(from, to, true, &payload),
            };
            let dir = if out { Direction::Out } else { Direction::In };
            let cx = XmitCtx { client: h, vip: s, dest: s, local: Some(w), ..ctx(dir, spec.proto) };
            let mut b = VecBuf::from_slice(&spec.frame());
            let x = xmit(&mut b, L3, &cx).unwrap();
            let ip = &b.data()[L3..];
            assert_checksums(ip);
            let sn = seen(ip);
            if out {
                prop_assert_eq!((sn.src.ip(), sn.dst, x.route_to), (s.ip(), h, *h.ip()));
            } else {
                prop_assert_eq!((sn.src, sn.dst.ip(), x.route_to), (w, s.ip(), *s.ip()));
            }
        }
    }
}
