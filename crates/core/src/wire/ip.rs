//! IP protocol numbers (the IPv4 protocol / IPv6 next header field), shared by [`super::ipv4`]
//! and [`super::ipv6`]. Owns the numbering only (IANA "Assigned Internet Protocol Numbers").
//!
//! [`IpProtocol`] is the one IP-protocol type of the director, from parsing to the connection
//! key: a one-byte newtype rather than an enum, so that connection keys, entries and
//! forwarding contexts store it at no cost, every number (known or not) round-trips, and code
//! matches on its named constants (`IpProtocol::TCP`) as on an enum.

/// The protocol carried by an IP datagram: its 8-bit number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[repr(transparent)]
pub struct IpProtocol(pub u8);

impl IpProtocol {
    /// 1: ICMP for IPv4.
    pub const ICMP: IpProtocol = IpProtocol(1);
    /// 4: IPv4 encapsulated in IP (IP-in-IP, the LVS tunnel mode).
    pub const IPIP: IpProtocol = IpProtocol(4);
    /// 6: TCP.
    pub const TCP: IpProtocol = IpProtocol(6);
    /// 17: UDP.
    pub const UDP: IpProtocol = IpProtocol(17);
    /// 41: IPv6 encapsulated in IP.
    pub const IPV6: IpProtocol = IpProtocol(41);
    /// 47: GRE.
    pub const GRE: IpProtocol = IpProtocol(47);
    /// 58: ICMP for IPv6.
    pub const ICMPV6: IpProtocol = IpProtocol(58);

    /// The protocol number.
    #[inline]
    pub const fn number(self) -> u8 {
        self.0
    }
}

impl From<u8> for IpProtocol {
    #[inline]
    fn from(v: u8) -> Self {
        IpProtocol(v)
    }
}

impl From<IpProtocol> for u8 {
    #[inline]
    fn from(p: IpProtocol) -> u8 {
        p.0
    }
}

impl core::fmt::Display for IpProtocol {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            IpProtocol::ICMP => f.write_str("icmp"),
            IpProtocol::IPIP => f.write_str("ipip"),
            IpProtocol::TCP => f.write_str("tcp"),
            IpProtocol::UDP => f.write_str("udp"),
            IpProtocol::IPV6 => f.write_str("ipv6"),
            IpProtocol::GRE => f.write_str("gre"),
            IpProtocol::ICMPV6 => f.write_str("icmpv6"),
            IpProtocol(v) => write!(f, "proto-{v}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip() {
        for v in 0..=255u8 {
            assert_eq!(u8::from(IpProtocol::from(v)), v);
        }
        assert_eq!(IpProtocol::from(6), IpProtocol::TCP);
        assert_eq!(IpProtocol::from(17), IpProtocol::UDP);
        assert_eq!(IpProtocol::from(4), IpProtocol::IPIP);
        assert_eq!(IpProtocol::from(1), IpProtocol::ICMP);
        assert_eq!(IpProtocol::from(200), IpProtocol(200));
        assert_eq!(IpProtocol::TCP.to_string(), "tcp");
        assert_eq!(IpProtocol(200).to_string(), "proto-200");
    }
}
