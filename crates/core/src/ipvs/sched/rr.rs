//! `rr`, round robin: each new connection goes to the next eligible dest in list order, ignoring
//! weights beyond "0 = quiescent" and connection counts.
//!
//! Per core: each core starts at its own offset into the list (`core_id * len / n_cores`), so the
//! first connections of all cores do not all land on the first dest.

use super::{DestView, SchedKey, Scheduler};

/// Round robin state: where the next search starts.
#[derive(Debug, Clone)]
pub struct RoundRobin {
    next: usize,
    core_id: usize,
    n_cores: usize,
    started: bool,
}

impl RoundRobin {
    /// Round robin for worker `core_id` of `n_cores`.
    pub fn new(core_id: usize, n_cores: usize) -> Self {
        RoundRobin { next: 0, core_id, n_cores: n_cores.max(1), started: false }
    }
}

impl Scheduler for RoundRobin {
    fn name(&self) -> &'static str {
        "rr"
    }

    fn schedule(&mut self, dests: &[DestView], _key: &SchedKey) -> Option<usize> {
        let n = dests.len();
        if n == 0 {
            return None;
        }
        self.started = true;
        let start = self.next % n;
        let pick = (0..n)
            .map(|k| (start + k) % n)
            .find(|&i| dests.get(i).is_some_and(DestView::is_eligible))?;
        self.next = pick + 1;
        Some(pick)
    }

    fn update(&mut self, dests: &[DestView]) {
        if !self.started {
            // (core_id % n_cores) * len / n_cores, without overflow for any len.
            let core = (self.core_id % self.n_cores) as u128;
            self.next = (core * dests.len() as u128 / self.n_cores as u128) as usize;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;

    #[test]
    fn cycles_in_list_order() {
        let d = [dest(1, 1), dest(2, 5), dest(3, 1)];
        let mut s = RoundRobin::new(0, 1);
        s.update(&d);
        let got = picks(&mut s, &d, &key_from(0, 1, 1), 7);
        assert_eq!(got, [0, 1, 2, 0, 1, 2, 0].map(Some));
    }

    #[test]
    fn skips_quiescent_and_overloaded() {
        let mut d = [dest(1, 1), dest(2, 0), dest(3, 1), dest(4, 1)];
        d[3].available = false;
        let mut s = RoundRobin::new(0, 1);
        s.update(&d);
        let got = picks(&mut s, &d, &key_from(0, 1, 1), 5);
        assert_eq!(got, [0, 2, 0, 2, 0].map(Some));
        // Dest 3 back: the cycle continues from where it was.
        d[3].available = true;
        let got = picks(&mut s, &d, &key_from(0, 1, 1), 4);
        assert_eq!(got, [2, 3, 0, 2].map(Some));
        let none = [dest(1, 0), DestView { available: false, ..dest(2, 1) }];
        assert_eq!(s.schedule(&none, &key_from(0, 1, 1)), None);
    }

    #[test]
    fn cores_start_at_spread_offsets() {
        let d: Vec<_> = (1..=8).map(|n| dest(n, 1)).collect();
        let firsts: Vec<_> = (0..4)
            .map(|core| {
                let mut s = RoundRobin::new(core, 4);
                s.update(&d);
                s.schedule(&d, &key_from(0, 1, 1))
            })
            .collect();
        assert_eq!(firsts, [0, 2, 4, 6].map(Some));
        // Fewer dests than cores: offsets wrap, still a valid start.
        let d2 = [dest(1, 1), dest(2, 1)];
        let mut s = RoundRobin::new(3, 4);
        s.update(&d2);
        assert_eq!(s.schedule(&d2, &key_from(0, 1, 1)), Some(1));
        // A later update does not reset the position.
        s.update(&d);
        assert_eq!(s.schedule(&d, &key_from(0, 1, 1)), Some(2));
    }
}
