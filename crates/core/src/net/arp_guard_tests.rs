//! The neighbour table under ARP abuse (issue 14, item 5): what an ARP packet from an on-link
//! host may create or only refresh, the table's bound and eviction order under a flood of
//! requests from random senders, and the per-core ARP rate limit. Frames are built byte by byte.

use core::time::Duration;
use std::net::Ipv4Addr;

use proptest::prelude::*;

use super::neigh::{Learn, NeighState};
use super::stack::Stack;
use super::testutil::*;
use super::{DropReason, NeighParams, Resolution};
use crate::buf::VecBuf;
use crate::time::Instant;
use crate::wire::MacAddr;

/// A remote destination, routed through [`GW`].
const REMOTE: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 9);
const GW_MAC: MacAddr = MacAddr([0x52, 0x54, 0, 0, 0, 0xfe]);

fn small_stack(max_entries: usize, timeout_s: u64) -> Stack<VecBuf> {
    let i = ifaces();
    let r = routes(&i);
    let p = NeighParams {
        timeout: Duration::from_secs(timeout_s),
        max_entries,
        ..NeighParams::default()
    };
    Stack::new(i, r, &[], p).unwrap()
}

fn req(sender: Ipv4Addr, mac: MacAddr, target: Ipv4Addr) -> Vec<u8> {
    eth(MacAddr::BROADCAST, mac, 0x0806, &arp(1, mac, sender, MacAddr::ZERO, target))
}

fn reply_to_us(sender: Ipv4Addr, mac: MacAddr) -> Vec<u8> {
    eth(MAC0, mac, 0x0806, &arp(2, mac, sender, MAC0, HOST0))
}

