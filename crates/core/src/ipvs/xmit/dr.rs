//! DR (direct routing, ipvsadm `-g`): the request goes to the real server unchanged at L3 (the
//! destination stays the VIP, which the real server holds on a non-ARPing interface); only the
//! L2 destination changes, and that is the stack's: it resolves `route_to` (the real server)
//! and writes its MAC. Replies go from the real server straight to the client, so `Out` is
//! [`XmitError::WrongDirection`].
//!
//! Like every mode the TTL is decremented (checksum updated incrementally) and the MTU checked.
//! Any IP protocol passes (DR also carries the ICMP errors a client sends about the real
//! server's replies).

use super::rewrite::{self, Head};
use super::{Direction, Xmit, XmitCtx, XmitError};
use crate::buf::PacketBuf;

/// Forwards one DR packet in place; see the module doc. On error the buffer is unchanged.
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
    if ctx.dir != Direction::In {
        return Err(XmitError::WrongDirection);
    }
    let ip = rewrite::check_ipv4_frag(pkt.data(), head, fragments)?;
    let l3 = head.l3();
    rewrite::check_ttl(&ip)?;
    rewrite::check_mtu(&ip, ctx.mtu, 0)?;
    let done = rewrite::decrement_ttl(pkt.data_mut(), l3, &ip);
    Ok(done.xmit(*ctx.dest.ip(), false, false))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buf::VecBuf;
    use crate::ipvs::xmit::testutil::*;

    fn check(spec: &Spec) {
        let f = spec.frame();
        let mut b = VecBuf::from_slice(&f);
        let r = xmit(&mut b, L3, &ctx(Direction::In, spec.proto));
        assert_eq!(
            r,
            Ok(Xmit {
                route_to: *rs().ip(),
                toa_inserted: false,
                tx_csum: false,
                checksummed: Checksummed::EXPECTED
            })
        );
        let ip = &b.data()[L3..];
        assert_checksums(ip);
        let (before, after) = (seen(&f[L3..]), seen(ip));
        assert_eq!(after, Seen { ttl: before.ttl - 1, ..before.clone() });
        assert_eq!(after.dst, vip(), "the destination stays the VIP");
        // Only the TTL and the header checksum bytes differ.
        let diff: Vec<usize> = (0..f.len()).filter(|&i| f[i] != b.data()[i]).collect();
        assert!(diff.iter().all(|&i| [L3 + 8, L3 + 10, L3 + 11].contains(&i)), "{diff:?}");
    }

    #[test]
    fn requests_pass_unchanged_but_for_ttl() {
        let (c, v) = (client(), vip());
        check(&Spec::tcp(c, v, SYN, &[]));
        check(&Spec::tcp(c, v, ACK, &[]));
        check(&Spec::tcp(c, v, PSH | ACK, b"GET / HTTP/1.1\r\n\r\n"));
        check(&Spec::tcp(c, v, FIN | ACK, &[]));
        check(&Spec::udp(c, v, b"query"));
    }

    #[test]
    fn replies_are_the_wrong_direction() {
        let f = Spec::tcp(rs(), client(), SYN | ACK, &[]).frame();
        let mut b = VecBuf::from_slice(&f);
        assert_eq!(xmit(&mut b, L3, &ctx(Direction::Out, 6)), Err(XmitError::WrongDirection));
        assert_eq!(b.data(), &f[..]);
    }

    #[test]
    fn ttl_and_mtu_refusals() {
        let f = Spec { ttl: 1, ..Spec::tcp(client(), vip(), SYN, &[]) }.frame();
        let mut b = VecBuf::from_slice(&f);
        assert_eq!(xmit(&mut b, L3, &ctx(Direction::In, 6)), Err(XmitError::TtlExpired));
        assert_eq!(b.data(), &f[..]);
        let f = Spec::tcp(client(), vip(), ACK, &[7; 1461]).frame();
        let mut b = VecBuf::from_slice(&f);
        let r = xmit(&mut b, L3, &ctx(Direction::In, 6));
        assert_eq!(r, Err(XmitError::FragNeeded { mtu: 1500 }));
        assert_eq!(b.data(), &f[..]);
    }
}
