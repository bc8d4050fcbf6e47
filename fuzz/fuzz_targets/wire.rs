//! The `wire` parsers on any bytes: an Ethernet frame (VLAN tags too) down to ARP, IPv4, IPv6
//! (its extension-header chain walked), TCP (options included), UDP, GUE, ICMP and ICMPv6 (with
//! the quoted packet of an error) and neighbour discovery. None may
//! panic; what parses must be readable through every accessor.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rvs_core::wire::{self, EtherType, IpProtocol};

fn l4(proto: IpProtocol, payload: &[u8]) {
    match proto {
        IpProtocol::TCP => {
            if let Ok(p) = wire::TcpPacket::new_checked(payload) {
                let _ = wire::TcpRepr::parse(&p);
                for _ in p.options_iter() {}
                let _ = p.payload().len();
            }
        }
        IpProtocol::UDP => {
            if let Ok(p) = wire::UdpPacket::new_checked(payload) {
                let _ = wire::UdpRepr::parse(&p);
                if let Ok(g) = wire::gue::Packet::new_checked(payload.get(8..).unwrap_or_default())
                {
                    let _ = wire::gue::Repr::parse(&g);
                }
            }
        }
        IpProtocol::ICMP => {
            if let Ok(p) = wire::Icmpv4Packet::new_checked(payload) {
                let _ = wire::Icmpv4Repr::parse(&p);
            }
        }
        IpProtocol::ICMPV6 => {
            if let Ok(p) = wire::Icmpv6Packet::new_checked(payload) {
                let _ = wire::Icmpv6Repr::parse(&p);
                if let Ok(q) = p.quoted() {
                    let _ = (q.tuple(), q.echo_request());
                }
                if let Ok(r) = wire::NdiscRepr::parse(&p) {
                    let _ = r.validate(
                        std::net::Ipv6Addr::UNSPECIFIED,
                        std::net::Ipv6Addr::LOCALHOST,
                        255,
                    );
                }
            }
        }
        _ => {}
    }
}

fn l3(ethertype: EtherType, payload: &[u8]) {
    match ethertype {
        EtherType::Ipv4 => {
            if let Ok(p) = wire::Ipv4Packet::new_checked(payload) {
                let _ = wire::Ipv4Repr::parse(&p);
                let _ = (p.options().len(), p.verify_checksum());
                l4(p.protocol(), p.payload());
                if p.protocol() == IpProtocol::IPIP {
                    if let Ok(inner) = wire::Ipv4Packet::new_checked(p.payload()) {
                        let _ = wire::Ipv4Repr::parse(&inner);
                        l4(inner.protocol(), inner.payload());
                    }
                }
            }
        }
        EtherType::Ipv6 => {
            if let Ok(p) = wire::Ipv6Packet::new_checked(payload) {
                let _ = wire::Ipv6Repr::parse(&p);
                l4(p.next_header(), p.payload());
                if let Ok(c) = wire::ipv6ext::walk(&p) {
                    if c.has_l4_header() {
                        let at = c.l4_offset.saturating_sub(wire::ipv6::HEADER_LEN);
                        l4(c.protocol, p.payload().get(at..).unwrap_or_default());
                    }
                }
            }
        }
        EtherType::Arp => {
            if let Ok(p) = wire::ArpPacket::new_checked(payload) {
                let _ = wire::ArpRepr::parse(&p);
            }
        }
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = wire::Ipv4Meta::parse(data, 14);
    if let Ok(f) = wire::EthernetFrame::new_checked(data) {
        let _ = wire::EthernetRepr::parse(&f);
        if f.ethertype() == EtherType::Vlan {
            if let Ok(v) = wire::ethernet::VlanTag::new_checked(f.payload()) {
                l3(v.ethertype(), v.payload());
            }
        } else {
            l3(f.ethertype(), f.payload());
        }
    }
});
