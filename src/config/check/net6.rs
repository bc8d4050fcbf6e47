//! Checks of the IPv6 entries of `[[addr]]`, `[[route]]` and `[[neigh.static]]`, and of `[nd]`:
//! address forms, prefix lengths per kind, overlaps, next hops and neighbours on a link.
//!
//! The IPv4 checks (`net.rs`) skip the entries whose address text has a colon; this file takes
//! them, keeping the entry's index in the file for the error key.

use core::time::Duration;
use std::net::Ipv6Addr;

use crate::config::checked::{AddrKind, Port};
use crate::config::error::{invalid, Invalid};
use crate::config::ip::{format_mac, is_unicast_mac, parse_mac};
use crate::config::ip6::Ipv6Net;
use crate::config::ipv6::{is_v6_text, Addr6, Ipv6Config, NdConfig, RawNd, Route6, StaticNeigh6};
use crate::config::raw::{RawAddr, RawAddrKind, RawRoute, RawStaticNeigh};

use super::port::port_index;

/// Why an IPv6 address cannot be one the director owns or talks to, if it cannot.
fn unusable(ip: Ipv6Addr) -> Option<&'static str> {
    if ip.is_unspecified() {
        Some("is the unspecified address")
    } else if ip.is_multicast() {
        Some("is a multicast address")
    } else if ip.is_loopback() {
        Some("is the loopback address")
    } else if ip.to_ipv4_mapped().is_some() {
        Some("is an IPv4-mapped address (write the IPv4 address in an IPv4 entry)")
    } else {
        None
    }
}

pub(crate) fn is_link_local(ip: Ipv6Addr) -> bool {
    ip.segments()[0] & 0xffc0 == 0xfe80
}

fn kind_name(kind: AddrKind) -> &'static str {
    match kind {
        AddrKind::Host => "host",
        AddrKind::Vip => "vip",
        AddrKind::Local => "local",
    }
}

fn port_name(ports: &[Port], index: u16) -> &str {
    ports.get(usize::from(index)).map_or("?", |p| p.name.as_str())
}

/// Every IPv6 entry of the shared sections, and `[nd]`.
pub(crate) fn check_ipv6(
    addrs: &[RawAddr],
    routes: &[RawRoute],
    neighs: &[RawStaticNeigh],
    nd: &RawNd,
    ports: &[Port],
) -> Result<Ipv6Config, Invalid> {
    let addrs = check_addrs6(addrs, ports)?;
    let routes = check_routes6(routes, ports, &addrs)?;
    let neighs = check_neighs6(neighs, ports, &addrs)?;
    let nd = check_nd(nd)?;
    Ok(Ipv6Config { addrs, routes, neighs, nd })
}

fn check_addrs6(raw: &[RawAddr], ports: &[Port]) -> Result<Vec<Addr6>, Invalid> {
    let mut addrs: Vec<Addr6> = Vec::new();
    for (i, a) in raw.iter().enumerate().filter(|(_, a)| is_v6_text(&a.ip)) {
        let key = |field: &str| format!("addr[{i}].{field}");
        let port = port_index(ports, &a.port, key("port"))?;
        let kind = match a.kind {
            RawAddrKind::Host => AddrKind::Host,
            RawAddrKind::Vip => AddrKind::Vip,
            RawAddrKind::Local => AddrKind::Local,
        };
        let net: Ipv6Net = a.ip.parse().map_err(|e| invalid(key("ip"), format!("{e}")))?;
        let ip = net.addr();
        if let Some(why) = unusable(ip) {
            return Err(invalid(key("ip"), format!("{ip} {why}: give a unicast address")));
        }
        if is_link_local(ip) {
            return Err(invalid(
                key("ip"),
                format!("{ip} is link-local: link-local addresses stay the kernel interface's (it makes its own from its MAC); give rvsd a global or unique-local address"),
            ));
        }
        match kind {
            AddrKind::Vip | AddrKind::Local if net.prefix_len() != 128 => {
                return Err(invalid(
                    key("ip"),
                    format!(
                        "a {} address is one address: write {ip}/128 (the network it sits on comes from a kind = \"host\" address)",
                        kind_name(kind)
                    ),
                ));
            }
            AddrKind::Host if net.prefix_len() == 0 => {
                return Err(invalid(
                    key("ip"),
                    format!("{net} would make every address on-link: give the length of the network the port is on, for example {ip}/64"),
                ));
            }
            _ => {}
        }
        for (j, other) in addrs.iter().enumerate() {
            if other.ip == ip {
                return Err(invalid(
                    key("ip"),
                    format!("{ip} is already an earlier [[addr]] (IPv6 entry {j}): each address appears once"),
                ));
            }
            if kind == AddrKind::Host
                && other.kind == AddrKind::Host
                && other.port != port
                && other.net().overlaps(&net)
            {
                return Err(invalid(
                    key("ip"),
                    format!(
                        "{net} overlaps {} on port `{}`: the on-link prefixes of different ports must be disjoint, or the director cannot tell which port a neighbour is on",
                        other.net(),
                        port_name(ports, other.port)
                    ),
                ));
            }
        }
        if a.standby {
            return Err(invalid(
                key("standby"),
                format!("{ip}: IPv6 VIPs cannot start in standby yet (director HA for IPv6 is not built); remove standby"),
            ));
        }
        addrs.push(Addr6 { port, ip, prefix_len: net.prefix_len(), kind });
    }
    Ok(addrs)
}

