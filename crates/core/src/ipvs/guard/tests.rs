//! The guard's budgets against a model table: whatever the sequence of SYNs, handshakes,
//! departures and slot reuse, no more connections are embryonic than the budget, the counts
//! match the model, the victim is always the oldest embryonic connection, and shares hold.

use std::net::Ipv4Addr;

use proptest::prelude::*;

use super::*;
use crate::ipvs::conn::ConnId;
use crate::wire::IpProtocol;

const T0: Instant = Instant::from_secs(1);

/// A model slot: free, or a TCP connection (client port as its identity) embryonic or not.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Slot {
    Free,
    Conn { cport: u16, embryonic: bool, born: u32 },
}

#[derive(Debug, Clone)]
enum Op {
    /// A SYN creates a connection in the first free slot at or after this index.
    Syn(u8),
    /// The connection in this slot (if any) completes its handshake.
    Establish(u8),
    /// The connection in this slot (if any) leaves the table.
    Free(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => any::<u8>().prop_map(Op::Syn),
        2 => any::<u8>().prop_map(Op::Establish),
        2 => any::<u8>().prop_map(Op::Free),
    ]
}

fn cfg(max: u32) -> GuardConfig {
    GuardConfig { embryonic_max: max, ..GuardConfig::UNLIMITED }
}

proptest! {
    #[test]
    fn embryonic_budget_holds_and_evicts_the_oldest(
        max in 1u32..12,
        ops in proptest::collection::vec(op(), 1..300),
    ) {
        const SLOTS: usize = 32;
        let mut g = Guard::new(cfg(max), SLOTS as u32, T0);
        let mut slots = [Slot::Free; SLOTS];
        let mut next_port = 1u16;
        let still = |slots: &[Slot; SLOTS], e: &Embryo| {
            matches!(slots[e.id.index() as usize],
                Slot::Conn { cport, embryonic: true, .. } if cport == e.cport)
        };
        for (clock, op) in (1u32..).zip(ops) {
            match op {
                Op::Syn(at) => {
                    let start = at as usize % SLOTS;
                    let Some(i) = (0..SLOTS).map(|k| (start + k) % SLOTS)
                        .find(|&i| slots[i] == Slot::Free) else { continue };
                    next_port = next_port.wrapping_add(1).max(1);
                    slots[i] = Slot::Conn { cport: next_port, embryonic: true, born: clock };
                    g.conn_added(IpProtocol::TCP);
                    let e = Embryo { id: ConnId::from_index(i as u32), caddr: Ipv4Addr::LOCALHOST,
                        cport: next_port, gen: 0 };
                    let oldest = slots.iter().enumerate()
                        .filter_map(|(j, s)| match s {
                            Slot::Conn { embryonic: true, born, .. } if j != i => Some(*born),
                            _ => None,
                        })
                        .min();
                    let before = g.embryonic();
                    if let Some(v) = g.admit_embryo(e, |e| still(&slots, e)) {
                        // The victim is the oldest embryonic connection there is.
                        let Slot::Conn { born, .. } = slots[v.id.index() as usize] else {
                            panic!("victim names a free slot")
                        };
                        prop_assert_eq!(Some(born), oldest);
                        prop_assert_eq!(before, max, "evicts only when the budget is spent");
                        slots[v.id.index() as usize] = Slot::Free;
                        g.conn_freed(IpProtocol::TCP, true);
                    }
                }
                Op::Establish(at) => {
                    if let Slot::Conn { embryonic: e @ true, .. } = &mut slots[at as usize % SLOTS] {
                        *e = false;
                        g.embryo_established();
                    }
                }
                Op::Free(at) => {
                    if let Slot::Conn { embryonic, .. } = slots[at as usize % SLOTS] {
                        slots[at as usize % SLOTS] = Slot::Free;
                        g.conn_freed(IpProtocol::TCP, embryonic);
                    }
                }
            }
            let emb = slots.iter().filter(|s| matches!(s, Slot::Conn { embryonic: true, .. }))
                .count() as u32;
            let live = slots.iter().filter(|s| **s != Slot::Free).count() as u32;
            prop_assert_eq!(g.embryonic(), emb);
            prop_assert!(emb <= max, "{} embryonic over a budget of {}", emb, max);
            prop_assert_eq!(g.live(IpProtocol::TCP), live);
            prop_assert!(g.embryos.len() <= 2 * max as usize);
        }
    }

    #[test]
    fn shares_bound_each_protocol(
        cap in 1u32..5000,
        tcp in 1u8..=100, udp in 1u8..=100, other in 1u8..=100,
    ) {
        let c = GuardConfig { tcp_share: tcp.min(99), udp_share: udp.min(99), other_share: other.min(99),
            ..GuardConfig::UNLIMITED };
        let mut g = Guard::new(c, cap, T0);
        for (proto, pct) in [(IpProtocol::TCP, tcp), (IpProtocol::UDP, udp), (IpProtocol::ICMP, other)] {
            let mut n = 0u32;
            while g.share_has_room(proto) {
                g.conn_added(proto);
                n += 1;
                prop_assert!(n <= cap, "a share never exceeds the table");
            }
            // ceil(cap * pct / 100), at least one.
            let want = ((u64::from(cap) * u64::from(pct.min(99))).div_ceil(100)).max(1) as u32;
            prop_assert_eq!(n, want);
            g.conn_freed(proto, false);
            prop_assert!(g.share_has_room(proto), "a departure makes room");
        }
    }
}

