//! The balancer's defences against floods that would fill a core's connection table or make it
//! answer without bound: budgets and limits kept beside the table, never inside it.
//!
//! Owns [`GuardConfig`] (the knobs), [`Guard`] (one per core, inside the balancer's books: the
//! live connection counts per protocol, the embryonic FIFO of [`embryonic`], the reset token
//! bucket) and [`GuardCounters`]. It reads the connection table only through its public API
//! (the balancer hands it what it needs) and must not change entries: the balancer evicts what
//! the guard names, with the table's `remove`, so every departure still goes through the books.
//!
//! # The defences
//! - **Per-protocol shares** of the table: TCP, UDP and other (ICMP echo) connections each may
//!   hold at most their share of the capacity, so a UDP flood cannot take the slots TCP needs.
//!   A new connection over its share is dropped as `proto_share_full`.
//! - **Embryonic budget** (TCP in SYN_RECV, whatever the forwarding mode): every connection
//!   entering SYN_RECV is remembered in a FIFO of at most `embryonic_max` handles; when a new one
//!   finds the FIFO full, the oldest handle still naming an embryonic connection is evicted
//!   (IPVS's drop_entry idea, oldest first instead of random), so at most `embryonic_max`
//!   connections are embryonic at once and a spoofed-SYN flood recycles its own entries instead
//!   of the established ones. A TCP connection that finds the table or its share full evicts the
//!   oldest embryonic one too, before giving up.
//! - **Pressure**: while at least half the budget is embryonic, new SYN_RECV timers get
//!   `syn_recv_pressure_timeout` instead of the configured SYN_RECV timeout.
//! - **Handshakes the director only half sees** (DR, TUN: replies bypass it): the client's bare
//!   ACK after its SYN does not make the connection ESTABLISHED; data, or any later segment,
//!   does. A spoofed SYN then ACK pair therefore stays embryonic (60 s at most, evictable)
//!   instead of taking a 900 s ESTABLISHED entry. That ACK does send the connection to the back
//!   of the FIFO, once: a real client gets a second budget's worth of newer embryos to send its
//!   first data in, while a spoofed-SYN flood, which never answers, does not. (A per-slot
//!   generation stamped on each handle tells the superseded handle from the current one.)
//! - **Local ports** (FULLNAT, SNAT): a reset in either direction ends the connection at once,
//!   giving its port back; an embryonic connection evicted or expired under pressure gives its
//!   port back too (see the port pools' release in the books).
//! - **Generated resets** (a SYN for a service with no dest available) are rate-limited per
//!   core; the SYN is still dropped and counted when no token is left.

pub mod embryonic;

use crate::net::TokenBucket;
use crate::time::Instant;
use crate::wire::IpProtocol;

pub use embryonic::{Embryo, EmbryonicFifo};

/// The guard's knobs for one core (the daemon's `[guard]` section).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuardConfig {
    /// Most TCP connections in SYN_RECV at once on the core; 0 = no separate budget.
    pub embryonic_max: u32,
    /// SYN_RECV timeout, seconds, while at least half of `embryonic_max` is in use.
    pub syn_recv_pressure_timeout: u32,
    /// Percent of the table TCP connections may hold (1..=100).
    pub tcp_share: u8,
    /// Percent of the table UDP flows may hold (1..=100).
    pub udp_share: u8,
    /// Percent of the table other flows (ICMP echo through SNAT) may hold (1..=100).
    pub other_share: u8,
    /// TCP resets per second the core may send for SYNs with no dest; 0 = unlimited.
    pub reset_pps: u32,
    /// Resets the bucket banks.
    pub reset_burst: u32,
}

impl GuardConfig {
    /// No limit at all: every share 100%, no embryonic budget, resets unlimited (the library
    /// default, so embedding the balancer changes nothing unless asked).
    pub const UNLIMITED: GuardConfig = GuardConfig {
        embryonic_max: 0,
        syn_recv_pressure_timeout: 60,
        tcp_share: 100,
        udp_share: 100,
        other_share: 100,
        reset_pps: 0,
        reset_burst: 1,
    };

    /// The daemon's defaults for a table of `capacity` entries: a quarter of it for embryonic
    /// connections, 5 s SYN_RECV under pressure, TCP 90%, UDP 50%, other 10%, 1000 resets/s
    /// with a burst of 100.
    pub fn protective(capacity: u32) -> GuardConfig {
        GuardConfig {
            embryonic_max: (capacity / 4).max(1),
            syn_recv_pressure_timeout: 5,
            tcp_share: 90,
            udp_share: 50,
            other_share: 10,
            reset_pps: 1000,
            reset_burst: 100,
        }
    }
}

