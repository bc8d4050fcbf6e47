//! The free ports of one (local address, dest) pair on one core: a three-level bitmap over the
//! core's dense port indices (see [`super::WorkerPorts`]).
//!
//! Owns bit bookkeeping only; it does not know addresses or port numbers. Created on the control
//! path (when a local address or dest is added), then allocation and release neither allocate
//! nor loop: each is a handful of word operations whatever the number of ports.
//!
//! A set bit means "free". Level 1 (`leaves`) has one bit per port; level 2 (`mids`) one bit per
//! leaf word, set when that word has a free port; level 3 (`top`) one bit per mid word. That
//! covers 64^3 indices, more than the 65535 ports a core can own. Allocation takes the first free
//! index at or after a cursor that follows the last allocation, wrapping at the end, so released
//! ports are handed out again only after the rest of the free ports: a (local address, port,
//! dest) tuple that just closed stays unused as long as possible, which keeps clear of TIME_WAIT
//! on the real server.

/// Largest number of indices a [`PortSet`] can hold.
pub(super) const MAX_PORTS: usize = 64 * 64 * 64;

/// Bits of `word` at positions `>= from` (`from <= 64`).
#[inline]
fn at_or_above(word: u64, from: usize) -> u64 {
    word & u64::MAX.checked_shl(from as u32).unwrap_or(0)
}

/// Free indices of one pool; see the module doc.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PortSet {
    leaves: Box<[u64]>,
    mids: Box<[u64]>,
    top: u64,
    len: usize,
    free: usize,
    cursor: usize,
}

impl PortSet {
    /// A set with indices `0..len` all free; `len` is clamped to [`MAX_PORTS`].
    pub(super) fn new(len: usize) -> Self {
        let len = len.min(MAX_PORTS);
        let n_leaves = len.div_ceil(64);
        let n_mids = n_leaves.div_ceil(64);
        let mut leaves = vec![0u64; n_leaves].into_boxed_slice();
        for (i, w) in leaves.iter_mut().enumerate() {
            let bits = (len - i * 64).min(64);
            *w = u64::MAX >> (64 - bits);
        }
        let mut mids = vec![0u64; n_mids].into_boxed_slice();
        for (i, w) in mids.iter_mut().enumerate() {
            let bits = (n_leaves - i * 64).min(64);
            *w = u64::MAX >> (64 - bits);
        }
        let top = if n_mids == 0 { 0 } else { u64::MAX >> (64 - n_mids) };
        PortSet { leaves, mids, top, len, free: len, cursor: 0 }
    }

    /// The same set with its cursor at `start` (modulo its length): the first allocation takes
    /// the first free index at or after it. Pools start each set at a random offset so that a
    /// restarted director does not walk the ports its previous run used last (and the real
    /// servers may still hold in TIME_WAIT) from the bottom of the range again.
    pub(super) fn starting_at(mut self, start: usize) -> Self {
        self.cursor = if self.len == 0 { 0 } else { start % self.len };
        self
    }

    /// Number of free indices.
    pub(super) fn free(&self) -> usize {
        self.free
    }

    /// Number of indices in use.
    #[cfg(test)]
    pub(super) fn in_use(&self) -> usize {
        self.len - self.free
    }

    /// Whether `index` is free (false when out of range).
    #[cfg(test)]
    pub(super) fn is_free(&self, index: usize) -> bool {
        self.leaves.get(index / 64).is_some_and(|w| w & (1 << (index % 64)) != 0)
    }

    /// Takes the first free index at or after the cursor (wrapping), or `None` when none is free.
    #[inline]
    pub(super) fn alloc(&mut self) -> Option<usize> {
        if self.free == 0 {
            return None;
        }
        let index = self.find_from(self.cursor).or_else(|| self.find_from(0))?;
        self.take(index);
        self.cursor = if index + 1 >= self.len { 0 } else { index + 1 };
        Some(index)
    }

    /// Returns `index` to the set; false (and nothing changes) when it is out of range or
    /// already free.
    #[inline]
    pub(super) fn release(&mut self, index: usize) -> bool {
        let (li, bit) = (index / 64, 1u64 << (index % 64));
        let (mi, mbit) = (li / 64, 1u64 << (li % 64));
        if index >= self.len || mi >= self.mids.len() {
            return false;
        }
        let Some(leaf) = self.leaves.get_mut(li) else { return false };
        if *leaf & bit != 0 {
            return false;
        }
        let leaf_was_empty = *leaf == 0;
        *leaf |= bit;
        if leaf_was_empty {
            if let Some(mid) = self.mids.get_mut(mi) {
                *mid |= mbit;
            }
            self.top |= 1 << mi;
        }
        self.free += 1;
        true
    }

    /// Takes the given `index` (a port a peer director handed out, for a connection taken
    /// over); false (and nothing changes) when it is out of range or already in use. The cursor
    /// stays where it is.
    #[inline]
    pub(super) fn reserve(&mut self, index: usize) -> bool {
        let free = index < self.len
            && self.leaves.get(index / 64).is_some_and(|w| w & (1 << (index % 64)) != 0);
        if free {
            self.take(index);
        }
        free
    }

