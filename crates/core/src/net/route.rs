//! Static IPv4 routes with longest-prefix match.
//!
//! Owns [`RouteTable`]: connected routes (each interface's `Host` prefixes) and configured routes
//! (a prefix, a port and an optional gateway). It answers one question per packet the director
//! originates or forwards: which port, and which next hop to resolve. It does not resolve
//! neighbours and knows nothing of services. Data comes from the interface table and the
//! configuration (mapped by the dataplane); the table is built once and shared read-only.
//!
//! # Why this LPM
//! A director's table is small (a few connected networks, a default route, a handful of static
//! routes) and changes only by rebuilding a snapshot. So the table is one hash map per prefix
//! length plus a 33-bit mask of the lengths that hold any route; a lookup scans only those
//! lengths, longest first, masking the address and probing one map each. With the usual two or
//! three distinct lengths that is two or three hash probes, no allocation, no pointer chasing
//! through a trie, and the code is short enough to be obviously right. A DIR-24-8 or trie would
//! pay off only with thousands of routes, which a director does not carry.

use std::net::Ipv4Addr;

use hashbrown::HashMap;
use thiserror::Error;

use super::iface::{prefix_contains, prefix_mask, AddrKind, IfaceTable};

/// A configured route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Route {
    /// Network address; host bits must be zero.
    pub prefix: Ipv4Addr,
    /// Prefix length, 0..=32 (0 is the default route).
    pub prefix_len: u8,
    /// Port the route leaves by.
    pub port: u16,
    /// Next-hop router; `None` for a device route (the destination itself is resolved).
    pub gateway: Option<Ipv4Addr>,
}

/// The answer of a lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RouteHit {
    /// Port to send on.
    pub port: u16,
    /// Address to resolve with ARP: the gateway, or the destination itself if on-link.
    pub next_hop: Ipv4Addr,
}

/// Why a route was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RouteError {
    /// A prefix length above 32.
    #[error("route {prefix}/{prefix_len}: prefix length must be 0..=32")]
    BadPrefixLen { prefix: Ipv4Addr, prefix_len: u8 },
    /// Bits set beyond the prefix length.
    #[error("route {prefix}/{prefix_len}: host bits are set; did you mean {masked}/{prefix_len}?")]
    HostBitsSet { prefix: Ipv4Addr, prefix_len: u8, masked: Ipv4Addr },
    /// The same prefix twice (configured, or configured over a connected network).
    #[error(
        "route {prefix}/{prefix_len} is defined twice (also a connected network counts); keep one"
    )]
    Duplicate { prefix: Ipv4Addr, prefix_len: u8 },
    /// A route on a port without an interface.
    #[error("route {prefix}/{prefix_len}: port {port} has no interface")]
    NoSuchPort { prefix: Ipv4Addr, prefix_len: u8, port: u16 },
    /// A gateway outside every connected network of the route's port.
    #[error("route {prefix}/{prefix_len}: gateway {gateway} is not on a connected network of port {port}")]
    GatewayNotOnLink { prefix: Ipv4Addr, prefix_len: u8, gateway: Ipv4Addr, port: u16 },
}

/// One stored route: where to go and whether a gateway stands in between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    port: u16,
    gateway: Option<Ipv4Addr>,
}

/// Longest-prefix-match table. Built once; lookups are read-only.
#[derive(Debug, Clone)]
pub struct RouteTable {
    /// `by_len[l]`: masked network (as u32) -> entry, for prefix length `l`.
    by_len: Vec<HashMap<u32, Entry>>,
    /// Bit `l` set when `by_len[l]` is not empty.
    present: u64,
    len: usize,
}

impl Default for RouteTable {
    fn default() -> Self {
        RouteTable { by_len: (0..=32).map(|_| HashMap::new()).collect(), present: 0, len: 0 }
    }
}