/// The guard's counters on one core.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GuardCounters {
    /// Embryonic connections evicted to make room (the budget, the table or a share was full).
    pub embryonic_evicted: u64,
    /// Resets not sent for lack of tokens.
    pub resets_limited: u64,
    /// Times the core entered SYN_RECV pressure (shortened timeout).
    pub pressure_entered: u64,
    /// Bare ACKs of DR/TUN handshakes that did not make their connection ESTABLISHED.
    pub bare_acks_held: u64,
    /// FULLNAT/SNAT connections ended at once by a reset (their local port released).
    pub reset_releases: u64,
}

/// Which share a protocol counts against.
fn share_index(proto: IpProtocol) -> usize {
    match proto {
        IpProtocol::TCP => 0,
        IpProtocol::UDP => 1,
        _ => 2,
    }
}

/// One core's guard. See the module documentation.
#[derive(Debug)]
pub struct Guard {
    cfg: GuardConfig,
    /// Most live connections per share (TCP, UDP, other).
    share_max: [u32; 3],
    /// Live connections per share (templates excluded).
    live: [u32; 3],
    embryos: EmbryonicFifo,
    /// Per table slot, the generation of the slot's current handle (empty without a budget).
    gens: Vec<u8>,
    resets: TokenBucket,
    pressure: bool,
    counters: GuardCounters,
}

impl Guard {
    /// The guard of a table of `capacity` entries, its clock starting at `now`.
    pub fn new(cfg: GuardConfig, capacity: u32, now: Instant) -> Self {
        let share = |pct: u8| {
            if pct >= 100 {
                // The whole table: its own `conn_table_full` is the only bound.
                return u32::MAX;
            }
            let pct = u64::from(pct.max(1));
            ((u64::from(capacity) * pct).div_ceil(100)).max(1) as u32
        };
        Guard {
            cfg,
            share_max: [share(cfg.tcp_share), share(cfg.udp_share), share(cfg.other_share)],
            live: [0; 3],
            embryos: EmbryonicFifo::new(cfg.embryonic_max.saturating_mul(2)),
            gens: if cfg.embryonic_max > 0 { vec![0; capacity as usize] } else { Vec::new() },
            resets: TokenBucket::new(u64::from(cfg.reset_pps), u64::from(cfg.reset_burst), now),
            pressure: false,
            counters: GuardCounters::default(),
        }
    }

    /// The knobs in force.
    pub fn config(&self) -> &GuardConfig {
        &self.cfg
    }

    /// The counters.
    pub fn counters(&self) -> &GuardCounters {
        &self.counters
    }

    /// Live connections of `proto`'s share.
    pub fn live(&self, proto: IpProtocol) -> u32 {
        self.live[share_index(proto)]
    }

    /// Most connections `proto`'s share may hold.
    pub fn share_max(&self, proto: IpProtocol) -> u32 {
        self.share_max[share_index(proto)]
    }

    /// Whether a new connection of `proto` fits its share.
    #[inline]
    pub fn share_has_room(&self, proto: IpProtocol) -> bool {
        let i = share_index(proto);
        self.live[i] < self.share_max[i]
    }

    /// A connection of `proto` entered the table.
    #[inline]
    pub fn conn_added(&mut self, proto: IpProtocol) {
        let i = share_index(proto);
        self.live[i] = self.live[i].saturating_add(1);
    }

    /// A connection of `proto` left the table; `embryonic` if it was in SYN_RECV.
    #[inline]
    pub fn conn_freed(&mut self, proto: IpProtocol, embryonic: bool) {
        let i = share_index(proto);
        self.live[i] = self.live[i].saturating_sub(1);
        if embryonic {
            self.embryos.left();
        }
    }

    /// A connection left SYN_RECV for another state, staying in the table.
    #[inline]
    pub fn embryo_established(&mut self) {
        self.embryos.left();
    }

    /// Embryonic connections now.
    pub fn embryonic(&self) -> u32 {
        self.embryos.live()
    }

    /// Counts a DR/TUN bare ACK that was held back from ESTABLISHED.
    pub fn count_bare_ack_held(&mut self) {
        self.counters.bare_acks_held += 1;
    }

