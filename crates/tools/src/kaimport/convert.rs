//! keepalived's `virtual_server`, `virtual_server_group` and `real_server` blocks as rvsd's
//! `[[service]]` / `[[service.dest]]` tables (docs/keepalived.md has the table of what maps to
//! what).
//!
//! Owns the mapping of keywords and the refusals: every keyword is either converted, reported
//! as a note (VRRP blocks, which keepalived keeps running; labels with no behaviour), or
//! refused with its file, line and reason. Nothing is dropped without a word. The checkers'
//! blocks are [`super::checkers`]'. Must not check what rvsd's own config check decides (ports
//! of forwarding methods, address families, duplicate services): the written TOML goes through
//! `rvsd --check`.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;

use rvs_core::ipvs::sched::{SchedFlags, SchedKind};

use super::emit::{Table, Value};
use super::lex::Source;
use super::tree::Node;
use super::Refusal;

/// Most services one `virtual_server_group` entry may expand to (an address range).
pub const MAX_RANGE: u32 = 256;

/// Top-level blocks that belong to keepalived's VRRP side and stay in keepalived.conf.
const VRRP_BLOCKS: &[&str] = &[
    "vrrp_instance",
    "vrrp_sync_group",
    "vrrp_script",
    "vrrp_track_process",
    "vrrp_track_file",
    "static_ipaddress",
    "static_routes",
    "static_rules",
    "garp_group",
    "linkbeat_interfaces",
];

/// The conversion's state: what it wrote, noted and refused.
pub struct Conv<'a> {
    pub(super) src: &'a Source,
    pub(super) refusals: Vec<Refusal>,
    pub(super) notes: Vec<String>,
    groups: HashMap<String, &'a Node>,
    pub(super) track_files: HashMap<String, &'a Node>,
    /// `bfd_instance` names, for `BFD_CHECK { name }`.
    pub(super) bfd_names: HashMap<String, &'a Node>,
    /// The `[[bfd_instance]]` tables, in file order.
    pub bfd: Vec<Table>,
    /// The `[[service]]` tables, in file order.
    pub services: Vec<Table>,
    /// Every VIP, in first-use order.
    pub vips: Vec<Ipv4Addr>,
}

impl<'a> Conv<'a> {
    pub(super) fn new(src: &'a Source) -> Self {
        Conv {
            src,
            refusals: Vec::new(),
            notes: Vec::new(),
            groups: HashMap::new(),
            track_files: HashMap::new(),
            bfd_names: HashMap::new(),
            bfd: Vec::new(),
            services: Vec::new(),
            vips: Vec::new(),
        }
    }

    pub(super) fn refuse(&mut self, n: &Node, reason: impl Into<String>) {
        let place = self.src.place(n.at).to_string();
        self.refusals.push(Refusal { place, reason: reason.into() });
    }

    pub(super) fn note(&mut self, n: &Node, text: impl AsRef<str>) {
        let place = self.src.place(n.at);
        self.notes.push(format!("{place}: {}", text.as_ref()));
    }

    /// The one argument of `n`, refused otherwise.
    pub(super) fn arg(&mut self, n: &Node) -> Option<String> {
        match n.args() {
            [a] => Some(a.clone()),
            _ => {
                self.refuse(n, format!("{} takes one value", n.key()));
                None
            }
        }
    }

    /// An integer in `lo..=hi`.
    pub(super) fn int(&mut self, n: &Node, lo: i64, hi: i64) -> Option<i64> {
        let a = self.arg(n)?;
        match a.parse::<i64>() {
            Ok(v) if (lo..=hi).contains(&v) => Some(v),
            _ => {
                self.refuse(
                    n,
                    format!("{} `{a}` is not a whole number from {lo} to {hi}", n.key()),
                );
                None
            }
        }
    }

    /// A keepalived `<TIMER>`: seconds, fractions allowed.
    pub(super) fn secs(&mut self, n: &Node) -> Option<f64> {
        let a = self.arg(n)?;
        match a.parse::<f64>() {
            Ok(v) if v.is_finite() && v >= 0.0 => Some(v),
            _ => {
                self.refuse(n, format!("{} `{a}` is not a time in seconds", n.key()));
                None
            }
        }
    }

