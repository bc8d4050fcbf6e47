//! ICMP errors about a connection (destination unreachable, fragmentation needed included; time
//! exceeded; parameter problem): finding the connection they are about, and translating them
//! the way the connection's own packets are translated, so the endpoint that gets the error
//! recognises the packet it sent.
//!
//! # Which connection
//! An error quotes the IP header and at least 8 bytes of a packet that travelled the other way.
//! [`check_error`] checks the error once and [`CheckedError::tuple`] returns that quoted packet's protocol, source and destination (for a
//! quoted ICMP echo both "ports" are its identifier). The caller looks the connection up with
//! the tuple **reversed** ([`CheckedError::conn_key`]: source = quoted destination,
//! destination = quoted source): that is the tuple of a packet travelling the way the error
//! travels, so it matches the connection's `In` tuple for an error coming from the client side
//! and its `Out` tuple for one coming from the real-server side (the outside, for SNAT). The
//! direction it matched is the `ctx.dir` to pass to [`translate_checked`].
//!
//! # What changes
//! The outer header's addresses change as the connection's packets in that direction do
//! (whatever router sent the error, its address is replaced where the mode replaces the
//! source); the quoted header and ports change back to what the receiving endpoint sent:
//!
//! | mode, dir | outer src | outer dst | quoted src | quoted dst | `route_to` |
//! |-----------|-----------|-----------|------------|------------|------------|
//! | NAT In      | kept  | RS     | VIP:vport -> RS:port   | client (kept)         | RS     |
//! | NAT Out     | VIP   | kept   | client (kept)          | RS:port -> VIP:vport  | client |
//! | FULLNAT In  | laddr | RS     | VIP:vport -> RS:port   | client -> laddr:lport | RS     |
//! | FULLNAT Out | VIP   | client | laddr:lport -> client  | RS:port -> VIP:vport  | client |
//! | SNAT In     | wan   | kept   | server (kept)          | host -> wan:wport     | server |
//! | SNAT Out    | kept  | host   | wan:wport -> host      | server (kept)         | host   |
//!
//! DR and TUN see only errors from the client side (about the real server's direct replies);
//! they are forwarded like data ([`super::dr`], [`super::tun`]); `Out` is
//! [`XmitError::WrongDirection`].
//!
//! The quoted IPv4 header checksum is updated, and so is the quoted TCP/UDP checksum (or echo
//! checksum) when the quote holds it, incrementally, as if the quoted packet had been
//! translated; then the ICMP checksum is computed afresh over the message. The outer TTL is
//! decremented. The error's own checksum is verified first, and the quoted tuple must be the
//! one the connection expects there ([`XmitError::Malformed`] otherwise). A fragmentation-needed
//! MTU passes unchanged. An error never yields [`XmitError::FragNeeded`] (no ICMP about ICMP
//! errors): a translated error that does not fit the MTU is [`XmitError::TooBig`].

use std::net::{Ipv4Addr, SocketAddrV4};

use super::rewrite::{self, Head, Ip};
use super::{dr, tun, Direction, Xmit, XmitCtx, XmitError};
use crate::buf::PacketBuf;
use crate::ipvs::conn::{ConnKey, FwdMethod};
use crate::wire::checksum;
use crate::wire::icmpv4::Message;
use crate::wire::{Icmpv4Packet, Ipv4Packet};
use crate::wire::{IpProtocol, Ipv4Meta, Tuple};

/// An ICMP error checked once ([`check_error`]): where its parts lie in the frame, and the
/// tuple it quotes; [`translate_checked`] translates it without checking it again.
#[derive(Debug, Clone, Copy)]
pub struct CheckedError {
    /// The outer IPv4 header.
    meta: Ipv4Meta,
    ip: Ip,
    /// Start of the ICMP message.
    icmp: usize,
    /// End of the ICMP message (the outer Total Length).
    end: usize,
    /// Start of the quoted IPv4 header.
    quoted: usize,
    /// Quoted header length.
    quoted_hl: usize,
    /// End of the quoted transport bytes (the quoted Total Length, clamped to the message).
    quoted_end: usize,
    /// The quoted datagram's tuple.
    tuple: Tuple<Ipv4Addr>,
    /// Quoted ICMP: echo request (`Some(true)`) or reply.
    echo_request: Option<bool>,
}

