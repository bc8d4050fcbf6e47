//! Counters of one worker core's load balancer and the reasons it drops a packet.
//!
//! Owns [`IpvsDropReason`] (the closed list; the snake_case names are metric label values) and
//! [`IpvsCounters`] (plain `u64`s, single writer: the core's balancer), and
//! [`TrafficCounters`], the connection, packet and byte counts the balancer keeps per service,
//! dest and SNAT rule in their slots. The dataplane copies all of them out for the control
//! plane and the metrics exporter; the control protocol's listing form is its own type,
//! converted from these at its edge.

/// Why the load balancer dropped a packet.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IpvsDropReason {
    /// Packet for a VIP with no virtual service on its protocol and port.
    NoService,
    /// The service's scheduler found no dest that may take a new connection (none, all
    /// quiescent or over threshold). TCP clients also get a reset.
    NoDest,
    /// TCP packet of no connection that is not a plain SYN (a connection starts with one).
    TcpNotSyn,
    /// TCP packet of no connection with a flag combination no stack sends (SYN+FIN, SYN+RST,
    /// FIN+RST, no flag at all).
    TcpBadFlags,
    /// The connection table is full of live connections.
    ConnTableFull,
    /// A live connection already holds the new connection's reply tuple.
    ConnConflict,
    /// No local port left for a FULLNAT or SNAT connection (or no local address configured).
    LaddrExhausted,
    /// Non-first IPv4 fragment (no ports to find its connection by), or a first fragment of
    /// no connection. Fragments are not reassembled.
    Fragment,
    /// TCP or UDP header truncated or malformed, or an ICMP error too short to quote one.
    BadL4,
    /// IP protocol the balancer does not handle, to a VIP or local address.
    UnsupportedProto,
    /// ICMP message to a VIP or local address that is neither an echo (the stack answers those)
    /// nor an error about a connection.
    IcmpUnsupported,
    /// ICMP error whose quoted packet belongs to no connection.
    IcmpNoConn,
    /// Packet to a local (FULLNAT/SNAT) address and port of no connection on the core that
    /// owns the port.
    NoConn,
    /// TTL would reach zero on the way through (an ICMP time exceeded is sent).
    Ttl,
    /// The forwarding mode could not rewrite the packet (malformed for its connection, no
    /// buffer room).
    XmitError,
    /// TUN: the encapsulated packet would exceed the MTU and DF is set (an ICMP fragmentation
    /// needed is sent).
    FragNeeded,
    /// Larger than the egress MTU with DF clear: the director does not fragment.
    TooBig,
    /// TUN: no route to the real server to pick the outer source address from.
    NoRoute,
    /// A packet redirected from another core is not this core's either.
    RedirectLoop,
    /// A non-first fragment with no fragment-follow entry: it arrived before its datagram's
    /// first fragment, after the entry expired, or the first found the table full.
    FragUnmatched,
    /// A first fragment found the per-core fragment-follow table full of live entries: it is
    /// dropped, since the rest of its datagram could not follow.
    FragTableFull,
    /// A new connection's protocol already holds its share of the table (see
    /// [`crate::ipvs::guard`]).
    ProtoShareFull,
    /// SYN proxy: an ACK of no connection whose cookie is not valid (forged, stale, or a
    /// segment of a connection the director no longer has).
    SynproxyBadAck,
    /// SYN proxy: a SYN not answered because the core's SYN-ACK bucket was empty.
    SynproxyRateLimited,
    /// SYN proxy: a client segment while the real server's handshake is in progress (the
    /// client retransmits it), or a valid ACK refused because too many handshakes are.
    SynproxyHandshake,
    /// The service already holds its connection limit on this core (see
    /// [`crate::ipvs::limits`]).
    ServiceConnLimit,
    /// The client address is out of tokens of the service's per-source rate.
    SourceRateLimited,
    /// The client address is on the service's deny list.
    SourceDenied,
    /// The service has an allow list and the client address is not on it.
    SourceNotAllowed,
}