    /// A keepalived `<BOOL>` (absent = true).
    pub(super) fn boolean(&mut self, n: &Node) -> Option<bool> {
        match n.args() {
            [] => Some(true),
            [a] => match a.to_ascii_lowercase().as_str() {
                "on" | "true" | "yes" => Some(true),
                "off" | "false" | "no" => Some(false),
                _ => {
                    self.refuse(
                        n,
                        format!("{} `{a}` is not one of on|off|true|false|yes|no", n.key()),
                    );
                    None
                }
            },
            _ => {
                self.refuse(n, format!("{} takes at most one value", n.key()));
                None
            }
        }
    }

    /// A script and no user: `notify_up`, `quorum_up`...
    pub(super) fn script(&mut self, n: &Node) -> Option<String> {
        match n.args() {
            [s] => Some(s.clone()),
            [] => {
                self.refuse(n, format!("{} needs a script", n.key()));
                None
            }
            [_, user, ..] => {
                self.refuse(n, format!("{} runs as user `{user}`: rvsd runs its scripts as its own user; drop the user (or quote a script with arguments: \"/path/script arg\")", n.key()));
                None
            }
        }
    }

    /// The whole configuration.
    pub(super) fn top(&mut self, nodes: &'a [Node]) {
        for n in nodes {
            match n.key() {
                "virtual_server_group" => match n.args() {
                    [name] => {
                        self.groups.insert(name.clone(), n);
                    }
                    _ => self.refuse(n, "virtual_server_group takes one name"),
                },
                "track_file" => match n.args() {
                    [name] => {
                        self.track_files.insert(name.clone(), n);
                    }
                    _ => self.refuse(n, "track_file takes one name"),
                },
                "bfd_instance" => match n.args() {
                    [name] => {
                        self.bfd_names.insert(name.clone(), n);
                    }
                    _ => self.refuse(n, "bfd_instance takes one name"),
                },
                _ => {}
            }
        }
        for n in nodes {
            match n.key() {
                "virtual_server" => self.virtual_server(n),
                "virtual_server_group" | "track_file" => {}
                "global_defs" => self.note(
                    n,
                    "global_defs is keepalived's own (mail, router id, scripts' security): not imported; rvsd's equivalents are [ctrl] and [metrics]",
                ),
                "net_namespace" | "instance" | "use_pid_dir" => self.note(
                    n,
                    format!("{} is how keepalived itself runs: not imported", n.key()),
                ),
                k if VRRP_BLOCKS.contains(&k) => self.note(
                    n,
                    format!("{k} is VRRP: left to keepalived, which keeps running it beside rvsd (docs/keepalived.md, director HA)"),
                ),
                "bfd_instance" => self.bfd_instance(n),
                "SSL" => self.refuse(
                    n,
                    "SSL (client certificate or CA for SSL_GET): rvs's SSL_GET presents no client certificate and, as keepalived without a CA, does not verify the server's; remove the block",
                ),
                other => self.refuse(n, format!("`{other}` is not a keepalived keyword the importer knows")),
            }
        }
    }

    fn targets(&mut self, n: &Node) -> Vec<(Ipv4Addr, u16)> {
        match n.args() {
            [kw, _] if kw == "fwmark" => {
                self.refuse(n, "fwmark services: rvs has no firewall marks (DPDK bypasses netfilter); declare one service per VIP:port instead");
                Vec::new()
            }
            [kw, name] if kw == "group" => {
                let Some(g) = self.groups.get(name.as_str()).copied() else {
                    self.refuse(n, format!("virtual_server_group {name} is not defined"));
                    return Vec::new();
                };
                let mut out = Vec::new();
                for e in g.children() {
                    out.extend(self.group_entry(e));
                }
                if out.is_empty() && g.children().is_empty() {
                    self.refuse(g, format!("virtual_server_group {name} is empty"));
                }
                out
            }
            [ip] => self.address(n, ip, "0").into_iter().collect(),
            [ip, port] => self.address(n, ip, port).into_iter().collect(),
            _ => {
                self.refuse(
                    n,
                    "virtual_server takes an address and a port, `fwmark N` or `group NAME`",
                );
                Vec::new()
            }
        }
    }