fn at_ms(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

fn state(s: &Stack<VecBuf>, ip: Ipv4Addr) -> Option<NeighState> {
    s.neigh().entries().iter().find(|e| e.ip == ip).map(|e| e.state)
}

/// Targets of the ARP requests in `io.tx`, drained.
fn arp_requests(io: &mut TestIo) -> Vec<Ipv4Addr> {
    let mut out = Vec::new();
    io.tx.retain(|(_, p)| {
        let d = data(p);
        if d.get(12..14) == Some(&[8, 6]) && d.get(20..22) == Some(&[0, 1]) {
            out.push(Ipv4Addr::new(d[38], d[39], d[40], d[41]));
            false
        } else {
            true
        }
    });
    out
}

#[test]
fn a_request_for_us_from_an_on_link_host_creates_a_stale_entry_and_others_create_none() {
    let mut s = small_stack(16, 60);
    let mut io = TestIo::default();
    let mac = MacAddr([0x52, 0, 0, 0, 0, 0x33]);
    // For another host on the link: none (we never asked about this sender, it did not ask us).
    s.input(0, buf(&req(PEER, mac, Ipv4Addr::new(10, 0, 0, 9))), at_ms(0), &mut io);
    assert_eq!(s.neigh().len(), 0);
    // For our VIP: a stale entry, usable at once.
    s.input(0, buf(&req(PEER, mac, VIP)), at_ms(1), &mut io);
    assert_eq!(state(&s, PEER), Some(NeighState::Stale));
    assert_eq!(s.neigh().resolve(PEER, 0, at_ms(2)), Resolution::Resolved(mac));
    assert_eq!(s.counters().neigh_unconfirmed_learned, 1);
    // An unsolicited reply to us from a new host: stale as well, not reachable.
    let p2 = Ipv4Addr::new(10, 0, 0, 8);
    s.input(0, buf(&reply_to_us(p2, mac)), at_ms(3), &mut io);
    assert_eq!(state(&s, p2), Some(NeighState::Stale));
    // A request for another host from a known one refreshes it (the expiry moves).
    let before = s.neigh().entries().iter().find(|e| e.ip == PEER).and_then(|e| e.expires);
    s.input(0, buf(&req(PEER, mac, Ipv4Addr::new(10, 0, 0, 9))), at_ms(5000), &mut io);
    let after = s.neigh().entries().iter().find(|e| e.ip == PEER).and_then(|e| e.expires);
    assert!(after > before, "{before:?} -> {after:?}");
    assert_eq!(state(&s, PEER), Some(NeighState::Stale), "a refresh confirms nothing");
    // Using the stale entry sends at once and asks once; the host's reply confirms it.
    io.tx.clear();
    let pkt = outgoing(PEER, 1);
    s.send_ipv4(pkt, PEER, at_ms(6000), &mut io);
    let pkt = outgoing(PEER, 2);
    s.send_ipv4(pkt, PEER, at_ms(6001), &mut io);
    assert_eq!(arp_requests(&mut io), vec![PEER], "one confirmation request");
    assert_eq!(io.tx.len(), 2, "both packets sent with the stale MAC");
    s.input(0, buf(&reply_to_us(PEER, mac)), at_ms(6002), &mut io);
    assert_eq!(state(&s, PEER), Some(NeighState::Reachable));
}

/// Destination MACs of the ARP requests in `io.tx`, drained.
fn arp_request_macs(io: &mut TestIo) -> Vec<MacAddr> {
    let mut out = Vec::new();
    io.tx.retain(|(_, p)| {
        let d = data(p);
        if d.get(12..14) == Some(&[8, 6]) && d.get(20..22) == Some(&[0, 1]) {
            out.push(MacAddr([d[0], d[1], d[2], d[3], d[4], d[5]]));
            false
        } else {
            true
        }
    });
    out
}

#[test]
fn a_used_stale_entry_is_probed_by_unicast_and_removed_when_silent() {
    let mut s = small_stack(16, 60);
    let mut io = TestIo::default();
    let mac = MacAddr([0x52, 0, 0, 0, 0, 0x33]);
    s.input(0, buf(&req(PEER, mac, VIP)), at_ms(0), &mut io);
    io.tx.clear();
    // Used: sent at once, and a unicast request goes to the MAC the entry holds.
    s.send_ipv4(outgoing(PEER, 1), PEER, at_ms(1000), &mut io);
    assert_eq!(arp_request_macs(&mut io), vec![mac], "a unicast probe");
    assert_eq!(io.tx.len(), 1, "the packet left with the stale MAC");
    // No answer: one probe per retry (1 s), three in all, then the entry goes.
    for t in [1500, 2000, 2500, 3000] {
        s.poll(at_ms(t), &mut io);
    }
    assert_eq!(arp_request_macs(&mut io), vec![mac, mac], "probes 2 and 3");
    assert_eq!(state(&s, PEER), Some(NeighState::Stale));
    s.poll(at_ms(4000), &mut io);
    assert_eq!(state(&s, PEER), None, "removed after three unanswered probes");
    let c = s.counters();
    assert_eq!((c.neigh_confirm_probes, c.neigh_confirm_failed, c.neigh_confirmed), (3, 1, 0));
    // The next packet resolves afresh, by broadcast.
    s.send_ipv4(outgoing(PEER, 2), PEER, at_ms(4001), &mut io);
    assert_eq!(arp_request_macs(&mut io), vec![MacAddr::BROADCAST]);
    assert_eq!(state(&s, PEER), Some(NeighState::Incomplete));

    // Another host answers its probe: reachable, counted, no more probes.
    let p2 = Ipv4Addr::new(10, 0, 0, 8);
    s.input(0, buf(&req(p2, mac, VIP)), at_ms(5000), &mut io);
    io.tx.clear();
    s.send_ipv4(outgoing(p2, 1), p2, at_ms(5001), &mut io);
    assert_eq!(arp_request_macs(&mut io), vec![mac]);
    // A refresh (a request for another host) does not end the confirmation.
    s.input(0, buf(&req(p2, mac, Ipv4Addr::new(10, 0, 0, 9))), at_ms(5100), &mut io);
    assert!(s.neigh().is_resolving(p2, 0), "still being confirmed");
    s.input(0, buf(&reply_to_us(p2, mac)), at_ms(5200), &mut io);
    assert_eq!(state(&s, p2), Some(NeighState::Reachable));
    assert_eq!(s.counters().neigh_confirmed, 1);
    for t in [6500, 8000, 9500] {
        s.poll(at_ms(t), &mut io);
    }
    // (PEER's broadcast resolution goes on meanwhile; no unicast probe is sent.)
    assert!(!arp_request_macs(&mut io).contains(&mac), "a confirmed entry is not probed");
}

#[test]
fn confirmation_probes_are_rate_limited_per_core() {
    let i = ifaces();
    let r = routes(&i);
    let p = NeighParams { confirm_pps: 2, ..NeighParams::default() };
    let mut s = Stack::new(i, r, &[], p).unwrap();
    let mut io = TestIo::default();
    let hosts: Vec<Ipv4Addr> = (20..30).map(|n| Ipv4Addr::new(10, 0, 0, n)).collect();
    for (k, h) in hosts.iter().enumerate() {
        s.input(0, buf(&req(*h, MacAddr([0x52, 0, 0, 0, 1, k as u8]), VIP)), at_ms(0), &mut io);
    }
    io.tx.clear();
    for (k, h) in hosts.iter().enumerate() {
        s.send_ipv4(outgoing(*h, 1), *h, at_ms(10 + k as u64), &mut io);
    }
    assert_eq!(arp_request_macs(&mut io).len(), 2, "the burst: 2 probes");
    assert_eq!(s.counters().neigh_confirm_limited, 8);
    // The deferred ones are tried again a retry later, within the rate.
    s.poll(at_ms(1100), &mut io);
    let sent = arp_request_macs(&mut io).len();
    assert!((1..=3).contains(&sent), "{sent} probes a second later");
}

#[test]
fn a_changed_mac_from_a_request_makes_a_reachable_entry_stale() {
    let mut s = small_stack(16, 60);
    let mut io = TestIo::default();
    let pkt = outgoing(REMOTE, 1);
    s.send_ipv4(pkt, REMOTE, at_ms(0), &mut io);
    assert_eq!(arp_requests(&mut io), vec![GW]);
    s.input(0, buf(&reply_to_us(GW, GW_MAC)), at_ms(1), &mut io);
    assert_eq!(state(&s, GW), Some(NeighState::Reachable));
    // The same MAC in a request keeps it reachable; another one makes it stale.
    s.input(0, buf(&req(GW, GW_MAC, VIP)), at_ms(2), &mut io);
    assert_eq!(state(&s, GW), Some(NeighState::Reachable));
    let other = MacAddr([0x52, 0, 0, 0, 0, 0x66]);
    s.input(0, buf(&req(GW, other, VIP)), at_ms(3), &mut io);
    assert_eq!(state(&s, GW), Some(NeighState::Stale));
    assert_eq!(s.neigh().resolve(GW, 0, at_ms(4)), Resolution::Resolved(other));
}

/// A flood of requests for the VIP from random on-link senders with random MACs, across three
/// expiries of the gateway's entry: the table stays within its bound, the gateway keeps being
/// resolved (its replies are exempt from the rate limit), no packet to it is lost, requests keep
/// being answered at the limit, and the counters show the flood.
#[test]
fn an_arp_flood_from_random_senders_keeps_the_gateway_resolved_across_expiry() {
    let max = 8;
    let (pps, burst) = (1000u64, 50u64);
    let mut s = small_stack(max, 10).with_arp_limit(pps, burst, Instant::ZERO);
    let mut io = TestIo::default();
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut sent_to_gw = 0u64;
    let mut answered_by_gw = 0u64;
    // 35 s of fake time, one flood frame every 100 µs (10 000/s), one packet of ours every 50 ms.
    for step in 0..350_000u64 {
        let now = Instant::from_micros(step * 100);
        let r = next();
        let sender = Ipv4Addr::new(10, 0, 0, 2 + (r % 240) as u8);
        let mac =
            MacAddr([0x52, (r >> 8) as u8, (r >> 16) as u8, (r >> 24) as u8, (r >> 32) as u8, 9]);
        if sender != GW && sender != HOST0 && sender != VIP && sender != LADDR {
            s.input(0, buf(&req(sender, mac, VIP)), now, &mut io);
        }
        if step % 500 == 0 {
            let pkt = outgoing(REMOTE, 7);
            s.send_ipv4(pkt, REMOTE, now, &mut io);
            sent_to_gw += 1;
        }
        s.poll(now, &mut io);
        // The gateway answers the director's requests for it.
        if arp_requests(&mut io).contains(&GW) {
            answered_by_gw += 1;
            s.input(0, buf(&reply_to_us(GW, GW_MAC)), now, &mut io);
        }
        assert!(s.neigh().len() <= max, "table over its bound at step {step}");
        let delivered = io
            .tx
            .iter()
            .filter(|(_, p)| data(p).get(12..14) == Some(&[8, 0]) && data(p)[0..6] == GW_MAC.0)
            .count() as u64;
        io.tx.clear();
        sent_to_gw -= delivered;
        io.freed.clear();
        io.dropped.retain(|(_, r)| *r != DropReason::ArpNotForUs);
    }
    assert_eq!(sent_to_gw, 0, "every packet to the gateway left (queued ones once resolved)");
    assert!(io.dropped.is_empty(), "nothing else dropped: {:?}", io.drop_reasons());
    assert!(answered_by_gw >= 3, "the gateway was resolved again after each expiry");
    let c = s.counters();
    // 35 s at 1000/s plus the burst, minus nothing: the flood is 10 000/s.
    let elapsed_s = 35;
    assert!(c.arp_requests_answered <= burst + pps * elapsed_s, "{}", c.arp_requests_answered);
    assert!(c.arp_requests_answered >= pps * (elapsed_s - 1), "{}", c.arp_requests_answered);
    assert!(c.arp_rate_limited > 250_000, "{}", c.arp_rate_limited);
    assert!(c.neigh_unconfirmed_learned > 1000 && c.neigh_evicted > 1000);
}

#[test]
fn a_reply_we_asked_for_passes_an_empty_arp_budget() {
    let mut s = small_stack(16, 60).with_arp_limit(1000, 1, Instant::ZERO);
    let mut io = TestIo::default();
    let mac = MacAddr([0x52, 0, 0, 0, 0, 0x44]);
    s.input(0, buf(&req(PEER, mac, VIP)), at_ms(0), &mut io);
    s.input(0, buf(&req(PEER, mac, VIP)), at_ms(0), &mut io);
    assert_eq!(s.counters().arp_rate_limited, 1, "the bucket holds one");
    assert_eq!(s.counters().arp_requests_answered, 1);
    let pkt = outgoing(REMOTE, 1);
    s.send_ipv4(pkt, REMOTE, at_ms(0), &mut io);
    s.input(0, buf(&reply_to_us(GW, GW_MAC)), at_ms(0), &mut io);
    assert_eq!(state(&s, GW), Some(NeighState::Reachable), "exempt: we asked");
    // An unsolicited one is not.
    s.input(0, buf(&reply_to_us(Ipv4Addr::new(10, 0, 0, 8), mac)), at_ms(0), &mut io);
    assert_eq!(s.counters().arp_rate_limited, 2);
    // Copies from other cores take this core's budget too.
    s.observe_arp(0, buf(&req(Ipv4Addr::new(10, 0, 0, 9), mac, VIP)), at_ms(0), &mut io);
    assert_eq!(s.counters().arp_rate_limited, 3);
    assert_eq!(state(&s, Ipv4Addr::new(10, 0, 0, 9)), None);
}

/// One step of the table property test.
#[derive(Debug, Clone)]
enum Op {
    /// ARP from host `.n` (on-link) of the given kind.
    Arp(u8, u8),
    /// The director sends to host `.n`, which answers with a reply.
    Resolve(u8),
    /// Time passes (ms).
    Wait(u16),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (2u8..60, 0u8..3).prop_map(|(n, k)| Op::Arp(n, k)),
        1 => (2u8..60).prop_map(Op::Resolve),
        1 => (0u16..3000).prop_map(Op::Wait),
    ]
}

