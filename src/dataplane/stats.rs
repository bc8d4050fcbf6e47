//! Per-core counters of the worker loop, and how they are published to readers.
//!
//! Owns [`LoopCounters`] (plain integers the worker bumps on its own core) and [`PublishedStats`]
//! (what the control plane and the metrics exporter read). Publishing follows DESIGN.md: one writer
//! per core, plain relaxed loads and stores, never a read-modify-write; readers sum across cores.
//! The worker publishes at a coarse interval, not per packet, so the hot path touches no shared
//! cache line at all.

use crate::net::{DropReason, NetCounters};
use core::sync::atomic::{AtomicU64, Ordering};

/// What the worker loop itself counts (the stack and the load balancer count their own events).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LoopCounters {
    /// Polls of all rx queues that returned at least one packet.
    pub busy_polls: u64,
    /// Polls that returned nothing.
    pub idle_polls: u64,
    /// Times the worker slept in idle backoff.
    pub sleeps: u64,
    /// Packets received.
    pub rx_packets: u64,
    /// Packets handed to the NIC.
    pub tx_packets: u64,
    /// Packets dropped because the NIC's tx ring stayed full.
    pub tx_dropped: u64,
    /// Packets for another core freed because no redirect ring is set up.
    pub redirect_dropped: u64,
}

/// A slot per counter; the layout is fixed so a reader can walk it by index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub enum LoopStat {
    /// See [`LoopCounters::busy_polls`].
    BusyPolls,
    /// See [`LoopCounters::idle_polls`].
    IdlePolls,
    /// See [`LoopCounters::sleeps`].
    Sleeps,
    /// See [`LoopCounters::rx_packets`].
    RxPackets,
    /// See [`LoopCounters::tx_packets`].
    TxPackets,
    /// See [`LoopCounters::tx_dropped`].
    TxDropped,
}

impl LoopStat {
    /// Every loop counter, in slot order.
    pub const ALL: [LoopStat; 6] = [
        Self::BusyPolls,
        Self::IdlePolls,
        Self::Sleeps,
        Self::RxPackets,
        Self::TxPackets,
        Self::TxDropped,
    ];

    /// The counter's value in `c`.
    pub fn get(self, c: &LoopCounters) -> u64 {
        match self {
            Self::BusyPolls => c.busy_polls,
            Self::IdlePolls => c.idle_polls,
            Self::Sleeps => c.sleeps,
            Self::RxPackets => c.rx_packets,
            Self::TxPackets => c.tx_packets,
            Self::TxDropped => c.tx_dropped,
        }
    }
}

/// Counters a worker publishes for readers on other threads.
///
/// Cache-line aligned so two workers' blocks never share a line. `N` is the number of slots.
#[repr(align(64))]
#[derive(Debug)]
pub struct Published<const N: usize> {
    slots: [AtomicU64; N],
}

impl<const N: usize> Default for Published<N> {
    fn default() -> Self {
        Published { slots: core::array::from_fn(|_| AtomicU64::new(0)) }
    }
}

impl<const N: usize> Published<N> {
    /// Stores `values` (single writer: plain stores, no read-modify-write).
    #[inline]
    pub fn store(&self, values: &[u64; N]) {
        for (slot, v) in self.slots.iter().zip(values) {
            slot.store(*v, Ordering::Relaxed);
        }
    }

    /// Stores one slot; out-of-range indices are ignored.
    #[inline]
    pub fn store_one(&self, idx: usize, v: u64) {
        if let Some(slot) = self.slots.get(idx) {
            slot.store(v, Ordering::Relaxed);
        }
    }

    /// Reads one slot; out-of-range indices read as zero.
    pub fn load(&self, idx: usize) -> u64 {
        self.slots.get(idx).map_or(0, |s| s.load(Ordering::Relaxed))
    }

    /// Reads every slot.
    pub fn load_all(&self) -> [u64; N] {
        core::array::from_fn(|i| self.slots[i].load(Ordering::Relaxed))
    }
}

/// A stack event counter exported by the worker: its slot, metric name and help.
pub struct NetEvent {
    /// Metric name (a counter).
    pub metric: &'static str,
    /// Help text.
    pub help: &'static str,
    get: fn(&NetCounters) -> u64,
}

