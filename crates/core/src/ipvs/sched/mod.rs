//! Schedulers: which real server (dest) gets a new connection.
//!
//! Owns the [`Scheduler`] trait, the view of a dest a scheduler sees ([`DestView`]), the packet
//! fields it may key on ([`SchedKey`]), the scheduler names and flags users type
//! ([`SchedKind`], [`SchedFlags`]) and one file per IPVS scheduler:
//! `rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf mh twos`.
//!
//! It must not touch connections, packets or clocks. The control plane hands each worker core's
//! scheduler the dest list of a service through [`Scheduler::update`] whenever the list or a
//! weight changes (tables are rebuilt there, allocation allowed); the worker passes the same list,
//! with that core's connection counts, to [`Scheduler::schedule`] for every new connection
//! (allocation-free, bounded work) and the time of the burst to [`Scheduler::tick`].
//!
//! # Eligibility
//! A dest takes new connections only if its weight is above zero (weight 0 is "quiescent") and
//! it is [`DestView::available`] (not over its upper connection threshold). Every scheduler
//! returns either `None` or the index of an eligible dest; which eligible dest, and whether it
//! gives up (`None`) while some other dest is eligible, is each scheduler's definition:
//! `dh` never falls back, `sh`/`mh` fall back only with their `-fallback` flag, `ovf` also
//! requires `active <= weight`.
//!
//! # Per-core state
//! Each worker core owns one scheduler per service; counts in [`DestView`] are that core's. `rr`
//! starts at a different offset on each core and `twos` seeds its generator per core, so cores do
//! not move in lock-step. Hash-based schedulers (`dh`, `sh`, `mh`) build identical tables on
//! every core from the same dest list, so a client maps to the same dest whichever core sees it.

use core::net::IpAddr;

use crate::time::Instant;

mod bucket;
mod flags;
mod hash;
mod kind;
mod locality;

pub mod dh;
pub mod fo;
pub mod lblc;
pub mod lblcr;
pub mod lc;
pub mod mh;
pub mod nq;
pub mod ovf;
pub mod rr;
pub mod sed;
pub mod sh;
pub mod twos;
pub mod wlc;
pub mod wrr;

pub use flags::SchedFlags;
pub use kind::{MhTableSize, SchedError, SchedKind};

/// What a scheduler knows about one dest of a service, as seen by one worker core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DestView {
    /// Real server address.
    pub addr: IpAddr,
    /// Real server port.
    pub port: u16,
    /// Configured weight; 0 means quiescent (no new connections).
    pub weight: u32,
    /// Active connections (TCP established) owned by this core.
    pub active: u32,
    /// Inactive connections (any other state) owned by this core.
    pub inactive: u32,
    /// Persistence templates pointing at this dest on this core.
    pub persist: u32,
    /// `false` when the dest is over its upper connection threshold (overloaded).
    pub available: bool,
}

impl DestView {
    /// A dest with the given address, port and weight, no connections, available.
    pub fn new(addr: IpAddr, port: u16, weight: u32) -> Self {
        DestView { addr, port, weight, active: 0, inactive: 0, persist: 0, available: true }
    }

    /// Whether this dest may take a new connection: weight above zero and not overloaded.
    pub fn is_eligible(&self) -> bool {
        self.weight > 0 && self.available
    }

    /// IPVS's connection overhead: `active * 256 + inactive`. An active connection costs far
    /// more than one waiting out its TIME_WAIT or UDP timeout.
    pub fn conn_overhead(&self) -> u64 {
        (u64::from(self.active) << 8) + u64::from(self.inactive)
    }
}

/// The fields of a new connection's first packet a scheduler may key on: its flow tuple
/// ([`crate::wire::Tuple`]) with family-independent addresses. The source is the client; the
/// destination is the address the client sent to: the virtual address, or with a
/// firewall-mark service in front of transparent caches, the real target (what `dh`, `lblc`
/// and `lblcr` key on).
pub type SchedKey = crate::wire::Tuple<IpAddr>;

/// One IPVS scheduling algorithm's state for one service on one worker core.
pub trait Scheduler: Send + core::fmt::Debug {
    /// The name users type after `-s` (`rr`, `wlc`, ...).
    fn name(&self) -> &'static str;

