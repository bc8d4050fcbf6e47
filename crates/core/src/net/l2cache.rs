//! A connection's cached L2 header: where its packets in each direction left last time.
//!
//! Owns [`L2Cache`] (stored in every connection entry) and [`L2Hop`] (one direction's
//! destination MAC and output port). The stack fills and reads it in
//! [`super::Stack::send_ipv4_cached`]; the connection table only stores it and resets it when an
//! entry is reused. It must not know routes or neighbours itself: validity is one number, the
//! stack's L2 epoch ([`super::Stack::l2_epoch`]), which changes whenever a neighbour's MAC
//! changes, a neighbour entry goes away or becomes unresolved, or the routes are replaced. A
//! cache filled under another epoch is ignored, so the next packet takes the slow path (route
//! lookup + neighbour resolution) and refills it.
//!
//! The source MAC is not stored: it is the output port's, read from the interface table by
//! index when the header is written (the interface table never changes under a running stack).
//! One epoch covers both directions: filling a direction under a new epoch forgets the other.
//! A learnt neighbour whose lifetime ended is still used from a cache until the stack's next
//! `poll` collects it (which moves the epoch): at most one poll interval, a few milliseconds.
//! The epoch is a wrapping `u32`; a cache would be wrongly trusted only if exactly a multiple of
//! 2^32 neighbour changes happened between two packets of one connection.

use crate::wire::MacAddr;

/// Port number meaning "no hop cached".
const NO_PORT: u16 = u16::MAX;

/// One direction's next hop: the neighbour's MAC and the port it is reached on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct L2Hop {
    /// Destination MAC (the next hop's).
    pub dst: MacAddr,
    /// Output port.
    pub port: u16,
}

impl L2Hop {
    const NONE: L2Hop = L2Hop { dst: MacAddr([0; 6]), port: NO_PORT };
}

/// The cached L2 headers of one connection, one per direction, valid under one epoch.
/// 20 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct L2Cache {
    epoch: u32,
    hops: [L2Hop; 2],
}

impl Default for L2Cache {
    fn default() -> Self {
        L2Cache::EMPTY
    }
}

impl L2Cache {
    /// Nothing cached.
    pub const EMPTY: L2Cache = L2Cache { epoch: 0, hops: [L2Hop::NONE; 2] };

    /// The hop cached for direction `dir` (0: in, 1: out) if it was filled under `epoch`.
    #[inline]
    pub fn get(&self, dir: usize, epoch: u32) -> Option<L2Hop> {
        if self.epoch != epoch {
            return None;
        }
        self.hops.get(dir).copied().filter(|h| h.port != NO_PORT)
    }

    /// Records `hop` for direction `dir` under `epoch`; a hop of the other direction cached
    /// under an older epoch is forgotten.
    #[inline]
    pub fn set(&mut self, dir: usize, epoch: u32, hop: L2Hop) {
        if self.epoch != epoch {
            self.hops = [L2Hop::NONE; 2];
            self.epoch = epoch;
        }
        if let Some(h) = self.hops.get_mut(dir) {
            *h = hop;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: L2Hop = L2Hop { dst: MacAddr([0x52, 0, 0, 0, 0, 1]), port: 1 };
    const B: L2Hop = L2Hop { dst: MacAddr([0x52, 0, 0, 0, 0, 2]), port: 0 };

    #[test]
    fn empty_until_filled_and_only_under_its_epoch() {
        let mut c = L2Cache::EMPTY;
        assert_eq!(c.get(0, 0), None);
        assert_eq!(c.get(1, 0), None);
        c.set(0, 5, A);
        assert_eq!(c.get(0, 5), Some(A));
        assert_eq!(c.get(1, 5), None, "the other direction is not filled");
        assert_eq!(c.get(0, 6), None, "another epoch");
        assert_eq!(c.get(2, 5), None, "no such direction");
        c.set(1, 5, B);
        assert_eq!((c.get(0, 5), c.get(1, 5)), (Some(A), Some(B)));
    }

    #[test]
    fn a_new_epoch_forgets_the_other_direction() {
        let mut c = L2Cache::EMPTY;
        c.set(0, 1, A);
        c.set(1, 1, B);
        c.set(1, 2, A);
        assert_eq!(c.get(1, 2), Some(A));
        assert_eq!(c.get(0, 2), None, "direction 0 was learnt under epoch 1");
        assert_eq!(c.get(0, 1), None);
    }

    #[test]
    fn size() {
        assert_eq!(core::mem::size_of::<L2Cache>(), 20);
    }
}
