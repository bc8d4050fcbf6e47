//! The stack's exception-path classification: what reaches the host kernel, what rvsd keeps,
//! what rvsd learns on the way, and the limits. Frames are built byte by byte (testutil).

use std::net::Ipv4Addr;

use super::exc_class::{ClassRate, ExcClass};
use super::exception::{Exception, ExceptionDrop, ExceptionParams};
use super::stack::{Input, Stack};
use super::testutil::*;
use super::{DropReason, NeighParams, Resolution};
use crate::buf::VecBuf;
use crate::time::Instant;
use crate::wire::MacAddr;

/// The kernel's address on port 0 (same LAN as HOST0).
const KADDR: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 20);
/// A kernel address of port 1.
const KADDR1: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 20);
const RS: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 12);
const RS_MAC: MacAddr = MacAddr([0x52, 0x54, 0, 0, 0, 0x12]);

/// Port 0 has a kernel interface holding KADDR; port 1 does not (KADDR1 is there only to test
/// the wrong-port case; the config never allows that, the table does).
fn kstack(params: ExceptionParams) -> Stack<VecBuf> {
    let i =
        ifaces().with_kernel_addrs(0, &[KADDR]).unwrap().with_kernel_addrs(1, &[KADDR1]).unwrap();
    let r = routes(&i);
    Stack::new(i, r, &[], NeighParams::default()).unwrap().with_exception(Exception::new(
        &[0],
        params,
        Instant::ZERO,
    ))
}

fn tcp_syn() -> Vec<u8> {
    let mut t = vec![0u8; 20];
    t[0..2].copy_from_slice(&40000u16.to_be_bytes());
    t[2..4].copy_from_slice(&22u16.to_be_bytes());
    t[12] = 0x50;
    t[13] = 0x02;
    t
}

