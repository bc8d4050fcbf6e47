//! The address sets of `[[snat]]` (`src`, `dst`) as text: a prefix `a.b.c.d/len`, one address
//! `a.b.c.d`, or an inclusive range `a.b.c.d-e.f.g.h`; `None` stands for every address.
//!
//! Owns the text forms only: [`parse_range`] reads one, [`format_range`] writes the shortest.

use std::net::{IpAddr, Ipv4Addr};

use crate::config::ip::Ipv4Net;
use crate::ipvs::spec::AddrRange;

fn range(first: Ipv4Addr, last: Ipv4Addr) -> Option<AddrRange> {
    if first == Ipv4Addr::UNSPECIFIED && last == Ipv4Addr::BROADCAST {
        None
    } else {
        Some(AddrRange { first: IpAddr::V4(first), last: IpAddr::V4(last) })
    }
}

/// Parses a prefix, an address or `first-last`; every IPv4 address is `None`. The error says
/// what to write.
pub(super) fn parse_range(s: &str) -> Result<Option<AddrRange>, String> {
    if s.contains('/') {
        let net: Ipv4Net = s.parse().map_err(|e| format!("{e}"))?;
        if !net.is_network() {
            return Err(format!(
                "{net} has host bits set: a match is a network, write {}",
                net.trunc()
            ));
        }
        return Ok(range(net.network(), net.broadcast()));
    }
    let addr = |t: &str| {
        t.parse::<Ipv4Addr>().map_err(|_| {
            format!("`{s}` is not an address set: write a.b.c.d/len, a.b.c.d or first-last")
        })
    };
    match s.split_once('-') {
        Some((a, b)) => {
            let (first, last) = (addr(a)?, addr(b)?);
            if first > last {
                return Err(format!("{first} is above {last}: write the range low-high"));
            }
            Ok(range(first, last))
        }
        None => {
            let ip = addr(s)?;
            Ok(range(ip, ip))
        }
    }
}

/// The shortest text [`parse_range`] reads back as `r`: a prefix when the range is one, else
/// `first-last` (IPv6 ranges, which the config does not take, are written that way too).
pub(super) fn format_range(r: Option<&AddrRange>) -> String {
    let Some(r) = r else {
        return "0.0.0.0/0".to_owned();
    };
    if let (IpAddr::V4(first), IpAddr::V4(last)) = (r.first, r.last) {
        let (f, l) = (u32::from(first), u32::from(last));
        if f == l {
            return first.to_string();
        }
        if f < l {
            let size = u64::from(l - f) + 1;
            if size.is_power_of_two() && u64::from(f) % size == 0 {
                return format!("{first}/{}", 32 - size.trailing_zeros());
            }
        }
    }
    format!("{}-{}", r.first, r.last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn v4(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forms() {
        let r = |a: &str, b: &str| Ok(Some(AddrRange { first: v4(a), last: v4(b) }));
        assert_eq!(parse_range("192.168.200.0/24"), r("192.168.200.0", "192.168.200.255"));
        assert_eq!(parse_range("10.0.0.7"), r("10.0.0.7", "10.0.0.7"));
        assert_eq!(parse_range("10.0.0.7/32"), r("10.0.0.7", "10.0.0.7"));
        assert_eq!(parse_range("10.0.0.5-10.0.0.9"), r("10.0.0.5", "10.0.0.9"));
        assert_eq!(parse_range("0.0.0.0/0"), Ok(None));
        assert_eq!(parse_range("0.0.0.0-255.255.255.255"), Ok(None));
        assert!(parse_range("10.0.0.1/24").unwrap_err().contains("write 10.0.0.0/24"));
        assert!(parse_range("10.0.0.9-10.0.0.5").unwrap_err().contains("low-high"));
        assert!(parse_range("any").unwrap_err().contains("a.b.c.d/len"));
        assert!(parse_range("10.0.0.0/33").is_err());
    }

    #[test]
    fn shortest_text() {
        let r = |a: &str, b: &str| AddrRange { first: v4(a), last: v4(b) };
        assert_eq!(format_range(None), "0.0.0.0/0");
        assert_eq!(format_range(Some(&r("10.0.0.0", "10.0.0.255"))), "10.0.0.0/24");
        assert_eq!(format_range(Some(&r("10.0.0.1", "10.0.0.1"))), "10.0.0.1");
        assert_eq!(format_range(Some(&r("10.0.0.1", "10.0.0.2"))), "10.0.0.1-10.0.0.2");
        assert_eq!(format_range(Some(&r("0.0.0.0", "127.255.255.255"))), "0.0.0.0/1");
    }

    proptest! {
        #[test]
        fn format_then_parse_is_identity(a: u32, b: u32) {
            let (f, l) = (a.min(b), a.max(b));
            let r = range(Ipv4Addr::from(f), Ipv4Addr::from(l));
            prop_assert_eq!(parse_range(&format_range(r.as_ref())), Ok(r));
        }

        #[test]
        fn prefixes_are_written_as_prefixes(a: u32, len in 1u8..=31) {
            let net = Ipv4Net::new(Ipv4Addr::from(a), len).unwrap().trunc();
            let r = range(net.network(), net.broadcast());
            prop_assert_eq!(format_range(r.as_ref()), net.to_string());
        }

        #[test]
        fn parse_never_panics(s in "[0-9./-]{0,40}") {
            let _ = parse_range(&s);
        }
    }
}
