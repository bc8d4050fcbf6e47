//! rvsnet's listings: one layout per `show`, stable for scripts (documented in docs/rvsnet.md).
//!
//! Owns turning a [`NetReply`] into text. Rows are sorted here (ports by index, routes longest
//! prefix first, neighbours by worker then address), whatever order rvsd sends them in. MACs
//! print as lower-case colon hex, addresses with `/LEN` except routes to a single host.

use rvs_core::wire::MacAddr;
use rvs_proto::net::{
    CoreEntry, LinkEntry, NeighEntry, NetReply, PortAddrs, RouteEntry, SteeringEntry,
};
use std::fmt::Write;

fn mac(m: [u8; 6]) -> String {
    MacAddr(m).to_string()
}

/// `addr show`.
pub fn addrs(ports: &[PortAddrs]) -> String {
    let mut v: Vec<&PortAddrs> = ports.iter().collect();
    v.sort_by_key(|p| p.index);
    let mut out = String::new();
    for p in v {
        let _ = writeln!(out, "{}: {}: mtu {} link/ether {}", p.index, p.port, p.mtu, mac(p.mac));
        for a in &p.addrs {
            let _ = write!(out, "    inet {}/{} {}", a.ip, a.prefix_len, a.kind.name());
            if let Some(pool) = &a.pool {
                let total: u64 = pool.in_use.iter().sum();
                let per: Vec<String> =
                    pool.in_use.iter().enumerate().map(|(w, n)| format!("w{w}:{n}")).collect();
                let _ =
                    write!(out, " ports-in-use {total} ({}) misses {}", per.join(" "), pool.misses);
            }
            if a.standby {
                out.push_str(" standby");
            }
            out.push('\n');
        }
    }
    out
}

fn route_dst(r: &RouteEntry) -> String {
    match r.prefix_len {
        0 => "default".to_string(),
        32 => r.prefix.to_string(),
        n => format!("{}/{n}", r.prefix),
    }
}

/// `route show`: longest prefix first, then by address.
pub fn routes(routes: &[RouteEntry]) -> String {
    let mut v: Vec<&RouteEntry> = routes.iter().collect();
    v.sort_by(|a, b| b.prefix_len.cmp(&a.prefix_len).then(a.prefix.cmp(&b.prefix)));
    let mut out = String::new();
    for r in v {
        out.push_str(&route_dst(r));
        if let Some(gw) = r.via {
            let _ = write!(out, " via {gw}");
        }
        let _ = write!(out, " dev {}", r.port);
        if r.connected {
            out.push_str(" proto connected");
        }
        out.push('\n');
    }
    out
}

/// `neigh show`: by worker, then address.
pub fn neighs(rows: &[NeighEntry]) -> String {
    let mut v: Vec<&NeighEntry> = rows.iter().collect();
    v.sort_by(|a, b| a.worker.cmp(&b.worker).then(a.ip.cmp(&b.ip)).then(a.port.cmp(&b.port)));
    let mut out = String::new();
    for n in v {
        let _ = write!(out, "{} dev {}", n.ip, n.port);
        if let Some(m) = n.mac {
            let _ = write!(out, " lladdr {}", mac(m));
        }
        let _ = write!(out, " {}", n.state.name());
        if let Some(a) = n.age_s {
            let _ = write!(out, " age {a}s");
        }
        if let Some(e) = n.expires_s {
            let _ = write!(out, " expires {e}s");
        }
        if n.pending > 0 {
            let _ = write!(out, " pending {}", n.pending);
        }
        let _ = writeln!(out, " worker {}", n.worker);
    }
    out
}

fn link(out: &mut String, l: &LinkEntry) {
    let state = match l.up {
        Some(true) => "UP",
        Some(false) => "DOWN",
        None => "UNKNOWN",
    };
    let _ = writeln!(
        out,
        "{}: {}: <{state}> mtu {} driver {} device {}",
        l.index, l.port, l.mtu, l.driver, l.device
    );
    let speed = match l.speed_mbps {
        0 => "unknown".to_string(),
        s => format!("{s}Mb/s"),
    };
    let duplex = if l.full_duplex { "full-duplex" } else { "half-duplex" };
    let _ = writeln!(out, "    link/ether {} speed {speed} {duplex}", mac(l.mac));
    match &l.counters {
        Some(c) => {
            let _ = writeln!(
                out,
                "    RX: packets {} bytes {} missed {} no-mbuf {} errors {}",
                c.rx_packets, c.rx_bytes, c.rx_missed, c.rx_nombuf, c.rx_errors
            );
            let _ = writeln!(
                out,
                "    TX: packets {} bytes {} errors {}",
                c.tx_packets, c.tx_bytes, c.tx_errors
            );
        }
        None => out.push_str("    counters unavailable\n"),
    }
}

