//! The health checks as the control plane sees them: their published state, and their changes.
//!
//! The control plane defines this narrow interface and the health checks (`crate::health`)
//! implement and use it, so the control plane depends on nothing of theirs: [`HealthRows`]
//! (the state `-L --health` lists and a reload respects), [`HealthChanges`] (how a check's
//! decision reaches the table: typed changes computed against the table in force and applied
//! all or nothing, under the lock rvsadm's requests take) and [`keep_health_state`] (what a
//! reload keeps of what the checks did). Must not touch: running checks, deciding up or down.

use super::control::{Control, Dataplane};
use super::table::ServiceTable;
use crate::ipvs::spec::{DestSpec, ServiceKey};
use crate::proto::change::Change;
use crate::proto::health::DestHealth;
use crate::proto::{Request, Response};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// The health checks' published state.
pub trait HealthRows: Send {
    /// A copy of every checked dest's row (and every sorry server's).
    fn rows(&self) -> Vec<DestHealth>;
}

/// The table as the health checks change it.
pub trait HealthChanges: Send + 'static {
    /// Applies the changes `changes` computes from the table in force, all or none (none
    /// computed: nothing to do); returns why not.
    fn apply_health(
        &mut self,
        changes: &mut dyn FnMut(&ServiceTable) -> Vec<Change>,
    ) -> Result<(), String>;
}

impl<D: Dataplane> HealthChanges for Arc<Mutex<Control<D>>> {
    fn apply_health(
        &mut self,
        changes: &mut dyn FnMut(&ServiceTable) -> Vec<Change>,
    ) -> Result<(), String> {
        let mut control = self.lock().unwrap_or_else(|p| p.into_inner());
        // Against the table as it is now, under the lock rvsadm's requests take too.
        let changes = changes(control.table());
        if changes.is_empty() {
            return Ok(());
        }
        match control.handle(Request::Restore(changes)) {
            Response::Ok(_) => Ok(()),
            Response::Error { message, .. } => Err(message),
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs::spec::Protocol;
    use crate::proto::health::CheckerHealth;
    use crate::rvsadm::cli::parse;
    use crate::rvsadm::names::NoNames;

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

    fn row(addr: &str, alive: bool, sorry: bool) -> DestHealth {
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
