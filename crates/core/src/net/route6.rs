//! The director's IPv6 addresses and static IPv6 routes with longest-prefix match: the IPv6
//! counterparts of [`super::iface`]'s owned addresses and [`super::route`].
//!
//! Owns [`IfAddr6`] and [`Ipv6Addrs`] (which IPv6 addresses the director owns, on which port and
//! as what) and [`Route6Table`] (connected routes from each `Host` prefix, then configured ones).
//! Like the IPv4 tables they are built once from the configuration, validated, and shared
//! read-only by every core; neighbour discovery and DAD for the addresses are [`super::nd`]'s.
//!
//! # Why this LPM
//! The same reasoning as the IPv4 table: a director carries a handful of routes, so one hash map
//! per prefix length present, probed longest first, is two or three probes per lookup with no
//! trie to get wrong. With 129 possible lengths the lengths present are kept in a short vector
//! sorted longest first instead of a bit mask.

use std::net::Ipv6Addr;

use hashbrown::HashMap;
use thiserror::Error;

use super::iface::{AddrKind, IfaceTable};
use super::nd::OwnAddr;

/// One IPv6 address the director owns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IfAddr6 {
    /// The port it lives on.
    pub port: u16,
    /// The address.
    pub ip: Ipv6Addr,
    /// On-link prefix length for `Host` (a connected route); 128 for a VIP or local address.
    pub prefix_len: u8,
    /// What it is for.
    pub kind: AddrKind,
}

/// Why an IPv6 address or route was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Route6Error {
    /// A prefix length above 128.
    #[error("{prefix}/{prefix_len}: prefix length must be 0..=128")]
    BadPrefixLen { prefix: Ipv6Addr, prefix_len: u8 },
    /// Bits set beyond the prefix length of a route.
    #[error("route {prefix}/{prefix_len}: host bits are set; did you mean {masked}/{prefix_len}?")]
    HostBitsSet { prefix: Ipv6Addr, prefix_len: u8, masked: Ipv6Addr },
    /// The same prefix twice.
    #[error("route {prefix}/{prefix_len} is defined twice (a connected prefix counts); keep one")]
    Duplicate { prefix: Ipv6Addr, prefix_len: u8 },
    /// An address or route on a port without an interface.
    #[error("{what}: port {port} has no interface")]
    NoSuchPort { what: Ipv6Addr, port: u16 },
    /// The same address twice.
    #[error("IPv6 address {0} is configured twice")]
    DuplicateAddr(Ipv6Addr),
    /// An address that cannot be the director's.
    #[error("IPv6 address {0} cannot be the director's (multicast, unspecified, loopback or link-local)")]
    BadAddr(Ipv6Addr),
    /// A gateway neither link-local nor inside a `Host` prefix of the route's port.
    #[error("route {prefix}/{prefix_len}: gateway {gateway} is neither link-local nor on a prefix of port {port}")]
    GatewayNotOnLink { prefix: Ipv6Addr, prefix_len: u8, gateway: Ipv6Addr, port: u16 },
}

/// The network mask of an IPv6 prefix length (lengths over 128 are treated as 128).
#[inline]
pub fn prefix_mask6(prefix_len: u8) -> u128 {
    match prefix_len {
        0 => 0,
        n if n >= 128 => u128::MAX,
        n => u128::MAX << (128 - u32::from(n)),
    }
}

/// Whether `ip` lies in `net/prefix_len`.
#[inline]
pub fn prefix_contains6(net: Ipv6Addr, prefix_len: u8, ip: Ipv6Addr) -> bool {
    let m = prefix_mask6(prefix_len);
    u128::from(net) & m == u128::from(ip) & m
}

/// Whether `ip` is link-local unicast (fe80::/10).
#[inline]
pub fn is_link_local(ip: Ipv6Addr) -> bool {
    ip.segments()[0] & 0xffc0 == 0xfe80
}

/// The director's IPv6 addresses, validated; lookups never allocate.
#[derive(Debug, Clone, Default)]
pub struct Ipv6Addrs {
    addrs: Vec<IfAddr6>,
    owned: HashMap<Ipv6Addr, (u16, AddrKind)>,
}