/// Whether `ip` may be reached directly on `port`: link-local, or inside a host prefix of the
/// port. On error, the message says what is wrong.
fn check_on_link6(
    ip: Ipv6Addr,
    port: u16,
    ports: &[Port],
    addrs: &[Addr6],
    what: &str,
) -> Result<(), String> {
    if let Some(unusable) = unusable(ip) {
        return Err(format!("{ip} {unusable}: {what} is one unicast address"));
    }
    if addrs.iter().any(|a| a.ip == ip) {
        return Err(format!("{ip} is the director's own address, not {what}"));
    }
    if is_link_local(ip) {
        return Ok(());
    }
    let host = |a: &&Addr6| a.kind == AddrKind::Host && a.net().contains(ip);
    if addrs.iter().filter(|a| a.port == port).any(|a| host(&a)) {
        return Ok(());
    }
    let name = port_name(ports, port);
    if let Some(other) = addrs.iter().find(host) {
        let on = port_name(ports, other.port);
        return Err(format!(
            "{ip} is on the network {} of port `{on}`, not on port `{name}`: use port = \"{on}\"",
            other.net().trunc()
        ));
    }
    Err(format!(
        "{ip} is not link-local and not inside any IPv6 prefix of port `{name}`: {what} must be directly reachable, so add a kind = \"host\" IPv6 [[addr]] on `{name}` whose prefix contains it, or use its link-local address"
    ))
}

fn is_v6_route(r: &RawRoute) -> bool {
    is_v6_text(&r.dst) || (r.dst == "default" && r.via.as_deref().is_some_and(is_v6_text))
}

/// Whether the IPv4 route checks must leave `r` to [`check_ipv6`].
pub(crate) fn skip_route(r: &RawRoute) -> bool {
    is_v6_route(r)
}

fn check_routes6(
    raw: &[RawRoute],
    ports: &[Port],
    addrs: &[Addr6],
) -> Result<Vec<Route6>, Invalid> {
    let mut routes: Vec<Route6> = Vec::new();
    for (i, r) in raw.iter().enumerate().filter(|(_, r)| is_v6_route(r)) {
        let key = |field: &str| format!("route[{i}].{field}");
        let port = port_index(ports, &r.port, key("port"))?;
        if r.dst == "default" {
            return Err(invalid(
                key("dst"),
                "\"default\" is the IPv4 default route and this next hop is IPv6: write dst = \"::/0\"",
            ));
        }
        let dst: Ipv6Net = r.dst.parse().map_err(|e| {
            invalid(key("dst"), format!("{e} (or \"::/0\" for the IPv6 default route)"))
        })?;
        if !dst.is_network() {
            return Err(invalid(
                key("dst"),
                format!(
                    "{dst} has host bits set: a destination is a network, write {}",
                    dst.trunc()
                ),
            ));
        }
        let via = match r.via.as_deref() {
            None => None,
            Some(text) => {
                let via: Ipv6Addr = text.parse().map_err(|_| {
                    invalid(key("via"), format!("`{text}` is not an IPv6 address: an IPv6 route's next hop is IPv6, for example fe80::1 or 2001:db8::1"))
                })?;
                check_on_link6(via, port, ports, addrs, "a next hop")
                    .map_err(|m| invalid(key("via"), m))?;
                Some(via)
            }
        };
        if let Some((j, _)) =
            routes.iter().enumerate().find(|(_, o)| o.dst == dst && o.metric == r.metric)
        {
            return Err(invalid(
                key("dst"),
                format!("IPv6 route {j} already goes to {dst} with metric {}: remove one, or give this one another metric to make it a backup", r.metric),
            ));
        }
        routes.push(Route6 { dst, via, port, metric: r.metric });
    }
    Ok(routes)
}

