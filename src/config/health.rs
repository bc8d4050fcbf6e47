//! The health-check keys of `[[service]]` and `[[service.dest]]`, as written and as checked.
//!
//! Owns keepalived's `virtual_server` / `real_server` keys in TOML shape (see docs/health.md for
//! the mapping): the timers and `inhibit_on_failure`/`alpha`/`virtualhost` at service, dest or
//! checker level (the nearest one wins, as in keepalived), the checkers `tcp_check`, `http_get`
//! (with `[[...http_get.url]]`), `udp_check`, `misc_check` of a dest, and the service's
//! `quorum`, `hysteresis`, `quorum_up`, `quorum_down`, `sorry_server*`. Checking turns them into
//! a [`HealthPlan`], with errors naming the key and the fix. Must not touch: the service table
//! rules (config::services applies those first; this only reads the result).

use crate::config::error::{invalid, Invalid};
use crate::ctrl::table::ServiceTable;
use crate::health::md5;
use crate::health::plan::{BfdCheck, BfdPlan};
use crate::health::plan::{
    CheckKind, CheckerPlan, DestPlan, HealthPlan, HttpCheck, HttpProtocol, MiscCheck, ServicePlan,
    SorryPlan, Timing, UdpCheck, UrlCheck,
};
use crate::health::plan::{DnsCheck, DnsType, FileCheck, SmtpCheck, SslCheck};
use crate::ipvs::spec::{DestSpec, FwdMethod};
use crate::proto::change::Change;
use crate::proto::model::ServiceInfo;
use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Longest timer accepted, in seconds (one day).
pub const MAX_TIMER_S: f64 = 86_400.0;
/// Default `delay_loop`, seconds.
pub const DEFAULT_DELAY_LOOP_S: f64 = 60.0;
/// Default `connect_timeout`, seconds.
pub const DEFAULT_CONNECT_TIMEOUT_S: f64 = 5.0;

/// The health keys of one `[[service]]`, copied out of `RawService` by `RawService::health`.
/// They are parsed as `RawService`'s own fields rather than a `#[serde(flatten)]` of this
/// struct because serde cannot flatten into a struct that denies unknown fields, and a
/// misspelt key must stay an error.
#[derive(Debug, Default, Clone)]
pub(crate) struct RawServiceHealth {
    pub delay_loop: Option<f64>,
    pub connect_timeout: Option<f64>,
    pub retry: Option<u32>,
    pub delay_before_retry: Option<f64>,
    pub warmup: Option<f64>,
    pub inhibit_on_failure: Option<bool>,
    pub alpha: Option<bool>,
    pub virtualhost: Option<String>,
    pub quorum: Option<u32>,
    pub hysteresis: Option<u32>,
    pub quorum_up: Option<String>,
    pub quorum_down: Option<String>,
    pub sorry_server: Option<String>,
    pub sorry_server_fwd: Option<String>,
    pub sorry_server_inhibit: bool,
}