    /// Picks the dest for a new connection: an index into `dests` of an eligible dest, or `None`
    /// when this scheduler finds none. Never allocates; bounded work; never panics, even if
    /// `dests` differs from the list last given to [`Scheduler::update`].
    fn schedule(&mut self, dests: &[DestView], key: &SchedKey) -> Option<usize>;

    /// The service's dest list or a weight changed: rebuild tables. Called by the control plane
    /// before the first [`Scheduler::schedule`] and after every change. May allocate.
    fn update(&mut self, dests: &[DestView]);

    /// The worker's clock for this burst; only schedulers with expiring state (`lblc`, `lblcr`)
    /// use it.
    fn tick(&mut self, _now: Instant) {}
}

/// Index of the eligible dest with the least `overhead(d) / weight`, compared by
/// cross-multiplication as IPVS does (no division, no rounding). Ties go to the first in the list.
pub(crate) fn least_weighted(
    dests: &[DestView],
    overhead: impl Fn(&DestView) -> u64,
) -> Option<usize> {
    let mut best: Option<(usize, u64, u32)> = None;
    for (i, d) in dests.iter().enumerate() {
        if !d.is_eligible() {
            continue;
        }
        let doh = overhead(d);
        match best {
            // doh / d.weight < loh / lw  <=>  doh * lw < loh * d.weight (weights > 0).
            Some((_, loh, lw))
                if u128::from(doh) * u128::from(lw) >= u128::from(loh) * u128::from(d.weight) => {}
            _ => best = Some((i, doh, d.weight)),
        }
    }
    best.map(|(i, _, _)| i)
}

#[cfg(test)]
pub(crate) mod testutil {
    use super::*;
    use crate::wire::IpProtocol;
    use core::net::Ipv4Addr;

