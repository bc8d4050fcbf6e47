//! The orders of the flows: connections are inserted in one seeded shuffle of the flow indexes
//! and traffic visits them in another, so the slab order (insertion order) never equals the
//! traffic order and the hardware prefetchers cannot hide the table's cache misses (issue 13).
//!
//! [`adjacent_pairs`] is the check perf/smoke.sh relies on: how many consecutive packets of the
//! traffic go to connections that were inserted next to each other.

use rand::rngs::Xoshiro256PlusPlus;
use rand::seq::SliceRandom;
use rand::SeedableRng;

/// A shuffle of `0..n`, from `seed` and a `stream` number (one per use, so the insertion and
/// traffic orders of one seed differ).
pub fn shuffled(n: u64, seed: u64, stream: u64) -> Vec<u32> {
    let n = u32::try_from(n).unwrap_or(u32::MAX);
    let mut v: Vec<u32> = (0..n).collect();
    let mut rng =
        Xoshiro256PlusPlus::seed_from_u64(seed ^ stream.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    v.shuffle(&mut rng);
    v
}

/// Consecutive packets of one pass of `traffic` whose flows sit next to each other in
/// `insert` (both permutations of the same `0..n`): about 2 for shuffled orders, `n - 1` when
/// the traffic follows the slab.
pub fn adjacent_pairs(insert: &[u32], traffic: &[u32]) -> u64 {
    let mut pos = vec![0u32; insert.len()];
    for (i, &f) in insert.iter().enumerate() {
        if let Some(p) = pos.get_mut(f as usize) {
            *p = i as u32;
        }
    }
    let at = |f: u32| pos.get(f as usize).copied().unwrap_or(0);
    traffic.windows(2).filter(|w| at(w[0]).abs_diff(at(w[1])) == 1).count() as u64
}

/// A seed from the clock, for runs that do not give one (printed with the results).
pub fn clock_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shuffles_are_permutations_reproducible_and_distinct() {
        let a = shuffled(10_000, 7, 0);
        let mut s = a.clone();
        s.sort_unstable();
        assert!(s.iter().enumerate().all(|(i, &v)| v as usize == i));
        assert_eq!(a, shuffled(10_000, 7, 0));
        assert_ne!(a, shuffled(10_000, 7, 1));
        assert_ne!(a, shuffled(10_000, 8, 0));
    }

    #[test]
    fn adjacency_tells_slab_order_from_shuffled() {
        let seq: Vec<u32> = (0..10_000).collect();
        assert_eq!(adjacent_pairs(&seq, &seq), 9_999);
        let (i, t) = (shuffled(10_000, 3, 0), shuffled(10_000, 3, 1));
        assert!(adjacent_pairs(&i, &t) < 20, "{}", adjacent_pairs(&i, &t));
    }
}
