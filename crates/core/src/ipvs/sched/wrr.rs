//! `wrr`, weighted round robin: IPVS's interleaved sequence.
//!
//! A current weight `cw` starts at the largest weight `mw`. Each pick walks the list from after
//! the last pick and takes the first eligible dest whose weight is at least `cw`; at the end of
//! the list `cw` drops by the gcd of the weights (back to `mw` below 1) and the walk restarts at
//! the head. Weights 4, 3, 2 give A A B A B C A B C, repeating: each dest gets its weight's share
//! and heavier dests come first.
//!
//! When the heaviest dests are overloaded, rounds in which nobody qualifies are skipped at once
//! (`cw` jumps to the largest eligible weight) instead of walking the list for each: the sequence
//! is the same, the work per pick is at most two walks of the list.

use super::{DestView, SchedKey, Scheduler};

/// Weighted round robin state.
#[derive(Debug, Clone, Default)]
pub struct WeightedRoundRobin {
    /// Index of the last pick; `None` = before the head.
    last: Option<usize>,
    /// Current weight.
    cw: u32,
    /// Largest weight.
    mw: u32,
    /// Gcd of the non-zero weights.
    di: u32,
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl WeightedRoundRobin {
    /// Weighted round robin with no dests yet.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Scheduler for WeightedRoundRobin {
    fn name(&self) -> &'static str {
        "wrr"
    }

    fn schedule(&mut self, dests: &[DestView], _key: &SchedKey) -> Option<usize> {
        if self.mw == 0 {
            return None;
        }
        let mut i = self.last.map_or(0, |l| l.saturating_add(1));
        let mut wrapped = false;
        loop {
            while let Some(d) = dests.get(i) {
                if d.available && d.weight > 0 && d.weight >= self.cw {
                    self.last = Some(i);
                    return Some(i);
                }
                i += 1;
            }
            if wrapped {
                // cw was at most the largest eligible weight for a whole walk: cannot happen
                // unless the list lies; give up rather than loop.
                return None;
            }
            wrapped = true;
            let max_eligible = dests.iter().filter(|d| d.is_eligible()).map(|d| d.weight).max()?;
            let mut cw = self.cw.saturating_sub(self.di.max(1));
            if cw == 0 {
                cw = self.mw;
            }
            self.cw = cw.min(max_eligible);
            i = 0;
        }
    }

    fn update(&mut self, dests: &[DestView]) {
        self.mw = dests.iter().map(|d| d.weight).max().unwrap_or(0);
        self.di = dests.iter().map(|d| d.weight).fold(0, gcd);
        self.last = None;
        if self.cw == 0 || self.cw > self.mw {
            self.cw = self.mw;
        } else if self.di > 1 {
            // Stay on the grid of multiples of the gcd.
            self.cw = (self.cw / self.di * self.di).max(self.di);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;

    fn letters(got: &[Option<usize>]) -> String {
        got.iter().map(|p| p.map_or('-', |i| (b'A' + i as u8) as char)).collect()
    }

    #[test]
    fn weights_4_3_2_interleave_as_aababcabc() {
        let d = [dest(1, 4), dest(2, 3), dest(3, 2)];
        let mut s = WeightedRoundRobin::new();
        s.update(&d);
        let got = picks(&mut s, &d, &key_from(0, 1, 1), 27);
        assert_eq!(letters(&got), "AABABCABC".repeat(3));
    }

    #[test]
    fn three_to_one_over_40_picks() {
        let d = [dest(1, 3), dest(2, 1)];
        let mut s = WeightedRoundRobin::new();
        s.update(&d);
        let got = picks(&mut s, &d, &key_from(0, 1, 1), 40);
        assert_eq!(got.iter().filter(|p| **p == Some(0)).count(), 30);
        assert_eq!(got.iter().filter(|p| **p == Some(1)).count(), 10);
        assert_eq!(letters(&got[..8]), "AAABAAAB");
    }

    #[test]
    fn common_factor_does_not_change_the_sequence() {
        let d = [dest(1, 400), dest(2, 300), dest(3, 200)];
        let mut s = WeightedRoundRobin::new();
        s.update(&d);
        assert_eq!(letters(&picks(&mut s, &d, &key_from(0, 1, 1), 9)), "AABABCABC");
    }

    #[test]
    fn skips_quiescent_and_overloaded() {
        let mut d = [dest(1, 4), dest(2, 0), dest(3, 2)];
        let mut s = WeightedRoundRobin::new();
        s.update(&d);
        assert_eq!(letters(&picks(&mut s, &d, &key_from(0, 1, 1), 6)), "AACAAC");
        // Heaviest overloaded: the rest keep their own ratio.
        d[0].available = false;
        let got = picks(&mut s, &d, &key_from(0, 1, 1), 4);
        assert_eq!(letters(&got), "CCCC");
        d[2].available = false;
        assert_eq!(s.schedule(&d, &key_from(0, 1, 1)), None);
        let mut s = WeightedRoundRobin::new();
        s.update(&[dest(1, 0)]);
        assert_eq!(s.schedule(&[dest(1, 0)], &key_from(0, 1, 1)), None);
    }
}
