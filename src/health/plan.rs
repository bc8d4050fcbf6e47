//! The checked health-check configuration: what to check for each real server, how often, and
//! what to do about the answers.
//!
//! Owns plain data only, built by [`super::config`] from the `[[service]]` / `[[service.dest]]`
//! keys (keepalived's `virtual_server` / `real_server` keys in TOML shape) and read by the
//! [`super::engine`] (decisions) and [`super::check`] (the probes). Every value here has passed
//! validation: timers are positive and finite, hex payloads are bytes, regexes compile.

use crate::ipvs::spec::{DestSpec, ServiceKey};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Every service that has health checks or a quorum rule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HealthPlan {
    /// In config order.
    pub services: Vec<ServicePlan>,
    /// The BFD sessions (`[[bfd_instance]]`) that `bfd_check`s name.
    pub bfd: BfdPlan,
}

impl HealthPlan {
    /// Whether anything is to be checked at all.
    pub fn is_empty(&self) -> bool {
        self.services.iter().all(|s| s.dests.iter().all(|d| d.checkers.is_empty()))
    }
}

/// Per-service rules (keepalived's `virtual_server` block).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePlan {
    /// The service.
    pub key: ServiceKey,
    /// `quorum`: least total weight of live dests for the service to be "up" (default 1).
    pub quorum: u32,
    /// `hysteresis`: quorum is lost below `quorum - hysteresis`, gained at
    /// `quorum + hysteresis` (default 0).
    pub hysteresis: u32,
    /// `quorum_up` script (run through `/bin/sh -c`).
    pub quorum_up: Option<String>,
    /// `quorum_down` script.
    pub quorum_down: Option<String>,
    /// `sorry_server`: used while quorum is lost.
    pub sorry: Option<SorryPlan>,
    /// The real servers, in config order.
    pub dests: Vec<DestPlan>,
}

/// The sorry server of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SorryPlan {
    /// As added to the table while quorum is lost (weight 1).
    pub spec: DestSpec,
    /// `sorry_server_inhibit`: kept in the table with weight 0 while not in use, instead of
    /// being removed.
    pub inhibit: bool,
}

/// Per-dest rules (keepalived's `real_server` block).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestPlan {
    /// The dest as configured (its weight is the one restored on success).
    pub spec: DestSpec,
    /// `inhibit_on_failure`: weight 0 instead of removal while down.
    pub inhibit_on_failure: bool,
    /// `alpha`: starts down, brought up by its first successful checks.
    pub alpha: bool,
    /// `notify_up` script.
    pub notify_up: Option<String>,
    /// `notify_down` script.
    pub notify_down: Option<String>,
    /// Its checkers; the dest is up when every one of them is. None = not checked (always up).
    pub checkers: Vec<CheckerPlan>,
}

/// Timing of one checker (keepalived's generic checker options).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// `delay_loop`: interval between checks (default 60 s).
    pub delay_loop: Duration,
    /// `connect_timeout`: the whole check's deadline for TCP, HTTP, UDP (default 5 s);
    /// `misc_timeout` for a script (default `delay_loop`).
    pub timeout: Duration,
    /// `retry`: extra checks after a failure of an up checker before it goes down (default 1,
    /// 0 for scripts).
    pub retry: u32,
    /// `delay_before_retry` (default 3 s for HTTP_GET, 1 s otherwise).
    pub delay_before_retry: Duration,
    /// `warmup`: the first check comes at a random time in `[0, warmup]` (default `delay_loop`).
    pub warmup: Duration,
}

/// One checker of a dest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckerPlan {
    /// What it does.
    pub kind: CheckKind,
    /// When.
    pub timing: Timing,
    /// `connect_ip`/`connect_port`: where to (default: the dest's address and port).
    pub target: SocketAddr,
    /// `bindto`/`bind_port`: source address (and port, 0 = any) of the probe.
    pub bind: Option<SocketAddr>,
    /// `alpha` of this checker: starts failed.
    pub alpha: bool,
}

/// The kind of a checker and its own keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckKind {
    /// `TCP_CHECK`: a connect succeeds within the timeout.
    Tcp,
    /// `HTTP_GET`: every URL answers as expected.
    Http(HttpCheck),
    /// `UDP_CHECK`: a datagram, and a reply when required.
    Udp(UdpCheck),
    /// `MISC_CHECK`: a script's exit status.
    Misc(MiscCheck),
    /// `SSL_GET`: `HTTP_GET` over TLS.
    Ssl(SslCheck),
    /// `SMTP_CHECK`: the greeting, HELO and QUIT answer 220, 250 and 221.
    Smtp(SmtpCheck),
    /// `DNS_CHECK`: a query is answered without error.
    Dns(DnsCheck),
    /// `PING_CHECK`: an ICMP echo is answered.
    Ping,
    /// `FILE_CHECK`: a number in a file (keepalived's `track_file`).
    File(FileCheck),
    /// `BFD_CHECK`: up while a BFD session is Up (event-driven, see `health::bfd`).
    Bfd(BfdCheck),
}