    fn address(&mut self, n: &Node, ip: &str, port: &str) -> Option<(Ipv4Addr, u16)> {
        let Ok(port) = port.parse::<u16>() else {
            self.refuse(n, format!("`{port}` is not a port"));
            return None;
        };
        match ip.parse::<IpAddr>() {
            Ok(IpAddr::V4(a)) => Some((a, port)),
            Ok(IpAddr::V6(_)) => {
                self.refuse(n, format!("{ip}: rvs serves IPv4 virtual services only"));
                None
            }
            Err(_) => {
                self.refuse(n, format!("`{ip}` is not an IP address"));
                None
            }
        }
    }

    /// One line of a `virtual_server_group`: `IP [PORT]`, `IP-LAST [PORT]`,
    /// `IP-IP [PORT]`, `IP/LEN [PORT]`, or `fwmark N`.
    fn group_entry(&mut self, e: &Node) -> Vec<(Ipv4Addr, u16)> {
        let words = &e.words;
        if words.first().is_some_and(|w| w == "fwmark") {
            self.refuse(e, "fwmark in a virtual_server_group: rvs has no firewall marks (DPDK bypasses netfilter); list the VIP:port pairs instead");
            return Vec::new();
        }
        let (range, port) = match words.as_slice() {
            [r] => (r.as_str(), "0"),
            [r, p] => (r.as_str(), p.as_str()),
            _ => {
                self.refuse(e, "a virtual_server_group entry is `IP [PORT]`, `IP-LAST [PORT]`, `IP/LEN [PORT]` or `fwmark N`");
                return Vec::new();
            }
        };
        let Ok(port) = port.parse::<u16>() else {
            self.refuse(e, format!("`{port}` is not a port"));
            return Vec::new();
        };
        let (first, last) = if let Some((a, len)) = range.split_once('/') {
            match (a.parse::<Ipv4Addr>(), len.parse::<u32>()) {
                (Ok(a), Ok(len)) if len <= 32 => {
                    let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
                    let base = u32::from(a) & mask;
                    (base, base | !mask)
                }
                _ => {
                    self.refuse(
                        e,
                        format!("`{range}` is not an IPv4 prefix (rvs serves IPv4 only)"),
                    );
                    return Vec::new();
                }
            }
        } else if let Some((a, b)) = range.split_once('-') {
            let Ok(a) = a.parse::<Ipv4Addr>() else {
                self.refuse(e, format!("`{range}` is not an IPv4 range (rvs serves IPv4 only)"));
                return Vec::new();
            };
            let last = match (b.parse::<Ipv4Addr>(), b.parse::<u8>()) {
                (Ok(b), _) => u32::from(b),
                (_, Ok(o)) => (u32::from(a) & !0xff) | u32::from(o),
                _ => {
                    self.refuse(e, format!("`{range}` is not an IPv4 range"));
                    return Vec::new();
                }
            };
            (u32::from(a), last)
        } else {
            match range.parse::<IpAddr>() {
                Ok(IpAddr::V4(a)) => (u32::from(a), u32::from(a)),
                Ok(IpAddr::V6(_)) => {
                    self.refuse(e, format!("{range}: rvs serves IPv4 virtual services only"));
                    return Vec::new();
                }
                Err(_) => {
                    self.refuse(e, format!("`{range}` is not an IP address"));
                    return Vec::new();
                }
            }
        };
        if last < first || last - first >= MAX_RANGE {
            self.refuse(e, format!("`{range}` is not a range of 1 to {MAX_RANGE} addresses"));
            return Vec::new();
        }
        (first..=last).map(|a| (Ipv4Addr::from(a), port)).collect()
    }

