//! `nq`, never queue: the first eligible dest with no active connection if there is one (a new
//! connection never waits behind another), otherwise the `sed` choice, smallest
//! `(active + 1) / weight`, ties to the first in list order.

use super::sed::sed_overhead;
use super::{least_weighted, DestView, SchedKey, Scheduler};

/// Never queue (stateless).
#[derive(Debug, Clone, Copy, Default)]
pub struct NeverQueue;

impl Scheduler for NeverQueue {
    fn name(&self) -> &'static str {
        "nq"
    }

    fn schedule(&mut self, dests: &[DestView], _key: &SchedKey) -> Option<usize> {
        dests
            .iter()
            .position(|d| d.is_eligible() && d.active == 0)
            .or_else(|| least_weighted(dests, sed_overhead))
    }

    fn update(&mut self, _dests: &[DestView]) {}
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;

    #[test]
    fn idle_server_first_even_if_lighter() {
        let k = key_from(0, 1, 1);
        // sed would pick dest 0 ((1+1)/100); nq takes the idle dest 2, not the idle but
        // quiescent dest 1.
        let d = [loaded(1, 100, 1, 0), loaded(2, 0, 0, 0), loaded(3, 1, 0, 50), loaded(4, 1, 0, 0)];
        assert_eq!(NeverQueue.schedule(&d, &k), Some(2));
    }

    #[test]
    fn otherwise_shortest_expected_delay() {
        let k = key_from(0, 1, 1);
        // (2+1)/1 = 3 vs (5+1)/3 = 2 vs (3+1)/2 = 2: tie between 1 and 2 -> 1.
        let d = [loaded(1, 1, 2, 0), loaded(2, 3, 5, 0), loaded(3, 2, 3, 0)];
        assert_eq!(NeverQueue.schedule(&d, &k), Some(1));
        let d = [DestView { available: false, ..loaded(1, 1, 0, 0) }, loaded(2, 1, 4, 0)];
        assert_eq!(NeverQueue.schedule(&d, &k), Some(1));
        assert_eq!(NeverQueue.schedule(&d[..1], &k), None);
    }
}