impl Ipv6Addrs {
    /// Validates `addrs` against the ports of `ifaces`.
    pub fn new(addrs: Vec<IfAddr6>, ifaces: &IfaceTable) -> Result<Self, Route6Error> {
        let mut owned = HashMap::with_capacity(addrs.len());
        for a in &addrs {
            if ifaces.iface(a.port).is_none() {
                return Err(Route6Error::NoSuchPort { what: a.ip, port: a.port });
            }
            if a.prefix_len > 128 {
                return Err(Route6Error::BadPrefixLen { prefix: a.ip, prefix_len: a.prefix_len });
            }
            let ip = a.ip;
            if ip.is_unspecified() || ip.is_multicast() || ip.is_loopback() || is_link_local(ip) {
                return Err(Route6Error::BadAddr(ip));
            }
            if owned.insert(ip, (a.port, a.kind)).is_some() {
                return Err(Route6Error::DuplicateAddr(ip));
            }
        }
        Ok(Ipv6Addrs { addrs, owned })
    }

    /// Whether the director owns `ip`, and if so on which port and as what.
    #[inline]
    pub fn owns(&self, ip: Ipv6Addr) -> Option<(u16, AddrKind)> {
        if self.owned.is_empty() {
            return None;
        }
        self.owned.get(&ip).copied()
    }

    /// Every address, in configuration order.
    pub fn iter(&self) -> impl Iterator<Item = &IfAddr6> {
        self.addrs.iter()
    }

    /// The addresses as neighbour discovery takes them.
    pub fn own_addrs(&self) -> Vec<OwnAddr> {
        self.addrs
            .iter()
            .map(|a| OwnAddr { port: a.port, addr: a.ip, prefix_len: a.prefix_len })
            .collect()
    }

    /// Whether there are none (the director then handles no IPv6).
    pub fn is_empty(&self) -> bool {
        self.addrs.is_empty()
    }
}

/// A configured IPv6 route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Route6 {
    /// Network address; host bits must be zero.
    pub prefix: Ipv6Addr,
    /// Prefix length, 0..=128 (0 is the default route).
    pub prefix_len: u8,
    /// Port the route leaves by.
    pub port: u16,
    /// Next-hop router; `None` for a device route (the destination itself is resolved).
    pub gateway: Option<Ipv6Addr>,
}

/// The answer of a lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Route6Hit {
    /// Port to send on.
    pub port: u16,
    /// Address to resolve with neighbour discovery: the gateway, or the destination.
    pub next_hop: Ipv6Addr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    port: u16,
    gateway: Option<Ipv6Addr>,
}

/// IPv6 longest-prefix-match table. Built once; lookups are read-only.
#[derive(Debug, Clone, Default)]
pub struct Route6Table {
    /// One map (masked network -> entry) per prefix length present, longest first.
    by_len: Vec<(u8, HashMap<u128, Entry>)>,
    len: usize,
}

impl Route6Table {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Connected routes from every `Host` address of `addrs`, then `routes`. Two `Host`
    /// addresses in one prefix on one port give one connected route.
    pub fn build(
        ifaces: &IfaceTable,
        addrs: &Ipv6Addrs,
        routes: &[Route6],
    ) -> Result<Self, Route6Error> {
        let mut t = Route6Table::new();
        for a in addrs.iter().filter(|a| a.kind == AddrKind::Host) {
            let masked = Ipv6Addr::from(u128::from(a.ip) & prefix_mask6(a.prefix_len));
            match t.get(masked, a.prefix_len) {
                Some(e) if e.port == a.port => continue,
                _ => t.add(Route6 {
                    prefix: masked,
                    prefix_len: a.prefix_len,
                    port: a.port,
                    gateway: None,
                })?,
            }
        }
        for r in routes {
            if ifaces.iface(r.port).is_none() {
                return Err(Route6Error::NoSuchPort { what: r.prefix, port: r.port });
            }
            if let Some(gw) = r.gateway {
                let on_link = is_link_local(gw)
                    || addrs.iter().any(|a| {
                        a.port == r.port
                            && a.kind == AddrKind::Host
                            && a.prefix_len < 128
                            && prefix_contains6(a.ip, a.prefix_len, gw)
                    });
                if !on_link {
                    return Err(Route6Error::GatewayNotOnLink {
                        prefix: r.prefix,
                        prefix_len: r.prefix_len,
                        gateway: gw,
                        port: r.port,
                    });
                }
            }
            t.add(*r)?;
        }
        Ok(t)
    }

