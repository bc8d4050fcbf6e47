//! `lblcr`, locality-based least connection with replication: like `lblc`, but a destination
//! address maps to a *set* of dests, so a hot target can be served by several caches.
//!
//! On a hit the least loaded eligible member of the target's set (smallest overhead / weight,
//! first of equals) is used unless it is lblc-overloaded (more active connections than its
//! weight while some dest runs below half its weight). Otherwise `wlc` picks over all dests and
//! the pick joins the set. A set that has not changed for the expiration time and has more than
//! one member first loses its most loaded member (one per expiration period), so replication
//! shrinks back when the load goes. A set holds at most [`SET_CAPACITY`] members; when full, the
//! most loaded one makes room. Whole entries unused for the expiration time are forgotten.

use core::net::IpAddr;
use core::time::Duration;

use super::lblc::lblc_overloaded;
use super::locality::LocalityCache;
use super::{least_weighted, DestView, SchedKey, Scheduler};
use crate::time::Instant;

/// How long an unused entry, or an unchanged set, is kept (IPVS's default: one day).
pub const DEFAULT_EXPIRATION: Duration = Duration::from_secs(24 * 60 * 60);
/// Default number of cache sets (4 entries each: 2048 targets per core and service).
pub const DEFAULT_SETS: usize = 512;
/// Most dests one target's set holds.
pub const SET_CAPACITY: usize = 8;

/// The dests serving one target, by index, in the order they joined.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct DestSet {
    members: [u32; SET_CAPACITY],
    len: u8,
    last_mod: Instant,
}

impl DestSet {
    fn single(i: u32, now: Instant) -> Self {
        let mut s = DestSet { last_mod: now, ..DestSet::default() };
        s.members[0] = i;
        s.len = 1;
        s
    }

    fn members(&self) -> &[u32] {
        self.members.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// Least loaded eligible member (index into `dests`).
    fn least_loaded(&self, dests: &[DestView]) -> Option<usize> {
        let mut best: Option<(usize, u64, u32)> = None;
        for &m in self.members() {
            let Some(d) = dests.get(m as usize).filter(|d| d.is_eligible()) else { continue };
            let oh = d.conn_overhead();
            if best.map_or(true, |(_, loh, lw)| {
                u128::from(loh) * u128::from(d.weight) > u128::from(oh) * u128::from(lw)
            }) {
                best = Some((m as usize, oh, d.weight));
            }
        }
        best.map(|(i, _, _)| i)
    }

    /// Position of the most loaded member: gone or quiescent members first, then the largest
    /// overhead / weight (first of equals).
    fn most_loaded_pos(&self, dests: &[DestView]) -> Option<usize> {
        let mut worst: Option<(usize, u64, u32)> = None;
        for (pos, &m) in self.members().iter().enumerate() {
            let Some(d) = dests.get(m as usize).filter(|d| d.weight > 0) else { return Some(pos) };
            let oh = d.conn_overhead();
            if worst.map_or(true, |(_, moh, mw)| {
                u128::from(moh) * u128::from(d.weight) < u128::from(oh) * u128::from(mw)
            }) {
                worst = Some((pos, oh, d.weight));
            }
        }
        worst.map(|(pos, _, _)| pos)
    }

    fn remove_pos(&mut self, pos: usize) {
        let len = usize::from(self.len);
        if pos < len {
            self.members.copy_within(pos + 1..len, pos);
            self.len -= 1;
        }
    }

    fn insert(&mut self, i: u32, now: Instant, dests: &[DestView]) {
        if self.members().contains(&i) {
            return;
        }
        if usize::from(self.len) >= SET_CAPACITY {
            if let Some(pos) = self.most_loaded_pos(dests) {
                self.remove_pos(pos);
            }
        }
        if let Some(slot) = self.members.get_mut(usize::from(self.len)) {
            *slot = i;
            self.len += 1;
        }
        self.last_mod = now;
    }
}

/// Locality-based least connection with replication state.
#[derive(Debug, Clone)]
pub struct Lblcr {
    cache: LocalityCache<DestSet>,
    expiration: Duration,
    now: Instant,
    known: Vec<(IpAddr, u16)>,
}

impl Lblcr {
    /// With the default size and expiration.
    pub fn new() -> Self {
        Self::with_params(DEFAULT_SETS, DEFAULT_EXPIRATION)
    }

    /// With `sets` cache sets (rounded up to a power of two) and the given expiration.
    pub fn with_params(sets: usize, expiration: Duration) -> Self {
        Lblcr {
            cache: LocalityCache::new(sets, expiration),
            expiration,
            now: Instant::ZERO,
            known: Vec::new(),
        }
    }
}

impl Default for Lblcr {
    fn default() -> Self {
        Self::new()
    }
}

impl Scheduler for Lblcr {
    fn name(&self) -> &'static str {
        "lblcr"
    }

    fn schedule(&mut self, dests: &[DestView], key: &SchedKey) -> Option<usize> {
        let now = self.now;
        if let Some(e) = self.cache.get_mut(&key.daddr, now) {
            let set = &mut e.value;
            if set.len > 1 && now.saturating_since(set.last_mod) > self.expiration {
                if let Some(pos) = set.most_loaded_pos(dests) {
                    set.remove_pos(pos);
                }
                set.last_mod = now;
            }
            if let Some(i) = set.least_loaded(dests) {
                if dests.get(i).is_some_and(|d| !lblc_overloaded(d, dests)) {
                    return Some(i);
                }
            }
            let i = least_weighted(dests, DestView::conn_overhead)?;
            if let Ok(v) = u32::try_from(i) {
                set.insert(v, now, dests);
            }
            return Some(i);
        }
        let i = least_weighted(dests, DestView::conn_overhead)?;
        if let Ok(v) = u32::try_from(i) {
            self.cache.insert(key.daddr, DestSet::single(v, now), now);
        }
        Some(i)
    }