impl IpvsDropReason {
    /// Number of reasons.
    pub const COUNT: usize = 29;

    /// Every reason, in discriminant order.
    pub const ALL: [IpvsDropReason; IpvsDropReason::COUNT] = [
        Self::NoService,
        Self::NoDest,
        Self::TcpNotSyn,
        Self::TcpBadFlags,
        Self::ConnTableFull,
        Self::ConnConflict,
        Self::LaddrExhausted,
        Self::Fragment,
        Self::BadL4,
        Self::UnsupportedProto,
        Self::IcmpUnsupported,
        Self::IcmpNoConn,
        Self::NoConn,
        Self::Ttl,
        Self::XmitError,
        Self::FragNeeded,
        Self::TooBig,
        Self::NoRoute,
        Self::RedirectLoop,
        Self::FragUnmatched,
        Self::FragTableFull,
        Self::ProtoShareFull,
        Self::SynproxyBadAck,
        Self::SynproxyRateLimited,
        Self::SynproxyHandshake,
        Self::ServiceConnLimit,
        Self::SourceRateLimited,
        Self::SourceDenied,
        Self::SourceNotAllowed,
    ];

    /// The snake_case name used as the metric label.
    pub const fn name(self) -> &'static str {
        match self {
            Self::NoService => "no_service",
            Self::NoDest => "no_dest",
            Self::TcpNotSyn => "tcp_not_syn",
            Self::TcpBadFlags => "tcp_bad_flags",
            Self::ConnTableFull => "conn_table_full",
            Self::ConnConflict => "conn_conflict",
            Self::LaddrExhausted => "laddr_exhausted",
            Self::Fragment => "fragment",
            Self::BadL4 => "bad_l4",
            Self::UnsupportedProto => "unsupported_proto",
            Self::IcmpUnsupported => "icmp_unsupported",
            Self::IcmpNoConn => "icmp_no_conn",
            Self::NoConn => "no_conn",
            Self::Ttl => "ttl",
            Self::XmitError => "xmit_error",
            Self::FragNeeded => "frag_needed",
            Self::TooBig => "too_big",
            Self::NoRoute => "no_route",
            Self::RedirectLoop => "redirect_loop",
            Self::FragUnmatched => "fragment_unmatched",
            Self::FragTableFull => "fragment_table_full",
            Self::ProtoShareFull => "proto_share_full",
            Self::SynproxyBadAck => "synproxy_bad_ack",
            Self::SynproxyRateLimited => "synproxy_rate_limited",
            Self::SynproxyHandshake => "synproxy_handshake",
            Self::ServiceConnLimit => "service_conn_limit",
            Self::SourceRateLimited => "source_rate_limited",
            Self::SourceDenied => "source_denied",
            Self::SourceNotAllowed => "source_not_allowed",
        }
    }

    /// The stack's drop reason closest to this one, for the buffer's trace when it is freed
    /// (the count is kept here, not in the stack's counters).
    pub const fn net_reason(self) -> crate::net::DropReason {
        use crate::net::DropReason as D;
        match self {
            Self::Fragment | Self::FragUnmatched | Self::FragTableFull => D::Ipv4Fragment,
            Self::Ttl => D::Ipv4TtlExpired,
            Self::NoRoute => D::NoRoute,
            Self::IcmpUnsupported => D::IcmpUnsupported,
            Self::IcmpNoConn | Self::NoConn | Self::RedirectLoop => D::NotForUs,
            _ => D::NoService,
        }
    }
}