#[test]
fn a_full_share_is_the_whole_table() {
    let mut g = Guard::new(GuardConfig::UNLIMITED, 4, T0);
    for _ in 0..10 {
        g.conn_added(IpProtocol::UDP);
    }
    assert!(g.share_has_room(IpProtocol::UDP), "100% leaves the bound to the table itself");
}

#[test]
fn oldest_embryo_skips_stale_handles() {
    let mut g = Guard::new(cfg(4), 16, T0);
    for i in 0..4u16 {
        let e = Embryo {
            id: ConnId::from_index(u32::from(i)),
            caddr: Ipv4Addr::LOCALHOST,
            cport: i,
            gen: 0,
        };
        assert_eq!(g.admit_embryo(e, |_| true), None);
    }
    // Handles 0 and 1 are stale (established or reused): the first live one is 2.
    let v = g.oldest_embryo(|e| e.cport >= 2).unwrap();
    assert_eq!(v.cport, 2);
    assert_eq!(g.counters().embryonic_evicted, 1);
    assert_eq!(g.embryos.len(), 1);
}

#[test]
fn a_requeued_embryo_goes_after_the_newer_ones_and_its_old_handle_is_skipped() {
    let mut g = Guard::new(cfg(4), 16, T0);
    let e = |i: u16| Embryo {
        id: ConnId::from_index(u32::from(i)),
        caddr: Ipv4Addr::LOCALHOST,
        cport: i,
        gen: 0,
    };
    for i in 0..4 {
        assert_eq!(g.admit_embryo(e(i), |_| true), None);
    }
    // 0's client answered the handshake after 1, 2 and 3 came.
    g.requeue_embryo(e(0), |_| true);
    // The budget is spent: the oldest current handle is 1's (0's first handle is superseded).
    assert_eq!(g.admit_embryo(e(4), |_| true).map(|v| v.cport), Some(1));
    assert_eq!(g.admit_embryo(e(5), |_| true).map(|v| v.cport), Some(2));
    assert_eq!(g.admit_embryo(e(6), |_| true).map(|v| v.cport), Some(3));
    assert_eq!(g.admit_embryo(e(7), |_| true).map(|v| v.cport), Some(0));
    assert_eq!(g.counters().embryonic_evicted, 4);
    // Requeues never overfill the FIFO (twice the budget): compaction makes room.
    for _ in 0..100 {
        g.requeue_embryo(e(7), |_| true);
    }
    assert!(g.embryos.len() <= 8, "{}", g.embryos.len());
    // Without a budget nothing is remembered.
    let mut u = Guard::new(cfg(0), 16, T0);
    u.requeue_embryo(e(1), |_| true);
    assert_eq!(u.embryos.len(), 0);
}

#[test]
fn pressure_has_hysteresis() {
    let mut g = Guard::new(cfg(8), 64, T0);
    let push = |g: &mut Guard, n: u16| {
        let e = Embryo {
            id: ConnId::from_index(u32::from(n)),
            caddr: Ipv4Addr::LOCALHOST,
            cport: n,
            gen: 0,
        };
        g.admit_embryo(e, |_| true);
    };
    for n in 0..3 {
        push(&mut g, n);
        assert_eq!(g.update_pressure(), None);
    }
    push(&mut g, 3);
    assert_eq!(g.update_pressure(), Some(true), "half the budget");
    assert!(g.under_pressure());
    g.conn_freed(IpProtocol::TCP, true);
    assert_eq!(g.update_pressure(), None, "still above a quarter");
    g.conn_freed(IpProtocol::TCP, true);
    assert_eq!(g.update_pressure(), Some(false), "a quarter: pressure off");
    assert_eq!(g.counters().pressure_entered, 1);
    assert_eq!(Guard::new(cfg(0), 64, T0).update_pressure(), None, "no budget, no pressure");
}

#[test]
fn resets_are_rate_limited() {
    let c = GuardConfig { reset_pps: 10, reset_burst: 3, ..GuardConfig::UNLIMITED };
    let mut g = Guard::new(c, 16, T0);
    let sent = (0..10).filter(|_| g.may_reset(T0)).count();
    assert_eq!(sent, 3, "the burst");
    assert_eq!(g.counters().resets_limited, 7);
    assert!(g.may_reset(T0 + core::time::Duration::from_millis(100)), "refilled at the rate");
    let mut u = Guard::new(GuardConfig::UNLIMITED, 16, T0);
    assert!((0..10_000).all(|_| u.may_reset(T0)));
}
