//! `twos`, weighted random twos choice: draw two dests at random, each with probability
//! proportional to its weight (among eligible dests), and take the one with the smaller
//! `(active * 256 + inactive) / weight` (the first draw on a tie). The power of two choices
//! keeps load close to even without scanning for the global minimum, and the randomness keeps
//! cores from herding onto the same least-loaded dest.
//!
//! Randomness: a xorshift64* generator per scheduler, seeded from the core id. It needs no
//! system call, no shared state and no atomics, so every core draws independently on the packet
//! path; it is deterministic, so tests are reproducible. It is not cryptographic, and need not
//! be: a client cannot see or steer the draws, only which dest answers, and the worst an
//! adversary predicting them could do is what picking a server by hand does.

use super::{DestView, SchedKey, Scheduler};

/// xorshift64* (Vigna): 64-bit state, never zero.
#[derive(Debug, Clone)]
pub(crate) struct XorShift64Star(u64);

impl XorShift64Star {
    /// A generator for `seed`, mixed (splitmix64 finalizer) so nearby seeds diverge at once.
    pub(crate) fn new(seed: u64) -> Self {
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        XorShift64Star(if z == 0 { 0x2545_f491_4f6c_dd1d } else { z })
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n` (`n > 0`), by multiply-high: bias below 2^-30 for `n < 2^34`.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
}

/// Twos choice state: the per-core generator.
#[derive(Debug, Clone)]
pub struct TwoChoices {
    rng: XorShift64Star,
}

impl TwoChoices {
    /// Twos choice for worker `core_id`.
    pub fn new(core_id: usize) -> Self {
        TwoChoices { rng: XorShift64Star::new(core_id as u64) }
    }
}

/// Index of the eligible dest where the running sum of eligible weights passes `r`.
fn by_weight(dests: &[DestView], mut r: u64) -> Option<usize> {
    for (i, d) in dests.iter().enumerate().filter(|(_, d)| d.is_eligible()) {
        let w = u64::from(d.weight);
        if r < w {
            return Some(i);
        }
        r -= w;
    }
    None
}

impl Scheduler for TwoChoices {
    fn name(&self) -> &'static str {
        "twos"
    }

    fn schedule(&mut self, dests: &[DestView], _key: &SchedKey) -> Option<usize> {
        let total: u64 =
            dests.iter().filter(|d| d.is_eligible()).map(|d| u64::from(d.weight)).sum();
        if total == 0 {
            return None;
        }
        let a = by_weight(dests, self.rng.below(total))?;
        let b = by_weight(dests, self.rng.below(total))?;
        let (da, db) = (dests.get(a)?, dests.get(b)?);
        // b strictly less loaded per weight than a?
        let b_better = u128::from(db.conn_overhead()) * u128::from(da.weight)
            < u128::from(da.conn_overhead()) * u128::from(db.weight);
        Some(if b_better { b } else { a })
    }

    fn update(&mut self, _dests: &[DestView]) {}
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;

    #[test]
    fn idle_dests_share_by_weight() {
        // With no load, the first draw wins ties: picks follow weights.
        let d = [dest(1, 1), dest(2, 3)];
        let mut s = TwoChoices::new(0);
        let got = picks(&mut s, &d, &key_from(0, 1, 1), 40_000);
        let on1 = got.iter().filter(|p| **p == Some(1)).count() as f64 / 40_000.0;
        assert!((0.73..0.77).contains(&on1), "weight 3 of 4 got {on1}");
    }

    #[test]
    fn prefers_the_less_loaded() {
        // Dest 0 heavily loaded: it wins only when both draws hit it (1/9 with equal weights).
        let d = [loaded(1, 1, 100, 0), dest(2, 1), dest(3, 1)];
        let mut s = TwoChoices::new(1);
        let got = picks(&mut s, &d, &key_from(0, 1, 1), 90_000);
        let on0 = got.iter().filter(|p| **p == Some(0)).count() as f64 / 90_000.0;
        assert!((0.10..0.123).contains(&on0), "loaded dest got {on0}, expected ~1/9");
        let on1 = got.iter().filter(|p| **p == Some(1)).count() as f64 / 90_000.0;
        assert!((0.42..0.47).contains(&on1), "idle dest got {on1}, expected ~4/9");
    }

    #[test]
    fn keeps_load_even_when_fed_back() {
        // Each pick adds an active connection: loads stay within a few of each other.
        let mut d: Vec<_> = (1..=8).map(|n| dest(n, 1)).collect();
        let mut s = TwoChoices::new(2);
        for _ in 0..8000 {
            let i = s.schedule(&d, &key_from(0, 1, 1)).unwrap();
            d[i].active += 1;
        }
        let (lo, hi) =
            (d.iter().map(|d| d.active).min().unwrap(), d.iter().map(|d| d.active).max().unwrap());
        assert!(hi - lo <= 4, "loads spread {lo}..{hi}");
    }

    #[test]
    fn cores_draw_differently_and_ineligible_never_win() {
        let d = [dest(1, 1), dest(2, 0), DestView { available: false, ..dest(3, 5) }, dest(4, 1)];
        let seq = |core| picks(&mut TwoChoices::new(core), &d, &key_from(0, 1, 1), 64);
        assert_ne!(seq(0), seq(1));
        assert_eq!(seq(3), seq(3));
        assert!(seq(0).iter().all(|p| matches!(p, Some(0) | Some(3))));
        assert_eq!(TwoChoices::new(0).schedule(&d[1..3], &key_from(0, 1, 1)), None);
    }

    #[test]
    fn generator_is_uniform_enough() {
        let mut r = XorShift64Star::new(0);
        let mut buckets = [0u32; 10];
        for _ in 0..100_000 {
            buckets[r.below(10) as usize] += 1;
        }
        assert!(buckets.iter().all(|&b| (9_500..10_500).contains(&b)), "{buckets:?}");
        assert_ne!(XorShift64Star::new(0).next_u64(), XorShift64Star::new(1).next_u64());
    }
}
