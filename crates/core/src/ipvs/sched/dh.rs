//! `dh`, destination hashing: the connection's destination address picks one of 256 buckets
//! (multiplicative hash of the address), the bucket names the dest. Meant for caches and
//! gateways where a given target should always go through the same server.
//!
//! Buckets are dealt by weight (see `bucket.rs`). IPVS deals `dh` buckets round robin whatever
//! the weights; with equal weights the two are the same table order, and with unequal ones rvs
//! honours the weights as `sh` does. If the bucket's dest is quiescent or overloaded the answer is `None`: `dh` never
//! falls back, so a target's traffic never silently moves.

use super::bucket::{BucketTable, BUCKET_BITS};
use super::hash::{fib_hash, fold_addr};
use super::{DestView, SchedKey, Scheduler};

/// Destination hashing state: the bucket table.
#[derive(Debug, Clone)]
pub struct DestHash {
    table: BucketTable,
}

impl DestHash {
    /// Destination hashing with an empty table.
    pub fn new() -> Self {
        DestHash { table: BucketTable::new() }
    }
}

impl Default for DestHash {
    fn default() -> Self {
        Self::new()
    }
}

impl Scheduler for DestHash {
    fn name(&self) -> &'static str {
        "dh"
    }

    fn schedule(&mut self, dests: &[DestView], key: &SchedKey) -> Option<usize> {
        let bucket = fib_hash(fold_addr(&key.daddr), BUCKET_BITS) as usize;
        self.table.get(bucket).filter(|&i| dests.get(i).is_some_and(DestView::is_eligible))
    }

    fn update(&mut self, dests: &[DestView]) {
        self.table.rebuild(dests);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use core::net::{IpAddr, Ipv4Addr};

    fn target(i: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(0xc633_6400 + i))
    }

    #[test]
    fn same_target_same_dest_whatever_the_client() {
        let d = [dest(1, 1), dest(2, 1), dest(3, 1)];
        let mut s = DestHash::new();
        s.update(&d);
        let mut seen = [0usize; 3];
        for t in 0..200 {
            let first = s.schedule(&d, &key_to(target(t))).unwrap();
            seen[first] += 1;
            for c in 0..20u8 {
                let k = SchedKey {
                    saddr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, c)),
                    sport: 1000 + u16::from(c),
                    ..key_to(target(t))
                };
                assert_eq!(s.schedule(&d, &k), Some(first));
            }
        }
        assert!(seen.iter().all(|&n| n > 30), "targets spread over dests: {seen:?}");
        // Another core builds the same table.
        let mut other = DestHash::new();
        other.update(&d);
        for t in 0..200 {
            assert_eq!(other.schedule(&d, &key_to(target(t))), s.schedule(&d, &key_to(target(t))));
        }
    }

    #[test]
    fn no_fallback_when_the_dest_cannot_take_it() {
        let mut d = [dest(1, 1), dest(2, 1)];
        let mut s = DestHash::new();
        s.update(&d);
        let t = (0..).map(target).find(|t| s.schedule(&d, &key_to(*t)) == Some(0)).unwrap();
        d[0].available = false;
        assert_eq!(s.schedule(&d, &key_to(t)), None);
        d[0].available = true;
        assert_eq!(s.schedule(&d, &key_to(t)), Some(0));
        let mut s = DestHash::new();
        s.update(&[dest(1, 0)]);
        assert_eq!(s.schedule(&[dest(1, 0)], &key_to(t)), None);
    }
}
