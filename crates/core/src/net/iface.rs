//! The director's interfaces (DPDK ports) and the IPv4 addresses it owns on them.
//!
//! Owns [`Iface`], [`IfAddr`], [`AddrKind`] and [`IfaceTable`]: which MAC and MTU each port has,
//! which addresses the director answers for (ARP, ICMP echo) and which source address it uses on
//! a port. It does not know services or conns: whether a VIP has a virtual service is `ipvs`'s
//! business. The data comes from the configuration, mapped by the dataplane; the table is built
//! once, validated, and shared read-only by every core.

use std::net::Ipv4Addr;

use hashbrown::{HashMap, HashSet};
use thiserror::Error;

use crate::wire::MacAddr;

/// What an owned address is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddrKind {
    /// The director's own interface address: source of ARP probes and ICMP errors, and its
    /// prefix is a connected route.
    Host,
    /// A virtual IP of one or more virtual services.
    Vip,
    /// A local address (laddr) used as the source towards real servers in FULLNAT/SNAT.
    Local,
}

/// One IPv4 address on an interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IfAddr {
    /// The address.
    pub ip: Ipv4Addr,
    /// Prefix length of the attached network (0..=32). Only `Host` prefixes become connected routes.
    pub prefix_len: u8,
    /// What the address is for.
    pub kind: AddrKind,
}

/// One port of the director.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Iface {
    /// DPDK port id.
    pub port: u16,
    /// The port's MAC address.
    pub mac: MacAddr,
    /// IP MTU of the link (bytes of IPv4 packet, without the Ethernet header).
    pub mtu: u16,
    /// Addresses owned on this port; the first `Host` one is the port's source address.
    pub addrs: Vec<IfAddr>,
}

impl Iface {
    /// The address used as source for packets the director originates on this port (ARP probes,
    /// ICMP errors): the first `Host` address.
    pub fn source_addr(&self) -> Option<Ipv4Addr> {
        self.addrs.iter().find(|a| a.kind == AddrKind::Host).map(|a| a.ip)
    }

    /// Whether `ip` is inside a connected prefix of this port (the prefix of one of its `Host`
    /// addresses): a neighbour the director may learn there.
    pub fn on_link(&self, ip: Ipv4Addr) -> bool {
        self.addrs
            .iter()
            .any(|a| a.kind == AddrKind::Host && prefix_contains(a.ip, a.prefix_len, ip))
    }

    /// The `Host` address whose prefix contains `ip`, or else the first `Host` address.
    pub fn source_addr_for(&self, ip: Ipv4Addr) -> Option<Ipv4Addr> {
        self.addrs
            .iter()
            .find(|a| a.kind == AddrKind::Host && prefix_contains(a.ip, a.prefix_len, ip))
            .map(|a| a.ip)
            .or_else(|| self.source_addr())
    }
}

/// Why a set of interfaces was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IfaceError {
    /// Two interfaces were given the same port id.
    #[error("port {0} is configured twice; give each interface its own port")]
    DuplicatePort(u16),
    /// The same address appears twice (on one port or on two).
    #[error("address {ip} is configured twice (ports {first} and {second}); an address belongs to one port")]
    DuplicateAddr { ip: Ipv4Addr, first: u16, second: u16 },
    /// A prefix length above 32.
    #[error("address {ip}/{prefix_len} on port {port}: prefix length must be 0..=32")]
    BadPrefixLen { ip: Ipv4Addr, prefix_len: u8, port: u16 },
    /// An address that cannot be owned by a host.
    #[error("address {ip} on port {port} cannot be owned: it is unspecified, broadcast, multicast or loopback")]
    BadAddr { ip: Ipv4Addr, port: u16 },
    /// A MAC address that cannot be a station's own.
    #[error(
        "port {port}: MAC {mac} is multicast, broadcast or all-zero; use the port's unicast MAC"
    )]
    BadMac { port: u16, mac: MacAddr },
    /// MTU too small to carry an IPv4 header and a minimal payload.
    #[error("port {port}: MTU {mtu} is below the IPv4 minimum of 68")]
    BadMtu { port: u16, mtu: u16 },
    /// Kernel addresses for a port that is not in the table.
    #[error("port {0} does not exist; kernel addresses belong to a configured port")]
    NoSuchPort(u16),
    /// A standby address that is not one of the director's VIPs.
    #[error("{0} is not a VIP of rvsd: only a kind = \"vip\" address can be standby or taken")]
    NotAVip(Ipv4Addr),
}

