//! Parsing of the small values on an ipvsadm command line: `host[:port]`, numbers, netmasks.
//!
//! Owns the lexical rules ipvsadm inherited from the C library so that rvsadm accepts exactly
//! what users type today: `inet_aton` address forms (`10.1` = 10.0.0.1, `0x0a.0.0.1`), `[v6]:port`,
//! bare IPv6 literals without a port, service names for ports, `strtol`-style numbers. Must not
//! touch: command semantics (that is `cli`). Names come from a [`Names`] resolver, consulted only
//! when the text is not a literal.

use super::names::Names;
use rvs_core::ipvs::spec::Protocol;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// `host[:port]` split and resolved. `port` is `None` when no port was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostPort {
    /// The address.
    pub addr: IpAddr,
    /// The port, if one was written.
    pub port: Option<u16>,
}

/// A decimal number in `min..=max`, with C `strtol` leniency (leading blanks, a sign).
pub fn number_in(s: &str, min: i64, max: i64) -> Option<i64> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, t.get(1..)?),
        Some(b'+') => (false, t.get(1..)?),
        _ => (false, t),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Overflow of i64 is C's ERANGE: refused.
    let v: i64 = digits.parse().ok()?;
    let v = if neg { -v } else { v };
    (min..=max).contains(&v).then_some(v)
}

/// One part of an `inet_aton` address: decimal, `0`-prefixed octal or `0x` hex.
fn aton_part(p: &str) -> Option<u64> {
    let b = p.as_bytes();
    if !b.first()?.is_ascii_digit() {
        return None;
    }
    let (digits, radix) = if let Some(h) = p.strip_prefix("0x").or_else(|| p.strip_prefix("0X")) {
        (h, 16)
    } else if p.len() > 1 && p.starts_with('0') {
        (&p[1..], 8)
    } else {
        (p, 10)
    };
    if digits.is_empty() {
        // "0x" alone is 0 in C.
        return Some(0);
    }
    u64::from_str_radix(digits, radix).ok()
}

/// IPv4 address in any form the C library's `inet_aton` accepts (`a`, `a.b`, `a.b.c`, `a.b.c.d`).
pub fn inet_aton(s: &str) -> Option<Ipv4Addr> {
    let parts: Vec<u64> = s.split('.').map(aton_part).collect::<Option<_>>()?;
    let v: u64 = match parts.as_slice() {
        [a] if *a <= 0xffff_ffff => *a,
        [a, b] if *a <= 0xff && *b <= 0xff_ffff => (a << 24) | b,
        [a, b, c] if *a <= 0xff && *b <= 0xff && *c <= 0xffff => (a << 24) | (b << 16) | c,
        [a, b, c, d] if *a <= 0xff && *b <= 0xff && *c <= 0xff && *d <= 0xff => {
            (a << 24) | (b << 16) | (c << 8) | d
        }
        _ => return None,
    };
    u32::try_from(v).ok().map(Ipv4Addr::from)
}

/// An IPv4 address literal, else a host name resolved to IPv4.
fn v4_or_name(s: &str, names: &dyn Names) -> Option<Ipv4Addr> {
    inet_aton(s).or_else(|| if s.is_empty() { None } else { names.host_addr(s) })
}

/// Parse `host[:port]`, `[v6addr]:port` or a bare IPv6 literal, as ipvsadm does. `proto` selects
/// the service-name table for a named port. `None` means "illegal address[:port]".
pub fn parse_hostport(s: &str, proto: Protocol, names: &dyn Names) -> Option<HostPort> {
    // All digits (including empty) is refused: `-t 80` is a mistake, not host 0.0.0.80.
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let port_of = |p: &str| -> Option<u16> {
        match number_in(p, 0, 65_535) {
            Some(n) => u16::try_from(n).ok(),
            None => names.service_port(p, proto),
        }
    };
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = after.strip_prefix(':')?;
        let addr: Ipv6Addr = host.parse().ok()?;
        return Some(HostPort { addr: IpAddr::V6(addr), port: Some(port_of(port)?) });
    }
    if let Ok(v6) = s.parse::<Ipv6Addr>() {
        return Some(HostPort { addr: IpAddr::V6(v6), port: None });
    }
    match s.rsplit_once(':') {
        Some((host, port)) => Some(HostPort {
            addr: IpAddr::V4(v4_or_name(host, names)?),
            port: Some(port_of(port)?),
        }),
        None => Some(HostPort { addr: IpAddr::V4(v4_or_name(s, names)?), port: None }),
    }
}

