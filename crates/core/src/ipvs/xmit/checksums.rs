//! The property that no rewrite emits a stale checksum: every forwarding mode in every
//! direction it carries (NAT both ways, DR, TUN over IP-in-IP and GUE with each outer checksum
//! mode, FULLNAT both ways with and without TOA, SNAT both ways with TCP, UDP and ICMP echo),
//! the ICMP error translation of each, and the TCP reset the balancer answers with, on
//! arbitrary addresses, ports, flags and payloads. Every emitted IPv4 header, TCP, UDP and ICMP
//! checksum (the inner packet's too, for a tunnel) is verified by full recomputation with the
//! test kit's reference checksum ([`crate::testkit::checksum`]), which shares no code with
//! `wire::checksum`. The data path's entries (`forward_checked`, headers checked upstream) are
//! held to the same bytes as the test-only `forward`, which checks the headers itself.

use std::net::{Ipv4Addr, SocketAddrV4};

use proptest::prelude::*;

use super::testutil::*;
use super::*;
use crate::buf::{PacketBuf, VecBuf};
use crate::ipvs::conn::FwdMethod;
use crate::testkit::checksum::verify_ipv4;
use crate::wire::{gue, ipv4, udp, IpProtocol};

/// What a test packet carries.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// TCP with these flags.
    Tcp(u8),
    /// UDP, its checksum computed or left zero.
    Udp { csum: bool },
    /// ICMP echo (SNAT only).
    Echo,
}

impl Kind {
    fn proto(self) -> u8 {
        match self {
            Kind::Tcp(_) => 6,
            Kind::Udp { .. } => 17,
            Kind::Echo => 1,
        }
    }

    /// A packet of this kind from `src` to `dst`; an echo is a request when `request`.
    fn packet(self, src: SocketAddrV4, dst: SocketAddrV4, payload: &[u8], request: bool) -> Spec {
        match self {
            Kind::Tcp(flags) => Spec::tcp(src, dst, flags, payload),
            Kind::Udp { csum } => Spec { udp_csum: csum, ..Spec::udp(src, dst, payload) },
            Kind::Echo => Spec::echo(src, dst, request, payload),
        }
    }
}

/// One forwarding mode and direction.
#[derive(Debug, Clone, Copy)]
enum Case {
    NatIn,
    NatOut,
    Dr,
    Tun(TunEncap),
    FullNatIn { toa: bool },
    FullNatOut,
    SnatIn,
    SnatOut,
}

impl Case {
    fn fwd(self) -> FwdMethod {
        match self {
            Case::NatIn | Case::NatOut => FwdMethod::Masq,
            Case::Dr => FwdMethod::Route,
            Case::Tun(_) => FwdMethod::Tunnel,
            Case::FullNatIn { .. } | Case::FullNatOut => FwdMethod::FullNat,
            Case::SnatIn | Case::SnatOut => FwdMethod::Snat,
        }
    }

    fn dir(self) -> Direction {
        match self {
            Case::NatOut | Case::FullNatOut | Case::SnatOut => Direction::Out,
            _ => Direction::In,
        }
    }
}

/// The parties of a connection: client (the inside host for SNAT), VIP (the outside server
/// for SNAT), real server, local address (FULLNAT) or WAN address (SNAT), tunnel source.
#[derive(Debug, Clone, Copy)]
struct Parties {
    c: SocketAddrV4,
    v: SocketAddrV4,
    r: SocketAddrV4,
    l: SocketAddrV4,
    tun_src: Ipv4Addr,
}

impl Parties {
    fn ctx(&self, case: Case, proto: u8) -> XmitCtx {
        let snat = matches!(case, Case::SnatIn | Case::SnatOut);
        let (vip, dest) = if snat { (self.v, self.v) } else { (self.v, self.r) };
        let tun = match case {
            Case::Tun(encap) => Some((encap, self.tun_src)),
            _ => None,
        };
        XmitCtx {
            dir: case.dir(),
            proto: IpProtocol(proto),
            client: self.c,
            vip,
            dest,
            local: Some(self.l),
            tun,
            mtu: 1500,
            toa: matches!(case, Case::FullNatIn { toa: true }),
        }
    }