    /// First free index `>= from`, or `None`.
    #[inline]
    fn find_from(&self, from: usize) -> Option<usize> {
        let li = from / 64;
        let leaf = at_or_above(*self.leaves.get(li)?, from % 64);
        if leaf != 0 {
            return Some(li * 64 + leaf.trailing_zeros() as usize);
        }
        let mi = li / 64;
        let mid = at_or_above(*self.mids.get(mi)?, li % 64 + 1);
        if mid != 0 {
            return self.first_in_leaf(mi * 64 + mid.trailing_zeros() as usize);
        }
        let top = at_or_above(self.top, mi + 1);
        if top == 0 {
            return None;
        }
        let mi = top.trailing_zeros() as usize;
        let mid = *self.mids.get(mi)?;
        self.first_in_leaf(mi * 64 + mid.trailing_zeros() as usize)
    }

    /// First free index in leaf word `li` (which the upper levels say is nonzero).
    #[inline]
    fn first_in_leaf(&self, li: usize) -> Option<usize> {
        let w = *self.leaves.get(li)?;
        (w != 0).then(|| li * 64 + w.trailing_zeros() as usize)
    }

    /// Marks a free `index` as used, clearing the upper levels' bits that became stale.
    #[inline]
    fn take(&mut self, index: usize) {
        let (li, mi) = (index / 64, index / 4096);
        let Some(leaf) = self.leaves.get_mut(li) else { return };
        *leaf &= !(1u64 << (index % 64));
        if *leaf == 0 {
            if let Some(mid) = self.mids.get_mut(mi) {
                *mid &= !(1u64 << (li % 64));
                if *mid == 0 {
                    self.top &= !(1u64 << mi);
                }
            }
        }
        self.free -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The levels agree with each other and with the count.
    fn check_invariants(s: &PortSet) {
        let free: usize = s.leaves.iter().map(|w| w.count_ones() as usize).sum();
        assert_eq!(free, s.free);
        for (li, w) in s.leaves.iter().enumerate() {
            let mid_bit = s.mids[li / 64] & (1 << (li % 64)) != 0;
            assert_eq!(mid_bit, *w != 0, "leaf {li}");
        }
        for (mi, w) in s.mids.iter().enumerate() {
            assert_eq!(s.top & (1 << mi) != 0, *w != 0, "mid {mi}");
        }
        for i in s.len..s.leaves.len() * 64 {
            assert!(!s.is_free(i), "index {i} past the end is free");
        }
    }

    #[test]
    fn hands_out_every_index_once_in_order_then_none() {
        for len in [0usize, 1, 63, 64, 65, 4095, 4096, 4097, 8064, 64512] {
            let mut s = PortSet::new(len);
            check_invariants(&s);
            for i in 0..len {
                assert_eq!(s.alloc(), Some(i), "len {len}");
            }
            assert_eq!(s.alloc(), None);
            assert_eq!((s.free(), s.in_use()), (0, len));
            check_invariants(&s);
        }
    }

    #[test]
    fn released_indices_come_back_after_the_cursor_wraps() {
        let mut s = PortSet::new(200);
        for _ in 0..10 {
            s.alloc();
        }
        assert!(s.release(3));
        assert!(!s.release(3), "double release is refused");
        assert!(!s.release(150), "never allocated");
        assert!(!s.release(200) && !s.release(usize::MAX), "out of range");
        // The cursor is at 10: 3 comes back only once 10..200 are gone.
        assert_eq!(s.alloc(), Some(10));
        for i in 11..200 {
            assert_eq!(s.alloc(), Some(i));
        }
        assert_eq!(s.alloc(), Some(3));
        assert_eq!(s.alloc(), None);
        check_invariants(&s);
    }

    #[test]
    fn a_set_started_at_an_offset_hands_out_from_there_and_wraps() {
        let mut s = PortSet::new(100).starting_at(250);
        assert_eq!(s.alloc(), Some(50));
        for i in 51..100 {
            assert_eq!(s.alloc(), Some(i));
        }
        assert_eq!(s.alloc(), Some(0), "wraps to the bottom after the top");
        check_invariants(&s);
        assert_eq!(PortSet::new(0).starting_at(7).alloc(), None);
    }

    #[test]
    fn crosses_mid_words() {
        // 3 full mid words: free only indices in the last leaf of the last mid word.
        let len = 3 * 4096;
        let mut s = PortSet::new(len);
        while s.alloc().is_some() {}
        assert!(s.release(len - 1));
        assert!(s.release(5));
        assert_eq!(s.alloc(), Some(5)); // cursor wrapped to 0 after the last index
        assert_eq!(s.alloc(), Some(len - 1));
        check_invariants(&s);
    }

    proptest! {
        #[test]
        fn matches_a_model(len in 1usize..9000, ops in proptest::collection::vec(any::<(bool, u16)>(), 0..400)) {
            let mut s = PortSet::new(len);
            let mut used = std::collections::BTreeSet::new();
            let mut cursor = 0usize;
            for (is_alloc, pick) in ops {
                if is_alloc {
                    // Model: first free at or after the cursor, wrapping.
                    let want = (cursor..len).chain(0..cursor).find(|i| !used.contains(i));
                    let got = s.alloc();
                    prop_assert_eq!(got, want);
                    if let Some(i) = got {
                        used.insert(i);
                        cursor = if i + 1 >= len { 0 } else { i + 1 };
                    }
                } else {
                    let i = usize::from(pick) % (len + 2);
                    prop_assert_eq!(s.release(i), used.remove(&i));
                }
                prop_assert_eq!(s.in_use(), used.len());
            }
            check_invariants(&s);
        }
    }
}
