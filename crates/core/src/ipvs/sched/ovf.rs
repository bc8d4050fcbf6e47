//! `ovf`, weighted overflow: new connections go to the eligible dest with the highest weight
//! (first of equals) as long as its active connections do not exceed its weight; past that they
//! overflow to the next heaviest. `None` when every eligible dest has more active connections
//! than its weight. Only active connections count, so this suits TCP better than UDP.

use super::fo::heaviest;
use super::{DestView, SchedKey, Scheduler};

/// Weighted overflow (stateless).
#[derive(Debug, Clone, Copy, Default)]
pub struct Overflow;

impl Scheduler for Overflow {
    fn name(&self) -> &'static str {
        "ovf"
    }

    fn schedule(&mut self, dests: &[DestView], _key: &SchedKey) -> Option<usize> {
        heaviest(dests, |d| d.active <= d.weight)
    }

    fn update(&mut self, _dests: &[DestView]) {}
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;

    #[test]
    fn fills_the_heaviest_then_overflows() {
        let k = key_from(0, 1, 1);
        let mut d = [loaded(1, 2, 0, 0), loaded(2, 3, 0, 0), loaded(3, 3, 0, 0)];
        assert_eq!(Overflow.schedule(&d, &k), Some(1));
        d[1].active = 3; // at its weight: still taken
        assert_eq!(Overflow.schedule(&d, &k), Some(1));
        d[1].active = 4; // over: overflow to the next weight-3 dest
        assert_eq!(Overflow.schedule(&d, &k), Some(2));
        d[2].active = 4;
        assert_eq!(Overflow.schedule(&d, &k), Some(0));
        d[0].active = 3;
        assert_eq!(Overflow.schedule(&d, &k), None, "everyone over their weight");
        d[1].active = 0;
        d[1].available = false;
        assert_eq!(Overflow.schedule(&d, &k), None);
    }

    #[test]
    fn picks_respect_weight_bound() {
        let d = [loaded(1, 1, 5, 0), loaded(2, 0, 0, 0), loaded(3, 1, 1, 0)];
        let i = Overflow.schedule(&d, &key_from(0, 1, 1));
        assert_eq!(i, Some(2));
    }
}
