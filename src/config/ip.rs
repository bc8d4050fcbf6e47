//! Address text forms used by the config: IPv4 prefixes (`a.b.c.d/len`) and MAC addresses.
//!
//! Owns [`Ipv4Net`] and [`parse_mac`]/[`format_mac`]. Pure parsing and arithmetic on values; the
//! validation rules that use them (which prefix may overlap which) live in the checks.

use core::fmt;
use core::str::FromStr;
use std::net::Ipv4Addr;

/// An IPv4 address with a prefix length, as written `a.b.c.d/len`.
///
/// The address keeps its host bits: `192.168.1.11/24` is an interface address on the network
/// `192.168.1.0/24` ([`Ipv4Net::network`]). Routes want the host bits clear
/// ([`Ipv4Net::is_network`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv4Net {
    addr: Ipv4Addr,
    len: u8,
}

/// Why a prefix could not be parsed; the text tells the user what a valid one looks like.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Ipv4NetError {
    /// No `/len` part.
    #[error("`{0}` has no prefix length: write it as a.b.c.d/len, for example 10.0.0.1/24")]
    NoLength(String),
    /// The address part is not a dotted-quad IPv4 address.
    #[error("`{0}` is not an IPv4 address: write four decimal numbers 0-255 separated by dots")]
    BadAddr(String),
    /// The length is not a decimal number from 0 to 32.
    #[error("`{0}` is not a prefix length: write a decimal number from 0 to 32")]
    BadLength(String),
}

impl Ipv4Net {
    /// `0.0.0.0/0`: every address (the default route's destination).
    pub const ANY: Ipv4Net = Ipv4Net { addr: Ipv4Addr::UNSPECIFIED, len: 0 };

    /// A prefix from an address and a length; `None` when `len > 32`.
    pub const fn new(addr: Ipv4Addr, len: u8) -> Option<Ipv4Net> {
        if len > 32 {
            None
        } else {
            Some(Ipv4Net { addr, len })
        }
    }

    /// The /32 prefix of one address.
    pub const fn host(addr: Ipv4Addr) -> Ipv4Net {
        Ipv4Net { addr, len: 32 }
    }

    /// The address as written, host bits included.
    pub const fn addr(&self) -> Ipv4Addr {
        self.addr
    }

    /// The prefix length, 0 to 32.
    pub const fn prefix_len(&self) -> u8 {
        self.len
    }

    /// The netmask as a 32-bit number: `len` leading one bits.
    pub const fn mask(&self) -> u32 {
        match self.len {
            0 => 0,
            n => u32::MAX << (32 - n as u32),
        }
    }

    /// The network address: the address with the host bits cleared.
    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) & self.mask())
    }

    /// The directed broadcast address: the address with all host bits set.
    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) | !self.mask())
    }

    /// The same prefix with the host bits cleared.
    pub fn trunc(&self) -> Ipv4Net {
        Ipv4Net { addr: self.network(), len: self.len }
    }

    /// True when the host bits are all zero (the form a route destination takes).
    pub fn is_network(&self) -> bool {
        self.addr == self.network()
    }

    /// True when `ip` is inside this prefix.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & self.mask() == u32::from(self.network())
    }

    /// True when the two prefixes share at least one address (one contains the other).
    pub fn overlaps(&self, other: &Ipv4Net) -> bool {
        let shorter = if self.len <= other.len { self } else { other };
        let longer = if self.len <= other.len { other } else { self };
        shorter.contains(longer.addr)
    }
}

impl FromStr for Ipv4Net {
    type Err = Ipv4NetError;

    fn from_str(s: &str) -> Result<Ipv4Net, Ipv4NetError> {
        let (addr, len) = s.split_once('/').ok_or_else(|| Ipv4NetError::NoLength(s.to_owned()))?;
        let addr = addr.parse::<Ipv4Addr>().map_err(|_| Ipv4NetError::BadAddr(addr.to_owned()))?;
        let bad_len = || Ipv4NetError::BadLength(len.to_owned());
        if len.is_empty() || len.len() > 2 || !len.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad_len());
        }
        let len = len.parse::<u8>().map_err(|_| bad_len())?;
        Ipv4Net::new(addr, len).ok_or_else(bad_len)
    }
}

impl fmt::Display for Ipv4Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

/// Parses a MAC address written as six two-digit hex bytes separated by colons
/// (`02:00:00:aa:bb:01`, either case). Anything else is `None`.
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = s.split(':');
    for byte in mac.iter_mut() {
        let part = parts.next()?;
        if part.len() != 2 || !part.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        *byte = u8::from_str_radix(part, 16).ok()?;
    }
    match parts.next() {
        Some(_) => None,
        None => Some(mac),
    }
}