/// Checks the ICMP error at `l3` (outer IPv4 unfragmented, ICMP checksum right, a
/// destination-unreachable, time-exceeded or parameter-problem message quoting an unfragmented
/// IPv4 TCP/UDP packet with its ports, or an ICMP echo with its identifier).
fn parse(data: &[u8], head: Head<'_>) -> Result<CheckedError, XmitError> {
    let meta = *head.meta;
    let l3 = meta.l3;
    let ip = rewrite::check_ipv4_frag(data, Head::new(&meta, None), false)?;
    if ip.proto != IpProtocol::ICMP {
        return Err(XmitError::Malformed);
    }
    let (icmp, end) = (l3 + ip.hl, l3 + ip.total);
    let msg = data.get(icmp..end).ok_or(XmitError::Malformed)?;
    let icmp_pkt = Icmpv4Packet::new_checked(msg).map_err(|_| XmitError::Malformed)?;
    if !matches!(
        icmp_pkt.msg_type(),
        Message::DstUnreachable | Message::TimeExceeded | Message::ParamProblem
    ) || !icmp_pkt.verify_checksum()
    {
        return Err(XmitError::Malformed);
    }
    let q = icmp_pkt.quoted().map_err(|_| XmitError::Malformed)?;
    if q.ip().frag_offset() != 0 {
        return Err(XmitError::Malformed);
    }
    let quoted = icmp + crate::wire::icmpv4::HEADER_LEN;
    let quoted_hl = q.header_len();
    let quoted_end = quoted + quoted_hl + q.payload_len();
    let (tuple, echo_request) = (q.tuple(), q.echo_request());
    Ok(CheckedError { meta, ip, icmp, end, quoted, quoted_hl, quoted_end, tuple, echo_request })
}

impl CheckedError {
    /// The tuple the error quotes.
    pub fn tuple(&self) -> Tuple<Ipv4Addr> {
        self.tuple
    }

    /// The connection-table key to look the error's connection up with: the quoted tuple
    /// reversed (see the module doc).
    pub fn conn_key(&self) -> ConnKey<Ipv4Addr> {
        self.tuple.reversed()
    }
}

/// Checks the ICMP error whose outer IPv4 header the stack checked (`ip`), once, for
/// [`CheckedError::tuple`] (the connection lookup) and [`translate_checked`]; `None` when it
/// is not an error this module translates.
pub fn check_error(pkt: &[u8], ip: &Ipv4Meta) -> Option<CheckedError> {
    parse(pkt, Head::new(ip, None)).ok()
}

/// The tuple quoted in the ICMP error whose IPv4 header starts at `l3` of the frame `pkt`, or
/// `None` when it is not an error this module translates. Look the
/// connection up with the tuple reversed.
#[cfg(test)]
pub(crate) fn embedded_tuple(pkt: &[u8], l3: usize) -> Option<Tuple<Ipv4Addr>> {
    let meta = rewrite::parse_head(pkt, l3).ok()?;
    parse(pkt, Head::new(&meta, None)).ok().map(|e| e.tuple)
}

/// What a translation changes: outer addresses, and the quoted tuple before -> after.
struct Plan {
    outer_src: Option<Ipv4Addr>,
    outer_dst: Option<Ipv4Addr>,
    quoted_before: (SocketAddrV4, SocketAddrV4),
    quoted_after: (SocketAddrV4, SocketAddrV4),
    route_to: Ipv4Addr,
}