impl CheckKind {
    /// keepalived's name of the checker.
    pub fn name(&self) -> &'static str {
        match self {
            CheckKind::Tcp => "TCP_CHECK",
            CheckKind::Http(_) => "HTTP_GET",
            CheckKind::Udp(_) => "UDP_CHECK",
            CheckKind::Misc(_) => "MISC_CHECK",
            CheckKind::Ssl(_) => "SSL_GET",
            CheckKind::Smtp(_) => "SMTP_CHECK",
            CheckKind::Dns(_) => "DNS_CHECK",
            CheckKind::Ping => "PING_CHECK",
            CheckKind::File(_) => "FILE_CHECK",
            CheckKind::Bfd(_) => "BFD_CHECK",
        }
    }
}

/// `HTTP_GET` keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpCheck {
    /// `url` blocks; at least one.
    pub urls: Vec<UrlCheck>,
    /// `http_protocol`: `1.0` (default), `1.0C` (with `Connection: close`) or `1.1`.
    pub protocol: HttpProtocol,
}

/// The request line's version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpProtocol {
    /// HTTP/1.0.
    V10,
    /// HTTP/1.0 with `Connection: close`.
    V10Close,
    /// HTTP/1.1 (with `Connection: close`).
    V11,
}

/// One `url` block.
#[derive(Debug, Clone)]
pub struct UrlCheck {
    /// `path`.
    pub path: String,
    /// `status_code` ranges, inclusive (default 200-299).
    pub status: Vec<(u16, u16)>,
    /// `digest`: MD5 of the body, 16 bytes.
    pub digest: Option<[u8; 16]>,
    /// `regex`: must match the body (or must not, with `regex_no_match`).
    pub regex: Option<regex::bytes::Regex>,
    /// `regex_no_match`.
    pub regex_no_match: bool,
    /// `virtualhost` (url, else checker, else dest, else service); default the target address.
    pub virtualhost: Option<String>,
}

impl PartialEq for UrlCheck {
    fn eq(&self, o: &Self) -> bool {
        self.path == o.path
            && self.status == o.status
            && self.digest == o.digest
            && self.regex.as_ref().map(|r| r.as_str()) == o.regex.as_ref().map(|r| r.as_str())
            && self.regex_no_match == o.regex_no_match
            && self.virtualhost == o.virtualhost
    }
}
impl Eq for UrlCheck {}

impl UrlCheck {
    /// Whether `code` is one of the expected status codes.
    pub fn status_ok(&self, code: u16) -> bool {
        self.status.iter().any(|&(lo, hi)| (lo..=hi).contains(&code))
    }
}

/// `UDP_CHECK` keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpCheck {
    /// `payload`, bytes (default: 16 bytes of zeros... any payload keepalived would send).
    pub payload: Vec<u8>,
    /// `require_reply`: `None` = no reply needed (only no ICMP error); `Some(pattern)` = a
    /// reply is needed and must match the pattern (each byte: value and mask; empty = any).
    pub require_reply: Option<Vec<(u8, u8)>>,
    /// `min_reply_length` (default 0).
    pub min_reply_length: usize,
    /// `max_reply_length` (default 255).
    pub max_reply_length: usize,
}

/// `MISC_CHECK` keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MiscCheck {
    /// `misc_path`: the command line (run through `/bin/sh -c`).
    pub path: String,
    /// `misc_dynamic`: exit 2..=255 sets the weight to status - 2.
    pub dynamic: bool,
    /// `user`: who the script runs as (`None`: `rvs_script` if it exists, else root).
    pub user: Option<ScriptUser>,
    /// `enable_script_security`: refuse to run as root a script others could modify.
    pub script_security: bool,
}

/// A script user, resolved from `/etc/passwd` when the config is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptUser {
    /// Login name.
    pub name: String,
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
}

/// Identity of a dest within a service.
pub type DestAddr = (IpAddr, u16);

// --- keepalived's remaining checkers ------------------------------------------------------------

