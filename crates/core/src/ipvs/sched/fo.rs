//! `fo`, weighted failover: every new connection goes to the eligible dest with the highest
//! weight (the first of equals in list order); the others are standbys, used when it is
//! quiescent or overloaded. Connection counts are ignored.

use super::{DestView, SchedKey, Scheduler};

/// Weighted failover (stateless).
#[derive(Debug, Clone, Copy, Default)]
pub struct Failover;

/// Index of the first dest with the highest weight among those `ok` accepts.
pub(crate) fn heaviest(dests: &[DestView], ok: impl Fn(&DestView) -> bool) -> Option<usize> {
    let mut best: Option<(usize, u32)> = None;
    for (i, d) in dests.iter().enumerate().filter(|(_, d)| d.is_eligible() && ok(d)) {
        if best.map_or(true, |(_, w)| d.weight > w) {
            best = Some((i, d.weight));
        }
    }
    best.map(|(i, _)| i)
}

impl Scheduler for Failover {
    fn name(&self) -> &'static str {
        "fo"
    }

    fn schedule(&mut self, dests: &[DestView], _key: &SchedKey) -> Option<usize> {
        heaviest(dests, |_| true)
    }

    fn update(&mut self, _dests: &[DestView]) {}
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;

    #[test]
    fn heaviest_available_takes_everything() {
        let k = key_from(0, 1, 1);
        let mut d =
            [loaded(1, 5, 0, 0), loaded(2, 10, 1000, 0), loaded(3, 10, 0, 0), loaded(4, 1, 0, 0)];
        for _ in 0..5 {
            assert_eq!(Failover.schedule(&d, &k), Some(1), "first of the two weight-10 dests");
        }
        d[1].available = false;
        assert_eq!(Failover.schedule(&d, &k), Some(2));
        d[2].weight = 0;
        assert_eq!(Failover.schedule(&d, &k), Some(0));
        d[0].available = false;
        d[3].weight = 0;
        assert_eq!(Failover.schedule(&d, &k), None);
    }
}
