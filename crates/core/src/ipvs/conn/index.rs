//! The connection table's hash index: 64-byte buckets of short signatures and entry values,
//! two candidate buckets per key (bucketized cuckoo hashing), a small stash for the rare tuple
//! that finds no room.
//!
//! Owns the bucket array and the stash. It stores opaque `u32` values (the table stores
//! `slab index << 1 | direction`) under a 64-bit hash and knows nothing of keys or entries:
//! [`BucketIndex::find`] hands every value whose signature matches to the caller's equality
//! check, which compares the tuple stored in the entry.
//!
//! # Why hand-written
//! hashbrown (used before) keeps control bytes and values in two arrays, so a hit costs a
//! control-group line, a line of the 4-byte value array and then the entry: three dependent
//! misses at 1M connections. Here one bucket line holds 8 signatures and their 8 values, so a
//! hit costs one bucket line plus the entry's line, and a burst can touch every key's bucket
//! before comparing any (see [`BucketIndex::touch`]). The shape is the one DPDK's `rte_hash`
//! and MemC3 use; no crate of the field offers it with a caller-side equality and a fixed
//! allocation.
//!
//! # Shape
//! - A bucket is 8 slots of `(signature: u32, value: u32)`, signatures first, 64 bytes,
//!   aligned to a cache line. An empty slot holds [`EMPTY`].
//! - A hash's low 32 bits choose its primary bucket, its high 32 bits are its signature. The
//!   alternative bucket is derived from the signature alone (`alt(b) = (x(sig) - b) mod n`,
//!   an involution), so an entry can be moved between its two buckets without rehashing.
//! - Insert takes a free slot of the primary bucket, then of the alternative, else displaces
//!   entries along a random walk of at most [`MAX_KICKS`] moves; an entry still homeless after
//!   that goes to the stash (at most [`STASH`] entries, searched only while not empty). With a
//!   keyed hash and the sizing of [`BucketIndex::with_capacity`] (at most 85 % of the slots
//!   used) the stash stays empty in practice; a full stash makes insert fail, which the table
//!   reports as full.
//! - Lookup reads the primary bucket, the alternative only when the primary has no matching
//!   value, and the stash only when it holds something: bounded work.
//! - Memory is allocated once, at construction.

/// An empty slot's value.
pub const EMPTY: u32 = u32::MAX;
/// Slots per bucket.
const WAYS: usize = 8;
/// Displacements an insert may make before using the stash.
pub const MAX_KICKS: u32 = 64;
/// Entries the stash may hold.
pub const STASH: usize = 32;
/// Largest share of slots the sizing plans to use, in percent.
const LOAD_PERCENT: u64 = 85;

/// One cache line: 8 signatures, then the 8 values they belong to.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(64))]
struct Bucket {
    sig: [u32; WAYS],
    val: [u32; WAYS],
}

impl Bucket {
    const EMPTY: Bucket = Bucket { sig: [0; WAYS], val: [EMPTY; WAYS] };

    /// Bit `i` set when slot `i`'s signature is `sig`: eight compares with no branch between
    /// them (the compiler makes them one vector compare), where a slot-by-slot search took a
    /// branch per slot.
    #[inline]
    fn matches(&self, sig: u32) -> u32 {
        let mut m = 0;
        for (i, &s) in self.sig.iter().enumerate() {
            m |= u32::from(s == sig) << i;
        }
        m
    }

    /// The first value among the slots of `mask` ([`Bucket::matches`]) that is not empty and
    /// for which `eq` holds.
    #[inline]
    fn first_of(&self, mut mask: u32, eq: &mut impl FnMut(u32) -> bool) -> Option<u32> {
        while mask != 0 {
            let i = mask.trailing_zeros() as usize;
            mask &= mask - 1;
            let v = self.val.get(i).copied().unwrap_or(EMPTY);
            if v != EMPTY && eq(v) {
                return Some(v);
            }
        }
        None
    }

    fn free_slot(&self) -> Option<usize> {
        self.val.iter().position(|&v| v == EMPTY)
    }
}

/// The index. See the module documentation.
#[derive(Debug)]
pub struct BucketIndex {
    buckets: Box<[Bucket]>,
    /// Values that found no bucket slot: `(signature, value)`.
    stash: Vec<(u32, u32)>,
    len: usize,
    /// State of the displacement walk's victim choice (xorshift).
    walk: u32,
}

fn signature(h: u64) -> u32 {
    (h >> 32) as u32
}

/// `x * n / 2^32`: maps 32 uniform bits onto `0..n` without a division.
fn scale(x: u32, n: usize) -> usize {
    ((u64::from(x) * n as u64) >> 32) as usize
}

impl BucketIndex {
    /// An index for at most `values` values at once.
    pub fn with_capacity(values: usize) -> Self {
        let slots = (values as u64 * 100).div_ceil(LOAD_PERCENT);
        let n = slots.div_ceil(WAYS as u64).max(2) as usize;
        BucketIndex {
            buckets: vec![Bucket::EMPTY; n].into_boxed_slice(),
            stash: Vec::with_capacity(STASH),
            len: 0,
            walk: 0x9e37_79b9,
        }
    }

