//! `[announce]` and each service's `announce` key: which VIPs rvsd announces to the routing
//! daemon beside it (BIRD, docs/scale-out.md), and how.
//!
//! Owns these keys, their defaults and their checks. rvsd announces a VIP by putting a /32
//! route to it in a kernel routing table of its own (`table`) through the port's kernel
//! interface (`dev`); BIRD's `kernel` protocol learns that table and BGP exports it. Must not
//! touch the system: the announcer (`crate::announce`) does that.

use core::time::Duration;

use serde::Deserialize;

use super::checked::Port;
use super::error::{invalid, Invalid};
use super::raw::RawService;
pub use crate::announce::settings::{vip_of, Announce, AnnouncePolicy};
use crate::ipvs::spec::{Protocol, ServiceKey};

/// `[announce]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawAnnounce {
    /// Kernel routing table rvsd owns (required).
    pub table: Option<u32>,
    /// Kernel interface the routes point at: a port's `kernel_iface` (required).
    pub dev: Option<String>,
    /// Seconds between two looks at the table (default 0.5).
    pub interval: Option<f64>,
    /// Seconds a clean stop keeps serving established connections after the withdraw
    /// (default 0: stop at once).
    pub drain_timeout: Option<f64>,
    /// BIRD's control socket (`bird -s PATH`), for the BGP sessions' state in `rvsadm
    /// --announced` and the metrics (optional).
    pub bird_socket: Option<String>,
}

fn seconds(key: &str, v: Option<f64>, default: f64, max: f64) -> Result<Duration, Invalid> {
    let v = v.unwrap_or(default);
    if !v.is_finite() || !(0.0..=max).contains(&v) {
        return Err(invalid(key, format!("{v}: give seconds from 0 to {max}")));
    }
    Ok(Duration::from_secs_f64(v))
}

/// Checks `[announce]` and the services' `announce` keys (services already checked).
pub(crate) fn check_announce(
    raw: Option<RawAnnounce>,
    services: &[RawService],
    ports: &[Port],
) -> Result<Option<Announce>, Invalid> {
    let mut policies = Vec::new();
    for (i, s) in services.iter().enumerate() {
        let key = format!("service[{i}].announce");
        let policy = match s.announce.as_deref() {
            None | Some("healthy") => continue,
            Some("always") => AnnouncePolicy::Always,
            Some("never") => AnnouncePolicy::Never,
            Some(other) => {
                return Err(invalid(
                    key,
                    format!("\"{other}\": use \"healthy\", \"always\" or \"never\""),
                ))
            }
        };
        if raw.is_none() {
            return Err(invalid(key, "add an [announce] section, or remove this key"));
        }
        // A bad proto or vip is refused by the services' own checks.
        let proto = match s.proto.as_deref() {
            Some("udp") => Protocol::Udp,
            _ => Protocol::Tcp,
        };
        let vip = s.vip.as_deref().and_then(|v| v.parse::<std::net::SocketAddrV4>().ok());
        let Some(vip) = vip else { continue };
        policies.push((ServiceKey { proto, addr: (*vip.ip()).into(), port: vip.port() }, policy));
    }
    let Some(raw) = raw else { return Ok(None) };
    let table = match raw.table {
        None => {
            return Err(invalid(
                "announce.table",
                "missing: give the kernel routing table rvsd owns (e.g. 100)",
            ))
        }
        Some(t @ (0 | 253..=255)) => {
            return Err(invalid(
                "announce.table",
                format!("{t} is a system table: take another number, e.g. 100"),
            ))
        }
        Some(t) => t,
    };
    let dev = raw.dev.unwrap_or_default();
    let kernel_ifaces: Vec<&str> =
        ports.iter().filter_map(|p| p.kernel.as_ref()).map(|k| k.name.as_str()).collect();
    if !kernel_ifaces.contains(&dev.as_str()) {
        return Err(invalid(
            "announce.dev",
            format!(
                "\"{dev}\": name a port's kernel_iface ({}); the routing daemon speaks BGP through it",
                if kernel_ifaces.is_empty() { "no port has one".to_owned() } else { kernel_ifaces.join(", ") }
            ),
        ));
    }
    let interval = seconds("announce.interval", raw.interval, 0.5, 60.0)?;
    if interval < Duration::from_millis(50) {
        return Err(invalid("announce.interval", "give at least 0.05 seconds"));
    }
    let drain_timeout = seconds("announce.drain_timeout", raw.drain_timeout, 0.0, 86_400.0)?;
    let bird_socket = match raw.bird_socket {
        None => None,
        Some(p) if p.starts_with('/') => Some(std::path::PathBuf::from(p)),
        Some(p) => {
            return Err(invalid(
                "announce.bird_socket",
                format!("\"{p}\": give the absolute path BIRD was started with (`bird -s PATH`)"),
            ))
        }
    };
    Ok(Some(Announce { table, dev, interval, drain_timeout, policies, bird_socket }))
}
