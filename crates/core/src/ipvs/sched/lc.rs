//! `lc`, least connection: the eligible dest with the smallest connection overhead
//! (`active * 256 + inactive`, this core's counts); weights only matter as "0 = quiescent".
//! Ties go to the first in list order.

use super::{DestView, SchedKey, Scheduler};

/// Least connection (stateless).
#[derive(Debug, Clone, Copy, Default)]
pub struct LeastConn;

impl Scheduler for LeastConn {
    fn name(&self) -> &'static str {
        "lc"
    }

    fn schedule(&mut self, dests: &[DestView], _key: &SchedKey) -> Option<usize> {
        let mut best: Option<(usize, u64)> = None;
        for (i, d) in dests.iter().enumerate().filter(|(_, d)| d.is_eligible()) {
            let oh = d.conn_overhead();
            if best.map_or(true, |(_, b)| oh < b) {
                best = Some((i, oh));
            }
        }
        best.map(|(i, _)| i)
    }

    fn update(&mut self, _dests: &[DestView]) {}
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;

    #[test]
    fn least_overhead_wins_weights_ignored() {
        let k = key_from(0, 1, 1);
        // Overheads 2*256+0 = 512, 1*256+300 = 556, 0*256+511 = 511.
        let d = [loaded(1, 100, 2, 0), loaded(2, 1, 1, 300), loaded(3, 1, 0, 511)];
        assert_eq!(LeastConn.schedule(&d, &k), Some(2));
        // One active conn outweighs 255 inactive ones.
        let d = [loaded(1, 1, 1, 0), loaded(2, 1, 0, 255)];
        assert_eq!(LeastConn.schedule(&d, &k), Some(1));
    }

    #[test]
    fn ties_go_to_the_first() {
        let d = [loaded(1, 1, 3, 0), loaded(2, 1, 1, 1), loaded(3, 9, 1, 1)];
        assert_eq!(LeastConn.schedule(&d, &key_from(0, 1, 1)), Some(1));
    }

    #[test]
    fn skips_quiescent_and_overloaded() {
        let k = key_from(0, 1, 1);
        let d = [
            loaded(1, 0, 0, 0),
            DestView { available: false, ..loaded(2, 1, 0, 0) },
            loaded(3, 1, 50, 0),
        ];
        assert_eq!(LeastConn.schedule(&d, &k), Some(2));
        assert_eq!(LeastConn.schedule(&d[..2], &k), None);
    }
}
