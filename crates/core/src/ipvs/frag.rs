//! The per-core fragment-follow table: how the rest of an IPv4 datagram goes where its first
//! fragment went.
//!
//! Owns [`FragTable`], [`FragKey`] and [`FragAction`]. Only the first fragment of a datagram
//! carries the transport header, so only it can be looked up in the connection table or
//! scheduled; the balancer then records here, keyed by (source, destination, protocol, IP
//! identification), what it did: the forwarding mode and [`XmitCtx`] it rewrote the first
//! fragment with, or the core it handed it to. The datagram's later fragments find that entry
//! and get the same decision with the IP-level rewrite only ([`crate::ipvs::xmit::forward_fragment`]).
//!
//! Bounded: a fixed number of entries, each living `timeout` from its first fragment, held in
//! a hash map reserved at construction (twice the bound, so inserting never reallocates) and a
//! ring of insertion order that expires the oldest first (every entry has the same lifetime).
//! Expiry is lazy, done by the inserts and lookups that meet it; no timer. This module parses
//! nothing and never touches a packet; it does not know connections.

use core::time::Duration;
use std::net::Ipv4Addr;

use hashbrown::HashMap;

use crate::ipvs::conn::FwdMethod;
use crate::ipvs::xmit::XmitCtx;
use crate::time::Instant;
use crate::wire::IpProtocol;

/// A datagram: the IPv4 fields that RFC 791 says identify its fragments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FragKey {
    src: u32,
    dst: u32,
    ident: u16,
    proto: IpProtocol,
}

impl FragKey {
    /// The key of the datagram from `src` to `dst` of protocol `proto` with identification
    /// `ident`.
    pub fn new(src: Ipv4Addr, dst: Ipv4Addr, proto: IpProtocol, ident: u16) -> Self {
        FragKey { src: u32::from(src), dst: u32::from(dst), ident, proto }
    }
}

/// What was done with a datagram's first fragment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FragAction {
    /// Rewritten by `fwd` with `ctx`: later fragments get the same mode and context.
    Forward {
        /// Forwarding mode.
        fwd: FwdMethod,
        /// The context the first fragment was rewritten with.
        ctx: XmitCtx,
    },
    /// Handed to another core: later fragments follow it there.
    Redirect {
        /// The core.
        core: usize,
    },
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    action: FragAction,
    expires: Instant,
    /// Insertion number; the ring slot that inserted it carries the same.
    seq: u32,
}

/// The table is full of live entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FragTableFull;

/// The per-core fragment-follow table. See the module documentation.
#[derive(Debug)]
pub struct FragTable {
    map: HashMap<FragKey, Entry>,
    /// Insertion order: (key, seq, expiry), oldest at `head`.
    ring: Box<[(FragKey, u32, Instant)]>,
    head: usize,
    len: usize,
    next_seq: u32,
    timeout: Duration,
}

impl FragTable {
    /// A table of at most `capacity` entries living `timeout` each (capacity at least 1).
    pub fn new(capacity: usize, timeout: Duration) -> Self {
        let capacity = capacity.max(1);
        let none = (
            FragKey::new(Ipv4Addr::UNSPECIFIED, Ipv4Addr::UNSPECIFIED, IpProtocol(0), 0),
            0,
            Instant::ZERO,
        );
        FragTable {
            map: HashMap::with_capacity(capacity.saturating_mul(2)),
            ring: vec![none; capacity].into_boxed_slice(),
            head: 0,
            len: 0,
            next_seq: 0,
            timeout,
        }
    }

    /// Live entries (expired ones not yet met are counted until they are).
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether there is no entry.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Drops the oldest entries whose time has come.
    fn expire(&mut self, now: Instant) {
        while self.len > 0 {
            let Some(&(key, seq, expires)) = self.ring.get(self.head) else { return };
            if now < expires {
                return;
            }
            if self.map.get(&key).is_some_and(|e| e.seq == seq) {
                self.map.remove(&key);
            }
            self.head = (self.head + 1) % self.ring.len();
            self.len -= 1;
        }
    }

