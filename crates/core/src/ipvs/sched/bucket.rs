//! The 256-bucket table shared by `dh` and `sh`: bucket -> dest index, filled by weight.
//!
//! Buckets are dealt to dests in smooth weighted round robin order (each step every dest gains its
//! weight in credit, the richest takes the bucket and pays the total), so a dest's bucket count is
//! proportional to its weight and its buckets are spread over the table. With equal weights this
//! is plain round robin, A B C A B C ... Dests with weight 0 get no bucket. The table depends only
//! on the list order and weights, so every core builds the same one.

use super::DestView;

/// Number of buckets (IPVS's 2^8).
pub(crate) const BUCKETS: usize = 256;
/// log2 of [`BUCKETS`].
pub(crate) const BUCKET_BITS: u32 = 8;
const EMPTY: u32 = u32::MAX;

/// Bucket -> dest index table.
#[derive(Debug, Clone)]
pub(crate) struct BucketTable {
    slots: [u32; BUCKETS],
}

/// Buckets per dest, summing to [`BUCKETS`] (or 0 if no dest has weight): proportional to
/// weight by largest remainder (ties to the first), and at least one for every dest with weight
/// while there are no more such dests than buckets.
fn bucket_counts(dests: &[DestView]) -> Vec<usize> {
    let total: u64 = dests.iter().map(|d| u64::from(d.weight)).sum();
    let weighted = dests.iter().filter(|d| d.weight > 0).count();
    if total == 0 {
        return vec![0; dests.len()];
    }
    let (base, pool) =
        if weighted <= BUCKETS { (1, (BUCKETS - weighted) as u64) } else { (0, BUCKETS as u64) };
    let mut counts: Vec<usize> = Vec::with_capacity(dests.len());
    let mut rems: Vec<(u64, usize)> = Vec::with_capacity(dests.len());
    for (i, d) in dests.iter().enumerate() {
        let w = u64::from(d.weight);
        if w == 0 {
            counts.push(0);
            continue;
        }
        counts.push(base + (w * pool / total) as usize);
        rems.push((w * pool % total, i));
    }
    let dealt: usize = counts.iter().sum();
    // Largest remainder first, then list order.
    rems.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(_, i) in rems.iter().take(BUCKETS.saturating_sub(dealt)) {
        counts[i] += 1;
    }
    counts
}

impl BucketTable {
    /// A table with every bucket empty.
    pub(crate) fn new() -> Self {
        BucketTable { slots: [EMPTY; BUCKETS] }
    }

    /// Deals the buckets to `dests` by weight.
    pub(crate) fn rebuild(&mut self, dests: &[DestView]) {
        self.slots = [EMPTY; BUCKETS];
        let counts = bucket_counts(dests);
        // Smooth weighted round robin over one full period deals exactly `counts[i]` each.
        let mut credit = vec![0i64; counts.len()];
        for slot in self.slots.iter_mut() {
            let mut best: Option<usize> = None;
            for (i, &c) in counts.iter().enumerate().filter(|(_, c)| **c > 0) {
                credit[i] += c as i64;
                if best.map_or(true, |b| credit[i] > credit[b]) {
                    best = Some(i);
                }
            }
            if let Some(b) = best {
                credit[b] -= BUCKETS as i64;
                *slot = u32::try_from(b).unwrap_or(EMPTY);
            }
        }
    }

    /// The dest index in bucket `b` (taken modulo the table size), if any.
    pub(crate) fn get(&self, b: usize) -> Option<usize> {
        match self.slots.get(b % BUCKETS) {
            Some(&i) if i != EMPTY => Some(i as usize),
            _ => None,
        }
    }

    /// Starting at bucket `b`, the first bucket whose dest is eligible in `dests`, walking the
    /// whole table once at most.
    pub(crate) fn first_eligible_from(&self, b: usize, dests: &[DestView]) -> Option<usize> {
        (0..BUCKETS).find_map(|off| {
            self.get(b.wrapping_add(off))
                .filter(|&i| dests.get(i).is_some_and(DestView::is_eligible))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::dest;
    use super::*;

    fn counts(t: &BucketTable, n: usize) -> Vec<usize> {
        let mut c = vec![0; n];
        for b in 0..BUCKETS {
            if let Some(i) = t.get(b) {
                c[i] += 1;
            }
        }
        c
    }

    #[test]
    fn equal_weights_deal_round_robin() {
        let mut t = BucketTable::new();
        t.rebuild(&[dest(1, 1), dest(2, 1), dest(3, 1)]);
        let first: Vec<_> = (0..6).map(|b| t.get(b)).collect();
        assert_eq!(first, [Some(0), Some(1), Some(2), Some(0), Some(1), Some(2)]);
        assert_eq!(counts(&t, 3), [86, 85, 85]);
    }

    #[test]
    fn buckets_follow_weights_and_skip_weight_zero() {
        let mut t = BucketTable::new();
        t.rebuild(&[dest(1, 3), dest(2, 0), dest(3, 1)]);
        assert_eq!(counts(&t, 3), [192, 0, 64]);
        // Weights far above the table size still share it by ratio.
        t.rebuild(&[dest(1, 60000), dest(2, 20000)]);
        assert_eq!(counts(&t, 2), [192, 64]);
        t.rebuild(&[dest(1, 0)]);
        assert_eq!(counts(&t, 1), [0]);
        // A tiny weight still gets a bucket; more dests than buckets: some get none.
        t.rebuild(&[dest(1, 65535), dest(2, 1)]);
        assert_eq!(counts(&t, 2), [255, 1]);
        let many: Vec<_> = (0..300).map(|n| dest((n % 250) as u8, 1)).collect();
        t.rebuild(&many);
        let c = counts(&t, 300);
        assert_eq!(c.iter().sum::<usize>(), BUCKETS);
        assert!(c.iter().all(|&n| n <= 1));
        assert_eq!(t.first_eligible_from(7, &[dest(1, 0)]), None);
    }
}
