//! The FIFO of embryonic (SYN_RECV) connections of one core: bounded, allocation-free after
//! construction, oldest first.
//!
//! Owns handles only (the connection's id and client address and port, to tell a handle whose
//! slot was reused from the connection it named, and the generation the guard stamped it with,
//! to tell a handle superseded by a later one of the same connection) and the count of
//! connections now embryonic.
//! It never reads the table: the balancer pops the oldest handle, checks it against the table
//! and evicts or discards it. The invariant it keeps with the balancer: every embryonic
//! connection has a handle in the FIFO (pushed when it entered SYN_RECV); the guard sizes it
//! at twice its budget and evicts by the embryonic count (see [`super::Guard::admit_embryo`]).

use std::collections::VecDeque;
use std::net::Ipv4Addr;

use crate::ipvs::conn::ConnId;

/// A handle on a connection that entered SYN_RECV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Embryo {
    /// Its entry.
    pub id: ConnId,
    /// Its client address.
    pub caddr: Ipv4Addr,
    /// Its client port.
    pub cport: u16,
    /// Stamped by the guard when the handle is queued (give 0): only the connection's latest
    /// handle is current.
    pub gen: u8,
}

/// See the module documentation. A capacity of 0 means no budget: nothing is remembered and
/// [`EmbryonicFifo::push`] always succeeds.
#[derive(Debug)]
pub struct EmbryonicFifo {
    ring: VecDeque<Embryo>,
    cap: usize,
    live: u32,
}

impl EmbryonicFifo {
    /// A FIFO of at most `cap` handles (reserved now: the packet path never allocates).
    pub fn new(cap: u32) -> Self {
        EmbryonicFifo { ring: VecDeque::with_capacity(cap as usize), cap: cap as usize, live: 0 }
    }

    /// Whether there is a budget at all.
    pub fn is_bounded(&self) -> bool {
        self.cap > 0
    }

    /// Whether the FIFO holds as many handles as it can.
    pub fn is_full(&self) -> bool {
        self.cap > 0 && self.ring.len() >= self.cap
    }

    /// Keeps only the handles `keep` accepts, in order.
    pub fn retain(&mut self, keep: impl Fn(&Embryo) -> bool) {
        self.ring.retain(|e| keep(e));
    }

    /// Handles held (some may name connections that are no longer embryonic).
    pub fn len(&self) -> usize {
        self.ring.len()
    }

    /// Whether no handle is held.
    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }

    /// Connections embryonic now.
    pub fn live(&self) -> u32 {
        self.live
    }

    /// A connection entered SYN_RECV: remembers it and counts it, or returns `false` (and
    /// changes nothing) when the FIFO is full.
    pub fn push(&mut self, e: Embryo) -> bool {
        if self.cap == 0 {
            self.live = self.live.saturating_add(1);
            return true;
        }
        if self.ring.len() >= self.cap {
            return false;
        }
        self.ring.push_back(e);
        self.live = self.live.saturating_add(1);
        true
    }

    /// An embryonic connection's new handle, at the back (the one it had is superseded and
    /// skipped when met); nothing is counted. Returns `false` (and changes nothing) when the
    /// FIFO is full.
    pub fn requeue(&mut self, e: Embryo) -> bool {
        if self.cap == 0 || self.ring.len() >= self.cap {
            return false;
        }
        self.ring.push_back(e);
        true
    }

    /// A connection left SYN_RECV (another state, or out of the table). Its handle stays until
    /// popped.
    pub fn left(&mut self) {
        self.live = self.live.saturating_sub(1);
    }

    /// Takes the oldest handle.
    pub fn pop_oldest(&mut self) -> Option<Embryo> {
        self.ring.pop_front()
    }
}
