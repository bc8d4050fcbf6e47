//! From the engine's [`Action`]s to the rvsadm commands that carry them out on the table in
//! force.
//!
//! Owns the translation only, against the table as it is now (operators may have changed it):
//! `Set` becomes `-a` when the dest is missing, `-e` when it is there with another weight (its
//! other settings, as the table holds them, are kept), nothing when it already runs that
//! weight; `Remove` becomes `-d` when the dest is there. A service that is gone (`rvsadm -D`,
//! `-C`) gets no command: health checks never re-create a service. Must not touch: the table
//! (the control plane applies the commands, exactly as it applies rvsadm's).

use super::engine::Action;
use crate::ctrl::table::ServiceTable;
use crate::proto::change::Change;
use crate::proto::health::DestHealth;
use crate::proto::model::{DestSpec, ServiceKey};
use std::net::IpAddr;

fn dest_in<'t>(
    t: &'t ServiceTable,
    svc: &ServiceKey,
    addr: IpAddr,
    port: u16,
) -> Option<&'t DestSpec> {
    t.services()
        .iter()
        .find(|s| s.spec.key == *svc)?
        .dests
        .iter()
        .find(|d| d.spec.addr == addr && d.spec.port == port)
        .map(|d| &d.spec)
}

/// A config reload's table (`file`) with what the health checks did to the running table kept:
/// a dest the checks hold down stays out (or at weight 0, `inhibit_on_failure`) and a sorry
/// server in use stays in, exactly as they are in `running`. Without this the reload would put
/// a failed dest back into scheduling (and take the sorry server out) until the checks' next
/// change of state. Dests that are up take the file's settings. Services the file does not have
/// are left alone (the reload removes them).
pub fn keep_health_state(running: &ServiceTable, file: &mut ServiceTable, rows: &[DestHealth]) {
    for row in rows.iter().filter(|r| r.sorry || (!r.alive && !r.checkers.is_empty())) {
        let svc = row.service;
        if !file.services().iter().any(|s| s.spec.key == svc) {
            continue;
        }
        let now = dest_in(running, &svc, row.addr, row.port).cloned();
        let cmd = match (now, dest_in(file, &svc, row.addr, row.port)) {
            (None, Some(_)) => Change::DeleteDest { service: svc, addr: row.addr, port: row.port },
            (Some(d), None) => Change::AddDest { service: svc, dest: d },
            (Some(d), Some(f)) if d.weight != f.weight => {
                let mut spec = f.clone();
                spec.weight = d.weight;
                Change::EditDest { service: svc, dest: spec }
            }
            _ => continue,
        };
        // Best effort: a command the file's table refuses leaves the file's view.
        let _ = file.apply(&cmd);
    }
}