/// Formats a MAC address as six lower-case hex bytes separated by colons.
pub fn format_mac(mac: &[u8; 6]) -> String {
    let [a, b, c, d, e, g] = *mac;
    format!("{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
}

/// True for a unicast MAC that can name one station: not all zero, group bit clear.
pub fn is_unicast_mac(mac: &[u8; 6]) -> bool {
    mac[0] & 1 == 0 && *mac != [0; 6]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    #[test]
    fn parse_keeps_host_bits() {
        let n = net("192.168.100.11/24");
        assert_eq!(n.addr(), Ipv4Addr::new(192, 168, 100, 11));
        assert_eq!(n.prefix_len(), 24);
        assert_eq!(n.network(), Ipv4Addr::new(192, 168, 100, 0));
        assert_eq!(n.broadcast(), Ipv4Addr::new(192, 168, 100, 255));
        assert!(!n.is_network());
        assert_eq!(n.trunc(), net("192.168.100.0/24"));
        assert_eq!(n.to_string(), "192.168.100.11/24");
    }

    #[test]
    fn edge_lengths() {
        let all = net("10.1.2.3/0");
        assert_eq!(all.mask(), 0);
        assert_eq!(all.network(), Ipv4Addr::UNSPECIFIED);
        assert!(all.contains(Ipv4Addr::new(255, 255, 255, 255)));
        let host = net("10.1.2.3/32");
        assert_eq!(host.mask(), u32::MAX);
        assert!(host.contains(Ipv4Addr::new(10, 1, 2, 3)));
        assert!(!host.contains(Ipv4Addr::new(10, 1, 2, 4)));
        assert!(host.is_network());
    }

    #[test]
    fn rejects_malformed() {
        assert!(matches!("10.0.0.1".parse::<Ipv4Net>(), Err(Ipv4NetError::NoLength(_))));
        assert!(matches!("10.0.0/8".parse::<Ipv4Net>(), Err(Ipv4NetError::BadAddr(_))));
        assert!(matches!("10.0.0.256/8".parse::<Ipv4Net>(), Err(Ipv4NetError::BadAddr(_))));
        for len in ["", "33", "+8", "-1", "008", "8 ", "x"] {
            let s = format!("10.0.0.0/{len}");
            assert!(matches!(s.parse::<Ipv4Net>(), Err(Ipv4NetError::BadLength(_))), "{s}");
        }
    }

    #[test]
    fn contains_and_overlaps() {
        let a = net("10.0.0.0/8");
        let b = net("10.20.0.0/16");
        let c = net("11.0.0.0/8");
        assert!(a.contains(Ipv4Addr::new(10, 255, 0, 1)));
        assert!(!a.contains(Ipv4Addr::new(11, 0, 0, 0)));
        assert!(a.overlaps(&b) && b.overlaps(&a));
        assert!(!a.overlaps(&c) && !c.overlaps(&a));
        assert!(!b.overlaps(&net("10.21.0.0/16")));
    }

    #[test]
    fn mac_parse_and_format() {
        assert_eq!(parse_mac("02:00:0A:bb:cc:FF"), Some([2, 0, 0x0a, 0xbb, 0xcc, 0xff]));
        for bad in [
            "",
            "02:00:00:00:00",
            "02:00:00:00:00:00:00",
            "2:00:00:00:00:00",
            "02-00-00-00-00-00",
            "0g:00:00:00:00:00",
            "02:00:00:00:00:",
        ] {
            assert_eq!(parse_mac(bad), None, "{bad}");
        }
        assert_eq!(format_mac(&[2, 0, 0x0a, 0xbb, 0xcc, 0xff]), "02:00:0a:bb:cc:ff");
        assert!(is_unicast_mac(&[2, 0, 0, 0, 0, 1]));
        assert!(!is_unicast_mac(&[1, 0, 0x5e, 0, 0, 1]));
        assert!(!is_unicast_mac(&[0; 6]));
        assert!(!is_unicast_mac(&[0xff; 6]));
    }

    /// Containment by definition: `ip` is inside `a.b.c.d/len` when their first `len` bits agree.
    fn contains_by_bits(addr: u32, len: u8, ip: u32) -> bool {
        (0..len).all(|i| (addr >> (31 - i)) & 1 == (ip >> (31 - i)) & 1)
    }

    proptest! {
        #[test]
        fn contains_matches_bitwise_definition(addr: u32, len in 0u8..=32, ip: u32) {
            let n = Ipv4Net::new(Ipv4Addr::from(addr), len).unwrap();
            prop_assert_eq!(n.contains(Ipv4Addr::from(ip)), contains_by_bits(addr, len, ip));
        }

        #[test]
        fn overlap_means_a_shared_address(a: u32, la in 0u8..=32, b: u32, lb in 0u8..=32) {
            let na = Ipv4Net::new(Ipv4Addr::from(a), la).unwrap();
            let nb = Ipv4Net::new(Ipv4Addr::from(b), lb).unwrap();
            // Two prefixes share an address iff their first min(la, lb) bits agree.
            prop_assert_eq!(na.overlaps(&nb), contains_by_bits(a, la.min(lb), b));
            prop_assert_eq!(na.overlaps(&nb), nb.overlaps(&na));
        }

        #[test]
        fn display_parse_round_trip(addr: u32, len in 0u8..=32) {
            let n = Ipv4Net::new(Ipv4Addr::from(addr), len).unwrap();
            prop_assert_eq!(n.to_string().parse::<Ipv4Net>(), Ok(n));
        }

        #[test]
        fn mac_round_trip(mac: [u8; 6]) {
            prop_assert_eq!(parse_mac(&format_mac(&mac)), Some(mac));
        }

        #[test]
        fn parsers_never_panic(s in "\\PC{0,40}") {
            let _ = s.parse::<Ipv4Net>();
            let _ = parse_mac(&s);
        }
    }
}
