//! The director under test, built the way rvsd builds a worker: interfaces, routes and static
//! neighbours for a `net::Stack`, services as the typed changes rvsadm would send, applied
//! with `ServiceTable::apply`, one `Balancer` and a `Pipeline`.
//!
//! Port 0 faces the clients (host 10.0.0.1/24, VIP 10.0.0.100, default route via 10.0.0.254);
//! port 1 faces four real servers 192.168.1.10-13 (host 192.168.1.1/24) and carries the local
//! addresses 192.168.2.0 .. 192.168.2.63 for FULLNAT.

use anyhow::{anyhow, Context, Result};
use rvs::ctrl::table::ServiceTable;
use rvs::ipvs::balancer::{Balancer, BalancerConfig};
use rvs::ipvs::guard::GuardConfig;
use rvs::ipvs::service::{BuildOptions, Services};
use rvs::ipvs::spec::{DestSpec, FwdMethod, LocalAddrSpec, Protocol, ServiceKey, ServiceSpec};
use rvs::net::Stack;
use rvs::net::{AddrKind, IfAddr, Iface, IfaceTable, NeighParams, Route, RouteTable, StaticNeigh};
use rvs::proto::change::Change;
use rvs::wire::MacAddr;
use std::net::Ipv4Addr;
use std::sync::Arc;

/// The virtual service's address.
pub const VIP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 100);
/// TCP and UDP port of the virtual services.
pub const VPORT: u16 = 80;
/// Local addresses for FULLNAT (the most one pool takes; ports are per local address and
/// dest, so 64 x 4 dests x 64512 ports hold 16.5 M connections).
pub const LADDRS: u8 = 64;
const GW: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 254);
/// MAC of the clients' router (source of every generated frame).
pub const GW_MAC: [u8; 6] = [0x52, 0, 0, 0, 0, 0xfe];

/// Forwarding method of the dests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Direct routing (`-g`).
    Dr,
    /// IP-in-IP tunnel (`-i`).
    Tun,
    /// Masquerading (`-m`).
    Nat,
    /// Full NAT (`-b`), with local addresses.
    FullNat,
}

impl Mode {
    fn fwd(self) -> FwdMethod {
        match self {
            Mode::Dr => FwdMethod::Route,
            Mode::Tun => FwdMethod::Tunnel,
            Mode::Nat => FwdMethod::Masq,
            Mode::FullNat => FwdMethod::FullNat,
        }
    }
}

fn rs(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(192, 168, 1, 10 + n)
}

fn laddr(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(192, 168, 2, n)
}

/// The changes of the benchmark's services, as rvsadm sends them: TCP and UDP on VIP:80
/// (`-A -t|-u VIP:80 -s sched`), four dests in `mode` (`-a ... -r RS:80 -w 1`), and for
/// FULLNAT the local addresses (`-P ... -z LADDR`).
pub fn changes(mode: Mode, sched: &str) -> Result<Vec<Change>> {
    let sched = sched.parse().map_err(|e| anyhow!("-s {sched}: {e}"))?;
    let mut out = Vec::new();
    for proto in [Protocol::Tcp, Protocol::Udp] {
        let service = ServiceKey { proto, addr: VIP.into(), port: VPORT };
        out.push(Change::AddService(ServiceSpec { scheduler: sched, ..ServiceSpec::new(service) }));
        for n in 0..4 {
            let dest = DestSpec { fwd: mode.fwd(), ..DestSpec::new(rs(n).into(), VPORT) };
            out.push(Change::AddDest { service, dest });
        }
        if mode == Mode::FullNat {
            for n in 0..LADDRS {
                let laddr = LocalAddrSpec { addr: laddr(n).into(), ifname: None };
                out.push(Change::AddLocalAddr { service, laddr });
            }
        }
    }
    Ok(out)
}

/// The services snapshot those changes describe, applied as rvsd applies them.
pub fn services(mode: Mode, sched: &str) -> Result<Arc<Services>> {
    let mut table = ServiceTable::new();
    for change in changes(mode, sched)? {
        table.apply(&change).map_err(|e| anyhow!("{change:?}: {e}"))?;
    }
    let s =
        table.snapshot(&[], BuildOptions::default()).context("building the services snapshot")?;
    Ok(Arc::new(s))
}

/// A stack for port 0 with MAC `mac0` and port 1 with `mac1`, static neighbours for the router
/// and the real servers.
pub fn stack<B: rvs::buf::PacketBuf>(mac0: [u8; 6], mac1: [u8; 6]) -> Result<Stack<B>> {
    let a = |ip, prefix_len, kind| IfAddr { ip, prefix_len, kind };
    let mut lan = vec![a(Ipv4Addr::new(192, 168, 1, 1), 24, AddrKind::Host)];
    lan.extend((0..LADDRS).map(|n| a(laddr(n), 32, AddrKind::Local)));
    let ifaces = IfaceTable::new(vec![
        Iface {
            port: 0,
            mac: MacAddr(mac0),
            mtu: 1500,
            addrs: vec![
                a(Ipv4Addr::new(10, 0, 0, 1), 24, AddrKind::Host),
                a(VIP, 32, AddrKind::Vip),
            ],
        },
        Iface { port: 1, mac: MacAddr(mac1), mtu: 1500, addrs: lan },
    ])
    .map_err(|e| anyhow!("interfaces: {e}"))?;
    let routes = RouteTable::build(
        &ifaces,
        &[Route { prefix: Ipv4Addr::UNSPECIFIED, prefix_len: 0, port: 0, gateway: Some(GW) }],
    )
    .map_err(|e| anyhow!("routes: {e}"))?;
    let mut neigh = vec![StaticNeigh { ip: GW, port: 0, mac: MacAddr(GW_MAC) }];
    for n in 0..4 {
        neigh.push(StaticNeigh { ip: rs(n), port: 1, mac: MacAddr([0x52, 0, 0, 0, 1, n]) });
    }
    Stack::new(ifaces, routes, &neigh, NeighParams::default()).map_err(|e| anyhow!("neigh: {e}"))
}

/// A balancer for one worker core holding up to `capacity` connections; with
/// `embryonic_max`, the SYN flood guard keeps at most that many connections in SYN_RECV,
/// evicting the oldest for a new one (SYN_RECV's timeout is not shortened: the budget alone
/// holds the fill).
pub fn balancer(capacity: u32, embryonic_max: Option<u32>) -> Result<Balancer> {
    let guard = match embryonic_max {
        Some(n) => GuardConfig { embryonic_max: n, ..GuardConfig::UNLIMITED },
        None => GuardConfig::UNLIMITED,
    };
    // The bench's ports (a ring-backed ethdev, net_null) compute no checksums on transmit.
    let cfg = BalancerConfig {
        conn_capacity: capacity,
        tx_csum_offload: false,
        guard,
        ..BalancerConfig::new(0, 1)
    };
    Balancer::new(cfg, rvs::time::now()).map_err(|e| anyhow!("balancer: {e}"))
}
