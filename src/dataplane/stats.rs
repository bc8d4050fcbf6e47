//! Per-core counters of the worker loop, and how they are published to readers.
//!
//! Owns [`LoopCounters`] (plain integers the worker bumps on its own core) and [`PublishedStats`]
//! (what the control plane and the metrics exporter read). Publishing follows DESIGN.md: one writer
//! per core, plain relaxed loads and stores, never a read-modify-write; readers sum across cores.
//! The worker publishes at a coarse interval, not per packet, so the hot path touches no shared
//! cache line at all.

use crate::ipvs::conn::ConnStats;
use crate::ipvs::counters::{IpvsCounters, IpvsDropReason};
use crate::net::{ClassCount, DropReason, ExcClass, ExceptionCounters, ExceptionDrop, NetCounters};
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
    /// Packets taken from other cores' rings (redirects and ARP copies).
    pub crossed_in: u64,
    /// ARP copies for other cores that could not be made or queued.
    pub arp_copies_lost: u64,
    /// Packets for another core dropped because its ring was full.
    pub redirects_lost: u64,
    /// The longest loop iteration since the worker started, in nanoseconds: the time from one
    /// iteration's start to the next one's (serving requests, polling, timers, publishing),
    /// idle-backoff sleeps excluded, at the clock's microsecond resolution. A maximum, not a
    /// counter: how long a packet can wait.
    pub longest_poll_ns: u64,
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
    /// See [`LoopCounters::crossed_in`].
    CrossedIn,
    /// See [`LoopCounters::arp_copies_lost`].
    ArpCopiesLost,
    /// See [`LoopCounters::redirects_lost`].
    RedirectsLost,
    /// See [`LoopCounters::longest_poll_ns`].
    LongestPollNs,
}

