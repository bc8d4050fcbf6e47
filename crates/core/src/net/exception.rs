//! The exception path to the host kernel, sans-IO: what the kernel gets, how much, and the counts.
//!
//! Owns [`TokenBucket`] (the per-core rate limit, on a clock passed in), [`ExceptionParams`] (its
//! settings, from the config), [`ExceptionCounters`] with [`ExceptionDrop`] (packets and bytes in
//! both directions, drops by reason) and [`Exception`], the per-core state the [`super::Stack`]
//! consults when it hands a packet to the kernel or sends one the kernel wrote.
//!
//! Which packets go to the kernel is decided by the stack (addresses configured as the kernel's,
//! ARP for them, IPv4 multicast and broadcast); this module only meters and counts. It must not
//! know DPDK, taps or queues: the worker moves the buffers through [`super::NetIo::to_kernel`] and
//! reads what the kernel sent itself, asking [`Exception::from_kernel_budget`] how much it may take.

use super::exc_class::{ClassCount, ClassLimits, ClassRate, ExcClass, DEFAULT_CLASS_RATES};
use super::exc_from_kernel::DEFAULT_FROM_KERNEL_CLASS_RATES;
use crate::time::Instant;

/// A token bucket: `rate` tokens per second, at most `depth` banked. One token is one packet.
///
/// Integer arithmetic on microseconds with a remainder kept, so no rate is lost to rounding
/// whatever the call pattern. Time going backwards is treated as no time passing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenBucket {
    rate: u64,
    depth: u64,
    tokens: u64,
    /// Token-microseconds accrued but not yet a whole token (`< 1_000_000`).
    frac: u64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket at `now`. `rate == 0` means unlimited (every [`TokenBucket::take`] succeeds).
    pub fn new(rate: u64, depth: u64, now: Instant) -> Self {
        TokenBucket { rate, depth: depth.max(1), tokens: depth.max(1), frac: 0, last: now }
    }

    /// Whether the bucket limits at all.
    pub fn is_unlimited(&self) -> bool {
        self.rate == 0
    }

    fn refill(&mut self, now: Instant) {
        let dt = now.saturating_since(self.last);
        self.last = self.last.max(now);
        if self.tokens >= self.depth {
            self.frac = 0;
            return;
        }
        let us = u64::try_from(dt.as_micros()).unwrap_or(u64::MAX);
        let acc = us.saturating_mul(self.rate).saturating_add(self.frac);
        let add = acc / 1_000_000;
        self.frac = acc % 1_000_000;
        self.tokens = self.tokens.saturating_add(add).min(self.depth);
        if self.tokens >= self.depth {
            self.frac = 0;
        }
    }

    /// Tokens available at `now` (at most the depth; `u64::MAX` when unlimited).
    pub fn available(&mut self, now: Instant) -> u64 {
        if self.rate == 0 {
            return u64::MAX;
        }
        self.refill(now);
        self.tokens
    }

    /// Takes one token at `now`; false when the bucket is empty.
    #[inline]
    pub fn take(&mut self, now: Instant) -> bool {
        if self.rate == 0 {
            return true;
        }
        if self.tokens >= self.depth {
            // Full: nothing accrued while it sat full; its accrual starts with this token (the
            // refill below is lazy, and would otherwise credit the whole quiet spell once the
            // bucket empties: a second burst of the depth).
            self.last = self.last.max(now);
            self.frac = 0;
        } else if self.tokens == 0 {
            self.refill(now);
        }
        if self.tokens == 0 {
            return false;
        }
        self.tokens -= 1;
        true
    }
}

/// Settings of one core's exception path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExceptionParams {
    /// Packets per second one core hands to the kernel; 0 = unlimited.
    pub to_kernel_pps: u64,
    /// Packets the to-kernel bucket banks (the burst allowed after a quiet spell).
    pub to_kernel_burst: u64,
    /// Packets per second one core takes from the kernel; 0 = unlimited.
    pub from_kernel_pps: u64,
    /// Packets the from-kernel bucket banks.
    pub from_kernel_burst: u64,
    /// Per (port, class) rates to the kernel, by [`ExcClass`] discriminant, checked before the
    /// core's aggregate `to_kernel_pps`.
    pub classes: [ClassRate; ExcClass::COUNT],
    /// Per (port, class) rates of what the kernel sends out of a port, by [`ExcClass`]
    /// discriminant ([`super::exc_from_kernel`]).
    pub from_kernel_classes: [ClassRate; ExcClass::COUNT],
}

