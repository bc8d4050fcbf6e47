//! Config reload: the live changes that turn the running table into the one a config declares.
//!
//! Owns [`table_diff`] (the changes from one [`ServiceTable`] to another, pure),
//! [`ReloadSource`] (where the declared state comes from: the daemon gives the config file) and
//! `Control::reload`, which applies the diff as one change, exactly as a `-R` of those changes
//! would be: all or nothing, existing connections untouched (services and dests keep their
//! per-core slots; a removed dest's connections run until they expire), with what the health
//! checks did kept (`health_state`). Must not touch: the data plane, the socket, the config
//! file's format.

use std::net::IpAddr;

use super::control::{Control, Dataplane};
use super::health_state::keep_health_state;
use crate::ctrl::table::ServiceTable;
use crate::ipvs::spec::{LocalAddrSpec, ServiceKey, SnatRule, Timeouts};
use crate::proto::change::Change;
use crate::proto::{ErrorCode, Reply, Response};

fn laddrs_of(t: &ServiceTable, key: &ServiceKey) -> Vec<LocalAddrSpec> {
    t.local_addrs()
        .iter()
        .filter(|l| l.key == *key)
        .flat_map(|l| l.laddrs.iter().map(|a| a.spec.clone()))
        .collect()
}

/// The commands that turn `from` into `to` (services, dests and their settings, local
/// addresses, timeouts; counters are not configuration). Deletions come first, so a dest or
/// local address that moves does not collide with itself; services keep their place.
pub fn table_diff(from: &ServiceTable, to: &ServiceTable) -> Vec<Change> {
    let mut cmds = Vec::new();
    for s in from.services() {
        if !to.services().iter().any(|t| t.spec.key == s.spec.key) {
            cmds.push(Change::DeleteService(s.spec.key));
        }
    }
    for t in to.services() {
        let key = t.spec.key;
        let Some(s) = from.services().iter().find(|s| s.spec.key == key) else {
            cmds.push(Change::AddService(t.spec.clone()));
            for d in &t.dests {
                cmds.push(Change::AddDest { service: key, dest: d.spec.clone() });
            }
            for laddr in laddrs_of(to, &key) {
                cmds.push(Change::AddLocalAddr { service: key, laddr });
            }
            continue;
        };
        if s.spec != t.spec {
            cmds.push(Change::EditService(t.spec.clone()));
        }
        let same = |a: IpAddr, p: u16| {
            move |d: &&crate::proto::model::DestInfo| d.spec.addr == a && d.spec.port == p
        };
        for d in &s.dests {
            if !t.dests.iter().any(|x| same(d.spec.addr, d.spec.port)(&x)) {
                let (addr, port) = (d.spec.addr, d.spec.port);
                cmds.push(Change::DeleteDest { service: key, addr, port });
            }
        }
        for d in &t.dests {
            match s.dests.iter().find(same(d.spec.addr, d.spec.port)) {
                None => cmds.push(Change::AddDest { service: key, dest: d.spec.clone() }),
                Some(old) if old.spec != d.spec => {
                    cmds.push(Change::EditDest { service: key, dest: d.spec.clone() })
                }
                Some(_) => {}
            }
        }
        let (old, new) = (laddrs_of(from, &key), laddrs_of(to, &key));
        for l in old.iter().filter(|l| !new.contains(l)) {
            cmds.push(Change::DelLocalAddr { service: key, laddr: l.clone() });
        }
        for l in new.iter().filter(|l| !old.contains(l)) {
            cmds.push(Change::AddLocalAddr { service: key, laddr: l.clone() });
        }
    }
    if from.timeouts() != to.timeouts() {
        // `--set` keeps a timeout given as 0; a table's timeouts are never 0.
        let t = to.timeouts();
        cmds.push(Change::SetTimeouts(Timeouts { tcp: t.tcp, tcpfin: t.tcpfin, udp: t.udp }));
    }
    cmds
}