macro_rules! raw_checker {
    ($(#[$m:meta])* $name:ident { $($field:ident : $ty:ty),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Default, Deserialize, Clone)]
        #[serde(default, deny_unknown_fields)]
        pub(crate) struct $name {
            pub delay_loop: Option<f64>,
            pub retry: Option<u32>,
            pub delay_before_retry: Option<f64>,
            pub warmup: Option<f64>,
            pub alpha: Option<bool>,
            $(pub $field: $ty,)*
        }
    };
}

raw_checker!(
    /// `[service.dest.tcp_check]`.
    RawTcpCheck {
        connect_ip: Option<String>,
        connect_port: Option<u16>,
        bindto: Option<String>,
        bind_port: Option<u16>,
        connect_timeout: Option<f64>,
    }
);
raw_checker!(
    /// `[service.dest.http_get]`.
    RawHttpGet {
        connect_ip: Option<String>,
        connect_port: Option<u16>,
        bindto: Option<String>,
        bind_port: Option<u16>,
        connect_timeout: Option<f64>,
        http_protocol: Option<String>,
        virtualhost: Option<String>,
        url: Vec<RawUrl>,
    }
);
raw_checker!(
    /// `[service.dest.udp_check]`.
    RawUdpCheck {
        connect_ip: Option<String>,
        connect_port: Option<u16>,
        bindto: Option<String>,
        bind_port: Option<u16>,
        connect_timeout: Option<f64>,
        payload: Option<String>,
        require_reply: Option<toml::Value>,
        min_reply_length: Option<usize>,
        max_reply_length: Option<usize>,
    }
);
raw_checker!(
    /// `[service.dest.misc_check]`.
    RawMiscCheck {
        misc_path: Option<String>,
        misc_timeout: Option<f64>,
        misc_dynamic: bool,
        user: Option<String>,
        enable_script_security: bool,
    }
);

// --- keepalived's remaining checkers (SSL_GET, SMTP_CHECK, DNS_CHECK, PING_CHECK, FILE_CHECK);
// the probes are crate::health::check::{ssl, smtp, dns, ping, file}. ---
raw_checker!(
    /// `[service.dest.ssl_get]`: `http_get`'s keys over TLS, and `enable_sni`.
    RawSslGet {
        connect_ip: Option<String>,
        connect_port: Option<u16>,
        bindto: Option<String>,
        bind_port: Option<u16>,
        connect_timeout: Option<f64>,
        http_protocol: Option<String>,
        virtualhost: Option<String>,
        url: Vec<RawUrl>,
        enable_sni: bool,
    }
);
raw_checker!(
    /// `[service.dest.smtp_check]`.
    RawSmtpCheck {
        connect_ip: Option<String>,
        connect_port: Option<u16>,
        bindto: Option<String>,
        bind_port: Option<u16>,
        connect_timeout: Option<f64>,
        helo_name: Option<String>,
    }
);
raw_checker!(
    /// `[service.dest.dns_check]`.
    RawDnsCheck {
        connect_ip: Option<String>,
        connect_port: Option<u16>,
        bindto: Option<String>,
        bind_port: Option<u16>,
        connect_timeout: Option<f64>,
        r#type: Option<String>,
        name: Option<String>,
    }
);
raw_checker!(
    /// `[service.dest.ping_check]`.
    RawPingCheck {
        connect_ip: Option<String>,
        bindto: Option<String>,
        connect_timeout: Option<f64>,
    }
);

/// `[service.dest.file_check]`: keepalived's `track_file` and `FILE_CHECK` in one table
/// (no timers: the file is read at every check of the dest, each `delay_loop`).
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawFileCheck {
    pub file: Option<String>,
    pub weight: Option<i64>,
    pub reverse: bool,
    pub dynamic: bool,
    pub delay_loop: Option<f64>,
}

/// Default `helo_name` of `smtp_check`.
pub const DEFAULT_HELO_NAME: &str = "rvs-health.localdomain";

/// `[[service.dest.http_get.url]]`.
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawUrl {
    pub path: Option<String>,
    pub digest: Option<String>,
    pub status_code: Vec<toml::Value>,
    pub virtualhost: Option<String>,
    pub regex: Option<String>,
    pub regex_no_match: bool,
}

/// The health keys of one `[[service.dest]]` (fields of `RawDest`).
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawDestHealth {
    pub delay_loop: Option<f64>,
    pub connect_timeout: Option<f64>,
    pub retry: Option<u32>,
    pub delay_before_retry: Option<f64>,
    pub warmup: Option<f64>,
    pub inhibit_on_failure: Option<bool>,
    pub alpha: Option<bool>,
    pub virtualhost: Option<String>,
    pub notify_up: Option<String>,
    pub notify_down: Option<String>,
    pub tcp_check: Option<RawTcpCheck>,
    pub http_get: Option<RawHttpGet>,
    pub udp_check: Option<RawUdpCheck>,
    pub misc_check: Option<RawMiscCheck>,
    // keepalived's remaining checkers.
    pub ssl_get: Option<RawSslGet>,
    pub smtp_check: Option<RawSmtpCheck>,
    pub dns_check: Option<RawDnsCheck>,
    pub ping_check: Option<RawPingCheck>,
    pub file_check: Option<RawFileCheck>,
    /// `BFD_CHECK` (crate::config::bfd).
    pub bfd_check: Option<crate::config::bfd::RawBfdCheck>,
}

fn timer(key: &str, v: f64, zero_ok: bool) -> Result<Duration, Invalid> {
    let ok = v.is_finite() && v <= MAX_TIMER_S && (v > 0.0 || (zero_ok && v == 0.0));
    if !ok {
        let lower = if zero_ok { "0" } else { "more than 0" };
        return Err(invalid(
            key,
            format!("{v} is not a time: give seconds ({lower} up to {MAX_TIMER_S}; fractions allowed, e.g. 2.5)"),
        ));
    }
    Ok(Duration::from_secs_f64(v))
}

fn script(key: &str, s: &Option<String>) -> Result<Option<String>, Invalid> {
    match s {
        Some(s) if s.trim().is_empty() => {
            Err(invalid(key, "empty: give a command line (run with /bin/sh -c) or remove the key"))
        }
        other => Ok(other.clone()),
    }
}

/// Hex with free spacing, as keepalived reads `payload`/`require_reply`; an odd digit at the
/// end of a group is its own byte (`f 3` = 0f 03). With `wild`, `x` digits match anything.
pub fn parse_hex(text: &str, wild: bool) -> Result<Vec<(u8, u8)>, String> {
    let mut out = Vec::new();
    for group in text.split_whitespace() {
        let digits: Vec<char> = group.chars().collect();
        let mut i = 0;
        while i < digits.len() {
            let pair: Vec<char> = digits.iter().skip(i).take(2).copied().collect();
            let (mut val, mut mask) = (0u8, 0u8);
            let n = pair.len();
            for (j, c) in pair.iter().enumerate() {
                let shift = if n == 2 && j == 0 { 4 } else { 0 };
                match c {
                    'x' | 'X' if wild => {}
                    c => {
                        let d = c.to_digit(16).ok_or_else(|| {
                            format!("`{c}` is not a hex digit{}", if wild { " or x" } else { "" })
                        })? as u8;
                        val |= d << shift;
                        mask |= 0xf << shift;
                    }
                }
            }
            out.push((val, mask));
            i += 2;
        }
    }
    Ok(out)
}

fn status_codes(key: &str, vals: &[toml::Value]) -> Result<Vec<(u16, u16)>, Invalid> {
    if vals.is_empty() {
        return Ok(vec![(200, 299)]);
    }
    let bad = |v: &dyn std::fmt::Display| {
        invalid(
            key,
            format!("{v} is not a status code or range: write codes 100..599 or \"lo-hi\" ranges, e.g. status_code = [200, \"300-399\"]"),
        )
    };
    let code = |n: i64| -> Option<u16> { (100..=599).contains(&n).then_some(n as u16) };
    let mut out = Vec::new();
    for v in vals {
        match v {
            toml::Value::Integer(n) => {
                let c = code(*n).ok_or_else(|| bad(n))?;
                out.push((c, c));
            }
            toml::Value::String(s) => {
                let (lo, hi) = s.split_once('-').unwrap_or((s, s));
                let lo = lo.trim().parse().ok().and_then(code).ok_or_else(|| bad(&s))?;
                let hi = hi.trim().parse().ok().and_then(code).ok_or_else(|| bad(&s))?;
                if lo > hi {
                    return Err(bad(&s));
                }
                out.push((lo, hi));
            }
            other => return Err(bad(other)),
        }
    }
    Ok(out)
}

/// Timer keys as found at checker, dest and service level (nearest wins).
struct Levels<'a> {
    svc: &'a RawServiceHealth,
    dest: &'a RawDestHealth,
}