/// An IPv4 netmask (`-M` on an IPv4 service): any `inet_aton` form or a host name.
pub fn parse_netmask_v4(s: &str, names: &dyn Names) -> Option<Ipv4Addr> {
    v4_or_name(s, names)
}

/// An IPv6 prefix length (`-M` on an IPv6 service): C `atoi` then 1..=128.
pub fn parse_netmask_v6(s: &str) -> Option<u8> {
    // atoi: leading blanks, sign, then the longest digit prefix; garbage after is ignored.
    let t = s.trim_start();
    let (neg, rest) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let end = rest.bytes().take_while(u8::is_ascii_digit).count();
    let v: i64 = rest[..end].parse().unwrap_or(0);
    let v = if neg { -v } else { v };
    if (1..=128).contains(&v) {
        u8::try_from(v).ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rvsadm::names::{NoNames, StaticNames};
    use proptest::prelude::*;

    fn hp(s: &str) -> Option<HostPort> {
        let n = StaticNames::from_text("10.2.3.4 lb\n", "http 80/tcp www\ndomain 53/udp\n");
        parse_hostport(s, Protocol::Tcp, &n)
    }
    fn v4(a: u8, b: u8, c: u8, d: u8, port: Option<u16>) -> Option<HostPort> {
        Some(HostPort { addr: IpAddr::V4(Ipv4Addr::new(a, b, c, d)), port })
    }

    #[test]
    fn host_port_forms() {
        assert_eq!(hp("192.168.0.38:80"), v4(192, 168, 0, 38, Some(80)));
        assert_eq!(hp("192.168.0.38"), v4(192, 168, 0, 38, None));
        assert_eq!(hp("192.168.0.38:0"), v4(192, 168, 0, 38, Some(0)));
        assert_eq!(hp("192.168.0.38:http"), v4(192, 168, 0, 38, Some(80)));
        assert_eq!(hp("192.168.0.38:www"), v4(192, 168, 0, 38, Some(80)));
        assert_eq!(hp("lb:8080"), v4(10, 2, 3, 4, Some(8080)));
        assert_eq!(hp("10.1:80"), v4(10, 0, 0, 1, Some(80)));
        assert_eq!(hp("0x0a.0.0.010:80"), v4(10, 0, 0, 8, Some(80)));
        let v6 = Some(HostPort { addr: "2001:db8::1".parse().unwrap(), port: Some(443) });
        assert_eq!(hp("[2001:db8::1]:443"), v6);
        assert_eq!(
            hp("2001:db8::1"),
            Some(HostPort { addr: "2001:db8::1".parse().unwrap(), port: None })
        );
    }

    #[test]
    fn host_port_refusals() {
        for bad in [
            "",
            "80",
            "192.168.0.38:",
            "192.168.0.38:65536",
            "192.168.0.38:-1",
            "192.168.0.38:domain",
            "[2001:db8::1]",
            "[2001:db8::1]80",
            "[1.2.3.4]:80",
            "unknownhost:80",
            "256.1.1.1:80",
            "1..2.3:80",
        ] {
            assert_eq!(hp(bad), None, "{bad:?} must be refused");
        }
    }

    #[test]
    fn numbers_like_strtol() {
        assert_eq!(number_in("3", 0, 65535), Some(3));
        assert_eq!(number_in(" +7", 0, 65535), Some(7));
        assert_eq!(number_in("65536", 0, 65535), None);
        assert_eq!(number_in("-1", 0, 65535), None);
        assert_eq!(number_in("3x", 0, 65535), None);
        assert_eq!(number_in("", 0, 65535), None);
        assert_eq!(number_in("99999999999999999999999", 0, 65535), None);
    }

    #[test]
    fn netmasks() {
        assert_eq!(
            parse_netmask_v4("255.255.255.0", &NoNames),
            Some(Ipv4Addr::new(255, 255, 255, 0))
        );
        assert_eq!(parse_netmask_v4("nonsense", &NoNames), None);
        assert_eq!(parse_netmask_v6("64"), Some(64));
        assert_eq!(parse_netmask_v6("0"), None);
        assert_eq!(parse_netmask_v6("129"), None);
    }

    proptest! {
        #[test]
        fn never_panics(s in ".{0,40}") {
            let _ = hp(&s);
            let _ = number_in(&s, 0, 65535);
            let _ = parse_netmask_v6(&s);
            let _ = inet_aton(&s);
        }

        #[test]
        fn dotted_quads_round_trip(a: u8, b: u8, c: u8, d: u8, port: u16) {
            let s = format!("{a}.{b}.{c}.{d}:{port}");
            prop_assert_eq!(hp(&s), v4(a, b, c, d, Some(port)));
        }
    }
}
