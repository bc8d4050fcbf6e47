//! NAT (masquerading, ipvsadm `-m`): the director rewrites the destination of requests to the
//! real server and the source of replies back to the virtual service.
//!
//! - `In` (client -> VIP:vport): destination becomes RS:port (the ports may differ);
//!   `route_to` is the real server.
//! - `Out` (RS:port -> client): source becomes VIP:vport; `route_to` is the client.
//!
//! TCP and UDP only. The TTL is decremented, the IPv4 header and TCP/UDP checksums are updated
//! incrementally (the TCP/UDP pseudo-header includes the rewritten address). Nothing else of
//! the packet changes.

use super::rewrite::{self, Head};
use super::{Direction, Xmit, XmitCtx, XmitError};
use crate::buf::PacketBuf;
use crate::wire::IpProtocol;

/// Rewrites one NAT packet in place; see the module doc. On error the buffer is unchanged.
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
    if !matches!(ctx.proto, IpProtocol::TCP | IpProtocol::UDP) {
        return Err(XmitError::Malformed);
    }
    let ip = rewrite::check_ipv4_frag(pkt.data(), head, fragments)?;
    let l3 = head.l3();
    let l4 = rewrite::check_l4_frag(pkt.data(), head, &ip, ctx.proto, false)?;
    rewrite::check_ttl(&ip)?;
    rewrite::check_mtu(&ip, ctx.mtu, 0)?;
    let (src, dst, route_to) = match ctx.dir {
        Direction::In => (None, Some(ctx.dest), *ctx.dest.ip()),
        Direction::Out => (Some(ctx.vip), None, *ctx.client.ip()),
    };
    let done = rewrite::nat_or_ip(pkt.data_mut(), l3, &ip, l4, src, dst);
    Ok(done.xmit(route_to, false, rewrite::offloadable(&ip, l4)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buf::VecBuf;
    use crate::ipvs::xmit::testutil::*;
    use proptest::prelude::*;

    fn run(spec: &Spec, dir: Direction) -> (Result<Xmit, XmitError>, VecBuf) {
        let mut b = VecBuf::from_slice(&spec.frame());
        let r = xmit(&mut b, L3, &ctx(dir, spec.proto));
        (r, b)
    }

    /// Sends `spec` in `dir` and checks that exactly source/destination changed to `src`/`dst`.
    fn check(
        spec: &Spec,
        dir: Direction,
        src: std::net::SocketAddrV4,
        dst: std::net::SocketAddrV4,
    ) {
        let before = seen(&spec.ip());
        let (r, b) = run(spec, dir);
        let want_route = *dst.ip();
        assert_eq!(
            r,
            Ok(Xmit {
                route_to: want_route,
                toa_inserted: false,
                tx_csum: true,
                checksummed: Checksummed::EXPECTED
            })
        );
        let ip = &b.data()[L3..];
        assert_checksums(ip);
        let after = seen(ip);
        assert_eq!(after.src, src);
        assert_eq!(after.dst, dst);
        assert_eq!(after.ttl, before.ttl - 1);
        assert_eq!(
            Seen { src, dst, ttl: before.ttl - 1, ..before.clone() },
            after,
            "nothing else changes"
        );
        assert_eq!(&b.data()[..L3], &spec.frame()[..L3], "L2 bytes untouched");
    }

    #[test]
    fn tcp_handshake_data_and_fin_both_ways() {
        let (c, v, r) = (client(), vip(), rs());
        check(&Spec::tcp(c, v, SYN, &[]), Direction::In, c, r);
        check(&Spec::tcp(r, c, SYN | ACK, &[]), Direction::Out, v, c);
        check(&Spec::tcp(c, v, ACK, &[]), Direction::In, c, r);
        check(&Spec::tcp(c, v, PSH | ACK, b"GET / HTTP/1.0\r\n\r\n"), Direction::In, c, r);
        check(&Spec::tcp(r, c, PSH | ACK, b"HTTP/1.0 200 OK\r\n\r\nhello!!"), Direction::Out, v, c);
        check(&Spec::tcp(c, v, FIN | ACK, &[]), Direction::In, c, r);
        check(&Spec::tcp(r, c, FIN | ACK, &[]), Direction::Out, v, c);
    }

    #[test]
    fn udp_both_ways_with_and_without_checksum() {
        let (c, v, r) = (client(), vip(), rs());
        check(&Spec::udp(c, v, b"query"), Direction::In, c, r);
        check(&Spec::udp(r, c, b"answer!"), Direction::Out, v, c);
        let nocsum = Spec { udp_csum: false, ..Spec::udp(c, v, b"odd") };
        check(&nocsum, Direction::In, c, r);
        let (_, b) = run(&nocsum, Direction::In);
        let ip = &b.data()[L3..];
        assert_eq!(&ip[26..28], &[0, 0], "a zero UDP checksum stays zero");
    }

    #[test]
    fn ethernet_padding_is_kept_out_of_the_checks() {
        let spec = Spec::tcp(client(), vip(), SYN, &[]);
        let mut f = spec.frame();
        f.extend_from_slice(&[0; 6]);
        let mut b = VecBuf::from_slice(&f);
        assert!(xmit(&mut b, L3, &ctx(Direction::In, 6)).is_ok());
        let ip = &b.data()[L3..L3 + 40];
        assert_checksums(ip);
        assert_eq!(seen(ip).dst, rs());
    }

    #[test]
    fn refusals_leave_the_packet_unchanged() {
        let cases: Vec<(Spec, u8, u16, XmitError)> = vec![
            (
                Spec { ttl: 1, ..Spec::tcp(client(), vip(), SYN, &[]) },
                6,
                1500,
                XmitError::TtlExpired,
            ),
            (Spec { ttl: 0, ..Spec::udp(client(), vip(), b"x") }, 17, 1500, XmitError::TtlExpired),
            (
                Spec::tcp(client(), vip(), ACK, &[0; 100]),
                6,
                139,
                XmitError::FragNeeded { mtu: 139 },
            ),
            (Spec::udp(client(), vip(), &[0; 100]), 17, 127, XmitError::TooBig),
            (Spec::udp(client(), vip(), b"x"), 6, 1500, XmitError::Malformed),
            (Spec::echo(client(), vip(), true, b"x"), 1, 1500, XmitError::Malformed),
        ];
        for (spec, proto, mtu, err) in cases {
            let f = spec.frame();
            let mut b = VecBuf::from_slice(&f);
            let c = XmitCtx { mtu, ..ctx(Direction::In, proto) };
            assert_eq!(xmit(&mut b, L3, &c), Err(err), "{spec:?}");
            assert_eq!(b.data(), &f[..]);
        }
        // A fragment.
        let mut f = Spec::udp(client(), vip(), b"x").frame();
        f[L3 + 6] = 0x20; // MF
        fill_ip_csum(&mut f[L3..]);
        let mut b = VecBuf::from_slice(&f);
        assert_eq!(xmit(&mut b, L3, &ctx(Direction::In, 17)), Err(XmitError::Fragment));
        assert_eq!(b.data(), &f[..]);
        // Truncated transport header.
        let mut f = Spec::tcp(client(), vip(), SYN, &[]).frame();
        f.truncate(L3 + 30);
        f[L3 + 3] = 30;
        fill_ip_csum(&mut f[L3..]);
        let mut b = VecBuf::from_slice(&f);
        assert_eq!(xmit(&mut b, L3, &ctx(Direction::In, 6)), Err(XmitError::Malformed));
        assert_eq!(b.data(), &f[..]);
    }

    proptest! {
        #[test]
        fn any_ports_and_addresses_keep_checksums_right(
            c in any::<([u8; 4], u16)>(), v in any::<([u8; 4], u16)>(), r in any::<([u8; 4], u16)>(),
            payload in proptest::collection::vec(any::<u8>(), 0..64), udp in any::<bool>(),
            out in any::<bool>(),
        ) {
            let (c, v, r) = (sa(c.0, c.1), sa(v.0, v.1), sa(r.0, r.1));
            let spec = match (udp, out) {
                (false, false) => Spec::tcp(c, v, ACK, &payload),
                (false, true) => Spec::tcp(r, c, ACK, &payload),
                (true, false) => Spec::udp(c, v, &payload),
                (true, true) => Spec::udp(r, c, &payload),
            };
            let dir = if out { Direction::Out } else { Direction::In };
            let cx = XmitCtx { client: c, vip: v, dest: r, ..ctx(dir, spec.proto) };
            let mut b = VecBuf::from_slice(&spec.frame());
            let x = xmit(&mut b, L3, &cx).unwrap();
            let ip = &b.data()[L3..];
            assert_checksums(ip);
            let s = seen(ip);
            if out {
                prop_assert_eq!((s.src, s.dst, x.route_to), (v, c, *c.ip()));
            } else {
                prop_assert_eq!((s.src, s.dst, x.route_to), (c, r, *r.ip()));
            }
        }
    }
}
