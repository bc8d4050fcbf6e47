//! rvsnet's requests against the running director: its addresses, routes, neighbours, ports
//! and reply steering.
//!
//! Owns [`NetPlumbing`], the authoritative copy of the interfaces (with their addresses) and
//! the configured routes the workers run. A change is built on a copy, validated whole by
//! `IfaceTable::new` and `RouteTable::build` (the same rules as at start), then sent to every
//! worker as immutable tables taken at a burst boundary; it is committed and acknowledged only
//! when every worker runs it (on a failure the old tables are sent back). Added addresses are
//! announced with a gratuitous ARP by the worker that announces at start. Listings ask the
//! workers through their inboxes (neighbours, pool counters) or read published counters and the
//! ports. Must not touch: packets, the service table (rvsadm's), sockets.

use crate::dataplane::control::WorkerHandle;
use crate::dataplane::stats::{CoreStats, LoopStat};
use crate::dpdk;
use crate::ipvs::counters::IpvsDropReason;
use crate::net::iface::prefix_contains;
use crate::net::DropReason;
use crate::net::{AddrKind, IfAddr, Iface, IfaceTable, NeighState, Route, RouteTable};
use crate::proto::net::{
    AddrEntry, AddrSpec, CoreEntry, LinkEntry, NeighEntry, NeighStateName, NetAddrKind, NetReply,
    NetRequest, PoolUsage, PortAddrs, PortCounters, RouteEntry, RouteSpec, SteeringEntry,
};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

/// What a refused or failed request says: whether rvsd refused it (nothing changed) or the
/// workers failed, and the words for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetFailure {
    /// Invalid request; nothing changed.
    Refused(String),
    /// The workers did not answer or take the change; the old tables are back in force.
    Dataplane(String),
}

/// A port as rvsnet shows it.
#[derive(Debug, Clone)]
pub struct PortMeta {
    /// Index in the config.
    pub index: u16,
    /// Config name.
    pub name: String,
    /// DPDK device name.
    pub device: String,
    /// DPDK port id.
    pub id: u16,
    /// Driver name.
    pub driver: String,
}

/// The director's plumbing as the control plane holds it. See the module documentation.
pub struct NetPlumbing {
    ports: Vec<PortMeta>,
    ifaces: Vec<Iface>,
    routes: Vec<Route>,
    steering: Vec<SteeringEntry>,
    stats: Vec<Arc<CoreStats>>,
    neigh_timeout: Duration,
    /// The kernel's addresses (exception path) per port: fixed at start, kept in every table
    /// a change builds so the kernel's traffic keeps reaching it.
    kernel: Vec<(u16, Vec<Ipv4Addr>)>,
    /// The VIPs held in standby (director HA, `rvsnet addr standby|take`), sorted.
    standby: Vec<Ipv4Addr>,
}

/// Gratuitous ARPs sent for a VIP when it is taken: keepalived's `vrrp_garp_master_repeat`
/// default, so neighbours that miss one (a busy switch, a dropped broadcast) still move.
pub const TAKE_GARPS: usize = 5;

fn kind_of(k: AddrKind) -> NetAddrKind {
    match k {
        AddrKind::Host => NetAddrKind::Host,
        AddrKind::Vip => NetAddrKind::Vip,
        AddrKind::Local => NetAddrKind::Local,
    }
}

fn kind_to(k: NetAddrKind) -> AddrKind {
    match k {
        NetAddrKind::Host => AddrKind::Host,
        NetAddrKind::Vip => AddrKind::Vip,
        NetAddrKind::Local => AddrKind::Local,
    }
}