fn plan(fwd: FwdMethod, ctx: &XmitCtx, outer_dst: Ipv4Addr) -> Result<Plan, XmitError> {
    let (c, v, d) = (ctx.client, ctx.vip, ctx.dest);
    let local = || ctx.local.ok_or(XmitError::Malformed);
    Ok(match (fwd, ctx.dir) {
        (FwdMethod::Masq, Direction::In) => Plan {
            outer_src: None,
            outer_dst: Some(*d.ip()),
            quoted_before: (v, c),
            quoted_after: (d, c),
            route_to: *d.ip(),
        },
        (FwdMethod::Masq, Direction::Out) => Plan {
            outer_src: Some(*v.ip()),
            outer_dst: None,
            quoted_before: (c, d),
            quoted_after: (c, v),
            route_to: outer_dst,
        },
        (FwdMethod::FullNat, Direction::In) => {
            let l = local()?;
            Plan {
                outer_src: Some(*l.ip()),
                outer_dst: Some(*d.ip()),
                quoted_before: (v, c),
                quoted_after: (d, l),
                route_to: *d.ip(),
            }
        }
        (FwdMethod::FullNat, Direction::Out) => {
            let l = local()?;
            Plan {
                outer_src: Some(*v.ip()),
                outer_dst: Some(*c.ip()),
                quoted_before: (l, d),
                quoted_after: (c, v),
                route_to: *c.ip(),
            }
        }
        (FwdMethod::Snat, Direction::In) => {
            let l = local()?;
            Plan {
                outer_src: Some(*l.ip()),
                outer_dst: None,
                quoted_before: (d, c),
                quoted_after: (d, l),
                route_to: outer_dst,
            }
        }
        (FwdMethod::Snat, Direction::Out) => {
            let l = local()?;
            Plan {
                outer_src: None,
                outer_dst: Some(*c.ip()),
                quoted_before: (l, d),
                quoted_after: (c, d),
                route_to: *c.ip(),
            }
        }
        (FwdMethod::Route | FwdMethod::Tunnel | FwdMethod::Local, _) => {
            return Err(XmitError::WrongDirection)
        }
    })
}

/// The tuple (source, destination) an error about a connection of `fwd` travelling in
/// `ctx.dir` quotes, before translation.
#[cfg(test)]
pub(super) fn quoted_before(
    fwd: FwdMethod,
    ctx: &XmitCtx,
) -> Result<(SocketAddrV4, SocketAddrV4), XmitError> {
    plan(fwd, ctx, Ipv4Addr::UNSPECIFIED).map(|p| p.quoted_before)
}

/// A tuple's source and destination as socket addresses.
fn sockets(t: &Tuple<Ipv4Addr>) -> (SocketAddrV4, SocketAddrV4) {
    (SocketAddrV4::new(t.saddr, t.sport), SocketAddrV4::new(t.daddr, t.dport))
}

/// Whether the quoted tuple is `want`; for a quoted echo only the addresses and the
/// identifier, which belongs to the requester (source of a request, destination of a reply).
fn tuple_is(e: &CheckedError, want: (SocketAddrV4, SocketAddrV4)) -> bool {
    let (s, d) = sockets(&e.tuple);
    match e.echo_request {
        None => (s, d) == want,
        Some(req) => {
            let ident = if req { want.0.port() } else { want.1.port() };
            (s.ip(), d.ip()) == (want.0.ip(), want.1.ip()) && s.port() == ident
        }
    }
}

/// [`translate_checked`] of the ICMP error at `l3`, checked here first (for tests).
#[cfg(test)]
pub(crate) fn translate<B: PacketBuf>(
    fwd: FwdMethod,
    pkt: &mut B,
    l3: usize,
    ctx: &XmitCtx,
) -> Result<Xmit, XmitError> {
    rewrite::with_head(pkt, l3, |p, h| {
        let e = parse(p.data(), h)?;
        translate_checked(fwd, p, &e, ctx)
    })
}

