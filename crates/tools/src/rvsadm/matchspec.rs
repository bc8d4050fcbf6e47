//! The text forms of a match service (`-H`): the argument rvsadm parses, the `MATCH ...` name
//! `-L` prints and the `-H ...` argument `-S` writes.
//!
//! Owns [`parse_match`], [`listing_name`] and [`rule_arg`]. The argument is a comma-separated
//! list `proto=tcp|udp|icmp|any,src-range=RANGE,dst-range=RANGE,iif=IFNAME,oif=IFNAME`, with
//! `RANGE := IP1[-IP2][:PORT1[-PORT2]]`, every field optional. rvs matches SNAT traffic by
//! protocol and address ranges: a port range other than "any" (`0`, `0-0`, `0-65535`) and a
//! non-empty `iif`/`oif` are refused with a message rather than accepted and ignored.
//! `0.0.0.0-0.0.0.0:0-0` (what DPVS prints for an unset range) means any. IPv4 only.
//!
//! Listing (as DPVS's ipvsadm prints a match service): `MATCH proto` then `,from=RANGE` and
//! `,to=RANGE` for the ranges that are set, each written `first-last:0-0`.

use rvs_core::ipvs::spec::{AddrRange, MatchSpec, SnatProto, SpecError};
use std::net::{IpAddr, Ipv4Addr};

fn bad(arg: &str, why: impl Into<String>) -> SpecError {
    SpecError::BadMatch(arg.to_string(), why.into())
}

fn parse_range(arg: &str, key: &str, v: &str) -> Result<Option<AddrRange>, SpecError> {
    if v.is_empty() {
        return Ok(None);
    }
    let (ips, ports) = match v.split_once(':') {
        Some((a, p)) => (a, Some(p)),
        None => (v, None),
    };
    if let Some(p) = ports {
        if !matches!(p, "" | "0" | "0-0" | "0-65535") {
            return Err(bad(
                arg,
                format!("{key} port range `{p}`: rvs matches SNAT traffic by address, not port; leave the `:ports` out"),
            ));
        }
    }
    let ip = |t: &str| {
        t.parse::<Ipv4Addr>()
            .map_err(|_| bad(arg, format!("{key} `{v}` is not IP1[-IP2] with IPv4 addresses")))
    };
    let (first, last) = match ips.split_once('-') {
        Some((a, b)) => (ip(a)?, ip(b)?),
        None => (ip(ips)?, ip(ips)?),
    };
    if first > last {
        return Err(bad(arg, format!("{key}: {first} is above {last}; write the range low-high")));
    }
    if first == Ipv4Addr::UNSPECIFIED
        && (last == Ipv4Addr::UNSPECIFIED || last == Ipv4Addr::BROADCAST)
    {
        return Ok(None);
    }
    Ok(Some(AddrRange { first: IpAddr::V4(first), last: IpAddr::V4(last) }))
}

/// Parses the `-H` argument.
pub fn parse_match(arg: &str) -> Result<MatchSpec, SpecError> {
    let mut m = MatchSpec { proto: SnatProto::Any, src: None, dst: None };
    let mut seen: Vec<&str> = Vec::new();
    for field in arg.split(',').filter(|f| !f.is_empty()) {
        let (key, v) = field.split_once('=').ok_or_else(|| {
            bad(arg, format!("`{field}` is not key=value (proto, src-range, dst-range, iif, oif)"))
        })?;
        if seen.contains(&key) {
            return Err(bad(arg, format!("`{key}` is given twice")));
        }
        seen.push(key);
        match key {
            "proto" => {
                m.proto = SnatProto::from_name(v).ok_or_else(|| {
                    bad(arg, format!("proto `{v}`: write tcp, udp, icmp or any"))
                })?;
            }
            "src-range" => m.src = parse_range(arg, key, v)?,
            "dst-range" => m.dst = parse_range(arg, key, v)?,
            "iif" | "oif" if v.is_empty() => {}
            "iif" | "oif" => {
                return Err(bad(
                    arg,
                    format!("{key}={v}: rvs matches SNAT traffic by protocol and address ranges, not by interface; leave {key} out"),
                ))
            }
            _ => {
                return Err(bad(
                    arg,
                    format!("unknown key `{key}` (proto, src-range, dst-range, iif, oif)"),
                ))
            }
        }
    }
    Ok(m)
}

fn range_text(r: &AddrRange) -> String {
    format!("{}-{}", r.first, r.last)
}

/// `MATCH tcp,from=A-B:0-0,to=C-D:0-0`, as `-L` shows a match service.
pub fn listing_name(m: &MatchSpec) -> String {
    let mut s = format!("MATCH {}", m.proto.name());
    if let Some(r) = &m.src {
        s.push_str(&format!(",from={}:0-0", range_text(r)));
    }
    if let Some(r) = &m.dst {
        s.push_str(&format!(",to={}:0-0", range_text(r)));
    }
    s
}

