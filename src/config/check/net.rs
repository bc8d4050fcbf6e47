//! Checks of `[[addr]]`, `[[route]]` and `[[neigh.static]]`: address forms, overlaps, and next
//! hops and neighbours that must sit on a connected network of their port.

use std::net::Ipv4Addr;

use crate::config::checked::{Addr, AddrKind, Port, Route, StaticNeigh};
use crate::config::error::{invalid, Invalid};
use crate::config::ip::{format_mac, is_unicast_mac, parse_mac, Ipv4Net};
use crate::config::raw::{RawAddr, RawAddrKind, RawRoute, RawStaticNeigh};

use super::port::port_index;

fn kind_name(kind: AddrKind) -> &'static str {
    match kind {
        AddrKind::Host => "host",
        AddrKind::Vip => "vip",
        AddrKind::Local => "local",
    }
}

/// Why an address cannot be one a director owns or talks to, if it cannot.
fn unusable(ip: Ipv4Addr) -> Option<&'static str> {
    if ip.is_unspecified() {
        Some("is the unspecified address")
    } else if ip.is_broadcast() {
        Some("is the limited broadcast address")
    } else if ip.is_multicast() {
        Some("is a multicast address")
    } else if ip.is_loopback() {
        Some("is a loopback address")
    } else {
        None
    }
}

pub(crate) fn check_addrs(raw: Vec<RawAddr>, ports: &[Port]) -> Result<Vec<Addr>, Invalid> {
    let mut addrs: Vec<Addr> = Vec::with_capacity(raw.len());
    for (i, a) in raw.into_iter().enumerate() {
        if crate::config::ipv6::is_v6_text(&a.ip) {
            continue; // check/net6.rs
        }
        let key = |field: &str| format!("addr[{i}].{field}");
        let port = port_index(ports, &a.port, key("port"))?;
        let kind = match a.kind {
            RawAddrKind::Host => AddrKind::Host,
            RawAddrKind::Vip => AddrKind::Vip,
            RawAddrKind::Local => AddrKind::Local,
        };
        let net: Ipv4Net = a.ip.parse().map_err(|e| invalid(key("ip"), format!("{e}")))?;
        let ip = net.addr();
        if let Some(why) = unusable(ip) {
            return Err(invalid(key("ip"), format!("{ip} {why}: give a unicast address")));
        }
        match kind {
            AddrKind::Vip | AddrKind::Local if net.prefix_len() != 32 => {
                return Err(invalid(
                    key("ip"),
                    format!(
                        "a {} address is one address: write {ip}/32 (the network it sits on comes from a kind = \"host\" address)",
                        kind_name(kind)
                    ),
                ));
            }
            AddrKind::Host if net.prefix_len() == 0 => {
                return Err(invalid(key("ip"), format!("{net} would make every address connected: give the length of the network the port is on, for example {ip}/24")));
            }
            AddrKind::Host
                if net.prefix_len() <= 30 && (ip == net.network() || ip == net.broadcast()) =>
            {
                return Err(invalid(
                    key("ip"),
                    format!("{ip} is the network or broadcast address of {}: pick a host address inside it", net.trunc()),
                ));
            }
            _ => {}
        }
        for (j, other) in addrs.iter().enumerate() {
            if other.ip == ip {
                return Err(invalid(
                    key("ip"),
                    format!("{ip} is already addr[{j}]: each address appears once"),
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
                        "{net} overlaps addr[{j}] ({} on port `{}`): the connected networks of different ports must be disjoint, or the director cannot tell which port a neighbour is on",
                        other.net(),
                        port_name(ports, other.port)
                    ),
                ));
            }
        }
        if a.standby && kind != AddrKind::Vip {
            return Err(invalid(
                key("standby"),
                format!(
                    "only a kind = \"vip\" address can start in standby; {ip} is a {} address",
                    kind_name(kind)
                ),
            ));
        }
        addrs.push(Addr { port, ip, prefix_len: net.prefix_len(), kind, standby: a.standby });
    }
    Ok(addrs)
}

fn port_name(ports: &[Port], index: u16) -> &str {
    ports.get(usize::from(index)).map_or("?", |p| p.name.as_str())
}

