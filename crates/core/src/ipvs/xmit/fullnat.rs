//! FULLNAT (ipvsadm `-b` on a dest): both addresses change, so the real server needs no route
//! back through the director: it answers the director's local address.
//!
//! - `In` (client:cport -> VIP:vport): source becomes the local address and port
//!   (`ctx.local`), destination RS:port; `route_to` is the real server. With `ctx.toa` the
//!   client's address is put in a TOA option (see [`crate::ipvs::toa`]) in any TCP segment
//!   but a SYN or RST: the handshake-completing ACK too, as the real server's TOA module reads
//!   the option from the segment that creates its socket (that ACK, or the first data segment
//!   when the ACK was lost). [`Xmit::toa_inserted`] says the option is in this packet; the
//!   caller decides how long to keep asking (`ctx.toa`), at least until a segment carrying
//!   data has had it.
//! - `Out` (RS:port -> laddr:lport): source becomes VIP:vport, destination client:cport;
//!   `route_to` is the client.
//!
//! TCP and UDP. Both pseudo-header addresses change; each is folded into the TCP/UDP checksum
//! incrementally along with the ports. TTL decremented, MTU checked (TOA is only added when
//! the grown packet still fits).

use super::rewrite::{self, Head};
use super::{Direction, Xmit, XmitCtx, XmitError};
use crate::buf::PacketBuf;
use crate::ipvs::toa::{self, ToaOutcome};
use crate::wire::IpProtocol;
use crate::wire::{Ipv4Packet, TcpFlags, TcpPacket};

/// Rewrites one FULLNAT packet in place; see the module doc. On error the buffer is unchanged.
/// `ctx.local` is required ([`XmitError::Malformed`] without it).
#[cfg(test)]
pub(crate) fn xmit<B: PacketBuf>(pkt: &mut B, l3: usize, ctx: &XmitCtx) -> Result<Xmit, XmitError> {
    rewrite::with_head(pkt, l3, |p, h| run(p, h, ctx, false))
}

/// [`xmit`], taking fragments too when `fragments` (see [`super::forward_fragment`]); a
/// fragment never gets TOA.
pub(super) fn run<B: PacketBuf>(
    pkt: &mut B,
    head: Head<'_>,
    ctx: &XmitCtx,
    fragments: bool,
) -> Result<Xmit, XmitError> {
    if !matches!(ctx.proto, IpProtocol::TCP | IpProtocol::UDP) {
        return Err(XmitError::Malformed);
    }
    let local = ctx.local.ok_or(XmitError::Malformed)?;
    let ip = rewrite::check_ipv4_frag(pkt.data(), head, fragments)?;
    let l3 = head.l3();
    let l4 = rewrite::check_l4_frag(pkt.data(), head, &ip, ctx.proto, false)?;
    let whole = ip.frag == rewrite::Frag::Whole;
    let tx_csum = rewrite::offloadable(&ip, l4);
    rewrite::check_ttl(&ip)?;
    rewrite::check_mtu(&ip, ctx.mtu, 0)?;
    match ctx.dir {
        Direction::In => {
            let done = rewrite::nat_or_ip(pkt.data_mut(), l3, &ip, l4, Some(local), Some(ctx.dest));
            // TOA goes into a finished segment and keeps its checksums right itself
            // (`toa::insert_toa` updates them incrementally).
            let toa_inserted =
                ctx.toa && whole && ctx.proto == IpProtocol::TCP && add_toa(pkt, l3, ctx);
            Ok(done.xmit(*ctx.dest.ip(), toa_inserted, tx_csum))
        }
        Direction::Out => {
            let done =
                rewrite::nat_or_ip(pkt.data_mut(), l3, &ip, l4, Some(ctx.vip), Some(ctx.client));
            Ok(done.xmit(*ctx.client.ip(), false, tx_csum))
        }
    }
}