fn at(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

#[test]
fn traffic_to_a_kernel_address_goes_to_the_kernel_untouched() {
    let mut s = kstack(ExceptionParams::default());
    let mut io = TestIo::default();
    for payload in [(6u8, tcp_syn()), (1, icmp(8, 0, [0, 1, 0, 1], b"ping")), (17, vec![0; 12])] {
        let f = eth(MAC0, PEER_MAC, 0x0800, &ipv4(CLIENT, KADDR, payload.0, 64, &payload.1));
        assert!(matches!(s.input(0, buf(&f), at(1), &mut io), Input::Consumed));
        let (port, got) = io.kernel.pop().expect("to the kernel");
        assert_eq!(port, 0);
        assert_eq!(data(&got), &f[..], "frame unchanged, Ethernet header included");
    }
    assert!(io.tx.is_empty(), "rvsd does not answer the kernel's ping");
    assert!(io.dropped.is_empty());
    let c = s.exception_counters();
    assert_eq!(c.to_kernel_packets, 3);
    assert_eq!(c.to_kernel_bytes, (14 + 40 + 14 + 32 + 14 + 32) as u64);
}

#[test]
fn director_addresses_stay_with_the_director() {
    let mut s = kstack(ExceptionParams::default());
    let mut io = TestIo::default();
    // Ping of the DIP: rvsd answers.
    let f = eth(MAC0, PEER_MAC, 0x0800, &ipv4(CLIENT, HOST0, 1, 64, &icmp(8, 0, [0; 4], b"x")));
    s.input(0, buf(&f), at(1), &mut io);
    assert_eq!(io.tx.len(), 1);
    // TCP to the VIP: handed up to the load balancer.
    let f = eth(MAC0, PEER_MAC, 0x0800, &ipv4(CLIENT, VIP, 6, 64, &tcp_syn()));
    assert!(matches!(s.input(0, buf(&f), at(1), &mut io), Input::Ipv4 { .. }));
    // Not addressed to anyone here: handed up as not owned, not to the kernel.
    let f = eth(MAC0, PEER_MAC, 0x0800, &ipv4(CLIENT, RS, 6, 64, &tcp_syn()));
    assert!(matches!(s.input(0, buf(&f), at(1), &mut io), Input::Ipv4 { owner: None, .. }));
    assert!(io.kernel.is_empty());
    assert_eq!(s.exception_counters().to_kernel_packets, 0);
}

#[test]
fn multicast_and_broadcast_go_to_the_kernel_only_on_ports_with_one() {
    let mut s = kstack(ExceptionParams::default());
    let mut io = TestIo::default();
    let ospf = Ipv4Addr::new(224, 0, 0, 5);
    let mcast_mac = MacAddr([0x01, 0x00, 0x5e, 0, 0, 5]);
    let f = eth(mcast_mac, PEER_MAC, 0x0800, &ipv4(PEER, ospf, 89, 1, &[0; 24]));
    s.input(0, buf(&f), at(1), &mut io);
    let f = eth(
        MacAddr::BROADCAST,
        PEER_MAC,
        0x0800,
        &ipv4(PEER, Ipv4Addr::BROADCAST, 17, 64, &[0; 8]),
    );
    s.input(0, buf(&f), at(1), &mut io);
    assert_eq!(io.kernel.len(), 2);
    // Port 1 has no kernel interface: the same frame is not for anyone.
    let f = eth(mcast_mac, PEER_MAC, 0x0800, &ipv4(PEER, ospf, 89, 1, &[0; 24]));
    assert!(matches!(s.input(1, buf(&f), at(1), &mut io), Input::Ipv4 { owner: None, .. }));
    assert_eq!(io.kernel.len(), 2);
}

#[test]
fn a_kernel_address_arriving_on_another_port_is_dropped_and_counted() {
    let mut s = kstack(ExceptionParams::default());
    let mut io = TestIo::default();
    // KADDR lives on port 0; a frame for it on port 1 is not delivered (no weak-host forwarding).
    let f = eth(MAC1, PEER_MAC, 0x0800, &ipv4(CLIENT, KADDR, 6, 64, &tcp_syn()));
    assert!(matches!(s.input(1, buf(&f), at(1), &mut io), Input::Consumed));
    // KADDR1 belongs to port 1, which has no kernel interface in this stack.
    let f = eth(MAC1, PEER_MAC, 0x0800, &ipv4(CLIENT, KADDR1, 6, 64, &tcp_syn()));
    s.input(1, buf(&f), at(1), &mut io);
    assert!(io.kernel.is_empty());
    assert_eq!(io.dropped.len(), 2);
    assert_eq!(s.exception_counters().drop_count(ExceptionDrop::NoKernelIface), 2);
}

#[test]
fn arp_request_for_a_kernel_address_goes_to_the_kernel_unanswered() {
    let mut s = kstack(ExceptionParams::default());
    let mut io = TestIo::default();
    let f = eth(MacAddr::BROADCAST, RS_MAC, 0x0806, &arp(1, RS_MAC, RS, MacAddr::ZERO, KADDR));
    s.input(0, buf(&f), at(1), &mut io);
    assert_eq!(io.kernel.len(), 1);
    assert_eq!(data(&io.kernel[0].1), &f[..]);
    assert!(io.tx.is_empty(), "rvsd does not answer for the kernel");
    assert!(io.dropped.is_empty());
    // A request only refreshes: RS was unknown, so rvsd did not learn it.
    assert_eq!(s.neigh().resolve(RS, 0, at(1)), Resolution::Unknown);
    assert_eq!(s.counters().arp_requests_answered, 0);
}

#[test]
fn arp_reply_to_the_kernel_reaches_it_and_teaches_rvsd() {
    let mut s = kstack(ExceptionParams::default());
    let mut io = TestIo::default();
    let f = eth(MAC0, RS_MAC, 0x0806, &arp(2, RS_MAC, RS, MAC0, KADDR));
    s.input(0, buf(&f), at(1), &mut io);
    assert_eq!(io.kernel.len(), 1, "the kernel gets the answer to its request");
    assert_eq!(data(&io.kernel[0].1), &f[..]);
    assert_eq!(s.neigh().resolve(RS, 0, at(1)), Resolution::Resolved(RS_MAC), "rvsd learned it");
    assert_eq!(s.counters().arp_learned, 1);
}

#[test]
fn arp_for_the_director_is_unchanged() {
    let mut s = kstack(ExceptionParams::default());
    let mut io = TestIo::default();
    let f = eth(MacAddr::BROADCAST, RS_MAC, 0x0806, &arp(1, RS_MAC, RS, MacAddr::ZERO, HOST0));
    s.input(0, buf(&f), at(1), &mut io);
    assert_eq!(io.tx.len(), 1, "rvsd answers for its DIP");
    assert!(io.kernel.is_empty());
    // ARP for the kernel address on a port without a kernel interface: not for us.
    let f = eth(MacAddr::BROADCAST, RS_MAC, 0x0806, &arp(1, RS_MAC, RS, MacAddr::ZERO, KADDR1));
    s.input(1, buf(&f), at(1), &mut io);
    assert!(io.kernel.is_empty());
    assert_eq!(io.drop_reasons(), vec![DropReason::ArpNotForUs]);
}

#[test]
fn without_an_exception_path_nothing_changes() {
    let mut s = stack();
    let mut io = TestIo::default();
    let ospf = Ipv4Addr::new(224, 0, 0, 5);
    let f =
        eth(MacAddr([1, 0, 0x5e, 0, 0, 5]), PEER_MAC, 0x0800, &ipv4(PEER, ospf, 89, 1, &[0; 24]));
    assert!(matches!(s.input(0, buf(&f), at(1), &mut io), Input::Ipv4 { owner: None, .. }));
    assert!(io.kernel.is_empty());
    assert!(!s.has_exception());
}

#[test]
fn a_flood_to_the_kernel_is_cut_to_the_rate_limit() {
    // 1000 packets/s, bursts of 10: a flood of 10 000 frames within 1 s of fake time.
    // No class limit here: the core's aggregate bucket alone.
    let params = ExceptionParams {
        to_kernel_pps: 1000,
        to_kernel_burst: 10,
        classes: [ClassRate { pps: 0, burst: 1 }; ExcClass::COUNT],
        ..Default::default()
    };
    let mut s = kstack(params);
    let mut io = TestIo::default();
    let f = eth(MAC0, PEER_MAC, 0x0800, &ipv4(CLIENT, KADDR, 17, 64, &[0; 12]));
    for i in 0..10_000u64 {
        s.input(0, buf(&f), Instant::from_micros(i * 100), &mut io);
        io.kernel.clear();
        io.dropped.clear();
    }
    let c = *s.exception_counters();
    // Elapsed 999.9 ms: at most 10 + 999 tokens, and at least 999 (the flood asks every 100 µs).
    assert!(c.to_kernel_packets <= 1009 && c.to_kernel_packets >= 999, "{c:?}");
    assert_eq!(c.to_kernel_packets + c.drop_count(ExceptionDrop::RateLimited), 10_000);
    // The director's own duties are not rate limited by it.
    let ping = eth(MAC0, PEER_MAC, 0x0800, &ipv4(CLIENT, HOST0, 1, 64, &icmp(8, 0, [0; 4], b"x")));
    s.input(0, buf(&ping), Instant::from_secs(1), &mut io);
    assert_eq!(io.tx.len(), 1);
}

#[test]
fn from_kernel_frames_leave_by_the_port_and_are_counted() {
    let mut s = kstack(ExceptionParams {
        from_kernel_pps: 1000,
        from_kernel_burst: 4,
        ..Default::default()
    });
    let mut io = TestIo::default();
    assert_eq!(s.from_kernel_budget(at(0), 32), 4);
    let f = eth(RS_MAC, MAC0, 0x0800, &ipv4(KADDR, RS, 6, 64, &tcp_syn()));
    for _ in 0..4 {
        s.from_kernel(0, buf(&f), at(0), &mut io);
    }
    assert_eq!(io.tx.len(), 4);
    assert_eq!(data(&io.tx[0].1), &f[..], "sent as the kernel wrote it");
    assert_eq!(s.from_kernel_budget(at(0), 32), 0, "the budget is spent");
    assert_eq!(s.from_kernel_budget(at(2), 32), 2);
    let c = s.exception_counters();
    assert_eq!((c.from_kernel_packets, c.from_kernel_bytes), (4, 4 * f.len() as u64));
}

/// Both ports have a kernel interface (KADDR on port 0, KADDR1 on port 1).
fn two_port_kstack() -> Stack<VecBuf> {
    let i =
        ifaces().with_kernel_addrs(0, &[KADDR]).unwrap().with_kernel_addrs(1, &[KADDR1]).unwrap();
    let r = routes(&i);
    Stack::new(i, r, &[], NeighParams::default()).unwrap().with_exception(Exception::new(
        &[0, 1],
        ExceptionParams::default(),
        Instant::ZERO,
    ))
}

/// A health check's answer: a SYN-ACK from a real server to the kernel's ephemeral port.
fn syn_ack(from: Ipv4Addr, to: Ipv4Addr) -> Vec<u8> {
    let mut t = tcp_syn();
    t[0..2].copy_from_slice(&80u16.to_be_bytes());
    t[2..4].copy_from_slice(&45000u16.to_be_bytes());
    t[13] = 0x12;
    eth(MAC1, PEER_MAC, 0x0800, &ipv4(from, to, 6, 64, &t))
}

#[test]
fn a_flood_at_one_ports_kernel_address_leaves_the_other_ports_health_replies_alone() {
    let mut s = two_port_kstack();
    let mut io = TestIo::default();
    let rs1 = Ipv4Addr::new(192, 168, 1, 12);
    let flood = eth(MAC0, PEER_MAC, 0x0800, &ipv4(CLIENT, KADDR, 17, 64, &[0; 12]));
    let ping = eth(MAC0, PEER_MAC, 0x0800, &ipv4(CLIENT, KADDR, 1, 64, &icmp(8, 0, [0; 4], b"x")));
    let ssh = eth(MAC0, PEER_MAC, 0x0800, &ipv4(CLIENT, KADDR, 6, 64, &tcp_syn()));
    let (mut replies_in, mut pings_in, mut ssh_in) = (0u64, 0u64, 0u64);
    // One second of fake time: 100 000 flood frames (UDP to port 0 of KADDR: class other), a
    // health-check answer every 10 ms on port 1, a ping and an SSH SYN every 10 ms on port 0.
    for i in 0..100_000u64 {
        let now = Instant::from_micros(i * 10);
        s.input(0, buf(&flood), now, &mut io);
        if i % 1000 == 0 {
            s.input(1, buf(&syn_ack(rs1, KADDR1)), now, &mut io);
            s.input(0, buf(&ping), now, &mut io);
            s.input(0, buf(&ssh), now, &mut io);
        }
        for (port, k) in io.kernel.drain(..) {
            match (port, super::exc_class::classify(data(&k))) {
                (1, ExcClass::Replies) => replies_in += 1,
                (0, ExcClass::Icmp) => pings_in += 1,
                (0, ExcClass::Ssh) => ssh_in += 1,
                _ => {}
            }
        }
        io.dropped.clear();
    }
    assert_eq!((replies_in, pings_in, ssh_in), (100, 100, 100), "none of them starved");
    let counts = s.exception_class_counts();
    let other = counts[0][ExcClass::Other as usize];
    // The default class "other": 1000/s with a burst of 100, over 0.99999 s.
    assert!(other.passed <= 1100 && other.passed >= 1099, "{other:?}");
    assert_eq!(other.passed + other.limited, 100_000);
    assert_eq!(counts[1][ExcClass::Replies as usize].passed, 100);
    assert_eq!(counts[1][ExcClass::Replies as usize].limited, 0);
    let c = s.exception_counters();
    assert_eq!(c.drop_count(ExceptionDrop::ClassLimited), other.limited);
    assert_eq!(c.drop_count(ExceptionDrop::RateLimited), 0, "the aggregate was never the limit");
}