impl core::fmt::Display for IpvsDropReason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// One core's load-balancer counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpvsCounters {
    /// Connections created (one-packet schedulings included).
    pub conns_created: u64,
    /// Persistence templates created.
    pub templates_created: u64,
    /// Packets forwarded (both directions, ICMP errors included).
    pub forwarded: u64,
    /// TCP resets sent to clients for which no dest was available.
    pub resets_sent: u64,
    /// ICMP errors about a connection translated and forwarded.
    pub icmp_forwarded: u64,
    /// Packets handed to another core (their local port is that core's).
    pub redirected: u64,
    /// Packets received from another core.
    pub redirect_received: u64,
    /// Connections of removed dests ended by an explicit flush.
    pub flushed: u64,
    /// Drops, by [`IpvsDropReason`] discriminant.
    pub drops: [u64; IpvsDropReason::COUNT],
    /// Non-first fragments forwarded by their datagram's fragment-follow entry.
    pub frags_followed: u64,
    /// FULLNAT local ports passed over because another service's live connection holds the
    /// same (local address, port) -> (dest, port) tuple.
    pub local_port_conflicts: u64,
    /// The flood guard's counters ([`crate::ipvs::guard`]), copied at each `Balancer::poll`.
    pub guard: crate::ipvs::guard::GuardCounters,
    /// TCP connections in SYN_RECV, at the last `Balancer::poll` (a gauge).
    pub embryonic: u64,
    /// The SYN proxy's counters.
    pub synproxy: crate::ipvs::synproxy::SynProxyCounters,
    /// Clients evicted from the per-source rate table while their bucket was not full
    /// ([`crate::ipvs::limits::SourceRates::evicted`]), copied at each `Balancer::poll`.
    pub source_rate_evicted: u64,
}

impl Default for IpvsCounters {
    fn default() -> Self {
        IpvsCounters {
            conns_created: 0,
            templates_created: 0,
            forwarded: 0,
            resets_sent: 0,
            icmp_forwarded: 0,
            redirected: 0,
            redirect_received: 0,
            flushed: 0,
            drops: [0; IpvsDropReason::COUNT],
            frags_followed: 0,
            local_port_conflicts: 0,
            guard: crate::ipvs::guard::GuardCounters::default(),
            embryonic: 0,
            synproxy: crate::ipvs::synproxy::SynProxyCounters::default(),
            source_rate_evicted: 0,
        }
    }
}

impl IpvsCounters {
    /// Counts one drop.
    #[inline]
    pub fn count_drop(&mut self, reason: IpvsDropReason) {
        if let Some(c) = self.drops.get_mut(reason as usize) {
            *c += 1;
        }
    }

    /// Drops counted for `reason`.
    pub fn drop_count(&self, reason: IpvsDropReason) -> u64 {
        self.drops.get(reason as usize).copied().unwrap_or(0)
    }

    /// All drops.
    pub fn total_drops(&self) -> u64 {
        self.drops.iter().sum()
    }
}

/// Connections, packets and bytes of a service, dest or SNAT rule on one core (totals since it
/// was created). Plain counters, single writer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct TrafficCounters {
    /// Connections scheduled.
    pub conns: u64,
    /// Packets client -> server.
    pub inpkts: u64,
    /// Packets server -> client.
    pub outpkts: u64,
    /// Bytes client -> server.
    pub inbytes: u64,
    /// Bytes server -> client.
    pub outbytes: u64,
}

impl TrafficCounters {
    /// Counts one packet of `len` bytes, client -> server (`inbound`) or back.
    #[inline]
    pub fn count_packet(&mut self, inbound: bool, len: u32) {
        if inbound {
            self.inpkts += 1;
            self.inbytes += u64::from(len);
        } else {
            self.outpkts += 1;
            self.outbytes += u64::from(len);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_is_in_discriminant_order_and_names_are_unique() {
        for (i, r) in IpvsDropReason::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i);
        }
        let mut names: Vec<_> = IpvsDropReason::ALL.iter().map(|r| r.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), IpvsDropReason::COUNT);
        let mut c = IpvsCounters::default();
        c.count_drop(IpvsDropReason::NoDest);
        c.count_drop(IpvsDropReason::NoDest);
        c.count_drop(IpvsDropReason::RedirectLoop);
        assert_eq!(c.drop_count(IpvsDropReason::NoDest), 2);
        assert_eq!(c.total_drops(), 3);
        assert_eq!(IpvsDropReason::Fragment.to_string(), "fragment");
    }
}