impl Levels<'_> {
    fn pick<T: Copy>(&self, c: Option<T>, d: Option<T>, s: Option<T>) -> Option<T> {
        c.or(d).or(s)
    }
}

/// The timing and connection keys every connecting checker has, taken from its raw section.
macro_rules! generic_keys {
    ($raw:expr) => {
        Generic {
            delay_loop: $raw.delay_loop,
            retry: $raw.retry,
            delay_before_retry: $raw.delay_before_retry,
            warmup: $raw.warmup,
            alpha: $raw.alpha,
            connect_timeout: $raw.connect_timeout,
            connect_ip: $raw.connect_ip.as_deref(),
            connect_port: $raw.connect_port,
            bindto: $raw.bindto.as_deref(),
            bind_port: $raw.bind_port,
        }
    };
}

struct Generic<'a> {
    delay_loop: Option<f64>,
    retry: Option<u32>,
    delay_before_retry: Option<f64>,
    warmup: Option<f64>,
    alpha: Option<bool>,
    connect_timeout: Option<f64>,
    connect_ip: Option<&'a str>,
    connect_port: Option<u16>,
    bindto: Option<&'a str>,
    bind_port: Option<u16>,
}

/// The context of one dest being checked.
struct Ctx<'a> {
    prefix: String,
    levels: Levels<'a>,
    spec: &'a DestSpec,
    bfd: &'a crate::health::plan::BfdPlan,
}

