//! The director's own IPv6 from the configuration to each worker's stack (issue 16 item 1).
//!
//! Owns the mapping of `Config::ipv6()` into the net layer's shared tables
//! ([`Ipv6Addrs`], [`Route6Table`]) and each worker's [`Ipv6Setup`] (its own neighbour
//! discovery with the `[nd]` and `[neigh]` tunables). Without an IPv6 address nothing is built
//! and the stacks drop IPv6 as before.

use std::sync::Arc;

use crate::buf::PacketBuf;
use crate::config::{self, Config};
use crate::net::nd::{Nd, NdParams};
use crate::net::{
    AddrKind, IfAddr6, IfaceTable, Ipv6Addrs, Ipv6Setup, Route6, Route6Table, StaticNeigh,
};
use crate::time::Instant;
use crate::wire::MacAddr;

/// The shared IPv6 tables.
#[derive(Debug, Clone)]
pub struct Ipv6Tables {
    addrs: Arc<Ipv6Addrs>,
    routes: Arc<Route6Table>,
}

/// Builds the shared IPv6 tables, or `None` when the config has no IPv6 address.
pub fn tables(cfg: &Config, ifaces: &IfaceTable) -> Result<Option<Ipv6Tables>, String> {
    let v6 = cfg.ipv6();
    if !v6.enabled() {
        return Ok(None);
    }
    let addrs = v6
        .addrs
        .iter()
        .map(|a| IfAddr6 {
            port: a.port,
            ip: a.ip,
            prefix_len: a.prefix_len,
            kind: match a.kind {
                config::AddrKind::Host => AddrKind::Host,
                config::AddrKind::Vip => AddrKind::Vip,
                config::AddrKind::Local => AddrKind::Local,
            },
        })
        .collect();
    let addrs = Ipv6Addrs::new(addrs, ifaces).map_err(|e| format!("IPv6 addresses: {e}"))?;
    // The lowest metric wins among routes to one destination, as for IPv4.
    let mut sorted: Vec<_> = v6.routes.iter().collect();
    sorted.sort_by_key(|r| (r.dst.network(), r.dst.prefix_len(), r.metric));
    sorted.dedup_by_key(|r| r.dst);
    let routes: Vec<Route6> = sorted
        .into_iter()
        .map(|r| Route6 {
            prefix: r.dst.network(),
            prefix_len: r.dst.prefix_len(),
            port: r.port,
            gateway: r.via,
        })
        .collect();
    let routes =
        Route6Table::build(ifaces, &addrs, &routes).map_err(|e| format!("IPv6 routes: {e}"))?;
    Ok(Some(Ipv6Tables { addrs: Arc::new(addrs), routes: Arc::new(routes) }))
}

/// One worker's IPv6: its neighbour discovery over the shared tables, DAD starting at `now`.
pub fn setup<B: PacketBuf>(
    cfg: &Config,
    t: &Ipv6Tables,
    neigh: crate::net::NeighParams,
    now: Instant,
) -> Result<Ipv6Setup<B>, String> {
    let nd = cfg.ipv6().nd;
    let params = NdParams {
        dad_transmits: nd.dad_transmits,
        dad_retrans: nd.dad_retrans,
        unsolicited_na: nd.unsolicited_na,
        rate: nd.pps,
        burst: nd.burst,
    };
    let statics: Vec<StaticNeigh<std::net::Ipv6Addr>> = cfg
        .ipv6()
        .neighs
        .iter()
        .map(|n| StaticNeigh { ip: n.ip, port: n.port, mac: MacAddr(n.mac) })
        .collect();
    let nd = Nd::new(params, neigh, &t.addrs.own_addrs(), &statics, now)
        .map_err(|e| format!("IPv6 neighbour discovery: {e}"))?;
    Ok(Ipv6Setup::new(t.addrs.clone(), t.routes.clone(), nd))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buf::VecBuf;
    use crate::config::test_fixtures::NULL_DIRECTOR;

    #[test]
    fn tables_follow_the_config() {
        let v4 = Config::from_toml_str(NULL_DIRECTOR).unwrap();
        let ifaces = crate::daemon::build_ifaces(&v4, &[[2, 0, 0, 0, 0, 1]]).unwrap();
        assert!(tables(&v4, &ifaces).unwrap().is_none(), "no IPv6 address, no IPv6");
        let text = format!(
            "{NULL_DIRECTOR}\n[[addr]]\nport = \"p0\"\nip = \"2001:db8::1/64\"\nkind = \"host\"\n\n[[route]]\ndst = \"::/0\"\nvia = \"fe80::1\"\nport = \"p0\"\nmetric = 5\n\n[[route]]\ndst = \"::/0\"\nvia = \"2001:db8::fe\"\nport = \"p0\"\n\n[[neigh.static]]\nip = \"fe80::1\"\nmac = \"52:54:00:00:00:01\"\nport = \"p0\"\n"
        );
        let cfg = Config::from_toml_str(&text).unwrap();
        let t = tables(&cfg, &ifaces).unwrap().unwrap();
        assert_eq!(t.addrs.owns("2001:db8::1".parse().unwrap()), Some((0, AddrKind::Host)));
        let hit = t.routes.lookup("2606::1".parse().unwrap()).unwrap();
        assert_eq!(
            hit.next_hop,
            "2001:db8::fe".parse::<std::net::Ipv6Addr>().unwrap(),
            "lowest metric"
        );
        assert_eq!(t.routes.len(), 2, "connected /64 and one default");
        let s: Ipv6Setup<VecBuf> =
            setup(&cfg, &t, crate::net::NeighParams::default(), Instant::ZERO).unwrap();
        drop(s);
    }
}
