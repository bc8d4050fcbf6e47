//! The `wire` parsers on any bytes: an Ethernet frame (VLAN tags too) down to ARP, IPv4, IPv6,
//! TCP (options included), UDP, GUE and ICMP (with the quoted packet of an error). None may
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
