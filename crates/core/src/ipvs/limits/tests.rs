//! Properties of the prefix sets and the per-source table.

use std::net::Ipv4Addr;

use proptest::prelude::*;

use super::*;
use crate::ipvs::spec::Ipv4Prefix;
use crate::time::Instant;

fn prefix() -> impl Strategy<Value = Ipv4Prefix> {
    // Short lengths too, and addresses bunched in a few /8s so that prefixes overlap.
    (0u32..4, any::<u32>(), 0u8..=32).prop_map(|(top, low, len)| {
        let a = (top << 24 | (low & 0x00FF_FFFF)) & Ipv4Prefix::mask(len);
        Ipv4Prefix { addr: Ipv4Addr::from(a), len }
    })
}

fn addr() -> impl Strategy<Value = Ipv4Addr> {
    (0u32..5, any::<u32>()).prop_map(|(top, low)| Ipv4Addr::from(top << 24 | (low & 0x00FF_FFFF)))
}

proptest! {
    /// The set's lookup is a naive scan of the prefixes, whatever they are.
    #[test]
    fn prefix_set_equals_a_naive_scan(
        list in prop::collection::vec(prefix(), 0..60),
        probes in prop::collection::vec(addr(), 1..200),
    ) {
        let set = PrefixSet::build(&list);
        for w in set.ranges().windows(2) {
            prop_assert!(w[0].1 < w[1].0 && w[1].0 - w[0].1 > 1, "disjoint, not adjacent");
        }
        let mut extra: Vec<Ipv4Addr> = Vec::new();
        for p in &list {
            let (lo, hi) = p.range();
            extra.extend([lo, hi, lo.wrapping_sub(1), hi.wrapping_add(1)].map(Ipv4Addr::from));
        }
        for a in probes.into_iter().chain(extra) {
            let naive = list.iter().any(|p| p.contains(a));
            prop_assert_eq!(set.contains(a), naive, "{}", a);
        }
    }

    /// One client never gets more than `rate * t + burst` connections in any window of `t`
    /// seconds, whatever its timing and however many other clients share the table.
    #[test]
    fn bucket_never_admits_more_than_rate_times_t_plus_burst(
        rate in 1u32..2000,
        burst in 1u32..50,
        gaps in prop::collection::vec(0u64..5_000, 1..300),
        others in prop::collection::vec(any::<u32>(), 0..300),
    ) {
        let p = RateParams::new(rate, burst);
        let mut t = SourceRates::new(64 * 1024, 7);
        let me = Ipv4Addr::new(10, 0, 0, 1);
        let mut now = 1_000_000u64;
        let mut admitted = Vec::new();
        for (i, g) in gaps.iter().enumerate() {
            now += g;
            if let Some(o) = others.get(i) {
                t.admit(1, Ipv4Addr::from(*o), p, Instant::from_micros(now));
            }
            if t.admit(1, me, p, Instant::from_micros(now)) {
                admitted.push(now);
            }
        }
        prop_assert_eq!(t.evicted(), 0);
        for i in 0..admitted.len() {
            for j in i..admitted.len() {
                let secs = (admitted[j] - admitted[i]) as f64 / 1e6;
                let n = (j - i + 1) as f64;
                prop_assert!(n <= f64::from(rate) * secs + f64::from(burst),
                    "{} admitted in {} s at {}/s burst {}", n, secs, rate, burst);
            }
        }
    }

    /// A flood of new sources through a tiny table never grows it, and never evicts a client
    /// that is being limited (burst at least 2): it stays within `rate * t + burst`.
    #[test]
    fn table_stays_bounded_and_keeps_limited_clients(
        entries in 4usize..64,
        burst in 2u32..10,
        flood in prop::collection::vec(any::<u32>(), 100..2000),
    ) {
        let p = RateParams::new(10, burst);
        let mut t = SourceRates::new(entries, 99);
        let cap = t.capacity();
        let me = Ipv4Addr::new(192, 0, 2, 1);
        let start = 5_000_000u64;
        let mut now = start;
        let mut mine = 0u32;
        for (i, a) in flood.iter().enumerate() {
            now += 100;
            t.admit(3, Ipv4Addr::from(*a), p, Instant::from_micros(now));
            if i % 3 == 0 && t.admit(3, me, p, Instant::from_micros(now)) {
                mine += 1;
            }
            prop_assert!(t.occupied() <= cap);
            prop_assert_eq!(t.capacity(), cap);
        }
        let secs = (now - start) as f64 / 1e6;
        prop_assert!(f64::from(mine) <= 10.0 * secs + f64::from(burst), "{} in {} s", mine, secs);
    }
}

#[test]
fn services_have_buckets_of_their_own() {
    let p = RateParams::new(1, 2);
    let mut t = SourceRates::new(16, 1);
    let a = Ipv4Addr::new(1, 2, 3, 4);
    let now = Instant::from_secs(10);
    assert!(t.admit(0, a, p, now) && t.admit(0, a, p, now));
    assert!(!t.admit(0, a, p, now));
    assert!(t.admit(1, a, p, now), "another service: its own bucket");
    assert!(t.admit(0, a, p, Instant::from_secs(11)), "one token a second");
    assert!(!t.admit(0, a, p, Instant::from_secs(11)));
}

#[test]
fn lists_deny_wins_and_allow_admits_only_its_own() {
    let l = crate::ipvs::spec::ServiceLimits {
        allow: vec!["10.0.0.0/8".parse().unwrap()],
        deny: vec!["10.9.0.0/16".parse().unwrap()],
        ..Default::default()
    };
    let c = SvcLimits::compile(&l).unwrap();
    assert_eq!(c.check_source(Ipv4Addr::new(10, 1, 1, 1)), Ok(()));
    assert_eq!(c.check_source(Ipv4Addr::new(10, 9, 1, 1)), Err(IpvsDropReason::SourceDenied));
    assert_eq!(c.check_source(Ipv4Addr::new(11, 0, 0, 1)), Err(IpvsDropReason::SourceNotAllowed));
    let deny_only = crate::ipvs::spec::ServiceLimits { allow: vec![], ..l };
    let c = SvcLimits::compile(&deny_only).unwrap();
    assert_eq!(c.check_source(Ipv4Addr::new(11, 0, 0, 1)), Ok(()));
    assert!(SvcLimits::compile(&Default::default()).is_none());
    assert_eq!(
        (SvcLimits::core_share(0, 4), SvcLimits::core_share(10, 4), SvcLimits::core_share(3, 4)),
        (0, 3, 1)
    );
}