/// The command that carries out `action` on `table`, if one is needed.
pub fn command_for(table: &ServiceTable, action: &Action) -> Option<Change> {
    match action {
        Action::Set { service, dest } => {
            let svc = table.services().iter().find(|s| s.spec.key == *service)?;
            match svc.dests.iter().find(|d| d.spec.addr == dest.addr && d.spec.port == dest.port) {
                None => Some(Change::AddDest { service: *service, dest: dest.clone() }),
                Some(d) if d.spec.weight != dest.weight => {
                    let mut spec = d.spec.clone();
                    spec.weight = dest.weight;
                    Some(Change::EditDest { service: *service, dest: spec })
                }
                Some(_) => None,
            }
        }
        Action::Remove { service, addr, port } => {
            let svc = table.services().iter().find(|s| s.spec.key == *service)?;
            svc.dests
                .iter()
                .any(|d| d.spec.addr == *addr && d.spec.port == *port)
                .then_some(Change::DeleteDest { service: *service, addr: *addr, port: *port })
        }
        Action::Run { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::model::{DestSpec, FwdMethod, Protocol, ServiceKey};
    use crate::rvsadm::cli::parse;
    use crate::rvsadm::names::NoNames;
    use std::net::IpAddr;

    fn table(lines: &[&str]) -> ServiceTable {
        let mut t = ServiceTable::new();
        for l in lines {
            let argv: Vec<&str> = l.split_whitespace().collect();
            t.apply(&parse(&argv, &NoNames).unwrap().into_change().expect("a change")).unwrap();
        }
        t
    }
    fn key() -> ServiceKey {
        ServiceKey { proto: Protocol::Tcp, addr: "10.0.0.100".parse().unwrap(), port: 80 }
    }
    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn set_adds_edits_or_does_nothing() {
        let t = table(&[
            "rvsadm -A -t 10.0.0.100:80 -s wrr",
            "rvsadm -a -t 10.0.0.100:80 -r 10.0.0.1:80 -m -w 3 -x 100",
        ]);
        let add = Action::Set { service: key(), dest: DestSpec::new(ip("10.0.0.2"), 80) };
        assert_eq!(
            command_for(&t, &add),
            Some(Change::AddDest { service: key(), dest: DestSpec::new(ip("10.0.0.2"), 80) })
        );
        // The operator's settings (NAT, -x 100) stay; only the weight changes.
        let zero = Action::Set {
            service: key(),
            dest: DestSpec { weight: 0, ..DestSpec::new(ip("10.0.0.1"), 80) },
        };
        let Some(Change::EditDest { dest, .. }) = command_for(&t, &zero) else { panic!() };
        assert_eq!((dest.weight, dest.fwd, dest.upper), (0, FwdMethod::Masq, 100));
        let same = Action::Set {
            service: key(),
            dest: DestSpec { weight: 3, ..DestSpec::new(ip("10.0.0.1"), 80) },
        };
        assert_eq!(command_for(&t, &same), None);
    }

    #[test]
    fn remove_deletes_only_what_is_there_and_gone_services_are_left_alone() {
        let t = table(&["rvsadm -A -t 10.0.0.100:80", "rvsadm -a -t 10.0.0.100:80 -r 10.0.0.1:80"]);
        let rm = |a: &str| Action::Remove { service: key(), addr: ip(a), port: 80 };
        assert_eq!(
            command_for(&t, &rm("10.0.0.1")),
            Some(Change::DeleteDest { service: key(), addr: ip("10.0.0.1"), port: 80 })
        );
        assert_eq!(command_for(&t, &rm("10.0.0.2")), None);
        let empty = ServiceTable::new();
        assert_eq!(command_for(&empty, &rm("10.0.0.1")), None);
        let add = Action::Set { service: key(), dest: DestSpec::new(ip("10.0.0.2"), 80) };
        assert_eq!(command_for(&empty, &add), None);
        let run = Action::Run { script: "true".into(), env: vec![] };
        assert_eq!(command_for(&t, &run), None);
    }

    fn row(addr: &str, alive: bool, sorry: bool) -> DestHealth {
        use crate::proto::health::CheckerHealth;
        DestHealth {
            service: key(),
            addr: ip(addr),
            port: 80,
            alive,
            weight: 1,
            quorum_up: !sorry,
            sorry,
            checkers: if sorry { vec![] } else { vec![CheckerHealth::new("TCP_CHECK", alive)] },
        }
    }

    fn weights(t: &ServiceTable) -> Vec<(IpAddr, u32)> {
        let s = t.services().iter().find(|s| s.spec.key == key()).unwrap();
        let mut v: Vec<(IpAddr, u32)> =
            s.dests.iter().map(|d| (d.spec.addr, d.spec.weight)).collect();
        v.sort();
        v
    }

    #[test]
    fn a_reload_keeps_what_the_checks_did_and_takes_the_rest_from_the_file() {
        // Running: .1 removed by its check, .2 inhibited (weight 0), .3 up, sorry .9 in use.
        let running = table(&[
            "rvsadm -A -t 10.0.0.100:80 -s rr",
            "rvsadm -a -t 10.0.0.100:80 -r 10.0.0.2:80 -w 0",
            "rvsadm -a -t 10.0.0.100:80 -r 10.0.0.3:80 -w 1",
            "rvsadm -a -t 10.0.0.100:80 -r 10.0.0.9:80 -w 1",
        ]);
        // The file: every real server, .3 with a new weight, no sorry server.
        let mut file = table(&[
            "rvsadm -A -t 10.0.0.100:80 -s rr",
            "rvsadm -a -t 10.0.0.100:80 -r 10.0.0.1:80 -w 1",
            "rvsadm -a -t 10.0.0.100:80 -r 10.0.0.2:80 -w 1",
            "rvsadm -a -t 10.0.0.100:80 -r 10.0.0.3:80 -w 5",
        ]);
        let rows = [
            row("10.0.0.1", false, false),
            row("10.0.0.2", false, false),
            row("10.0.0.3", true, false),
            row("10.0.0.9", false, true),
        ];
        keep_health_state(&running, &mut file, &rows);
        assert_eq!(
            weights(&file),
            vec![(ip("10.0.0.2"), 0), (ip("10.0.0.3"), 5), (ip("10.0.0.9"), 1)],
            "down .1 stays out, inhibited .2 stays at 0, up .3 takes the file's weight, the sorry \
             server stays in"
        );
    }

    #[test]
    fn a_service_the_file_drops_is_not_kept_for_its_checks() {
        let running = table(&[
            "rvsadm -A -t 10.0.0.100:80 -s rr",
            "rvsadm -a -t 10.0.0.100:80 -r 10.0.0.9:80 -w 1",
        ]);
        let mut file = ServiceTable::new();
        keep_health_state(&running, &mut file, &[row("10.0.0.9", false, true)]);
        assert!(file.services().is_empty());
    }
}