impl Default for ExceptionParams {
    /// 20 000 packets/s per core each way with bursts of 512: far more than SSH, routing
    /// protocols and health checks need, and a few percent of a core at the tap's per-packet
    /// system-call cost.
    fn default() -> Self {
        ExceptionParams {
            to_kernel_pps: 20_000,
            to_kernel_burst: 512,
            from_kernel_pps: 20_000,
            from_kernel_burst: 512,
            classes: DEFAULT_CLASS_RATES,
            from_kernel_classes: DEFAULT_FROM_KERNEL_CLASS_RATES,
        }
    }
}

/// Why a packet on the exception path was dropped. Names are Prometheus label values.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExceptionDrop {
    /// The core's to-kernel rate limit was exhausted.
    RateLimited,
    /// The kernel interface's queue did not take the packet (the kernel is not reading).
    KernelQueueFull,
    /// The packet arrived on a port without a kernel interface, or for a kernel address of
    /// another port.
    NoKernelIface,
    /// The packet's (port, class) rate limit was exhausted (see [`ExcClass`]).
    ClassLimited,
    /// A packet the kernel sent exhausted its (port, class) rate limit
    /// ([`super::exc_from_kernel`]).
    FromKernelClassLimited,
}

impl ExceptionDrop {
    /// Number of reasons.
    pub const COUNT: usize = 5;
    /// Every reason, in discriminant order.
    pub const ALL: [ExceptionDrop; ExceptionDrop::COUNT] = [
        ExceptionDrop::RateLimited,
        ExceptionDrop::KernelQueueFull,
        ExceptionDrop::NoKernelIface,
        ExceptionDrop::ClassLimited,
        ExceptionDrop::FromKernelClassLimited,
    ];

    /// The snake_case label value.
    pub const fn name(self) -> &'static str {
        match self {
            ExceptionDrop::RateLimited => "rate_limited",
            ExceptionDrop::KernelQueueFull => "kernel_queue_full",
            ExceptionDrop::NoKernelIface => "no_kernel_iface",
            ExceptionDrop::ClassLimited => "class_limited",
            ExceptionDrop::FromKernelClassLimited => "from_kernel_class_limited",
        }
    }
}

/// One core's exception-path counters. Single writer.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ExceptionCounters {
    /// Packets handed to the kernel interface.
    pub to_kernel_packets: u64,
    /// Bytes (Ethernet frames) handed to the kernel interface.
    pub to_kernel_bytes: u64,
    /// Packets the kernel sent, passed to a DPDK port.
    pub from_kernel_packets: u64,
    /// Bytes of those.
    pub from_kernel_bytes: u64,
    /// Drops by [`ExceptionDrop`] discriminant.
    pub drops: [u64; ExceptionDrop::COUNT],
}

impl ExceptionCounters {
    /// Counts a drop.
    #[inline]
    pub fn count_drop(&mut self, r: ExceptionDrop) {
        if let Some(c) = self.drops.get_mut(r as usize) {
            *c = c.wrapping_add(1);
        }
    }

    /// Drops counted for `r`.
    pub fn drop_count(&self, r: ExceptionDrop) -> u64 {
        self.drops.get(r as usize).copied().unwrap_or(0)
    }

    /// The sum of two halves (the stack's and the worker's).
    pub fn merged(&self, other: &ExceptionCounters) -> ExceptionCounters {
        let mut out = *self;
        out.to_kernel_packets = out.to_kernel_packets.wrapping_add(other.to_kernel_packets);
        out.to_kernel_bytes = out.to_kernel_bytes.wrapping_add(other.to_kernel_bytes);
        out.from_kernel_packets = out.from_kernel_packets.wrapping_add(other.from_kernel_packets);
        out.from_kernel_bytes = out.from_kernel_bytes.wrapping_add(other.from_kernel_bytes);
        for (a, b) in out.drops.iter_mut().zip(other.drops) {
            *a = a.wrapping_add(b);
        }
        out
    }
}

