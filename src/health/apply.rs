//! From the engine's [`Action`]s to the rvsadm commands that carry them out on the table in
//! force.
//!
//! Owns the translation only, against the table as it is now (operators may have changed it):
//! `Set` becomes `-a` when the dest is missing, `-e` when it is there with another weight (its
//! other settings, as the table holds them, are kept), nothing when it already runs that
//! weight; `Remove` becomes `-d` when the dest is there. A service that is gone (`rvsadm -D`,
//! `-C`) gets no command: health checks never re-create a service. Must not touch: the table
//! (the control plane applies the changes, exactly as it applies rvsadm's).

use super::engine::Action;
use crate::ctrl::table::ServiceTable;
use crate::proto::change::Change;

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
    use crate::ipvs::spec::{DestSpec, FwdMethod, Protocol, ServiceKey};
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
}