impl LoopStat {
    /// Every loop counter, in slot order.
    pub const ALL: [LoopStat; 10] = [
        Self::BusyPolls,
        Self::IdlePolls,
        Self::Sleeps,
        Self::RxPackets,
        Self::TxPackets,
        Self::TxDropped,
        Self::CrossedIn,
        Self::ArpCopiesLost,
        Self::RedirectsLost,
        Self::LongestPollNs,
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
            Self::CrossedIn => c.crossed_in,
            Self::ArpCopiesLost => c.arp_copies_lost,
            Self::RedirectsLost => c.redirects_lost,
            Self::LongestPollNs => c.longest_poll_ns,
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
pub const NET_EVENTS: [NetEvent; 31] = [
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
        metric: "rvs_net_icmp_errors_limited_total",
        help: "ICMP error messages not sent: the per-core rate limit was spent.",
        get: |c| c.icmp_errors_limited,
    },
    NetEvent {
        metric: "rvs_net_arp_off_link_total",
        help: "ARP packets whose sender is outside the port's connected prefixes: not learned.",
        get: |c| c.arp_off_link,
    },
    NetEvent {
        metric: "rvs_net_neigh_released_total",
        help: "Packets released from the neighbour queue after resolution.",
        get: |c| c.neigh_released,
    },
    NetEvent {
        metric: "rvs_net_neigh_evicted_total",
        help: "Learned neighbour entries removed, oldest first, for a next hop rvsd needs with the table full.",
        get: |c| c.neigh_evicted,
    },
    NetEvent {
        metric: "rvs_net_neigh_unconfirmed_learned_total",
        help: "Neighbour entries created STALE from a request for an owned address by an on-link host never resolved.",
        get: |c| c.neigh_unconfirmed_learned,
    },
    NetEvent {
        metric: "rvs_net_neigh_confirm_probes_total",
        help: "Unicast ARP probes sent to confirm a STALE neighbour entry rvsd used.",
        get: |c| c.neigh_confirm_probes,
    },
    NetEvent {
        metric: "rvs_net_neigh_confirm_limited_total",
        help: "STALE-entry confirmation probes deferred: the core's probe rate limit was spent.",
        get: |c| c.neigh_confirm_limited,
    },
    NetEvent {
        metric: "rvs_net_neigh_confirmed_total",
        help: "STALE neighbour entries confirmed by the host's reply to a probe.",
        get: |c| c.neigh_confirmed,
    },
    NetEvent {
        metric: "rvs_net_neigh_confirm_failed_total",
        help: "STALE neighbour entries removed: every confirmation probe went unanswered.",
        get: |c| c.neigh_confirm_failed,
    },
    NetEvent {
        metric: "rvs_net_neigh_not_learned_full_total",
        help: "ARP senders not learned: the neighbour table is full of confirmed, static or incomplete entries.",
        get: |c| c.neigh_not_learned_full,
    },
    NetEvent {
        metric: "rvs_net_arp_rate_limited_total",
        help: "ARP packets not processed: the core's ARP rate limit was spent (replies to rvsd's own requests are exempt).",
        get: |c| c.arp_rate_limited,
    },
    NetEvent {
        metric: "rvs_net_l2_cache_hits_total",
        help: "Connection packets sent with the connection's cached L2 header.",
        get: |c| c.l2_cache_hits,
    },
    NetEvent {
        metric: "rvs_net_l2_cache_misses_total",
        help: "Connection packets that had to route and resolve their next hop.",
        get: |c| c.l2_cache_misses,
    },
    NetEvent {
        metric: "rvs_net_echo6_replies_total",
        help: "ICMPv6 echo replies sent.",
        get: |c| c.echo6_replies,
    },
    NetEvent {
        metric: "rvs_net_icmp6_errors_sent_total",
        help: "ICMPv6 error messages sent.",
        get: |c| c.icmp6_errors_sent,
    },
    NetEvent {
        metric: "rvs_net_icmp6_errors_limited_total",
        help: "ICMPv6 error messages not sent: the per-core ICMP error budget (shared with IPv4) was spent.",
        get: |c| c.icmp6_errors_limited,
    },
    NetEvent {
        metric: "rvs_net_nd_solicitations_answered_total",
        help: "IPv6 neighbour solicitations for an owned address answered with an advertisement.",
        get: |c| c.nd.ns_answered,
    },
    NetEvent {
        metric: "rvs_net_nd_na_announced_total",
        help: "Unsolicited IPv6 neighbour advertisements sent (an address became usable, or defended against another node's DAD).",
        get: |c| c.nd.na_announced,
    },
    NetEvent {
        metric: "rvs_net_nd_dad_sent_total",
        help: "Duplicate address detection probes sent.",
        get: |c| c.nd.dad_sent,
    },
    NetEvent {
        metric: "rvs_net_nd_dad_conflicts_total",
        help: "Owned IPv6 addresses found duplicate by DAD: never used.",
        get: |c| c.nd.dad_conflicts,
    },
    NetEvent {
        metric: "rvs_net_nd_conflicts_total",
        help: "Neighbour advertisements from another node for an IPv6 address in use here.",
        get: |c| c.nd.conflicts,
    },
    NetEvent {
        metric: "rvs_net_nd_learned_total",
        help: "IPv6 neighbour entries created or refreshed by neighbour discovery.",
        get: |c| c.nd.learned,
    },
    NetEvent {
        metric: "rvs_net_nd_off_link_total",
        help: "ND senders outside every prefix of the port and not link-local: not learned.",
        get: |c| c.nd.off_link,
    },
    NetEvent {
        metric: "rvs_net_nd_rate_limited_total",
        help: "ND frames not processed: the core's ND rate limit was spent (answers to rvsd's own solicitations are exempt).",
        get: |c| c.nd.rate_limited,
    },
    NetEvent {
        metric: "rvs_net_nd_router_ignored_total",
        help: "Router solicitations, advertisements and redirects ignored (rvsd neither routes nor autoconfigures).",
        get: |c| c.nd.router_ignored,
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

/// A load-balancer counter exported by the worker: metric name, help, how to read it.
pub struct LbEvent {
    /// Metric name.
    pub metric: &'static str,
    /// Help text.
    pub help: &'static str,
    /// Whether it is a gauge (a level) rather than a counter.
    pub gauge: bool,
    get: fn(&IpvsCounters, &ConnStats, u32) -> u64,
}

/// The balancer's counters, in slot order (drops by [`IpvsDropReason`] follow them).
pub const LB_EVENTS: [LbEvent; 34] = [
    LbEvent {
        metric: "rvs_lb_conns_created_total",
        help: "Connections created.",
        gauge: false,
        get: |c, _, _| c.conns_created,
    },
    LbEvent {
        metric: "rvs_lb_templates_created_total",
        help: "Persistence templates created.",
        gauge: false,
        get: |c, _, _| c.templates_created,
    },
    LbEvent {
        metric: "rvs_lb_forwarded_total",
        help: "Packets forwarded by the load balancer.",
        gauge: false,
        get: |c, _, _| c.forwarded,
    },
    LbEvent {
        metric: "rvs_lb_resets_sent_total",
        help: "TCP resets sent when no dest was available.",
        gauge: false,
        get: |c, _, _| c.resets_sent,
    },
    LbEvent {
        metric: "rvs_lb_icmp_forwarded_total",
        help: "ICMP errors about a connection translated and forwarded.",
        gauge: false,
        get: |c, _, _| c.icmp_forwarded,
    },
    LbEvent {
        metric: "rvs_lb_redirected_total",
        help: "Packets handed to the core that owns their connection.",
        gauge: false,
        get: |c, _, _| c.redirected,
    },
    LbEvent {
        metric: "rvs_lb_redirect_received_total",
        help: "Packets received from another core.",
        gauge: false,
        get: |c, _, _| c.redirect_received,
    },
    LbEvent {
        metric: "rvs_lb_flushed_total",
        help: "Connections of removed dests ended by a flush.",
        gauge: false,
        get: |c, _, _| c.flushed,
    },
    LbEvent {
        metric: "rvs_conn_table_entries",
        help: "Live entries of the connection table (connections and templates).",
        gauge: true,
        get: |_, _, n| u64::from(n),
    },
    LbEvent {
        metric: "rvs_conn_lookups_hit_total",
        help: "Connection lookups that found an entry.",
        gauge: false,
        get: |_, t, _| t.hits,
    },
    LbEvent {
        metric: "rvs_conn_lookups_miss_total",
        help: "Connection lookups that found nothing.",
        gauge: false,
        get: |_, t, _| t.misses,
    },
    LbEvent {
        metric: "rvs_conn_expired_total",
        help: "Connection table entries expired.",
        gauge: false,
        get: |_, t, _| t.expired,
    },
    LbEvent {
        metric: "rvs_conn_evicted_total",
        help: "Dead entries reclaimed by an insert.",
        gauge: false,
        get: |_, t, _| t.evicted,
    },
    LbEvent {
        metric: "rvs_conn_table_full_total",
        help: "Inserts refused: the table was full.",
        gauge: false,
        get: |_, t, _| t.table_full,
    },
    LbEvent {
        metric: "rvs_lb_fragments_followed_total",
        help: "Non-first IP fragments forwarded as their first fragment was.",
        gauge: false,
        get: |c, _, _| c.frags_followed,
    },
    LbEvent {
        metric: "rvs_laddr_port_conflicts_total",
        help: "Local ports passed over because another service's live connection holds that tuple.",
        gauge: false,
        get: |c, _, _| c.local_port_conflicts,
    },
    LbEvent {
        metric: "rvs_lb_embryonic_conns",
        help: "TCP connections in SYN_RECV (the guard's embryonic budget in use).",
        gauge: true,
        get: |c, _, _| c.embryonic,
    },
    LbEvent {
        metric: "rvs_lb_embryonic_evicted_total",
        help: "Embryonic connections evicted, oldest first, to make room (budget, table or share full).",
        gauge: false,
        get: |c, _, _| c.guard.embryonic_evicted,
    },
    LbEvent {
        metric: "rvs_lb_syn_pressure_entered_total",
        help: "Times half the embryonic budget was reached and SYN_RECV timeouts were shortened.",
        gauge: false,
        get: |c, _, _| c.guard.pressure_entered,
    },
    LbEvent {
        metric: "rvs_lb_bare_acks_held_total",
        help: "DR/TUN handshake ACKs without data that did not make their connection ESTABLISHED.",
        gauge: false,
        get: |c, _, _| c.guard.bare_acks_held,
    },
    LbEvent {
        metric: "rvs_lb_resets_limited_total",
        help: "TCP resets not sent for SYNs with no dest: the per-core rate limit was spent.",
        gauge: false,
        get: |c, _, _| c.guard.resets_limited,
    },
    LbEvent {
        metric: "rvs_laddr_reset_releases_total",
        help: "FULLNAT/SNAT connections ended at once by a reset, their local port released.",
        gauge: false,
        get: |c, _, _| c.guard.reset_releases,
    },
    LbEvent {
        metric: "rvs_synproxy_cookies_sent_total",
        help: "SYN proxy: cookie SYN-ACKs sent.",
        gauge: false,
        get: |c, _, _| c.synproxy.cookies_sent,
    },
    LbEvent {
        metric: "rvs_synproxy_synack_rate_limited_total",
        help: "SYN proxy: SYNs not answered, the core's SYN-ACK bucket was empty.",
        gauge: false,
        get: |c, _, _| c.synproxy.synack_rate_limited,
    },
    LbEvent {
        metric: "rvs_synproxy_ack_valid_total",
        help: "SYN proxy: ACKs with a valid cookie (connections opened toward a real server).",
        gauge: false,
        get: |c, _, _| c.synproxy.ack_valid,
    },
    LbEvent {
        metric: "rvs_synproxy_ack_invalid_total",
        help: "SYN proxy: ACKs of no connection with a forged or stale cookie.",
        gauge: false,
        get: |c, _, _| c.synproxy.ack_invalid,
    },
    LbEvent {
        metric: "rvs_synproxy_conns_total",
        help: "SYN proxy: connections whose real server completed the handshake.",
        gauge: false,
        get: |c, _, _| c.synproxy.conns_proxied,
    },
    LbEvent {
        metric: "rvs_synproxy_syn_retransmits_total",
        help: "SYN proxy: SYNs sent again to a real server on a retransmitted ACK.",
        gauge: false,
        get: |c, _, _| c.synproxy.syn_retransmits,
    },
    LbEvent {
        metric: "rvs_synproxy_data_held_total",
        help: "SYN proxy: client data held until the real server answered.",
        gauge: false,
        get: |c, _, _| c.synproxy.data_held,
    },
    LbEvent {
        metric: "rvs_synproxy_pending_drops_total",
        help: "SYN proxy: client segments dropped while the server handshake was in progress.",
        gauge: false,
        get: |c, _, _| c.synproxy.pending_drops,
    },
    LbEvent {
        metric: "rvs_synproxy_pending_full_total",
        help: "SYN proxy: valid ACKs refused, too many server handshakes in progress.",
        gauge: false,
        get: |c, _, _| c.synproxy.pending_full,
    },
    LbEvent {
        metric: "rvs_synproxy_server_timeouts_total",
        help: "SYN proxy: connections ended, the real server never answered.",
        gauge: false,
        get: |c, _, _| c.synproxy.server_timeouts,
    },
    LbEvent {
        metric: "rvs_synproxy_server_resets_total",
        help: "SYN proxy: real servers that reset the proxied SYN.",
        gauge: false,
        get: |c, _, _| c.synproxy.server_resets,
    },
    LbEvent {
        metric: "rvs_lb_source_rate_evicted_total",
        help: "Clients evicted from the per-source rate table while their bucket was not full (size: docs/hardening/limits.md).",
        gauge: false,
        get: |c, _, _| c.source_rate_evicted,
    },
];

/// Slots of the balancer's published block: events, then drops by reason.
pub const LB_SLOTS: usize = LB_EVENTS.len() + IpvsDropReason::COUNT;

/// The balancer's counters laid out in slots.
pub fn lb_slots(c: &IpvsCounters, t: &ConnStats, entries: u32) -> [u64; LB_SLOTS] {
    core::array::from_fn(|i| match LB_EVENTS.get(i) {
        Some(e) => (e.get)(c, t, entries),
        None => c.drops.get(i - LB_EVENTS.len()).copied().unwrap_or(0),
    })
}

/// Everything one worker core publishes.
#[derive(Debug, Default)]
pub struct CoreStats {
    /// The loop's own counters, by [`LoopStat`] slot.
    pub looping: Published<{ LoopStat::ALL.len() }>,
    /// The stack's counters, by [`net_slots`] slot.
    pub net: Published<NET_SLOTS>,
    /// The balancer's counters, by [`lb_slots`] slot.
    pub lb: Published<LB_SLOTS>,
    /// The exception path's counters, by [`exception_slots`] slot.
    pub exception: Published<EXCEPTION_SLOTS>,
    /// The exception path's per (port, class) counts, by [`exception_class_slots`] slot.
    pub exception_classes: Box<Published<EXCEPTION_CLASS_SLOTS>>,
    /// The same for what the kernel sends out of each port, by [`exception_class_slots`] slot.
    pub exception_classes_from_kernel: Box<Published<EXCEPTION_CLASS_SLOTS>>,
    /// The worker's heartbeat (beats with every publication), read by the liveness monitor.
    pub heartbeat: super::heartbeat::Heartbeat,
    /// Mbufs of the packet pool in use (all workers share the pool), at the last publication.
    pub pool_in_use: std::sync::atomic::AtomicU64,
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

    /// A balancer counter, by its position in [`LB_EVENTS`].
    pub fn lb_event(&self, idx: usize) -> u64 {
        if idx < LB_EVENTS.len() {
            self.lb.load(idx)
        } else {
            0
        }
    }

    /// Balancer drops counted for `reason`.
    pub fn lb_drops(&self, reason: IpvsDropReason) -> u64 {
        self.lb.load(LB_EVENTS.len() + reason as usize)
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

/// An exception-path counter: metric name, help, how to read it.
pub struct ExceptionEvent {
    /// Metric name (a counter).
    pub metric: &'static str,
    /// Help text.
    pub help: &'static str,
    get: fn(&ExceptionCounters) -> u64,
}

/// The exception path's counters, in slot order (drops by [`ExceptionDrop`] follow them).
pub const EXCEPTION_EVENTS: [ExceptionEvent; 4] = [
    ExceptionEvent {
        metric: "rvs_exception_to_kernel_packets_total",
        help: "Packets handed to the kernel interfaces (exception path).",
        get: |c| c.to_kernel_packets,
    },
    ExceptionEvent {
        metric: "rvs_exception_to_kernel_bytes_total",
        help: "Bytes handed to the kernel interfaces.",
        get: |c| c.to_kernel_bytes,
    },
    ExceptionEvent {
        metric: "rvs_exception_from_kernel_packets_total",
        help: "Packets the kernel sent on its interfaces, sent out of the ports.",
        get: |c| c.from_kernel_packets,
    },
    ExceptionEvent {
        metric: "rvs_exception_from_kernel_bytes_total",
        help: "Bytes the kernel sent on its interfaces.",
        get: |c| c.from_kernel_bytes,
    },
];

/// Slots of the exception path's published block.
pub const EXCEPTION_SLOTS: usize = EXCEPTION_EVENTS.len() + ExceptionDrop::COUNT;

/// The exception path's counters laid out in slots.
pub fn exception_slots(c: &ExceptionCounters) -> [u64; EXCEPTION_SLOTS] {
    core::array::from_fn(|i| match EXCEPTION_EVENTS.get(i) {
        Some(e) => (e.get)(c),
        None => c.drops.get(i - EXCEPTION_EVENTS.len()).copied().unwrap_or(0),
    })
}

/// Ports whose per-class exception counts are published (the config's limit on ports).
pub const EXCEPTION_CLASS_PORTS: usize = 32;
/// Slots of the per (port, class) block: for each port, for each class, passed then limited.
pub const EXCEPTION_CLASS_SLOTS: usize = EXCEPTION_CLASS_PORTS * ExcClass::COUNT * 2;

/// The per (port, class) counts laid out in slots (ports beyond [`EXCEPTION_CLASS_PORTS`] are
/// left out).
pub fn exception_class_slots(
    counts: &[[ClassCount; ExcClass::COUNT]],
) -> [u64; EXCEPTION_CLASS_SLOTS] {
    let mut out = [0u64; EXCEPTION_CLASS_SLOTS];
    for (p, classes) in counts.iter().take(EXCEPTION_CLASS_PORTS).enumerate() {
        for (c, n) in classes.iter().enumerate() {
            let i = (p * ExcClass::COUNT + c) * 2;
            if let Some(s) = out.get_mut(i..i + 2) {
                s.copy_from_slice(&[n.passed, n.limited]);
            }
        }
    }
    out
}

impl CoreStats {
    /// Packets of (`port`, `class`) the exception path let through and refused.
    pub fn exception_class(&self, port: usize, class: ExcClass) -> (u64, u64) {
        let i = (port * ExcClass::COUNT + class as usize) * 2;
        (self.exception_classes.load(i), self.exception_classes.load(i + 1))
    }

    /// Packets of (`port`, `class`) that the kernel sent, let through and refused.
    pub fn exception_class_from_kernel(&self, port: usize, class: ExcClass) -> (u64, u64) {
        let i = (port * ExcClass::COUNT + class as usize) * 2;
        let p = &self.exception_classes_from_kernel;
        (p.load(i), p.load(i + 1))
    }
}

impl CoreStats {
    /// An exception-path counter, by its position in [`EXCEPTION_EVENTS`].
    pub fn exception_event(&self, idx: usize) -> u64 {
        if idx < EXCEPTION_EVENTS.len() {
            self.exception.load(idx)
        } else {
            0
        }
    }

    /// Exception-path drops counted for `reason`.
    pub fn exception_drops(&self, reason: ExceptionDrop) -> u64 {
        self.exception.load(EXCEPTION_EVENTS.len() + reason as usize)
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
            crossed_in: 7,
            arp_copies_lost: 8,
            redirects_lost: 9,
            longest_poll_ns: 10,
        };
        let v: Vec<u64> = LoopStat::ALL.iter().map(|s| s.get(&c)).collect();
        assert_eq!(v, vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
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
    fn lb_slots_lay_out_events_then_drops() {
        let mut c = IpvsCounters { conns_created: 3, redirected: 5, ..Default::default() };
        c.count_drop(IpvsDropReason::NoDest);
        let t = ConnStats { hits: 11, table_full: 2, ..Default::default() };
        let stats = CoreStats::default();
        stats.lb.store(&lb_slots(&c, &t, 42));
        let by_name =
            |m: &str| LB_EVENTS.iter().position(|e| e.metric == m).map(|i| stats.lb_event(i));
        assert_eq!(by_name("rvs_lb_conns_created_total"), Some(3));
        assert_eq!(by_name("rvs_lb_redirected_total"), Some(5));
        assert_eq!(by_name("rvs_conn_table_entries"), Some(42));
        assert_eq!(by_name("rvs_conn_lookups_hit_total"), Some(11));
        assert_eq!(by_name("rvs_conn_table_full_total"), Some(2));
        assert_eq!(stats.lb_drops(IpvsDropReason::NoDest), 1);
        assert_eq!(stats.lb_drops(IpvsDropReason::NoService), 0);
    }

    #[test]
    fn exception_slots_lay_out_events_then_drops() {
        let mut c = ExceptionCounters {
            to_kernel_packets: 3,
            from_kernel_bytes: 900,
            ..Default::default()
        };
        c.count_drop(ExceptionDrop::KernelQueueFull);
        let stats = CoreStats::default();
        stats.exception.store(&exception_slots(&c));
        assert_eq!(stats.exception_event(0), 3);
        assert_eq!(EXCEPTION_EVENTS[0].metric, "rvs_exception_to_kernel_packets_total");
        assert_eq!(stats.exception_event(3), 900);
        assert_eq!(stats.exception_drops(ExceptionDrop::KernelQueueFull), 1);
        assert_eq!(stats.exception_drops(ExceptionDrop::RateLimited), 0);
    }

    #[test]
    fn blocks_do_not_share_cache_lines() {
        assert_eq!(core::mem::align_of::<Published<2>>(), 64);
    }
}