/// Where `ip` must sit: inside a host prefix of `port`. On error, the message says what is wrong.
fn check_on_link(
    ip: Ipv4Addr,
    port: u16,
    ports: &[Port],
    addrs: &[Addr],
    what: &str,
) -> Result<(), String> {
    if let Some((j, _)) = addrs.iter().enumerate().find(|(_, a)| a.ip == ip) {
        return Err(format!("{ip} is the director's own address (addr[{j}]), not {what}"));
    }
    let host = |a: &&Addr| a.kind == AddrKind::Host && a.net().contains(ip);
    if addrs.iter().filter(|a| a.port == port).any(|a| host(&a)) {
        return Ok(());
    }
    let name = port_name(ports, port);
    if let Some(other) = addrs.iter().find(host) {
        return Err(format!(
            "{ip} is on the network {} of port `{}`, not on port `{name}`: use port = \"{}\"",
            other.net().trunc(),
            port_name(ports, other.port),
            port_name(ports, other.port)
        ));
    }
    Err(format!(
        "{ip} is not inside any connected network of port `{name}`: {what} must be directly reachable, so add a kind = \"host\" [[addr]] on `{name}` whose prefix contains it"
    ))
}

pub(crate) fn check_routes(
    raw: Vec<RawRoute>,
    ports: &[Port],
    addrs: &[Addr],
) -> Result<Vec<Route>, Invalid> {
    let mut routes: Vec<Route> = Vec::with_capacity(raw.len());
    for (i, r) in raw.into_iter().enumerate() {
        if super::net6::skip_route(&r) {
            continue; // check/net6.rs
        }
        let key = |field: &str| format!("route[{i}].{field}");
        let port = port_index(ports, &r.port, key("port"))?;
        let dst: Ipv4Net = if r.dst == "default" {
            Ipv4Net::ANY
        } else {
            r.dst
                .parse()
                .map_err(|e| invalid(key("dst"), format!("{e} (or \"default\" for 0.0.0.0/0)")))?
        };
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
                let via: Ipv4Addr = text.parse().map_err(|_| {
                    invalid(key("via"), format!("`{text}` is not an IPv4 address: write the next hop's address, for example 10.0.0.1"))
                })?;
                check_on_link(via, port, ports, addrs, "a next hop")
                    .map_err(|m| invalid(key("via"), m))?;
                Some(via)
            }
        };
        if let Some((j, _)) =
            routes.iter().enumerate().find(|(_, o)| o.dst == dst && o.metric == r.metric)
        {
            return Err(invalid(
                key("dst"),
                format!("route[{j}] already goes to {dst} with metric {}: remove one, or give this one another metric to make it a backup", r.metric),
            ));
        }
        routes.push(Route { dst, via, port, metric: r.metric });
    }
    Ok(routes)
}

pub(crate) fn check_static_neighs(
    raw: Vec<RawStaticNeigh>,
    ports: &[Port],
    addrs: &[Addr],
) -> Result<Vec<StaticNeigh>, Invalid> {
    let mut neighs: Vec<StaticNeigh> = Vec::with_capacity(raw.len());
    for (i, n) in raw.into_iter().enumerate() {
        if crate::config::ipv6::is_v6_text(&n.ip) {
            continue; // check/net6.rs
        }
        let key = |field: &str| format!("neigh.static[{i}].{field}");
        let port = port_index(ports, &n.port, key("port"))?;
        let ip: Ipv4Addr = n.ip.parse().map_err(|_| {
            invalid(key("ip"), format!("`{}` is not an IPv4 address: write the neighbour's address, for example 10.0.0.1", n.ip))
        })?;
        check_on_link(ip, port, ports, addrs, "a neighbour").map_err(|m| invalid(key("ip"), m))?;
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
        if let Some((j, _)) = neighs.iter().enumerate().find(|(_, o)| o.ip == ip) {
            return Err(invalid(
                key("ip"),
                format!("{ip} is already neigh.static[{j}]: keep one entry per address"),
            ));
        }
        neighs.push(StaticNeigh { ip, mac, port });
    }
    Ok(neighs)
}