    /// `lvs_method`/`lb_kind` arguments as rvs's `fwd` (and tunnel keys).
    fn method(&mut self, n: &Node) -> Option<Vec<(String, Value)>> {
        let args = n.args();
        let Some(m) = args.first() else {
            self.refuse(n, format!("{} needs NAT, DR or TUN", n.key()));
            return None;
        };
        let s = |v: &str| Value::Str(v.to_owned());
        let mut out = Vec::new();
        match m.to_ascii_uppercase().as_str() {
            "NAT" | "DR" if args.len() == 1 => out
                .push(("fwd".into(), s(if m.eq_ignore_ascii_case("NAT") { "nat" } else { "dr" }))),
            "TUN" => {
                out.push(("fwd".into(), s("tun")));
                let mut rest = args.get(1..).unwrap_or_default().iter();
                while let Some(w) = rest.next() {
                    match w.as_str() {
                        "type" => match rest.next().map(String::as_str) {
                            Some(t @ ("ipip" | "gre")) => out.push(("tun_type".into(), s(t))),
                            Some("gue") => {
                                out.push(("tun_type".into(), s("gue")));
                                match (
                                    rest.next().map(String::as_str),
                                    rest.next().map(|p| p.parse::<u16>()),
                                ) {
                                    (Some("port"), Some(Ok(p))) => {
                                        out.push(("tun_port".into(), Value::Int(i64::from(p))))
                                    }
                                    _ => {
                                        self.refuse(n, "a gue tunnel needs `port N`");
                                        return None;
                                    }
                                }
                            }
                            _ => {
                                self.refuse(n, "tunnel type is ipip, gue port N or gre");
                                return None;
                            }
                        },
                        c @ ("nocsum" | "csum" | "remcsum") => out.push(("tun_csum".into(), s(c))),
                        other => {
                            self.refuse(n, format!("`{other}` is not a tunnel option"));
                            return None;
                        }
                    }
                }
            }
            _ => {
                self.refuse(
                    n,
                    format!("{} `{}`: write NAT, DR or TUN [type ...]", n.key(), args.join(" ")),
                );
                return None;
            }
        }
        Some(out)
    }

    /// Health keys shared by `virtual_server` and `real_server` (timers and flags); `true`
    /// when `n` was one.
    fn shared_health(&mut self, n: &Node, t: &mut Table) -> bool {
        match n.key() {
            "delay_loop" | "connect_timeout" | "delay_before_retry" | "warmup" => {
                if let Some(v) = self.secs(n) {
                    t.set(n.key(), Value::Secs(v));
                }
            }
            "retry" | "nb_get_retry" => {
                if let Some(v) = self.int(n, 0, 1000) {
                    t.set("retry", Value::Int(v));
                }
            }
            "inhibit_on_failure" | "alpha" => {
                if let Some(v) = self.boolean(n) {
                    t.set(n.key(), Value::Bool(v));
                }
            }
            "virtualhost" => {
                if let Some(v) = self.arg(n) {
                    t.set("virtualhost", Value::Str(v));
                }
            }
            "snmp_name" => self.note(n, "snmp_name: rvs has no SNMP agent (its metrics are Prometheus'); not imported"),
            "smtp_alert" => match self.boolean(n) {
                Some(false) => {}
                _ => self.refuse(n, "smtp_alert: rvsd sends no mail; use notify_up/notify_down or quorum_up/quorum_down scripts"),
            },
            _ => return false,
        }
        true
    }

