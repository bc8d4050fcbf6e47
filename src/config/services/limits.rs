//! `limits` of a `[[service]]` (`[service.limits]`): the service's admission limits as written,
//! and their checks (issue 14, item 3; docs/hardening/limits.md).
//!
//! Owns these key names: `conn_limit`, `source_rate`, `source_burst`, `allow`, `deny`. The
//! values' rules are the model's ([`crate::ipvs::spec::ServiceLimits`]), so the file and
//! `rvsadm --conn-limit/--source-rate/--allow/--deny` accept the same things. A change is
//! applied live by a reload, like the rest of the service.

use serde::Deserialize;

use crate::config::error::{invalid, Invalid};
use crate::ipvs::spec::{Ipv4Prefix, ServiceLimits, MAX_PREFIXES, MAX_SOURCE_RATE};

/// `[service.limits]` as written; everything absent = no limit.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawLimits {
    /// Most connections the service holds at once, all workers together.
    pub conn_limit: u32,
    /// New connections per second per client address.
    pub source_rate: u32,
    /// Tokens a client's bucket banks (absent: `source_rate`).
    pub source_burst: u32,
    /// When not empty, the only client prefixes admitted (`"a.b.c.d/len"`).
    pub allow: Vec<String>,
    /// Client prefixes refused, whatever `allow` says.
    pub deny: Vec<String>,
}

/// The limits of `service[i]`; `key` names a field of it (`service[0].limits.allow[3]`).
pub(super) fn check_limits(
    raw: &RawLimits,
    key: impl Fn(&str) -> String,
) -> Result<ServiceLimits, Invalid> {
    if raw.source_rate > MAX_SOURCE_RATE {
        return Err(invalid(
            key("limits.source_rate"),
            format!("{} is too high: give 1 to {MAX_SOURCE_RATE} new connections per second per client, or remove it", raw.source_rate),
        ));
    }
    if raw.source_burst != 0 && raw.source_rate == 0 {
        return Err(invalid(
            key("limits.source_burst"),
            "a burst needs a rate: add source_rate = N or remove source_burst",
        ));
    }
    let list = |name: &str, v: &[String]| -> Result<Vec<Ipv4Prefix>, Invalid> {
        if v.len() > MAX_PREFIXES {
            return Err(invalid(
                key(&format!("limits.{name}")),
                format!(
                    "{} prefixes: at most {MAX_PREFIXES}; merge them into shorter prefixes",
                    v.len()
                ),
            ));
        }
        v.iter()
            .enumerate()
            .map(|(j, t)| {
                t.parse::<Ipv4Prefix>()
                    .map_err(|e| invalid(key(&format!("limits.{name}[{j}]")), e.to_string()))
            })
            .collect()
    };
    let l = ServiceLimits {
        conn_limit: raw.conn_limit,
        source_rate: raw.source_rate,
        source_burst: raw.source_burst,
        allow: list("allow", &raw.allow)?,
        deny: list("deny", &raw.deny)?,
    };
    l.validate().map_err(|e| invalid(key("limits"), e.to_string()))?;
    Ok(l)
}

/// `[service.limits]` lines for `l` (nothing when it limits nothing).
pub(super) fn limits_toml(out: &mut String, l: &ServiceLimits) {
    use std::fmt::Write;
    if l.is_unset() {
        return;
    }
    let q = |p: &Ipv4Prefix| format!("\"{p}\"");
    let list = |v: &[Ipv4Prefix]| v.iter().map(q).collect::<Vec<_>>().join(", ");
    let _ = writeln!(out, "\n[service.limits]");
    if l.conn_limit != 0 {
        let _ = writeln!(out, "conn_limit = {}", l.conn_limit);
    }
    if l.source_rate != 0 {
        let _ = writeln!(out, "source_rate = {}", l.source_rate);
    }
    if l.source_burst != 0 {
        let _ = writeln!(out, "source_burst = {}", l.source_burst);
    }
    if !l.allow.is_empty() {
        let _ = writeln!(out, "allow = [{}]", list(&l.allow));
    }
    if !l.deny.is_empty() {
        let _ = writeln!(out, "deny = [{}]", list(&l.deny));
    }
}
