//! `[[bfd_instance]]` (keepalived's `bfd_instance` blocks) and the `bfd_check` of a dest, as
//! written and as checked.
//!
//! Owns the keys, their keepalived defaults (min_rx and min_tx 10 ms, idle_tx 1000 ms,
//! multiplier 5, ttl 255, max_hops 0) and the rules, with errors naming the key and the fix:
//! unique names, an IPv4 neighbour (rvs serves IPv4), intervals in milliseconds with microsecond
//! resolution, a `bfd_check.name` that names an instance. Must not touch: the sessions
//! (`health::bfd` runs them).

use crate::config::error::{invalid, Invalid};
use crate::health::plan::{BfdInstance, BfdPlan};
use serde::Deserialize;
use std::net::{IpAddr, Ipv4Addr};

/// `[[bfd_instance]]`.
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawBfdInstance {
    pub name: Option<String>,
    pub neighbor_ip: Option<String>,
    pub source_ip: Option<String>,
    pub min_rx: Option<f64>,
    pub min_tx: Option<f64>,
    pub idle_tx: Option<f64>,
    pub multiplier: Option<u32>,
    pub passive: bool,
    pub ttl: Option<u32>,
    pub max_hops: Option<u32>,
}

/// `[service.dest.bfd_check]`.
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawBfdCheck {
    pub name: Option<String>,
    pub alpha: Option<bool>,
}

/// Longest BFD interval accepted, in milliseconds (an RFC 5880 interval is a 32-bit count of
/// microseconds; keepalived's limit is far below: one minute is plenty).
pub const MAX_INTERVAL_MS: f64 = 60_000.0;

fn interval(key: &str, v: Option<f64>, default_ms: f64) -> Result<u32, Invalid> {
    let ms = v.unwrap_or(default_ms);
    if !(ms.is_finite() && ms > 0.0 && ms <= MAX_INTERVAL_MS) {
        return Err(invalid(
            key,
            format!("{ms} is not an interval: give milliseconds, more than 0 up to {MAX_INTERVAL_MS} (fractions allowed, e.g. 3.5)"),
        ));
    }
    Ok(((ms * 1000.0).round() as u32).max(1))
}

fn v4(key: &str, text: &str) -> Result<Ipv4Addr, Invalid> {
    match text.parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => Ok(a),
        Ok(IpAddr::V6(_)) => Err(invalid(
            key,
            format!("`{text}`: rvs runs BFD over IPv4 only: give an IPv4 address"),
        )),
        Err(_) => Err(invalid(key, format!("`{text}` is not an IP address: write a.b.c.d"))),
    }
}

fn small(key: &str, v: Option<u32>, default: u8, lo: u32, hi: u32) -> Result<u8, Invalid> {
    let n = v.unwrap_or(u32::from(default));
    if n < lo || n > hi {
        return Err(invalid(key, format!("{n}: give {lo} to {hi}")));
    }
    Ok(n as u8)
}

/// Checks every `[[bfd_instance]]`.
pub(crate) fn check_bfd(raw: &[RawBfdInstance]) -> Result<BfdPlan, Invalid> {
    let mut plan = BfdPlan::default();
    for (i, r) in raw.iter().enumerate() {
        let key = |k: &str| format!("bfd_instance[{i}].{k}");
        let name = match r.name.as_deref().map(str::trim) {
            Some(n) if !n.is_empty() => n.to_string(),
            _ => {
                return Err(invalid(
                    key("name"),
                    "missing: give the instance a name that bfd_check.name can refer to",
                ))
            }
        };
        if plan.instances.iter().any(|b| b.name == name) {
            return Err(invalid(
                key("name"),
                format!("`{name}` names two instances: give each its own name"),
            ));
        }
        let neighbor = match &r.neighbor_ip {
            Some(t) => v4(&key("neighbor_ip"), t)?,
            None => {
                return Err(invalid(
                    key("neighbor_ip"),
                    "missing: give the neighbour's address, neighbor_ip = \"a.b.c.d\"",
                ))
            }
        };
        let source = r.source_ip.as_deref().map(|t| v4(&key("source_ip"), t)).transpose()?;
        if plan.instances.iter().any(|b| b.neighbor == neighbor && b.source == source) {
            return Err(invalid(
                key("neighbor_ip"),
                format!("{neighbor} already has a session from the same source: one instance per neighbour and source_ip"),
            ));
        }
        plan.instances.push(BfdInstance {
            name,
            neighbor,
            source,
            min_rx_us: interval(&key("min_rx"), r.min_rx, 10.0)?,
            min_tx_us: interval(&key("min_tx"), r.min_tx, 10.0)?,
            idle_tx_us: interval(&key("idle_tx"), r.idle_tx, 1000.0)?,
            multiplier: small(&key("multiplier"), r.multiplier, 5, 1, 255)?,
            passive: r.passive,
            ttl: small(&key("ttl"), r.ttl, 255, 1, 255)?,
            max_hops: small(&key("max_hops"), r.max_hops, 0, 0, 255)?,
        });
    }
    Ok(plan)
}

/// The instance `bfd_check.name` of the dest at `prefix` names: its index.
pub(crate) fn check_bfd_check(
    prefix: &str,
    c: &RawBfdCheck,
    plan: &BfdPlan,
) -> Result<(String, usize), Invalid> {
    let key = format!("{prefix}.bfd_check.name");
    let Some(name) = c.name.as_deref() else {
        return Err(invalid(key, "missing: give the name of a [[bfd_instance]]"));
    };
    match plan.instances.iter().position(|b| b.name == name) {
        Some(i) => Ok((name.to_string(), i)),
        None => {
            let known: Vec<&str> = plan.instances.iter().map(|b| b.name.as_str()).collect();
            Err(invalid(
                key,
                format!(
                    "no [[bfd_instance]] is named `{name}` (known: {}): add one or fix the name",
                    if known.is_empty() { "none".to_string() } else { known.join(", ") }
                ),
            ))
        }
    }
}
