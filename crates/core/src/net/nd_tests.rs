//! Tests of [`super::Nd`]: DAD, answers, resolution, and ARP's hardening rules for IPv6.

use core::time::Duration;
use std::net::Ipv6Addr;

use proptest::prelude::*;

use super::*;
use crate::buf::{PacketBuf, VecBuf};
use crate::net::counters::NetCounters;
use crate::net::iface::IfaceTable;
use crate::net::neigh::{NeighState, Resolution};
use crate::net::testutil::{ifaces, TestIo, MAC0, PEER_MAC};
use crate::testkit::checksum as reference;

fn a(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}
const HOST: OwnAddr =
    OwnAddr { port: 0, addr: Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1), prefix_len: 64 };
const VIP: OwnAddr =
    OwnAddr { port: 0, addr: Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x100), prefix_len: 128 };
const PEER: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 7);
const OTHER_MAC: MacAddr = MacAddr([0x52, 0x54, 0, 0, 0, 0x99]);

fn t(ms: u64) -> Instant {
    Instant::from_micros(ms * 1000)
}

struct Fx {
    ifaces: IfaceTable,
    counters: NetCounters,
    io: TestIo,
    nd: Nd<VecBuf>,
}

impl Fx {
    fn new(params: NdParams, neigh: NeighParams) -> Fx {
        Fx {
            ifaces: ifaces(),
            counters: NetCounters::default(),
            io: TestIo::default(),
            nd: Nd::new(params, neigh, &[HOST, VIP], &[], t(0)).unwrap(),
        }
    }
    /// DAD done for both addresses (one solicitation each, then 1 s), transmissions cleared.
    fn ready() -> Fx {
        let mut f = Fx::new(NdParams::default(), NeighParams::default());
        f.start(t(0));
        f.poll(t(1000));
        assert!(f.nd.is_usable(HOST.addr, 0) && f.nd.is_usable(VIP.addr, 0));
        f.io.tx.clear();
        f.nd.take_events();
        f
    }
    fn ctx(&mut self) -> (&mut Nd<VecBuf>, Ctx<'_, TestIo>) {
        let ctx = Ctx { ifaces: &self.ifaces, counters: &mut self.counters, io: &mut self.io };
        (&mut self.nd, ctx)
    }
    fn start(&mut self, now: Instant) {
        let (nd, mut ctx) = self.ctx();
        nd.start(now, &mut ctx);
    }
    fn poll(&mut self, now: Instant) {
        let (nd, mut ctx) = self.ctx();
        nd.poll(now, &mut ctx);
    }
    fn rx(&mut self, frame: Vec<u8>, now: Instant) {
        let (nd, mut ctx) = self.ctx();
        nd.input(VecBuf::from_slice(&frame), 0, now, &mut ctx);
    }
    /// The ND messages sent: (eth dst, ip src, ip dst, message), each frame checked whole.
    fn sent(&self) -> Vec<(MacAddr, Ipv6Addr, Ipv6Addr, ndisc::Repr)> {
        self.io
            .tx
            .iter()
            .map(|(port, b)| {
                assert_eq!(*port, 0);
                let e = EthernetFrame::new_checked(b.data()).unwrap();
                assert_eq!((e.src_addr(), e.ethertype()), (MAC0, EtherType::Ipv6));
                let ip = ipv6::Packet::new_checked(e.payload()).unwrap();
                assert_eq!((ip.hop_limit(), ip.next_header()), (255, IpProtocol::ICMPV6));
                let (s, d) = (ip.src_addr(), ip.dst_addr());
                let ph = reference::pseudo_v6(s, d, 58, ip.payload().len());
                assert_eq!(reference::ones_sum(&[&ph, ip.payload()]), 0xffff, "checksum");
                if d.is_multicast() {
                    assert_eq!(e.dst_addr(), ndisc::multicast_mac(d));
                }
                let m = icmpv6::Packet::new_checked(ip.payload()).unwrap();
                let r = ndisc::Repr::parse(&m).unwrap();
                r.validate(s, d, 255).unwrap();
                (e.dst_addr(), s, d, r)
            })
            .collect()
    }
}

