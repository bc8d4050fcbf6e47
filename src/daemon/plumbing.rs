//! Maps the checked config onto the tables of `net`.

use crate::config::{self, Config};
use crate::net::{
    AddrKind, IfAddr, Iface, IfaceError, IfaceTable, NeighParams, Route, RouteError, RouteTable,
    StaticNeigh,
};
use crate::wire::MacAddr;

/// The interface table: each configured port with the MAC it runs with and its addresses.
pub fn build_ifaces(cfg: &Config, macs: &[[u8; 6]]) -> Result<IfaceTable, IfaceError> {
    let ifaces = cfg
        .ports()
        .iter()
        .zip(macs)
        .map(|(p, mac)| Iface {
            port: p.index,
            mac: MacAddr(*mac),
            mtu: p.mtu,
            addrs: cfg
                .addrs()
                .iter()
                .filter(|a| a.port == p.index)
                .map(|a| IfAddr {
                    ip: a.ip,
                    prefix_len: a.prefix_len,
                    kind: match a.kind {
                        config::AddrKind::Host => AddrKind::Host,
                        config::AddrKind::Vip => AddrKind::Vip,
                        config::AddrKind::Local => AddrKind::Local,
                    },
                })
                .collect(),
        })
        .collect();
    let standby: Vec<_> = cfg.addrs().iter().filter(|a| a.standby).map(|a| a.ip).collect();
    IfaceTable::new(ifaces)?.with_standby(&standby)
}

/// The route table: connected routes from the interfaces plus the configured static routes.
pub fn build_routes(cfg: &Config, ifaces: &IfaceTable) -> Result<RouteTable, RouteError> {
    RouteTable::build(ifaces, &config_routes(cfg))
}

/// The configured static routes the table holds (the lowest metric per destination).
pub fn config_routes(cfg: &Config) -> Vec<Route> {
    // The lowest metric wins among routes to one destination; the others are standbys the
    // table does not hold yet.
    let mut sorted: Vec<_> = cfg.routes().iter().collect();
    sorted.sort_by_key(|r| (r.dst.network(), r.dst.prefix_len(), r.metric));
    sorted.dedup_by_key(|r| r.dst);
    let routes: Vec<Route> = sorted
        .into_iter()
        .map(|r| Route {
            prefix: r.dst.network(),
            prefix_len: r.dst.prefix_len(),
            gateway: r.via,
            port: r.port,
        })
        .collect();
    routes
}

/// Static neighbours from the config.
pub fn static_neighs(cfg: &Config) -> Vec<StaticNeigh> {
    cfg.static_neighs()
        .iter()
        .map(|n| StaticNeigh { ip: n.ip, port: n.port, mac: MacAddr(n.mac) })
        .collect()
}

/// Neighbour table tunables from the config.
pub fn neigh_params(cfg: &Config) -> NeighParams {
    let n = cfg.neigh();
    NeighParams {
        timeout: n.timeout,
        retry: n.retry,
        probes: n.probes,
        pending_per_neigh: n.pending_per_neigh as usize,
        pending_total: n.pending_total as usize,
        max_entries: n.max_entries as usize,
        confirm_pps: n.confirm_pps,
    }
}