    fn update(&mut self, dests: &[DestView]) {
        let index: std::collections::HashMap<_, _> =
            dests.iter().enumerate().map(|(i, d)| ((d.addr, d.port), i as u32)).collect();
        let known = &self.known;
        self.cache.retain(|set| {
            let mut kept = DestSet { last_mod: set.last_mod, ..DestSet::default() };
            for &m in set.members() {
                if let Some(&new) = known.get(m as usize).and_then(|id| index.get(id)) {
                    if let Some(slot) = kept.members.get_mut(usize::from(kept.len)) {
                        *slot = new;
                        kept.len += 1;
                    }
                }
            }
            *set = kept;
            kept.len > 0
        });
        self.known = dests.iter().map(|d| (d.addr, d.port)).collect();
    }

    fn tick(&mut self, now: Instant) {
        self.now = now;
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use core::net::Ipv4Addr;

    fn target(i: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(198, 51, 100, i))
    }

    #[test]
    fn a_target_sticks_to_its_set() {
        let mut d = [loaded(1, 4, 0, 0), loaded(2, 4, 0, 0), loaded(3, 4, 0, 0)];
        let mut s = Lblcr::new();
        s.tick(Instant::from_secs(5));
        s.update(&d);
        assert_eq!(s.schedule(&d, &key_to(target(1))), Some(0));
        d[0].active = 3; // busier than the others, not overloaded (3 <= 4)
        assert_eq!(s.schedule(&d, &key_to(target(1))), Some(0));
        assert_eq!(s.schedule(&d, &key_to(target(2))), Some(1));
    }

    #[test]
    fn overload_replicates_then_uses_the_least_loaded_member() {
        let mut d = [loaded(1, 2, 0, 0), loaded(2, 2, 0, 0), loaded(3, 2, 0, 0)];
        let mut s = Lblcr::new();
        s.tick(Instant::from_secs(5));
        s.update(&d);
        let k = key_to(target(1));
        assert_eq!(s.schedule(&d, &k), Some(0));
        // Dest 0 overloaded (3 > 2, others idle): wlc adds dest 1 to the set.
        d[0].active = 3;
        assert_eq!(s.schedule(&d, &k), Some(1));
        // Set {0, 1}: the less loaded member is used, never dest 2 (not in the set) ...
        d[1].active = 2;
        d[0].active = 1;
        assert_eq!(s.schedule(&d, &k), Some(0));
        d[0].active = 2;
        d[1].active = 1;
        assert_eq!(s.schedule(&d, &k), Some(1));
        // ... unless every member is unusable: then dest 2 joins.
        d[0].available = false;
        d[1].weight = 0;
        assert_eq!(s.schedule(&d, &k), Some(2));
        d[0].available = true;
        d[1].weight = 2;
        d[2].active = 2;
        d[0].active = 0;
        assert_eq!(s.schedule(&d, &k), Some(0), "set is {{0, 1, 2}}, 0 least loaded");
    }

    #[test]
    fn unchanged_sets_shrink_and_idle_entries_expire() {
        let exp = Duration::from_secs(100);
        let mut d = [loaded(1, 2, 0, 0), loaded(2, 2, 0, 0)];
        let mut s = Lblcr::with_params(4, exp);
        s.tick(Instant::from_secs(1000));
        s.update(&d);
        let k = key_to(target(1));
        assert_eq!(s.schedule(&d, &k), Some(0));
        d[0].active = 3;
        assert_eq!(s.schedule(&d, &k), Some(1)); // set {0, 1}, modified at t=1000
                                                 // Keep using it; after the expiration the most loaded member (0) leaves.
        d[1].active = 2;
        d[0].active = 1;
        s.tick(Instant::from_secs(1050));
        assert_eq!(s.schedule(&d, &k), Some(0));
        s.tick(Instant::from_secs(1101));
        d[0].active = 2;
        d[1].active = 1;
        assert_eq!(s.schedule(&d, &k), Some(1), "dest 0 was the most loaded: dropped");
        d[0].active = 0;
        d[1].active = 2;
        assert_eq!(s.schedule(&d, &k), Some(1), "set is {{1}} now");
        // Unused for longer than the expiration: forgotten, wlc picks afresh.
        s.tick(Instant::from_secs(1300));
        assert_eq!(s.schedule(&d, &k), Some(0));
    }

    #[test]
    fn sets_are_bounded() {
        let mut set = DestSet::single(0, Instant::ZERO);
        let mut d: Vec<_> = (1..=20).map(|n| loaded(n, 1, 0, 0)).collect();
        d[3].active = 9;
        for i in 1..20u32 {
            set.insert(i, Instant::ZERO, &d);
            assert!(usize::from(set.len) <= SET_CAPACITY);
        }
        assert_eq!(usize::from(set.len), SET_CAPACITY);
        assert!(!set.members().contains(&3), "the most loaded member made room first");
        assert!(set.members().contains(&19));
    }

    #[test]
    fn update_remaps_and_drops_members() {
        let d = [dest(1, 1), dest(2, 1)];
        let mut s = Lblcr::new();
        s.tick(Instant::from_secs(1));
        s.update(&d);
        let k = key_to(target(1));
        assert_eq!(s.schedule(&d, &k), Some(0));
        let d2 = [loaded(3, 1, 0, 0), loaded(1, 1, 1, 0)];
        s.update(&d2);
        assert_eq!(s.schedule(&d2, &k), Some(1), "dest 10.0.0.1 followed to index 1");
        s.update(&[dest(3, 1)]);
        assert_eq!(s.schedule(&[loaded(3, 1, 1, 0)], &k), Some(0));
    }
}