impl Ctx<'_> {
    fn key(&self, k: &str) -> String {
        format!("{}.{k}", self.prefix)
    }

    fn checker(&self, name: &str, kind: CheckKind, g: Generic<'_>) -> Result<CheckerPlan, Invalid> {
        let key = |k: &str| self.key(&format!("{name}.{k}"));
        let l = &self.levels;
        // FILE_CHECK reads a file as MISC_CHECK runs a script: no connection, no port.
        let misc = matches!(kind, CheckKind::Misc(_) | CheckKind::File(_));
        let http = matches!(kind, CheckKind::Http(_) | CheckKind::Ssl(_));
        // keepalived: DNS_CHECK retries 3 times, after delay_loop.
        let dns = matches!(kind, CheckKind::Dns(_));
        let portless = misc || matches!(kind, CheckKind::Ping | CheckKind::Bfd(_));
        let delay_loop = match l.pick(g.delay_loop, l.dest.delay_loop, l.svc.delay_loop) {
            Some(v) => timer(&key("delay_loop"), v, false)?,
            None => Duration::from_secs_f64(DEFAULT_DELAY_LOOP_S),
        };
        // A script's timeout is its own `misc_timeout` (default `delay_loop`); the service's or
        // dest's `connect_timeout` is for connections.
        let inherited = if misc {
            g.connect_timeout
        } else {
            l.pick(g.connect_timeout, l.dest.connect_timeout, l.svc.connect_timeout)
        };
        let timeout = match inherited {
            Some(v) => {
                timer(&key(if misc { "misc_timeout" } else { "connect_timeout" }), v, false)?
            }
            None if misc => delay_loop,
            None => Duration::from_secs_f64(DEFAULT_CONNECT_TIMEOUT_S),
        };
        let retry = l.pick(g.retry, l.dest.retry, l.svc.retry).unwrap_or(if misc {
            0
        } else if dns {
            3
        } else {
            1
        });
        if retry > 1000 {
            return Err(invalid(key("retry"), format!("{retry} retries: give 0 to 1000")));
        }
        let delay_before_retry =
            match l.pick(g.delay_before_retry, l.dest.delay_before_retry, l.svc.delay_before_retry)
            {
                Some(v) => timer(&key("delay_before_retry"), v, true)?,
                None if dns => delay_loop,
                None => Duration::from_secs(if http { 3 } else { 1 }),
            };
        let warmup = match l.pick(g.warmup, l.dest.warmup, l.svc.warmup) {
            Some(v) => timer(&key("warmup"), v, true)?,
            None => delay_loop,
        };
        let ip = match g.connect_ip {
            Some(t) => t.parse::<IpAddr>().map_err(|_| {
                invalid(key("connect_ip"), format!("`{t}` is not an IP address: write a.b.c.d"))
            })?,
            None => self.spec.addr,
        };
        let target = SocketAddr::new(ip, g.connect_port.unwrap_or(self.spec.port));
        if target.port() == 0 && !portless {
            return Err(invalid(
                key("connect_port"),
                "the dest has no port (port 0 service): give connect_port = the port to check",
            ));
        }
        let bind = match (g.bindto, g.bind_port) {
            (Some(t), p) => {
                let ip = t.parse::<IpAddr>().map_err(|_| {
                    invalid(key("bindto"), format!("`{t}` is not an IP address: write a.b.c.d (a kernel address of this host, e.g. on the exception path)"))
                })?;
                if ip.is_ipv4() != target.is_ipv4() {
                    return Err(invalid(
                        key("bindto"),
                        format!("{ip} and the target {target} are of different IP versions"),
                    ));
                }
                Some(SocketAddr::new(ip, p.unwrap_or(0)))
            }
            (None, Some(p)) => Some(SocketAddr::new(
                if target.is_ipv4() { IpAddr::from([0u8; 4]) } else { IpAddr::from([0u16; 8]) },
                p,
            )),
            (None, None) => None,
        };
        let alpha = g.alpha.unwrap_or(false);
        Ok(CheckerPlan {
            kind,
            timing: Timing { delay_loop, timeout, retry, delay_before_retry, warmup },
            target,
            bind,
            alpha,
        })
    }

    fn http(&self, h: &RawHttpGet) -> Result<CheckerPlan, Invalid> {
        let (c, g) = self.http_parts("http_get", h)?;
        self.checker("http_get", CheckKind::Http(c), g)
    }

    /// The keys of `http_get` (or `ssl_get`, as `name`) as the check and its generic options.
    fn http_parts<'h>(
        &self,
        name: &str,
        h: &'h RawHttpGet,
    ) -> Result<(HttpCheck, Generic<'h>), Invalid> {
        let key = |k: &str| self.key(&format!("{name}.{k}"));
        let protocol = match h.http_protocol.as_deref() {
            None | Some("1.0") => HttpProtocol::V10,
            Some("1.0C") | Some("1.0c") => HttpProtocol::V10Close,
            Some("1.1") => HttpProtocol::V11,
            Some(o) => {
                return Err(invalid(
                    key("http_protocol"),
                    format!("`{o}` is not an HTTP version: write \"1.0\", \"1.0C\" or \"1.1\""),
                ))
            }
        };
        if h.url.is_empty() {
            return Err(invalid(
                key("url"),
                "missing: add at least one url, e.g. url = [{ path = \"/\" }]",
            ));
        }
        let mut urls = Vec::new();
        for (j, u) in h.url.iter().enumerate() {
            let ukey = |k: &str| key(&format!("url[{j}].{k}"));
            let path = match &u.path {
                Some(p)
                    if p.starts_with('/')
                        && !p.chars().any(|c| c.is_whitespace() || c.is_control()) =>
                {
                    p.clone()
                }
                Some(p) => {
                    return Err(invalid(
                        ukey("path"),
                        format!(
                            "`{p}` is not a request path: start it with / and leave out spaces"
                        ),
                    ))
                }
                None => return Err(invalid(ukey("path"), "missing: add path = \"/\"")),
            };
            let digest = match &u.digest {
                Some(d) => Some(md5::parse_hex(d).ok_or_else(|| {
                    invalid(
                        ukey("digest"),
                        format!(
                            "`{d}` is not an MD5 digest: give 32 hex digits (md5sum of the body)"
                        ),
                    )
                })?),
                None => None,
            };
            let regex = match &u.regex {
                Some(r) => Some(regex::bytes::Regex::new(r).map_err(|e| {
                    invalid(ukey("regex"), format!("not a regular expression: {e}"))
                })?),
                None => None,
            };
            if u.regex_no_match && regex.is_none() {
                return Err(invalid(
                    ukey("regex_no_match"),
                    "there is no regex to invert: add regex or remove regex_no_match",
                ));
            }
            let virtualhost = u
                .virtualhost
                .clone()
                .or_else(|| h.virtualhost.clone())
                .or_else(|| self.levels.dest.virtualhost.clone())
                .or_else(|| self.levels.svc.virtualhost.clone());
            if let Some(v) = &virtualhost {
                if v.is_empty() || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
                    return Err(invalid(ukey("virtualhost"), format!("`{v}` is not a host name")));
                }
            }
            urls.push(UrlCheck {
                path,
                status: status_codes(&ukey("status_code"), &u.status_code)?,
                digest,
                regex,
                regex_no_match: u.regex_no_match,
                virtualhost,
            });
        }
        let g = generic_keys!(h);
        Ok((HttpCheck { urls, protocol }, g))
    }

    fn udp(&self, u: &RawUdpCheck) -> Result<CheckerPlan, Invalid> {
        let key = |k: &str| self.key(&format!("udp_check.{k}"));
        let payload = match &u.payload {
            Some(p) => parse_hex(p, false)
                .map_err(|e| {
                    invalid(key("payload"), format!("{e}: write hex bytes, e.g. \"01 02 ab\""))
                })?
                .into_iter()
                .map(|(v, _)| v)
                .collect(),
            None => b"rvs-health".to_vec(),
        };
        let require_reply = match &u.require_reply {
            None | Some(toml::Value::Boolean(false)) => None,
            Some(toml::Value::Boolean(true)) => Some(Vec::new()),
            Some(toml::Value::String(s)) => Some(parse_hex(s, true).map_err(|e| {
                invalid(
                    key("require_reply"),
                    format!("{e}: write hex bytes (x for any digit), or true"),
                )
            })?),
            Some(_) => {
                return Err(invalid(
                    key("require_reply"),
                    "write true (any reply) or a hex pattern such as \"01 xx ab\"",
                ))
            }
        };
        let min = u.min_reply_length.unwrap_or(0);
        let max = u.max_reply_length.unwrap_or(255);
        if min > max || max > 65_507 {
            return Err(invalid(
                key("max_reply_length"),
                format!(
                    "min_reply_length {min} and max_reply_length {max}: need min <= max <= 65507"
                ),
            ));
        }
        if (u.min_reply_length.is_some() || u.max_reply_length.is_some()) && require_reply.is_none()
        {
            return Err(invalid(
                key("require_reply"),
                "reply lengths are checked only on a reply: add require_reply = true",
            ));
        }
        let g = generic_keys!(u);
        let c = UdpCheck { payload, require_reply, min_reply_length: min, max_reply_length: max };
        self.checker("udp_check", CheckKind::Udp(c), g)
    }

    fn checkers(&self) -> Result<Vec<CheckerPlan>, Invalid> {
        let d = self.levels.dest;
        let mut out = Vec::new();
        if let Some(t) = &d.tcp_check {
            let g = generic_keys!(t);
            out.push(self.checker("tcp_check", CheckKind::Tcp, g)?);
        }
        if let Some(h) = &d.http_get {
            out.push(self.http(h)?);
        }
        if let Some(u) = &d.udp_check {
            out.push(self.udp(u)?);
        }
        if let Some(m) = &d.misc_check {
            let path =
                match &m.misc_path {
                    Some(p) if !p.trim().is_empty() => p.clone(),
                    _ => return Err(invalid(
                        self.key("misc_check.misc_path"),
                        "missing: add misc_path = \"/path/to/script args\" (exit 0 = up, 1 = down)",
                    )),
                };
            let g = Generic {
                delay_loop: m.delay_loop,
                retry: m.retry,
                delay_before_retry: m.delay_before_retry,
                warmup: m.warmup,
                alpha: m.alpha,
                connect_timeout: m.misc_timeout,
                connect_ip: None,
                connect_port: None,
                bindto: None,
                bind_port: None,
            };
            let user = match &m.user {
                None => None,
                Some(name) => Some(crate::health::check::misc::lookup_user(name).ok_or_else(|| {
                    invalid(
                        self.key("misc_check.user"),
                        format!("no user {name:?} in /etc/passwd: create it (useradd --system) or name another"),
                    )
                })?),
            };
            let c = MiscCheck {
                path,
                dynamic: m.misc_dynamic,
                user,
                script_security: m.enable_script_security,
            };
            out.push(self.checker("misc_check", CheckKind::Misc(c), g)?);
        }
        self.more_checkers(&mut out)?;
        Ok(out)
    }

    // --- keepalived's remaining checkers ---------------------------------------------------

    fn more_checkers(&self, out: &mut Vec<CheckerPlan>) -> Result<(), Invalid> {
        let d = self.levels.dest;
        if let Some(t) = &d.ssl_get {
            let h = RawHttpGet {
                delay_loop: t.delay_loop,
                retry: t.retry,
                delay_before_retry: t.delay_before_retry,
                warmup: t.warmup,
                alpha: t.alpha,
                connect_ip: t.connect_ip.clone(),
                connect_port: t.connect_port,
                bindto: t.bindto.clone(),
                bind_port: t.bind_port,
                connect_timeout: t.connect_timeout,
                http_protocol: t.http_protocol.clone(),
                virtualhost: t.virtualhost.clone(),
                url: t.url.clone(),
            };
            let (http, g) = self.http_parts("ssl_get", &h)?;
            let c = SslCheck { http, sni: t.enable_sni };
            out.push(self.checker("ssl_get", CheckKind::Ssl(c), g)?);
        }
        if let Some(t) = &d.smtp_check {
            let helo = t.helo_name.clone().unwrap_or_else(|| DEFAULT_HELO_NAME.to_owned());
            if helo.is_empty() || helo.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(invalid(
                    self.key("smtp_check.helo_name"),
                    format!("`{helo}` is not a host name: write one word, e.g. \"director.example.com\""),
                ));
            }
            let g = generic_keys!(t);
            out.push(self.checker(
                "smtp_check",
                CheckKind::Smtp(SmtpCheck { helo_name: helo }),
                g,
            )?);
        }
        if let Some(t) = &d.dns_check {
            let qtype = match t.r#type.as_deref().map(str::to_ascii_uppercase) {
                None => DnsType::Soa,
                Some(ty) => DnsType::from_name(&ty).ok_or_else(|| {
                    invalid(
                        self.key("dns_check.type"),
                        format!(
                            "`{ty}` is not a query type: write A, NS, CNAME, SOA, MX, TXT or AAAA"
                        ),
                    )
                })?,
            };
            let name = t.name.clone().unwrap_or_else(|| ".".to_owned());
            if crate::health::check::dns::encode_name(&name).is_none() {
                return Err(invalid(
                    self.key("dns_check.name"),
                    format!("`{name}` is not a domain name: labels of 1 to 63 letters, digits, - or _, at most 253 in all"),
                ));
            }
            let g = generic_keys!(t);
            out.push(self.checker("dns_check", CheckKind::Dns(DnsCheck { qtype, name }), g)?);
        }
        if let Some(t) = &d.ping_check {
            let g = Generic {
                delay_loop: t.delay_loop,
                retry: t.retry,
                delay_before_retry: t.delay_before_retry,
                warmup: t.warmup,
                alpha: t.alpha,
                connect_timeout: t.connect_timeout,
                connect_ip: t.connect_ip.as_deref(),
                connect_port: None,
                bindto: t.bindto.as_deref(),
                bind_port: None,
            };
            let mut c = self.checker("ping_check", CheckKind::Ping, g)?;
            if !c.target.is_ipv4() {
                return Err(invalid(self.key("ping_check"), "rvs pings IPv4 servers only"));
            }
            c.target.set_port(0);
            out.push(c);
        }
        if let Some(t) = &d.file_check {
            let file = match &t.file {
                Some(f) if f.starts_with('/') => std::path::PathBuf::from(f),
                Some(f) => {
                    return Err(invalid(
                        self.key("file_check.file"),
                        format!("`{f}` is not an absolute path: write /path/to/file"),
                    ))
                }
                None => {
                    return Err(invalid(
                        self.key("file_check.file"),
                        "missing: add file = \"/path/to/file\" (holding a number)",
                    ))
                }
            };
            let weight = t.weight.unwrap_or(0);
            if weight.abs() > 2_147_483_647 {
                return Err(invalid(
                    self.key("file_check.weight"),
                    format!("{weight}: give -2147483647 to 2147483647"),
                ));
            }
            if t.dynamic && weight == 0 {
                return Err(invalid(
                    self.key("file_check.dynamic"),
                    "a dynamic weight needs weight = the multiplier of the file's value (not 0)",
                ));
            }
            let c = FileCheck {
                path: file,
                weight,
                reverse: t.reverse,
                dynamic: t.dynamic,
                base_weight: self.spec.weight,
            };
            let g = Generic {
                delay_loop: t.delay_loop,
                retry: Some(0),
                delay_before_retry: None,
                warmup: Some(0.0),
                alpha: None,
                connect_timeout: None,
                connect_ip: None,
                connect_port: None,
                bindto: None,
                bind_port: None,
            };
            out.push(self.checker("file_check", CheckKind::File(c), g)?);
        }
        if let Some(b) = &d.bfd_check {
            let (name, instance) = crate::config::bfd::check_bfd_check(&self.prefix, b, self.bfd)?;
            let neighbor = self.bfd.instances.get(instance).map(|i| i.neighbor);
            // Event-driven: no timers, no retries (keepalived's BFD_CHECK has none).
            let g = Generic {
                delay_loop: None,
                retry: Some(0),
                delay_before_retry: Some(0.0),
                warmup: Some(0.0),
                alpha: b.alpha,
                connect_timeout: None,
                connect_ip: None,
                connect_port: None,
                bindto: None,
                bind_port: None,
            };
            let mut c =
                self.checker("bfd_check", CheckKind::Bfd(BfdCheck { name, instance }), g)?;
            if let Some(n) = neighbor {
                c.target = SocketAddr::new(IpAddr::V4(n), 0);
            }
            out.push(c);
        }
        Ok(())
    }
}

