//! [`to_toml`]: a service table, SNAT rules and timeouts written as rvsd's config sections, the
//! other writing of what `rvsadm -S` prints.

use std::fmt::Write;
use std::net::SocketAddr;

use crate::ctrl::table::ServiceTable;
use crate::ipvs::sched::{SchedFlags, SchedKind};
use crate::ipvs::spec::{FwdMethod, Netmask, SnatProto, SnatRule, Timeouts, TunType};
use crate::proto::model::ServiceInfo;

use super::check::{csum_name, fwd_name};
use super::range::format_range;

/// A TOML basic string.
fn q(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// Flag names as the config takes them for `scheduler`, one per string: each set bit by the
/// scheduler's own name where it has one (`sh-port`), else `flag-N`.
fn flag_names(flags: SchedFlags, scheduler: SchedKind) -> Vec<String> {
    [SchedFlags::FLAG_1, SchedFlags::FLAG_2, SchedFlags::FLAG_3]
        .into_iter()
        .filter(|&bit| flags.contains(bit))
        .map(|bit| bit.display_for(scheduler).to_string())
        .collect()
}

fn list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| q(s)).collect();
    format!("[{}]", quoted.join(", "))
}

/// `[timeouts]`, then one `[[service]]` with its `[[service.dest]]` entries per service of
/// `table` (in its order), then one `[[snat]]` per rule: the sections [`super::super::Config`]
/// reads back into the same table and rules when they are added to a file that declares the
/// `[[addr]]`s they use (VIPs of kind `vip`, local addresses of kind `local`).
///
/// What the config cannot say is not written: the interface of a local address (`-F`), a
/// netmask of a service without persistence (`-S` leaves it out too), and real servers with
/// SNAT forwarding, which become a comment. GRE tunnels and IPv6 addresses are written but
/// refused when read back, with the reason. Counters are not settings and are not written.
pub fn to_toml(table: &ServiceTable, snat: &[SnatRule], timeouts: Timeouts) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(
        out,
        "[timeouts]\ntcp = {}\ntcpfin = {}\nudp = {}",
        timeouts.tcp, timeouts.tcpfin, timeouts.udp
    );
    for s in table.services() {
        service(&mut out, s, table);
    }
    for r in snat {
        let _ = writeln!(out, "\n[[snat]]\nsrc = {}", q(&format_range(r.src.as_ref())));
        if let Some(dst) = &r.dst {
            let _ = writeln!(out, "dst = {}", q(&format_range(Some(dst))));
        }
        if r.proto != SnatProto::Any {
            let _ = writeln!(out, "proto = {}", q(r.proto.name()));
        }
        let _ = writeln!(out, "out = {}", q(&r.out_addr.to_string()));
        if r.synproxy {
            let _ = writeln!(out, "synproxy = true");
        }
    }
    out
}

fn service(out: &mut String, s: &ServiceInfo, table: &ServiceTable) {
    let spec = &s.spec;
    let key = &spec.key;
    let vip = SocketAddr::new(key.addr, key.port);
    let _ = writeln!(out, "\n[[service]]\nproto = {}", q(key.proto.services_name()));
    let _ =
        writeln!(out, "vip = {}\nscheduler = {}", q(&vip.to_string()), q(spec.scheduler.as_str()));
    let flags = flag_names(spec.flags, spec.scheduler);
    if !flags.is_empty() {
        let _ = writeln!(out, "flags = {}", list(&flags));
    }
    if let Some(t) = spec.persistence {
        let _ = writeln!(out, "persistence = {t}");
        if !spec.netmask.is_host() {
            if let Netmask::V4(m) = spec.netmask {
                let _ = writeln!(out, "netmask = {}", q(&m.to_string()));
            }
        }
    }
    if spec.one_packet {
        let _ = writeln!(out, "one_packet = true");
    }
    if spec.sloppy {
        let _ = writeln!(out, "sloppy = true");
    }
    let laddrs: Vec<String> = table
        .local_addrs()
        .iter()
        .filter(|l| l.key == *key)
        .flat_map(|l| l.laddrs.iter().map(|a| a.spec.addr.to_string()))
        .collect();
    if !laddrs.is_empty() {
        let _ = writeln!(out, "laddrs = {}", list(&laddrs));
    }
    if spec.toa {
        let _ = writeln!(out, "toa = true");
    }
    if spec.synproxy {
        let _ = writeln!(out, "synproxy = true");
    }
    super::limits::limits_toml(out, spec.limits());
    for d in &s.dests {
        let d = &d.spec;
        let addr = SocketAddr::new(d.addr, d.port);
        if d.fwd == FwdMethod::Snat {
            let _ = writeln!(
                out,
                "\n# real server {addr} forwards by SNAT, which the config declares as [[snat]] rules"
            );
            continue;
        }
        let _ = writeln!(out, "\n[[service.dest]]\naddr = {}", q(&addr.to_string()));
        let _ = writeln!(out, "fwd = {}\nweight = {}", q(fwd_name(d.fwd)), d.weight);
        if d.upper != 0 {
            let _ = writeln!(out, "upper = {}", d.upper);
        }
        if d.lower != 0 {
            let _ = writeln!(out, "lower = {}", d.lower);
        }
        if let (FwdMethod::Tunnel, Some(t)) = (d.fwd, d.tun) {
            let _ = writeln!(out, "tun_type = {}", q(t.kind.name()));
            if t.kind == TunType::Gue {
                let _ = writeln!(out, "tun_port = {}\ntun_csum = {}", t.port, q(csum_name(t.csum)));
            }
        }
    }
}
