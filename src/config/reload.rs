//! What a config reload may change, and the name of what it may not.
//!
//! Owns [`Reloader`] (the control plane's reload source: the file read again) and
//! [`Config::restart_needed`]: comparing the running config with a newly read one, every
//! section except the services' (`[[service]]`, `[[snat]]`, `[timeouts]`) must be equal, since
//! the daemon built its EAL, ports, queues, workers, addresses, routes, neighbours, sockets and
//! exporter from them at start. A difference is named down to the field (`port[0].rx_queues`),
//! so the operator knows what to put back or that a restart is due. Must not touch: the live
//! table (the control plane diffs the services, see `ctrl::reload`).

use std::fmt::Debug;

use super::Config;
use crate::ctrl::reload::ReloadSource;
use crate::ctrl::table::ServiceTable;
use crate::ipvs::spec::SnatRule;

/// Top-level `name: value` pairs of a struct's `Debug` output (`Name { a: 1, b: [2, 3] }`).
fn debug_fields(text: &str) -> Vec<(String, String)> {
    let Some(open) = text.find('{') else { return Vec::new() };
    let body = text.get(open + 1..).unwrap_or("");
    let body = body.strip_suffix('}').unwrap_or(body);
    let (mut out, mut cur, mut depth, mut in_str, mut esc) =
        (Vec::new(), String::new(), 0i32, false, false);
    for ch in body.chars() {
        if in_str {
            cur.push(ch);
            match (esc, ch) {
                (true, _) => esc = false,
                (false, '\\') => esc = true,
                (false, '"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match ch {
            '"' => in_str = true,
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(ch);
    }
    out.push(cur);
    out.iter()
        .filter_map(|f| {
            let (k, v) = f.split_once(':')?;
            Some((k.trim().to_string(), v.trim().to_string()))
        })
        .collect()
}

/// `key` or `key.field` for the first field where `a` and `b` differ, `None` if equal.
fn differs<T: Debug + PartialEq>(key: &str, a: &T, b: &T) -> Option<String> {
    if a == b {
        return None;
    }
    let (fa, fb) = (debug_fields(&format!("{a:?}")), debug_fields(&format!("{b:?}")));
    let field = fa.iter().zip(&fb).find(|(x, y)| x != y).map(|(x, _)| x.0.clone());
    Some(match field {
        Some(f) => format!("{key}.{f}"),
        None => key.to_string(),
    })
}

fn differs_list<T: Debug + PartialEq>(key: &str, a: &[T], b: &[T]) -> Option<String> {
    if a.len() != b.len() {
        return Some(format!("{key} (now {} entries, {} running)", b.len(), a.len()));
    }
    a.iter().zip(b).enumerate().find_map(|(i, (x, y))| differs(&format!("{key}[{i}]"), x, y))
}

impl Config {
    /// The settings of `new` that differ from this (running) config and that only a restart
    /// applies, each named as the file names it (`eal.vdevs`, `port[0].rx_queues`, `addr`).
    /// Empty when a reload can apply `new`.
    pub fn restart_needed(&self, new: &Config) -> Vec<String> {
        [
            differs("eal", &self.eal, &new.eal),
            differs_list("port", &self.ports, &new.ports),
            differs_list("addr", &self.addrs, &new.addrs),
            differs_list("route", &self.routes, &new.routes),
            differs_list("neigh.static", &self.neighs, &new.neighs),
            differs_list("worker", &self.workers, &new.workers),
            differs("dataplane", &self.dataplane, &new.dataplane),
            differs("neigh", &self.neigh, &new.neigh),
            differs("ctrl", &self.ctrl, &new.ctrl),
            differs("metrics", &self.metrics, &new.metrics),
            differs("guard", &self.guard, &new.guard),
            differs("arp_limit/exception_classes", &self.exc_guard, &new.exc_guard),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

/// Where rvsd's reloads get their declared state: the config file read again, checked, and
/// compared with the running config (a setting only a restart applies refuses the reload).
pub struct Reloader {
    source: Box<dyn Fn() -> Result<Config, String> + Send>,
    running: Config,
    /// `[sync]` of the config the last load read (connection sync).
    sync: std::sync::Mutex<Option<Option<super::sync::SyncConfig>>>,
}

impl Reloader {
    /// Reloads from `source` (the config file, read again each time); `running` is the config
    /// the daemon started with.
    pub fn new(
        running: Config,
        source: impl Fn() -> Result<Config, String> + Send + 'static,
    ) -> Self {
        Reloader { source: Box::new(source), running, sync: std::sync::Mutex::new(None) }
    }

    /// Reloads from the file at `path`.
    pub fn from_file(running: Config, path: std::path::PathBuf) -> Self {
        Reloader::new(running, move || Config::load(&path).map_err(|e| e.to_string()))
    }
}

impl ReloadSource for Reloader {
    fn load(&self) -> Result<(ServiceTable, Vec<SnatRule>), String> {
        let new = (self.source)()?;
        let fixed = self.running.restart_needed(&new);
        if !fixed.is_empty() {
            return Err(format!(
                "the config changes {} which only a restart of rvsd applies (a reload applies \
                 services, dests, local addresses, timeouts and SNAT rules); nothing was changed",
                fixed.join(", ")
            ));
        }
        *self.sync.lock().unwrap_or_else(|p| p.into_inner()) = Some(new.sync().cloned());
        Ok((new.services().clone(), new.snat_rules().to_vec()))
    }

    fn sync(&self) -> Option<Option<super::sync::SyncConfig>> {
        self.sync.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ctrl::control::tests::FakeDp;
    use crate::ctrl::control::Control;
    use crate::ipvs::service::BuildOptions;
    use crate::proto::change::Change;
    use crate::proto::{ErrorCode, Reply, Request, Response};
    use std::net::IpAddr;
    use std::sync::{Arc, Mutex};

    use crate::config::test_fixtures::NULL_DIRECTOR as BASE;

    fn cfg(extra: &str, edit: impl Fn(String) -> String) -> Config {
        Config::from_toml_str(&edit(format!("{BASE}{extra}"))).expect("valid")
    }

    #[test]
    fn services_snat_and_timeouts_need_no_restart() {
        let a = cfg("", |s| s);
        let b = cfg(
            "[timeouts]\ntcp = 60\n[[service]]\nproto = \"tcp\"\nvip = \"192.0.2.100:80\"\n",
            |s| s,
        );
        assert!(a.restart_needed(&b).is_empty());
        assert_ne!(a.services(), b.services());
    }

    #[test]
    fn other_sections_are_named_down_to_the_field() {
        let a = cfg("", |s| s);
        let cases: [(&str, &str, &str); 5] = [
            ("rx_queues = 1", "rx_queues = 1\nrx_desc = 512", "port[0].rx_desc"),
            ("file_prefix = \"rvs-reload\"", "file_prefix = \"other\"", "eal.file_prefix"),
            ("cpu = 0", "cpu = 1", "worker[0].cpu"),
            ("ip = \"192.0.2.100/32\"", "ip = \"192.0.2.101/32\"", "addr[1].ip"),
            ("[[worker]]", "[metrics]\nlisten = \"127.0.0.1:9100\"\n[[worker]]", "metrics.listen"),
        ];
        for (from, to, want) in cases {
            let b = cfg("", |s| s.replacen(from, to, 1));
            assert_eq!(a.restart_needed(&b), vec![want.to_string()], "{to}");
        }
        let more =
            cfg("[[addr]]\nport = \"p0\"\nip = \"192.0.2.200/32\"\nkind = \"local\"\n", |s| s);
        assert_eq!(a.restart_needed(&more), vec!["addr (now 3 entries, 2 running)".to_string()]);
    }

    #[test]
    fn debug_fields_split_at_top_level_only() {
        let f = debug_fields(r#"X { a: 1, b: [2, 3], c: Some(Y { d: "x, y" }), e: "q\"," }"#);
        let names: Vec<&str> = f.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["a", "b", "c", "e"]);
        assert_eq!(f[1].1, "[2, 3]");
        assert_eq!(f[2].1, r#"Some(Y { d: "x, y" })"#);
    }

    /// The shared `net_null` director with one TCP service of one real server.
    static CFG: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "{}{}",
            crate::config::test_fixtures::NULL_DIRECTOR,
            r#"
[[service]]
proto = "tcp"
vip = "192.0.2.100:80"
scheduler = "rr"

[[service.dest]]
addr = "192.0.2.12:80"
"#
        )
    });

    #[test]
    fn reload_applies_the_difference_or_nothing() {
        use crate::config::Config;
        let running = Config::from_toml_str(&CFG).unwrap();
        let dp = FakeDp::default();
        let pushed = dp.pushed.clone();
        let mut c =
            Control::new(running.services().clone(), Vec::new(), BuildOptions::default(), dp);
        assert!(matches!(
            c.handle(Request::Reload),
            Response::Error { code: ErrorCode::BadRequest, .. }
        ));
        let text = Arc::new(Mutex::new(CFG.clone()));
        let t = text.clone();
        c.set_reloader(Reloader::new(running, move || {
            Config::from_toml_str(&t.lock().unwrap()).map_err(|e| e.to_string())
        }));
        // Nothing changed: nothing pushed.
        assert_eq!(c.handle(Request::Reload), Response::Ok(Reply::Reloaded { changes: 0 }));
        assert!(pushed.lock().unwrap().is_empty());
        // A dest added, the scheduler changed, a second service: three changes, one push.
        *text.lock().unwrap() = CFG.replace("scheduler = \"rr\"", "scheduler = \"wrr\"")
            + "\n[[service.dest]]\naddr = \"192.0.2.13:80\"\nweight = 3\n\n[[service]]\nproto = \"udp\"\nvip = \"192.0.2.100:53\"\n";
        assert_eq!(c.handle(Request::Reload), Response::Ok(Reply::Reloaded { changes: 3 }));
        assert_eq!(*pushed.lock().unwrap(), vec![2]);
        let s = &c.table().services()[0];
        assert_eq!((s.spec.scheduler.as_str(), s.dests.len()), ("wrr", 2));
        let before = c.table().clone();
        // Invalid: refused whole, with the config's reason.
        *text.lock().unwrap() = CFG.replace("scheduler = \"rr\"", "scheduler = \"fancy\"");
        let Response::Error { code, message } = c.handle(Request::Reload) else { panic!() };
        assert_eq!(code, ErrorCode::BadConfig);
        assert!(message.contains("service[0]"), "{message}");
        // A setting only a restart applies: named, refused whole.
        *text.lock().unwrap() = CFG.replace("rx_queues = 1", "rx_queues = 1\nrx_desc = 512");
        let Response::Error { code, message } = c.handle(Request::Reload) else { panic!() };
        assert_eq!(code, ErrorCode::BadConfig);
        assert!(message.contains("port[0].rx_desc") && message.contains("restart"), "{message}");
        assert_eq!((c.table(), pushed.lock().unwrap().len()), (&before, 1));
        // Back to the first config: the extra dest and service go.
        *text.lock().unwrap() = CFG.clone();
        assert_eq!(c.handle(Request::Reload), Response::Ok(Reply::Reloaded { changes: 3 }));
        assert_eq!(*pushed.lock().unwrap(), vec![2, 1]);
    }

    #[test]
    fn reload_leaves_a_dest_the_health_checks_removed_out() {
        use crate::config::Config;
        use crate::health::board::Board;
        use crate::proto::health::{CheckerHealth, DestHealth};
        let running = Config::from_toml_str(&CFG).unwrap();
        let board = Board::new();
        let mut c = Control::new(
            running.services().clone(),
            Vec::new(),
            BuildOptions::default(),
            FakeDp::default(),
        )
        .with_health(board.clone());
        c.set_reloader(Reloader::new(running, || {
            Config::from_toml_str(&CFG).map_err(|e| e.to_string())
        }));
        // The check took 192.0.2.12:80 out.
        let key = c.table().services()[0].spec.key;
        let rs: IpAddr = "192.0.2.12".parse().unwrap();
        let del = Change::DeleteDest { service: key, addr: rs, port: 80 };
        assert_eq!(c.handle(Request::Apply(del)), Response::Ok(Reply::Done));
        board.set(vec![DestHealth {
            service: key,
            addr: rs,
            port: 80,
            alive: false,
            weight: 1,
            quorum_up: true,
            sorry: false,
            checkers: vec![CheckerHealth::new("TCP_CHECK", false)],
        }]);
        assert_eq!(c.handle(Request::Reload), Response::Ok(Reply::Reloaded { changes: 0 }));
        assert!(c.table().services()[0].dests.is_empty(), "still down: not put back");
        // Up again: a reload puts it back as the file says.
        board.update(|rows| rows[0].alive = true);
        assert_eq!(c.handle(Request::Reload), Response::Ok(Reply::Reloaded { changes: 1 }));
        assert_eq!(c.table().services()[0].dests.len(), 1);
    }
}
