//! The exception path's traffic classes: which kind of kernel-bound packet a frame is, and the
//! per-(port, class) token buckets and counters that keep a flood of one kind, or at one port,
//! from starving the others (issue 14, item 6).
//!
//! Owns [`ExcClass`] (the closed list of classes, whose names are metric label values),
//! [`classify`] (a frame -> its class, read through [`crate::wire`]'s views), [`ClassRate`] and
//! [`ClassLimits`] (per-(port, class) buckets and counts, sized once at construction). It does
//! not decide what goes to the kernel (the stack does) nor hold the core's aggregate limit
//! ([`super::exception::Exception`] does, and consults this module first).
//!
//! Classes, in the order [`classify`] tries them: ARP; routing protocols (OSPF 89, VRRP 112,
//! IGMP 2, TCP port 179 BGP, UDP 3784/3785/4784 BFD, UDP 520 RIP, any multicast or broadcast);
//! SSH (TCP port 22 either side); ICMP except echo replies; replies (what the kernel's own
//! connections receive: TCP segments with ACK set, UDP to an ephemeral port 32768 and up as
//! Linux hands out by default, ICMP echo replies: health-check answers first of all); other.

use std::net::Ipv4Addr;

use super::exception::TokenBucket;
use crate::time::Instant;
use crate::wire::udp::Packet as UdpPacket;
use crate::wire::{ethernet, EtherType, EthernetFrame, IpProtocol, Ipv4Packet, TcpPacket};

/// A class of kernel-bound traffic. Names are Prometheus label values.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExcClass {
    /// ARP for the kernel's addresses, and replies to its requests.
    Arp,
    /// ICMP (echo requests, errors), except echo replies.
    Icmp,
    /// Routing and redundancy protocols: BGP, BFD, OSPF, VRRP, RIP, IGMP, multicast.
    Routing,
    /// SSH (TCP port 22).
    Ssh,
    /// Packets of connections the kernel opened: health-check answers and the like.
    Replies,
    /// Everything else (new connections to other ports, UDP to low ports, fragments...).
    Other,
}

impl ExcClass {
    /// Number of classes.
    pub const COUNT: usize = 6;
    /// Every class, in discriminant order.
    pub const ALL: [ExcClass; ExcClass::COUNT] = [
        ExcClass::Arp,
        ExcClass::Icmp,
        ExcClass::Routing,
        ExcClass::Ssh,
        ExcClass::Replies,
        ExcClass::Other,
    ];

    /// The label value (also the TOML key of its rate).
    pub const fn name(self) -> &'static str {
        match self {
            ExcClass::Arp => "arp",
            ExcClass::Icmp => "icmp",
            ExcClass::Routing => "routing",
            ExcClass::Ssh => "ssh",
            ExcClass::Replies => "replies",
            ExcClass::Other => "other",
        }
    }
}

/// First port of Linux's default ephemeral range (`net.ipv4.ip_local_port_range`).
const EPHEMERAL_FIRST: u16 = 32768;

/// The class of a kernel-bound frame (Ethernet header first). Frames the stack already checked;
/// anything that does not parse is [`ExcClass::Other`].
pub fn classify(frame: &[u8]) -> ExcClass {
    let Ok(eth) = EthernetFrame::new_checked(frame) else { return ExcClass::Other };
    match eth.ethertype() {
        EtherType::Arp => return ExcClass::Arp,
        EtherType::Ipv4 => {}
        _ => return ExcClass::Other,
    }
    let Some(Ok(ip)) = frame.get(ethernet::HEADER_LEN..).map(Ipv4Packet::new_checked) else {
        return ExcClass::Other;
    };
    let dst: Ipv4Addr = ip.dst_addr();
    let proto = ip.protocol();
    if dst.is_multicast() || dst.is_broadcast() || matches!(proto.0, 2 | 89 | 112) {
        return ExcClass::Routing;
    }
    let first = ip.frag_offset() == 0;
    match proto {
        IpProtocol::ICMP => match ip.payload().first() {
            Some(0) if first => ExcClass::Replies,
            _ => ExcClass::Icmp,
        },
        IpProtocol::TCP if first => match TcpPacket::new_checked(ip.payload()) {
            Ok(t) => {
                let (s, d) = (t.src_port(), t.dst_port());
                if s == 179 || d == 179 {
                    ExcClass::Routing
                } else if s == 22 || d == 22 {
                    ExcClass::Ssh
                } else if t.ack() {
                    ExcClass::Replies
                } else {
                    ExcClass::Other
                }
            }
            Err(_) => ExcClass::Other,
        },
        IpProtocol::UDP if first => match UdpPacket::new_checked(ip.payload()) {
            Ok(u) => match u.dst_port() {
                3784 | 3785 | 4784 | 520 => ExcClass::Routing,
                p if p >= EPHEMERAL_FIRST => ExcClass::Replies,
                _ => ExcClass::Other,
            },
            Err(_) => ExcClass::Other,
        },
        _ => ExcClass::Other,
    }
}

