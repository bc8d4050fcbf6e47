//! The exception path's classes in the other direction: frames the host kernel writes on its
//! interfaces, on their way out of a port (issue 14, item 6, kernel -> wire).
//!
//! Owns [`classify_from_kernel`] (a kernel-written frame -> its [`ExcClass`]) and the default
//! per-(port, class) rates of that direction. The buckets are the same [`super::ClassLimits`]
//! as the to-kernel direction's, a second set of them, held by [`super::Exception`]; the classes
//! and their names (metric labels, TOML keys) are the same, seen from the kernel's side:
//!
//! - `arp`: ARP, and IPv6 neighbour discovery (router and neighbour solicitations and
//!   advertisements, redirects: ICMPv6 133-137);
//! - `routing`: OSPF, VRRP, IGMP, BGP (TCP 179 either side), BFD (UDP 3784, 3785, 4784 either
//!   side), RIP (UDP 520), any multicast or broadcast;
//! - `ssh`: TCP port 22 either side;
//! - `icmp`: ICMP except echo requests (errors, echo replies);
//! - `replies`: the kernel's own connections, i.e. what it sends from an ephemeral port (TCP or
//!   UDP from 32768 up, Linux's default range) and its pings (ICMP echo requests): health
//!   checks first of all. The to-kernel direction's `replies` are their answers;
//! - `other`: the rest (answers of the kernel's listening services, UDP from low ports, non-first
//!   fragments, IPv6 other than neighbour discovery...).
//!
//! Must not touch: the buckets' arithmetic, what the worker reads from the kernel.

use std::net::Ipv4Addr;

use super::exc_class::{ClassRate, ExcClass};
use crate::wire::udp::Packet as UdpPacket;
use crate::wire::TcpPacket;
use crate::wire::{ethernet, EtherType, EthernetFrame, IpProtocol, Ipv4Packet, Ipv6Packet};

/// First port of Linux's default ephemeral range (`net.ipv4.ip_local_port_range`).
const EPHEMERAL_FIRST: u16 = 32768;

/// Default per-(port, core) rates of kernel-written frames, by [`ExcClass`] discriminant. The
/// kernel's own connections (health checks) and SSH get the most; the sum (14 000/s) stays
/// under the core's default from-kernel aggregate of 20 000/s.
pub const DEFAULT_FROM_KERNEL_CLASS_RATES: [ClassRate; ExcClass::COUNT] = [
    ClassRate { pps: 1000, burst: 100 }, // arp
    ClassRate { pps: 1000, burst: 100 }, // icmp
    ClassRate { pps: 2000, burst: 256 }, // routing
    ClassRate { pps: 4000, burst: 512 }, // ssh
    ClassRate { pps: 4000, burst: 512 }, // replies
    ClassRate { pps: 2000, burst: 256 }, // other
];

/// The class of a frame the kernel wrote (Ethernet header first). Anything that does not parse
/// is [`ExcClass::Other`].
pub fn classify_from_kernel(frame: &[u8]) -> ExcClass {
    let Ok(eth) = EthernetFrame::new_checked(frame) else { return ExcClass::Other };
    let Some(l3) = frame.get(ethernet::HEADER_LEN..) else { return ExcClass::Other };
    match eth.ethertype() {
        EtherType::Arp => ExcClass::Arp,
        EtherType::Ipv4 => match Ipv4Packet::new_checked(l3) {
            Ok(ip) => ipv4_class(&ip),
            Err(_) => ExcClass::Other,
        },
        EtherType::Ipv6 => match Ipv6Packet::new_checked(l3) {
            // Neighbour discovery has no extension header before its ICMPv6 (RFC 4861 sends
            // it with hop limit 255 and nothing else).
            Ok(ip) if ip.next_header() == IpProtocol::ICMPV6 => match ip.payload().first() {
                Some(133..=137) => ExcClass::Arp,
                _ => ExcClass::Other,
            },
            _ => ExcClass::Other,
        },
        _ => ExcClass::Other,
    }
}

fn ipv4_class(ip: &Ipv4Packet<&[u8]>) -> ExcClass {
    let dst: Ipv4Addr = ip.dst_addr();
    let proto = ip.protocol();
    if dst.is_multicast() || dst.is_broadcast() || matches!(proto.0, 2 | 89 | 112) {
        return ExcClass::Routing;
    }
    if ip.frag_offset() != 0 {
        return ExcClass::Other;
    }
    match proto {
        IpProtocol::ICMP => match ip.payload().first() {
            Some(8) => ExcClass::Replies,
            _ => ExcClass::Icmp,
        },
        IpProtocol::TCP => match TcpPacket::new_checked(ip.payload()) {
            Ok(t) => ports_class(t.src_port(), t.dst_port(), &[179], &[22]),
            Err(_) => ExcClass::Other,
        },
        IpProtocol::UDP => match UdpPacket::new_checked(ip.payload()) {
            Ok(u) => ports_class(u.src_port(), u.dst_port(), &[3784, 3785, 4784, 520], &[]),
            Err(_) => ExcClass::Other,
        },
        _ => ExcClass::Other,
    }
}