/// Translates the ICMP error checked with [`check_error`] from `pkt` as it is now (the error
/// is not checked again) for the connection it is about (`fwd`, `ctx` as found with
/// [`CheckedError::conn_key`], `ctx.dir` the direction that key matched); see the module
/// doc. On error the buffer is unchanged. `ctx.proto` must be the quoted packet's protocol.
pub fn translate_checked<B: PacketBuf>(
    fwd: FwdMethod,
    pkt: &mut B,
    e: &CheckedError,
    ctx: &XmitCtx,
) -> Result<Xmit, XmitError> {
    let l3 = e.meta.l3;
    if e.tuple.proto != ctx.proto {
        return Err(XmitError::Malformed);
    }
    let no_frag_needed = |r: Result<Xmit, XmitError>| match r {
        Err(XmitError::FragNeeded { .. }) => Err(XmitError::TooBig),
        other => other,
    };
    if matches!(fwd, FwdMethod::Route | FwdMethod::Tunnel) {
        if ctx.dir != Direction::In {
            return Err(XmitError::WrongDirection);
        }
        if !tuple_is(e, (ctx.vip, ctx.client)) {
            return Err(XmitError::Malformed);
        }
        return no_frag_needed(if fwd == FwdMethod::Route {
            dr::run(pkt, Head::new(&e.meta, None), ctx, false)
        } else {
            tun::run(pkt, Head::new(&e.meta, None), ctx, false)
        });
    }
    let p = plan(fwd, ctx, e.ip.dst)?;
    if !tuple_is(e, p.quoted_before) {
        return Err(XmitError::Malformed);
    }
    rewrite::check_ttl(&e.ip)?;
    rewrite::check_mtu(&e.ip, ctx.mtu, 0).map_err(|e| match e {
        XmitError::FragNeeded { .. } => XmitError::TooBig,
        other => other,
    })?;

    let data = pkt.data_mut();
    // Outer header.
    if let Some(hdr) = data.get_mut(l3..l3 + e.ip.hl) {
        let mut outer = Ipv4Packet::new_unchecked(hdr);
        outer.decrement_ttl();
        if let Some(a) = p.outer_src {
            outer.rewrite_src_addr(a);
        }
        if let Some(a) = p.outer_dst {
            outer.rewrite_dst_addr(a);
        }
    }
    // Quoted header.
    let (before, after) = (p.quoted_before, p.quoted_after);
    let (old_src, old_dst) = sockets(&e.tuple);
    if let Some(hdr) = data.get_mut(e.quoted..e.quoted + e.quoted_hl) {
        let mut q = Ipv4Packet::new_unchecked(hdr);
        if after.0.ip() != before.0.ip() {
            q.rewrite_src_addr(*after.0.ip());
        }
        if after.1.ip() != before.1.ip() {
            q.rewrite_dst_addr(*after.1.ip());
        }
    }
    // Quoted transport bytes.
    if let Some(l4) = data.get_mut(e.quoted + e.quoted_hl..e.quoted_end) {
        match e.echo_request {
            None => {
                let (at, zero_is_none) =
                    if e.tuple.proto == IpProtocol::TCP { (16, false) } else { (6, true) };
                adjust_csum(l4, at, zero_is_none, |c| {
                    let mut c = c;
                    for (old, new) in [(old_src, after.0), (old_dst, after.1)] {
                        if old.ip() != new.ip() {
                            c = checksum::update_addr(c, *old.ip(), *new.ip());
                        }
                        if old.port() != new.port() {
                            c = checksum::update_u16(c, old.port(), new.port());
                        }
                    }
                    c
                });
                set_word(l4, 0, after.0.port());
                set_word(l4, 2, after.1.port());
            }
            Some(request) => {
                let ident = if request { after.0.port() } else { after.1.port() };
                if ident != old_src.port() {
                    adjust_csum(l4, 2, false, |c| checksum::update_u16(c, old_src.port(), ident));
                }
                set_word(l4, 4, ident);
            }
        }
    }
    // The ICMP checksum, afresh.
    let msg = data.get_mut(e.icmp..e.end).unwrap_or_default();
    let done = rewrite::fill_icmp_checksum(msg);
    Ok(done.xmit(p.route_to, false, false))
}

