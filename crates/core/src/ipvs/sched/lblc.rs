//! `lblc`, locality-based least connection, for cache clusters: connections to the same
//! destination address go to the same dest, so its cache stays warm, unless that dest is
//! overloaded.
//!
//! A bounded cache (see `locality.rs`) maps destination address -> dest. On a hit the cached
//! dest is used if it is eligible and not "lblc-overloaded": more active connections than its
//! weight while some dest has fewer than half its weight active. Otherwise (miss, expired entry,
//! unusable dest) `wlc` picks and the cache remembers the pick. Entries unused for
//! [`DEFAULT_EXPIRATION`] are forgotten. Time comes from [`Scheduler::tick`].

use core::time::Duration;

use super::locality::LocalityCache;
use super::{least_weighted, DestView, SchedKey, Scheduler};
use crate::time::Instant;

/// How long an unused entry is kept (IPVS's default `lblc_expiration`: one day).
pub const DEFAULT_EXPIRATION: Duration = Duration::from_secs(24 * 60 * 60);
/// Default number of cache sets (4 entries each: 4096 targets per core and service).
pub const DEFAULT_SETS: usize = 1024;

/// `active > weight` while another dest runs below half its weight: the cached dest should
/// give way.
pub(crate) fn lblc_overloaded(d: &DestView, dests: &[DestView]) -> bool {
    d.active > d.weight && dests.iter().any(|o| u64::from(o.active) * 2 < u64::from(o.weight))
}

/// Locality-based least connection state: the target cache and the clock.
#[derive(Debug, Clone)]
pub struct Lblc {
    cache: LocalityCache<u32>,
    now: Instant,
    /// `(addr, port)` of each dest index at the last update, to remap the cache.
    known: Vec<(core::net::IpAddr, u16)>,
}

impl Lblc {
    /// With the default size and expiration.
    pub fn new() -> Self {
        Self::with_params(DEFAULT_SETS, DEFAULT_EXPIRATION)
    }

    /// With `sets` cache sets (rounded up to a power of two) and the given expiration.
    pub fn with_params(sets: usize, expiration: Duration) -> Self {
        Lblc { cache: LocalityCache::new(sets, expiration), now: Instant::ZERO, known: Vec::new() }
    }
}

impl Default for Lblc {
    fn default() -> Self {
        Self::new()
    }
}

impl Scheduler for Lblc {
    fn name(&self) -> &'static str {
        "lblc"
    }

    fn schedule(&mut self, dests: &[DestView], key: &SchedKey) -> Option<usize> {
        if let Some(e) = self.cache.get_mut(&key.daddr, self.now) {
            let i = e.value as usize;
            if dests.get(i).is_some_and(|d| d.is_eligible() && !lblc_overloaded(d, dests)) {
                return Some(i);
            }
        }
        let i = least_weighted(dests, DestView::conn_overhead)?;
        if let Ok(v) = u32::try_from(i) {
            self.cache.insert(key.daddr, v, self.now);
        }
        Some(i)
    }

    fn update(&mut self, dests: &[DestView]) {
        let index: std::collections::HashMap<_, _> =
            dests.iter().enumerate().map(|(i, d)| ((d.addr, d.port), i as u32)).collect();
        let known = &self.known;
        self.cache.retain(|v| match known.get(*v as usize).and_then(|id| index.get(id)) {
            Some(&new) => {
                *v = new;
                true
            }
            None => false,
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
    use core::net::{IpAddr, Ipv4Addr};

    fn target(i: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(198, 51, 100, i))
    }

    fn started(d: &[DestView]) -> Lblc {
        let mut s = Lblc::new();
        s.tick(Instant::from_secs(1000));
        s.update(d);
        s
    }

    #[test]
    fn a_target_sticks_to_its_first_dest_while_loads_change() {
        let mut d = [loaded(1, 1, 0, 0), loaded(2, 1, 0, 0), loaded(3, 1, 0, 0)];
        let mut s = started(&d);
        assert_eq!(s.schedule(&d, &key_to(target(1))), Some(0));
        // wlc would now pick dest 1, but target 1 stays on dest 0 ...
        d[0].active = 1;
        assert_eq!(s.schedule(&d, &key_to(target(1))), Some(0));
        // ... and a new target gets the wlc choice and keeps it.
        assert_eq!(s.schedule(&d, &key_to(target(2))), Some(1));
        d[1].active = 1;
        d[2].active = 1;
        d[0].active = 0;
        assert_eq!(s.schedule(&d, &key_to(target(2))), Some(1));
        assert_eq!(s.schedule(&d, &key_to(target(1))), Some(0));
    }

    #[test]
    fn overloaded_cached_dest_gives_way_and_the_cache_follows() {
        let mut d = [loaded(1, 2, 0, 0), loaded(2, 2, 0, 0)];
        let mut s = started(&d);
        assert_eq!(s.schedule(&d, &key_to(target(1))), Some(0));
        // Active above weight but nobody below half: stays.
        d[0].active = 3;
        d[1].active = 1;
        assert_eq!(s.schedule(&d, &key_to(target(1))), Some(0));
        // Dest 1 below half its weight: dest 0 is overloaded, target moves and stays moved.
        d[1].active = 0;
        assert_eq!(s.schedule(&d, &key_to(target(1))), Some(1));
        d[0].active = 0;
        d[1].active = 1;
        assert_eq!(s.schedule(&d, &key_to(target(1))), Some(1));
        // Unavailable or quiescent cached dest: rescheduled.
        d[1].available = false;
        assert_eq!(s.schedule(&d, &key_to(target(1))), Some(0));
        d[1].available = true;
        d[0].weight = 0;
        assert_eq!(s.schedule(&d, &key_to(target(1))), Some(1));
        d[1].weight = 0;
        assert_eq!(s.schedule(&d, &key_to(target(1))), None);
    }

    #[test]
    fn entries_expire() {
        let mut d = [loaded(1, 10, 0, 0), loaded(2, 10, 0, 0)];
        let mut s = Lblc::with_params(4, Duration::from_secs(60));
        s.tick(Instant::from_secs(10));
        s.update(&d);
        assert_eq!(s.schedule(&d, &key_to(target(1))), Some(0));
        d[0].active = 5;
        s.tick(Instant::from_secs(70));
        assert_eq!(s.schedule(&d, &key_to(target(1))), Some(0), "used within 60 s: kept");
        s.tick(Instant::from_secs(131));
        assert_eq!(s.schedule(&d, &key_to(target(1))), Some(1), "idle 61 s: forgotten, wlc again");
    }

    #[test]
    fn update_follows_dests_by_identity() {
        let d = [dest(1, 1), dest(2, 1), dest(3, 1)];
        let mut s = started(&d);
        let mut busy = d;
        for (t, i) in [(1u8, 0usize), (2, 1), (3, 2)] {
            assert_eq!(s.schedule(&busy, &key_to(target(t))), Some(i));
            busy[i].active += 1;
        }
        // Dest 1 removed, dest 3 now at index 1: target 3 follows it, target 2 reschedules.
        let d2 = [loaded(1, 1, 1, 0), loaded(3, 1, 1, 0), dest(4, 1)];
        s.update(&d2);
        assert_eq!(s.schedule(&d2, &key_to(target(3))), Some(1));
        assert_eq!(s.schedule(&d2, &key_to(target(1))), Some(0));
        assert_eq!(s.schedule(&d2, &key_to(target(2))), Some(2));
    }
}
