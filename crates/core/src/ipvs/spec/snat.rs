//! Source NAT: address ranges ([`AddrRange`]), the protocols a rule matches ([`SnatProto`]),
//! what a match service selects ([`MatchSpec`]) and a whole rule ([`SnatRule`]).

use serde::{Deserialize, Serialize};
use std::net::IpAddr;

use crate::wire::IpProtocol;

/// An inclusive address range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AddrRange {
    /// First address.
    pub first: IpAddr,
    /// Last address.
    pub last: IpAddr,
}

impl AddrRange {
    /// Whether `a` is within the range (same family only).
    pub fn contains(&self, a: IpAddr) -> bool {
        match (self.first, self.last, a) {
            (IpAddr::V4(f), IpAddr::V4(l), IpAddr::V4(x)) => f <= x && x <= l,
            (IpAddr::V6(f), IpAddr::V6(l), IpAddr::V6(x)) => f <= x && x <= l,
            _ => false,
        }
    }
}

/// Protocols a source-NAT rule matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum SnatProto {
    /// TCP, UDP and ICMP (the default).
    #[default]
    Any,
    /// TCP only.
    Tcp,
    /// UDP only.
    Udp,
    /// ICMP only (echo; the identifier plays the port's part).
    Icmp,
}

impl SnatProto {
    /// Lower-case name as rvsd's config writes it: `any`, `tcp`, `udp`, `icmp`.
    pub fn name(self) -> &'static str {
        match self {
            SnatProto::Any => "any",
            SnatProto::Tcp => "tcp",
            SnatProto::Udp => "udp",
            SnatProto::Icmp => "icmp",
        }
    }
    /// Parse `any`, `tcp`, `udp` or `icmp`.
    pub fn from_name(s: &str) -> Option<SnatProto> {
        [SnatProto::Any, SnatProto::Tcp, SnatProto::Udp, SnatProto::Icmp]
            .into_iter()
            .find(|p| p.name() == s)
    }
    /// The IP protocol number matched; `None` for `Any` (TCP, UDP and ICMP).
    pub const fn ip_proto(self) -> Option<IpProtocol> {
        match self {
            SnatProto::Any => None,
            SnatProto::Tcp => Some(IpProtocol::TCP),
            SnatProto::Udp => Some(IpProtocol::UDP),
            SnatProto::Icmp => Some(IpProtocol::ICMP),
        }
    }
}

/// A source-NAT rule: traffic matching it leaves from `out_addr`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SnatRule {
    /// Source addresses matched; `None` = any.
    pub src: Option<AddrRange>,
    /// Destination addresses matched; `None` = any.
    pub dst: Option<AddrRange>,
    /// Protocols matched.
    pub proto: SnatProto,
    /// Source address used on the way out.
    pub out_addr: IpAddr,
    /// SYN proxy (hardening): the director answers TCP SYNs with cookies and takes a port
    /// from the pool only once the inside host's ACK validates. TCP only; rvs extension.
    #[serde(default)]
    pub synproxy: bool,
}

/// What a match service (`-H`, DPVS's SNAT spelling) selects: the fields of a [`SnatRule`]
/// without its out address. The text forms are rvsadm's.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MatchSpec {
    /// Protocols matched.
    pub proto: SnatProto,
    /// Source addresses matched; `None` = any.
    pub src: Option<AddrRange>,
    /// Destination addresses matched; `None` = any.
    pub dst: Option<AddrRange>,
}

impl MatchSpec {
    /// The rule this match makes with its SNAT address `out_addr`.
    pub fn rule(&self, out_addr: IpAddr) -> SnatRule {
        SnatRule { src: self.src, dst: self.dst, proto: self.proto, out_addr, synproxy: false }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addr_range_contains() {
        let r = AddrRange { first: "10.0.0.1".parse().unwrap(), last: "10.0.0.9".parse().unwrap() };
        assert!(r.contains("10.0.0.5".parse().unwrap()));
        assert!(!r.contains("10.0.0.10".parse().unwrap()));
        assert!(!r.contains("::1".parse().unwrap()));
    }

    #[test]
    fn snat_proto_names_and_numbers() {
        for p in [SnatProto::Any, SnatProto::Tcp, SnatProto::Udp, SnatProto::Icmp] {
            assert_eq!(SnatProto::from_name(p.name()), Some(p));
        }
        assert_eq!(SnatProto::from_name("sctp"), None);
        assert_eq!(SnatProto::Any.ip_proto(), None);
        assert_eq!(SnatProto::Icmp.ip_proto(), Some(IpProtocol::ICMP));
    }
}