impl NetPlumbing {
    /// The plumbing the director started with.
    pub fn new(
        ports: Vec<PortMeta>,
        ifaces: &IfaceTable,
        routes: Vec<Route>,
        steering: Vec<SteeringEntry>,
        stats: Vec<Arc<CoreStats>>,
        neigh_timeout: Duration,
    ) -> Self {
        let mut kernel: Vec<(u16, Vec<Ipv4Addr>)> = Vec::new();
        for (ip, port) in ifaces.kernel_addrs() {
            match kernel.iter_mut().find(|(p, _)| *p == port) {
                Some((_, ips)) => ips.push(ip),
                None => kernel.push((port, vec![ip])),
            }
        }
        let mut standby: Vec<Ipv4Addr> = ifaces.standby_vips().collect();
        standby.sort();
        NetPlumbing {
            kernel,
            standby,
            ports,
            ifaces: ifaces.iter().cloned().collect(),
            routes,
            steering,
            stats,
            neigh_timeout,
        }
    }

    /// Port names in config order (for `rvsadm -F` validation).
    pub fn port_names(&self) -> Vec<String> {
        self.ports.iter().map(|p| p.name.clone()).collect()
    }

    fn port_name(&self, index: u16) -> String {
        self.ports
            .iter()
            .find(|p| p.index == index)
            .map_or_else(|| format!("port{index}"), |p| p.name.clone())
    }

    fn port_index(&self, name: &str) -> Result<u16, NetFailure> {
        self.ports.iter().find(|p| p.name == name).map(|p| p.index).ok_or_else(|| {
            let names: Vec<&str> = self.ports.iter().map(|p| p.name.as_str()).collect();
            NetFailure::Refused(format!(
                "rvsd has no port named `{name}`; its ports are: {}",
                names.join(", ")
            ))
        })
    }

    /// Validates `ifaces` and `routes` together, as at start (the kernel's addresses included:
    /// an address the kernel owns cannot be given to rvsd), with the standby VIPs in force.
    fn build(
        &self,
        ifaces: &[Iface],
        routes: &[Route],
    ) -> Result<(IfaceTable, RouteTable), NetFailure> {
        self.build_with(ifaces, routes, &self.standby)
    }

    /// [`NetPlumbing::build`] with `standby` as the standby VIPs.
    fn build_with(
        &self,
        ifaces: &[Iface],
        routes: &[Route],
        standby: &[Ipv4Addr],
    ) -> Result<(IfaceTable, RouteTable), NetFailure> {
        let refused = |e: crate::net::IfaceError| NetFailure::Refused(e.to_string());
        let t =
            self.kernel.iter().try_fold(
                IfaceTable::new(ifaces.to_vec()).map_err(refused)?,
                |t, (port, ips)| t.with_kernel_addrs(*port, ips).map_err(refused),
            )?;
        let t = t.with_standby(standby).map_err(refused)?;
        let r = RouteTable::build(&t, routes).map_err(|e| NetFailure::Refused(e.to_string()))?;
        Ok((t, r))
    }

    /// Answers one request; `workers` are the running workers, `in_use` the addresses the
    /// service table and SNAT rules use (with what uses them), which cannot be deleted.
    pub fn handle(
        &mut self,
        req: NetRequest,
        workers: &[WorkerHandle],
        in_use: &[(IpAddr, String)],
        timeout: Duration,
    ) -> Result<NetReply, NetFailure> {
        match req {
            NetRequest::AddrShow => self.addr_show(workers, timeout),
            NetRequest::AddrAdd(spec) => self.addr_add(spec, workers, timeout),
            NetRequest::AddrDel { ip, port } => self.addr_del(ip, port, workers, in_use, timeout),
            NetRequest::AddrStandby { ip } => self.addr_ha(ip, false, workers, timeout),
            NetRequest::AddrTake { ip } => self.addr_ha(ip, true, workers, timeout),
            NetRequest::RouteShow => self.route_show(),
            NetRequest::RouteAdd(spec) => self.route_add(spec, workers, timeout),
            NetRequest::RouteDel(spec) => self.route_del(spec, workers, timeout),
            NetRequest::Neigh { flush } => self.neigh(flush, workers, timeout),
            NetRequest::LinkShow { stats } => Ok(self.link_show(stats)),
            NetRequest::SteeringShow => Ok(NetReply::Steering(self.steering.clone())),
        }
    }

