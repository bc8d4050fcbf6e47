//! `rvsadm -L [-n] --health`: the plain listing with a `Health` column per real server.
//!
//! Owns this rvs-only layout. It is the default `-L` layout plus the column (title and dest
//! lines), followed on the same service by the checked dests the table does not hold now
//! (removed by their checks) and the sorry server, with `-` in the counter columns. The default
//! layouts are untouched: without `--health` nothing here runs. Data: the service listing and
//! the health rows (`ListRequest::Health`).

use super::cli::ListFormat;
use super::format::{dest_name, ordered, service_entry, IPVS_VERSION};
use super::names::Names;
use rvs_core::ipvs::spec::DestSpec;
use rvs_proto::health::DestHealth;
use rvs_proto::model::{DestInfo, ServiceInfo};
use std::fmt::Write;

/// Title lines of the layout.
pub const TITLE: &str = "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn  Health\n";

/// The `Health` text of a row: the state, and for a down dest the first failing checker's
/// reason.
pub fn health_text(r: &DestHealth) -> String {
    let state = r.state();
    if state != "DOWN" {
        return state.to_string();
    }
    match r.checkers.iter().find(|c| !c.up) {
        Some(c) => match &c.last_error {
            Some(e) => format!("DOWN ({}: {e})", c.kind),
            None => format!("DOWN ({})", c.kind),
        },
        None => state.to_string(),
    }
}

fn services_block(
    out: &mut String,
    s: &ServiceInfo,
    rows: &[DestHealth],
    fmt: &ListFormat,
    names: &dyn Names,
) {
    let key = &s.spec.key;
    let head = ServiceInfo { dests: Vec::new(), ..s.clone() };
    service_entry(out, &head, fmt, names);
    let mine: Vec<&DestHealth> = rows.iter().filter(|r| r.service == *key).collect();
    for d in &s.dests {
        let dn = dest_name(key, d, fmt.numeric, names);
        let row = mine.iter().find(|r| r.addr == d.spec.addr && r.port == d.spec.port);
        let h = row.map_or_else(|| "-".to_string(), |r| health_text(r));
        let _ = writeln!(
            out,
            "  -> {dn:<28} {:<7} {:<6} {:<10} {:<10} {h}",
            d.spec.fwd.name(),
            d.spec.weight,
            d.active,
            d.inactive
        );
    }
    for r in mine {
        if s.dests.iter().any(|d| d.spec.addr == r.addr && d.spec.port == r.port) {
            continue;
        }
        let ghost = DestInfo::new(DestSpec::new(r.addr, r.port));
        let dn = dest_name(key, &ghost, fmt.numeric, names);
        let _ = writeln!(
            out,
            "  -> {dn:<28} {:<7} {:<6} {:<10} {:<10} {}",
            "-",
            "-",
            "-",
            "-",
            health_text(r)
        );
    }
}

/// `-L --health` of the whole table.
pub fn list_all(
    size: u32,
    services: &[ServiceInfo],
    rows: &[DestHealth],
    fmt: &ListFormat,
    names: &dyn Names,
) -> String {
    let mut out = format!("IP Virtual Server version {IPVS_VERSION} (size={size})\n");
    out.push_str(TITLE);
    for s in ordered(services, fmt.nosort) {
        services_block(&mut out, &s, rows, fmt, names);
    }
    out
}

/// `-L -t|-u service --health`.
pub fn list_service(
    s: &ServiceInfo,
    rows: &[DestHealth],
    fmt: &ListFormat,
    names: &dyn Names,
) -> String {
    let mut out = TITLE.to_string();
    let mut v = ordered(std::slice::from_ref(s), fmt.nosort);
    if let Some(s) = v.pop() {
        services_block(&mut out, &s, rows, fmt, names);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rvsadm::format;
    use crate::rvsadm::names::NoNames;
    use rvs_core::ipvs::spec::{Protocol, ServiceKey, ServiceSpec};
    use rvs_proto::health::CheckerHealth;

    fn key() -> ServiceKey {
        ServiceKey { proto: Protocol::Tcp, addr: "10.0.0.100".parse().unwrap(), port: 80 }
    }
    fn svc() -> ServiceInfo {
        let mut s = ServiceInfo::new(ServiceSpec::new(key()));
        s.spec.scheduler = "rr".parse().unwrap();
        s.dests.push(DestInfo::new(DestSpec::new("10.0.0.1".parse().unwrap(), 80)));
        s.dests[0].active = 2;
        s
    }
    fn row(last: u8, alive: bool, sorry: bool) -> DestHealth {
        let mut c = CheckerHealth::new("HTTP_GET", alive);
        if !alive {
            c.record(std::time::Duration::from_millis(1), Some("GET /: status 503".into()));
        }
        DestHealth {
            service: key(),
            addr: format!("10.0.0.{last}").parse().unwrap(),
            port: 80,
            alive,
            weight: 1,
            quorum_up: true,
            sorry,
            checkers: if sorry { vec![] } else { vec![c] },
        }
    }

    #[test]
    fn health_column_and_removed_dests() {
        let fmt = ListFormat { numeric: true, health: true, ..ListFormat::default() };
        let rows = vec![row(1, true, false), row(2, false, false), row(9, true, true)];
        let text = list_all(4096, &[svc()], &rows, &fmt, &NoNames);
        let want = concat!(
            "IP Virtual Server version 1.2.1 (size=4096)\n",
            "Prot LocalAddress:Port Scheduler Flags\n",
            "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn  Health\n",
            "TCP  10.0.0.100:80 rr\n",
            "  -> 10.0.0.1:80                  Route   1      2          0          UP\n",
            "  -> 10.0.0.2:80                  -       -      -          -          DOWN (HTTP_GET: GET /: status 503)\n",
            "  -> 10.0.0.9:80                  -       -      -          -          standby\n",
        );
        assert_eq!(text, want);
        // The columns line up with the default layout's.
        let plain = format::list_all(
            4096,
            &[svc()],
            &ListFormat { numeric: true, ..ListFormat::default() },
            &NoNames,
        );
        let plain_dest = plain.lines().last().unwrap();
        assert!(text.lines().nth(4).unwrap().starts_with(plain_dest.trim_end()), "{plain}");
        let one = list_service(&svc(), &rows[..1], &fmt, &NoNames);
        assert!(one.starts_with("Prot LocalAddress") && one.ends_with(" UP\n"), "{one}");
    }
}
