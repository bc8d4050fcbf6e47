//! `-L` listings of services and real servers, byte-for-byte as ipvsadm 1.31 prints them.
//!
//! Owns: the banner, the title lines of each listing flavour (`--stats`, `--rate`,
//! `--thresholds`, `--persistent-conn`, `--tun-info`, plain), service and real-server lines with
//! ipvsadm's printf widths and cuts (an IPv4 service name is cut at 33 characters, an IPv4 real
//! server at 28, any `addr:port` at 59), sorting, `--timeout`, and the `-G` local-address
//! listing. Must not touch: where the data comes from (the caller hands in model values) or
//! name lookup policy (a [`Names`] is handed in).
//!
//! Sorting: services by address family (IPv4 first), protocol (TCP, UDP), address, port; real
//! servers by address then port. ipvsadm compares addresses by a wrapping 32-bit subtraction,
//! which misorders addresses more than 2^31 apart; rvs uses the plain numeric order.

use super::cli::ListFormat;
use super::largenum::push_largenum;
use super::names::Names;
use rvs_core::ipvs::spec::{
    prefix_list_text, FwdMethod, Protocol, ServiceKey, ServiceLimits, Timeouts, TunType,
};
use rvs_proto::model::{DestInfo, MatchService, ServiceInfo, ServiceLocalAddrs};
use std::cmp::Ordering;
use std::fmt::Write;
use std::net::IpAddr;

/// IPVS version shown in the banner.
pub const IPVS_VERSION: &str = "1.2.1";