    /// Sends new tables to every worker; commits them when all run them.
    fn commit(
        &mut self,
        ifaces: Vec<Iface>,
        routes: Vec<Route>,
        workers: &[WorkerHandle],
        timeout: Duration,
    ) -> Result<NetReply, NetFailure> {
        // A deleted VIP leaves the standby set with its address.
        let mut standby = self.standby.clone();
        standby.retain(|ip| ifaces.iter().any(|i| i.addrs.iter().any(|a| a.ip == *ip)));
        self.commit_with(ifaces, routes, standby, Vec::new(), workers, timeout)
    }

    /// [`NetPlumbing::commit`] with `standby` as the new standby VIPs and `taken` announced
    /// beside the added addresses (each listing is one gratuitous ARP).
    fn commit_with(
        &mut self,
        ifaces: Vec<Iface>,
        routes: Vec<Route>,
        standby: Vec<Ipv4Addr>,
        taken: Vec<Ipv4Addr>,
        workers: &[WorkerHandle],
        timeout: Duration,
    ) -> Result<NetReply, NetFailure> {
        let (t, r) = self.build_with(&ifaces, &routes, &standby)?;
        let (t, r) = (Arc::new(t), Arc::new(r));
        // Addresses new in this change are announced (gratuitous ARP), as at start.
        let old: Vec<Ipv4Addr> =
            self.ifaces.iter().flat_map(|i| i.addrs.iter().map(|a| a.ip)).collect();
        let announce: Vec<Ipv4Addr> = ifaces
            .iter()
            .flat_map(|i| i.addrs.iter().map(|a| a.ip))
            .filter(|ip| !old.contains(ip))
            .chain(taken)
            .collect();
        for w in workers {
            if let Err(e) = w.set_net(t.clone(), r.clone(), announce.clone(), timeout) {
                // Some workers may run the new tables: put the old ones back everywhere.
                if let Ok((ot, or)) = self.build(&self.ifaces, &self.routes) {
                    let (ot, or) = (Arc::new(ot), Arc::new(or));
                    for w in workers {
                        let _ = w.set_net(ot.clone(), or.clone(), Vec::new(), timeout);
                    }
                }
                return Err(NetFailure::Dataplane(e.to_string()));
            }
        }
        self.ifaces = ifaces;
        self.routes = routes;
        self.standby = standby;
        Ok(NetReply::Done)
    }

    /// `addr take VIP` (`take`) or `addr standby VIP`: the VIP leaves or joins the standby
    /// set. Either is accepted again in the state it asks for (keepalived may call its notify
    /// scripts more than once); a take always announces the VIP ([`TAKE_GARPS`] gratuitous
    /// ARPs). Anything but an rvsd VIP is refused and nothing changes.
    fn addr_ha(
        &mut self,
        ip: Ipv4Addr,
        take: bool,
        workers: &[WorkerHandle],
        timeout: Duration,
    ) -> Result<NetReply, NetFailure> {
        let kind = self.ifaces.iter().flat_map(|i| &i.addrs).find(|a| a.ip == ip).map(|a| a.kind);
        match kind {
            Some(AddrKind::Vip) => {}
            Some(k) => {
                return Err(NetFailure::Refused(format!(
                    "{ip} is a {} address of rvsd: only a VIP (kind vip) can be standby or taken",
                    kind_of(k).name()
                )))
            }
            None => {
                return Err(NetFailure::Refused(format!(
                    "{ip} is not an address of rvsd: add it as a VIP first (rvsnet addr add {ip} dev PORT kind vip)"
                )))
            }
        }
        let mut standby = self.standby.clone();
        standby.retain(|v| *v != ip);
        let taken = if take {
            vec![ip; TAKE_GARPS]
        } else {
            standby.push(ip);
            standby.sort();
            Vec::new()
        };
        let (ifaces, routes) = (self.ifaces.clone(), self.routes.clone());
        let reply = self.commit_with(ifaces, routes, standby, taken, workers, timeout)?;
        tracing::info!("VIP {ip} {}", if take { "taken (active)" } else { "in standby" });
        Ok(reply)
    }