    /// Counts a FULLNAT/SNAT connection ended by a reset.
    pub fn count_reset_release(&mut self) {
        self.counters.reset_releases += 1;
    }

    /// Whether a reset may be sent at `now` (takes a token; counts a refusal).
    #[inline]
    pub fn may_reset(&mut self, now: Instant) -> bool {
        if self.resets.take(now) {
            return true;
        }
        self.counters.resets_limited += 1;
        false
    }

    /// Whether the core should be under SYN_RECV pressure now; `Some(new)` when that changed.
    pub fn update_pressure(&mut self) -> Option<bool> {
        let max = self.cfg.embryonic_max;
        if max == 0 {
            return None;
        }
        let live = self.embryos.live();
        let want = if self.pressure { live > max / 4 } else { live >= max / 2 };
        if want == self.pressure {
            return None;
        }
        self.pressure = want;
        if want {
            self.counters.pressure_entered += 1;
        }
        Some(want)
    }

    /// Whether the core is under SYN_RECV pressure.
    pub fn under_pressure(&self) -> bool {
        self.pressure
    }

    /// Remembers connection `e` entering SYN_RECV. When the budget is spent, the oldest
    /// handle still naming an embryonic connection (`still_embryonic` tells live handles from
    /// stale ones: the connection left SYN_RECV, or its slot holds another) is popped and
    /// returned for the caller to evict (counted here); stale handles on the way are discarded.
    /// A FIFO full of handles while the budget is not spent is compacted first. Amortised
    /// O(1): each handle is popped or compacted away once, and the FIFO holds twice the budget,
    /// so a compaction removes at least as many stale handles as pushes since the last one.
    pub fn admit_embryo(
        &mut self,
        e: Embryo,
        still_embryonic: impl Fn(&Embryo) -> bool,
    ) -> Option<Embryo> {
        let e = self.stamp(e);
        let mut victim = None;
        if self.embryos.is_bounded() && self.embryos.live() >= self.cfg.embryonic_max {
            victim = self.oldest_embryo(&still_embryonic);
        }
        self.compact_if_full(&still_embryonic);
        // Cannot fail: the FIFO holds twice the budget and at most the budget is live.
        let _ = self.embryos.push(e);
        victim
    }

    /// Sends embryonic connection `e` to the back of the FIFO (its client answered the
    /// handshake: see the module documentation); the handle it had is superseded. Counts
    /// nothing: `e` was, and stays, one embryonic connection.
    pub fn requeue_embryo(&mut self, e: Embryo, still_embryonic: impl Fn(&Embryo) -> bool) {
        if !self.embryos.is_bounded() {
            return;
        }
        self.compact_if_full(&still_embryonic);
        if self.embryos.is_full() {
            // Not after a compaction (at most the budget is live, the FIFO holds twice it); the
            // connection would keep its handle where it is.
            return;
        }
        let e = self.stamp(e);
        let _ = self.embryos.requeue(e);
    }

    /// `e` with the next generation of its slot, which makes it the slot's current handle.
    fn stamp(&mut self, mut e: Embryo) -> Embryo {
        if let Some(g) = self.gens.get_mut(e.id.index() as usize) {
            *g = g.wrapping_add(1);
            e.gen = *g;
        }
        e
    }

    /// Whether `e` is its slot's current handle.
    fn current(gens: &[u8], e: &Embryo) -> bool {
        gens.get(e.id.index() as usize).map_or(true, |&g| g == e.gen)
    }

    /// Drops every handle that is superseded or names no embryonic connection, when the FIFO
    /// is full of handles.
    fn compact_if_full(&mut self, still_embryonic: &impl Fn(&Embryo) -> bool) {
        if self.embryos.is_full() {
            let gens = &self.gens;
            self.embryos.retain(|e| Self::current(gens, e) && still_embryonic(e));
        }
    }

    /// The oldest embryonic connection, popped for the caller to evict (counted here) because
    /// the table or a share is full; stale handles on the way are discarded.
    pub fn oldest_embryo(&mut self, still_embryonic: impl Fn(&Embryo) -> bool) -> Option<Embryo> {
        while let Some(old) = self.embryos.pop_oldest() {
            if Self::current(&self.gens, &old) && still_embryonic(&old) {
                self.counters.embryonic_evicted += 1;
                return Some(old);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests;
