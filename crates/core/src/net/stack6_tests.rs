//! Tests of the stack's IPv6 half: DAD before use, ND answered and resolved through the stack,
//! ICMPv6 echo, ICMPv6 errors and their budget, the exception path for IPv6, drop reasons, and
//! every frame accounted for. Frames are built byte by byte; checksums are verified with the
//! test kit's independent sum.

use core::time::Duration;
use std::net::Ipv6Addr;

use proptest::prelude::*;

use super::*;
use crate::buf::VecBuf;
use crate::net::exception::{Exception, ExceptionParams};
use crate::net::nd::{DadState, NdParams};
use crate::net::neigh::{NeighParams, StaticNeigh};
use crate::net::route6::{IfAddr6, Route6};
use crate::net::testutil::*;
use crate::testkit::checksum as reference;
use crate::wire::ndisc::{self, FLAG_OVERRIDE, FLAG_SOLICITED};
use crate::wire::MacAddr;

fn a(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}
const HOST6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
const VIP6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x100);
const PEER6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 7);
const GW6: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
const GW_MAC: MacAddr = MacAddr([0x52, 0x54, 0, 0, 0, 0xfe]);

fn t(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

/// Port 0: 2001:db8::1/64 host and VIP 2001:db8::100; default route via fe80::1 on port 0
/// (a static neighbour). DAD: one probe, 1 s.
fn stack6(params: NdParams, kernel: bool) -> Stack<VecBuf> {
    let i = ifaces();
    let r = routes(&i);
    let addrs = Ipv6Addrs::new(
        vec![
            IfAddr6 { port: 0, ip: HOST6, prefix_len: 64, kind: AddrKind::Host },
            IfAddr6 { port: 0, ip: VIP6, prefix_len: 128, kind: AddrKind::Vip },
        ],
        &i,
    )
    .unwrap();
    let dflt = Route6 { prefix: Ipv6Addr::UNSPECIFIED, prefix_len: 0, port: 0, gateway: Some(GW6) };
    let routes6 = Route6Table::build(&i, &addrs, &[dflt]).unwrap();
    let statics = [StaticNeigh { ip: GW6, port: 0, mac: GW_MAC }];
    let nd = Nd::new(params, NeighParams::default(), &addrs.own_addrs(), &statics, t(0)).unwrap();
    let mut s = Stack::new(i, r, &[], NeighParams::default()).unwrap().with_ipv6(Ipv6Setup::new(
        Arc::new(addrs),
        Arc::new(routes6),
        nd,
    ));
    if kernel {
        s = s.with_exception(Exception::new(&[0], ExceptionParams::default(), Instant::ZERO));
    }
    s
}

/// [`stack6`] with DAD done (at 1 s) and the transmissions cleared.
fn ready(kernel: bool) -> (Stack<VecBuf>, TestIo) {
    let mut s = stack6(NdParams::default(), kernel);
    let mut io = TestIo::default();
    s.poll(t(0), &mut io);
    s.poll(t(1000), &mut io);
    assert_eq!(s.nd().unwrap().state(HOST6), Some(DadState::Preferred));
    io.tx.clear();
    s.take_nd_events();
    (s, io)
}

/// An Ethernet + IPv6 frame from PEER_MAC to `dst_mac`.
fn frame6(dst_mac: MacAddr, src: Ipv6Addr, dst: Ipv6Addr, nh: u8, hl: u8, l4: &[u8]) -> Vec<u8> {
    let mut ip = vec![0x60, 0, 0, 0];
    ip.extend_from_slice(&(l4.len() as u16).to_be_bytes());
    ip.extend_from_slice(&[nh, hl]);
    ip.extend_from_slice(&src.octets());
    ip.extend_from_slice(&dst.octets());
    ip.extend_from_slice(l4);
    eth(dst_mac, PEER_MAC, 0x86dd, &ip)
}

fn icmp6(src: Ipv6Addr, dst: Ipv6Addr, r: &Icmp6Repr<'_>) -> Vec<u8> {
    let mut m = vec![0u8; r.buffer_len()];
    r.emit(src, dst, &mut icmpv6::Packet::new_unchecked(&mut m[..])).unwrap();
    m
}

fn nd_frame(src: Ipv6Addr, dst: Ipv6Addr, msg: ndisc::Repr) -> Vec<u8> {
    let mut l4 = vec![0u8; msg.buffer_len()];
    msg.emit(src, dst, &mut l4).unwrap();
    let mac = if dst.is_multicast() { ndisc::multicast_mac(dst) } else { MAC0 };
    frame6(mac, src, dst, 58, 255, &l4)
}

fn echo_req(src: Ipv6Addr, dst: Ipv6Addr, data: &[u8]) -> Vec<u8> {
    let m = icmp6(src, dst, &Icmp6Repr::EchoRequest { ident: 0x2820, seq: 3, data });
    frame6(MAC0, src, dst, 58, 64, &m)
}

/// A sent frame's IPv6 packet, checked: Ethernet from MAC0, EtherType IPv6, ICMPv6 checksum
/// verified by the reference sum. Returns (eth dst, src, dst, hop limit, ICMPv6 bytes).
fn sent6(b: &VecBuf) -> (MacAddr, Ipv6Addr, Ipv6Addr, u8, Vec<u8>) {
    let e = EthernetFrame::new_checked(data(b)).unwrap();
    assert_eq!((e.src_addr(), e.ethertype()), (MAC0, EtherType::Ipv6));
    let ip = ipv6::Packet::new_checked(e.payload()).unwrap();
    assert_eq!(ip.next_header(), IpProtocol::ICMPV6);
    let (s, d) = (ip.src_addr(), ip.dst_addr());
    let ph = reference::pseudo_v6(s, d, 58, ip.payload().len());
    assert_eq!(reference::ones_sum(&[&ph, ip.payload()]), 0xffff, "ICMPv6 checksum");
    (e.dst_addr(), s, d, ip.hop_limit(), ip.payload().to_vec())
}

#[test]
fn without_ipv6_addresses_every_ipv6_frame_is_unknown_ethertype() {
    dropped_as(&echo_req(PEER6, HOST6, b"x"), 0, DropReason::UnknownEthertype);
    let mut s = stack();
    let mut io = TestIo::default();
    assert!(!s.send_icmpv6_error(&[0; 48], Icmp6Error::TimeExceeded, t(0), &mut io));
    s.send_ipv6(buf(&[0; 60]), PEER6, t(0), &mut io);
    assert_eq!(io.drop_reasons(), vec![DropReason::NoRoute]);
    assert!(s.nd_counters().is_none());
}

#[test]
fn dad_runs_before_an_address_is_used_then_it_is_announced() {
    let mut s = stack6(NdParams::default(), false);
    let mut io = TestIo::default();
    s.poll(t(0), &mut io);
    let probes: Vec<_> = io.tx.drain(..).map(|(_, b)| sent6(&b)).collect();
    assert_eq!(probes.len(), 2, "one DAD probe per address");
    for (mac, src, dst, hl, _) in &probes {
        assert_eq!((*src, *hl), (Ipv6Addr::UNSPECIFIED, 255));
        assert_eq!(*mac, ndisc::multicast_mac(*dst));
    }
    // Tentative: a ping is not answered.
    rx(&mut s, &mut io, 0, &echo_req(PEER6, HOST6, b"early"));
    assert_eq!(io.drop_reasons(), vec![DropReason::NotForUs]);
    assert!(io.tx.is_empty());
    s.poll(t(1000), &mut io);
    let announced: Vec<_> = io.tx.drain(..).map(|(_, b)| sent6(&b)).collect();
    assert_eq!(announced.len(), 2, "one unsolicited NA per address");
    assert!(announced.iter().all(|(_, _, d, _, _)| *d == a("ff02::1")));
    let c = s.counters();
    assert_eq!((c.nd.dad_sent, c.nd.na_announced), (2, 2));
    let ev = s.take_nd_events();
    assert!(ev.contains(&NdEvent::Ready { port: 0, addr: HOST6 }), "{ev:?}");
}

#[test]
fn dad_conflict_is_reported_counted_and_the_address_never_used() {
    let mut s = stack6(NdParams::default(), false);
    let mut io = TestIo::default();
    s.poll(t(0), &mut io);
    let other = MacAddr([0x52, 0x54, 0, 0, 0, 0x99]);
    let na =
        ndisc::Repr::NeighborAdvert { flags: FLAG_OVERRIDE, target: VIP6, target_ll: Some(other) };
    s.input(0, buf(&nd_frame(PEER6, a("ff02::1"), na)), t(10), &mut io);
    s.poll(t(1000), &mut io);
    assert_eq!(s.nd().unwrap().state(VIP6), Some(DadState::Duplicate));
    assert_eq!(s.counters().nd.dad_conflicts, 1);
    let ev = s.take_nd_events();
    assert!(ev.contains(&NdEvent::DadConflict { port: 0, addr: VIP6, mac: Some(other) }), "{ev:?}");
    io.tx.clear();
    io.dropped.clear();
    rx(&mut s, &mut io, 0, &echo_req(PEER6, VIP6, b"dup"));
    assert_eq!(io.drop_reasons(), vec![DropReason::NotForUs]);
    assert!(io.tx.is_empty());
}

#[test]
fn solicitation_for_an_own_address_is_answered_through_the_stack() {
    let (mut s, mut io) = ready(false);
    let ns = ndisc::Repr::NeighborSolicit { target: VIP6, source_ll: Some(PEER_MAC) };
    let f = nd_frame(PEER6, ndisc::solicited_node(VIP6), ns);
    assert!(matches!(s.input(0, buf(&f), t(2000), &mut io), Input::Consumed));
    assert_eq!(io.tx.len(), 1);
    let (mac, src, dst, hl, m) = sent6(&io.tx[0].1);
    assert_eq!((mac, src, dst, hl), (PEER_MAC, VIP6, PEER6, 255));
    let m = icmpv6::Packet::new_checked(&m[..]).unwrap();
    let want = FLAG_SOLICITED | FLAG_OVERRIDE;
    let na = ndisc::Repr::NeighborAdvert { flags: want, target: VIP6, target_ll: Some(MAC0) };
    assert_eq!(ndisc::Repr::parse(&m).unwrap(), na);
    assert_eq!(s.counters().nd.ns_answered, 1);
    assert_eq!(s.counters().nd.learned, 1, "the solicitor, addressed to us");
}

#[test]
fn echo_is_answered_after_resolving_the_requester_by_nd() {
    let (mut s, mut io) = ready(false);
    let payload = b"abcdefghijklmnopqrstuvwxyz";
    let f = echo_req(PEER6, HOST6, payload);
    assert!(matches!(s.input(0, buf(&f), t(2000), &mut io), Input::Consumed));
    // The reply waits for PEER6's link-layer address: one NS, from our address.
    assert_eq!(io.tx.len(), 1);
    let (mac, src, dst, _, m) = sent6(&io.tx[0].1);
    assert_eq!((mac, src, dst), (ndisc::multicast_mac(dst), HOST6, ndisc::solicited_node(PEER6)));
    let m = icmpv6::Packet::new_checked(&m[..]).unwrap();
    assert_eq!(
        ndisc::Repr::parse(&m).unwrap(),
        ndisc::Repr::NeighborSolicit { target: PEER6, source_ll: Some(MAC0) }
    );
    io.tx.clear();
    let na = ndisc::Repr::NeighborAdvert {
        flags: FLAG_SOLICITED | FLAG_OVERRIDE,
        target: PEER6,
        target_ll: Some(PEER_MAC),
    };
    s.input(0, buf(&nd_frame(PEER6, HOST6, na)), t(2001), &mut io);
    assert_eq!(io.tx.len(), 1, "the queued reply is released");
    let (mac, src, dst, hl, m) = sent6(&io.tx[0].1);
    assert_eq!((mac, src, dst, hl), (PEER_MAC, HOST6, PEER6, 64));
    let m = icmpv6::Packet::new_checked(&m[..]).unwrap();
    assert_eq!(
        Icmp6Repr::parse(&m).unwrap(),
        Icmp6Repr::EchoReply { ident: 0x2820, seq: 3, data: payload }
    );
    assert_eq!(s.counters().echo6_replies, 1);
    assert_eq!(s.counters().neigh_released, 1);
    // Resolved now: the next ping is answered at once.
    io.tx.clear();
    s.input(0, buf(&echo_req(PEER6, VIP6, b"2")), t(2002), &mut io);
    assert_eq!(io.tx.len(), 1);
    assert_eq!(sent6(&io.tx[0].1).1, VIP6, "from the pinged address");
}

#[test]
fn own_address_drops_name_their_reason() {
    let cases: Vec<(Vec<u8>, DropReason)> = vec![
        (frame6(MAC0, PEER6, VIP6, 17, 64, &[0; 8]), DropReason::NoService),
        (frame6(MAC0, PEER6, HOST6, 6, 64, &[0; 20]), DropReason::NotForUs),
        (frame6(MAC0, a("ff02::9"), HOST6, 17, 64, &[0; 8]), DropReason::Ipv6BadSource),
        (frame6(MAC0, Ipv6Addr::UNSPECIFIED, HOST6, 17, 64, &[0; 8]), DropReason::Ipv6BadSource),
        // A fragment header (first fragment, more follow) before ICMPv6.
        (
            frame6(
                MAC0,
                PEER6,
                HOST6,
                44,
                64,
                &[58, 0, 0, 1, 0, 0, 0, 9, 128, 0, 0, 0, 0, 0, 0, 0],
            ),
            DropReason::Ipv6Fragment,
        ),
        (
            frame6(
                MAC0,
                PEER6,
                HOST6,
                58,
                64,
                &icmp6(PEER6, HOST6, &Icmp6Repr::DstUnreachable { code: 4, invoking: &[0x60; 48] }),
            ),
            DropReason::IcmpUnsupported,
        ),
        (frame6(MAC0, PEER6, HOST6, 58, 64, &[128, 0, 0, 0]), DropReason::IcmpMalformed),
        (frame6(MAC0, PEER6, HOST6, 0, 64, &[17, 0, 0, 0]), DropReason::Ipv6Malformed),
        (eth(MAC0, PEER_MAC, 0x86dd, &[0x60; 30]), DropReason::Ipv6Malformed),
        (frame6(MAC0, PEER6, a("2001:db8::99"), 17, 64, &[0; 8]), DropReason::NotForUs),
        (frame6(MAC0, PEER6, a("fe80::99"), 17, 64, &[0; 8]), DropReason::NotForUs),
    ];
    let mut bad_sum = echo_req(PEER6, HOST6, b"x");
    let n = bad_sum.len();
    bad_sum[n - 1] ^= 1;
    for (f, reason) in cases.into_iter().chain([(bad_sum, DropReason::IcmpBadChecksum)]) {
        let (mut s, mut io) = ready(false);
        assert!(matches!(s.input(0, buf(&f), t(2000), &mut io), Input::Consumed));
        assert_eq!(io.drop_reasons(), vec![reason], "{f:02x?}");
        assert!(io.tx.is_empty() && io.kernel.is_empty());
        assert_eq!(s.counters().drop_count(reason), 1);
    }
}

#[test]
fn the_kernel_gets_its_link_local_multicast_routers_and_neighbours() {
    let (mut s, mut io) = ready(true);
    let ll = a("fe80::2");
    let mld = frame6(
        MacAddr([0x33, 0x33, 0, 0, 0, 0x16]),
        ll,
        a("ff02::16"),
        0,
        1,
        &[58, 0, 5, 2, 0, 0, 1, 0, 143, 0, 0, 0, 0, 0, 0, 0],
    );
    let kernel_frames = vec![
        echo_req(PEER6, ll, b"to the kernel's link-local"),
        frame6(MAC0, PEER6, a("2001:db8::99"), 6, 64, &[0; 20]),
        mld,
        nd_frame(
            ll,
            a("ff02::1"),
            ndisc::Repr::RouterAdvert {
                hop_limit: 64,
                flags: 0,
                lifetime: 1800,
                reachable_ms: 0,
                retrans_ms: 0,
                source_ll: Some(PEER_MAC),
            },
        ),
        nd_frame(
            PEER6,
            ndisc::solicited_node(ll),
            ndisc::Repr::NeighborSolicit { target: ll, source_ll: Some(PEER_MAC) },
        ),
        nd_frame(
            PEER6,
            ll,
            ndisc::Repr::NeighborAdvert {
                flags: FLAG_SOLICITED,
                target: PEER6,
                target_ll: Some(PEER_MAC),
            },
        ),
    ];
    for f in &kernel_frames {
        s.input(0, buf(f), t(2000), &mut io);
        let (port, got) = io.kernel.pop().unwrap_or_else(|| panic!("to the kernel: {f:02x?}"));
        assert_eq!((port, data(&got)), (0, &f[..]));
    }
    assert!(io.tx.is_empty() && io.dropped.is_empty());
    // ND for the director's own addresses stays the director's, kernel or not.
    let ns = ndisc::Repr::NeighborSolicit { target: HOST6, source_ll: Some(PEER_MAC) };
    s.input(0, buf(&nd_frame(PEER6, ndisc::solicited_node(HOST6), ns)), t(2000), &mut io);
    assert!(io.kernel.is_empty());
    assert_eq!(io.tx.len(), 1);
    assert_eq!(s.counters().nd.ns_answered, 1);
}

#[test]
fn icmpv6_errors_quote_refuse_and_are_rate_limited() {
    let (s0, _) = ready(false);
    let mut s = s0.with_icmp_error_limit(10, 4, Instant::ZERO);
    let mut io = TestIo::default();
    let client = a("2001:db8:9::5");
    let off = frame6(MAC0, client, VIP6, 17, 64, &[9; 1400])[14..].to_vec();
    assert!(s.send_icmpv6_error(&off, Icmp6Error::PacketTooBig { mtu: 1280 }, t(2000), &mut io));
    let (mac, src, dst, hl, m) = sent6(&io.tx[0].1);
    assert_eq!(
        (mac, src, dst, hl),
        (GW_MAC, HOST6, client, 64),
        "via the gateway, from the port's address"
    );
    assert_eq!(m.len(), 1280 - 40, "cut to the minimum MTU");
    let pm = icmpv6::Packet::new_checked(&m[..]).unwrap();
    assert_eq!(
        Icmp6Repr::parse(&pm).unwrap(),
        Icmp6Repr::PacketTooBig { mtu: 1280, invoking: &off[..1280 - 48] }
    );
    // Never about an ICMPv6 error, a multicast or unspecified source, or (but for packet too
    // big) a multicast destination.
    let err = frame6(
        MAC0,
        client,
        VIP6,
        58,
        64,
        &icmp6(client, VIP6, &Icmp6Repr::TimeExceeded { code: 0, invoking: &[0x60; 48] }),
    )[14..]
        .to_vec();
    let msrc = frame6(MAC0, a("ff02::1"), VIP6, 17, 64, &[0; 8])[14..].to_vec();
    let mdst = frame6(MAC0, client, a("ff05::2"), 17, 64, &[0; 8])[14..].to_vec();
    for o in [&err, &msrc, &mdst] {
        assert!(!s.send_icmpv6_error(o, Icmp6Error::TimeExceeded, t(2000), &mut io));
    }
    assert!(s.send_icmpv6_error(&mdst, Icmp6Error::PacketTooBig { mtu: 1400 }, t(2000), &mut io));
    let sent = (0..10)
        .filter(|_| s.send_icmpv6_error(&off, Icmp6Error::DstUnreachable(1), t(2000), &mut io))
        .count();
    assert_eq!(sent, 2, "the rest of the burst of 4");
    assert_eq!((s.counters().icmp6_errors_sent, s.counters().icmp6_errors_limited), (4, 8));
    assert!(
        s.send_icmpv6_error(
            &off,
            Icmp6Error::TimeExceeded,
            t(2000) + Duration::from_millis(100),
            &mut io
        ),
        "refilled"
    );
    assert_eq!(io.tx.len(), 5);
}

fn arb_frame6() -> impl Strategy<Value = Vec<u8>> {
    let addrs = prop_oneof![
        Just(HOST6),
        Just(VIP6),
        Just(PEER6),
        Just(GW6),
        Just(a("ff02::1")),
        Just(a("fe80::2")),
        Just(Ipv6Addr::UNSPECIFIED),
        any::<u128>().prop_map(Ipv6Addr::from)
    ];
    let nd =
        (addrs.clone(), addrs.clone(), addrs.clone(), 0u8..4).prop_map(|(src, dst, target, k)| {
            let msg = match k {
                0 => ndisc::Repr::NeighborSolicit { target, source_ll: Some(PEER_MAC) },
                1 => ndisc::Repr::NeighborAdvert {
                    flags: FLAG_SOLICITED | FLAG_OVERRIDE,
                    target,
                    target_ll: Some(PEER_MAC),
                },
                2 => ndisc::Repr::NeighborSolicit { target, source_ll: None },
                _ => ndisc::Repr::RouterSolicit { source_ll: None },
            };
            nd_frame(src, dst, msg)
        });
    let echo = (addrs.clone(), addrs.clone(), proptest::collection::vec(any::<u8>(), 0..40))
        .prop_map(|(src, dst, d)| echo_req(src, dst, &d));
    let other = (addrs.clone(), addrs, any::<u8>(), proptest::collection::vec(any::<u8>(), 0..60))
        .prop_map(|(src, dst, nh, l4)| frame6(MAC0, src, dst, nh, 64, &l4));
    let raw = proptest::collection::vec(any::<u8>(), 0..100)
        .prop_map(|b| eth(MAC0, PEER_MAC, 0x86dd, &b));
    prop_oneof![nd, echo, other, raw]
}

proptest! {
    #[test]
    fn every_ipv6_frame_is_accounted_for(
        frames in proptest::collection::vec((arb_frame6(), 0u64..1500), 0..40),
        kernel: bool,
        budget in proptest::option::of(0usize..6),
    ) {
        let mut s = stack6(NdParams::default(), kernel);
        let mut io = TestIo { alloc_budget: budget, ..TestIo::default() };
        let mut now = t(0);
        let mut inputs = 0usize;
        for (f, step) in frames {
            now = now + Duration::from_millis(step);
            s.poll(now, &mut io);
            inputs += 1;
            prop_assert!(matches!(s.input(0, buf(&f), now, &mut io), Input::Consumed));
            let pending = s.nd_pending_len();
            prop_assert_eq!(
                inputs + io.allocs,
                io.tx.len() + io.dropped.len() + io.freed.len() + io.kernel.len() + pending
            );
        }
        s.flush(&mut io);
        prop_assert_eq!(inputs + io.allocs, io.tx.len() + io.dropped.len() + io.freed.len() + io.kernel.len());
    }
}

#[test]
fn copies_from_another_core_teach_dad_and_resolution_and_answer_nothing() {
    // A conflict answer that RSS gave to another core still marks the address duplicate here.
    let mut s = stack6(NdParams::default(), false);
    let mut io = TestIo::default();
    s.poll(t(0), &mut io);
    io.tx.clear();
    let other = MacAddr([0x52, 0x54, 0, 0, 0, 0x99]);
    let na =
        ndisc::Repr::NeighborAdvert { flags: FLAG_OVERRIDE, target: VIP6, target_ll: Some(other) };
    let f = nd_frame(PEER6, a("ff02::1"), na);
    assert!(is_nd_frame(&f) && !is_nd_frame(&echo_req(PEER6, HOST6, b"x")));
    s.observe_arp(0, buf(&f), t(10), &mut io);
    assert_eq!(s.nd().unwrap().state(VIP6), Some(DadState::Duplicate));
    assert_eq!(s.counters().nd.dad_conflicts, 1);
    // An answer to this core's resolution, received by another core, releases what waited.
    let (mut s, mut io) = ready(false);
    s.input(0, buf(&echo_req(PEER6, HOST6, b"q")), t(2000), &mut io);
    assert_eq!(s.nd_pending_len(), 1);
    io.tx.clear();
    let na = ndisc::Repr::NeighborAdvert {
        flags: FLAG_SOLICITED | FLAG_OVERRIDE,
        target: PEER6,
        target_ll: Some(PEER_MAC),
    };
    s.observe_arp(0, buf(&nd_frame(PEER6, HOST6, na)), t(2001), &mut io);
    assert_eq!((s.nd_pending_len(), io.tx.len()), (0, 1), "the echo reply went out");
    assert_eq!(sent6(&io.tx[0].1).0, PEER_MAC);
    // A solicitation for our address seen as a copy: learned, not answered, nothing dropped.
    let (mut s, mut io) = ready(false);
    let ns = ndisc::Repr::NeighborSolicit { target: HOST6, source_ll: Some(PEER_MAC) };
    s.observe_arp(0, buf(&nd_frame(PEER6, ndisc::solicited_node(HOST6), ns)), t(2000), &mut io);
    assert!(io.tx.is_empty() && io.dropped.is_empty());
    assert_eq!((s.counters().nd.ns_answered, s.counters().nd.learned), (0, 1));
    assert_eq!(io.freed.len(), 1);
    // Without IPv6 a copy is only freed.
    let mut s = stack();
    let mut io = TestIo::default();
    s.observe_arp(0, buf(&f), t(0), &mut io);
    assert_eq!((io.freed.len(), io.dropped.len()), (1, 0));
}
