//! Director HA in the stack: a standby VIP (owned, not answered for) and the VRRP adverts
//! keepalived exchanges through the exception path. Frames are built byte by byte (testutil).

use std::net::Ipv4Addr;
use std::sync::Arc;

use super::exception::{Exception, ExceptionParams};
use super::stack::{Input, Stack};
use super::testutil::*;
use super::{AddrKind, DropReason, IfaceTable, NeighParams, RouteTable};
use crate::buf::VecBuf;
use crate::time::Instant;
use crate::wire::MacAddr;

/// The kernel's address on port 0 (the VRRP adverts' source).
const KADDR: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 20);
/// VRRP's group (RFC 5798) and its MAC.
const VRRP_GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
const VRRP_MAC: MacAddr = MacAddr([0x01, 0x00, 0x5e, 0, 0, 0x12]);
const VRRP_PROTO: u8 = 112;

fn tables(standby: &[Ipv4Addr]) -> (IfaceTable, RouteTable) {
    let i = ifaces().with_kernel_addrs(0, &[KADDR]).unwrap().with_standby(standby).unwrap();
    let r = routes(&i);
    (i, r)
}

fn hstack(standby: &[Ipv4Addr]) -> Stack<VecBuf> {
    let (i, r) = tables(standby);
    Stack::new(i, r, &[], NeighParams::default()).unwrap().with_exception(Exception::new(
        &[0],
        ExceptionParams::default(),
        Instant::ZERO,
    ))
}

fn at(s: u64) -> Instant {
    Instant::from_secs(s)
}

fn tcp_syn() -> Vec<u8> {
    let mut t = vec![0u8; 20];
    t[0..2].copy_from_slice(&40000u16.to_be_bytes());
    t[2..4].copy_from_slice(&80u16.to_be_bytes());
    t[12] = 0x50;
    t[13] = 0x02;
    t
}

/// A VRRPv2 advertisement (version 2, type 1, VRID 51, priority 100, one address), as
/// keepalived sends it: TTL 255 to 224.0.0.18.
fn vrrp_advert(src_mac: MacAddr, src: Ipv4Addr) -> Vec<u8> {
    let mut adv = vec![0x21, 51, 100, 1, 0, 1, 0, 0];
    adv.extend_from_slice(&VIP.octets());
    eth(VRRP_MAC, src_mac, 0x0800, &ipv4(src, VRRP_GROUP, VRRP_PROTO, 255, &adv))
}

fn garps(io: &TestIo, ip: Ipv4Addr) -> usize {
    let want = {
        let mut f = eth(MacAddr::BROADCAST, MAC0, 0x0806, &arp(1, MAC0, ip, MacAddr::ZERO, ip));
        f.resize(60, 0);
        f
    };
    io.tx.iter().filter(|(p, b)| *p == 0 && data(b) == &want[..]).count()
}

#[test]
fn vrrp_adverts_pass_both_ways_through_the_exception_path() {
    let mut s = hstack(&[]);
    let mut io = TestIo::default();
    let peer = vrrp_advert(PEER_MAC, PEER);
    assert!(matches!(s.input(0, buf(&peer), at(1), &mut io), Input::Consumed));
    let (port, got) = io.kernel.pop().expect("the peer's advert reaches the kernel");
    assert_eq!((port, data(&got)), (0, &peer[..]), "unchanged, on the port's kernel interface");
    // A standby director's kernel still hears the master: standby is about the VIP only.
    let mut s = hstack(&[VIP]);
    s.input(0, buf(&peer), at(1), &mut io);
    assert_eq!(io.kernel.len(), 1);
    // The kernel's own advert leaves by the port as written (source KADDR, the port's MAC).
    let ours = vrrp_advert(MAC0, KADDR);
    s.from_kernel(0, buf(&ours), at(1), &mut io);
    assert_eq!(io.tx.len(), 1);
    assert_eq!(data(&io.tx[0].1), &ours[..]);
    assert!(io.dropped.is_empty());
}

#[test]
fn a_standby_vip_gets_no_arp_answer_and_its_traffic_is_dropped() {
    let mut s = hstack(&[VIP]);
    let mut io = TestIo::default();
    let who_has =
        |ip| eth(MacAddr::BROADCAST, PEER_MAC, 0x0806, &arp(1, PEER_MAC, PEER, MacAddr::ZERO, ip));
    s.input(0, buf(&who_has(VIP)), at(1), &mut io);
    assert!(io.tx.is_empty(), "the master answers, not a standby director");
    assert_eq!(io.drop_reasons(), vec![DropReason::ArpNotForUs]);
    s.input(0, buf(&who_has(HOST0)), at(1), &mut io);
    assert_eq!(io.tx.len(), 1, "the director's own address is answered as ever");

    io = TestIo::default();
    let syn = eth(MAC0, PEER_MAC, 0x0800, &ipv4(CLIENT, VIP, 6, 64, &tcp_syn()));
    assert!(matches!(s.input(0, buf(&syn), at(1), &mut io), Input::Consumed));
    let ping = eth(MAC0, PEER_MAC, 0x0800, &ipv4(CLIENT, VIP, 1, 64, &icmp(8, 0, [0; 4], b"x")));
    s.input(0, buf(&ping), at(1), &mut io);
    assert_eq!(io.drop_reasons(), vec![DropReason::VipStandby; 2]);
    assert!(io.tx.is_empty() && io.kernel.is_empty());
    assert_eq!(s.counters().drop_count(DropReason::VipStandby), 2);
    assert_eq!(s.ifaces().owns(VIP), Some((0, AddrKind::Vip)), "still rvsd's address");

    // Taken: the same SYN is the load balancer's again.
    let (i, r) = tables(&[]);
    s.set_tables(Arc::new(i), Arc::new(r));
    assert!(matches!(
        s.input(0, buf(&syn), at(1), &mut io),
        Input::Ipv4 { owner: Some(AddrKind::Vip), .. }
    ));
}

#[test]
fn a_standby_vip_is_not_announced_and_a_taken_one_is_announced_repeatedly() {
    let mut s = hstack(&[VIP]);
    let mut io = TestIo::default();
    s.start(&mut io);
    assert_eq!(garps(&io, VIP), 0, "no gratuitous ARP for a standby VIP at start");
    assert_eq!(garps(&io, HOST0), 1);
    s.announce(&[VIP; 5], &mut io);
    assert_eq!(garps(&io, VIP), 0, "nor when asked while it is standby");

    let (i, r) = tables(&[]);
    s.set_tables(Arc::new(i), Arc::new(r));
    io = TestIo::default();
    s.announce(&[VIP; 5], &mut io);
    assert_eq!(garps(&io, VIP), 5, "one gratuitous ARP per listing");
    assert_eq!(io.tx.len(), 5);
}

#[test]
fn the_peers_gratuitous_arp_for_the_vip_is_not_learned() {
    // When the other director takes the VIP it announces it; the standby one must not take the
    // VIP for a neighbour (it is still its own address).
    let mut s = hstack(&[VIP]);
    let mut io = TestIo::default();
    let garp =
        eth(MacAddr::BROADCAST, PEER_MAC, 0x0806, &arp(1, PEER_MAC, VIP, MacAddr::ZERO, VIP));
    s.input(0, buf(&garp), at(1), &mut io);
    assert!(io.tx.is_empty());
    assert!(s.neigh().entries().is_empty());
}