    /// Dest `10.0.0.<n>:80` with the given weight, no connections, available.
    pub fn dest(n: u8, weight: u32) -> DestView {
        DestView::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, n)), 80, weight)
    }

    /// Dest with connection counts.
    pub fn loaded(n: u8, weight: u32, active: u32, inactive: u32) -> DestView {
        DestView { active, inactive, ..dest(n, weight) }
    }

    /// A TCP key from `192.168.<a>.<b>:<port>` to `172.16.0.1:80`.
    pub fn key_from(a: u8, b: u8, port: u16) -> SchedKey {
        SchedKey::new(
            IpProtocol::TCP,
            IpAddr::V4(Ipv4Addr::new(192, 168, a, b)),
            port,
            IpAddr::V4(Ipv4Addr::new(172, 16, 0, 1)),
            80,
        )
    }

    /// A TCP key to `dst:80` from a fixed client.
    pub fn key_to(dst: IpAddr) -> SchedKey {
        SchedKey { daddr: dst, ..key_from(1, 1, 40000) }
    }

    /// A key from the i-th of many distinct clients (IPv4, spread over 10.0.0.0/8).
    pub fn nth_key(i: u32) -> SchedKey {
        let src = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | (i & 0x00ff_ffff)));
        SchedKey { saddr: src, ..key_from(0, 0, 1024) }
    }

    /// Runs `n` picks and returns the chosen indices.
    pub fn picks(
        s: &mut dyn Scheduler,
        dests: &[DestView],
        key: &SchedKey,
        n: usize,
    ) -> Vec<Option<usize>> {
        (0..n).map(|_| s.schedule(dests, key)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::*;
    use super::*;
    use crate::wire::IpProtocol;
    use core::net::{Ipv4Addr, Ipv6Addr};
    use proptest::prelude::*;

    #[test]
    fn overhead_is_active_times_256_plus_inactive() {
        assert_eq!(loaded(1, 1, 3, 7).conn_overhead(), 3 * 256 + 7);
        assert_eq!(
            loaded(1, 1, u32::MAX, u32::MAX).conn_overhead(),
            (u64::from(u32::MAX) << 8) + u64::from(u32::MAX)
        );
    }

    #[test]
    fn eligibility_needs_weight_and_availability() {
        assert!(dest(1, 1).is_eligible());
        assert!(!dest(1, 0).is_eligible());
        assert!(!DestView { available: false, ..dest(1, 5) }.is_eligible());
    }

    #[test]
    fn least_weighted_compares_ratios_exactly_and_keeps_first_on_ties() {
        // 10/2 = 5 vs 15/3 = 5: tie, first wins.
        let d = [loaded(1, 2, 0, 10), loaded(2, 3, 0, 15)];
        assert_eq!(least_weighted(&d, |d| u64::from(d.inactive)), Some(0));
        // 10/2 = 5 vs 14/3 < 5: second wins.
        let d = [loaded(1, 2, 0, 10), loaded(2, 3, 0, 14)];
        assert_eq!(least_weighted(&d, |d| u64::from(d.inactive)), Some(1));
        // Huge values do not overflow.
        let d = [loaded(1, u32::MAX, u32::MAX, u32::MAX), loaded(2, 1, u32::MAX, 0)];
        assert_eq!(least_weighted(&d, DestView::conn_overhead), Some(0));
        assert_eq!(least_weighted(&[dest(1, 0)], DestView::conn_overhead), None);
    }

    fn arb_addr() -> impl Strategy<Value = IpAddr> {
        prop_oneof![
            any::<u32>().prop_map(|a| IpAddr::V4(Ipv4Addr::from(a))),
            any::<u128>().prop_map(|a| IpAddr::V6(Ipv6Addr::from(a))),
        ]
    }

    fn arb_dest() -> impl Strategy<Value = DestView> {
        (
            arb_addr(),
            any::<u16>(),
            prop_oneof![0u32..6, any::<u32>()],
            0u32..2000,
            0u32..2000,
            any::<bool>(),
        )
            .prop_map(|(addr, port, weight, active, inactive, available)| DestView {
                addr,
                port,
                weight,
                active,
                inactive,
                persist: 0,
                available,
            })
    }

    fn arb_key() -> impl Strategy<Value = SchedKey> {
        (any::<u8>(), arb_addr(), any::<u16>(), arb_addr(), any::<u16>()).prop_map(
            |(proto, src, src_port, dst, dst_port)| {
                SchedKey::new(IpProtocol(proto), src, src_port, dst, dst_port)
            },
        )
    }

    fn arb_flags() -> impl Strategy<Value = SchedFlags> {
        (0u8..8).prop_map(SchedFlags::from_bits)
    }

    /// Schedulers that find a dest whenever one is eligible (given their flags).
    fn always_finds(kind: SchedKind, flags: SchedFlags) -> bool {
        match kind {
            SchedKind::Dh | SchedKind::Ovf => false,
            SchedKind::Sh => flags.sh_fallback(),
            SchedKind::Mh => flags.mh_fallback(),
            _ => true,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// Every scheduler: a pick is an eligible dest, nothing eligible means `None`, and the
        /// work-conserving ones find a dest whenever one is eligible. Also when the list given to
        /// `schedule` is not the one given to `update` (a caller bug must not panic).
        #[test]
        fn picks_are_eligible_and_none_means_none_eligible(
            dests in proptest::collection::vec(arb_dest(), 0..9),
            stale in proptest::collection::vec(arb_dest(), 0..9),
            keys in proptest::collection::vec(arb_key(), 1..6),
            flags in arb_flags(),
            core in 0usize..4,
            now in any::<u32>(),
        ) {
            let size = MhTableSize::new(251).unwrap();
            for kind in SchedKind::ALL {
                let mut s = kind.build(flags, core, 4, size);
                s.tick(Instant::from_micros(u64::from(now)));
                s.update(&dests);
                let any_eligible = dests.iter().any(DestView::is_eligible);
                for key in &keys {
                    for _ in 0..3 {
                        let got = s.schedule(&dests, key);
                        match got {
                            Some(i) => {
                                prop_assert!(i < dests.len(), "{kind}: index {i} out of range");
                                prop_assert!(dests[i].is_eligible(), "{kind}: picked ineligible {:?}", dests[i]);
                                if kind == SchedKind::Ovf {
                                    prop_assert!(dests[i].active <= dests[i].weight);
                                }
                            }
                            None => prop_assert!(
                                !(any_eligible && always_finds(kind, flags)),
                                "{kind}: gave up with eligible dests {:?}", dests
                            ),
                        }
                    }
                }
                // A list that does not match the last update.
                for key in &keys {
                    if let Some(i) = s.schedule(&stale, key) {
                        prop_assert!(i < stale.len() && stale[i].is_eligible(), "{kind}: stale pick {i}");
                    }
                }
                prop_assert!(s.schedule(&[], &keys[0]).is_none());
            }
        }
    }
}
