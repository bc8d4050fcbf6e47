//! The bounded, expiring cache `lblc` and `lblcr` keep: target address -> dest (or dest set).
//!
//! Set-associative: a fixed number of sets of [`WAYS`] entries each, allocated once when the
//! scheduler is built. A key lives in the set its hash selects; a new key takes an empty or
//! expired way of that set, else the least recently used one. Lookups and inserts touch one set
//! only, never allocate, and the table never grows. An entry not used for the expiration time
//! (24 h by default, as IPVS) is dead: it is ignored on lookup and its way reused.

use core::net::IpAddr;
use core::time::Duration;

use super::hash::hash_addr_port;
use crate::time::Instant;

/// Entries per set.
pub(crate) const WAYS: usize = 4;

/// Fixed key of the set hash.
const SET_KEY: (u64, u64) = (0x6c62_6c63_2d73_6574, 0x7276_732d_6c6f_6361);

/// One cached target.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry<V> {
    key: IpAddr,
    used: bool,
    /// When a lookup last found this entry (or it was inserted).
    pub(crate) last_use: Instant,
    /// What the scheduler stores for the target.
    pub(crate) value: V,
}

/// The cache; see the module doc.
#[derive(Debug, Clone)]
pub(crate) struct LocalityCache<V> {
    entries: Vec<Entry<V>>,
    set_mask: usize,
    expiration_us: u64,
}

impl<V: Copy + Default> LocalityCache<V> {
    /// A cache of `sets` sets (rounded up to a power of two, at least 1) of [`WAYS`] entries.
    pub(crate) fn new(sets: usize, expiration: Duration) -> Self {
        let sets = sets.max(1).next_power_of_two();
        let empty = Entry {
            key: IpAddr::V4(0.into()),
            used: false,
            last_use: Instant::ZERO,
            value: V::default(),
        };
        LocalityCache {
            entries: vec![empty; sets * WAYS],
            set_mask: sets - 1,
            expiration_us: u64::try_from(expiration.as_micros()).unwrap_or(u64::MAX),
        }
    }

    /// Total number of entries the cache can hold.
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.entries.len()
    }

    fn is_live(&self, e: &Entry<V>, now: Instant) -> bool {
        e.used && now.as_micros().saturating_sub(e.last_use.as_micros()) <= self.expiration_us
    }

    fn set_of(&self, key: &IpAddr) -> core::ops::Range<usize> {
        let set = (hash_addr_port(SET_KEY, key, 0) as usize) & self.set_mask;
        set * WAYS..set * WAYS + WAYS
    }

    /// The live entry for `key`, its `last_use` set to `now`.
    pub(crate) fn get_mut(&mut self, key: &IpAddr, now: Instant) -> Option<&mut Entry<V>> {
        let range = self.set_of(key);
        let pos = self.entries.get(range.clone())?.iter().position(|e| e.used && e.key == *key)?;
        let idx = range.start + pos;
        let live = self.entries.get(idx).is_some_and(|e| self.is_live(e, now));
        let e = self.entries.get_mut(idx)?;
        if !live {
            e.used = false;
            return None;
        }
        e.last_use = now;
        Some(e)
    }

    /// Stores `value` for `key` (replacing any entry for it), evicting the least recently used
    /// entry of its set if the set is full of live entries.
    pub(crate) fn insert(&mut self, key: IpAddr, value: V, now: Instant) {
        let range = self.set_of(&key);
        let start = range.start;
        let Some(set) = self.entries.get(range) else { return };
        // Same key, else a free or dead way, else the least recently used.
        let pick = set
            .iter()
            .position(|e| e.used && e.key == key)
            .or_else(|| set.iter().position(|e| !self.is_live(e, now)))
            .or_else(|| set.iter().enumerate().min_by_key(|(_, e)| e.last_use).map(|(i, _)| i))
            .unwrap_or(0);
        if let Some(e) = self.entries.get_mut(start + pick) {
            *e = Entry { key, used: true, last_use: now, value };
        }
    }

    /// Keeps the entries for which `f` returns true (it may rewrite the value), drops the others.
    /// Control-plane use only: walks the whole table.
    pub(crate) fn retain(&mut self, mut f: impl FnMut(&mut V) -> bool) {
        for e in self.entries.iter_mut().filter(|e| e.used) {
            e.used = f(&mut e.value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::Ipv4Addr;

    fn ip(n: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(n))
    }

    #[test]
    fn stores_and_expires() {
        let mut c: LocalityCache<u32> = LocalityCache::new(16, Duration::from_secs(10));
        let t0 = Instant::from_secs(100);
        c.insert(ip(1), 7, t0);
        assert_eq!(c.get_mut(&ip(1), t0 + Duration::from_secs(10)).map(|e| e.value), Some(7));
        // Use refreshed it: alive 10 s after the lookup, dead after.
        assert!(c.get_mut(&ip(1), t0 + Duration::from_secs(20)).is_some());
        assert!(c.get_mut(&ip(1), t0 + Duration::from_secs(31)).is_none());
        assert!(c.get_mut(&ip(1), t0 + Duration::from_secs(31)).is_none());
        assert!(c.get_mut(&ip(2), t0).is_none());
    }

    #[test]
    fn bounded_with_lru_eviction_per_set() {
        let mut c: LocalityCache<u32> = LocalityCache::new(1, Duration::from_secs(1000));
        assert_eq!(c.capacity(), WAYS);
        for i in 0..WAYS as u32 {
            c.insert(ip(i), i, Instant::from_secs(u64::from(i)));
        }
        // Touch key 0 so key 1 is the least recently used.
        assert!(c.get_mut(&ip(0), Instant::from_secs(10)).is_some());
        c.insert(ip(99), 99, Instant::from_secs(11));
        assert!(c.get_mut(&ip(1), Instant::from_secs(12)).is_none());
        for k in [0, 2, 3, 99] {
            assert!(c.get_mut(&ip(k), Instant::from_secs(12)).is_some(), "key {k}");
        }
        // Re-inserting a key overwrites it in place.
        c.insert(ip(99), 5, Instant::from_secs(13));
        assert_eq!(c.get_mut(&ip(99), Instant::from_secs(13)).map(|e| e.value), Some(5));
        c.retain(|v| *v != 5);
        assert!(c.get_mut(&ip(99), Instant::from_secs(13)).is_none());
        assert!(c.get_mut(&ip(0), Instant::from_secs(13)).is_some());
    }
}