/// An ND frame from `mac`/`src` to `dst` with hop limit `hl`.
fn frame(mac: MacAddr, src: Ipv6Addr, dst: Ipv6Addr, hl: u8, msg: ndisc::Repr) -> Vec<u8> {
    let mut l4 = vec![0u8; msg.buffer_len()];
    msg.emit(src, dst, &mut l4).unwrap();
    let mut f = Vec::new();
    let edst = if dst.is_multicast() { ndisc::multicast_mac(dst) } else { MAC0 };
    f.extend_from_slice(&edst.octets());
    f.extend_from_slice(&mac.octets());
    f.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0]);
    f.extend_from_slice(&(l4.len() as u16).to_be_bytes());
    f.extend_from_slice(&[58, hl]);
    f.extend_from_slice(&src.octets());
    f.extend_from_slice(&dst.octets());
    f.extend_from_slice(&l4);
    f
}

fn ns(target: Ipv6Addr, sll: Option<MacAddr>) -> ndisc::Repr {
    ndisc::Repr::NeighborSolicit { target, source_ll: sll }
}
fn na(flags: u8, target: Ipv6Addr, tll: Option<MacAddr>) -> ndisc::Repr {
    ndisc::Repr::NeighborAdvert { flags, target, target_ll: tll }
}

#[test]
fn dad_probes_from_unspecified_then_announces() {
    let mut f = Fx::new(NdParams::default(), NeighParams::default());
    f.start(t(0));
    let sent = f.sent();
    assert_eq!(sent.len(), 2);
    for ((_, src, dst, r), own) in sent.iter().zip([HOST, VIP]) {
        assert!(src.is_unspecified());
        assert_eq!(*dst, ndisc::solicited_node(own.addr));
        assert_eq!(*r, ns(own.addr, None));
    }
    assert_eq!(f.nd.state(HOST.addr), Some(DadState::Tentative { sent: 1, next: t(1000) }));
    assert!(!f.nd.is_usable(HOST.addr, 0));
    f.io.tx.clear();
    f.poll(t(999));
    assert!(f.io.tx.is_empty() && f.nd.take_events().is_empty());
    f.poll(t(1000));
    assert_eq!(
        f.nd.take_events(),
        vec![
            NdEvent::Ready { port: 0, addr: HOST.addr },
            NdEvent::Ready { port: 0, addr: VIP.addr }
        ]
    );
    let sent = f.sent();
    assert_eq!(sent.len(), 2);
    for ((_, src, dst, r), own) in sent.iter().zip([HOST, VIP]) {
        assert_eq!((*src, *dst), (own.addr, a("ff02::1")));
        assert_eq!(*r, na(FLAG_OVERRIDE, own.addr, Some(MAC0)));
    }
    assert_eq!((f.nd.counters().dad_sent, f.nd.counters().na_announced), (2, 2));
}

#[test]
fn without_dad_addresses_are_usable_at_start() {
    let p = NdParams { dad_transmits: 0, unsolicited_na: 3, ..NdParams::default() };
    let mut f = Fx::new(p, NeighParams::default());
    f.start(t(0));
    assert!(f.nd.is_usable(HOST.addr, 0));
    assert_eq!(f.sent().len(), 6, "three unsolicited advertisements per address");
}

#[test]
fn a_dad_probe_or_an_advertisement_for_a_tentative_address_is_a_conflict() {
    let mut f = Fx::new(NdParams::default(), NeighParams::default());
    f.start(t(0));
    f.io.tx.clear();
    let sn = ndisc::solicited_node(HOST.addr);
    f.rx(frame(OTHER_MAC, Ipv6Addr::UNSPECIFIED, sn, 255, ns(HOST.addr, None)), t(10));
    f.rx(
        frame(OTHER_MAC, VIP.addr, a("ff02::1"), 255, na(FLAG_OVERRIDE, VIP.addr, Some(OTHER_MAC))),
        t(20),
    );
    assert_eq!(
        f.nd.take_events(),
        vec![
            NdEvent::DadConflict { port: 0, addr: HOST.addr, mac: Some(OTHER_MAC) },
            NdEvent::DadConflict { port: 0, addr: VIP.addr, mac: Some(OTHER_MAC) },
        ]
    );
    f.poll(t(5000));
    assert_eq!(f.nd.state(HOST.addr), Some(DadState::Duplicate));
    assert!(!f.nd.is_usable(HOST.addr, 0) && !f.nd.is_usable(VIP.addr, 0));
    assert!(f.io.tx.is_empty(), "a duplicate address is never announced");
    // Nor answered for.
    f.rx(frame(PEER_MAC, PEER, sn, 255, ns(HOST.addr, Some(PEER_MAC))), t(6000));
    assert!(f.io.tx.is_empty());
    assert_eq!(f.nd.counters().dad_conflicts, 2);
}