/// Cut `s` to at most `n` bytes (on a character boundary).
pub(crate) fn cut(mut s: String, n: usize) -> String {
    if s.len() > n {
        let mut end = n;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

/// `addr:port` as ipvsadm prints it: IPv6 in brackets; names unless `numeric`; at most 59 bytes.
pub fn addrport(
    addr: IpAddr,
    port: u16,
    proto: Protocol,
    numeric: bool,
    names: &dyn Names,
) -> String {
    let (open, close) = if addr.is_ipv4() { ("", "") } else { ("[", "]") };
    let s = if numeric {
        format!("{open}{addr}{close}:{port}")
    } else {
        let host = names.host_name(addr).unwrap_or_else(|| addr.to_string());
        let serv = names.service_name(port, proto).unwrap_or_else(|| port.to_string());
        format!("{open}{host}{close}:{serv}")
    };
    cut(s, 59)
}

/// `TCP  addr:port`: protocol left-justified in 4, a space, the address; IPv4 cut at 33.
pub fn service_name(key: &ServiceKey, numeric: bool, names: &dyn Names) -> String {
    let s = format!(
        "{:<4} {}",
        key.proto.name(),
        addrport(key.addr, key.port, key.proto, numeric, names)
    );
    if key.addr.is_ipv4() {
        cut(s, 33)
    } else {
        s
    }
}

pub(crate) fn dest_name(
    key: &ServiceKey,
    d: &DestInfo,
    numeric: bool,
    names: &dyn Names,
) -> String {
    let s = addrport(d.spec.addr, d.spec.port, key.proto, numeric, names);
    if d.spec.addr.is_ipv4() {
        cut(s, 28)
    } else {
        s
    }
}

fn addr_order(a: &IpAddr, b: &IpAddr) -> Ordering {
    match (a, b) {
        (IpAddr::V4(x), IpAddr::V4(y)) => x.cmp(y),
        (IpAddr::V6(x), IpAddr::V6(y)) => x.cmp(y),
        (IpAddr::V4(_), IpAddr::V6(_)) => Ordering::Less,
        (IpAddr::V6(_), IpAddr::V4(_)) => Ordering::Greater,
    }
}

/// Service order of listings.
pub fn service_order(a: &ServiceKey, b: &ServiceKey) -> Ordering {
    a.addr
        .is_ipv6()
        .cmp(&b.addr.is_ipv6())
        .then(a.proto.cmp(&b.proto))
        .then(addr_order(&a.addr, &b.addr))
        .then(a.port.cmp(&b.port))
}

/// Real-server order of listings.
pub fn dest_order(a: &DestInfo, b: &DestInfo) -> Ordering {
    addr_order(&a.spec.addr, &b.spec.addr).then(a.spec.port.cmp(&b.spec.port))
}

/// Services in listing order (sorted unless `nosort`), each with its dests in listing order.
pub(crate) fn ordered(services: &[ServiceInfo], nosort: bool) -> Vec<ServiceInfo> {
    let mut v = services.to_vec();
    if !nosort {
        v.sort_by(|a, b| service_order(&a.spec.key, &b.spec.key));
        for s in &mut v {
            s.dests.sort_by(dest_order);
        }
    }
    v
}

/// The title lines for `fmt`.
pub fn title(fmt: &ListFormat) -> String {
    let lp = "Prot LocalAddress:Port";
    if fmt.stats {
        format!(
            "{lp:<33} {:>8} {:>8} {:>8} {:>8} {:>8}\n  -> RemoteAddress:Port\n",
            "Conns", "InPkts", "OutPkts", "InBytes", "OutBytes"
        )
    } else if fmt.rate {
        format!(
            "{lp:<33} {:>8} {:>8} {:>8} {:>8} {:>8}\n  -> RemoteAddress:Port\n",
            "CPS", "InPPS", "OutPPS", "InBPS", "OutBPS"
        )
    } else if fmt.thresholds {
        format!(
            "{lp:<33} {:<10} {:<10} {:<10} {:<10}\n  -> RemoteAddress:Port\n",
            "Uthreshold", "Lthreshold", "ActiveConn", "InActConn"
        )
    } else if fmt.persistent_conn {
        format!(
            "{lp:<33} {:<9} {:<11} {:<10} {:<10}\n  -> RemoteAddress:Port\n",
            "Weight", "PersistConn", "ActiveConn", "InActConn"
        )
    } else if fmt.tun_info {
        "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n".to_string()
    } else {
        "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n".to_string()
    }
}

/// The `TunnelInfo` column: `ipip`, `gue:PORT:-c|+c|r+c`, `gre:-c|+c|r+c`, or `n/a`.
pub fn tunnel_info(d: &DestInfo) -> String {
    if d.spec.fwd != FwdMethod::Tunnel {
        return "n/a".to_string();
    }
    let t = d.spec.tun.unwrap_or_default();
    match t.kind {
        TunType::Ipip => "ipip".to_string(),
        TunType::Gue => format!("gue:{}:{}", t.port, t.csum.short()),
        TunType::Gre => format!("gre:{}", t.csum.short()),
    }
}

/// Prefixes a `-L` limits line shows of one list; `-S` has them all.
const LISTED_PREFIXES: usize = 8;

/// The line under a service that has limits (an rvs extension: services without any list as
/// ipvsadm does): `  limits conn-limit N source-rate R[:B] allow P,... deny P,...`.
fn limits_line(out: &mut String, l: &ServiceLimits) {
    out.push_str("  limits");
    if l.conn_limit != 0 {
        let _ = write!(out, " conn-limit {}", l.conn_limit);
    }
    if l.source_rate != 0 {
        let _ = write!(out, " source-rate {}", l.rate_text());
    }
    for (name, list) in [("allow", &l.allow), ("deny", &l.deny)] {
        if list.is_empty() {
            continue;
        }
        let shown = &list[..list.len().min(LISTED_PREFIXES)];
        let _ = write!(out, " {name} {}", prefix_list_text(shown));
        if list.len() > shown.len() {
            let _ = write!(out, ",... ({} prefixes)", list.len());
        }
    }
    out.push('\n');
}

/// One service and its real servers (no title).
pub fn service_entry(out: &mut String, s: &ServiceInfo, fmt: &ListFormat, names: &dyn Names) {
    let key = &s.spec.key;
    let name = service_name(key, fmt.numeric, names);
    let ex = fmt.exact;
    // Writing to a String cannot fail.
    if fmt.stats || fmt.rate {
        let _ = write!(out, "{name:<33}");
        let v = if fmt.stats {
            let st = &s.stats;
            [st.conns, st.inpkts, st.outpkts, st.inbytes, st.outbytes]
        } else {
            let r = &s.rates;
            [r.cps, r.inpps, r.outpps, r.inbps, r.outbps]
        };
        for n in v {
            push_largenum(out, n, ex);
        }
    } else {
        let spec = &s.spec;
        let _ = write!(out, "{name} {}", spec.scheduler);
        if !spec.flags.is_empty() {
            let _ = write!(out, " ({})", spec.flags.display_for(spec.scheduler));
        }
        if let Some(t) = spec.persistence {
            let _ = write!(out, " persistent {t}");
            if !spec.netmask.is_host() {
                let _ = write!(out, " mask {}", spec.netmask);
            }
            if let Some(pe) = &spec.pe {
                let _ = write!(out, " pe {pe}");
            }
        }
        if spec.one_packet {
            out.push_str(" ops");
        }
        if spec.synproxy {
            out.push_str(" synproxy");
        }
        if spec.sloppy {
            out.push_str(" sloppy");
        }
    }
    out.push('\n');
    if !(fmt.stats || fmt.rate || s.spec.limits().is_unset()) {
        limits_line(out, s.spec.limits());
    }

    for d in &s.dests {
        let dn = dest_name(key, d, fmt.numeric, names);
        let fwd = d.spec.fwd.name();
        if fmt.stats {
            let _ = write!(out, "  -> {dn:<28}");
            let st = &d.stats;
            for n in [st.conns, st.inpkts, st.outpkts, st.inbytes, st.outbytes] {
                push_largenum(out, n, ex);
            }
            out.push('\n');
        } else if fmt.rate {
            let r = &d.rates;
            let _ = write!(out, "  -> {dn:<28} {:>8} {:>8} {:>8}", r.cps, r.inpps, r.outpps);
            push_largenum(out, r.inbps, ex);
            push_largenum(out, r.outbps, ex);
            out.push('\n');
        } else if fmt.thresholds {
            let _ = writeln!(
                out,
                "  -> {dn:<28} {:<10} {:<10} {:<10} {:<10}",
                d.spec.upper, d.spec.lower, d.active, d.inactive
            );
        } else if fmt.persistent_conn {
            let _ = writeln!(
                out,
                "  -> {dn:<28} {:<9} {:<11} {:<10} {:<10}",
                d.spec.weight, d.persist, d.active, d.inactive
            );
        } else if fmt.tun_info {
            let _ = writeln!(
                out,
                "  -> {dn:<28} {fwd:<7} {:<13} {:<6} {:<10} {:<10}",
                tunnel_info(d),
                d.spec.weight,
                d.active,
                d.inactive
            );
        } else {
            let _ = writeln!(
                out,
                "  -> {dn:<28} {fwd:<7} {:<6} {:<10} {:<10}",
                d.spec.weight, d.active, d.inactive
            );
        }
    }
}

/// `-L` of the whole table: banner (`size` is the connection hash size), title, services.
pub fn list_all(
    size: u32,
    services: &[ServiceInfo],
    fmt: &ListFormat,
    names: &dyn Names,
) -> String {
    let mut out = format!("IP Virtual Server version {IPVS_VERSION} (size={size})\n");
    out.push_str(&title(fmt));
    for s in ordered(services, fmt.nosort) {
        service_entry(&mut out, &s, fmt, names);
    }
    out
}

/// `-L -t|-u service`: title and that one service, no banner.
pub fn list_service(service: &ServiceInfo, fmt: &ListFormat, names: &dyn Names) -> String {
    let mut out = title(fmt);
    let one = ordered(std::slice::from_ref(service), fmt.nosort);
    for s in &one {
        service_entry(&mut out, s, fmt, names);
    }
    out
}

/// Match services (`-H`) as `-L` shows them after the virtual services, as DPVS's ipvsadm
/// does: `MATCH proto[,from=RANGE][,to=RANGE] scheduler`, then each SNAT address as a real
/// server line (`  -> %-28s %-7s %-6d %-10u %-10u`, Forward `SNAT`, the rule's live
/// connections). With `--stats` or `--rate` the service line is the name padded to 33 then the
/// five counters, and the real-server lines are those of a virtual service's real servers, with
/// the rule's totals (one SNAT address per rule: both lines show the same numbers). The name
/// is never cut. `--thresholds`, `--persistent-conn` and `--tun-info` leave match services out
/// (they have no thresholds, persistence or tunnels).
pub fn list_matches(matches: &[MatchService], fmt: &ListFormat, names: &dyn Names) -> String {
    let mut out = String::new();
    if fmt.thresholds || fmt.persistent_conn || fmt.tun_info {
        return out;
    }
    let ex = fmt.exact;
    for m in matches {
        let name = super::matchspec::listing_name(&m.spec);
        if fmt.stats || fmt.rate {
            let _ = write!(out, "{name:<33}");
            let v = if fmt.stats {
                let st = &m.stats;
                [st.conns, st.inpkts, st.outpkts, st.inbytes, st.outbytes]
            } else {
                let r = &m.rates;
                [r.cps, r.inpps, r.outpps, r.inbps, r.outbps]
            };
            for n in v {
                push_largenum(&mut out, n, ex);
            }
            out.push('\n');
        } else {
            // The SYN proxy shows at the end, as on a virtual service's line.
            let proxy = if m.synproxy { " synproxy" } else { "" };
            let _ = writeln!(out, "{name} {}{proxy}", m.scheduler);
        }
        for d in &m.dests {
            let dn = cut(addrport(d.spec.addr, d.spec.port, Protocol::Tcp, fmt.numeric, names), 28);
            if fmt.stats {
                let _ = write!(out, "  -> {dn:<28}");
                let st = &d.stats;
                for n in [st.conns, st.inpkts, st.outpkts, st.inbytes, st.outbytes] {
                    push_largenum(&mut out, n, ex);
                }
                out.push('\n');
            } else if fmt.rate {
                let r = &d.rates;
                let _ = write!(out, "  -> {dn:<28} {:>8} {:>8} {:>8}", r.cps, r.inpps, r.outpps);
                push_largenum(&mut out, r.inbps, ex);
                push_largenum(&mut out, r.outbps, ex);
                out.push('\n');
            } else {
                let _ = writeln!(
                    out,
                    "  -> {dn:<28} {:<7} {:<6} {:<10} {:<10}",
                    d.spec.fwd.name(),
                    d.spec.weight,
                    d.active,
                    d.inactive
                );
            }
        }
    }
    out
}

/// `-L --timeout`.
pub fn list_timeouts(t: &Timeouts) -> String {
    format!("Timeout (tcp tcpfin udp): {} {} {}\n", t.tcp, t.tcpfin, t.udp)
}

/// `-G`: local addresses per service (an rvs/DPVS extension; always numeric). The last column
/// is the interface given with `-F` (`-` when none was).
pub fn list_local_addrs(list: &[ServiceLocalAddrs]) -> String {
    let mut out = format!(
        "{:<20} {:<8} {:<20} {:<10} {:<10} {}\n",
        "VIP:VPORT", "TOTAL", "LADDR", "CONFLICTS", "CONNS", "IFNAME"
    );
    let mut v = list.to_vec();
    v.sort_by(|a, b| service_order(&a.key, &b.key));
    for s in &v {
        let vip = addrport(s.key.addr, s.key.port, s.key.proto, true, &super::names::NoNames);
        let _ = writeln!(out, "{vip:<20} {:<8} ", s.laddrs.len());
        for l in &s.laddrs {
            let _ = writeln!(
                out,
                "{:<20} {:<8} {:<20} {:<10} {:<10} {}",
                "",
                "",
                l.spec.addr,
                l.conflicts,
                l.conns,
                l.spec.ifname.as_deref().unwrap_or("-")
            );
        }
    }
    out
}

#[cfg(test)]
#[path = "format_tests.rs"]
mod tests;

/// `--announced`/`--drain`/`--resume` (scale-out): whether the director drains, then one line
/// per VIP with its state (`192.168.100.100 announced`), then, with `[announce] bird_socket`,
/// one line per BGP protocol of the routing daemon as it reported it (`bgp upstream up
/// Established`) or `bgp daemon unreachable: WHY`.
pub fn announced(s: &rvs_proto::announce::AnnounceStatus) -> String {
    use rvs_proto::announce::BgpView;
    let mut out = format!("draining {}\n", if s.draining { "yes" } else { "no" });
    for (vip, state) in &s.vips {
        let _ = writeln!(out, "{vip} {}", state.describe());
    }
    match &s.bgp {
        None => {}
        Some(BgpView::Sessions(sessions)) => {
            for b in sessions {
                let _ = writeln!(out, "bgp {} {} {}", b.name, b.state, b.info);
            }
        }
        Some(BgpView::Unreachable(why)) => {
            let _ = writeln!(out, "bgp daemon unreachable: {why}");
        }
    }
    out
}