/// One class's rate: `pps` packets per second per (port, core), `burst` banked; `pps` 0 =
/// unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClassRate {
    /// Packets per second.
    pub pps: u64,
    /// Packets banked.
    pub burst: u64,
}

/// Default rates per (port, core), by [`ExcClass`] discriminant. Routing protocols and the
/// replies of health checks get the most; their sum (10 000/s) stays under the core's default
/// aggregate of 20 000/s, so a flood of one class at its rate leaves the others their share.
pub const DEFAULT_CLASS_RATES: [ClassRate; ExcClass::COUNT] = [
    ClassRate { pps: 1000, burst: 100 }, // arp
    ClassRate { pps: 1000, burst: 100 }, // icmp
    ClassRate { pps: 2000, burst: 256 }, // routing
    ClassRate { pps: 1000, burst: 256 }, // ssh
    ClassRate { pps: 4000, burst: 512 }, // replies
    ClassRate { pps: 1000, burst: 100 }, // other
];

/// Counts of one (port, class).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClassCount {
    /// Packets the class's bucket let through.
    pub passed: u64,
    /// Packets its bucket refused.
    pub limited: u64,
}

/// Per-(port, class) buckets and counts of one core, for ports `0..ports`.
#[derive(Debug, Clone)]
pub struct ClassLimits {
    buckets: Vec<TokenBucket>,
    counts: Vec<[ClassCount; ExcClass::COUNT]>,
}

impl ClassLimits {
    /// Buckets for ports `0..ports`, full at `now`.
    pub fn new(ports: usize, rates: &[ClassRate; ExcClass::COUNT], now: Instant) -> Self {
        let buckets = (0..ports)
            .flat_map(|_| rates.iter().map(|r| TokenBucket::new(r.pps, r.burst, now)))
            .collect();
        ClassLimits { buckets, counts: vec![[ClassCount::default(); ExcClass::COUNT]; ports] }
    }

    /// Takes a token of (`port`, `class`) at `now` and counts the outcome; false when refused
    /// (or the port is out of range).
    #[inline]
    pub fn take(&mut self, port: u16, class: ExcClass, now: Instant) -> bool {
        let i = usize::from(port) * ExcClass::COUNT + class as usize;
        let (Some(b), Some(c)) = (
            self.buckets.get_mut(i),
            self.counts.get_mut(usize::from(port)).and_then(|p| p.get_mut(class as usize)),
        ) else {
            return false;
        };
        if b.take(now) {
            c.passed += 1;
            true
        } else {
            c.limited += 1;
            false
        }
    }

    /// Counts per port (index) and class (discriminant).
    pub fn counts(&self) -> &[[ClassCount; ExcClass::COUNT]] {
        &self.counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::testutil::*;
    use core::time::Duration;
    use proptest::prelude::*;

    const K: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 20);

    fn tcp(sport: u16, dport: u16, flags: u8) -> Vec<u8> {
        let mut t = vec![0u8; 20];
        t[0..2].copy_from_slice(&sport.to_be_bytes());
        t[2..4].copy_from_slice(&dport.to_be_bytes());
        t[12] = 0x50;
        t[13] = flags;
        eth(MAC0, PEER_MAC, 0x0800, &ipv4(PEER, K, 6, 64, &t))
    }

    fn udp(dport: u16) -> Vec<u8> {
        let mut u = vec![0u8; 12];
        u[0..2].copy_from_slice(&53u16.to_be_bytes());
        u[2..4].copy_from_slice(&dport.to_be_bytes());
        u[4..6].copy_from_slice(&12u16.to_be_bytes());
        eth(MAC0, PEER_MAC, 0x0800, &ipv4(PEER, K, 17, 64, &u))
    }

