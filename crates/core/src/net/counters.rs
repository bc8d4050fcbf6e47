//! Per-core counters of the director's L2/L3 duties and the reasons a packet is dropped.
//!
//! Owns [`DropReason`] (the closed list of drop causes, shared with the dataplane and `ipvs`, whose
//! snake_case names are Prometheus label values and part of the lab tests' contract) and
//! [`NetCounters`] (plain `u64`s, one writer: the core's [`super::Stack`]). The dataplane copies
//! them out to the metrics exporter; nothing here is atomic or shared.

/// Why a packet was dropped. The names (see [`DropReason::name`]) are stable: they are metric
/// label values that dashboards and the lab tests match on.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DropReason {
    /// Frame shorter than an Ethernet header.
    EthTruncated,
    /// Unicast frame addressed to another station's MAC (port in promiscuous mode).
    EthOtherHost,
    /// EtherType the director does not handle (IPv6 too when it has no IPv6 address).
    UnknownEthertype,
    /// 802.1Q / 802.1ad tagged frame: VLANs are not supported.
    VlanUnsupported,
    /// ARP packet too short or not Ethernet/IPv4, or an unknown operation.
    ArpMalformed,
    /// ARP request or reply that concerns none of our addresses on that port.
    ArpNotForUs,
    /// IPv4 packet shorter than its header.
    Ipv4Truncated,
    /// IP version field is not 4.
    Ipv4BadVersion,
    /// IPv4 header length below 20 bytes or beyond the packet.
    Ipv4BadIhl,
    /// IPv4 total length below the header length or beyond the frame.
    Ipv4BadLength,
    /// IPv4 header checksum does not verify.
    Ipv4BadChecksum,
    /// Source address that can never be a sender (multicast, broadcast, unspecified, loopback).
    Ipv4BadSource,
    /// TTL reached zero on the forwarding path.
    Ipv4TtlExpired,
    /// IPv4 fragment where only whole datagrams are handled.
    Ipv4Fragment,
    /// ICMP message shorter than its 8-byte header.
    IcmpMalformed,
    /// ICMP checksum over the whole message does not verify.
    IcmpBadChecksum,
    /// ICMP type the director does not answer.
    IcmpUnsupported,
    /// IPv4 packet for an address the director does not own and does not forward.
    NotForUs,
    /// Packet for a VIP/local address with no virtual service on that protocol and port.
    NoService,
    /// No route to the destination.
    NoRoute,
    /// Neighbour resolution failed (no ARP reply after all probes).
    NeighUnresolved,
    /// The queue of packets waiting for a neighbour is full (per neighbour or in total).
    NeighQueueFull,
    /// The neighbour table is full of entries that have not expired yet.
    NeighTableFull,
    /// The packet pool had no buffer left.
    NoMbuf,
    /// The transmit queue refused the packet.
    TxFull,
    /// Packet for a VIP this director holds in standby (director HA: the other director is
    /// master; a neighbour's ARP cache still names this one).
    VipStandby,
    /// IPv6 packet shorter than its header or its payload length, or whose extension headers
    /// do not walk (malformed, too many, a routing header the director refuses).
    Ipv6Malformed,
    /// IPv6 source that can never be a sender (multicast, loopback; unspecified outside DAD).
    Ipv6BadSource,
    /// IPv6 fragment for the director's own address, where only whole packets are handled.
    Ipv6Fragment,
}

impl DropReason {
    /// Number of reasons; the length of [`NetCounters::drops`].
    pub const COUNT: usize = 29;

    /// Every reason, in discriminant order (`ALL[r as usize] == r`).
    pub const ALL: [DropReason; DropReason::COUNT] = [
        DropReason::EthTruncated,
        DropReason::EthOtherHost,
        DropReason::UnknownEthertype,
        DropReason::VlanUnsupported,
        DropReason::ArpMalformed,
        DropReason::ArpNotForUs,
        DropReason::Ipv4Truncated,
        DropReason::Ipv4BadVersion,
        DropReason::Ipv4BadIhl,
        DropReason::Ipv4BadLength,
        DropReason::Ipv4BadChecksum,
        DropReason::Ipv4BadSource,
        DropReason::Ipv4TtlExpired,
        DropReason::Ipv4Fragment,
        DropReason::IcmpMalformed,
        DropReason::IcmpBadChecksum,
        DropReason::IcmpUnsupported,
        DropReason::NotForUs,
        DropReason::NoService,
        DropReason::NoRoute,
        DropReason::NeighUnresolved,
        DropReason::NeighQueueFull,
        DropReason::NeighTableFull,
        DropReason::NoMbuf,
        DropReason::TxFull,
        DropReason::VipStandby,
        DropReason::Ipv6Malformed,
        DropReason::Ipv6BadSource,
        DropReason::Ipv6Fragment,
    ];