fn core(out: &mut String, c: &CoreEntry) {
    let _ = writeln!(
        out,
        "core {}: busy-polls {} idle-polls {} rx {} tx {} redirects-in {} redirects-lost {} tx-dropped {}",
        c.core,
        c.busy_polls,
        c.idle_polls,
        c.rx_packets,
        c.tx_packets,
        c.redirects_in,
        c.redirects_lost,
        c.tx_dropped
    );
    if c.drops.is_empty() {
        out.push_str("    drops: none\n");
    } else {
        let d: Vec<String> = c.drops.iter().map(|(r, n)| format!("{r} {n}")).collect();
        let _ = writeln!(out, "    drops: {}", d.join(", "));
    }
}

/// `link show [-s]`: ports by index, then (with `-s`) cores by index.
pub fn links(links: &[LinkEntry], cores: &[CoreEntry]) -> String {
    let mut out = String::new();
    let mut v: Vec<&LinkEntry> = links.iter().collect();
    v.sort_by_key(|l| l.index);
    for l in v {
        link(&mut out, l);
    }
    let mut c: Vec<&CoreEntry> = cores.iter().collect();
    c.sort_by_key(|c| c.core);
    for c in c {
        core(&mut out, c);
    }
    out
}

/// `steering show`.
pub fn steering(rows: &[SteeringEntry]) -> String {
    let mut out = String::new();
    for s in rows {
        let _ = writeln!(out, "{}: {} rules {}", s.port, s.mode, s.rules);
        if !s.detail.is_empty() {
            let _ = writeln!(out, "    {}", s.detail);
        }
    }
    out
}

