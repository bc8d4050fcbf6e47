//! `-S`: the table as commands, byte-for-byte as ipvsadm 1.31 saves it, so `-S`, `-C`, `-R`
//! restores the same table.
//!
//! Owns the rule layout: `-A -t addr:port -s sched` then ` -p T` (and ` -M mask` when not a host
//! mask), ` --pe name`, ` -o`, ` -b flags`, ` --synproxy`, ` --conn-limit N`, ` --source-rate R[:B]`, ` --allow P,..`, ` --deny P,..` (extensions); real servers `-a -t addr:port -r addr:port -X -w W`
//! with the forwarding switch (`-g`, `-i`, `-m`, and the extensions `-b` FULLNAT and `-J` SNAT),
//! tunnel servers followed by `--tun-type ...`. Thresholds are not saved (as in ipvsadm).
//! Local addresses follow their service as `-P` lines (`save_with`).
//! Services and real servers are sorted as in `-L`. Names are resolved unless `numeric`.

use super::format::{addrport, ordered};
use super::names::Names;
use rvs_core::ipvs::spec::{prefix_list_text, FwdMethod, TunType};
use rvs_proto::model::{ServiceInfo, ServiceLocalAddrs};
use std::fmt::Write;

/// `-S [-n]` of `services`.
pub fn save(services: &[ServiceInfo], numeric: bool, names: &dyn Names) -> String {
    save_with(services, &[], numeric, names)
}

/// `-S [-n]` of `services` and their local addresses: after each service's real servers, one
/// `-P -t|-u addr:port -z laddr [-F ifname]` line per local address (an rvs/DPVS extension;
/// local addresses are always numeric).
pub fn save_with(
    services: &[ServiceInfo],
    laddrs: &[ServiceLocalAddrs],
    numeric: bool,
    names: &dyn Names,
) -> String {
    let mut out = String::new();
    for s in ordered(services, false) {
        let spec = &s.spec;
        let key = &spec.key;
        let svc = format!(
            "{} {}",
            key.proto.option(),
            addrport(key.addr, key.port, key.proto, numeric, names)
        );
        // Writing to a String cannot fail.
        let _ = write!(out, "-A {svc} -s {}", spec.scheduler);
        if let Some(t) = spec.persistence {
            let _ = write!(out, " -p {t}");
            if !spec.netmask.is_host() {
                let _ = write!(out, " -M {}", spec.netmask);
            }
        }
        if let Some(pe) = &spec.pe {
            let _ = write!(out, " --pe {pe}");
        }
        if spec.one_packet {
            out.push_str(" -o");
        }
        if spec.sloppy {
            out.push_str(" --sloppy");
        }
        if !spec.flags.is_empty() {
            let _ = write!(out, " -b {}", spec.flags.display_for(spec.scheduler));
        }
        if spec.synproxy {
            out.push_str(" --synproxy");
        }
        let l = spec.limits();
        if l.conn_limit != 0 {
            let _ = write!(out, " --conn-limit {}", l.conn_limit);
        }
        if l.source_rate != 0 {
            let _ = write!(out, " --source-rate {}", l.rate_text());
        }
        if !l.allow.is_empty() {
            let _ = write!(out, " --allow {}", prefix_list_text(&l.allow));
        }
        if !l.deny.is_empty() {
            let _ = write!(out, " --deny {}", prefix_list_text(&l.deny));
        }
        out.push('\n');
        for d in &s.dests {
            let ds = &d.spec;
            let dname = addrport(ds.addr, ds.port, key.proto, numeric, names);
            let _ = write!(out, "-a {svc} -r {dname} {} -w {}", ds.fwd.switch(), ds.weight);
            if ds.fwd == FwdMethod::Tunnel {
                let t = ds.tun.unwrap_or_default();
                let _ = match t.kind {
                    TunType::Ipip => write!(out, " --tun-type ipip"),
                    TunType::Gue => {
                        write!(out, " --tun-type gue --tun-port {} {}", t.port, t.csum.option())
                    }
                    TunType::Gre => write!(out, " --tun-type gre {}", t.csum.option()),
                };
            }
            out.push('\n');
        }
        for l in laddrs.iter().filter(|l| l.key == *key) {
            for a in &l.laddrs {
                let _ = write!(out, "-P {svc} -z {}", a.spec.addr);
                if let Some(ifname) = &a.spec.ifname {
                    let _ = write!(out, " -F {ifname}");
                }
                out.push('\n');
            }
        }
    }
    out
}

/// `-S` lines of match services (`-H`), written after the virtual services:
/// `-A -H proto=P[,src-range=A-B][,dst-range=C-D] -s sched[ --synproxy]`, then its SNAT address as
/// `-a -H ... -r addr:port -J -w W`.
pub fn save_matches(
    matches: &[rvs_proto::model::MatchService],
    numeric: bool,
    names: &dyn Names,
) -> String {
    let mut out = String::new();
    for m in matches {
        let arg = super::matchspec::rule_arg(&m.spec);
        let proxy = if m.synproxy { " --synproxy" } else { "" };
        let _ = writeln!(out, "-A -H {arg} -s {}{proxy}", m.scheduler);
        for d in &m.dests {
            let ds = &d.spec;
            let dname =
                addrport(ds.addr, ds.port, rvs_core::ipvs::spec::Protocol::Tcp, numeric, names);
            let _ = writeln!(out, "-a -H {arg} -r {dname} {} -w {}", ds.fwd.switch(), ds.weight);
        }
    }
    out
}