    /// Every VIP with whether it is active (answered for), for `rvs_vip_active`.
    pub fn vip_states(&self) -> Vec<(Ipv4Addr, bool)> {
        self.ifaces
            .iter()
            .flat_map(|i| &i.addrs)
            .filter(|a| a.kind == AddrKind::Vip)
            .map(|a| (a.ip, !self.standby.contains(&a.ip)))
            .collect()
    }

    fn addr_show(
        &self,
        workers: &[WorkerHandle],
        timeout: Duration,
    ) -> Result<NetReply, NetFailure> {
        let any_local =
            self.ifaces.iter().any(|i| i.addrs.iter().any(|a| a.kind == AddrKind::Local));
        let mut per_worker = Vec::new();
        if any_local {
            for w in workers {
                per_worker
                    .push(w.laddrs(timeout).map_err(|e| NetFailure::Dataplane(e.to_string()))?);
            }
        }
        let ports = self
            .ifaces
            .iter()
            .map(|i| PortAddrs {
                index: i.port,
                port: self.port_name(i.port),
                mac: i.mac.0,
                mtu: i.mtu,
                addrs: i
                    .addrs
                    .iter()
                    .map(|a| AddrEntry {
                        ip: a.ip,
                        prefix_len: a.prefix_len,
                        kind: kind_of(a.kind),
                        standby: self.standby.contains(&a.ip),
                        pool: (a.kind == AddrKind::Local).then(|| {
                            let mut u = PoolUsage::default();
                            for w in &per_worker {
                                let st = w.iter().find(|(ip, _)| *ip == IpAddr::V4(a.ip));
                                u.in_use.push(st.map_or(0, |(_, s)| s.in_use));
                                u.misses += st.map_or(0, |(_, s)| s.misses);
                            }
                            u
                        }),
                    })
                    .collect(),
            })
            .collect();
        Ok(NetReply::Addrs(ports))
    }

    fn addr_add(
        &mut self,
        spec: AddrSpec,
        workers: &[WorkerHandle],
        timeout: Duration,
    ) -> Result<NetReply, NetFailure> {
        let index = self.port_index(&spec.port)?;
        let mut ifaces = self.ifaces.clone();
        let iface = ifaces
            .iter_mut()
            .find(|i| i.port == index)
            .ok_or_else(|| NetFailure::Refused(format!("port {} has no interface", spec.port)))?;
        iface.addrs.push(IfAddr {
            ip: spec.ip,
            prefix_len: spec.prefix_len,
            kind: kind_to(spec.kind),
        });
        let routes = self.routes.clone();
        self.commit(ifaces, routes, workers, timeout)
    }

    fn addr_del(
        &mut self,
        ip: Ipv4Addr,
        port: Option<String>,
        workers: &[WorkerHandle],
        in_use: &[(IpAddr, String)],
        timeout: Duration,
    ) -> Result<NetReply, NetFailure> {
        let only = port.as_deref().map(|p| self.port_index(p)).transpose()?;
        let mut ifaces = self.ifaces.clone();
        let found = ifaces
            .iter_mut()
            .filter(|i| only.map_or(true, |p| p == i.port))
            .find_map(|i| i.addrs.iter().position(|a| a.ip == ip).map(|pos| (i, pos)));
        let Some((iface, pos)) = found else {
            return Err(NetFailure::Refused(match port {
                Some(p) => format!("address {ip} is not on port {p}"),
                None => format!("address {ip} is not an address of rvsd"),
            }));
        };
        if let Some((_, user)) = in_use.iter().find(|(a, _)| *a == IpAddr::V4(ip)) {
            return Err(NetFailure::Refused(format!(
                "address {ip} is in use as {user}: remove that first (rvsadm)"
            )));
        }
        iface.addrs.remove(pos);
        let routes = self.routes.clone();
        self.commit(ifaces, routes, workers, timeout)
    }