/// What became of a packet offered to the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// Hand it to the kernel interface (counted).
    Pass,
    /// Drop it (counted under this reason).
    Drop(ExceptionDrop),
}

/// One core's exception path: which ports have a kernel interface, the two rate limits, counts.
#[derive(Debug, Clone)]
pub struct Exception {
    /// Indexed by port; true where the port has a kernel interface.
    ports: Vec<bool>,
    to_kernel: TokenBucket,
    from_kernel: TokenBucket,
    classes: ClassLimits,
    from_classes: ClassLimits,
    counters: ExceptionCounters,
}

impl Exception {
    /// The exception path for `ports` (the port indices that have a kernel interface).
    pub fn new(ports: &[u16], params: ExceptionParams, now: Instant) -> Self {
        let n = ports.iter().map(|&p| usize::from(p) + 1).max().unwrap_or(0);
        let mut v = vec![false; n];
        for &p in ports {
            if let Some(s) = v.get_mut(usize::from(p)) {
                *s = true;
            }
        }
        Exception {
            ports: v,
            to_kernel: TokenBucket::new(params.to_kernel_pps, params.to_kernel_burst, now),
            from_kernel: TokenBucket::new(params.from_kernel_pps, params.from_kernel_burst, now),
            classes: ClassLimits::new(n, &params.classes, now),
            from_classes: ClassLimits::new(n, &params.from_kernel_classes, now),
            counters: ExceptionCounters::default(),
        }
    }

    /// No port has a kernel interface.
    pub fn disabled() -> Self {
        Exception::new(&[], ExceptionParams::default(), Instant::ZERO)
    }

    /// Whether `port` has a kernel interface.
    #[inline]
    pub fn has_port(&self, port: u16) -> bool {
        self.ports.get(usize::from(port)).copied().unwrap_or(false)
    }

    /// Whether any port has one.
    pub fn enabled(&self) -> bool {
        self.ports.iter().any(|&p| p)
    }

    /// Decides (and counts) a packet of `len` bytes and class `class` for the kernel interface
    /// of `port`: its (port, class) bucket first, so a flood of one class or at one port spends
    /// only its own bucket, then the core's aggregate one.
    #[inline]
    pub fn admit_to_kernel(
        &mut self,
        port: u16,
        class: ExcClass,
        len: usize,
        now: Instant,
    ) -> Admit {
        let verdict = if !self.has_port(port) {
            Admit::Drop(ExceptionDrop::NoKernelIface)
        } else if !self.classes.take(port, class, now) {
            Admit::Drop(ExceptionDrop::ClassLimited)
        } else if !self.to_kernel.take(now) {
            Admit::Drop(ExceptionDrop::RateLimited)
        } else {
            self.counters.to_kernel_packets += 1;
            self.counters.to_kernel_bytes += len as u64;
            Admit::Pass
        };
        if let Admit::Drop(r) = verdict {
            self.counters.count_drop(r);
        }
        verdict
    }

    /// How many packets the worker may read from the kernel interfaces now (at most `max`).
    /// Packets it leaves unread wait in the kernel's queue, which drops on its own side when full.
    #[inline]
    pub fn from_kernel_budget(&mut self, now: Instant, max: usize) -> usize {
        let avail = self.from_kernel.available(now);
        usize::try_from(avail).unwrap_or(usize::MAX).min(max)
    }

    /// Counts one packet of `len` bytes read from the kernel, and takes its token.
    #[inline]
    pub fn count_from_kernel(&mut self, len: usize, now: Instant) {
        let _ = self.from_kernel.take(now);
        self.counters.from_kernel_packets += 1;
        self.counters.from_kernel_bytes += len as u64;
    }

    /// Decides (and counts) a packet of `len` bytes and class `class` that the kernel sent on
    /// the interface of `port`, read within [`Exception::from_kernel_budget`]: its (port,
    /// class) bucket first; a packet refused there takes no token of the core's aggregate, so
    /// the worker reads on past a flood of one class, and the frames of the others queued
    /// behind it are not left to the kernel's queue to drop.
    #[inline]
    pub fn admit_from_kernel(
        &mut self,
        port: u16,
        class: ExcClass,
        len: usize,
        now: Instant,
    ) -> Admit {
        if !self.from_classes.take(port, class, now) {
            self.counters.count_drop(ExceptionDrop::FromKernelClassLimited);
            return Admit::Drop(ExceptionDrop::FromKernelClassLimited);
        }
        self.count_from_kernel(len, now);
        Admit::Pass
    }

