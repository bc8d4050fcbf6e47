//! [`PrefixSet`]: a set of IPv4 prefixes compiled into sorted, disjoint address ranges.
//!
//! The allow and deny lists only ask "is this address inside any prefix of the list", so the
//! longest match does not matter: the union of the prefixes is what counts. Building (control
//! path, may allocate) turns each prefix into its first..=last range, sorts them and merges the
//! overlapping and adjacent ones; a lookup is one binary search over the merged ranges,
//! `O(log n)` for a list of any size, with no allocation. Hand-written because the lookup is a
//! dozen lines over a `Vec` and a trie crate would add a dependency for nothing more.

use std::net::Ipv4Addr;

use crate::ipvs::spec::Ipv4Prefix;

/// Sorted, disjoint, non-adjacent inclusive ranges of IPv4 addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrefixSet {
    ranges: Vec<(u32, u32)>,
}

impl PrefixSet {
    /// The set covering every prefix of `list`.
    pub fn build(list: &[Ipv4Prefix]) -> PrefixSet {
        let mut v: Vec<(u32, u32)> = list.iter().map(|p| p.range()).collect();
        v.sort_unstable();
        let mut ranges: Vec<(u32, u32)> = Vec::with_capacity(v.len());
        for (lo, hi) in v {
            match ranges.last_mut() {
                Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
                _ => ranges.push((lo, hi)),
            }
        }
        ranges.shrink_to_fit();
        PrefixSet { ranges }
    }

    /// Whether no address is in the set.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// The merged ranges (for tests and listings).
    pub fn ranges(&self) -> &[(u32, u32)] {
        &self.ranges
    }

    /// Whether `a` is inside one of the prefixes.
    #[inline]
    pub fn contains(&self, a: Ipv4Addr) -> bool {
        let a = u32::from(a);
        // The last range starting at or before `a` is the only one that can hold it.
        let i = self.ranges.partition_point(|r| r.0 <= a);
        i > 0 && self.ranges[i - 1].1 >= a
    }
}