/// All interfaces and owned addresses, validated; lookups never allocate.
#[derive(Debug, Clone)]
pub struct IfaceTable {
    ifaces: Vec<Iface>,
    /// Port id -> index in `ifaces`.
    by_port: Vec<Option<usize>>,
    /// Owned address -> (port, kind).
    owned: HashMap<Ipv4Addr, (u16, AddrKind)>,
    /// Addresses the host kernel owns (exception path) -> port whose kernel interface has them.
    kernel: HashMap<Ipv4Addr, u16>,
    /// VIPs held in standby (director HA, docs/keepalived.md): owned, their services configured,
    /// but not answered for (no ARP, no GARP) and their traffic dropped.
    standby: HashSet<Ipv4Addr>,
}

impl IfaceTable {
    /// Validates and indexes `ifaces`.
    pub fn new(ifaces: Vec<Iface>) -> Result<Self, IfaceError> {
        let max_port = ifaces.iter().map(|i| usize::from(i.port)).max().map_or(0, |p| p + 1);
        let mut by_port = vec![None; max_port];
        let mut owned: HashMap<Ipv4Addr, (u16, AddrKind)> = HashMap::new();
        for (idx, iface) in ifaces.iter().enumerate() {
            let slot = by_port
                .get_mut(usize::from(iface.port))
                .ok_or(IfaceError::DuplicatePort(iface.port))?;
            if slot.is_some() {
                return Err(IfaceError::DuplicatePort(iface.port));
            }
            *slot = Some(idx);
            if !iface.mac.is_unicast() || iface.mac == MacAddr::ZERO {
                return Err(IfaceError::BadMac { port: iface.port, mac: iface.mac });
            }
            if iface.mtu < 68 {
                return Err(IfaceError::BadMtu { port: iface.port, mtu: iface.mtu });
            }
            for a in &iface.addrs {
                if a.prefix_len > 32 {
                    return Err(IfaceError::BadPrefixLen {
                        ip: a.ip,
                        prefix_len: a.prefix_len,
                        port: iface.port,
                    });
                }
                if a.ip.is_unspecified()
                    || a.ip.is_broadcast()
                    || a.ip.is_multicast()
                    || a.ip.is_loopback()
                {
                    return Err(IfaceError::BadAddr { ip: a.ip, port: iface.port });
                }
                if let Some(&(first, _)) = owned.get(&a.ip) {
                    return Err(IfaceError::DuplicateAddr { ip: a.ip, first, second: iface.port });
                }
                owned.insert(a.ip, (iface.port, a.kind));
            }
        }
        Ok(IfaceTable { ifaces, by_port, owned, kernel: HashMap::new(), standby: HashSet::new() })
    }

    /// Declares `addrs` as the host kernel's on `port` (its kernel interface, the exception
    /// path): the stack hands packets and ARP for them to the kernel instead of answering. An
    /// address the director owns, or one already given to the kernel, is refused.
    pub fn with_kernel_addrs(mut self, port: u16, addrs: &[Ipv4Addr]) -> Result<Self, IfaceError> {
        if self.iface(port).is_none() {
            return Err(IfaceError::NoSuchPort(port));
        }
        for &ip in addrs {
            if ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast() || ip.is_loopback() {
                return Err(IfaceError::BadAddr { ip, port });
            }
            if let Some(&(first, _)) = self.owned.get(&ip) {
                return Err(IfaceError::DuplicateAddr { ip, first, second: port });
            }
            if let Some(&first) = self.kernel.get(&ip) {
                return Err(IfaceError::DuplicateAddr { ip, first, second: port });
            }
            self.kernel.insert(ip, port);
        }
        Ok(self)
    }

    /// Puts `vips` in standby (director HA): the director keeps them (services, routes) but
    /// answers no ARP for them, announces none and drops their traffic until they are taken
    /// (a table without them). An address that is not an owned VIP is refused.
    pub fn with_standby(mut self, vips: &[Ipv4Addr]) -> Result<Self, IfaceError> {
        for &ip in vips {
            if !matches!(self.owned.get(&ip), Some((_, AddrKind::Vip))) {
                return Err(IfaceError::NotAVip(ip));
            }
            self.standby.insert(ip);
        }
        Ok(self)
    }