/// The text for any reply (`Done` prints nothing).
pub fn reply(r: &NetReply) -> String {
    match r {
        NetReply::Done => String::new(),
        NetReply::Addrs(a) => addrs(a),
        NetReply::Routes(r) => routes(r),
        NetReply::Neighs(n) => neighs(n),
        NetReply::Links { links: l, cores } => links(l, cores),
        NetReply::Steering(s) => steering(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rvs_proto::net::*;
    use std::net::Ipv4Addr;

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    const MAC: [u8; 6] = [0x02, 0, 0, 0, 0xab, 0x01];

    #[test]
    fn addr_show_layout() {
        let ports = vec![
            PortAddrs { index: 1, port: "wan".into(), mac: MAC, mtu: 1500, addrs: vec![] },
            PortAddrs {
                index: 0,
                port: "p0".into(),
                mac: MAC,
                mtu: 9000,
                addrs: vec![
                    AddrEntry {
                        ip: ip("192.0.2.1"),
                        prefix_len: 24,
                        kind: NetAddrKind::Host,
                        pool: None,
                        standby: false,
                    },
                    AddrEntry {
                        ip: ip("192.0.2.100"),
                        prefix_len: 32,
                        kind: NetAddrKind::Vip,
                        pool: None,
                        standby: true,
                    },
                    AddrEntry {
                        ip: ip("192.0.2.200"),
                        prefix_len: 32,
                        kind: NetAddrKind::Local,
                        pool: Some(PoolUsage { in_use: vec![1, 2], misses: 7 }),
                        standby: false,
                    },
                ],
            },
        ];
        assert_eq!(
            addrs(&ports),
            "0: p0: mtu 9000 link/ether 02:00:00:00:ab:01\n\
             \x20   inet 192.0.2.1/24 host\n\
             \x20   inet 192.0.2.100/32 vip standby\n\
             \x20   inet 192.0.2.200/32 local ports-in-use 3 (w0:1 w1:2) misses 7\n\
             1: wan: mtu 1500 link/ether 02:00:00:00:ab:01\n"
        );
    }

    #[test]
    fn route_show_is_longest_prefix_first() {
        let r = |p: &str, len, via: Option<&str>, connected| RouteEntry {
            prefix: ip(p),
            prefix_len: len,
            via: via.map(ip),
            port: "p0".into(),
            connected,
        };
        let rows = vec![
            r("0.0.0.0", 0, Some("192.0.2.254"), false),
            r("192.0.2.0", 24, None, true),
            r("10.1.0.0", 16, Some("192.0.2.254"), false),
            r("198.51.100.7", 32, None, false),
            r("10.0.0.0", 24, None, false),
        ];
        assert_eq!(
            routes(&rows),
            "198.51.100.7 dev p0\n\
             10.0.0.0/24 dev p0\n\
             192.0.2.0/24 dev p0 proto connected\n\
             10.1.0.0/16 via 192.0.2.254 dev p0\n\
             default via 192.0.2.254 dev p0\n"
        );
    }

    #[test]
    fn neigh_show_layout() {
        let rows = vec![
            NeighEntry {
                worker: 1,
                ip: ip("192.0.2.13"),
                port: "p0".into(),
                state: NeighStateName::Incomplete,
                mac: None,
                age_s: None,
                expires_s: None,
                pending: 2,
            },
            NeighEntry {
                worker: 0,
                ip: ip("192.0.2.12"),
                port: "p0".into(),
                state: NeighStateName::Reachable,
                mac: Some(MAC),
                age_s: Some(13),
                expires_s: Some(287),
                pending: 0,
            },
            NeighEntry {
                worker: 0,
                ip: ip("192.0.2.9"),
                port: "p0".into(),
                state: NeighStateName::Permanent,
                mac: Some(MAC),
                age_s: None,
                expires_s: None,
                pending: 0,
            },
        ];
        assert_eq!(
            neighs(&rows),
            "192.0.2.9 dev p0 lladdr 02:00:00:00:ab:01 PERMANENT worker 0\n\
             192.0.2.12 dev p0 lladdr 02:00:00:00:ab:01 REACHABLE age 13s expires 287s worker 0\n\
             192.0.2.13 dev p0 INCOMPLETE pending 2 worker 1\n"
        );
    }

    #[test]
    fn link_show_layout_with_cores() {
        let l = LinkEntry {
            index: 0,
            port: "p0".into(),
            device: "net_null0".into(),
            driver: "net_null".into(),
            mac: MAC,
            mtu: 1500,
            up: Some(true),
            speed_mbps: 10000,
            full_duplex: true,
            counters: Some(PortCounters {
                rx_packets: 1,
                rx_bytes: 2,
                rx_missed: 3,
                rx_nombuf: 4,
                rx_errors: 5,
                tx_packets: 6,
                tx_bytes: 7,
                tx_errors: 8,
            }),
        };
        let down = LinkEntry {
            index: 1,
            up: None,
            speed_mbps: 0,
            full_duplex: false,
            counters: None,
            port: "p1".into(),
            ..l.clone()
        };
        let c = |core, drops: Vec<(String, u64)>| CoreEntry {
            core,
            busy_polls: 10,
            idle_polls: 20,
            rx_packets: 30,
            tx_packets: 40,
            redirects_in: 50,
            redirects_lost: 60,
            tx_dropped: 70,
            drops,
        };
        let text = links(
            &[down, l],
            &[c(1, vec![]), c(0, vec![("net:not_for_us".into(), 3), ("lb:no_service".into(), 2)])],
        );
        assert_eq!(
            text,
            "0: p0: <UP> mtu 1500 driver net_null device net_null0\n\
             \x20   link/ether 02:00:00:00:ab:01 speed 10000Mb/s full-duplex\n\
             \x20   RX: packets 1 bytes 2 missed 3 no-mbuf 4 errors 5\n\
             \x20   TX: packets 6 bytes 7 errors 8\n\
             1: p1: <UNKNOWN> mtu 1500 driver net_null device net_null0\n\
             \x20   link/ether 02:00:00:00:ab:01 speed unknown half-duplex\n\
             \x20   counters unavailable\n\
             core 0: busy-polls 10 idle-polls 20 rx 30 tx 40 redirects-in 50 redirects-lost 60 tx-dropped 70\n\
             \x20   drops: net:not_for_us 3, lb:no_service 2\n\
             core 1: busy-polls 10 idle-polls 20 rx 30 tx 40 redirects-in 50 redirects-lost 60 tx-dropped 70\n\
             \x20   drops: none\n"
        );
    }

    #[test]
    fn steering_layout() {
        let rows = vec![
            SteeringEntry {
                port: "p0".into(),
                mode: "software".into(),
                rules: 0,
                detail: "rte_flow refused: not supported".into(),
            },
            SteeringEntry {
                port: "p1".into(),
                mode: "rte_flow".into(),
                rules: 12,
                detail: String::new(),
            },
        ];
        assert_eq!(
            steering(&rows),
            "p0: software rules 0\n    rte_flow refused: not supported\np1: rte_flow rules 12\n"
        );
        assert_eq!(reply(&NetReply::Done), "");
    }
}