    /// The snake_case name used as the Prometheus `reason` label.
    pub const fn name(self) -> &'static str {
        match self {
            DropReason::EthTruncated => "eth_truncated",
            DropReason::EthOtherHost => "eth_other_host",
            DropReason::UnknownEthertype => "unknown_ethertype",
            DropReason::VlanUnsupported => "vlan_unsupported",
            DropReason::ArpMalformed => "arp_malformed",
            DropReason::ArpNotForUs => "arp_not_for_us",
            DropReason::Ipv4Truncated => "ipv4_truncated",
            DropReason::Ipv4BadVersion => "ipv4_bad_version",
            DropReason::Ipv4BadIhl => "ipv4_bad_ihl",
            DropReason::Ipv4BadLength => "ipv4_bad_length",
            DropReason::Ipv4BadChecksum => "ipv4_bad_checksum",
            DropReason::Ipv4BadSource => "ipv4_bad_source",
            DropReason::Ipv4TtlExpired => "ipv4_ttl_expired",
            DropReason::Ipv4Fragment => "ipv4_fragment",
            DropReason::IcmpMalformed => "icmp_malformed",
            DropReason::IcmpBadChecksum => "icmp_bad_checksum",
            DropReason::IcmpUnsupported => "icmp_unsupported",
            DropReason::NotForUs => "not_for_us",
            DropReason::NoService => "no_service",
            DropReason::NoRoute => "no_route",
            DropReason::NeighUnresolved => "neigh_unresolved",
            DropReason::NeighQueueFull => "neigh_queue_full",
            DropReason::NeighTableFull => "neigh_table_full",
            DropReason::NoMbuf => "no_mbuf",
            DropReason::TxFull => "tx_full",
            DropReason::VipStandby => "vip_standby",
            DropReason::Ipv6Malformed => "ipv6_malformed",
            DropReason::Ipv6BadSource => "ipv6_bad_source",
            DropReason::Ipv6Fragment => "ipv6_fragment",
        }
    }

    /// Index into [`NetCounters::drops`].
    pub const fn index(self) -> usize {
        self as usize
    }
}

impl core::fmt::Display for DropReason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// Counters of one core's [`super::Stack`]. Single writer; the dataplane reads and publishes them.
///
/// `drops` counts every packet the stack itself hands to
/// [`NetIo::drop_pkt`](super::NetIo::drop_pkt), plus buffers it could not get ([`DropReason::NoMbuf`]).
/// The dataplane should count there only the drops it decides itself (see [`NetCounters::count_drop`]),
/// never again those the stack reports through `drop_pkt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetCounters {
    /// ARP requests for an owned address answered with a reply.
    pub arp_requests_answered: u64,
    /// ARP packets (requests or replies) whose sender was learned or refreshed.
    pub arp_learned: u64,
    /// Gratuitous ARP requests sent.
    pub gratuitous_sent: u64,
    /// ARP requests sent to resolve a neighbour (every probe counts).
    pub arp_requests_sent: u64,
    /// ICMP echo replies sent.
    pub echo_replies: u64,
    /// ICMP error messages built and handed to the send path.
    pub icmp_errors_sent: u64,
    /// ICMP error messages not sent: the core's rate limit was spent.
    pub icmp_errors_limited: u64,
    /// ARP packets whose sender is outside every connected prefix of the receiving port: not
    /// learned (a spoofed sender cannot fill the neighbour table).
    pub arp_off_link: u64,
    /// Packets released from the neighbour queue once their next hop resolved.
    pub neigh_released: u64,
    /// Learned neighbour entries removed, oldest first, to make room for a next hop the
    /// director needs with the table full.
    pub neigh_evicted: u64,
    /// Neighbour entries created unconfirmed ([`super::NeighState::Stale`]) from ARP the
    /// director did not ask for (a request for one of our addresses from an on-link host).
    pub neigh_unconfirmed_learned: u64,
    /// ARP from an on-link host that would have created an entry, not learned: the table is
    /// full of confirmed, static or incomplete entries.
    pub neigh_not_learned_full: u64,
    /// ARP packets this core did not process: its ARP rate limit was spent (replies to the
    /// director's own requests are exempt).
    pub arp_rate_limited: u64,
    /// Unicast ARP requests sent to confirm a [`super::NeighState::Stale`] entry the director
    /// used (to the MAC it holds, as Linux's PROBE state).
    pub neigh_confirm_probes: u64,
    /// Confirmation probes not sent (deferred): the core's probe rate limit was spent.
    pub neigh_confirm_limited: u64,
    /// Stale entries confirmed by the host's reply while the director was probing them.
    pub neigh_confirmed: u64,
    /// Stale entries removed because every confirmation probe went unanswered (the next packet
    /// resolves the host afresh, by broadcast).
    pub neigh_confirm_failed: u64,
    /// Drops by reason, indexed by [`DropReason::index`].
    pub drops: [u64; DropReason::COUNT],
    /// Connection packets sent with the connection's cached L2 header (no route or
    /// neighbour lookup).
    pub l2_cache_hits: u64,
    /// Connection packets that had to route and resolve (no cache yet, or the L2 epoch
    /// changed); a resolved next hop refills the cache.
    pub l2_cache_misses: u64,
    /// ICMPv6 echo replies sent.
    pub echo6_replies: u64,
    /// ICMPv6 error messages built and handed to the send path.
    pub icmp6_errors_sent: u64,
    /// ICMPv6 error messages not sent: the core's ICMP-error budget (shared with IPv4) was spent.
    pub icmp6_errors_limited: u64,
    /// IPv6 neighbour discovery's counters (a copy of [`super::nd::Nd::counters`]).
    pub nd: super::nd::NdCounters,
}