fn check_neighs6(
    raw: &[RawStaticNeigh],
    ports: &[Port],
    addrs: &[Addr6],
) -> Result<Vec<StaticNeigh6>, Invalid> {
    let mut neighs: Vec<StaticNeigh6> = Vec::new();
    for (i, n) in raw.iter().enumerate().filter(|(_, n)| is_v6_text(&n.ip)) {
        let key = |field: &str| format!("neigh.static[{i}].{field}");
        let port = port_index(ports, &n.port, key("port"))?;
        let ip: Ipv6Addr = n.ip.parse().map_err(|_| {
            invalid(key("ip"), format!("`{}` is not an IPv6 address: write the neighbour's address, for example fe80::1", n.ip))
        })?;
        check_on_link6(ip, port, ports, addrs, "a neighbour").map_err(|m| invalid(key("ip"), m))?;
        let Some(mac) = parse_mac(&n.mac) else {
            return Err(invalid(key("mac"), format!("`{}` is not a MAC address: write six hex bytes with colons, for example 52:54:00:12:34:56", n.mac)));
        };
        if !is_unicast_mac(&mac) {
            return Err(invalid(
                key("mac"),
                format!(
                    "{} is not a unicast address: a neighbour is one station",
                    format_mac(&mac)
                ),
            ));
        }
        if neighs.iter().any(|o| o.ip == ip && o.port == port) {
            return Err(invalid(
                key("ip"),
                format!("{ip} is listed twice on this port: keep one entry"),
            ));
        }
        neighs.push(StaticNeigh6 { ip, mac, port });
    }
    Ok(neighs)
}

fn check_nd(nd: &RawNd) -> Result<NdConfig, Invalid> {
    if nd.dad_transmits > 10 {
        return Err(invalid(
            "nd.dad_transmits",
            format!("{} probes would hold each address back for as many retransmit intervals: use 0..=10 (1 is RFC 4862's default)", nd.dad_transmits),
        ));
    }
    if nd.dad_transmits > 0 && !(10..=60_000).contains(&nd.dad_retrans_ms) {
        return Err(invalid(
            "nd.dad_retrans_ms",
            format!("{} ms: use 10..=60000 (1000 is RFC 4861's RetransTimer)", nd.dad_retrans_ms),
        ));
    }
    if nd.unsolicited_na > 3 {
        return Err(invalid(
            "nd.unsolicited_na",
            format!(
                "{}: RFC 4861 allows at most 3 unsolicited advertisements; use 0..=3",
                nd.unsolicited_na
            ),
        ));
    }
    if nd.pps > 0 && nd.burst == 0 {
        return Err(invalid(
            "nd.burst",
            "0 with a rate would refuse every ND frame: use 1 or more (100 is the default)",
        ));
    }
    if nd.burst > 1_000_000 {
        return Err(invalid("nd.burst", format!("{}: use at most 1000000", nd.burst)));
    }
    Ok(NdConfig {
        dad_transmits: nd.dad_transmits,
        dad_retrans: Duration::from_millis(u64::from(nd.dad_retrans_ms)),
        unsolicited_na: nd.unsolicited_na,
        pps: nd.pps,
        burst: nd.burst,
    })
}