/// Applies `f` to the checksum at `at` in `l4` if the quote holds it; with `zero_is_none`
/// (UDP) a zero checksum stays zero and a computed zero is written as `0xffff`.
fn adjust_csum(l4: &mut [u8], at: usize, zero_is_none: bool, f: impl FnOnce(u16) -> u16) {
    let Some(b) = l4.get_mut(at..at + 2) else {
        return;
    };
    let old = u16::from_be_bytes([b[0], b[1]]);
    if zero_is_none && old == 0 {
        return;
    }
    let c = f(old);
    let c = if zero_is_none && c == 0 { 0xffff } else { c };
    b.copy_from_slice(&c.to_be_bytes());
}

fn set_word(l4: &mut [u8], at: usize, v: u16) {
    if let Some(b) = l4.get_mut(at..at + 2) {
        b.copy_from_slice(&v.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buf::VecBuf;
    use crate::ipvs::xmit::testutil::*;
    use proptest::prelude::*;

    const PORT_UNREACHABLE: (u8, u8) = (3, 3);
    const FRAG_NEEDED: (u8, u8) = (3, 4);
    const MTU_1400: [u8; 4] = [0, 0, 0x05, 0x78];

    fn frame(from: [u8; 4], to: [u8; 4], kind: (u8, u8), rest: [u8; 4], quoted: &[u8]) -> Vec<u8> {
        icmp_error(from, to, kind.0, kind.1, rest, quoted)
    }

    /// Translates `f` and checks the outer addresses, TTL, every checksum (the ICMP one over
    /// the whole message), the rest-of-header bytes, and returns the quoted bytes.
    fn check(
        fwd: FwdMethod,
        cx: &XmitCtx,
        f: &[u8],
        outer: ([u8; 4], [u8; 4]),
        route: [u8; 4],
    ) -> Vec<u8> {
        let mut b = VecBuf::from_slice(f);
        let r = translate(fwd, &mut b, L3, cx);
        assert_eq!(
            r,
            Ok(Xmit {
                route_to: Ipv4Addr::from(route),
                toa_inserted: false,
                tx_csum: false,
                checksummed: Checksummed::EXPECTED
            })
        );
        let ip = &b.data()[L3..];
        assert_checksums(ip);
        assert_eq!((&ip[12..16], &ip[16..20]), (&outer.0[..], &outer.1[..]), "outer addresses");
        assert_eq!(ip[8], 63, "outer TTL decremented");
        assert_eq!(&ip[20..21], &f[L3 + 20..L3 + 21], "type");
        assert_eq!(&ip[24..28], &f[L3 + 24..L3 + 28], "unused / next-hop MTU unchanged");
        ip[28..].to_vec()
    }

    fn ctx_for(dir: Direction, proto: u8) -> XmitCtx {
        ctx(dir, proto)
    }

    #[test]
    fn tuple_and_lookup_key() {
        let fwd = Spec::udp(client(), rs(), b"query").ip();
        let f = frame(RS.0, CLIENT.0, PORT_UNREACHABLE, [0; 4], &fwd);
        let t = embedded_tuple(&f, L3).unwrap();
        let (c, r) = (client(), rs());
        assert_eq!(t, Tuple::new(IpProtocol::UDP, *c.ip(), c.port(), *r.ip(), r.port()));
        // Reversed: the NAT connection's Out tuple (RS -> client).
        assert_eq!(
            t.reversed(),
            ConnKey::new(IpProtocol::UDP, *rs().ip(), RS.1, *client().ip(), CLIENT.1)
        );
        // Only the first 8 bytes quoted still give the ports.
        let f = frame(RS.0, CLIENT.0, PORT_UNREACHABLE, [0; 4], &fwd[..28]);
        assert_eq!(embedded_tuple(&f, L3), Some(t));
        // Not an error, a bad checksum, a quote without ports: none.
        let mut echo = Spec::echo(client(), vip(), true, b"x").frame();
        assert_eq!(embedded_tuple(&echo, L3), None);
        echo[L3 + 20] = 3;
        assert_eq!(embedded_tuple(&echo, L3), None, "checksum no longer right");
        let f = frame(RS.0, CLIENT.0, PORT_UNREACHABLE, [0; 4], &fwd[..23]);
        assert_eq!(embedded_tuple(&f, L3), None);
    }

    #[test]
    fn nat_out_port_unreachable_from_the_real_server() {
        // The director forwarded client -> RS; the RS answers port unreachable to the client.
        let forwarded = Spec::udp(client(), rs(), b"query").ip();
        let f = frame(RS.0, CLIENT.0, PORT_UNREACHABLE, [0; 4], &forwarded);
        let q =
            check(FwdMethod::Masq, &ctx_for(Direction::Out, 17), &f, (VIP.0, CLIENT.0), CLIENT.0);
        // The quote is now what the client sent: client -> VIP:vport, all checksums right.
        assert_checksums(&q);
        let want = seen(&Spec::udp(client(), vip(), b"query").ip());
        assert_eq!(seen(&q), want);
        assert_eq!(q, Spec::udp(client(), vip(), b"query").ip(), "byte for byte");
    }

    #[test]
    fn nat_in_frag_needed_from_the_client_side() {
        // The RS's reply went out as VIP -> client; a router on the client side says it is
        // too big for 1400.
        let router = [198, 51, 100, 1];
        let reply = Spec::tcp(vip(), client(), PSH | ACK, &[0x42; 100]).ip();
        let f = frame(router, VIP.0, FRAG_NEEDED, MTU_1400, &reply);
        assert_eq!(
            embedded_tuple(&f, L3).unwrap().reversed(),
            ConnKey::new(IpProtocol::TCP, *client().ip(), CLIENT.1, *vip().ip(), VIP.1)
        );
        let q = check(FwdMethod::Masq, &ctx_for(Direction::In, 6), &f, (router, RS.0), RS.0);
        assert_checksums(&q);
        assert_eq!(q, Spec::tcp(rs(), client(), PSH | ACK, &[0x42; 100]).ip());

        // A quote of the header and 8 bytes only: ports and quoted header still right.
        let f = frame(router, VIP.0, FRAG_NEEDED, MTU_1400, &reply[..28]);
        let q = check(FwdMethod::Masq, &ctx_for(Direction::In, 6), &f, (router, RS.0), RS.0);
        let full = Spec::tcp(rs(), client(), PSH | ACK, &[0x42; 100]).ip();
        assert_eq!(q, full[..28].to_vec());
    }

    #[test]
    fn fullnat_both_directions() {
        let (c, v, r, l) = (client(), vip(), rs(), laddr());
        // From the RS side about laddr -> RS.
        let forwarded = Spec::tcp(l, r, SYN, &[]).ip();
        let f = frame(RS.0, LADDR.0, PORT_UNREACHABLE, [0; 4], &forwarded);
        let key = embedded_tuple(&f, L3).unwrap().reversed();
        assert_eq!(
            key,
            ConnKey::new(IpProtocol::TCP, *r.ip(), r.port(), *l.ip(), l.port()),
            "the Out tuple"
        );
        let q =
            check(FwdMethod::FullNat, &ctx_for(Direction::Out, 6), &f, (VIP.0, CLIENT.0), CLIENT.0);
        assert_eq!(q, Spec::tcp(c, v, SYN, &[]).ip());
        // From the client side about VIP -> client.
        let reply = Spec::udp(v, c, b"answer").ip();
        let f = frame(CLIENT.0, VIP.0, FRAG_NEEDED, MTU_1400, &reply);
        let q = check(FwdMethod::FullNat, &ctx_for(Direction::In, 17), &f, (LADDR.0, RS.0), RS.0);
        assert_eq!(q, Spec::udp(r, l, b"answer").ip());
    }

    fn snat_ctx(dir: Direction, proto: u8) -> XmitCtx {
        let server = sa([93, 184, 216, 34], 443);
        XmitCtx {
            client: sa([192, 168, 1, 50], 51000),
            vip: server,
            dest: server,
            local: Some(sa([203, 0, 113, 1], 20480)),
            tun: None,
            ..ctx(dir, proto)
        }
    }

    #[test]
    fn snat_both_directions_and_echo() {
        let cx = snat_ctx(Direction::Out, 6);
        let (h, s, w) = (cx.client, cx.dest, cx.local.unwrap());
        let router = [100, 64, 0, 1];
        // Outside router: time exceeded about wan -> server.
        let forwarded = Spec::tcp(w, s, SYN, &[]).ip();
        let f = frame(router, w.ip().octets(), (11, 0), [0; 4], &forwarded);
        let q = check(FwdMethod::Snat, &cx, &f, (router, h.ip().octets()), h.ip().octets());
        assert_eq!(q, Spec::tcp(h, s, SYN, &[]).ip());
        // Inside host: port unreachable about server -> host.
        let reply = Spec::udp(s, h, b"late").ip();
        let f = frame(h.ip().octets(), s.ip().octets(), PORT_UNREACHABLE, [0; 4], &reply);
        let cx_in = snat_ctx(Direction::In, 17);
        let q =
            check(FwdMethod::Snat, &cx_in, &f, (w.ip().octets(), s.ip().octets()), s.ip().octets());
        assert_eq!(q, Spec::udp(s, w, b"late").ip());
        // Outside router: time exceeded about a forwarded echo request (identifier wan's).
        let ping = Spec::echo(w, sa(s.ip().octets(), w.port()), true, b"ping").ip();
        let f = frame(router, w.ip().octets(), (11, 0), [0; 4], &ping);
        let t = embedded_tuple(&f, L3).unwrap();
        assert_eq!(
            t.reversed(),
            ConnKey::new(IpProtocol::ICMP, *s.ip(), w.port(), *w.ip(), w.port())
        );
        let q = check(
            FwdMethod::Snat,
            &snat_ctx(Direction::Out, 1),
            &f,
            (router, h.ip().octets()),
            h.ip().octets(),
        );
        assert_checksums(&q);
        assert_eq!(q, Spec::echo(h, sa(s.ip().octets(), h.port()), true, b"ping").ip());
    }

    #[test]
    fn dr_and_tun_forward_client_side_errors() {
        let reply = Spec::tcp(vip(), client(), ACK, &[1; 40]).ip();
        let f = frame(CLIENT.0, VIP.0, FRAG_NEEDED, MTU_1400, &reply);
        let mut b = VecBuf::from_slice(&f);
        let r = translate(FwdMethod::Route, &mut b, L3, &ctx_for(Direction::In, 6));
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
        assert_eq!(&ip[12..20], &f[L3 + 12..L3 + 20], "addresses kept");
        assert_eq!(&ip[20..], &f[L3 + 20..], "ICMP message kept");

        let mut b = VecBuf::from_slice(&f);
        let r = translate(FwdMethod::Tunnel, &mut b, L3, &ctx_for(Direction::In, 6));
        assert_eq!(
            r,
            Ok(Xmit {
                route_to: *rs().ip(),
                toa_inserted: false,
                tx_csum: false,
                checksummed: Checksummed::EXPECTED
            })
        );
        let outer = &b.data()[L3..];
        assert_eq!((outer[9], &outer[16..20]), (4, &RS.0[..]));
        assert_eq!(&outer[40..], &f[L3 + 20..], "ICMP message kept inside");

        for fwd in [FwdMethod::Route, FwdMethod::Tunnel] {
            let mut b = VecBuf::from_slice(&f);
            let r = translate(fwd, &mut b, L3, &ctx_for(Direction::Out, 6));
            assert_eq!(r, Err(XmitError::WrongDirection));
            assert_eq!(b.data(), &f[..]);
        }
        // Too big for the tunnel: never frag-needed about an ICMP error.
        let mut b = VecBuf::from_slice(&f);
        let cx = XmitCtx { mtu: 100, ..ctx_for(Direction::In, 6) };
        assert_eq!(translate(FwdMethod::Tunnel, &mut b, L3, &cx), Err(XmitError::TooBig));
        assert_eq!(b.data(), &f[..]);
    }

    #[test]
    fn refusals_leave_the_packet_unchanged() {
        let forwarded = Spec::udp(client(), rs(), b"query").ip();
        let good = frame(RS.0, CLIENT.0, PORT_UNREACHABLE, [0; 4], &forwarded);
        let other = Spec::udp(sa(CLIENT.0, 1), rs(), b"query").ip();
        let mut bad_sum = good.clone();
        bad_sum[L3 + 22] ^= 1;
        let mut ttl1 = good.clone();
        ttl1[L3 + 8] = 1;
        fill_ip_csum(&mut ttl1[L3..]);
        let cases = [
            (frame(RS.0, CLIENT.0, PORT_UNREACHABLE, [0; 4], &other), 17, XmitError::Malformed),
            (bad_sum, 17, XmitError::Malformed),
            (good.clone(), 6, XmitError::Malformed),
            (ttl1, 17, XmitError::TtlExpired),
            (Spec::udp(client(), rs(), b"x").frame(), 17, XmitError::Malformed),
        ];
        for (f, proto, err) in cases {
            let mut b = VecBuf::from_slice(&f);
            let r = translate(FwdMethod::Masq, &mut b, L3, &ctx_for(Direction::Out, proto));
            assert_eq!(r, Err(err));
            assert_eq!(b.data(), &f[..]);
        }
        let mut b = VecBuf::from_slice(&good);
        let cx = XmitCtx { local: None, ..ctx_for(Direction::Out, 17) };
        assert_eq!(translate(FwdMethod::FullNat, &mut b, L3, &cx), Err(XmitError::Malformed));
        assert_eq!(b.data(), &good[..]);
    }

    proptest! {
        #[test]
        fn quoted_checksums_follow_any_translation(
            c in any::<([u8; 4], u16)>(), v in any::<([u8; 4], u16)>(), r in any::<([u8; 4], u16)>(),
            l in any::<([u8; 4], u16)>(), payload in proptest::collection::vec(any::<u8>(), 0..40),
            udp in any::<bool>(), fwd in 0usize..3, out in any::<bool>(), cut in any::<bool>(),
        ) {
            let (c, v, r, l) = (sa(c.0, c.1), sa(v.0, v.1), sa(r.0, r.1), sa(l.0, l.1));
            let fwd = [FwdMethod::Masq, FwdMethod::FullNat, FwdMethod::Snat][fwd];
            let dir = if out { Direction::Out } else { Direction::In };
            let proto = if udp { 17 } else { 6 };
            let (dest, vip) = if fwd == FwdMethod::Snat { (r, r) } else { (r, v) };
            let cx = XmitCtx { client: c, vip, dest, local: Some(l), ..ctx(dir, proto) };
            let p = plan(fwd, &cx, Ipv4Addr::UNSPECIFIED).unwrap();
            let build = |t: (SocketAddrV4, SocketAddrV4)| {
                if udp { Spec::udp(t.0, t.1, &payload).ip() } else { Spec::tcp(t.0, t.1, ACK, &payload).ip() }
            };
            let quoted = build(p.quoted_before);
            let quoted = if cut { quoted[..28].to_vec() } else { quoted };
            let f = frame([1, 2, 3, 4], [5, 6, 7, 8], PORT_UNREACHABLE, [0; 4], &quoted);
            let mut b = VecBuf::from_slice(&f);
            translate(fwd, &mut b, L3, &cx).unwrap();
            let ip = &b.data()[L3..];
            assert_checksums(ip);
            let want = build(p.quoted_after);
            if cut {
                prop_assert_eq!(&ip[28..], &want[..28]);
            } else {
                prop_assert_eq!(&ip[28..], &want[..]);
            }
        }
    }
}
