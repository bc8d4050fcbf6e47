//! [`SourceRates`]: one worker core's per-client new-connection rate limits, a bounded table of
//! token buckets keyed by (service slot, client address).
//!
//! Each bucket is kept as GCRA's single "theoretical arrival time" (`tat`, nanoseconds): a
//! bucket of `burst` tokens refilled at `rate` per second admits a connection at `now` when
//! `max(tat, now) - now <= (burst - 1) * T` (with `T = 1 s / rate`, rounded up so the rate is
//! never exceeded), and then moves `tat` on by `T`. It admits exactly what the token bucket
//! admits, in 8 bytes and without a division on the packet path; an entry whose `tat` is not
//! after `now` is a full bucket, the same as no entry at all.
//!
//! The table is a fixed array of `entries` slots (a power of two, allocated once) in sets of
//! [`WAYS`]; a client's set is picked by a seeded hash of its key. A client with no entry takes
//! a free slot of its set, or else evicts the entry of the set with the earliest `tat`: the
//! fullest bucket, the one whose loss gives its client the fewest extra tokens (none when it is
//! already full). An evicted client whose bucket was not full starts again from a full bucket;
//! that is counted ([`SourceRates::evicted`]) and is the price of a bounded table: size it for
//! the clients that are limited at once (see `docs/hardening/limits.md`). A limited client's
//! `tat` lies ahead of `now`, later than that of the clients that opened one connection, so a
//! flood of one-shot sources evicts those first. Hand-written: a rate limiter crate keeps an
//! unbounded map or allocates per key; this must do neither on the packet path.

use std::net::Ipv4Addr;

use crate::time::Instant;

/// Slots per set.
pub const WAYS: usize = 4;

/// One service's per-source rate in the table's units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateParams {
    /// Nanoseconds per token (`ceil(1e9 / rate)`).
    pub interval_ns: u64,
    /// How far ahead of `now` a bucket's `tat` may be and still admit: `(burst - 1) * T`.
    pub tolerance_ns: u64,
}

impl RateParams {
    /// `rate` new connections per second (at least 1), banking `burst` (at least 1).
    pub fn new(rate: u32, burst: u32) -> RateParams {
        let interval_ns = 1_000_000_000u64.div_ceil(u64::from(rate.max(1)));
        RateParams { interval_ns, tolerance_ns: interval_ns * u64::from(burst.max(1) - 1) }
    }
}

/// The table. See the module documentation.
#[derive(Debug)]
pub struct SourceRates {
    /// `(service slot + 1) << 32 | address`; 0 = free.
    keys: Vec<u64>,
    tat: Vec<u64>,
    set_mask: u64,
    seed: u64,
    evicted: u64,
}

impl SourceRates {
    /// A table of at least `entries` slots (rounded up to a power of two, at least one set),
    /// hashing with `seed`.
    pub fn new(entries: usize, seed: u64) -> SourceRates {
        let n = entries.max(WAYS).next_power_of_two();
        SourceRates {
            keys: vec![0; n],
            tat: vec![0; n],
            set_mask: (n / WAYS - 1) as u64,
            seed: seed | 1,
            evicted: 0,
        }
    }

    /// Slots in the table.
    pub fn capacity(&self) -> usize {
        self.keys.len()
    }

    /// Slots holding a client.
    pub fn occupied(&self) -> usize {
        self.keys.iter().filter(|k| **k != 0).count()
    }

    /// Clients evicted while their bucket was not full.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// Whether client `src` of service slot `svc` may open a connection at `now` under `p`;
    /// takes a token when it may. No allocation; at most [`WAYS`] slots looked at.
    #[inline]
    pub fn admit(&mut self, svc: u32, src: Ipv4Addr, p: RateParams, now: Instant) -> bool {
        let key = (u64::from(svc) + 1) << 32 | u64::from(u32::from(src));
        let now_ns = now.as_micros().saturating_mul(1000);
        let h = (key ^ self.seed).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let base = (((h >> 32) & self.set_mask) as usize) * WAYS;
        let mut slot = None;
        let mut victim = base;
        for i in base..base + WAYS {
            let k = self.keys[i];
            if k == key {
                slot = Some(i);
                break;
            }
            let free = |j: usize| self.keys[j] == 0;
            if !free(victim) && (free(i) || self.tat[i] < self.tat[victim]) {
                victim = i;
            }
        }
        let i = match slot {
            Some(i) => i,
            None => {
                if self.keys[victim] != 0 && self.tat[victim] > now_ns {
                    self.evicted += 1;
                }
                self.keys[victim] = key;
                self.tat[victim] = now_ns;
                victim
            }
        };
        let t = self.tat[i].max(now_ns);
        if t - now_ns > p.tolerance_ns {
            return false;
        }
        self.tat[i] = t + p.interval_ns;
        true
    }
}
