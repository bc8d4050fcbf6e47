//! keepalived's checker blocks of a `real_server` (`TCP_CHECK`, `HTTP_GET`, `SSL_GET`,
//! `UDP_CHECK`, `MISC_CHECK`, `SMTP_CHECK`, `DNS_CHECK`, `PING_CHECK`, `FILE_CHECK`) as the
//! checker tables of a `[[service.dest]]` (`tcp_check`, `http_get`, ...).
//!
//! Owns each checker's keywords and their refusals, and the `bfd_instance` blocks that
//! `BFD_CHECK`s name (`[[bfd_instance]]`). Must not touch the service and real-server keys (the
//! conversion's).

use super::convert::Conv;
use super::emit::{Table, Value};
use super::tree::Node;

/// The checker keywords of a `real_server`.
pub const NAMES: &[&str] = &[
    "TCP_CHECK",
    "HTTP_GET",
    "SSL_GET",
    "UDP_CHECK",
    "MISC_CHECK",
    "SMTP_CHECK",
    "DNS_CHECK",
    "PING_CHECK",
    "FILE_CHECK",
    "BFD_CHECK",
];

impl Conv<'_> {
    /// A checker block as (rvs key, table), or `None` when refused.
    pub(super) fn checker(&mut self, n: &Node) -> Option<(String, Table)> {
        let before = self.refusals.len();
        let mut t = Table::default();
        let name = match n.key() {
            "TCP_CHECK" => {
                self.generic_only(n, &mut t);
                "tcp_check"
            }
            "PING_CHECK" => {
                for c in n.children() {
                    if matches!(c.key(), "connect_port" | "bind_port") {
                        self.refuse(c, format!("{}: PING_CHECK has no ports", c.key()));
                    } else if !self.generic(c, &mut t) {
                        self.unknown(n, c);
                    }
                }
                "ping_check"
            }
            "HTTP_GET" | "SSL_GET" => {
                self.http(n, &mut t);
                if n.key() == "HTTP_GET" {
                    "http_get"
                } else {
                    "ssl_get"
                }
            }
            "UDP_CHECK" => {
                self.udp(n, &mut t);
                "udp_check"
            }
            "MISC_CHECK" => {
                self.misc(n, &mut t);
                "misc_check"
            }
            "SMTP_CHECK" => {
                self.smtp(n, &mut t);
                "smtp_check"
            }
            "DNS_CHECK" => {
                for c in n.children() {
                    match c.key() {
                        "type" => {
                            if let Some(v) = self.arg(c) {
                                let up = v.to_ascii_uppercase();
                                if ["A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA"]
                                    .contains(&up.as_str())
                                {
                                    t.set("type", Value::Str(up));
                                } else {
                                    self.refuse(c, format!("DNS_CHECK type `{v}`: write A, NS, CNAME, SOA, MX, TXT or AAAA"));
                                }
                            }
                        }
                        "name" => {
                            if let Some(v) = self.arg(c) {
                                t.set("name", Value::Str(v));
                            }
                        }
                        _ if self.generic(c, &mut t) => {}
                        _ => self.unknown(n, c),
                    }
                }
                "dns_check"
            }
            "FILE_CHECK" => {
                self.file(n, &mut t);
                "file_check"
            }
            "BFD_CHECK" => {
                // keepalived's BFD_CHECK has `name` and `alpha`, none of the generic options.
                for c in n.children() {
                    match c.key() {
                        "name" => {
                            if let Some(v) = self.arg(c) {
                                if self.bfd_names.contains_key(&v) {
                                    t.set("name", Value::Str(v));
                                } else {
                                    self.refuse(
                                        c,
                                        format!(
                                            "BFD_CHECK name `{v}`: no bfd_instance has that name"
                                        ),
                                    );
                                }
                            }
                        }
                        "alpha" => {
                            if let Some(v) = self.boolean(c) {
                                t.set("alpha", Value::Bool(v));
                            }
                        }
                        _ => self.unknown(n, c),
                    }
                }
                if !t.has("name") && self.refusals.len() == before {
                    self.refuse(n, "BFD_CHECK needs the name of a bfd_instance");
                }
                "bfd_check"
            }
            _ => return None,
        };
        (self.refusals.len() == before).then(|| (name.to_owned(), t))
    }

    fn unknown(&mut self, block: &Node, c: &Node) {
        self.refuse(
            c,
            format!("`{}` is not a {} keyword the importer knows", c.key(), block.key()),
        );
    }

    fn generic_only(&mut self, n: &Node, t: &mut Table) {
        for c in n.children() {
            if !self.generic(c, t) {
                self.unknown(n, c);
            }
        }
    }

    /// The options every checker has; `true` when `c` was one.
    fn generic(&mut self, c: &Node, t: &mut Table) -> bool {
        match c.key() {
            "connect_ip" | "bindto" => {
                if let Some(v) = self.arg(c) {
                    t.set(c.key(), Value::Str(v));
                }
            }
            "connect_port" | "bind_port" => {
                if let Some(v) = self.int(c, 1, 65535) {
                    t.set(c.key(), Value::Int(v));
                }
            }
            "connect_timeout" | "delay_before_retry" | "warmup" | "delay_loop" => {
                if let Some(v) = self.secs(c) {
                    t.set(c.key(), Value::Secs(v));
                }
            }
            "retry" | "nb_get_retry" => {
                if let Some(v) = self.int(c, 0, 1000) {
                    t.set("retry", Value::Int(v));
                }
            }
            "alpha" => {
                if let Some(v) = self.boolean(c) {
                    t.set("alpha", Value::Bool(v));
                }
            }
            "bind_if" => self.refuse(c, "bind_if: rvs's checks leave from the kernel's addresses; give bindto an IPv4 address of the exception path instead"),
            "fwmark" => self.refuse(c, "fwmark on checker packets: rvs has no firewall marks (DPDK bypasses netfilter)"),
            "log_all_failures" => self.note(c, "log_all_failures: rvsd logs every state change of a checker; not imported"),
            _ => return false,
        }
        true
    }

    fn http(&mut self, n: &Node, t: &mut Table) {
        for c in n.children() {
            match c.key() {
                "http_protocol" => {
                    if let Some(v) = self.arg(c) {
                        if ["1.0", "1.0C", "1.0c", "1.1"].contains(&v.as_str()) {
                            t.set("http_protocol", Value::Str(v));
                        } else {
                            self.refuse(c, format!("http_protocol `{v}`: write 1.0, 1.0C or 1.1"));
                        }
                    }
                }
                "virtualhost" => {
                    if let Some(v) = self.arg(c) {
                        t.set("virtualhost", Value::Str(v));
                    }
                }
                "fast_recovery" => self.note(c, "fast_recovery: rvs checks every url in each check, which is what fast_recovery asks for; not imported"),
                "enable_sni" if n.key() == "SSL_GET" => {
                    if let Some(b) = self.boolean(c) {
                        t.set("enable_sni", Value::Bool(b));
                    }
                }
                "url" => {
                    if let Some(u) = self.url(c) {
                        t.push("url", u);
                    }
                }
                _ if self.generic(c, t) => {}
                _ => self.unknown(n, c),
            }
        }
        if !t.arrays.iter().any(|(k, _)| k == "url") {
            self.refuse(n, format!("{} without a url block: add url {{ path / }}", n.key()));
        }
    }

    fn url(&mut self, n: &Node) -> Option<Table> {
        let mut u = Table::default();
        for c in n.children() {
            match c.key() {
                "path" | "digest" | "virtualhost" => {
                    if let Some(v) = self.arg(c) {
                        u.set(c.key(), Value::Str(v));
                    }
                }
                "regex" => {
                    // keepalived's regex is the rest of the line.
                    if c.args().is_empty() {
                        self.refuse(c, "regex needs a pattern");
                    } else {
                        u.set("regex", Value::Str(c.args().join(" ")));
                    }
                }
                "regex_no_match" => u.set("regex_no_match", Value::Bool(true)),
                "status_code" => {
                    let mut codes = Vec::new();
                    for a in c.args() {
                        match a.parse::<i64>() {
                            Ok(code) => codes.push(Value::Int(code)),
                            Err(_) if a.contains('-') => codes.push(Value::Str(a.clone())),
                            Err(_) => self.refuse(c, format!("status_code `{a}` is not a code or a range lo-hi")),
                        }
                    }
                    if codes.is_empty() {
                        self.refuse(c, "status_code needs codes or ranges");
                    }
                    u.set("status_code", Value::List(codes));
                }
                k @ ("regex_options" | "regex_stack" | "regex_min_offset" | "regex_max_offset") => self.refuse(
                    c,
                    format!("{k}: rvs's regexes are Rust regexes over the whole body, without PCRE options or offsets; rewrite the pattern (e.g. (?i) for caseless) and remove {k}"),
                ),
                _ => self.unknown(n, c),
            }
        }
        if !u.has("path") {
            self.refuse(n, "url without a path: add path /");
            return None;
        }
        Some(u)
    }

    fn udp(&mut self, n: &Node, t: &mut Table) {
        for c in n.children() {
            match c.key() {
                "payload" => {
                    if c.args().is_empty() {
                        self.refuse(c, "payload needs hex bytes");
                    } else {
                        t.set("payload", Value::Str(c.args().join(" ")));
                    }
                }
                "require_reply" => {
                    if c.args().is_empty() {
                        t.set("require_reply", Value::Bool(true));
                    } else {
                        t.set("require_reply", Value::Str(c.args().join(" ")));
                    }
                }
                "min_reply_length" | "max_reply_length" => {
                    if let Some(v) = self.int(c, 0, 65_507) {
                        t.set(c.key(), Value::Int(v));
                    }
                }
                _ if self.generic(c, t) => {}
                _ => self.unknown(n, c),
            }
        }
    }

    fn misc(&mut self, n: &Node, t: &mut Table) {
        for c in n.children() {
            match c.key() {
                "misc_path" => {
                    if c.args().is_empty() {
                        self.refuse(c, "misc_path needs a script");
                    } else {
                        t.set("misc_path", Value::Str(c.args().join(" ")));
                    }
                }
                "misc_timeout" => {
                    if let Some(v) = self.secs(c) {
                        t.set("misc_timeout", Value::Secs(v));
                    }
                }
                "misc_dynamic" => t.set("misc_dynamic", Value::Bool(true)),
                "user" => self
                    .refuse(c, "user: rvsd runs its scripts as its own user; remove the user line"),
                // MISC_CHECK has the generic options from alpha on, not the connection ones.
                "connect_timeout" => self.refuse(
                    c,
                    "connect_timeout in MISC_CHECK: a script's timeout is misc_timeout; rename it",
                ),
                "connect_ip" | "connect_port" | "bindto" | "bind_port" | "bind_if" | "fwmark" => {
                    self.refuse(
                        c,
                        format!(
                            "{} in MISC_CHECK: the script makes its own connections; remove it",
                            c.key()
                        ),
                    )
                }
                _ if self.generic(c, t) => {}
                _ => self.unknown(n, c),
            }
        }
    }

    fn smtp(&mut self, n: &Node, t: &mut Table) {
        let mut hosts = 0;
        for c in n.children() {
            match c.key() {
                "helo_name" => {
                    if let Some(v) = self.arg(c) {
                        t.set("helo_name", Value::Str(v));
                    }
                }
                "host" => {
                    hosts += 1;
                    if hosts > 1 {
                        self.refuse(c, "a second host in SMTP_CHECK: rvs checks one SMTP server per checker; declare each server as a real_server of its own");
                        continue;
                    }
                    for h in c.children() {
                        if !self.generic(h, t) {
                            self.unknown(c, h);
                        }
                    }
                }
                _ if self.generic(c, t) => {}
                _ => self.unknown(n, c),
            }
        }
    }

    fn file(&mut self, n: &Node, t: &mut Table) {
        let mut weight: Option<(i64, bool)> = None;
        let mut track: Option<String> = None;
        for c in n.children() {
            match c.key() {
                "track_file" => track = self.arg(c),
                "dynamic" => t.set("dynamic", Value::Bool(true)),
                "weight" => weight = self.weight(c),
                _ => self.unknown(n, c),
            }
        }
        let Some(name) = track else {
            self.refuse(n, "FILE_CHECK without track_file: name a track_file block");
            return;
        };
        let Some(tf) = self.track_files.get(name.as_str()).copied() else {
            self.refuse(n, format!("track_file {name} is not defined"));
            return;
        };
        let mut default_weight = (1, false);
        let mut path = None;
        for c in tf.children() {
            match c.key() {
                "file" => path = self.arg(c),
                "weight" => {
                    if let Some(w) = self.weight(c) {
                        default_weight = w;
                    }
                }
                "init_file" => self.refuse(c, "init_file: rvsd does not create the files it reads; create it (e.g. echo 0 > FILE) in your deployment and remove init_file"),
                other => self.refuse(c, format!("`{other}` is not a track_file keyword the importer knows")),
            }
        }
        let Some(path) = path else {
            self.refuse(tf, format!("track_file {name} has no file"));
            return;
        };
        let (w, reverse) = weight.unwrap_or(default_weight);
        t.set("file", Value::Str(path));
        t.set("weight", Value::Int(w));
        if reverse {
            t.set("reverse", Value::Bool(true));
        }
    }

    fn weight(&mut self, c: &Node) -> Option<(i64, bool)> {
        let (w, reverse) = match c.args() {
            [w] => (w, false),
            [w, r] if r == "reverse" => (w, true),
            _ => {
                self.refuse(c, "weight takes a number and an optional `reverse`");
                return None;
            }
        };
        match w.parse::<i64>() {
            Ok(v) if v.abs() <= 2_147_483_647 => Some((v, reverse)),
            _ => {
                self.refuse(
                    c,
                    format!("weight `{w}` is not a number from -2147483647 to 2147483647"),
                );
                None
            }
        }
    }
}

