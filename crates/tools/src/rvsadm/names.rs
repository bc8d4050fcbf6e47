//! Name resolution for rvsadm: host names and service (port) names in both directions.
//!
//! Owns the [`Names`] trait that the parser and the formatters take, so tests run with fixed
//! tables ([`StaticNames`]) and never touch the system. Must not touch anything but the files
//! named below and the system resolver.
//!
//! What [`SystemNames`] does (documented deviation from ipvsadm, which calls the C library's
//! `gethostbyaddr`/`getservbyport`):
//! - host name -> address (`-t www:80`): the system resolver through `std::net::ToSocketAddrs`
//!   (getaddrinfo), keeping the first IPv4 answer as ipvsadm does; used only when the text is
//!   not an address literal;
//! - service name <-> port (`-t 1.2.3.4:http`, listings without `-n`): `/etc/services`;
//! - address -> host name (listings without `-n`): `/etc/hosts` only. No reverse DNS queries:
//!   a listing must not hang on a slow resolver, and FFI is confined to `src/dpdk`.

use rvs_core::ipvs::spec::Protocol;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, ToSocketAddrs};

/// Resolver used by the parser (forward) and the formatters (reverse).
pub trait Names {
    /// IPv4 address of a host name, if it resolves.
    fn host_addr(&self, name: &str) -> Option<Ipv4Addr>;
    /// Port of a service name for `proto`, if known.
    fn service_port(&self, name: &str, proto: Protocol) -> Option<u16>;
    /// Host name of an address, if known.
    fn host_name(&self, addr: IpAddr) -> Option<String>;
    /// Service name of a port for `proto`, if known.
    fn service_name(&self, port: u16, proto: Protocol) -> Option<String>;
}

/// Resolves nothing: only literals parse, listings stay numeric.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoNames;

impl Names for NoNames {
    fn host_addr(&self, _: &str) -> Option<Ipv4Addr> {
        None
    }
    fn service_port(&self, _: &str, _: Protocol) -> Option<u16> {
        None
    }
    fn host_name(&self, _: IpAddr) -> Option<String> {
        None
    }
    fn service_name(&self, _: u16, _: Protocol) -> Option<String> {
        None
    }
}

/// Fixed tables, built from `/etc/hosts`- and `/etc/services`-formatted text.
#[derive(Clone, Debug, Default)]
pub struct StaticNames {
    hosts: Vec<(IpAddr, Vec<String>)>,
    services: Vec<(String, u16, String, Vec<String>)>,
}

impl StaticNames {
    /// Parse hosts-file and services-file text; malformed lines are skipped.
    pub fn from_text(hosts: &str, services: &str) -> StaticNames {
        let mut out = StaticNames::default();
        for line in hosts.lines() {
            let mut words = uncomment(line).split_whitespace();
            let (Some(addr), Some(name)) = (words.next(), words.next()) else {
                continue;
            };
            let Ok(addr) = addr.parse::<IpAddr>() else {
                continue;
            };
            let mut names = vec![name.to_string()];
            names.extend(words.map(str::to_string));
            out.hosts.push((addr, names));
        }
        for line in services.lines() {
            let mut words = uncomment(line).split_whitespace();
            let (Some(name), Some(pp)) = (words.next(), words.next()) else {
                continue;
            };
            let Some((port, proto)) = pp.split_once('/') else {
                continue;
            };
            let Ok(port) = port.parse::<u16>() else {
                continue;
            };
            out.services.push((
                name.to_string(),
                port,
                proto.to_string(),
                words.map(str::to_string).collect(),
            ));
        }
        out
    }

    /// Read `/etc/hosts` and `/etc/services`; a missing file counts as empty.
    pub fn from_system() -> StaticNames {
        let hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
        let services = std::fs::read_to_string("/etc/services").unwrap_or_default();
        StaticNames::from_text(&hosts, &services)
    }
}

fn uncomment(line: &str) -> &str {
    line.split('#').next().unwrap_or("")
}