/// Puts the client's address in a TOA option of the (already rewritten) TCP segment at `l3`
/// unless it is a SYN or RST; whether the option is now there.
///
/// [`toa::insert_toa`] only takes segments with payload, but the real server's TOA module
/// reads the option from the ACK that completes the handshake, which has none. For such a
/// segment two zero bytes stand in as payload while it runs: zeros add nothing to the
/// checksum, and the Total Length (and so the pseudo-header length) is raised and lowered
/// again without touching either checksum, so the incremental updates insert_toa makes
/// account for exactly its own change.
fn add_toa<B: PacketBuf>(pkt: &mut B, l3: usize, ctx: &XmitCtx) -> bool {
    const STAND_IN: usize = 2;
    let Ok(ip) = rewrite::check_ipv4(pkt.data(), l3) else {
        return false;
    };
    let seg = pkt.data().get(l3 + ip.hl..l3 + ip.total).map(TcpPacket::new_checked);
    let Some(Ok(tcp)) = seg else {
        return false;
    };
    if tcp.flags().intersects(TcpFlags::SYN | TcpFlags::RST) {
        return false;
    }
    let has_payload = tcp.header_len() < ip.total - ip.hl;
    let mtu = usize::from(ctx.mtu);
    let done = |o: ToaOutcome| matches!(o, ToaOutcome::Inserted | ToaOutcome::Replaced);
    if has_payload {
        return done(toa::insert_toa(pkt, l3, ctx.client, mtu));
    }
    let end = l3 + ip.total;
    if ip.total + STAND_IN + toa::TOA_LEN > usize::from(u16::MAX) {
        return false;
    }
    if pkt.set_len(end + STAND_IN).is_err() {
        return false;
    }
    if let Some(b) = pkt.data_mut().get_mut(end..end + STAND_IN) {
        b.fill(0);
    }
    let set_total = |pkt: &mut B, total: usize| {
        if let Some(h) = pkt.data_mut().get_mut(l3..l3 + ip.hl) {
            Ipv4Packet::new_unchecked(h).set_total_len(total as u16);
        }
    };
    set_total(pkt, ip.total + STAND_IN);
    let outcome = toa::insert_toa(pkt, l3, ctx.client, mtu + STAND_IN);
    let grown = if outcome == ToaOutcome::Inserted { toa::TOA_LEN } else { 0 };
    set_total(pkt, ip.total + grown);
    let _ = pkt.set_len(end + grown);
    done(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buf::VecBuf;
    use crate::ipvs::xmit::testutil::*;
    use proptest::prelude::*;
    use std::net::SocketAddrV4;

    fn check(spec: &Spec, cx: &XmitCtx, src: SocketAddrV4, dst: SocketAddrV4, toa: bool) {
        let before = seen(&spec.ip());
        let mut b = VecBuf::from_slice(&spec.frame());
        let r = xmit(&mut b, L3, cx);
        assert_eq!(
            r,
            Ok(Xmit {
                route_to: *dst.ip(),
                toa_inserted: toa,
                tx_csum: true,
                checksummed: Checksummed::EXPECTED
            })
        );
        let ip = &b.data()[L3..];
        assert_checksums(ip);
        let after = seen(ip);
        let grow = if toa { 8 } else { 0 };
        let want = Seen {
            src,
            dst,
            ttl: before.ttl - 1,
            total: before.total + grow,
            l4_hl: before.l4_hl + grow,
            ..before.clone()
        };
        assert_eq!(after, want);
        if toa {
            // The option sits right after the fixed TCP header (the test segments have none).
            let opt = &ip[40..48];
            let mut want = vec![254, 8];
            want.extend_from_slice(&client().port().to_be_bytes());
            want.extend_from_slice(&client().ip().octets());
            assert_eq!(opt, &want[..]);
        } else if spec.proto == 6 {
            assert!(!ip[40..40 + after.l4_hl - 20].contains(&254));
        }
    }

    #[test]
    fn tcp_connection_both_ways_with_toa_on_first_data() {
        let (c, v, r, l) = (client(), vip(), rs(), laddr());
        let cin = XmitCtx { toa: true, ..ctx(Direction::In, 6) };
        let cout = ctx(Direction::Out, 6);
        check(&Spec::tcp(c, v, SYN, &[]), &cin, l, r, false);
        check(&Spec::tcp(r, l, SYN | ACK, &[]), &cout, v, c, false);
        check(&Spec::tcp(c, v, PSH | ACK, b"GET / HTTP/1.0\r\n\r\n"), &cin, l, r, true);
        let cin_done = XmitCtx { toa: false, ..cin };
        check(&Spec::tcp(c, v, PSH | ACK, b"more"), &cin_done, l, r, false);
        check(&Spec::tcp(r, l, PSH | ACK, b"HTTP/1.0 200 OK\r\n\r\n"), &cout, v, c, false);
        check(&Spec::tcp(c, v, FIN | ACK, &[]), &cin_done, l, r, false);
        check(&Spec::tcp(r, l, FIN | ACK, &[]), &cout, v, c, false);
    }

    #[test]
    fn toa_on_the_handshake_ack_but_never_on_syn_or_rst() {
        let (c, v, r, l) = (client(), vip(), rs(), laddr());
        let cin = XmitCtx { toa: true, ..ctx(Direction::In, 6) };
        check(&Spec::tcp(c, v, ACK, &[]), &cin, l, r, true);
        check(&Spec::tcp(c, v, SYN, &[]), &cin, l, r, false);
        check(&Spec::tcp(c, v, 0x04 | ACK, &[]), &cin, l, r, false);
        // With Ethernet padding behind the pure ACK, and with an odd payload.
        let spec = Spec::tcp(c, v, ACK, &[]);
        let mut f = spec.frame();
        f.extend_from_slice(&[0x55; 6]);
        let mut b = VecBuf::from_slice(&f);
        assert!(xmit(&mut b, L3, &cin).unwrap().toa_inserted);
        assert_checksums(&b.data()[L3..]);
        assert_eq!(b.len(), L3 + 48);
        check(&Spec::tcp(c, v, PSH | ACK, b"odd"), &cin, l, r, true);
        // A pure ACK too big for the MTU with the option goes without it.
        let small = XmitCtx { mtu: 47, ..cin };
        check(&Spec::tcp(c, v, ACK, &[]), &small, l, r, false);
        // A client-sent TOA in a pure ACK is overwritten with the real address.
        let mut forged = Spec::tcp(c, v, ACK, &[]);
        forged.options = vec![254, 8, 0, 1, 1, 2, 3, 4];
        let mut b = VecBuf::from_slice(&forged.frame());
        assert!(xmit(&mut b, L3, &cin).unwrap().toa_inserted);
        let ip = &b.data()[L3..];
        assert_checksums(ip);
        assert_eq!(seen(ip).total, 48, "replaced in place");
        let mut want = vec![254, 8];
        want.extend_from_slice(&c.port().to_be_bytes());
        want.extend_from_slice(&c.ip().octets());
        assert_eq!(&ip[40..48], &want[..]);
    }

    #[test]
    fn toa_that_would_pass_the_mtu_is_left_out() {
        let spec = Spec::tcp(client(), vip(), PSH | ACK, &[1; 60]);
        let cx = XmitCtx { toa: true, mtu: 100, ..ctx(Direction::In, 6) };
        check(&spec, &cx, laddr(), rs(), false);
    }

    #[test]
    fn udp_both_ways() {
        let (c, v, r, l) = (client(), vip(), rs(), laddr());
        let cin = XmitCtx { toa: true, ..ctx(Direction::In, 17) };
        check(&Spec::udp(c, v, b"query"), &cin, l, r, false);
        check(&Spec::udp(r, l, b"answer"), &ctx(Direction::Out, 17), v, c, false);
    }

    #[test]
    fn without_local_address_nothing_happens() {
        let f = Spec::tcp(client(), vip(), SYN, &[]).frame();
        let mut b = VecBuf::from_slice(&f);
        let cx = XmitCtx { local: None, ..ctx(Direction::In, 6) };
        assert_eq!(xmit(&mut b, L3, &cx), Err(XmitError::Malformed));
        assert_eq!(b.data(), &f[..]);
    }

    proptest! {
        #[test]
        fn any_tuple_keeps_checksums_right(
            c in any::<([u8; 4], u16)>(), v in any::<([u8; 4], u16)>(), r in any::<([u8; 4], u16)>(),
            l in any::<([u8; 4], u16)>(), payload in proptest::collection::vec(any::<u8>(), 0..64),
            udp in any::<bool>(), out in any::<bool>(), toa in any::<bool>(),
        ) {
            let (c, v, r, l) = (sa(c.0, c.1), sa(v.0, v.1), sa(r.0, r.1), sa(l.0, l.1));
            let (s, d) = if out { (r, l) } else { (c, v) };
            let spec = if udp { Spec::udp(s, d, &payload) } else { Spec::tcp(s, d, ACK, &payload) };
            let dir = if out { Direction::Out } else { Direction::In };
            let cx = XmitCtx { client: c, vip: v, dest: r, local: Some(l), toa, ..ctx(dir, spec.proto) };
            let mut b = VecBuf::from_slice(&spec.frame());
            let x = xmit(&mut b, L3, &cx).unwrap();
            let ip = &b.data()[L3..];
            assert_checksums(ip);
            let sn = seen(ip);
            let want = if out { (v, c) } else { (l, r) };
            prop_assert_eq!((sn.src, sn.dst, x.route_to), (want.0, want.1, *want.1.ip()));
            prop_assert_eq!(x.toa_inserted, toa && !udp && !out);
        }
    }
}
