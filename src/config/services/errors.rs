//! Refusals of the service table, as config errors: ipvsadm's words, then the key and the fix.
//!
//! Owns the mapping from [`TableError`] and [`SpecError`] to the offending key of a
//! `[[service]]` and what to change. The rules themselves are the table's and the model's.

use crate::config::error::{invalid, Invalid};
use crate::ctrl::table::{ServiceTable, TableError};
use crate::ipvs::sched::SchedKind;
use crate::ipvs::spec::{
    ServiceKey, SpecError, FWMARK_ALTERNATIVE, MAX_THRESHOLD, MAX_TIMEOUT_S, MAX_WEIGHT,
};
use crate::proto::change::Change;

/// Which command of `service[i]` the table refused.
#[derive(Debug, Clone, Copy)]
pub(super) enum Blame {
    /// The service itself (`-A`).
    Service,
    /// `dest[k]` (`-a`).
    Dest(usize),
    /// `laddrs[k]` (`-P`).
    Laddr(usize),
}

/// The key of `field` of what `blame` names in `service[i]`.
fn key(i: usize, blame: Blame, field: &str) -> String {
    match blame {
        Blame::Service | Blame::Laddr(_) => format!("service[{i}].{field}"),
        Blame::Dest(k) => format!("service[{i}].dest[{k}].{field}"),
    }
}

/// The field a model rule is about, and how to satisfy it.
pub(super) fn model_fix(e: &SpecError) -> (&'static str, String) {
    match e {
        SpecError::WeightRange(_) => {
            ("weight", format!("give 0 to {MAX_WEIGHT} (0 takes no new connections)"))
        }
        SpecError::IllegalUThreshold => ("upper", format!("give 0 (no limit) to {MAX_THRESHOLD}")),
        SpecError::IllegalLThreshold => ("lower", format!("give 0 (no limit) to {MAX_THRESHOLD}")),
        SpecError::ThresholdOrder => {
            ("lower", "make lower at most upper (with no upper, lower must be 0)".to_owned())
        }
        SpecError::ZeroPortNotPersistent => (
            "vip",
            "port 0 means every port and needs persistence: add persistence = 300 (seconds) or give the VIP a port".to_owned(),
        ),
        SpecError::OnePacketNotUdp => {
            ("one_packet", "set proto = \"udp\" or remove one_packet".to_owned())
        }
        SpecError::SynproxyNotTcp => {
            ("synproxy", "set proto = \"tcp\" or remove synproxy".to_owned())
        }
        SpecError::InvalidTimeout(_) => (
            "persistence",
            format!("give seconds from 1 to {MAX_TIMEOUT_S}, or remove persistence"),
        ),
        SpecError::IllegalNetmask | SpecError::IllegalIpv6Netmask => {
            ("netmask", "write a dotted mask such as \"255.255.255.0\"".to_owned())
        }
        SpecError::SchedulerNotFound => {
            let names: Vec<&str> = SchedKind::ALL.iter().map(|k| k.as_str()).collect();
            ("scheduler", format!("use one of {}", names.join(", ")))
        }
        SpecError::InvalidSchedFlag(_) => (
            "flags",
            "write one flag per string: flag-1, flag-2, flag-3, sh-fallback, sh-port, mh-fallback or mh-port".to_owned(),
        ),
        SpecError::IncompatibleSchedFlag(_) => (
            "flags",
            "sh-* flags need scheduler = \"sh\", mh-* flags scheduler = \"mh\"; others take flag-1..3".to_owned(),
        ),
        SpecError::DifferentFamily => {
            ("addr", "give an IPv4 real server, or use fwd = \"tun\"".to_owned())
        }
        SpecError::TunnelOptionsConflict => {
            ("tun_type", "tunnel keys need fwd = \"tun\": remove them or set fwd".to_owned())
        }
        SpecError::FwmarkUnsupported => {
            ("fwmark", format!("remove fwmark and declare {FWMARK_ALTERNATIVE}"))
        }
        SpecError::BadMatch(_, why) => ("snat", format!("declare it as a [[snat]] rule: {why}")),
        SpecError::BadPrefix(_)
        | SpecError::PrefixHostBits(..)
        | SpecError::TooManyPrefixes(_)
        | SpecError::SourceRateRange(_)
        | SpecError::BurstWithoutRate => {
            ("limits", "see [service.limits] in docs/hardening/limits.md".to_owned())
        }
    }
}

/// `e`, the table's refusal of `cmd` for `service[i]`, as a config error. `table` is the table
/// as it was before the command: it tells which earlier entry clashes.
pub(super) fn table_error(
    i: usize,
    blame: Blame,
    cmd: &Change,
    e: TableError,
    table: &ServiceTable,
) -> Invalid {
    let service = |key: &ServiceKey| table.services().iter().position(|s| s.spec.key == *key);
    match (e, cmd, blame) {
        (TableError::Invalid(m), _, _) => {
            let (field, fix) = model_fix(&m);
            invalid(key(i, blame, field), format!("{m}: {fix}"))
        }
        (e @ TableError::ServiceExists, Change::AddService(spec), _) => {
            let k = &spec.key;
            invalid(
                format!("service[{i}]"),
                format!(
                    "{e}: service[{}] is also {} {}:{}; put all its dests in one [[service]], or change proto or vip",
                    service(k).unwrap_or(0),
                    k.proto.services_name(),
                    k.addr,
                    k.port
                ),
            )
        }
        (e @ TableError::DestExists, Change::AddDest { service: svc, dest }, Blame::Dest(k)) => {
            let j = service(svc)
                .and_then(|s| table.services().get(s))
                .and_then(|s| {
                    s.dests
                        .iter()
                        .position(|d| d.spec.addr == dest.addr && d.spec.port == dest.port)
                })
                .unwrap_or(0);
            invalid(
                format!("service[{i}].dest[{k}].addr"),
                format!(
                    "{e}: dest[{j}] of this service is also {}:{}; list each real server once",
                    dest.addr, dest.port
                ),
            )
        }
        (e @ TableError::LocalAddrExists, Change::AddLocalAddr { laddr, .. }, Blame::Laddr(k)) => {
            invalid(
                format!("service[{i}].laddrs[{k}]"),
                format!("{e}: {} is listed twice; list each local address once", laddr.addr),
            )
        }
        (e, _, _) => invalid(key(i, blame, "").trim_end_matches('.').to_owned(), e.to_string()),
    }
}