    fn route_show(&self) -> Result<NetReply, NetFailure> {
        let (_, table) = self.build(&self.ifaces, &self.routes)?;
        let rows = table
            .iter()
            .map(|r| RouteEntry {
                prefix: r.prefix,
                prefix_len: r.prefix_len,
                via: r.gateway,
                port: self.port_name(r.port),
                connected: !self.routes.contains(&r),
            })
            .collect();
        Ok(NetReply::Routes(rows))
    }

    fn route_add(
        &mut self,
        spec: RouteSpec,
        workers: &[WorkerHandle],
        timeout: Duration,
    ) -> Result<NetReply, NetFailure> {
        let port = match (&spec.port, spec.via) {
            (Some(p), _) => self.port_index(p)?,
            (None, Some(gw)) => {
                let on: Vec<u16> = self
                    .ifaces
                    .iter()
                    .filter(|i| {
                        i.addrs.iter().any(|a| {
                            a.kind == AddrKind::Host
                                && a.prefix_len < 32
                                && prefix_contains(a.ip, a.prefix_len, gw)
                        })
                    })
                    .map(|i| i.port)
                    .collect();
                match on.as_slice() {
                    [one] => *one,
                    [] => {
                        return Err(NetFailure::Refused(format!(
                            "gateway {gw} is not on a connected network of any port; add an address on its network first"
                        )))
                    }
                    _ => {
                        return Err(NetFailure::Refused(format!(
                            "gateway {gw} is on the networks of several ports; name one with `dev PORT`"
                        )))
                    }
                }
            }
            (None, None) => {
                return Err(NetFailure::Refused(
                    "a route needs `via GATEWAY` or `dev PORT` (or both)".into(),
                ))
            }
        };
        let mut routes = self.routes.clone();
        routes.push(Route {
            prefix: spec.prefix,
            prefix_len: spec.prefix_len,
            port,
            gateway: spec.via,
        });
        let ifaces = self.ifaces.clone();
        self.commit(ifaces, routes, workers, timeout)
    }

    fn route_del(
        &mut self,
        spec: RouteSpec,
        workers: &[WorkerHandle],
        timeout: Duration,
    ) -> Result<NetReply, NetFailure> {
        let port = spec.port.as_deref().map(|p| self.port_index(p)).transpose()?;
        let matches = |r: &Route| {
            r.prefix == spec.prefix
                && r.prefix_len == spec.prefix_len
                && spec.via.map_or(true, |v| r.gateway == Some(v))
                && port.map_or(true, |p| r.port == p)
        };
        let Some(pos) = self.routes.iter().position(matches) else {
            let (_, table) = self.build(&self.ifaces, &self.routes)?;
            let connected = table.iter().any(|r| matches(&r));
            let dst = format!("{}/{}", spec.prefix, spec.prefix_len);
            return Err(NetFailure::Refused(if connected {
                format!(
                    "route {dst} is a connected route: delete the address on that network instead"
                )
            } else {
                format!("no route {dst} matches; `rvsnet route show` lists them")
            }));
        };
        let mut routes = self.routes.clone();
        routes.remove(pos);
        let ifaces = self.ifaces.clone();
        self.commit(ifaces, routes, workers, timeout)
    }

    fn neigh(
        &self,
        flush: bool,
        workers: &[WorkerHandle],
        timeout: Duration,
    ) -> Result<NetReply, NetFailure> {
        let mut rows = Vec::new();
        for (core, w) in workers.iter().enumerate() {
            let (now, entries) =
                w.neighs(flush, timeout).map_err(|e| NetFailure::Dataplane(e.to_string()))?;
            for n in entries {
                let left = n.expires.map(|e| e.saturating_since(now));
                rows.push(NeighEntry {
                    worker: core,
                    ip: n.ip,
                    port: self.port_name(n.port),
                    state: match n.state {
                        NeighState::Incomplete => NeighStateName::Incomplete,
                        NeighState::Reachable => NeighStateName::Reachable,
                        NeighState::Static => NeighStateName::Permanent,
                        NeighState::Stale => NeighStateName::Stale,
                    },
                    mac: n.mac.map(|m| m.0),
                    age_s: left.map(|l| self.neigh_timeout.saturating_sub(l).as_secs()),
                    expires_s: left.map(|l| l.as_secs()),
                    pending: u32::try_from(n.pending).unwrap_or(u32::MAX),
                });
            }
        }
        Ok(NetReply::Neighs(rows))
    }