impl RouteTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Connected routes from every `Host` address of `ifaces`, then `routes`. Two `Host` addresses
    /// in the same network on one port give one connected route; the same network on two ports
    /// is refused as ambiguous.
    pub fn build(ifaces: &IfaceTable, routes: &[Route]) -> Result<Self, RouteError> {
        let mut t = RouteTable::new();
        for iface in ifaces.iter() {
            for a in iface.addrs.iter().filter(|a| a.kind == AddrKind::Host) {
                let masked = Ipv4Addr::from(u32::from(a.ip) & prefix_mask(a.prefix_len));
                let r = Route {
                    prefix: masked,
                    prefix_len: a.prefix_len,
                    port: iface.port,
                    gateway: None,
                };
                match t.get(masked, a.prefix_len) {
                    Some(e) if e.port == iface.port => continue,
                    _ => t.add(r)?,
                }
            }
        }
        for r in routes {
            let iface = ifaces.iface(r.port).ok_or(RouteError::NoSuchPort {
                prefix: r.prefix,
                prefix_len: r.prefix_len,
                port: r.port,
            })?;
            if let Some(gw) = r.gateway {
                let on_link = iface.addrs.iter().any(|a| {
                    a.kind == AddrKind::Host
                        && a.prefix_len < 32
                        && prefix_contains(a.ip, a.prefix_len, gw)
                });
                if !on_link {
                    return Err(RouteError::GatewayNotOnLink {
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

    /// Adds one route, checking only its own shape and duplicates (no interface checks).
    pub fn add(&mut self, r: Route) -> Result<(), RouteError> {
        let (prefix, prefix_len) = (r.prefix, r.prefix_len);
        if prefix_len > 32 {
            return Err(RouteError::BadPrefixLen { prefix, prefix_len });
        }
        let net = u32::from(prefix);
        let masked = net & prefix_mask(prefix_len);
        if masked != net {
            return Err(RouteError::HostBitsSet {
                prefix,
                prefix_len,
                masked: Ipv4Addr::from(masked),
            });
        }
        let l = usize::from(prefix_len);
        let map = self.by_len.get_mut(l).ok_or(RouteError::BadPrefixLen { prefix, prefix_len })?;
        if map.contains_key(&masked) {
            return Err(RouteError::Duplicate { prefix, prefix_len });
        }
        map.insert(masked, Entry { port: r.port, gateway: r.gateway });
        self.present |= 1u64 << l;
        self.len += 1;
        Ok(())
    }

    fn get(&self, prefix: Ipv4Addr, prefix_len: u8) -> Option<Entry> {
        self.by_len.get(usize::from(prefix_len))?.get(&u32::from(prefix)).copied()
    }

    /// Longest-prefix match for `dst`.
    #[inline]
    pub fn lookup(&self, dst: Ipv4Addr) -> Option<RouteHit> {
        let d = u32::from(dst);
        let mut lens = self.present;
        while lens != 0 {
            // Highest set bit = longest prefix length still to try.
            let l = 63 - lens.leading_zeros();
            lens &= !(1u64 << l);
            let map = self.by_len.get(l as usize)?;
            if let Some(e) = map.get(&(d & prefix_mask(l as u8))) {
                return Some(RouteHit { port: e.port, next_hop: e.gateway.unwrap_or(dst) });
            }
        }
        None
    }

    /// Every route (connected ones with `gateway: None`), longest prefixes first.
    pub fn iter(&self) -> impl Iterator<Item = Route> + '_ {
        self.by_len.iter().enumerate().rev().flat_map(|(l, m)| {
            m.iter().map(move |(&net, e)| Route {
                prefix: Ipv4Addr::from(net),
                prefix_len: l as u8,
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
    use crate::net::iface::{IfAddr, Iface};
    use crate::wire::MacAddr;
    use proptest::prelude::*;

    fn r(p: [u8; 4], l: u8, port: u16, gw: Option<[u8; 4]>) -> Route {
        Route { prefix: Ipv4Addr::from(p), prefix_len: l, port, gateway: gw.map(Ipv4Addr::from) }
    }

    fn ifaces() -> IfaceTable {
        let host =
            |ip: [u8; 4], l| IfAddr { ip: Ipv4Addr::from(ip), prefix_len: l, kind: AddrKind::Host };
        IfaceTable::new(vec![
            Iface {
                port: 0,
                mac: MacAddr([2, 0, 0, 0, 0, 1]),
                mtu: 1500,
                addrs: vec![host([10, 0, 0, 1], 24)],
            },
            Iface {
                port: 1,
                mac: MacAddr([2, 0, 0, 0, 0, 2]),
                mtu: 1500,
                addrs: vec![
                    host([192, 168, 0, 1], 16),
                    host([192, 168, 0, 2], 16),
                    IfAddr { ip: Ipv4Addr::new(10, 0, 0, 9), prefix_len: 8, kind: AddrKind::Vip },
                ],
            },
        ])
        .unwrap()
    }

    #[test]
    fn connected_and_configured() {
        let t = RouteTable::build(
            &ifaces(),
            &[
                r([0, 0, 0, 0], 0, 0, Some([10, 0, 0, 254])),
                r([172, 16, 0, 0], 12, 1, Some([192, 168, 7, 7])),
            ],
        )
        .unwrap();
        // Two connected (the VIP's prefix is not a route, duplicate host prefix merged) + 2 configured.
        assert_eq!(t.len(), 4);
        let hit = |a: [u8; 4]| t.lookup(Ipv4Addr::from(a)).unwrap();
        assert_eq!(
            hit([10, 0, 0, 77]),
            RouteHit { port: 0, next_hop: Ipv4Addr::new(10, 0, 0, 77) }
        );
        assert_eq!(
            hit([192, 168, 9, 9]),
            RouteHit { port: 1, next_hop: Ipv4Addr::new(192, 168, 9, 9) }
        );
        assert_eq!(
            hit([172, 20, 1, 1]),
            RouteHit { port: 1, next_hop: Ipv4Addr::new(192, 168, 7, 7) }
        );
        assert_eq!(hit([8, 8, 8, 8]), RouteHit { port: 0, next_hop: Ipv4Addr::new(10, 0, 0, 254) });
        let routes: Vec<Route> = t.iter().collect();
        assert_eq!(routes.first().map(|r| r.prefix_len), Some(24));
        assert_eq!(routes.last().map(|r| r.prefix_len), Some(0));
    }

    #[test]
    fn no_default_no_route() {
        let t = RouteTable::build(&ifaces(), &[]).unwrap();
        assert_eq!(t.lookup(Ipv4Addr::new(8, 8, 8, 8)), None);
        assert_eq!(RouteTable::new().lookup(Ipv4Addr::new(10, 0, 0, 1)), None);
    }

    #[test]
    fn refusals() {
        let i = ifaces();
        assert!(matches!(
            RouteTable::build(&i, &[r([10, 0, 0, 1], 24, 0, None)]),
            Err(RouteError::HostBitsSet { masked, .. }) if masked == Ipv4Addr::new(10, 0, 0, 0)
        ));
        assert!(matches!(
            RouteTable::build(&i, &[r([10, 0, 0, 0], 24, 0, None)]),
            Err(RouteError::Duplicate { .. })
        ));
        assert!(matches!(
            RouteTable::build(&i, &[r([1, 0, 0, 0], 8, 5, None)]),
            Err(RouteError::NoSuchPort { .. })
        ));
        assert!(matches!(
            RouteTable::build(&i, &[r([1, 0, 0, 0], 8, 0, Some([192, 168, 0, 1]))]),
            Err(RouteError::GatewayNotOnLink { .. })
        ));
        assert!(matches!(
            RouteTable::new().add(r([1, 0, 0, 0], 33, 0, None)),
            Err(RouteError::BadPrefixLen { .. })
        ));
    }

    fn naive(routes: &[Route], dst: Ipv4Addr) -> Option<RouteHit> {
        routes
            .iter()
            .filter(|r| prefix_contains(r.prefix, r.prefix_len, dst))
            .max_by_key(|r| r.prefix_len)
            .map(|r| RouteHit { port: r.port, next_hop: r.gateway.unwrap_or(dst) })
    }

    proptest! {
        #[test]
        fn lpm_matches_linear_scan(
            raw in proptest::collection::vec((any::<u32>(), 0u8..=32, 0u16..4, proptest::option::of(any::<u32>())), 0..40),
            probes in proptest::collection::vec(any::<u32>(), 1..60),
        ) {
            let mut t = RouteTable::new();
            let mut accepted = Vec::new();
            for (net, l, port, gw) in raw {
                // Bias towards overlapping prefixes: draw networks from a small space.
                let net = (net & 0xff0f_00ff) & prefix_mask(l);
                let route = Route { prefix: Ipv4Addr::from(net), prefix_len: l, port, gateway: gw.map(Ipv4Addr::from) };
                if t.add(route).is_ok() {
                    accepted.push(route);
                }
            }
            prop_assert_eq!(t.len(), accepted.len());
            for p in probes {
                // Probe both random addresses and addresses inside accepted prefixes.
                let p = if let Some(r) = accepted.get(p as usize % (accepted.len() + 1)) {
                    u32::from(r.prefix) | (p & !prefix_mask(r.prefix_len))
                } else {
                    p
                };
                let dst = Ipv4Addr::from(p);
                prop_assert_eq!(t.lookup(dst), naive(&accepted, dst));
            }
        }
    }
}