/// Where a reload gets the declared state (rvsd: the config file, read again and checked
/// against the running config; see `config::Reloader`).
pub trait ReloadSource: Send {
    /// The new declared state: the services, dests, local addresses and timeouts, and the SNAT
    /// rules. Fails, naming the problem, when it cannot be applied live.
    fn load(&self) -> Result<(ServiceTable, Vec<SnatRule>), String>;
    /// Connection sync: the `[sync]` block of the config the last successful [`load`] read
    /// (`Some(None)`: the file has none); `None` when this source declares no sync daemons.
    ///
    /// [`load`]: ReloadSource::load
    fn sync(&self) -> Option<Option<crate::sync::settings::SyncConfig>> {
        None
    }
}

impl<D: Dataplane> Control<D> {
    /// Where [`crate::proto::Request::Reload`] and SIGHUP read the declared state from.
    pub fn set_reloader(&mut self, r: impl ReloadSource + 'static) {
        self.reloader = Some(Box::new(r));
    }

    /// Reads the config again and applies the difference as one live change (see
    /// `ctrl::reload`); a config that does not validate or needs a restart changes nothing.
    /// The outcome is logged, whoever asked (the RPC or SIGHUP).
    pub fn reload(&mut self) -> Response {
        let Some(r) = &self.reloader else {
            return Response::error(
                ErrorCode::BadRequest,
                "this rvsd has no config file to reload (it was started without -c)",
            );
        };
        let (mut table, snat) = match r.load() {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!("reload refused: {e}");
                return Response::error(ErrorCode::BadConfig, e);
            }
        };
        if let Some(health) = &self.health {
            keep_health_state(&self.table, &mut table, &health.rows());
        }
        let cmds = table_diff(&self.table, &table);
        let mut changes = cmds.len() + usize::from(snat != self.table.snat_rules());
        let sync = r.sync();
        match self.change_with(&cmds, Some(snat)) {
            Response::Ok(_) => {
                if let (Some(s), Some(declared)) = (&self.sync, sync) {
                    let applied =
                        s.lock().unwrap_or_else(|p| p.into_inner()).apply_config(declared.as_ref());
                    match applied {
                        Ok(changed) => changes += usize::from(changed),
                        Err(e) => {
                            let m = format!(
                                "config reloaded ({changes} change(s) applied), but [sync] was not: {e}"
                            );
                            tracing::warn!("{m}");
                            return Response::error(ErrorCode::BadConfig, m);
                        }
                    }
                }
                tracing::info!("config reloaded: {changes} change(s) applied");
                Response::Ok(Reply::Reloaded { changes })
            }
            Response::Error { code, message } => {
                tracing::warn!("reload failed, nothing changed: {message}");
                Response::Error { code, message }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rvsadm::cli::parse;
    use crate::rvsadm::names::NoNames;
    use proptest::prelude::*;

    fn cmd(line: &str) -> Change {
        let argv: Vec<&str> = line.split_whitespace().collect();
        parse(&argv, &NoNames)
            .unwrap_or_else(|e| panic!("{line}: {e}"))
            .into_change()
            .expect("a change")
    }

    fn table(lines: &[String]) -> ServiceTable {
        let mut t = ServiceTable::new();
        for l in lines {
            // Generated tables may repeat a service or dest: the second one is refused.
            let _ = t.apply(&cmd(l));
        }
        t
    }

    /// A table's content independent of insertion order.
    fn canonical(t: &ServiceTable) -> (Vec<String>, Timeouts) {
        let mut v: Vec<String> = Vec::new();
        for s in t.services() {
            v.push(format!("{:?}", s.spec));
            for d in &s.dests {
                v.push(format!("{:?} {:?}", s.spec.key, d.spec));
            }
        }
        for l in t.local_addrs() {
            for a in &l.laddrs {
                v.push(format!("{:?} {:?}", l.key, a.spec));
            }
        }
        v.sort();
        (v, t.timeouts())
    }

    fn apply(from: &ServiceTable, cmds: &[Change]) -> ServiceTable {
        let mut t = from.clone();
        for c in cmds {
            t.apply(c).unwrap_or_else(|e| panic!("{c:?}: {e}"));
        }
        t
    }

    #[test]
    fn diff_of_a_hand_made_pair() {
        let a = table(&[
            "rvsadm -A -t 10.0.0.1:80 -s rr".into(),
            "rvsadm -a -t 10.0.0.1:80 -r 10.0.0.2 -g -w 1".into(),
            "rvsadm -a -t 10.0.0.1:80 -r 10.0.0.3 -g -w 1".into(),
            "rvsadm -A -u 10.0.0.1:53".into(),
        ]);
        let b = table(&[
            "rvsadm -A -t 10.0.0.1:80 -s wrr".into(),
            "rvsadm -a -t 10.0.0.1:80 -r 10.0.0.2 -g -w 5".into(),
            "rvsadm -a -t 10.0.0.1:80 -r 10.0.0.4 -g -w 1".into(),
            "rvsadm -P -t 10.0.0.1:80 -z 10.0.0.250".into(),
            "rvsadm --set 60 0 0".into(),
        ]);
        let want = vec![
            cmd("rvsadm -D -u 10.0.0.1:53"),
            cmd("rvsadm -E -t 10.0.0.1:80 -s wrr"),
            cmd("rvsadm -d -t 10.0.0.1:80 -r 10.0.0.3"),
            cmd("rvsadm -e -t 10.0.0.1:80 -r 10.0.0.2 -g -w 5"),
            cmd("rvsadm -a -t 10.0.0.1:80 -r 10.0.0.4 -g -w 1"),
            cmd("rvsadm -P -t 10.0.0.1:80 -z 10.0.0.250"),
            cmd("rvsadm --set 60 120 300"),
        ];
        assert_eq!(table_diff(&a, &b), want);
        assert_eq!(apply(&a, &want), b);
        assert!(table_diff(&b, &b).is_empty());
    }

    fn line() -> impl Strategy<Value = String> {
        let vip = 1u8..4;
        let port = prop::sample::select(vec![80u16, 443]);
        let rs = 2u8..6;
        let sched = prop::sample::select(vec!["rr", "wrr", "wlc", "sh"]);
        let fwd = prop::sample::select(vec!["-g", "-m", "-i", "-b"]);
        prop_oneof![
            (vip.clone(), port.clone(), sched, any::<bool>()).prop_map(|(v, p, s, pers)| {
                format!("rvsadm -A -t 10.0.0.{v}:{p} -s {s}{}", if pers { " -p 60" } else { "" })
            }),
            (vip.clone(), port.clone(), rs, fwd, 0u32..5).prop_map(|(v, p, r, f, w)| {
                format!("rvsadm -a -t 10.0.0.{v}:{p} -r 10.0.1.{r}:{p} {f} -w {w}")
            }),
            (vip.clone(), port.clone(), 250u8..253)
                .prop_map(|(v, p, l)| format!("rvsadm -P -t 10.0.0.{v}:{p} -z 10.0.2.{l}")),
            (vip, 53u16..54).prop_map(|(v, p)| format!("rvsadm -A -u 10.0.0.{v}:{p} -s rr")),
            (1u32..1000, 1u32..100, 1u32..500)
                .prop_map(|(a, b, c)| format!("rvsadm --set {a} {b} {c}")),
        ]
    }

    proptest! {
        #[test]
        fn applying_the_diff_of_a_and_b_to_a_gives_b(
            a in prop::collection::vec(line(), 0..24),
            b in prop::collection::vec(line(), 0..24),
        ) {
            let (a, b) = (table(&a), table(&b));
            let cmds = table_diff(&a, &b);
            let got = apply(&a, &cmds);
            prop_assert_eq!(canonical(&got), canonical(&b));
            // And nothing left to do once there.
            prop_assert!(table_diff(&got, &b).is_empty());
        }
    }
}