#[test]
fn a_tentative_address_is_not_answered_for() {
    let mut f = Fx::new(NdParams::default(), NeighParams::default());
    f.start(t(0));
    f.io.tx.clear();
    f.rx(
        frame(PEER_MAC, PEER, ndisc::solicited_node(HOST.addr), 255, ns(HOST.addr, Some(PEER_MAC))),
        t(10),
    );
    assert!(f.io.tx.is_empty());
    assert!(f.nd.take_events().is_empty(), "a solicitation from a real source is no conflict");
}

#[test]
fn solicitations_for_our_addresses_are_answered_and_their_sender_learned() {
    let mut f = Fx::ready();
    let sn = ndisc::solicited_node(VIP.addr);
    f.rx(frame(PEER_MAC, PEER, sn, 255, ns(VIP.addr, Some(PEER_MAC))), t(2000));
    let sent = f.sent();
    assert_eq!(
        sent,
        vec![(PEER_MAC, VIP.addr, PEER, na(FLAG_SOLICITED | FLAG_OVERRIDE, VIP.addr, Some(MAC0)))]
    );
    assert_eq!(f.nd.counters().ns_answered, 1);
    assert_eq!(f.nd.table().resolve(PEER, 0, t(2000)), Resolution::Resolved(PEER_MAC));
    let e = f.nd.table().entries();
    assert_eq!((e.len(), e[0].state), (1, NeighState::Stale), "unconfirmed, as ARP learns it");
    assert_eq!(f.io.freed.len(), 1);
}

#[test]
fn a_unicast_probe_without_the_option_is_answered_to_the_frames_source() {
    let mut f = Fx::ready();
    f.rx(frame(PEER_MAC, PEER, HOST.addr, 255, ns(HOST.addr, None)), t(2000));
    let sent = f.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!((sent[0].0, sent[0].2), (PEER_MAC, PEER));
    assert!(f.nd.table().entries().is_empty(), "nothing to learn without the option");
}

#[test]
fn another_nodes_dad_for_our_address_is_defended() {
    let mut f = Fx::ready();
    let sn = ndisc::solicited_node(HOST.addr);
    f.rx(frame(OTHER_MAC, Ipv6Addr::UNSPECIFIED, sn, 255, ns(HOST.addr, None)), t(2000));
    assert_eq!(
        f.sent(),
        vec![(
            ndisc::multicast_mac(a("ff02::1")),
            HOST.addr,
            a("ff02::1"),
            na(FLAG_OVERRIDE, HOST.addr, Some(MAC0))
        )]
    );
    assert!(f.nd.is_usable(HOST.addr, 0));
}

#[test]
fn an_advertisement_for_an_address_in_use_is_reported() {
    let mut f = Fx::ready();
    f.rx(
        frame(
            OTHER_MAC,
            HOST.addr,
            a("ff02::1"),
            255,
            na(FLAG_OVERRIDE, HOST.addr, Some(OTHER_MAC)),
        ),
        t(2000),
    );
    assert_eq!(
        f.nd.take_events(),
        vec![NdEvent::Conflict { port: 0, addr: HOST.addr, mac: Some(OTHER_MAC) }]
    );
    assert!(f.nd.table().entries().is_empty());
}

#[test]
fn resolution_solicits_the_solicited_node_address_and_releases_on_the_answer() {
    let mut f = Fx::ready();
    let mut pkt = VecBuf::from_slice(&[0u8; 60]);
    pkt.data_mut()[12..14].copy_from_slice(&[0x86, 0xdd]);
    {
        let (nd, mut ctx) = f.ctx();
        nd.table().output(pkt, PEER, 0, t(2000), &mut ctx);
    }
    assert_eq!(
        f.sent(),
        vec![(
            ndisc::multicast_mac(ndisc::solicited_node(PEER)),
            HOST.addr,
            ndisc::solicited_node(PEER),
            ns(PEER, Some(MAC0))
        )]
    );
    f.io.tx.clear();
    f.rx(frame(PEER_MAC, PEER, HOST.addr, 255, na(FLAG_SOLICITED, PEER, Some(PEER_MAC))), t(2010));
    assert_eq!(f.io.tx.len(), 1, "the queued packet leaves");
    let e = EthernetFrame::new_checked(f.io.tx[0].1.data()).unwrap();
    assert_eq!((e.dst_addr(), e.src_addr()), (PEER_MAC, MAC0));
    assert_eq!(f.nd.table().entries()[0].state, NeighState::Reachable);
}