    fn link_show(&self, with_cores: bool) -> NetReply {
        let links = self
            .ports
            .iter()
            .map(|p| {
                let iface = self.ifaces.iter().find(|i| i.port == p.index);
                let port = dpdk::Port::by_id(p.id).ok();
                let link = port.and_then(|d| d.link_nowait().ok());
                let counters = port.and_then(|d| d.stats().ok()).map(|s| PortCounters {
                    rx_packets: s.ipackets,
                    rx_bytes: s.ibytes,
                    rx_missed: s.imissed,
                    rx_nombuf: s.rx_nombuf,
                    rx_errors: s.ierrors,
                    tx_packets: s.opackets,
                    tx_bytes: s.obytes,
                    tx_errors: s.oerrors,
                });
                LinkEntry {
                    index: p.index,
                    port: p.name.clone(),
                    device: p.device.clone(),
                    driver: p.driver.clone(),
                    mac: iface.map_or([0; 6], |i| i.mac.0),
                    mtu: iface.map_or(0, |i| i.mtu),
                    up: link.map(|l| l.up),
                    speed_mbps: link.map_or(0, |l| l.speed_mbps),
                    full_duplex: link.is_some_and(|l| l.full_duplex),
                    counters,
                }
            })
            .collect();
        let cores = if with_cores { self.cores() } else { Vec::new() };
        NetReply::Links { links, cores }
    }