/// `SSL_GET` keys: those of `HTTP_GET`, and `enable_sni`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SslCheck {
    /// The requests and what their answers must be.
    pub http: HttpCheck,
    /// `enable_sni`: send the virtualhost (else the target address is not sent) as the TLS
    /// server name.
    pub sni: bool,
}

/// `SMTP_CHECK` keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpCheck {
    /// `helo_name`: the name sent with HELO.
    pub helo_name: String,
}

/// `DNS_CHECK` keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsCheck {
    /// `type` (default SOA).
    pub qtype: DnsType,
    /// `name` (default `.`).
    pub name: String,
}

/// The query types `DNS_CHECK` asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DnsType {
    /// Address.
    A,
    /// Name server.
    Ns,
    /// Alias.
    Cname,
    /// Start of authority.
    Soa,
    /// Mail exchanger.
    Mx,
    /// Text.
    Txt,
    /// IPv6 address.
    Aaaa,
}

impl DnsType {
    /// The type by its name (upper case), as keepalived writes it.
    pub fn from_name(s: &str) -> Option<DnsType> {
        Some(match s {
            "A" => DnsType::A,
            "NS" => DnsType::Ns,
            "CNAME" => DnsType::Cname,
            "SOA" => DnsType::Soa,
            "MX" => DnsType::Mx,
            "TXT" => DnsType::Txt,
            "AAAA" => DnsType::Aaaa,
            _ => return None,
        })
    }

    /// The type's number on the wire (RFC 1035, RFC 3596).
    pub fn code(self) -> u16 {
        match self {
            DnsType::A => 1,
            DnsType::Ns => 2,
            DnsType::Cname => 5,
            DnsType::Soa => 6,
            DnsType::Mx => 15,
            DnsType::Txt => 16,
            DnsType::Aaaa => 28,
        }
    }
}

/// `FILE_CHECK` keys (with its `track_file`'s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileCheck {
    /// The file holding a number.
    pub path: std::path::PathBuf,
    /// 0: the dest is up while the file holds 0. Otherwise the value times `weight` (negated
    /// with `reverse`) is added to the dest's weight; a sum below 0 is down.
    pub weight: i64,
    /// `reverse`.
    pub reverse: bool,
    /// `dynamic`: the sum becomes the dest's weight (at most the largest weight).
    pub dynamic: bool,
    /// The dest's configured weight.
    pub base_weight: u32,
}

// --- BFD (keepalived's bfd_instance and BFD_CHECK) -----------------------------------------------

/// The BFD sessions rvsd runs (RFC 5880 asynchronous mode, RFC 5881 single hop, IPv4).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BfdPlan {
    /// `[[bfd_instance]]`, in config order; names are unique.
    pub instances: Vec<BfdInstance>,
    /// UDP port the sessions send to and listen on; 0 = RFC 5881's 3784 (tests use others).
    pub port: u16,
}

/// RFC 5881's destination port of single-hop BFD control packets.
pub const BFD_PORT: u16 = 3784;

impl BfdPlan {
    /// The port in use.
    pub fn port(&self) -> u16 {
        if self.port == 0 {
            BFD_PORT
        } else {
            self.port
        }
    }
}

/// One `[[bfd_instance]]`: a session with one neighbour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BfdInstance {
    /// `name`, what `bfd_check.name` refers to.
    pub name: String,
    /// `neighbor_ip`.
    pub neighbor: std::net::Ipv4Addr,
    /// `source_ip` (default: the kernel's choice).
    pub source: Option<std::net::Ipv4Addr>,
    /// `min_rx`, microseconds (default 10 ms).
    pub min_rx_us: u32,
    /// `min_tx`, microseconds (default 10 ms).
    pub min_tx_us: u32,
    /// `idle_tx`, microseconds (default 1 s).
    pub idle_tx_us: u32,
    /// `multiplier` (default 5).
    pub multiplier: u8,
    /// `passive`: send nothing until the neighbour has spoken.
    pub passive: bool,
    /// `ttl` of the packets sent (default 255).
    pub ttl: u8,
    /// `max_hops`: received packets need a TTL of at least 255 - max_hops (default 0: exactly
    /// 255, RFC 5881's GTSM rule); 255 disables the check.
    pub max_hops: u8,
}

impl BfdInstance {
    /// Whether a packet received with `ttl` passes the hop check.
    pub fn ttl_ok(&self, ttl: u8) -> bool {
        self.max_hops == 255 || ttl >= 255 - self.max_hops
    }
}

/// `BFD_CHECK` keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BfdCheck {
    /// The `bfd_instance` it follows.
    pub name: String,
    /// Its index in [`BfdPlan::instances`].
    pub instance: usize,
}