    /// Adds one route, checking only its own shape and duplicates.
    pub fn add(&mut self, r: Route6) -> Result<(), Route6Error> {
        let (prefix, prefix_len) = (r.prefix, r.prefix_len);
        if prefix_len > 128 {
            return Err(Route6Error::BadPrefixLen { prefix, prefix_len });
        }
        let net = u128::from(prefix);
        let masked = net & prefix_mask6(prefix_len);
        if masked != net {
            let masked = Ipv6Addr::from(masked);
            return Err(Route6Error::HostBitsSet { prefix, prefix_len, masked });
        }
        let at = match self.by_len.iter().position(|(l, _)| *l <= prefix_len) {
            Some(i) if self.by_len[i].0 == prefix_len => i,
            Some(i) => {
                self.by_len.insert(i, (prefix_len, HashMap::new()));
                i
            }
            None => {
                self.by_len.push((prefix_len, HashMap::new()));
                self.by_len.len() - 1
            }
        };
        let map = &mut self.by_len[at].1;
        if map.contains_key(&masked) {
            return Err(Route6Error::Duplicate { prefix, prefix_len });
        }
        map.insert(masked, Entry { port: r.port, gateway: r.gateway });
        self.len += 1;
        Ok(())
    }

    fn get(&self, prefix: Ipv6Addr, prefix_len: u8) -> Option<Entry> {
        let (_, m) = self.by_len.iter().find(|(l, _)| *l == prefix_len)?;
        m.get(&u128::from(prefix)).copied()
    }

    /// Longest-prefix match for `dst`.
    #[inline]
    pub fn lookup(&self, dst: Ipv6Addr) -> Option<Route6Hit> {
        let d = u128::from(dst);
        self.by_len.iter().find_map(|(l, m)| {
            m.get(&(d & prefix_mask6(*l)))
                .map(|e| Route6Hit { port: e.port, next_hop: e.gateway.unwrap_or(dst) })
        })
    }