impl Default for NetCounters {
    fn default() -> Self {
        NetCounters {
            arp_requests_answered: 0,
            arp_learned: 0,
            gratuitous_sent: 0,
            arp_requests_sent: 0,
            echo_replies: 0,
            icmp_errors_sent: 0,
            icmp_errors_limited: 0,
            arp_off_link: 0,
            neigh_released: 0,
            neigh_evicted: 0,
            neigh_unconfirmed_learned: 0,
            neigh_not_learned_full: 0,
            arp_rate_limited: 0,
            neigh_confirm_probes: 0,
            neigh_confirm_limited: 0,
            neigh_confirmed: 0,
            neigh_confirm_failed: 0,
            drops: [0; DropReason::COUNT],
            l2_cache_hits: 0,
            l2_cache_misses: 0,
            echo6_replies: 0,
            icmp6_errors_sent: 0,
            icmp6_errors_limited: 0,
            nd: super::nd::NdCounters::default(),
        }
    }
}

impl NetCounters {
    /// Counts one drop for `reason`.
    #[inline]
    pub fn count_drop(&mut self, reason: DropReason) {
        // Indexing by a `#[repr(u8)]` discriminant below COUNT cannot fail; `get_mut` keeps that
        // provable without a panic path.
        if let Some(c) = self.drops.get_mut(reason.index()) {
            *c = c.wrapping_add(1);
        }
    }

    /// Drops counted for `reason`.
    pub fn drop_count(&self, reason: DropReason) -> u64 {
        self.drops.get(reason.index()).copied().unwrap_or(0)
    }

    /// Sum of all drops.
    pub fn total_drops(&self) -> u64 {
        self.drops.iter().fold(0u64, |a, &b| a.wrapping_add(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_is_in_discriminant_order_and_complete() {
        for (i, r) in DropReason::ALL.iter().enumerate() {
            assert_eq!(r.index(), i, "{r:?}");
        }
        // The last variant's discriminant is COUNT - 1, so ALL cannot miss one at the end.
        assert_eq!(DropReason::Ipv6Fragment as usize, DropReason::COUNT - 1);
    }

    #[test]
    fn names_are_unique_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for r in DropReason::ALL {
            let n = r.name();
            assert!(seen.insert(n), "duplicate name {n}");
            assert!(
                !n.is_empty()
                    && n.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{n}"
            );
        }
    }

    #[test]
    fn promised_names_are_stable() {
        // Names the lab tests match on.
        assert_eq!(DropReason::EthTruncated.name(), "eth_truncated");
        assert_eq!(DropReason::Ipv4Truncated.name(), "ipv4_truncated");
        assert_eq!(DropReason::Ipv4BadIhl.name(), "ipv4_bad_ihl");
        assert_eq!(DropReason::Ipv4BadChecksum.name(), "ipv4_bad_checksum");
        assert_eq!(DropReason::NotForUs.name(), "not_for_us");
        assert_eq!(DropReason::NoService.name(), "no_service");
    }

    #[test]
    fn count_drop_counts_only_that_reason() {
        let mut c = NetCounters::default();
        c.count_drop(DropReason::NoRoute);
        c.count_drop(DropReason::NoRoute);
        c.count_drop(DropReason::TxFull);
        assert_eq!(c.drop_count(DropReason::NoRoute), 2);
        assert_eq!(c.drop_count(DropReason::TxFull), 1);
        assert_eq!(c.drop_count(DropReason::NoMbuf), 0);
        assert_eq!(c.total_drops(), 3);
    }
}