/// Routing if either port is one of `routing`, SSH if either is one of `ssh`, the kernel's own
/// connection if it sends from an ephemeral port, else other.
fn ports_class(src: u16, dst: u16, routing: &[u16], ssh: &[u16]) -> ExcClass {
    if routing.contains(&src) || routing.contains(&dst) {
        ExcClass::Routing
    } else if ssh.contains(&src) || ssh.contains(&dst) {
        ExcClass::Ssh
    } else if src >= EPHEMERAL_FIRST {
        ExcClass::Replies
    } else {
        ExcClass::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::testutil::*;

    /// The kernel's address on the port, and a host beyond it.
    const K: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 20);

    fn from_k(proto: u8, l4: &[u8]) -> Vec<u8> {
        eth(PEER_MAC, MAC0, 0x0800, &ipv4(K, PEER, proto, 64, l4))
    }

    fn tcp(sport: u16, dport: u16, flags: u8) -> Vec<u8> {
        let mut t = vec![0u8; 20];
        t[0..2].copy_from_slice(&sport.to_be_bytes());
        t[2..4].copy_from_slice(&dport.to_be_bytes());
        t[12] = 0x50;
        t[13] = flags;
        from_k(6, &t)
    }

    fn udp(sport: u16, dport: u16) -> Vec<u8> {
        let mut u = vec![0u8; 12];
        u[0..2].copy_from_slice(&sport.to_be_bytes());
        u[2..4].copy_from_slice(&dport.to_be_bytes());
        u[4..6].copy_from_slice(&12u16.to_be_bytes());
        from_k(17, &u)
    }

    /// An IPv6 frame whose payload starts with `first` (ICMPv6 type when `next` is 58).
    fn v6(next: u8, first: u8) -> Vec<u8> {
        let mut ip = vec![0u8; 40 + 8];
        ip[0] = 0x60;
        ip[4..6].copy_from_slice(&8u16.to_be_bytes());
        ip[6] = next;
        ip[7] = 255;
        ip[40] = first;
        eth(PEER_MAC, MAC0, 0x86dd, &ip)
    }

    #[test]
    fn kernel_frames_fall_in_their_class() {
        let arp_f = eth(PEER_MAC, MAC0, 0x0806, &arp(1, MAC0, K, crate::wire::MacAddr::ZERO, PEER));
        let cases: Vec<(&str, Vec<u8>, ExcClass)> = vec![
            ("arp request", arp_f, ExcClass::Arp),
            ("neighbour solicitation", v6(58, 135), ExcClass::Arp),
            ("router solicitation", v6(58, 133), ExcClass::Arp),
            ("icmpv6 echo", v6(58, 128), ExcClass::Other),
            ("ipv6 udp", v6(17, 0), ExcClass::Other),
            ("ping (a health check)", from_k(1, &icmp(8, 0, [0; 4], b"x")), ExcClass::Replies),
            ("echo reply", from_k(1, &icmp(0, 0, [0; 4], b"x")), ExcClass::Icmp),
            ("port unreachable", from_k(1, &icmp(3, 3, [0; 4], b"x")), ExcClass::Icmp),
            ("bgp from the kernel's speaker", tcp(179, 40000, 0x10), ExcClass::Routing),
            ("bgp to a peer", tcp(40000, 179, 0x02), ExcClass::Routing),
            ("ssh session", tcp(22, 51000, 0x18), ExcClass::Ssh),
            ("ssh out of the director", tcp(45000, 22, 0x02), ExcClass::Ssh),
            ("health check SYN", tcp(45000, 80, 0x02), ExcClass::Replies),
            ("health check data", tcp(60000, 8080, 0x18), ExcClass::Replies),
            ("a listening service's SYN-ACK", tcp(80, 45000, 0x12), ExcClass::Other),
            ("a listening service's reset", tcp(80, 1234, 0x14), ExcClass::Other),
            ("bfd control", udp(49152, 3784), ExcClass::Routing),
            ("bfd echo back", udp(3785, 3785), ExcClass::Routing),
            ("rip", udp(520, 520), ExcClass::Routing),
            ("dns health check", udp(40000, 53), ExcClass::Replies),
            ("udp from a low port", udp(9999, 9), ExcClass::Other),
            ("ospf", from_k(89, &[0; 24]), ExcClass::Routing),
            ("vrrp", from_k(112, &[0; 24]), ExcClass::Routing),
            (
                "multicast",
                eth(
                    PEER_MAC,
                    MAC0,
                    0x0800,
                    &ipv4(K, Ipv4Addr::new(224, 0, 0, 18), 17, 1, &[0; 12]),
                ),
                ExcClass::Routing,
            ),
            ("gre", from_k(47, &[0; 8]), ExcClass::Other),
            ("runt", vec![0u8; 10], ExcClass::Other),
        ];
        for (what, f, want) in cases {
            assert_eq!(classify_from_kernel(&f), want, "{what}: {f:02x?}");
        }
    }

    #[test]
    fn a_truncated_transport_header_is_other_and_never_panics() {
        for cut in 0..tcp(45000, 80, 0x02).len() {
            let f = tcp(45000, 80, 0x02);
            let _ = classify_from_kernel(&f[..cut]);
        }
        let mut f = from_k(6, &[0u8; 8]);
        assert_eq!(classify_from_kernel(&f), ExcClass::Other);
        f.truncate(20);
        assert_eq!(classify_from_kernel(&f), ExcClass::Other);
    }

    #[test]
    fn the_default_rates_sum_under_the_default_aggregate() {
        let sum: u64 = DEFAULT_FROM_KERNEL_CLASS_RATES.iter().map(|r| r.pps).sum();
        assert!(sum < crate::net::ExceptionParams::default().from_kernel_pps, "{sum}");
    }
}