/// The sorry server of service `i`: `a.b.c.d[:port]`, forwarded as `sorry_server_fwd` (default:
/// the first dest's method, else DR), checked by adding it to a copy of the service's table.
fn sorry(
    i: usize,
    h: &RawServiceHealth,
    svc: &ServiceInfo,
    table: &ServiceTable,
    fwd_of: &dyn Fn(Option<&str>) -> Result<FwdMethod, String>,
) -> Result<Option<SorryPlan>, Invalid> {
    let key = |k: &str| format!("service[{i}].{k}");
    let Some(text) = &h.sorry_server else {
        if h.sorry_server_fwd.is_some() || h.sorry_server_inhibit {
            return Err(invalid(key("sorry_server"), "missing: sorry_server_fwd and sorry_server_inhibit need sorry_server = \"a.b.c.d:port\""));
        }
        return Ok(None);
    };
    let (addr, port) = match text.parse::<SocketAddr>() {
        Ok(sa) => (sa.ip(), sa.port()),
        Err(_) => match text.parse::<IpAddr>() {
            Ok(ip) => (ip, svc.spec.key.port),
            Err(_) => {
                return Err(invalid(
                    key("sorry_server"),
                    format!("`{text}` is not a server address: write a.b.c.d or a.b.c.d:port"),
                ))
            }
        },
    };
    let fwd = match &h.sorry_server_fwd {
        Some(f) => fwd_of(Some(f)).map_err(|m| invalid(key("sorry_server_fwd"), m))?,
        None => svc.dests.first().map_or(FwdMethod::Route, |d| d.spec.fwd),
    };
    let template = svc.dests.iter().find(|d| d.spec.fwd == fwd).map(|d| d.spec.tun);
    let spec = DestSpec { addr, port, fwd, weight: 1, upper: 0, lower: 0, tun: template.flatten() };
    if fwd.keeps_port() && port != svc.spec.key.port {
        return Err(invalid(
            key("sorry_server"),
            format!("the sorry server is forwarded by {fwd:?}, which keeps the VIP's port {}: write {addr}:{} or leave the port out", svc.spec.key.port, svc.spec.key.port),
        ));
    }
    let mut probe = table.clone();
    probe
        .apply(&Change::AddDest { service: svc.spec.key, dest: spec.clone() })
        .map_err(|e| match e {
            crate::ctrl::table::TableError::DestExists => invalid(
                key("sorry_server"),
                format!("{addr}:{port} is also a [[service.dest]] of this service: the sorry server must be another server"),
            ),
            e => invalid(key("sorry_server"), format!("{e}")),
        })?;
    Ok(Some(SorryPlan { spec, inhibit: h.sorry_server_inhibit }))
}