    /// Every route (connected ones with `gateway: None`), longest prefixes first.
    pub fn iter(&self) -> impl Iterator<Item = Route6> + '_ {
        self.by_len.iter().flat_map(|(l, m)| {
            m.iter().map(move |(&net, e)| Route6 {
                prefix: Ipv6Addr::from(net),
                prefix_len: *l,
                port: e.port,
                gateway: e.gateway,
            })
        })
    }

    /// Number of routes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::iface::Iface;
    use crate::wire::MacAddr;
    use proptest::prelude::*;

    fn v6(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    fn ifaces() -> IfaceTable {
        let iface = |port, last| Iface {
            port,
            mac: MacAddr([2, 0, 0, 0, 0, last]),
            mtu: 1500,
            addrs: vec![],
        };
        IfaceTable::new(vec![iface(0, 1), iface(1, 2)]).unwrap()
    }

    fn addrs() -> Ipv6Addrs {
        let a = |port, ip: &str, prefix_len, kind| IfAddr6 { port, ip: v6(ip), prefix_len, kind };
        Ipv6Addrs::new(
            vec![
                a(0, "2001:db8:1::1", 64, AddrKind::Host),
                a(0, "2001:db8:1::2", 64, AddrKind::Host),
                a(0, "2001:db8:100::1", 128, AddrKind::Vip),
                a(1, "2001:db8:2::1", 56, AddrKind::Host),
            ],
            &ifaces(),
        )
        .unwrap()
    }

    fn r(prefix: &str, prefix_len: u8, port: u16, gw: Option<&str>) -> Route6 {
        Route6 { prefix: v6(prefix), prefix_len, port, gateway: gw.map(v6) }
    }

    #[test]
    fn connected_and_configured() {
        let t = Route6Table::build(
            &ifaces(),
            &addrs(),
            &[r("::", 0, 1, Some("fe80::1")), r("2001:db8:77::", 48, 0, Some("2001:db8:1::fe"))],
        )
        .unwrap();
        assert_eq!(t.len(), 4, "two connected (one per prefix), two configured");
        let hit = |d: &str| t.lookup(v6(d)).unwrap();
        assert_eq!(hit("2001:db8:1::77"), Route6Hit { port: 0, next_hop: v6("2001:db8:1::77") });
        assert_eq!(
            hit("2001:db8:2:ff::9"),
            Route6Hit { port: 1, next_hop: v6("2001:db8:2:ff::9") }
        );
        assert_eq!(hit("2001:db8:77:1::1"), Route6Hit { port: 0, next_hop: v6("2001:db8:1::fe") });
        assert_eq!(hit("2606:4700::1"), Route6Hit { port: 1, next_hop: v6("fe80::1") });
        let lens: Vec<u8> = t.iter().map(|r| r.prefix_len).collect();
        assert_eq!(lens, vec![64, 56, 48, 0]);
        assert_eq!(
            Route6Table::build(&ifaces(), &addrs(), &[]).unwrap().lookup(v6("2606::1")),
            None
        );
    }

    #[test]
    fn refusals() {
        let (i, a) = (ifaces(), addrs());
        let build = |routes: &[Route6]| Route6Table::build(&i, &a, routes);
        assert!(
            matches!(build(&[r("2001:db8:77::1", 48, 0, None)]), Err(Route6Error::HostBitsSet { masked, .. }) if masked == v6("2001:db8:77::"))
        );
        assert!(matches!(
            build(&[r("2001:db8:1::", 64, 0, None)]),
            Err(Route6Error::Duplicate { .. })
        ));
        assert!(matches!(
            build(&[r("2001:db8:9::", 48, 7, None)]),
            Err(Route6Error::NoSuchPort { port: 7, .. })
        ));
        assert!(matches!(
            build(&[r("::", 0, 0, Some("2001:db8:2::fe"))]),
            Err(Route6Error::GatewayNotOnLink { .. })
        ));
        assert!(matches!(
            Route6Table::new().add(r("::", 129, 0, None)),
            Err(Route6Error::BadPrefixLen { .. })
        ));
        let one = |ip: &str, port| {
            Ipv6Addrs::new(
                vec![IfAddr6 { port, ip: v6(ip), prefix_len: 64, kind: AddrKind::Host }],
                &i,
            )
        };
        for bad in ["fe80::1", "ff02::1", "::", "::1"] {
            assert_eq!(one(bad, 0).unwrap_err(), Route6Error::BadAddr(v6(bad)));
        }
        assert!(matches!(one("2001:db8::1", 5), Err(Route6Error::NoSuchPort { .. })));
        let dup = IfAddr6 { port: 0, ip: v6("2001:db8::1"), prefix_len: 64, kind: AddrKind::Host };
        assert_eq!(
            Ipv6Addrs::new(vec![dup, dup], &i).unwrap_err(),
            Route6Error::DuplicateAddr(dup.ip)
        );
    }

    #[test]
    fn owned_addresses() {
        let a = addrs();
        assert_eq!(a.owns(v6("2001:db8:100::1")), Some((0, AddrKind::Vip)));
        assert_eq!(a.owns(v6("2001:db8:2::1")), Some((1, AddrKind::Host)));
        assert_eq!(a.owns(v6("2001:db8:2::2")), None);
        assert_eq!(a.own_addrs().len(), 4);
        assert!(Ipv6Addrs::default().owns(v6("2001:db8:2::1")).is_none());
    }

    fn naive(routes: &[Route6], dst: Ipv6Addr) -> Option<Route6Hit> {
        routes
            .iter()
            .filter(|r| prefix_contains6(r.prefix, r.prefix_len, dst))
            .max_by_key(|r| r.prefix_len)
            .map(|r| Route6Hit { port: r.port, next_hop: r.gateway.unwrap_or(dst) })
    }

    proptest! {
        #[test]
        fn lpm_matches_linear_scan(
            raw in proptest::collection::vec((any::<u128>(), 0u8..=128, 0u16..4, proptest::option::of(any::<u128>())), 0..40),
            probes in proptest::collection::vec(any::<u128>(), 1..60),
        ) {
            let mut t = Route6Table::new();
            let mut accepted = Vec::new();
            for (net, l, port, gw) in raw {
                // Overlapping prefixes: networks drawn from a small space.
                let net = (net & 0xffff_0000_0000_0000_ff00_0000_0000_00ff) & prefix_mask6(l);
                let route = Route6 { prefix: Ipv6Addr::from(net), prefix_len: l, port, gateway: gw.map(Ipv6Addr::from) };
                if t.add(route).is_ok() {
                    accepted.push(route);
                }
            }
            prop_assert_eq!(t.len(), accepted.len());
            prop_assert_eq!(t.iter().count(), accepted.len());
            for p in probes {
                let p = if let Some(r) = accepted.get(p as usize % (accepted.len() + 1)) {
                    u128::from(r.prefix) | (p & !prefix_mask6(r.prefix_len))
                } else {
                    p
                };
                let dst = Ipv6Addr::from(p);
                prop_assert_eq!(t.lookup(dst), naive(&accepted, dst));
            }
        }
    }
}