    /// The packet of the connection as it reaches the director in `case`'s direction.
    fn arriving(&self, case: Case, kind: Kind, payload: &[u8]) -> Spec {
        let (src, dst, request) = match case {
            Case::NatIn | Case::Dr | Case::Tun(_) | Case::FullNatIn { .. } => {
                (self.c, self.v, true)
            }
            Case::NatOut => (self.r, self.c, false),
            Case::FullNatOut => (self.r, self.l, false),
            // An echo request carries the host's identifier, the reply the WAN port's.
            Case::SnatIn => (self.c, self.v, true),
            Case::SnatOut => (self.v, self.l, false),
        };
        kind.packet(src, dst, payload, request)
    }
}

/// Checks every checksum of the frame `b` carries at [`L3`], and of the inner packet of a GUE
/// tunnel (the reference verifier descends into IP-in-IP by itself).
fn assert_fresh(b: &VecBuf, case: Case) {
    let ip = &b.data()[L3..];
    assert_eq!(verify_ipv4(ip), Ok(()), "{case:?}");
    if let Case::Tun(TunEncap::Gue { .. }) = case {
        let inner = ipv4::HEADER_LEN + udp::HEADER_LEN + gue::HEADER_LEN;
        assert_eq!(verify_ipv4(&ip[inner..]), Ok(()), "{case:?} inner");
    }
}

fn frame_buf(frame: &[u8]) -> VecBuf {
    let mut b = VecBuf::with_capacity(tun::ENCAP_HEADROOM, tun::ENCAP_HEADROOM + frame.len() + 64);
    b.append(frame.len()).unwrap().copy_from_slice(frame);
    b
}

fn sock() -> impl Strategy<Value = SocketAddrV4> {
    any::<([u8; 4], u16)>().prop_map(|(a, p)| sa(a, p))
}

fn parties() -> impl Strategy<Value = Parties> {
    (sock(), sock(), sock(), sock(), any::<[u8; 4]>()).prop_map(|(c, v, r, l, t)| Parties {
        c,
        v,
        r,
        l,
        tun_src: t.into(),
    })
}

fn encap() -> impl Strategy<Value = TunEncap> {
    let csum = prop_oneof![Just(TunCsum::NoCsum), Just(TunCsum::Csum), Just(TunCsum::RemCsum)];
    prop_oneof![
        Just(TunEncap::Ipip),
        (any::<u16>(), csum).prop_map(|(port, csum)| TunEncap::Gue { port, csum })
    ]
}

