//! The balancer's burst prefetch: before a burst is processed packet by packet, read each
//! frame's IPv4 5-tuple and start the connection table's memory reads for all of them at once
//! ([`ConnTable::prefetch_burst`]), so the per-packet lookups that follow hit the cache.
//!
//! Owns only [`Balancer::prefetch_burst`] and its tuple peek. It is a hint: it decides nothing,
//! counts nothing and changes nothing; a frame it misreads (VLAN-tagged, not IPv4, a
//! non-first fragment) costs one useless read. The peek goes through the `wire` views, checking
//! only what it reads (a handful of loads); the packet is parsed and checked in full by
//! [`Balancer::input_checked`] afterwards.
//!
//! [`ConnTable::prefetch_burst`]: crate::ipvs::conn::ConnTable::prefetch_burst

use std::net::Ipv4Addr;

use super::Balancer;
use crate::ipvs::conn::{ConnKey, ConnTable};
use crate::wire::{tuple, EtherType, EthernetFrame, IpProtocol, Ipv4Packet};

/// The TCP/UDP 5-tuple of an untagged Ethernet/IPv4 frame: the Ethernet and IPv4 header views
/// (the IPv4 header's version, IHL and length checked, not its total length or checksum) and
/// the transport header's first four bytes ([`tuple::ports`]).
#[inline]
fn peek_tuple(frame: &[u8]) -> Option<ConnKey<Ipv4Addr>> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    if eth.ethertype() != EtherType::Ipv4 {
        return None;
    }
    let ip = Ipv4Packet::new_checked_header(eth.payload()).ok()?;
    let proto = ip.protocol();
    if proto != IpProtocol::TCP && proto != IpProtocol::UDP {
        return None;
    }
    let (sport, dport) = tuple::ports(eth.payload().get(ip.header_len()..)?)?;
    Some(ConnKey::new(proto, ip.src_addr(), sport, ip.dst_addr(), dport))
}

impl Balancer {
    /// Starts the connection-table reads of a burst of received frames (at most
    /// [`ConnTable::BURST`] are looked at). Call it once per rx burst, before handing the
    /// frames to the pipeline one by one.
    #[inline]
    pub fn prefetch_burst<'a>(&self, frames: impl IntoIterator<Item = &'a [u8]>) {
        let mut keys =
            [ConnKey::new(IpProtocol(0), Ipv4Addr::UNSPECIFIED, 0, Ipv4Addr::UNSPECIFIED, 0);
                ConnTable::<Ipv4Addr>::BURST];
        let mut n = 0;
        for f in frames.into_iter().take(keys.len()) {
            if let (Some(k), Some(slot)) = (peek_tuple(f), keys.get_mut(n)) {
                *slot = k;
                n += 1;
            }
        }
        self.conns.prefetch_burst(&keys[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(proto: u8) -> Vec<u8> {
        let mut f = vec![0u8; 60];
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        f[14] = 0x45;
        f[14 + 9] = proto;
        f[26..30].copy_from_slice(&[10, 0, 0, 1]);
        f[30..34].copy_from_slice(&[10, 0, 0, 100]);
        f[34..38].copy_from_slice(&[0x04, 0x00, 0x00, 0x50]);
        f
    }

    #[test]
    fn peeks_the_tuple_of_tcp_and_udp_and_nothing_else() {
        let want = |p| {
            ConnKey::new(
                IpProtocol(p),
                Ipv4Addr::new(10, 0, 0, 1),
                1024,
                Ipv4Addr::new(10, 0, 0, 100),
                80,
            )
        };
        assert_eq!(peek_tuple(&frame(6)), Some(want(6)));
        assert_eq!(peek_tuple(&frame(17)), Some(want(17)));
        assert_eq!(peek_tuple(&frame(1)), None);
        let mut arp = frame(6);
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        assert_eq!(peek_tuple(&arp), None);
        // Truncated anywhere: no tuple, no panic.
        let f = frame(6);
        for len in 0..38 {
            assert_eq!(peek_tuple(&f[..len]), None, "{len}");
        }
        let mut long_ihl = frame(6);
        long_ihl[14] = 0x4f;
        assert_eq!(peek_tuple(&long_ihl), None);
    }
}