    /// Counts a drop decided outside (the worker's kernel queue was full).
    pub fn count_drop(&mut self, r: ExceptionDrop) {
        self.counters.count_drop(r);
    }

    /// The counters.
    pub fn counters(&self) -> &ExceptionCounters {
        &self.counters
    }

    /// Per (port, class) counts, by port index then [`ExcClass`] discriminant.
    pub fn class_counts(&self) -> &[[ClassCount; ExcClass::COUNT]] {
        self.classes.counts()
    }

    /// Per (port, class) counts of what the kernel sent, by port index then [`ExcClass`]
    /// discriminant.
    pub fn from_kernel_class_counts(&self) -> &[[ClassCount; ExcClass::COUNT]] {
        self.from_classes.counts()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::time::Duration;
    use proptest::prelude::*;

    fn at(us: u64) -> Instant {
        Instant::ZERO + Duration::from_micros(us)
    }

    #[test]
    fn full_bucket_gives_depth_then_refills_at_rate() {
        let mut b = TokenBucket::new(1000, 10, at(0));
        for i in 0..10 {
            assert!(b.take(at(0)), "token {i}");
        }
        assert!(!b.take(at(0)), "empty after depth");
        assert!(!b.take(at(999)), "1000/s: the next token is due at 1 ms");
        assert!(b.take(at(1000)));
        assert!(!b.take(at(1000)));
        // 5 ms later: 5 tokens.
        assert_eq!((0..20).filter(|_| b.take(at(6000))).count(), 5);
    }

    #[test]
    fn a_quiet_spell_gives_one_burst_not_two() {
        let mut b = TokenBucket::new(1000, 10, at(0));
        // Full and untouched for 10 s, then a burst: the depth, and nothing more at once.
        let t = 10_000_000;
        assert_eq!((0..30).filter(|_| b.take(at(t))).count(), 10);
        assert!(!b.take(at(t + 999)), "1000/s: the next token is due 1 ms after the burst");
        assert!(b.take(at(t + 1000)));
    }

    #[test]
    fn refill_never_exceeds_depth() {
        let mut b = TokenBucket::new(1_000_000, 4, at(0));
        assert!(b.take(at(0)));
        assert_eq!(b.available(at(10_000_000)), 4);
    }

    #[test]
    fn fractions_are_kept_across_calls() {
        // 3 tokens/s polled every 100 µs (300 token-µs per poll, never a whole token): exactly
        // 30 tokens in ten seconds once the initial burst is spent, not 0.
        let mut b = TokenBucket::new(3, 5, at(0));
        assert_eq!((0..10).filter(|_| b.take(at(0))).count(), 5);
        let mut got = 0;
        for t in 1..=100_000u64 {
            if b.take(at(t * 100)) {
                got += 1;
            }
        }
        assert_eq!(got, 30);
    }

    #[test]
    fn clock_going_back_gives_nothing() {
        let mut b = TokenBucket::new(1000, 1, at(5000));
        assert!(b.take(at(5000)));
        assert!(!b.take(at(0)));
        assert!(!b.take(at(5500)));
        assert!(b.take(at(6000)));
    }

    #[test]
    fn zero_rate_is_unlimited() {
        let mut b = TokenBucket::new(0, 1, at(0));
        assert!(b.is_unlimited());
        assert!((0..10_000).all(|_| b.take(at(0))));
    }

    proptest! {
        /// Over any schedule of attempts, what passes is at most depth + rate·elapsed, and a
        /// caller who asks at least once per token interval gets at least rate·elapsed - 1.
        #[test]
        fn passes_bounded_by_rate(rate in 1u64..100_000, depth in 1u64..1000,
                                  steps in proptest::collection::vec((0u64..2000, 0u32..50), 1..200)) {
            let mut b = TokenBucket::new(rate, depth, at(0));
            let mut t = 0u64;
            let mut passed = 0u64;
            for (dt, tries) in steps {
                t += dt;
                for _ in 0..tries {
                    if b.take(at(t)) { passed += 1; }
                }
            }
            let max = depth + rate * t / 1_000_000;
            prop_assert!(passed <= max, "passed {} > {}", passed, max);
        }

        #[test]
        fn steady_demand_gets_the_rate(rate in 1_000u64..200_000) {
            // Depth 2: the bucket, emptied at once, never fills again, so no accrual is lost.
            let mut b = TokenBucket::new(rate, 2, at(0));
            let mut passed = 0u64;
            // One attempt every 1 µs for 100 ms, far above any rate here.
            for t in 0..100_000u64 {
                if b.take(at(t)) { passed += 1; }
            }
            let want = rate * 99_999 / 1_000_000 + 2;
            prop_assert_eq!(passed, want);
        }
    }

    #[test]
    fn admit_counts_and_limits() {
        let params = ExceptionParams {
            to_kernel_pps: 1000,
            to_kernel_burst: 2,
            ..ExceptionParams::default()
        };
        let mut e = Exception::new(&[1], params, at(0));
        assert!(!e.has_port(0) && e.has_port(1) && !e.has_port(7));
        assert_eq!(
            e.admit_to_kernel(0, ExcClass::Other, 60, at(0)),
            Admit::Drop(ExceptionDrop::NoKernelIface)
        );
        assert_eq!(e.admit_to_kernel(1, ExcClass::Other, 60, at(0)), Admit::Pass);
        assert_eq!(e.admit_to_kernel(1, ExcClass::Other, 100, at(0)), Admit::Pass);
        assert_eq!(
            e.admit_to_kernel(1, ExcClass::Other, 60, at(0)),
            Admit::Drop(ExceptionDrop::RateLimited)
        );
        assert_eq!(e.admit_to_kernel(1, ExcClass::Other, 60, at(1000)), Admit::Pass);
        let c = e.counters();
        assert_eq!((c.to_kernel_packets, c.to_kernel_bytes), (3, 220));
        assert_eq!(c.drop_count(ExceptionDrop::NoKernelIface), 1);
        assert_eq!(c.drop_count(ExceptionDrop::RateLimited), 1);
        assert_eq!(c.drop_count(ExceptionDrop::KernelQueueFull), 0);
    }

    #[test]
    fn from_kernel_budget_follows_the_bucket() {
        let params = ExceptionParams {
            from_kernel_pps: 10_000,
            from_kernel_burst: 64,
            ..ExceptionParams::default()
        };
        let mut e = Exception::new(&[0], params, at(0));
        assert_eq!(e.from_kernel_budget(at(0), 32), 32);
        for _ in 0..64 {
            e.count_from_kernel(100, at(0));
        }
        assert_eq!(e.from_kernel_budget(at(0), 32), 0);
        assert_eq!(e.from_kernel_budget(at(1000), 32), 10, "10 000/s: 10 per ms");
        assert_eq!(e.counters().from_kernel_packets, 64);
        assert_eq!(e.counters().from_kernel_bytes, 6400);
    }

    #[test]
    fn drop_names_are_distinct_and_ordered() {
        for (i, r) in ExceptionDrop::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i);
        }
        let names: std::collections::HashSet<_> =
            ExceptionDrop::ALL.iter().map(|r| r.name()).collect();
        assert_eq!(names.len(), ExceptionDrop::COUNT);
    }

    #[test]
    fn merged_sums_everything() {
        let mut a =
            ExceptionCounters { to_kernel_packets: 1, from_kernel_bytes: 5, ..Default::default() };
        a.count_drop(ExceptionDrop::RateLimited);
        let mut b =
            ExceptionCounters { to_kernel_packets: 2, to_kernel_bytes: 9, ..Default::default() };
        b.count_drop(ExceptionDrop::KernelQueueFull);
        let m = a.merged(&b);
        assert_eq!((m.to_kernel_packets, m.to_kernel_bytes, m.from_kernel_bytes), (3, 9, 5));
        assert_eq!(m.drops, [1, 1, 0, 0, 0]);
    }
}