impl Conv<'_> {
    /// A `bfd_instance NAME { }` block as a `[[bfd_instance]]` table (rvs's keys are
    /// keepalived's; intervals stay milliseconds).
    pub(super) fn bfd_instance(&mut self, n: &Node) {
        let [name] = n.args() else { return };
        let mut t =
            Table { comment: Some(format!("from {}", self.src.place(n.at))), ..Table::default() };
        t.set("name", Value::Str(name.clone()));
        let before = self.refusals.len();
        for c in n.children() {
            match c.key() {
                "neighbor_ip" | "neighbour_ip" => {
                    if let Some(v) = self.arg(c) {
                        t.set("neighbor_ip", Value::Str(v));
                    }
                }
                "source_ip" => {
                    if let Some(v) = self.arg(c) {
                        t.set("source_ip", Value::Str(v));
                    }
                }
                "min_rx" | "min_tx" | "idle_tx" => {
                    // Milliseconds, fractions allowed: the same number as rvs's.
                    if let Some(v) = self.secs(c) {
                        t.set(c.key(), Value::Secs(v));
                    }
                }
                "multiplier" | "ttl" => {
                    if let Some(v) = self.int(c, 1, 255) {
                        t.set(c.key(), Value::Int(v));
                    }
                }
                "max_hops" => {
                    if let Some(v) = self.int(c, 0, 255) {
                        t.set("max_hops", Value::Int(v));
                    }
                }
                "passive" => {
                    if let Some(v) = self.boolean(c) {
                        t.set("passive", Value::Bool(v));
                    }
                }
                "hoplimit" => {
                    self.refuse(c, "hoplimit is for IPv6 neighbours: rvs runs BFD over IPv4 only")
                }
                "weight" | "vrrp" | "checker" => self.note(
                    c,
                    format!("bfd_instance {name} {}: keepalived's VRRP tracking of the session, not imported (rvs's BFD_CHECK always follows it)", c.key()),
                ),
                _ => self.unknown(n, c),
            }
        }
        if !t.has("neighbor_ip") {
            self.refuse(n, format!("bfd_instance {name} has no neighbor_ip"));
        }
        if self.refusals.len() == before {
            self.bfd.push(t);
        }
    }
}