    /// Values held.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Bytes allocated.
    pub fn allocation_size(&self) -> usize {
        core::mem::size_of_val(&*self.buckets) + STASH * core::mem::size_of::<(u32, u32)>()
    }

    /// Values in the stash (for tests and statistics).
    #[cfg(test)]
    pub fn stashed(&self) -> usize {
        self.stash.len()
    }

    fn primary(&self, h: u64) -> usize {
        scale(h as u32, self.buckets.len())
    }

    fn alternative(&self, b: usize, sig: u32) -> usize {
        let n = self.buckets.len();
        let x = scale(sig.wrapping_mul(0x9e37_79b1) ^ (sig >> 16), n);
        (x + n - b) % n
    }

    /// Reads the first word of the primary bucket of `h`, so that a burst can start every
    /// bucket's cache miss before it compares anything. Returns the word (fold the results of
    /// a burst into one value and pass it to `core::hint::black_box` so the reads stay).
    #[inline]
    pub fn touch(&self, h: u64) -> u32 {
        self.buckets.get(self.primary(h)).map_or(0, |b| b.sig[0])
    }

    /// The value in the primary bucket of `h` whose signature matches (the first one), if
    /// any: a guess a burst uses to touch the entry before calling [`BucketIndex::find`].
    #[inline]
    pub fn first_candidate(&self, h: u64) -> Option<u32> {
        let b = self.buckets.get(self.primary(h))?;
        b.first_of(b.matches(signature(h)), &mut |_| true)
    }

    /// The first value stored under `h` for which `eq` holds.
    #[inline]
    pub fn find(&self, h: u64, mut eq: impl FnMut(u32) -> bool) -> Option<u32> {
        let sig = signature(h);
        let b1 = self.primary(h);
        if let Some(v) = self.buckets.get(b1).and_then(|b| b.first_of(b.matches(sig), &mut eq)) {
            return Some(v);
        }
        let b2 = self.alternative(b1, sig);
        if b2 != b1 {
            if let Some(v) = self.buckets.get(b2).and_then(|b| b.first_of(b.matches(sig), &mut eq))
            {
                return Some(v);
            }
        }
        if self.stash.is_empty() {
            return None;
        }
        self.stash.iter().find(|&&(s, v)| s == sig && eq(v)).map(|&(_, v)| v)
    }

    /// Stores `v` under `h` (the caller guarantees it is not stored yet). Returns false, with
    /// the index unchanged, when neither bucket nor the stash has room after the walk.
    pub fn insert(&mut self, h: u64, v: u32) -> bool {
        debug_assert_ne!(v, EMPTY);
        let sig = signature(h);
        let b1 = self.primary(h);
        let b2 = self.alternative(b1, sig);
        for b in [b1, b2] {
            if let Some(i) = self.buckets[b].free_slot() {
                self.buckets[b].sig[i] = sig;
                self.buckets[b].val[i] = v;
                self.len += 1;
                return true;
            }
        }
        if self.stash.len() >= STASH {
            return false;
        }
        // Random walk: put (sig, v) in bucket b, displacing a victim to its other bucket.
        let (mut sig, mut v, mut b) = (sig, v, b1);
        for _ in 0..MAX_KICKS {
            self.walk ^= self.walk << 13;
            self.walk ^= self.walk >> 17;
            self.walk ^= self.walk << 5;
            let i = self.walk as usize % WAYS;
            let bucket = &mut self.buckets[b];
            let (vs, vv) = (bucket.sig[i], bucket.val[i]);
            bucket.sig[i] = sig;
            bucket.val[i] = v;
            (sig, v) = (vs, vv);
            b = self.alternative(b, sig);
            if let Some(j) = self.buckets[b].free_slot() {
                self.buckets[b].sig[j] = sig;
                self.buckets[b].val[j] = v;
                self.len += 1;
                return true;
            }
        }
        // Still homeless: the stash keeps its signature (its buckets are not needed again:
        // a stashed value is found by signature and the caller's equality).
        self.stash.push((sig, v));
        self.len += 1;
        true
    }

    /// Removes value `v` stored under `h`. Returns whether it was there.
    pub fn remove(&mut self, h: u64, v: u32) -> bool {
        let sig = signature(h);
        let b1 = self.primary(h);
        let b2 = self.alternative(b1, sig);
        for b in [b1, b2] {
            let bucket = &mut self.buckets[b];
            if let Some(i) = (0..WAYS).find(|&i| bucket.val[i] == v) {
                bucket.val[i] = EMPTY;
                bucket.sig[i] = 0;
                self.len -= 1;
                return true;
            }
        }
        if let Some(i) = self.stash.iter().position(|&(_, sv)| sv == v) {
            self.stash.swap_remove(i);
            self.len -= 1;
            return true;
        }
        false
    }

    /// Every value held, in no particular order.
    #[cfg(test)]
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.buckets
            .iter()
            .flat_map(|b| b.val.iter().copied())
            .filter(|&v| v != EMPTY)
            .chain(self.stash.iter().map(|&(_, v)| v))
    }
}