fn case() -> impl Strategy<Value = Case> {
    prop_oneof![
        Just(Case::NatIn),
        Just(Case::NatOut),
        Just(Case::Dr),
        encap().prop_map(Case::Tun),
        any::<bool>().prop_map(|toa| Case::FullNatIn { toa }),
        Just(Case::FullNatOut),
        Just(Case::SnatIn),
        Just(Case::SnatOut),
    ]
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        // Any flags but RST and SYN alone sometimes, so TOA has segments to go into.
        any::<u8>().prop_map(Kind::Tcp),
        Just(Kind::Tcp(ACK)),
        any::<bool>().prop_map(|csum| Kind::Udp { csum }),
        Just(Kind::Echo),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Every mode and direction forwards a well-formed packet of its connection, and what it
    /// emits has no stale checksum; [`forward_fragment`] on a whole packet likewise.
    #[test]
    fn no_forwarding_mode_emits_a_stale_checksum(
        p in parties(), case in case(), kind in kind(),
        payload in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let kind = match (kind, case) {
            // Echo flows exist through SNAT only.
            (Kind::Echo, Case::SnatIn | Case::SnatOut) | (Kind::Tcp(_) | Kind::Udp { .. }, _) => kind,
            (Kind::Echo, _) => Kind::Udp { csum: true },
        };
        let cx = p.ctx(case, kind.proto());
        let frame = p.arriving(case, kind, &payload).frame();
        let meta = crate::wire::Ipv4Meta::parse(&frame, L3).unwrap();
        let l4 = match kind {
            Kind::Tcp(_) => L4::Tcp,
            Kind::Udp { .. } => L4::Udp,
            Kind::Echo => L4::Echo { request: case.dir() == Direction::In },
        };
        for fragments in [false, true] {
            let mut b = frame_buf(&frame);
            let r = if fragments {
                forward_fragment(case.fwd(), &mut b, L3, &cx)
            } else {
                forward(case.fwd(), &mut b, L3, &cx)
            };
            prop_assert!(r.is_ok(), "{:?} {:?} refused: {:?}", case, kind, r);
            assert_fresh(&b, case);
            // The data path's entry, with the headers checked once upstream, does the same.
            for carried in [None, Some(l4)] {
                let mut c = frame_buf(&frame);
                let rc = if fragments {
                    forward_fragment_checked(case.fwd(), &mut c, &meta, carried, &cx)
                } else {
                    forward_checked(case.fwd(), &mut c, &meta, carried, &cx)
                };
                prop_assert_eq!(rc, r);
                prop_assert_eq!(c.data(), b.data());
            }
        }
    }

    /// Every mode's translation of an ICMP error about one of its connections emits no stale
    /// checksum: outer header, ICMP message, and the quoted header inside.
    #[test]
    fn no_icmp_error_translation_emits_a_stale_checksum(
        p in parties(), case in case(), udp in any::<bool>(), cut in any::<bool>(),
        router in any::<[u8; 4]>(), payload in proptest::collection::vec(any::<u8>(), 0..40),
    ) {
        let proto = if udp { 17 } else { 6 };
        let cx = p.ctx(case, proto);
        // The packet the error quotes travelled the other way: as the director sent it.
        let quoted_tuple = match case {
            Case::Dr | Case::Tun(_) => (p.v, p.c),
            _ => icmp::quoted_before(case.fwd(), &cx).unwrap(),
        };
        let build = |t: (SocketAddrV4, SocketAddrV4)| {
            if udp { Spec::udp(t.0, t.1, &payload).ip() } else { Spec::tcp(t.0, t.1, ACK, &payload).ip() }
        };
        let quoted = build(quoted_tuple);
        let quoted = if cut { quoted[..28].to_vec() } else { quoted };
        let to = quoted_tuple.0.ip().octets();
        let frame = icmp_error(router, to, 3, 3, [0; 4], &quoted);
        let mut b = frame_buf(&frame);
        let r = icmp::translate(case.fwd(), &mut b, L3, &cx);
        prop_assert!(r.is_ok(), "{:?} refused: {:?}", case, r);
        assert_fresh(&b, case);
        // The data path's entry, the error checked once upstream, does the same.
        let meta = crate::wire::Ipv4Meta::parse(&frame, L3).unwrap();
        let err = icmp::check_error(&frame, &meta).unwrap();
        let mut c = frame_buf(&frame);
        prop_assert_eq!(icmp::translate_checked(case.fwd(), &mut c, &err, &cx), r);
        prop_assert_eq!(c.data(), b.data());
    }

    /// The reset the balancer answers a SYN with (no dest) has fresh checksums.
    #[test]
    fn resets_have_fresh_checksums(
        c in sock(), v in sock(), flags in any::<u8>(),
        payload in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let flags = flags & !RST_FLAG;
        let mut b = frame_buf(&Spec::tcp(c, v, flags, &payload).frame());
        let ip = crate::wire::Ipv4Meta::parse(b.data(), L3).unwrap();
        prop_assert!(crate::ipvs::reset::reset_in_place(&mut b, &ip).is_some());
        prop_assert_eq!(verify_ipv4(&b.data()[L3..]), Ok(()));
    }
}

const RST_FLAG: u8 = 0x04;