#[test]
fn resolution_probes_again_and_gives_up() {
    let mut f = Fx::ready();
    let pkt = VecBuf::from_slice(&[0u8; 60]);
    {
        let (nd, mut ctx) = f.ctx();
        nd.table().output(pkt, PEER, 0, t(2000), &mut ctx);
    }
    for s in 3..=6 {
        f.poll(t(s * 1000));
    }
    assert_eq!(f.sent().len(), 3, "probes = 3 solicitations");
    assert_eq!(f.io.drop_reasons(), vec![DropReason::NeighUnresolved]);
}

#[test]
fn nothing_is_learned_from_messages_not_addressed_to_us() {
    let mut f = Fx::ready();
    // A solicitation for another host, an unsolicited advertisement, an off-link sender.
    f.rx(
        frame(
            PEER_MAC,
            PEER,
            ndisc::solicited_node(a("2001:db8::9")),
            255,
            ns(a("2001:db8::9"), Some(PEER_MAC)),
        ),
        t(2000),
    );
    f.rx(
        frame(PEER_MAC, PEER, a("ff02::1"), 255, na(FLAG_OVERRIDE, PEER, Some(PEER_MAC))),
        t(2001),
    );
    let far = a("2001:db9::5");
    f.rx(
        frame(PEER_MAC, far, ndisc::solicited_node(HOST.addr), 255, ns(HOST.addr, Some(PEER_MAC))),
        t(2002),
    );
    assert!(f.nd.table().entries().is_empty());
    assert_eq!(f.nd.counters().off_link, 1);
    assert_eq!(f.nd.counters().ns_answered, 1, "the off-link sender is answered, not learned");
    // A known neighbour is refreshed by an unsolicited advertisement with a new MAC.
    f.rx(
        frame(PEER_MAC, PEER, ndisc::solicited_node(HOST.addr), 255, ns(HOST.addr, Some(PEER_MAC))),
        t(2003),
    );
    f.rx(
        frame(OTHER_MAC, PEER, a("ff02::1"), 255, na(FLAG_OVERRIDE, PEER, Some(OTHER_MAC))),
        t(2004),
    );
    assert_eq!(f.nd.table().resolve(PEER, 0, t(2004)), Resolution::Resolved(OTHER_MAC));
}

#[test]
fn invalid_messages_are_dropped() {
    let mut f = Fx::ready();
    let sn = ndisc::solicited_node(HOST.addr);
    f.rx(frame(PEER_MAC, PEER, sn, 64, ns(HOST.addr, Some(PEER_MAC))), t(2000));
    let mut bad = frame(PEER_MAC, PEER, sn, 255, ns(HOST.addr, Some(PEER_MAC)));
    let n = bad.len();
    bad[n - 1] ^= 1;
    f.rx(bad, t(2001));
    f.rx(frame(MAC0, PEER, sn, 255, ns(HOST.addr, Some(PEER_MAC))), t(2002));
    assert_eq!(
        f.io.drop_reasons(),
        vec![DropReason::IcmpMalformed, DropReason::IcmpBadChecksum, DropReason::NotForUs]
    );
    assert!(f.io.tx.is_empty());
}

#[test]
fn router_messages_are_ignored() {
    let mut f = Fx::ready();
    let rs = ndisc::Repr::RouterSolicit { source_ll: Some(PEER_MAC) };
    f.rx(frame(PEER_MAC, a("fe80::7"), a("ff02::2"), 255, rs), t(2000));
    let ra = ndisc::Repr::RouterAdvert {
        hop_limit: 64,
        flags: 0,
        lifetime: 1800,
        reachable_ms: 0,
        retrans_ms: 0,
        source_ll: Some(PEER_MAC),
    };
    f.rx(frame(PEER_MAC, a("fe80::7"), a("ff02::1"), 255, ra), t(2001));
    assert_eq!(f.nd.counters().router_ignored, 2);
    assert!(f.io.tx.is_empty() && f.nd.table().entries().is_empty());
    assert_eq!(f.io.freed.len(), 2);
}