impl Names for StaticNames {
    fn host_addr(&self, name: &str) -> Option<Ipv4Addr> {
        self.hosts.iter().find_map(|(a, names)| match a {
            IpAddr::V4(v4) if names.iter().any(|n| n == name) => Some(*v4),
            _ => None,
        })
    }
    fn service_port(&self, name: &str, proto: Protocol) -> Option<u16> {
        self.services
            .iter()
            .find(|(n, _, p, aliases)| {
                p == proto.services_name() && (n == name || aliases.iter().any(|a| a == name))
            })
            .map(|s| s.1)
    }
    fn host_name(&self, addr: IpAddr) -> Option<String> {
        self.hosts.iter().find(|(a, _)| *a == addr).and_then(|(_, names)| names.first().cloned())
    }
    fn service_name(&self, port: u16, proto: Protocol) -> Option<String> {
        self.services
            .iter()
            .find(|(_, p, pr, _)| *p == port && pr == proto.services_name())
            .map(|s| s.0.clone())
    }
}

/// The system's names: see the module documentation for what is consulted.
#[derive(Clone, Debug)]
pub struct SystemNames {
    files: StaticNames,
}

impl SystemNames {
    /// Load `/etc/hosts` and `/etc/services` once.
    pub fn load() -> SystemNames {
        SystemNames { files: StaticNames::from_system() }
    }
}

impl Names for SystemNames {
    fn host_addr(&self, name: &str) -> Option<Ipv4Addr> {
        (name, 0u16).to_socket_addrs().ok()?.find_map(|sa| match sa.ip() {
            IpAddr::V4(a) => Some(a),
            IpAddr::V6(_) => None,
        })
    }
    fn service_port(&self, name: &str, proto: Protocol) -> Option<u16> {
        self.files.service_port(name, proto)
    }
    fn host_name(&self, addr: IpAddr) -> Option<String> {
        self.files.host_name(addr)
    }
    fn service_name(&self, port: u16, proto: Protocol) -> Option<String> {
        self.files.service_name(port, proto)
    }
}

/// A cache in front of another resolver, for listings that ask about the same address often.
pub struct CachedNames<'a> {
    inner: &'a dyn Names,
    hosts: std::cell::RefCell<HashMap<IpAddr, Option<String>>>,
}

impl<'a> CachedNames<'a> {
    /// Wrap `inner`.
    pub fn new(inner: &'a dyn Names) -> CachedNames<'a> {
        CachedNames { inner, hosts: Default::default() }
    }
}

impl Names for CachedNames<'_> {
    fn host_addr(&self, name: &str) -> Option<Ipv4Addr> {
        self.inner.host_addr(name)
    }
    fn service_port(&self, name: &str, proto: Protocol) -> Option<u16> {
        self.inner.service_port(name, proto)
    }
    fn host_name(&self, addr: IpAddr) -> Option<String> {
        if let Some(v) = self.hosts.borrow().get(&addr) {
            return v.clone();
        }
        let v = self.inner.host_name(addr);
        self.hosts.borrow_mut().insert(addr, v.clone());
        v
    }
    fn service_name(&self, port: u16, proto: Protocol) -> Option<String> {
        self.inner.service_name(port, proto)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTS: &str =
        "127.0.0.1 localhost\n# c\n192.168.0.18 web1 web1.lan\n2001:db8::5 v6host\n";
    const SERVICES: &str =
        "http 80/tcp www # WorldWideWeb\nhttp 80/udp\ndomain 53/udp\nbad line\nx 99999/tcp\n";

    #[test]
    fn static_tables_both_directions() {
        let n = StaticNames::from_text(HOSTS, SERVICES);
        assert_eq!(n.host_addr("web1.lan"), Some(Ipv4Addr::new(192, 168, 0, 18)));
        assert_eq!(n.host_addr("v6host"), None);
        assert_eq!(n.host_name("192.168.0.18".parse().unwrap()).as_deref(), Some("web1"));
        assert_eq!(n.host_name("2001:db8::5".parse().unwrap()).as_deref(), Some("v6host"));
        assert_eq!(n.service_port("www", Protocol::Tcp), Some(80));
        assert_eq!(n.service_port("domain", Protocol::Tcp), None);
        assert_eq!(n.service_name(53, Protocol::Udp).as_deref(), Some("domain"));
        assert_eq!(n.service_name(99, Protocol::Tcp), None);
    }

    #[test]
    fn cache_answers_like_inner() {
        let n = StaticNames::from_text(HOSTS, SERVICES);
        let c = CachedNames::new(&n);
        let a: IpAddr = "192.168.0.18".parse().unwrap();
        assert_eq!(c.host_name(a), n.host_name(a));
        assert_eq!(c.host_name(a).as_deref(), Some("web1"));
        assert_eq!(c.host_name("10.9.9.9".parse().unwrap()), None);
    }
}