/// The health plan of every service: `health[i]` and `dests[i][k]` are the health keys of
/// `service[i]` and its `dest[k]`; `table` is the service table they were checked into.
pub(crate) fn check_health(
    health: &[(&RawServiceHealth, Vec<&RawDestHealth>)],
    table: &ServiceTable,
    fwd_of: &dyn Fn(Option<&str>) -> Result<FwdMethod, String>,
    bfd: BfdPlan,
) -> Result<HealthPlan, Invalid> {
    let mut plan = HealthPlan { bfd, ..HealthPlan::default() };
    for (i, (h, dests)) in health.iter().enumerate() {
        let Some(svc) = table.services().get(i) else { continue };
        let key = |k: &str| format!("service[{i}].{k}");
        let quorum = h.quorum.unwrap_or(1);
        if quorum == 0 {
            return Err(invalid(
                key("quorum"),
                "0: quorum is the least live weight and must be at least 1",
            ));
        }
        let mut out = Vec::new();
        for (k, d) in dests.iter().enumerate() {
            let Some(info) = svc.dests.get(k) else { continue };
            let ctx = Ctx {
                prefix: format!("service[{i}].dest[{k}]"),
                levels: Levels { svc: h, dest: d },
                spec: &info.spec,
                bfd: &plan.bfd,
            };
            let checkers = ctx.checkers()?;
            out.push(DestPlan {
                spec: info.spec.clone(),
                inhibit_on_failure: d.inhibit_on_failure.or(h.inhibit_on_failure).unwrap_or(false),
                alpha: d.alpha.or(h.alpha).unwrap_or(false),
                notify_up: script(&ctx.key("notify_up"), &d.notify_up)?,
                notify_down: script(&ctx.key("notify_down"), &d.notify_down)?,
                checkers,
            });
        }
        let sorry = sorry(i, h, svc, table, fwd_of)?;
        let quorum_up = script(&key("quorum_up"), &h.quorum_up)?;
        let quorum_down = script(&key("quorum_down"), &h.quorum_down)?;
        let used = out.iter().any(|d| !d.checkers.is_empty())
            || sorry.is_some()
            || quorum_up.is_some()
            || quorum_down.is_some();
        if used {
            plan.services.push(ServicePlan {
                key: svc.spec.key,
                quorum,
                hysteresis: h.hysteresis.unwrap_or(0),
                quorum_up,
                quorum_down,
                sorry,
                dests: out,
            });
        }
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_read_as_keepalived_reads_it() {
        let v = |s| parse_hex(s, false).unwrap().into_iter().map(|(b, _)| b).collect::<Vec<_>>();
        assert_eq!(
            v("Ab12f 3 456 546443123"),
            vec![0xab, 0x12, 0x0f, 0x03, 0x45, 0x06, 0x54, 0x64, 0x43, 0x12, 0x03]
        );
        assert_eq!(parse_hex("1x x2", true).unwrap(), vec![(0x10, 0xf0), (0x02, 0x0f)]);
        assert!(parse_hex("1x", false).is_err());
        assert!(parse_hex("zz", true).is_err());
    }

    #[test]
    fn status_code_ranges() {
        let k = "k";
        assert_eq!(status_codes(k, &[]).unwrap(), vec![(200, 299)]);
        let v = [toml::Value::Integer(200), toml::Value::String("400-499".into())];
        assert_eq!(status_codes(k, &v).unwrap(), vec![(200, 200), (400, 499)]);
        for bad in [
            toml::Value::Integer(99),
            toml::Value::String("500-400".into()),
            toml::Value::Boolean(true),
        ] {
            assert!(status_codes(k, &[bad]).is_err());
        }
    }

    #[test]
    fn timers_refuse_nonsense() {
        assert_eq!(timer("k", 2.5, false).unwrap(), Duration::from_millis(2500));
        assert!(timer("k", 0.0, false).is_err());
        assert_eq!(timer("k", 0.0, true).unwrap(), Duration::ZERO);
        for bad in [-1.0, f64::NAN, f64::INFINITY, 90_000.0] {
            assert!(timer("k", bad, true).is_err(), "{bad}");
        }
    }
}
