//! `sh`, source hashing: the client's address (and with `sh-port`, its port) picks one of 256
//! buckets (multiplicative hash), the bucket names the dest, so a client keeps its server without
//! any per-client state. Buckets are dealt by weight (see `bucket.rs`).
//!
//! If the bucket's dest is quiescent or overloaded the answer is `None`, unless `sh-fallback` is
//! set: then the following buckets are tried in order and the first eligible dest is taken, so a
//! given client still falls back to the same replacement every time (and if no bucket holds an
//! eligible dest, the first eligible dest in the list).

use super::bucket::{BucketTable, BUCKET_BITS};
use super::hash::{fib_hash, fold_addr};
use super::{DestView, SchedFlags, SchedKey, Scheduler};

/// Source hashing state: the bucket table and the flags.
#[derive(Debug, Clone)]
pub struct SourceHash {
    table: BucketTable,
    fallback: bool,
    port: bool,
}

impl SourceHash {
    /// Source hashing with the service's `-b` flags (`sh-fallback`, `sh-port`).
    pub fn new(flags: SchedFlags) -> Self {
        SourceHash {
            table: BucketTable::new(),
            fallback: flags.sh_fallback(),
            port: flags.sh_port(),
        }
    }

    fn bucket(&self, key: &SchedKey) -> usize {
        let port = if self.port { u32::from(key.sport) } else { 0 };
        fib_hash(fold_addr(&key.saddr).wrapping_add(port), BUCKET_BITS) as usize
    }
}

impl Scheduler for SourceHash {
    fn name(&self) -> &'static str {
        "sh"
    }

    fn schedule(&mut self, dests: &[DestView], key: &SchedKey) -> Option<usize> {
        let bucket = self.bucket(key);
        if self.fallback {
            // A dest with no bucket (more dests than buckets) is still a fallback.
            self.table
                .first_eligible_from(bucket, dests)
                .or_else(|| dests.iter().position(DestView::is_eligible))
        } else {
            self.table.get(bucket).filter(|&i| dests.get(i).is_some_and(DestView::is_eligible))
        }
    }

    fn update(&mut self, dests: &[DestView]) {
        self.table.rebuild(dests);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use std::collections::HashSet;

    fn three() -> [DestView; 3] {
        [dest(1, 1), dest(2, 1), dest(3, 1)]
    }

    #[test]
    fn same_client_same_dest_any_port() {
        let d = three();
        let mut s = SourceHash::new(SchedFlags::NONE);
        s.update(&d);
        let mut seen = [0usize; 3];
        for i in 0..300 {
            let first = s.schedule(&d, &nth_key(i * 7919)).unwrap();
            seen[first] += 1;
            for p in [1u16, 80, 40000, 65535] {
                let k = SchedKey { sport: p, ..nth_key(i * 7919) };
                assert_eq!(s.schedule(&d, &k), Some(first));
            }
        }
        assert!(seen.iter().all(|&n| n > 60), "clients spread: {seen:?}");
    }

    #[test]
    fn sh_port_spreads_one_client_over_ports() {
        let d = three();
        let mut s = SourceHash::new(SchedFlags::SH_PORT);
        s.update(&d);
        let k = key_from(7, 7, 0);
        let by_port: HashSet<_> =
            (1000..1100u16).map(|p| s.schedule(&d, &SchedKey { sport: p, ..k })).collect();
        assert_eq!(by_port.len(), 3, "ports of one client reach every dest");
        // Still sticky per (address, port).
        for p in 1000..1100u16 {
            let k = SchedKey { sport: p, ..k };
            assert_eq!(s.schedule(&d, &k), s.schedule(&d, &k));
        }
    }

    #[test]
    fn unavailable_dest_without_fallback_is_none() {
        let mut d = three();
        let mut s = SourceHash::new(SchedFlags::NONE);
        s.update(&d);
        let keys: Vec<_> = (0..200).map(nth_key).collect();
        let before: Vec<_> = keys.iter().map(|k| s.schedule(&d, k)).collect();
        d[1].available = false;
        for (k, b) in keys.iter().zip(&before) {
            let now = s.schedule(&d, k);
            if *b == Some(1) {
                assert_eq!(now, None);
            } else {
                assert_eq!(now, *b, "other clients unaffected");
            }
        }
    }

    #[test]
    fn fallback_moves_only_the_unavailable_dests_clients_and_consistently() {
        let mut d = three();
        let mut s = SourceHash::new(SchedFlags::SH_FALLBACK);
        s.update(&d);
        let keys: Vec<_> = (0..300).map(nth_key).collect();
        let before: Vec<_> = keys.iter().map(|k| s.schedule(&d, k)).collect();
        d[1].available = false;
        let mut moved = 0;
        for (k, b) in keys.iter().zip(&before) {
            let now = s.schedule(&d, k);
            if *b == Some(1) {
                moved += 1;
                assert!(matches!(now, Some(0) | Some(2)));
                assert_eq!(s.schedule(&d, k), now, "same replacement every time");
            } else {
                assert_eq!(now, *b);
            }
        }
        assert!(moved > 50);
        // Quiescent counts as unavailable too, and back again restores the original mapping.
        d[1].available = true;
        d[0].weight = 0;
        for (k, b) in keys.iter().zip(&before) {
            let now = s.schedule(&d, k);
            assert!(now.is_some() && now != Some(0));
            if *b != Some(0) {
                assert_eq!(now, *b);
            }
        }
        d[0].weight = 1;
        let after: Vec<_> = keys.iter().map(|k| s.schedule(&d, k)).collect();
        assert_eq!(after, before);
        d.iter_mut().for_each(|d| d.available = false);
        assert_eq!(s.schedule(&d, &keys[0]), None);
    }

    #[test]
    fn fallback_reaches_a_dest_with_a_tiny_weight() {
        let d = [DestView { available: false, ..dest(1, 511) }, dest(2, 1)];
        let mut s = SourceHash::new(SchedFlags::SH_FALLBACK);
        s.update(&d);
        for i in 0..50 {
            assert_eq!(s.schedule(&d, &nth_key(i)), Some(1));
        }
    }

    #[test]
    fn weights_set_bucket_shares() {
        let d = [dest(1, 3), dest(2, 1)];
        let mut s = SourceHash::new(SchedFlags::NONE);
        s.update(&d);
        let n: u32 = 20_000;
        let on0 = (0..n)
            .filter(|&i| {
                s.schedule(&d, &nth_key(i.wrapping_mul(2_654_435).wrapping_add(17))) == Some(0)
            })
            .count();
        let share = on0 as f64 / f64::from(n);
        assert!((0.70..0.80).contains(&share), "weight 3 of 4 got {share}");
    }
}