/// The stack's event counters, in slot order (drops follow them, by [`DropReason::index`]).
pub const NET_EVENTS: [NetEvent; 7] = [
    NetEvent {
        metric: "rvs_net_arp_replies_total",
        help: "ARP requests for an owned address answered.",
        get: |c| c.arp_requests_answered,
    },
    NetEvent {
        metric: "rvs_net_arp_learned_total",
        help: "ARP packets whose sender was learned or refreshed.",
        get: |c| c.arp_learned,
    },
    NetEvent {
        metric: "rvs_net_gratuitous_arp_total",
        help: "Gratuitous ARP announcements sent.",
        get: |c| c.gratuitous_sent,
    },
    NetEvent {
        metric: "rvs_net_arp_requests_sent_total",
        help: "ARP requests sent to resolve next hops.",
        get: |c| c.arp_requests_sent,
    },
    NetEvent {
        metric: "rvs_net_echo_replies_total",
        help: "ICMP echo replies sent.",
        get: |c| c.echo_replies,
    },
    NetEvent {
        metric: "rvs_net_icmp_errors_sent_total",
        help: "ICMP error messages sent.",
        get: |c| c.icmp_errors_sent,
    },
    NetEvent {
        metric: "rvs_net_neigh_released_total",
        help: "Packets released from the neighbour queue after resolution.",
        get: |c| c.neigh_released,
    },
];

/// Slots of the stack's published block: events, then drops by reason.
pub const NET_SLOTS: usize = NET_EVENTS.len() + DropReason::COUNT;

/// The stack's counters laid out in slots.
pub fn net_slots(c: &NetCounters) -> [u64; NET_SLOTS] {
    core::array::from_fn(|i| match NET_EVENTS.get(i) {
        Some(e) => (e.get)(c),
        None => c.drops.get(i - NET_EVENTS.len()).copied().unwrap_or(0),
    })
}

/// Everything one worker core publishes.
#[derive(Debug, Default)]
pub struct CoreStats {
    /// The loop's own counters, by [`LoopStat`] slot.
    pub looping: Published<{ LoopStat::ALL.len() }>,
    /// The stack's counters, by [`net_slots`] slot.
    pub net: Published<NET_SLOTS>,
}

impl CoreStats {
    /// A loop counter.
    pub fn loop_stat(&self, s: LoopStat) -> u64 {
        self.looping.load(s as usize)
    }

    /// Drops counted for `reason`.
    pub fn drops(&self, reason: DropReason) -> u64 {
        self.net.load(NET_EVENTS.len() + reason.index())
    }

    /// A stack event counter, by its position in [`NET_EVENTS`].
    pub fn net_event(&self, idx: usize) -> u64 {
        if idx < NET_EVENTS.len() {
            self.net.load(idx)
        } else {
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_and_load_round_trip() {
        let p: Published<3> = Published::default();
        p.store(&[1, 2, 3]);
        assert_eq!(p.load_all(), [1, 2, 3]);
        p.store_one(1, 9);
        p.store_one(7, 9);
        assert_eq!(p.load(1), 9);
        assert_eq!(p.load(7), 0);
    }

    #[test]
    fn loop_stat_reads_each_field() {
        let c = LoopCounters {
            busy_polls: 1,
            idle_polls: 2,
            sleeps: 3,
            rx_packets: 4,
            tx_packets: 5,
            tx_dropped: 6,
            redirect_dropped: 7,
        };
        let v: Vec<u64> = LoopStat::ALL.iter().map(|s| s.get(&c)).collect();
        assert_eq!(v, vec![1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn net_slots_lay_out_events_then_drops() {
        let mut c = NetCounters { echo_replies: 7, ..Default::default() };
        c.count_drop(DropReason::Ipv4BadChecksum);
        c.count_drop(DropReason::Ipv4BadChecksum);
        let stats = CoreStats::default();
        stats.net.store(&net_slots(&c));
        assert_eq!(stats.net_event(4), 7);
        assert_eq!(NET_EVENTS[4].metric, "rvs_net_echo_replies_total");
        assert_eq!(stats.drops(DropReason::Ipv4BadChecksum), 2);
        assert_eq!(stats.drops(DropReason::EthTruncated), 0);
    }

    #[test]
    fn blocks_do_not_share_cache_lines() {
        assert_eq!(core::mem::align_of::<Published<2>>(), 64);
    }
}