proptest! {
    /// Whatever the mix of ARP packets, resolutions of ours and time: the table never holds
    /// more than its bound; a packet of another host never removes or downgrades an entry the
    /// director confirmed (only expiry and the director's own next hops do); unconfirmed entries
    /// are created only by packets addressed to us.
    #[test]
    fn arp_never_displaces_confirmed_entries(ops in proptest::collection::vec(op(), 1..300)) {
        let max = 6;
        let mut s = small_stack(max, 5).with_arp_limit(0, 1, Instant::ZERO);
        let mut io = TestIo::default();
        let mut now = Instant::from_secs(1);
        for o in ops {
            let confirmed: Vec<Ipv4Addr> = s
                .neigh()
                .entries()
                .iter()
                .filter(|e| e.state == NeighState::Reachable)
                .map(|e| e.ip)
                .collect();
            let created_before = s.counters().neigh_unconfirmed_learned;
            let mut is_arp = false;
            match o {
                Op::Arp(n, k) => {
                    is_arp = true;
                    let ip = Ipv4Addr::new(10, 0, 0, n);
                    let mac = MacAddr([0x52, 0, 0, 0, 0, n]);
                    let (frame, addressed) = match k {
                        0 => (req(ip, mac, VIP), true),
                        1 => (reply_to_us(ip, mac), true),
                        _ => (req(ip, mac, Ipv4Addr::new(10, 0, 0, 99)), false),
                    };
                    s.input(0, buf(&frame), now, &mut io);
                    if !addressed {
                        prop_assert_eq!(s.counters().neigh_unconfirmed_learned, created_before);
                    }
                }
                Op::Resolve(n) => {
                    let ip = Ipv4Addr::new(10, 0, 0, n);
                    let pkt = outgoing(ip, 1);
                    s.send_ipv4(pkt, ip, now, &mut io);
                    if arp_requests(&mut io).contains(&ip) {
                        let mac = MacAddr([0x52, 0, 0, 0, 0, n]);
                        s.input(0, buf(&reply_to_us(ip, mac)), now, &mut io);
                    }
                }
                Op::Wait(ms) => {
                    now = now + Duration::from_millis(u64::from(ms));
                    s.poll(now, &mut io);
                }
            }
            prop_assert!(s.neigh().len() <= max);
            if is_arp {
                for ip in confirmed {
                    if s.neigh().resolve(ip, 0, now) != Resolution::Unknown {
                        prop_assert_eq!(state(&s, ip), Some(NeighState::Reachable));
                    }
                }
            }
            io.tx.clear();
            io.freed.clear();
            io.dropped.clear();
        }
    }
}

#[test]
fn learn_kinds_on_the_table_directly() {
    // Refresh never creates; Addressed and Confirmed create stale entries only.
    let mut s = small_stack(4, 60);
    let mut io = TestIo::default();
    let mac = MacAddr([0x52, 0, 0, 0, 0, 0x21]);
    let kinds = [(Learn::Refresh, None), (Learn::Addressed, Some(NeighState::Stale))];
    for (i, (how, want)) in kinds.into_iter().enumerate() {
        let ip = Ipv4Addr::new(10, 0, 0, 30 + i as u8);
        let f = match how {
            Learn::Refresh => req(ip, mac, Ipv4Addr::new(10, 0, 0, 99)),
            _ => req(ip, mac, VIP),
        };
        s.input(0, buf(&f), at_ms(0), &mut io);
        assert_eq!(state(&s, ip), want, "{how:?}");
    }
}
