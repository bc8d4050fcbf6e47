//! The stack's only window on the outside world: transmit, allocate, drop.
//!
//! Owns the [`NetIo`] trait. The dataplane implements it over DPDK ports and the mbuf pool; tests
//! implement it over vectors. Nothing in `net` touches a port, a pool or a clock except through
//! this trait and the `now` it is given.

use super::counters::{DropReason, NetCounters};
use super::iface::IfaceTable;

/// What the stack needs from the worker to move packets.
pub trait NetIo<B> {
    /// Queues `pkt` for transmission on `port`. The packet is the worker's from now on (if the
    /// tx queue is full, the worker drops it and counts [`DropReason::TxFull`] itself).
    fn tx(&mut self, port: u16, pkt: B);
    /// A fresh empty buffer with the pool's usual headroom, or `None` if the pool is exhausted
    /// (the stack counts [`DropReason::NoMbuf`]).
    fn alloc(&mut self) -> Option<B>;
    /// Frees a packet the stack dropped. The stack has already counted the drop in its
    /// [`NetCounters`]; the worker frees it and may trace it, but must not count it again.
    fn drop_pkt(&mut self, pkt: B, reason: DropReason);
    /// Frees a packet the stack consumed normally (an ARP reply it learned from). The default
    /// just drops the value, which frees an mbuf through its `Drop`.
    fn free(&mut self, pkt: B) {
        drop(pkt);
    }
    /// Queues `pkt` (a whole Ethernet frame) for the host kernel's interface of `port`: the
    /// exception path. The stack has checked the port has one and counted the packet; if the
    /// interface's queue is full the worker drops it and counts that itself. The default frees it
    /// (an I/O without kernel interfaces).
    fn to_kernel(&mut self, port: u16, pkt: B) {
        let _ = port;
        drop(pkt);
    }
}

/// Counts `reason` and hands `pkt` to [`NetIo::drop_pkt`]: the one way the stack drops.
#[inline]
pub(crate) fn drop_counted<B>(
    counters: &mut NetCounters,
    io: &mut impl NetIo<B>,
    pkt: B,
    reason: DropReason,
) {
    counters.count_drop(reason);
    io.drop_pkt(pkt, reason);
}

/// What the ARP and neighbour code needs from the [`super::Stack`] around it: the interfaces,
/// the core's counters and the worker's I/O, borrowed for one call.
pub struct Ctx<'a, IO> {
    /// The interfaces (MACs, source addresses).
    pub ifaces: &'a IfaceTable,
    /// The core's counters.
    pub counters: &'a mut NetCounters,
    /// The worker's I/O.
    pub io: &'a mut IO,
}

impl<IO> Ctx<'_, IO> {
    /// Counts `reason` and drops `pkt` (see [`drop_counted`]).
    #[inline]
    pub(crate) fn drop<B>(&mut self, pkt: B, reason: DropReason)
    where
        IO: NetIo<B>,
    {
        drop_counted(self.counters, self.io, pkt, reason);
    }
}
