//! `[timeouts]`, `[[service]]` with its `[[service.dest]]` entries, and `[[snat]]` as written.
//!
//! Owns these key names and their defaults only. Values stay text where the checks must name a
//! bad one with its fix (protocols, addresses, forwarding methods, tunnel types); numbers are
//! typed so that a string where a number belongs is a syntax error with its line. `fwmark` is
//! read only to be refused with the reason (rvs has no firewall-mark services).

use serde::Deserialize;

use crate::config::health::{
    RawDestHealth, RawHttpGet, RawMiscCheck, RawServiceHealth, RawTcpCheck, RawUdpCheck,
};
use crate::config::health::{RawDnsCheck, RawFileCheck, RawPingCheck, RawSmtpCheck, RawSslGet};

/// `[timeouts]`: as `rvsadm --set tcp tcpfin udp`; 0 or absent keeps the default.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawTimeouts {
    pub tcp: u32,
    pub tcpfin: u32,
    pub udp: u32,
}

/// `[[service]]`: a virtual service, as `rvsadm -A` with its `-a` and `-P` lines.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawService {
    /// `tcp` or `udp`; required (checked, so that a missing one names its service).
    pub proto: Option<String>,
    /// `a.b.c.d:port`; required.
    pub vip: Option<String>,
    /// Absent = `wlc`.
    pub scheduler: Option<String>,
    pub flags: Vec<String>,
    pub persistence: Option<u32>,
    pub netmask: Option<String>,
    pub one_packet: bool,
    pub laddrs: Vec<String>,
    pub toa: bool,
    /// The SYN proxy (TCP, NAT and FULLNAT dests).
    pub synproxy: bool,
    /// Sloppy TCP (scale-out: mid-flow DR/TUN packets open connections).
    pub sloppy: bool,
    /// `[service.limits]`: admission limits (see crate::config::services::limits).
    pub limits: super::limits::RawLimits,
    /// Scale-out: when the VIP is announced (`healthy`, `always`, `never`); see
    /// crate::config::announce.
    pub announce: Option<String>,
    /// Never valid; present so that the refusal can say why and what to use instead.
    pub fwmark: Option<toml::Value>,
    #[serde(rename = "dest")]
    pub dests: Vec<RawDest>,
    // Health checks (keepalived's virtual_server keys; see crate::config::health).
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

impl RawService {
    /// The health-check keys of this service.
    pub fn health(&self) -> RawServiceHealth {
        RawServiceHealth {
            delay_loop: self.delay_loop,
            connect_timeout: self.connect_timeout,
            retry: self.retry,
            delay_before_retry: self.delay_before_retry,
            warmup: self.warmup,
            inhibit_on_failure: self.inhibit_on_failure,
            alpha: self.alpha,
            virtualhost: self.virtualhost.clone(),
            quorum: self.quorum,
            hysteresis: self.hysteresis,
            quorum_up: self.quorum_up.clone(),
            quorum_down: self.quorum_down.clone(),
            sorry_server: self.sorry_server.clone(),
            sorry_server_fwd: self.sorry_server_fwd.clone(),
            sorry_server_inhibit: self.sorry_server_inhibit,
        }
    }
}

fn one() -> u32 {
    1
}

/// `[[service.dest]]`: a real server, as `rvsadm -a`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDest {
    pub addr: String,
    /// Absent = `dr`, as `-a` without a forwarding switch.
    #[serde(default)]
    pub fwd: Option<String>,
    #[serde(default = "one")]
    pub weight: u32,
    #[serde(default)]
    pub upper: u32,
    #[serde(default)]
    pub lower: u32,
    #[serde(default)]
    pub tun_type: Option<String>,
    #[serde(default)]
    pub tun_port: Option<u16>,
    #[serde(default)]
    pub tun_csum: Option<String>,
    // Health checks (keepalived's real_server keys; see crate::config::health).
    #[serde(default)]
    pub delay_loop: Option<f64>,
    #[serde(default)]
    pub connect_timeout: Option<f64>,
    #[serde(default)]
    pub retry: Option<u32>,
    #[serde(default)]
    pub delay_before_retry: Option<f64>,
    #[serde(default)]
    pub warmup: Option<f64>,
    #[serde(default)]
    pub inhibit_on_failure: Option<bool>,
    #[serde(default)]
    pub alpha: Option<bool>,
    #[serde(default)]
    pub virtualhost: Option<String>,
    #[serde(default)]
    pub notify_up: Option<String>,
    #[serde(default)]
    pub notify_down: Option<String>,
    #[serde(default)]
    pub tcp_check: Option<RawTcpCheck>,
    #[serde(default)]
    pub http_get: Option<RawHttpGet>,
    #[serde(default)]
    pub udp_check: Option<RawUdpCheck>,
    #[serde(default)]
    pub misc_check: Option<RawMiscCheck>,
    // keepalived's remaining checkers (crate::config::health).
    #[serde(default)]
    pub ssl_get: Option<RawSslGet>,
    #[serde(default)]
    pub smtp_check: Option<RawSmtpCheck>,
    #[serde(default)]
    pub dns_check: Option<RawDnsCheck>,
    #[serde(default)]
    pub ping_check: Option<RawPingCheck>,
    #[serde(default)]
    pub file_check: Option<RawFileCheck>,
    /// `BFD_CHECK` (crate::config::bfd).
    #[serde(default)]
    pub bfd_check: Option<crate::config::bfd::RawBfdCheck>,
}

impl RawDest {
    /// The health-check keys of this dest.
    pub fn health(&self) -> RawDestHealth {
        RawDestHealth {
            delay_loop: self.delay_loop,
            connect_timeout: self.connect_timeout,
            retry: self.retry,
            delay_before_retry: self.delay_before_retry,
            warmup: self.warmup,
            inhibit_on_failure: self.inhibit_on_failure,
            alpha: self.alpha,
            virtualhost: self.virtualhost.clone(),
            notify_up: self.notify_up.clone(),
            notify_down: self.notify_down.clone(),
            tcp_check: self.tcp_check.clone(),
            http_get: self.http_get.clone(),
            udp_check: self.udp_check.clone(),
            misc_check: self.misc_check.clone(),
            ssl_get: self.ssl_get.clone(),
            smtp_check: self.smtp_check.clone(),
            dns_check: self.dns_check.clone(),
            ping_check: self.ping_check.clone(),
            file_check: self.file_check.clone(),
            bfd_check: self.bfd_check.clone(),
        }
    }
}

/// `[[snat]]`: a source-NAT rule.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSnat {
    pub src: String,
    /// Absent = any destination.
    #[serde(default)]
    pub dst: Option<String>,
    /// Absent = `any`.
    #[serde(default)]
    pub proto: Option<String>,
    pub out: String,
    /// SYN proxy for the rule's TCP traffic (hardening); absent = off.
    #[serde(default)]
    pub synproxy: bool,
}