    /// The VIPs held in standby, in no particular order.
    pub fn standby_vips(&self) -> impl Iterator<Item = Ipv4Addr> + '_ {
        self.standby.iter().copied()
    }

    /// Whether `ip` is a VIP held in standby (see [`IfaceTable::with_standby`]).
    #[inline]
    pub fn is_standby(&self, ip: Ipv4Addr) -> bool {
        !self.standby.is_empty() && self.standby.contains(&ip)
    }

    /// Whether the director answers for `ip` on `port`: it owns it there and it is not a
    /// standby VIP.
    #[inline]
    pub fn answers_on(&self, ip: Ipv4Addr, port: u16) -> bool {
        matches!(self.owns(ip), Some((p, _)) if p == port) && !self.is_standby(ip)
    }

    /// Every kernel-owned address with the port whose kernel interface holds it.
    pub fn kernel_addrs(&self) -> impl Iterator<Item = (Ipv4Addr, u16)> + '_ {
        self.kernel.iter().map(|(&ip, &port)| (ip, port))
    }

    /// The port whose kernel interface owns `ip`, if the kernel owns it.
    #[inline]
    pub fn kernel_owns(&self, ip: Ipv4Addr) -> Option<u16> {
        if self.kernel.is_empty() {
            return None;
        }
        self.kernel.get(&ip).copied()
    }

    /// Whether the director owns `ip`, and if so on which port and as what.
    #[inline]
    pub fn owns(&self, ip: Ipv4Addr) -> Option<(u16, AddrKind)> {
        self.owned.get(&ip).copied()
    }

    /// The interface of `port`.
    #[inline]
    pub fn iface(&self, port: u16) -> Option<&Iface> {
        let idx = (*self.by_port.get(usize::from(port))?)?;
        self.ifaces.get(idx)
    }

    /// The source address for packets the director originates on `port` (first `Host` address).
    pub fn source_addr(&self, port: u16) -> Option<Ipv4Addr> {
        self.iface(port)?.source_addr()
    }

    /// All interfaces, in configuration order.
    pub fn iter(&self) -> impl Iterator<Item = &Iface> {
        self.ifaces.iter()
    }

    /// Number of interfaces.
    pub fn len(&self) -> usize {
        self.ifaces.len()
    }

    /// Whether there are no interfaces.
    pub fn is_empty(&self) -> bool {
        self.ifaces.is_empty()
    }
}

/// The network mask of a prefix length (0..=32; larger lengths are treated as 32).
#[inline]
pub fn prefix_mask(prefix_len: u8) -> u32 {
    match prefix_len {
        0 => 0,
        n if n >= 32 => u32::MAX,
        n => u32::MAX << (32 - u32::from(n)),
    }
}