/// `proto=tcp,src-range=A-B,dst-range=C-D`, the `-H` argument `-S` writes (parses back equal).
pub fn rule_arg(m: &MatchSpec) -> String {
    let mut s = format!("proto={}", m.proto.name());
    if let Some(r) = &m.src {
        s.push_str(&format!(",src-range={}", range_text(r)));
    }
    if let Some(r) = &m.dst {
        s.push_str(&format!(",dst-range={}", range_text(r)));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn r(a: &str, b: &str) -> Option<AddrRange> {
        Some(AddrRange { first: a.parse().unwrap(), last: b.parse().unwrap() })
    }

    #[test]
    fn parses_dpvs_spellings() {
        let m = parse_match("proto=tcp,src-range=10.0.0.1-10.0.0.254,dst-range=8.8.8.8").unwrap();
        assert_eq!(m.proto, SnatProto::Tcp);
        assert_eq!(m.src, r("10.0.0.1", "10.0.0.254"));
        assert_eq!(m.dst, r("8.8.8.8", "8.8.8.8"));
        // What DPVS's -S writes: unset ranges, port ranges of 0 and empty interfaces.
        let m = parse_match(
            "proto=udp,src-range=192.168.100.0-192.168.100.254:0-0,dst-range=0.0.0.0-0.0.0.0:0-0,iif=,oif=",
        )
        .unwrap();
        assert_eq!(
            m,
            MatchSpec {
                proto: SnatProto::Udp,
                src: r("192.168.100.0", "192.168.100.254"),
                dst: None
            }
        );
        assert_eq!(
            parse_match("").unwrap(),
            MatchSpec { proto: SnatProto::Any, src: None, dst: None }
        );
    }

    #[test]
    fn refuses_what_rvs_does_not_match_on() {
        let e = |s: &str| parse_match(s).unwrap_err().to_string();
        assert!(e("proto=sctp").contains("proto `sctp`: write tcp, udp, icmp or any"));
        assert!(e("src-range=10.0.0.1-10.0.0.9:80-100").contains("not port"));
        assert!(e("oif=dpdk1").contains("not by interface; leave oif out"));
        assert!(e("src-range=10.0.0.9-10.0.0.1").contains("10.0.0.9 is above 10.0.0.1"));
        assert!(e("src-range=10.0.0").contains("IPv4"));
        assert!(e("dst-range=fe80::1").contains("not port"), "IPv6 reads as address:port");
        assert!(e("proto=tcp,proto=udp").contains("given twice"));
        assert!(e("color=red").contains("unknown key `color`"));
        assert!(e("tcp").contains("not key=value"));
        assert_eq!(e("proto=x"), "invalid match `proto=x': proto `x`: write tcp, udp, icmp or any");
    }

    #[test]
    fn listing_and_rule_forms() {
        let m = MatchSpec { proto: SnatProto::Tcp, src: r("10.0.0.1", "10.0.0.254"), dst: None };
        assert_eq!(listing_name(&m), "MATCH tcp,from=10.0.0.1-10.0.0.254:0-0");
        assert_eq!(rule_arg(&m), "proto=tcp,src-range=10.0.0.1-10.0.0.254");
        let m = MatchSpec { proto: SnatProto::Any, src: None, dst: r("8.8.8.8", "8.8.8.8") };
        assert_eq!(listing_name(&m), "MATCH any,to=8.8.8.8-8.8.8.8:0-0");
        assert_eq!(rule_arg(&m), "proto=any,dst-range=8.8.8.8-8.8.8.8");
    }

    proptest! {
        #[test]
        fn rule_arg_parses_back(p in 0usize..4, a in any::<u32>(), b in any::<u32>(), c in any::<u32>(), d in any::<u32>(), has_src: bool, has_dst: bool) {
            let proto = [SnatProto::Any, SnatProto::Tcp, SnatProto::Udp, SnatProto::Icmp][p];
            let range = |x: u32, y: u32| {
                let (lo, hi) = (x.min(y).max(1), x.max(y).max(1));
                Some(AddrRange { first: IpAddr::V4(Ipv4Addr::from(lo)), last: IpAddr::V4(Ipv4Addr::from(hi)) })
            };
            let m = MatchSpec {
                proto,
                src: if has_src { range(a, b) } else { None },
                dst: if has_dst { range(c, d) } else { None },
            };
            prop_assert_eq!(parse_match(&rule_arg(&m)).unwrap(), m);
        }

        #[test]
        fn never_panics(s in ".{0,60}") {
            let _ = parse_match(&s);
        }
    }
}