    fn virtual_server(&mut self, n: &'a Node) {
        let targets = self.targets(n);
        let mut body = Table::default();
        let mut proto = "tcp";
        let mut scheduler: Option<SchedKind> = None;
        let mut flags: Vec<(&'a Node, String)> = Vec::new();
        let mut method: Option<Vec<(String, Value)>> = None;
        let mut sorry_method: Option<Vec<(String, Value)>> = None;
        let mut dests: Vec<Table> = Vec::new();
        let mut persistence = false;
        for c in n.children() {
            if self.shared_health(c, &mut body) {
                continue;
            }
            match c.key() {
                "lb_algo" | "lvs_sched" => {
                    let Some(a) = self.arg(c) else { continue };
                    match SchedKind::from_str(&a) {
                        Ok(k) => {
                            scheduler = Some(k);
                            body.set("scheduler", Value::Str(a));
                        }
                        Err(e) => self.refuse(c, format!("{e}")),
                    }
                }
                f @ ("flag-1" | "flag-2" | "flag-3" | "sh-port" | "sh-fallback" | "mh-port" | "mh-fallback") => {
                    if c.args().is_empty() {
                        flags.push((c, f.to_owned()));
                    } else {
                        self.refuse(c, format!("{f} takes no value"));
                    }
                }
                "ops" => body.set("one_packet", Value::Bool(true)),
                "lb_kind" | "lvs_method" => method = self.method(c),
                "persistence_timeout" => {
                    let t = if c.args().is_empty() { Some(360) } else { self.int(c, 1, i64::from(u32::MAX)) };
                    if let Some(t) = t {
                        body.set("persistence", Value::Int(t));
                        persistence = true;
                    }
                }
                "persistence_granularity" => {
                    if let Some(m) = self.arg(c) {
                        match m.parse::<Ipv4Addr>() {
                            Ok(_) => body.set("netmask", Value::Str(m)),
                            Err(_) => self.refuse(c, format!("`{m}` is not an IPv4 netmask")),
                        }
                    }
                }
                "persistence_engine" => self.refuse(c, "persistence_engine (SIP persistence): rvs has none; persistence is by client address"),
                "protocol" => match self.arg(c).map(|p| p.to_ascii_uppercase()).as_deref() {
                    Some("TCP") => proto = "tcp",
                    Some("UDP") => proto = "udp",
                    Some("SCTP") => self.refuse(c, "protocol SCTP: rvs balances TCP and UDP only"),
                    Some(p) => self.refuse(c, format!("protocol `{p}`: write TCP or UDP")),
                    None => {}
                },
                "ip_family" => match self.arg(c).as_deref() {
                    Some("inet") | None => {}
                    Some(f) => self.refuse(c, format!("ip_family {f}: rvs serves IPv4 only")),
                },
                "ha_suspend" => self.refuse(c, "ha_suspend: rvsd keeps checking whether or not it holds the VIP; remove it (with VRRP, the backup's checks keep its table current)"),
                "omega" => self.refuse(c, "omega: rvsd runs no notifiers when it stops; remove it"),
                "quorum" => {
                    if let Some(v) = self.int(c, 1, i64::from(u32::MAX)) {
                        body.set("quorum", Value::Int(v));
                    }
                }
                "hysteresis" => {
                    if let Some(v) = self.int(c, 0, i64::from(u32::MAX)) {
                        body.set("hysteresis", Value::Int(v));
                    }
                }
                "quorum_up" | "quorum_down" => {
                    if let Some(s) = self.script(c) {
                        body.set(c.key(), Value::Str(s));
                    }
                }
                "sorry_server" => match c.args() {
                    [ip] => body.set("sorry_server", Value::Str(ip.clone())),
                    [ip, port] => body.set("sorry_server", Value::Str(format!("{ip}:{port}"))),
                    _ => self.refuse(c, "sorry_server takes an address and a port"),
                },
                "sorry_server_inhibit" => {
                    if let Some(b) = self.boolean(c) {
                        body.set("sorry_server_inhibit", Value::Bool(b));
                    }
                }
                "sorry_server_lvs_method" => sorry_method = self.method(c),
                "real_server" => {
                    if let Some(d) = self.real_server(c) {
                        dests.push(d);
                    }
                }
                other => self.refuse(c, format!("`{other}` is not a virtual_server keyword the importer knows")),
            }
        }
        if !flags.is_empty() {
            let names: Vec<String> = flags.iter().map(|(_, f)| f.clone()).collect();
            if let Err(e) =
                SchedFlags::parse_for(&names.join(","), Some(scheduler.unwrap_or_default()))
            {
                let at = flags[0].0;
                self.refuse(at, format!("{e}"));
            }
            body.set("flags", Value::List(names.into_iter().map(Value::Str).collect()));
        }
        if body.has("netmask") && !persistence {
            self.refuse(n, "persistence_granularity without persistence_timeout: add persistence_timeout or remove the granularity");
        }
        // keepalived's default forwarding method is NAT; a real server's own wins.
        let method = method.unwrap_or_else(|| vec![("fwd".into(), Value::Str("nat".into()))]);
        for d in &mut dests {
            if !d.has("fwd") {
                // After `addr`, which real_server wrote first.
                let at = d.keys.len().min(1);
                d.keys.splice(at..at, method.iter().cloned());
            }
        }
        if body.has("sorry_server") {
            let m = sorry_method.unwrap_or(method);
            if let Some((_, v)) = m.into_iter().find(|(k, _)| k == "fwd") {
                body.set("sorry_server_fwd", v);
            }
        }
        let place = self.src.place(n.at).to_string();
        for (vip, port) in targets {
            let mut t = Table {
                comment: Some(format!("virtual_server {} ({place})", n.args().join(" "))),
                ..Table::default()
            };
            t.set("proto", Value::Str(proto.into()));
            t.set("vip", Value::Str(format!("{vip}:{port}")));
            if !body.has("scheduler") {
                // keepalived's default scheduler is wlc, as rvsd's.
                t.set("scheduler", Value::Str("wlc".into()));
            }
            t.keys.extend(body.keys.iter().cloned());
            for d in &dests {
                t.push("dest", d.clone());
            }
            if !self.vips.contains(&vip) {
                self.vips.push(vip);
            }
            self.services.push(t);
        }
    }

    fn real_server(&mut self, n: &'a Node) -> Option<Table> {
        let addr = match n.args() {
            [ip] => ip.clone(),
            [ip, port] => format!("{ip}:{port}"),
            _ => {
                self.refuse(n, "real_server takes an address and a port");
                return None;
            }
        };
        let mut d = Table::default();
        d.set("addr", Value::Str(addr));
        let mut checkers: Vec<(String, Table)> = Vec::new();
        let mut seen: Vec<&str> = Vec::new();
        for c in n.children() {
            if self.shared_health(c, &mut d) {
                continue;
            }
            match c.key() {
                "weight" => {
                    if let Some(w) = self.int(c, 0, i64::from(i32::MAX)) {
                        d.set("weight", Value::Int(w));
                    }
                }
                "lb_kind" | "lvs_method" => {
                    if let Some(m) = self.method(c) {
                        let mut keys = m;
                        keys.append(&mut d.keys);
                        d.keys = keys;
                    }
                }
                "uthreshold" | "lthreshold" => {
                    if let Some(v) = self.int(c, 0, i64::from(u32::MAX)) {
                        d.set(
                            if c.key() == "uthreshold" { "upper" } else { "lower" },
                            Value::Int(v),
                        );
                    }
                }
                "notify_up" | "notify_down" => {
                    if let Some(s) = self.script(c) {
                        d.set(c.key(), Value::Str(s));
                    }
                }
                k if super::checkers::NAMES.contains(&k) => {
                    if seen.contains(&k) {
                        self.refuse(c, format!("a second {k} on this real_server: rvs takes one checker of each kind per real server; merge them or check the other target with another kind"));
                        continue;
                    }
                    seen.push(k);
                    if let Some(t) = self.checker(c) {
                        checkers.push(t);
                    }
                }
                other => self.refuse(
                    c,
                    format!("`{other}` is not a real_server keyword the importer knows"),
                ),
            }
        }
        // addr first, then fwd (from lvs_method), as rvsadm -S writes them.
        if let Some(i) = d.keys.iter().position(|(k, _)| k == "addr") {
            let a = d.keys.remove(i);
            d.keys.insert(0, a);
        }
        d.subs = checkers;
        Some(d)
    }
}