/// Whether `ip` lies in `net/prefix_len`.
#[inline]
pub fn prefix_contains(net: Ipv4Addr, prefix_len: u8, ip: Ipv4Addr) -> bool {
    let m = prefix_mask(prefix_len);
    u32::from(net) & m == u32::from(ip) & m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mac(last: u8) -> MacAddr {
        MacAddr([0x02, 0, 0, 0, 0, last])
    }

    fn addr(ip: [u8; 4], prefix_len: u8, kind: AddrKind) -> IfAddr {
        IfAddr { ip: Ipv4Addr::from(ip), prefix_len, kind }
    }

    fn sample() -> IfaceTable {
        IfaceTable::new(vec![
            Iface {
                port: 0,
                mac: mac(1),
                mtu: 1500,
                addrs: vec![
                    addr([10, 0, 0, 100], 32, AddrKind::Vip),
                    addr([10, 0, 0, 1], 24, AddrKind::Host),
                    addr([10, 0, 0, 2], 24, AddrKind::Host),
                ],
            },
            Iface {
                port: 3,
                mac: mac(2),
                mtu: 9000,
                addrs: vec![
                    addr([192, 168, 1, 1], 24, AddrKind::Host),
                    addr([192, 168, 1, 50], 24, AddrKind::Local),
                ],
            },
        ])
        .unwrap()
    }

    #[test]
    fn owns_reports_port_and_kind() {
        let t = sample();
        assert_eq!(t.owns(Ipv4Addr::new(10, 0, 0, 100)), Some((0, AddrKind::Vip)));
        assert_eq!(t.owns(Ipv4Addr::new(10, 0, 0, 2)), Some((0, AddrKind::Host)));
        assert_eq!(t.owns(Ipv4Addr::new(192, 168, 1, 50)), Some((3, AddrKind::Local)));
        assert_eq!(t.owns(Ipv4Addr::new(10, 0, 0, 3)), None);
    }

    #[test]
    fn iface_by_port_and_source_addr() {
        let t = sample();
        assert_eq!(t.iface(3).map(|i| i.mtu), Some(9000));
        assert!(t.iface(1).is_none());
        assert!(t.iface(2).is_none());
        assert!(t.iface(u16::MAX).is_none());
        // First Host address, not the VIP listed before it.
        assert_eq!(t.source_addr(0), Some(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(t.source_addr(3), Some(Ipv4Addr::new(192, 168, 1, 1)));
        assert_eq!(t.source_addr(7), None);
        let i0 = t.iface(0).unwrap();
        assert_eq!(
            i0.source_addr_for(Ipv4Addr::new(10, 0, 0, 9)),
            Some(Ipv4Addr::new(10, 0, 0, 1))
        );
        assert_eq!(
            i0.source_addr_for(Ipv4Addr::new(172, 16, 0, 9)),
            Some(Ipv4Addr::new(10, 0, 0, 1))
        );
    }

    #[test]
    fn refuses_bad_configs() {
        let ok = |port| Iface { port, mac: mac(1), mtu: 1500, addrs: vec![] };
        assert_eq!(IfaceTable::new(vec![ok(1), ok(1)]).unwrap_err(), IfaceError::DuplicatePort(1));
        let a = addr([10, 0, 0, 1], 24, AddrKind::Host);
        let mut i1 = ok(1);
        i1.addrs.push(a);
        let mut i2 = ok(2);
        i2.addrs.push(a);
        assert!(matches!(
            IfaceTable::new(vec![i1, i2]),
            Err(IfaceError::DuplicateAddr { first: 1, second: 2, .. })
        ));
        let mut i = ok(0);
        i.addrs.push(addr([10, 0, 0, 1], 33, AddrKind::Host));
        assert!(matches!(IfaceTable::new(vec![i]), Err(IfaceError::BadPrefixLen { .. })));
        for bad in [[0, 0, 0, 0], [255, 255, 255, 255], [224, 0, 0, 1], [127, 0, 0, 1]] {
            let mut i = ok(0);
            i.addrs.push(addr(bad, 24, AddrKind::Vip));
            assert!(matches!(IfaceTable::new(vec![i]), Err(IfaceError::BadAddr { .. })), "{bad:?}");
        }
        let mut i = ok(0);
        i.mac = MacAddr([0x01, 0, 0x5e, 0, 0, 1]);
        assert!(matches!(IfaceTable::new(vec![i]), Err(IfaceError::BadMac { .. })));
        let mut i = ok(0);
        i.mac = MacAddr::ZERO;
        assert!(matches!(IfaceTable::new(vec![i]), Err(IfaceError::BadMac { .. })));
        let mut i = ok(0);
        i.mtu = 67;
        assert!(matches!(IfaceTable::new(vec![i]), Err(IfaceError::BadMtu { .. })));
    }

    #[test]
    fn standby_is_for_owned_vips_only() {
        let vip = Ipv4Addr::new(10, 0, 0, 100);
        let t = sample().with_standby(&[vip]).unwrap();
        assert!(t.is_standby(vip));
        assert_eq!(t.owns(vip), Some((0, AddrKind::Vip)), "a standby VIP stays owned");
        assert!(!t.answers_on(vip, 0));
        assert!(t.answers_on(Ipv4Addr::new(10, 0, 0, 1), 0));
        assert!(sample().answers_on(vip, 0));
        assert!(!sample().answers_on(vip, 3), "only on its own port");
        for not_vip in [[10, 0, 0, 1], [192, 168, 1, 50], [10, 9, 9, 9]] {
            let ip = Ipv4Addr::from(not_vip);
            assert_eq!(sample().with_standby(&[ip]).unwrap_err(), IfaceError::NotAVip(ip));
        }
    }

    #[test]
    fn masks() {
        assert_eq!(prefix_mask(0), 0);
        assert_eq!(prefix_mask(8), 0xff00_0000);
        assert_eq!(prefix_mask(32), u32::MAX);
        assert!(prefix_contains(Ipv4Addr::new(10, 1, 0, 0), 16, Ipv4Addr::new(10, 1, 200, 3)));
        assert!(!prefix_contains(Ipv4Addr::new(10, 1, 0, 0), 16, Ipv4Addr::new(10, 2, 0, 3)));
        assert!(prefix_contains(Ipv4Addr::new(0, 0, 0, 0), 0, Ipv4Addr::new(1, 2, 3, 4)));
    }
}