    fn cores(&self) -> Vec<CoreEntry> {
        self.stats
            .iter()
            .enumerate()
            .map(|(core, c)| {
                let mut drops: Vec<(String, u64)> = DropReason::ALL
                    .iter()
                    .map(|&r| (format!("net:{}", r.name()), c.drops(r)))
                    .chain(
                        IpvsDropReason::ALL
                            .iter()
                            .map(|&r| (format!("lb:{}", r.name()), c.lb_drops(r))),
                    )
                    .collect();
                drops.retain(|(_, n)| *n > 0);
                CoreEntry {
                    core,
                    busy_polls: c.loop_stat(LoopStat::BusyPolls),
                    idle_polls: c.loop_stat(LoopStat::IdlePolls),
                    rx_packets: c.loop_stat(LoopStat::RxPackets),
                    tx_packets: c.loop_stat(LoopStat::TxPackets),
                    redirects_in: c.loop_stat(LoopStat::CrossedIn),
                    redirects_lost: c.loop_stat(LoopStat::RedirectsLost),
                    tx_dropped: c.loop_stat(LoopStat::TxDropped),
                    drops,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::MacAddr;

    fn plumbing() -> NetPlumbing {
        let iface = Iface {
            port: 0,
            mac: MacAddr([2, 0, 0, 0, 0, 1]),
            mtu: 1500,
            addrs: vec![IfAddr {
                ip: Ipv4Addr::new(10, 0, 0, 1),
                prefix_len: 24,
                kind: AddrKind::Host,
            }],
        };
        let table = IfaceTable::new(vec![iface])
            .and_then(|t| t.with_kernel_addrs(0, &[Ipv4Addr::new(10, 0, 0, 20)]))
            .unwrap();
        NetPlumbing::new(Vec::new(), &table, Vec::new(), Vec::new(), Vec::new(), Duration::ZERO)
    }

    #[test]
    fn tables_built_for_a_change_keep_the_kernels_addresses() {
        let p = plumbing();
        let mut ifaces = p.ifaces.clone();
        ifaces[0].addrs.push(IfAddr {
            ip: Ipv4Addr::new(10, 0, 0, 50),
            prefix_len: 32,
            kind: AddrKind::Vip,
        });
        let (t, _) = p.build(&ifaces, &p.routes).unwrap();
        assert_eq!(t.kernel_owns(Ipv4Addr::new(10, 0, 0, 20)), Some(0));
        assert!(t.owns(Ipv4Addr::new(10, 0, 0, 50)).is_some());
    }

    fn with_vip() -> NetPlumbing {
        let mut p = plumbing();
        p.ifaces[0].addrs.push(IfAddr {
            ip: Ipv4Addr::new(10, 0, 0, 50),
            prefix_len: 32,
            kind: AddrKind::Vip,
        });
        p
    }

    fn ha(p: &mut NetPlumbing, ip: [u8; 4], take: bool) -> Result<NetReply, NetFailure> {
        let ip = Ipv4Addr::from(ip);
        let req = if take { NetRequest::AddrTake { ip } } else { NetRequest::AddrStandby { ip } };
        p.handle(req, &[], &[], Duration::from_secs(1))
    }

    #[test]
    fn standby_and_take_move_a_vip_and_are_listed() {
        let vip = Ipv4Addr::new(10, 0, 0, 50);
        let mut p = with_vip();
        assert_eq!(p.vip_states(), vec![(vip, true)]);
        for _ in 0..2 {
            assert_eq!(ha(&mut p, [10, 0, 0, 50], false), Ok(NetReply::Done), "again is fine");
            assert_eq!(p.vip_states(), vec![(vip, false)]);
        }
        let (t, _) = p.build(&p.ifaces, &p.routes).unwrap();
        assert!(t.is_standby(vip), "the tables the workers get hold it in standby");
        let Ok(NetReply::Addrs(ports)) = p.addr_show(&[], Duration::ZERO) else { panic!() };
        let shown: Vec<(Ipv4Addr, bool)> =
            ports[0].addrs.iter().map(|a| (a.ip, a.standby)).collect();
        assert_eq!(shown, vec![(Ipv4Addr::new(10, 0, 0, 1), false), (vip, true)]);
        assert_eq!(ha(&mut p, [10, 0, 0, 50], true), Ok(NetReply::Done));
        assert_eq!(p.vip_states(), vec![(vip, true)]);
        // Deleting a standby VIP takes it out of the standby set too.
        assert_eq!(ha(&mut p, [10, 0, 0, 50], false), Ok(NetReply::Done));
        let del = NetRequest::AddrDel { ip: vip, port: None };
        assert_eq!(p.handle(del, &[], &[], Duration::ZERO), Ok(NetReply::Done));
        assert!(p.standby.is_empty() && p.vip_states().is_empty());
    }

    #[test]
    fn only_a_vip_can_be_standby_and_a_refusal_changes_nothing() {
        let mut p = with_vip();
        for (ip, words) in [
            ([10, 0, 0, 1], "is a host address"),
            ([10, 0, 0, 20], "not an address of rvsd"),
            ([10, 0, 0, 99], "not an address of rvsd"),
        ] {
            for take in [false, true] {
                match ha(&mut p, ip, take) {
                    Err(NetFailure::Refused(m)) => assert!(m.contains(words), "{m}"),
                    other => panic!("{ip:?}: {other:?}"),
                }
                assert!(p.standby.is_empty());
                assert_eq!(p.vip_states(), vec![(Ipv4Addr::new(10, 0, 0, 50), true)]);
            }
        }
    }

    #[test]
    fn an_address_the_kernel_owns_cannot_be_given_to_rvsd() {
        let p = plumbing();
        let mut ifaces = p.ifaces.clone();
        ifaces[0].addrs.push(IfAddr {
            ip: Ipv4Addr::new(10, 0, 0, 20),
            prefix_len: 32,
            kind: AddrKind::Vip,
        });
        assert!(matches!(p.build(&ifaces, &p.routes), Err(NetFailure::Refused(_))));
    }
}
