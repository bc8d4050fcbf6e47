//! The IPv6 prefix text form used by the config (`2001:db8::1/64`).
//!
//! Owns [`Ipv6Net`]: parsing and prefix arithmetic on values, the IPv6 counterpart of
//! [`super::Ipv4Net`]. The rules that use it (which kinds may have which lengths, overlaps)
//! live in the checks (`check/net6.rs`).

use core::fmt;
use core::str::FromStr;
use std::net::Ipv6Addr;

/// An IPv6 address with a prefix length, as written `addr/len`. The address keeps its host
/// bits: `2001:db8::1/64` is an interface address on the network `2001:db8::/64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv6Net {
    addr: Ipv6Addr,
    len: u8,
}

/// Why an IPv6 prefix could not be parsed; the text says what a valid one looks like.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Ipv6NetError {
    /// No `/len` part.
    #[error("`{0}` has no prefix length: write it as addr/len, for example 2001:db8::1/64")]
    NoLength(String),
    /// The address part is not an IPv6 address.
    #[error("`{0}` is not an IPv6 address: write eight groups of hex digits separated by colons, `::` for a run of zeros")]
    BadAddr(String),
    /// The length is not a decimal number from 0 to 128.
    #[error("`{0}` is not an IPv6 prefix length: write a decimal number from 0 to 128")]
    BadLength(String),
}

impl Ipv6Net {
    /// `::/0`: every address (the IPv6 default route's destination).
    pub const ANY: Ipv6Net = Ipv6Net { addr: Ipv6Addr::UNSPECIFIED, len: 0 };

    /// A prefix from an address and a length; `None` when `len > 128`.
    pub const fn new(addr: Ipv6Addr, len: u8) -> Option<Ipv6Net> {
        if len > 128 {
            None
        } else {
            Some(Ipv6Net { addr, len })
        }
    }

    /// The address as written, host bits included.
    pub const fn addr(&self) -> Ipv6Addr {
        self.addr
    }

    /// The prefix length, 0 to 128.
    pub const fn prefix_len(&self) -> u8 {
        self.len
    }

    /// The netmask as a 128-bit number: `len` leading one bits.
    pub const fn mask(&self) -> u128 {
        match self.len {
            0 => 0,
            n => u128::MAX << (128 - n as u32),
        }
    }

    /// The network address: the address with the host bits cleared.
    pub fn network(&self) -> Ipv6Addr {
        Ipv6Addr::from(u128::from(self.addr) & self.mask())
    }

    /// The same prefix with the host bits cleared.
    pub fn trunc(&self) -> Ipv6Net {
        Ipv6Net { addr: self.network(), len: self.len }
    }

    /// True when the host bits are all zero (the form a route destination takes).
    pub fn is_network(&self) -> bool {
        self.addr == self.network()
    }

    /// True when `ip` is inside this prefix.
    pub fn contains(&self, ip: Ipv6Addr) -> bool {
        u128::from(ip) & self.mask() == u128::from(self.network())
    }

    /// True when the two prefixes share at least one address.
    pub fn overlaps(&self, other: &Ipv6Net) -> bool {
        let (shorter, longer) = if self.len <= other.len { (self, other) } else { (other, self) };
        shorter.contains(longer.addr)
    }
}

impl FromStr for Ipv6Net {
    type Err = Ipv6NetError;

    fn from_str(s: &str) -> Result<Ipv6Net, Ipv6NetError> {
        let (addr, len) = s.split_once('/').ok_or_else(|| Ipv6NetError::NoLength(s.to_owned()))?;
        let addr = addr.parse::<Ipv6Addr>().map_err(|_| Ipv6NetError::BadAddr(addr.to_owned()))?;
        let bad_len = || Ipv6NetError::BadLength(len.to_owned());
        if len.is_empty() || len.len() > 3 || !len.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad_len());
        }
        let len = len.parse::<u8>().map_err(|_| bad_len())?;
        Ipv6Net::new(addr, len).ok_or_else(bad_len)
    }
}

impl fmt::Display for Ipv6Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn net(s: &str) -> Ipv6Net {
        s.parse().unwrap()
    }

    #[test]
    fn parse_keeps_host_bits() {
        let n = net("2001:db8:0:1::11/64");
        assert_eq!(n.addr(), "2001:db8:0:1::11".parse::<Ipv6Addr>().unwrap());
        assert_eq!(n.network(), "2001:db8:0:1::".parse::<Ipv6Addr>().unwrap());
        assert!(!n.is_network());
        assert_eq!(n.trunc(), net("2001:db8:0:1::/64"));
        assert_eq!(n.to_string(), "2001:db8:0:1::11/64");
        assert_eq!(net("::/0"), Ipv6Net::ANY);
        assert!(net("::1/128").is_network());
    }

    #[test]
    fn rejects_malformed() {
        assert!(matches!("2001:db8::1".parse::<Ipv6Net>(), Err(Ipv6NetError::NoLength(_))));
        assert!(matches!("10.0.0.1/8".parse::<Ipv6Net>(), Err(Ipv6NetError::BadAddr(_))));
        assert!(matches!("2001:db8:::1/8".parse::<Ipv6Net>(), Err(Ipv6NetError::BadAddr(_))));
        for len in ["", "129", "+8", "-1", "0128", "8 ", "x"] {
            let s = format!("2001:db8::/{len}");
            assert!(matches!(s.parse::<Ipv6Net>(), Err(Ipv6NetError::BadLength(_))), "{s}");
        }
    }

    fn contains_by_bits(addr: u128, len: u8, ip: u128) -> bool {
        (0..len).all(|i| (addr >> (127 - i)) & 1 == (ip >> (127 - i)) & 1)
    }

    proptest! {
        #[test]
        fn contains_matches_bitwise_definition(addr: u128, len in 0u8..=128, ip: u128) {
            let n = Ipv6Net::new(Ipv6Addr::from(addr), len).unwrap();
            prop_assert_eq!(n.contains(Ipv6Addr::from(ip)), contains_by_bits(addr, len, ip));
        }

        #[test]
        fn overlap_means_a_shared_address(a: u128, la in 0u8..=128, b: u128, lb in 0u8..=128) {
            let na = Ipv6Net::new(Ipv6Addr::from(a), la).unwrap();
            let nb = Ipv6Net::new(Ipv6Addr::from(b), lb).unwrap();
            prop_assert_eq!(na.overlaps(&nb), contains_by_bits(a, la.min(lb), b));
        }

        #[test]
        fn display_parse_round_trip(addr: u128, len in 0u8..=128) {
            let n = Ipv6Net::new(Ipv6Addr::from(addr), len).unwrap();
            prop_assert_eq!(n.to_string().parse::<Ipv6Net>(), Ok(n));
        }

        #[test]
        fn parser_never_panics(s in "\\PC{0,60}") {
            let _ = s.parse::<Ipv6Net>();
        }
    }
}