#[test]
fn the_rate_limit_spares_answers_to_our_own_resolution() {
    let p = NdParams { rate: 1, burst: 2, dad_transmits: 0, ..NdParams::default() };
    let mut f = Fx::new(p, NeighParams::default());
    f.start(t(0));
    f.io.tx.clear();
    let sn = ndisc::solicited_node(HOST.addr);
    for i in 0..5u64 {
        f.rx(frame(PEER_MAC, PEER, sn, 255, ns(HOST.addr, Some(PEER_MAC))), t(i));
    }
    assert_eq!(f.nd.counters().rate_limited, 3);
    let peer2 = a("2001:db8::8");
    {
        let (nd, mut ctx) = f.ctx();
        nd.table().output(VecBuf::from_slice(&[0u8; 60]), peer2, 0, t(10), &mut ctx);
    }
    f.rx(
        frame(OTHER_MAC, peer2, HOST.addr, 255, na(FLAG_SOLICITED, peer2, Some(OTHER_MAC))),
        t(11),
    );
    assert_eq!(f.nd.counters().rate_limited, 3);
    assert_eq!(f.nd.table().resolve(peer2, 0, t(11)), Resolution::Resolved(OTHER_MAC));
}

#[test]
fn a_full_table_recycles_unconfirmed_entries_only() {
    let neigh = NeighParams { max_entries: 2, ..NeighParams::default() };
    let mut f = Fx::new(NdParams::default(), neigh);
    f.start(t(0));
    f.poll(t(1000));
    let sn = ndisc::solicited_node(HOST.addr);
    for (i, host) in [7u16, 8, 9].iter().enumerate() {
        let ip = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, *host);
        f.rx(frame(PEER_MAC, ip, sn, 255, ns(HOST.addr, Some(PEER_MAC))), t(2000 + i as u64));
    }
    let mut ips: Vec<Ipv6Addr> = f.nd.table().entries().iter().map(|e| e.ip).collect();
    ips.sort();
    assert_eq!(ips, vec![a("2001:db8::8"), a("2001:db8::9")], "the oldest went");
}

#[test]
fn construction_refusals() {
    let new = |addrs: &[OwnAddr]| {
        Nd::<VecBuf>::new(NdParams::default(), NeighParams::default(), addrs, &[], t(0)).err()
    };
    let m = OwnAddr { addr: a("ff02::1"), ..HOST };
    assert_eq!(new(&[m]), Some(NdError::BadAddr(m.addr)));
    let p = OwnAddr { prefix_len: 129, ..HOST };
    assert!(matches!(new(&[p]), Some(NdError::BadPrefix { .. })));
    assert_eq!(new(&[HOST, HOST]), Some(NdError::Duplicate(HOST.addr)));
    assert_eq!(
        NdError::Duplicate(HOST.addr).to_string(),
        "IPv6 address 2001:db8::1 is configured twice"
    );
    let bad_neigh = NeighParams { max_entries: 0, ..NeighParams::default() };
    assert!(matches!(
        Nd::<VecBuf>::new(NdParams::default(), bad_neigh, &[HOST], &[], t(0)),
        Err(NdError::Neigh(_))
    ));
}

#[test]
fn dad_waits_retrans_between_probes() {
    let p = NdParams {
        dad_transmits: 3,
        dad_retrans: Duration::from_millis(500),
        ..NdParams::default()
    };
    let mut f = Fx::new(p, NeighParams::default());
    f.start(t(0));
    f.poll(t(500));
    f.poll(t(1000));
    assert_eq!(f.nd.counters().dad_sent, 6);
    assert!(!f.nd.is_usable(HOST.addr, 0));
    f.poll(t(1500));
    assert!(f.nd.is_usable(HOST.addr, 0));
}

proptest! {
    /// Whatever follows a valid Ethernet/IPv6 header, input never panics and the frame ends in
    /// exactly one place (freed or dropped with a reason).
    #[test]
    fn any_frame_ends_in_one_place(
        tail in proptest::collection::vec(any::<u8>(), 0..120), ty in 133u8..=137,
        hl in prop_oneof![Just(255u8), any::<u8>()],
    ) {
        let mut f = Fx::ready();
        let mut fr = frame(PEER_MAC, PEER, HOST.addr, hl, ns(HOST.addr, Some(PEER_MAC)));
        fr.truncate(54);
        fr.extend_from_slice(&[ty, 0, 0, 0]);
        fr.extend_from_slice(&tail);
        let plen = (fr.len() - 54) as u16;
        fr[18..20].copy_from_slice(&plen.to_be_bytes());
        f.rx(fr, t(2000));
        prop_assert_eq!(f.io.dropped.len() + f.io.freed.len(), 1);
    }
}
