//! The flow tuple: the one shape of "protocol, source and destination address and port" from
//! parsing to the connection key.
//!
//! Owns [`Tuple`], and [`ports`] (where TCP and UDP keep theirs). The receiving stack's parse makes it ([`super::FlowMeta`]), the
//! connection table is keyed by it (`ipvs::conn::ConnKey` is this type), schedulers read it
//! (`ipvs::sched::SchedKey` is `Tuple<IpAddr>`) and an ICMP error's quoted datagram yields one
//! ([`super::icmpv4::Quoted::tuple`]). Generic over the address so IPv4 keys stay small; the
//! hash the connection table uses lives with the table.

use std::net::IpAddr;

use super::ip::IpProtocol;
use super::{get_u16, Field};

/// Where TCP and UDP keep their ports: the first four bytes of the header, alike.
mod field {
    use super::Field;
    pub const SRC_PORT: Field = 0..2;
    pub const DST_PORT: Field = 2..4;
}

/// The source and destination ports of a TCP or UDP header, read from its first four bytes
/// without checking the rest (for a hash over a header another step checks or does not need);
/// `None` when `l4` is shorter.
#[inline]
pub fn ports(l4: &[u8]) -> Option<(u16, u16)> {
    let b = l4.get(..field::DST_PORT.end)?;
    Some((get_u16(b, field::SRC_PORT.start), get_u16(b, field::DST_PORT.start)))
}

/// One direction of a flow: the IP protocol and the source and destination address and port,
/// as read from a packet. For an ICMP echo both "ports" are the echo identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tuple<A> {
    /// IP protocol.
    pub proto: IpProtocol,
    /// Source address.
    pub saddr: A,
    /// Source port.
    pub sport: u16,
    /// Destination address.
    pub daddr: A,
    /// Destination port.
    pub dport: u16,
}

impl<A> Tuple<A> {
    /// A tuple from its parts.
    #[inline]
    pub const fn new(proto: IpProtocol, saddr: A, sport: u16, daddr: A, dport: u16) -> Self {
        Tuple { proto, saddr, sport, daddr, dport }
    }

    /// The tuple of a packet travelling the other way (source and destination swapped).
    #[inline]
    pub fn reversed(self) -> Self {
        Tuple {
            proto: self.proto,
            saddr: self.daddr,
            sport: self.dport,
            daddr: self.saddr,
            dport: self.sport,
        }
    }

    /// The same tuple with its addresses in another form (an IPv4 tuple as `Tuple<IpAddr>`).
    #[inline]
    pub fn map_addr<B>(self, f: impl Fn(A) -> B) -> Tuple<B> {
        Tuple {
            proto: self.proto,
            saddr: f(self.saddr),
            sport: self.sport,
            daddr: f(self.daddr),
            dport: self.dport,
        }
    }
}

impl<A: Into<IpAddr>> Tuple<A> {
    /// The tuple with family-independent addresses (what schedulers key on).
    #[inline]
    pub fn to_ip(self) -> Tuple<IpAddr> {
        self.map_addr(Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn reversed_twice_is_the_tuple() {
        let t =
            Tuple::new(IpProtocol::TCP, Ipv4Addr::new(10, 0, 0, 1), 1000, [10, 0, 0, 2].into(), 80);
        let r = t.reversed();
        assert_eq!((r.saddr, r.sport, r.daddr, r.dport), (t.daddr, t.dport, t.saddr, t.sport));
        assert_eq!(r.reversed(), t);
        let ip = t.to_ip();
        assert_eq!((ip.proto, ip.saddr, ip.dport), (IpProtocol::TCP, IpAddr::V4(t.saddr), 80));
    }
}
