//! `wlc`, weighted least connection (ipvsadm's default): the eligible dest with the smallest
//! `(active * 256 + inactive) / weight`, compared by cross-multiplication (no rounding). Ties go
//! to the first in list order.

use super::{least_weighted, DestView, SchedKey, Scheduler};

/// Weighted least connection (stateless).
#[derive(Debug, Clone, Copy, Default)]
pub struct WeightedLeastConn;

impl Scheduler for WeightedLeastConn {
    fn name(&self) -> &'static str {
        "wlc"
    }

    fn schedule(&mut self, dests: &[DestView], _key: &SchedKey) -> Option<usize> {
        least_weighted(dests, DestView::conn_overhead)
    }

    fn update(&mut self, _dests: &[DestView]) {}
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;

    #[test]
    fn overhead_per_weight_decides() {
        let k = key_from(0, 1, 1);
        // 3*256/3 = 256 vs 2*256/1 = 512 vs 1*256+10 / 1 = 266.
        let d = [loaded(1, 3, 3, 0), loaded(2, 1, 2, 0), loaded(3, 1, 1, 10)];
        assert_eq!(WeightedLeastConn.schedule(&d, &k), Some(0));
        // Inactive count breaks what active counts alone would tie: (512+1)/2 vs 256/1.
        let d = [loaded(1, 2, 2, 1), loaded(2, 1, 1, 0)];
        assert_eq!(WeightedLeastConn.schedule(&d, &k), Some(1));
    }

    #[test]
    fn ties_go_to_the_first() {
        let k = key_from(0, 1, 1);
        // 512/2 == 256/1.
        let d = [loaded(1, 2, 2, 0), loaded(2, 1, 1, 0)];
        assert_eq!(WeightedLeastConn.schedule(&d, &k), Some(0));
        let d = [loaded(1, 1, 1, 0), loaded(2, 2, 2, 0)];
        assert_eq!(WeightedLeastConn.schedule(&d, &k), Some(0));
        // All idle: first eligible.
        let d = [loaded(1, 0, 0, 0), loaded(2, 1, 0, 0), loaded(3, 5, 0, 0)];
        assert_eq!(WeightedLeastConn.schedule(&d, &k), Some(1));
    }

    #[test]
    fn skips_quiescent_and_overloaded() {
        let k = key_from(0, 1, 1);
        let d = [
            DestView { available: false, ..loaded(1, 9, 0, 0) },
            loaded(2, 0, 0, 0),
            loaded(3, 1, 90, 0),
        ];
        assert_eq!(WeightedLeastConn.schedule(&d, &k), Some(2));
        assert_eq!(WeightedLeastConn.schedule(&d[..2], &k), None);
    }
}