    /// Whether an entry can be recorded at `now` (after expiring what is due).
    pub fn has_room(&mut self, now: Instant) -> bool {
        self.expire(now);
        self.len < self.ring.len()
    }

    /// Records `action` for the datagram `key` from `now` on (replacing an entry of the same
    /// key). Fails when the table is full of live entries.
    pub fn record(
        &mut self,
        key: FragKey,
        action: FragAction,
        now: Instant,
    ) -> Result<(), FragTableFull> {
        if !self.has_room(now) {
            return Err(FragTableFull);
        }
        let expires = now + self.timeout;
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        let tail = (self.head + self.len) % self.ring.len();
        if let Some(slot) = self.ring.get_mut(tail) {
            *slot = (key, seq, expires);
            self.len += 1;
        }
        self.map.insert(key, Entry { action, expires, seq });
        Ok(())
    }

    /// The action recorded for `key`, unless it expired.
    pub fn lookup(&mut self, key: &FragKey, now: Instant) -> Option<FragAction> {
        self.expire(now);
        self.map.get(key).filter(|e| now < e.expires).map(|e| e.action)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u16) -> FragKey {
        FragKey::new(Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2), IpProtocol::UDP, n)
    }
    const A: FragAction = FragAction::Redirect { core: 1 };
    const B: FragAction = FragAction::Redirect { core: 2 };
    fn at(ms: u64) -> Instant {
        Instant::from_micros(1_000_000 + ms * 1000)
    }

    #[test]
    fn entries_live_for_the_timeout() {
        let mut t = FragTable::new(4, Duration::from_secs(2));
        t.record(key(1), A, at(0)).unwrap();
        assert_eq!(t.lookup(&key(1), at(1999)), Some(A));
        assert_eq!(t.lookup(&key(2), at(0)), None, "another datagram");
        assert_eq!(
            t.lookup(
                &FragKey::new(
                    Ipv4Addr::new(10, 0, 0, 1),
                    Ipv4Addr::new(10, 0, 0, 2),
                    IpProtocol::TCP,
                    1
                ),
                at(0)
            ),
            None,
            "another protocol"
        );
        assert_eq!(t.lookup(&key(1), at(2000)), None, "expired");
        assert!(t.is_empty());
    }

    #[test]
    fn bounded_and_the_oldest_expires_first() {
        let mut t = FragTable::new(2, Duration::from_secs(2));
        t.record(key(1), A, at(0)).unwrap();
        t.record(key(2), A, at(500)).unwrap();
        assert_eq!(t.record(key(3), A, at(1000)), Err(FragTableFull));
        assert!(!t.has_room(at(1999)));
        // At 2 s the first is due: room for one.
        t.record(key(3), B, at(2000)).unwrap();
        assert_eq!(t.lookup(&key(1), at(2000)), None);
        assert_eq!(t.lookup(&key(2), at(2000)), Some(A));
        assert_eq!(t.lookup(&key(3), at(2000)), Some(B));
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn a_new_first_fragment_replaces_and_the_old_slot_does_not_remove_it() {
        let mut t = FragTable::new(3, Duration::from_secs(2));
        t.record(key(1), A, at(0)).unwrap();
        t.record(key(1), B, at(1000)).unwrap();
        assert_eq!(t.lookup(&key(1), at(1000)), Some(B));
        // The first slot expires at 2 s; the entry (from 1 s) lives to 3 s.
        assert_eq!(t.lookup(&key(1), at(2500)), Some(B));
        assert_eq!(t.lookup(&key(1), at(3000)), None);
    }

    #[test]
    fn many_rounds_never_grow() {
        let mut t = FragTable::new(8, Duration::from_millis(10));
        let cap = t.map.capacity();
        for i in 0..10_000u16 {
            let _ = t.record(key(i), A, at(u64::from(i)));
            assert!(t.len() <= 8);
        }
        assert_eq!(t.map.capacity(), cap, "no reallocation");
    }
}
