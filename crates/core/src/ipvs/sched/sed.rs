//! `sed`, shortest expected delay: the eligible dest with the smallest `(active + 1) / weight`,
//! the delay a new connection would see if every server handled its active connections in
//! parallel at a speed given by its weight. Inactive connections do not count. Compared by
//! cross-multiplication; ties go to the first in list order.

use super::{least_weighted, DestView, SchedKey, Scheduler};

/// Shortest expected delay (stateless).
#[derive(Debug, Clone, Copy, Default)]
pub struct ShortestExpectedDelay;

/// `active + 1`: the expected delay's numerator.
pub(crate) fn sed_overhead(d: &DestView) -> u64 {
    u64::from(d.active) + 1
}

impl Scheduler for ShortestExpectedDelay {
    fn name(&self) -> &'static str {
        "sed"
    }

    fn schedule(&mut self, dests: &[DestView], _key: &SchedKey) -> Option<usize> {
        least_weighted(dests, sed_overhead)
    }

    fn update(&mut self, _dests: &[DestView]) {}
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;

    #[test]
    fn expected_delay_decides() {
        let k = key_from(0, 1, 1);
        // (1+1)/1 = 2 vs (4+1)/3 = 1.67: the busier but heavier one.
        let d = [loaded(1, 1, 1, 0), loaded(2, 3, 4, 0)];
        assert_eq!(ShortestExpectedDelay.schedule(&d, &k), Some(1));
        // Inactive connections are ignored: (0+1)/1 vs (0+1)/1 tie -> first despite 1000 inactive.
        let d = [loaded(1, 1, 0, 1000), loaded(2, 1, 0, 0)];
        assert_eq!(ShortestExpectedDelay.schedule(&d, &k), Some(0));
        // Idle servers differ from wlc: (0+1)/1 = 1 vs (1+1)/4 = 0.5.
        let d = [loaded(1, 1, 0, 0), loaded(2, 4, 1, 0)];
        assert_eq!(ShortestExpectedDelay.schedule(&d, &k), Some(1));
    }

    #[test]
    fn ties_go_to_the_first_and_ineligible_are_skipped() {
        let k = key_from(0, 1, 1);
        // (1+1)/2 == (0+1)/1.
        let d = [loaded(1, 2, 1, 0), loaded(2, 1, 0, 0)];
        assert_eq!(ShortestExpectedDelay.schedule(&d, &k), Some(0));
        let d = [
            loaded(1, 0, 0, 0),
            DestView { available: false, ..loaded(2, 9, 0, 0) },
            loaded(3, 1, 7, 0),
        ];
        assert_eq!(ShortestExpectedDelay.schedule(&d, &k), Some(2));
        assert_eq!(ShortestExpectedDelay.schedule(&d[..2], &k), None);
    }
}