    #[test]
    fn frames_fall_in_their_class() {
        let arp_f =
            eth(MAC0, PEER_MAC, 0x0806, &arp(1, PEER_MAC, PEER, crate::wire::MacAddr::ZERO, K));
        let cases: Vec<(Vec<u8>, ExcClass)> = vec![
            (arp_f, ExcClass::Arp),
            (
                eth(MAC0, PEER_MAC, 0x0800, &ipv4(PEER, K, 1, 64, &icmp(8, 0, [0; 4], b"x"))),
                ExcClass::Icmp,
            ),
            (
                eth(MAC0, PEER_MAC, 0x0800, &ipv4(PEER, K, 1, 64, &icmp(0, 0, [0; 4], b"x"))),
                ExcClass::Replies,
            ),
            (
                eth(MAC0, PEER_MAC, 0x0800, &ipv4(PEER, K, 1, 64, &icmp(3, 3, [0; 4], b"x"))),
                ExcClass::Icmp,
            ),
            (tcp(40000, 179, 0x02), ExcClass::Routing),
            (tcp(179, 40000, 0x10), ExcClass::Routing),
            (tcp(40000, 22, 0x02), ExcClass::Ssh),
            (tcp(40000, 22, 0x10), ExcClass::Ssh),
            (tcp(80, 45000, 0x12), ExcClass::Replies),
            (tcp(40000, 80, 0x02), ExcClass::Other),
            (udp(3784), ExcClass::Routing),
            (udp(4784), ExcClass::Routing),
            (udp(40000), ExcClass::Replies),
            (udp(9), ExcClass::Other),
            (eth(MAC0, PEER_MAC, 0x0800, &ipv4(PEER, K, 89, 64, &[0; 24])), ExcClass::Routing),
            (eth(MAC0, PEER_MAC, 0x0800, &ipv4(PEER, K, 112, 64, &[0; 24])), ExcClass::Routing),
            (
                eth(
                    MAC0,
                    PEER_MAC,
                    0x0800,
                    &ipv4(PEER, Ipv4Addr::new(224, 0, 0, 5), 17, 1, &[0; 12]),
                ),
                ExcClass::Routing,
            ),
            (eth(MAC0, PEER_MAC, 0x0800, &ipv4(PEER, K, 47, 64, &[0; 8])), ExcClass::Other),
            (vec![0u8; 10], ExcClass::Other),
        ];
        for (f, want) in cases {
            assert_eq!(classify(&f), want, "{f:02x?}");
        }
    }

    #[test]
    fn names_are_distinct_and_ordered() {
        for (i, c) in ExcClass::ALL.iter().enumerate() {
            assert_eq!(*c as usize, i);
        }
        let names: std::collections::HashSet<_> = ExcClass::ALL.iter().map(|c| c.name()).collect();
        assert_eq!(names.len(), ExcClass::COUNT);
    }

    proptest! {
        /// Whatever the schedule of packets over ports and classes, each (port, class) passes at
        /// most burst + rate·elapsed, and the count of one never depends on the others.
        #[test]
        fn each_port_and_class_is_bounded_alone(
            steps in proptest::collection::vec((0u64..3000, 0u16..3, 0usize..6, 0u32..40), 1..150)
        ) {
            let rates = [ClassRate { pps: 500, burst: 5 }; ExcClass::COUNT];
            let mut l = ClassLimits::new(3, &rates, Instant::ZERO);
            let mut t = 0u64;
            for (dt, port, class, n) in steps {
                t += dt;
                let now = Instant::ZERO + Duration::from_micros(t);
                for _ in 0..n {
                    l.take(port, ExcClass::ALL[class], now);
                }
            }
            let max = 5 + 500 * t / 1_000_000;
            for p in l.counts() {
                for c in p {
                    prop_assert!(c.passed <= max, "{} > {}", c.passed, max);
                }
            }
        }
    }

    #[test]
    fn a_flooded_class_leaves_the_others_untouched() {
        let mut l = ClassLimits::new(2, &DEFAULT_CLASS_RATES, Instant::ZERO);
        let now = Instant::ZERO;
        for _ in 0..10_000 {
            l.take(0, ExcClass::Other, now);
        }
        assert_eq!(l.counts()[0][ExcClass::Other as usize].passed, 100);
        assert_eq!(l.counts()[0][ExcClass::Other as usize].limited, 9_900);
        assert!((0..512).all(|_| l.take(1, ExcClass::Replies, now)));
        assert!((0..512).all(|_| l.take(0, ExcClass::Replies, now)));
        assert!(!l.take(7, ExcClass::Other, now), "no such port");
    }
}
