//! `[sync]`: the connection-sync daemons rvsd starts (docs/scale-out.md, "Connection sync"),
//! ipvsadm's `--start-daemon` options as TOML keys plus rvs's unicast peers.
//!
//! Owns these keys, their defaults and their checks, and the lookup of the ports' kernel
//! interfaces that can carry sync traffic ([`sync_ifaces`]: the same lookup serves `[sync]` and
//! `rvsadm --start-daemon --mcast-interface`); the checked types ([`SyncConfig`], [`SyncIface`])
//! live in `crate::sync::settings`, so the daemon does not depend on this module. Must not touch
//! sockets or threads (`crate::sync`).
//!
//! ```toml
//! [sync]
//! role = "both"                 # "master" | "backup" | "both" (active-active)
//! mcast_interface = "lan-kernel" # a port's kernel_iface with an IPv4 kernel address
//! syncid = 1                    # 0-255 (default 0; a backup with 0 takes every sync id)
//! sync_maxlen = 1472            # 80-65507 (default: the port's MTU less 28)
//! mcast_group = "224.0.0.81"    # default
//! mcast_port = 8848             # default
//! mcast_ttl = 1                 # 1-255, default 1
//! peers = ["10.0.0.12"]         # unicast instead of multicast ("a.b.c.d" or "a.b.c.d:port")
//! ```

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use serde::Deserialize;

use super::checked::Port;
use super::error::{invalid, Invalid};
use crate::proto::sync::SyncRole;
pub use crate::sync::settings::{SyncConfig, SyncIface};
use crate::sync::SyncSettings;

/// `[sync]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawSync {
    pub role: Option<String>,
    pub mcast_interface: Option<String>,
    pub syncid: Option<i64>,
    pub sync_maxlen: Option<i64>,
    pub mcast_group: Option<String>,
    pub mcast_port: Option<i64>,
    pub mcast_ttl: Option<i64>,
    pub peers: Vec<String>,
}

/// The ports' kernel interfaces that have an address.
pub fn sync_ifaces(ports: &[Port]) -> Vec<SyncIface> {
    ports
        .iter()
        .filter_map(|p| {
            let k = p.kernel.as_ref()?;
            let a = k.addrs.first()?;
            Some(SyncIface { name: k.name.clone(), addr: a.addr(), mtu: p.mtu })
        })
        .collect()
}

fn ranged(key: &str, v: Option<i64>, default: i64, min: i64, max: i64) -> Result<i64, Invalid> {
    let v = v.unwrap_or(default);
    if !(min..=max).contains(&v) {
        return Err(invalid(key, format!("{v}: give a number from {min} to {max}")));
    }
    Ok(v)
}

/// Checks `[sync]` (ports already checked).
pub(crate) fn check_sync(
    raw: Option<RawSync>,
    ports: &[Port],
) -> Result<Option<SyncConfig>, Invalid> {
    let Some(raw) = raw else { return Ok(None) };
    let roles = match raw.role.as_deref() {
        Some("both") => SyncRole::ALL.to_vec(),
        Some(w) if SyncRole::parse(w).is_some() => SyncRole::parse(w).into_iter().collect(),
        Some(other) => {
            return Err(invalid(
                "sync.role",
                format!("\"{other}\": use \"master\", \"backup\" or \"both\" (active-active)"),
            ))
        }
        None => {
            return Err(invalid(
                "sync.role",
                "missing: give \"master\" (send), \"backup\" (receive) or \"both\"",
            ))
        }
    };
    let ifaces = sync_ifaces(ports);
    let names = || {
        if ifaces.is_empty() {
            "no port has a kernel_iface with kernel_addrs".to_owned()
        } else {
            ifaces.iter().map(|i| i.name.as_str()).collect::<Vec<_>>().join(", ")
        }
    };
    let ifname = raw.mcast_interface.unwrap_or_default();
    let Some(iface) = ifaces.iter().find(|i| i.name == ifname) else {
        return Err(invalid(
            "sync.mcast_interface",
            format!(
                "\"{ifname}\": name a port's kernel_iface with an IPv4 kernel address ({}); \
                 the sync traffic goes through rvsd's exception path",
                names()
            ),
        ));
    };
    let syncid = ranged("sync.syncid", raw.syncid, 0, 0, 255)? as u8;
    let maxlen_min = (crate::ipvs::sync::HEADER_LEN + crate::ipvs::sync::CONN_V6_LEN) as i64;
    let maxlen = ranged(
        "sync.sync_maxlen",
        raw.sync_maxlen,
        iface.default_maxlen().into(),
        maxlen_min,
        65507,
    )? as u16;
    let group = match raw.mcast_group.as_deref() {
        None => crate::ipvs::sync::DEFAULT_GROUP,
        Some(g) => match g.parse::<Ipv4Addr>() {
            Ok(a) if a.is_multicast() => a,
            _ => {
                return Err(invalid(
                    "sync.mcast_group",
                    format!(
                        "\"{g}\": give an IPv4 multicast address (224.0.0.0/4), e.g. 224.0.0.81"
                    ),
                ))
            }
        },
    };
    let port = ranged(
        "sync.mcast_port",
        raw.mcast_port,
        crate::ipvs::sync::DEFAULT_PORT.into(),
        1,
        65535,
    )? as u16;
    let ttl = ranged("sync.mcast_ttl", raw.mcast_ttl, 1, 1, 255)? as u8;
    let mut peers = Vec::new();
    for (i, p) in raw.peers.iter().enumerate() {
        let key = format!("sync.peers[{i}]");
        let at = match (p.parse::<SocketAddrV4>(), p.parse::<Ipv4Addr>()) {
            (Ok(s), _) => s,
            (_, Ok(a)) => SocketAddrV4::new(a, port),
            _ => {
                return Err(invalid(
                    key,
                    format!("\"{p}\": give a peer's IPv4 address, with \":port\" if not {port}"),
                ))
            }
        };
        if at.ip().is_multicast() || at.ip().is_unspecified() || at.port() == 0 {
            return Err(invalid(key, format!("\"{p}\": give a peer's unicast address and a port")));
        }
        if *at.ip() == iface.addr {
            return Err(invalid(
                key,
                format!(
                    "\"{p}\" is this director's own address on {}: list the other directors",
                    iface.name
                ),
            ));
        }
        peers.push(SocketAddr::V4(at));
    }
    let settings = SyncSettings {
        ifname: iface.name.clone(),
        local_addr: iface.addr,
        syncid,
        maxlen,
        group,
        port,
        ttl,
        peers,
    };
    Ok(Some(SyncConfig { roles, settings }))
}
