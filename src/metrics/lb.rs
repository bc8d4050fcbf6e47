//! Families of the load balancer's own objects: virtual services, their dests, local-address
//! pools and SNAT WAN addresses.
//!
//! Pure rendering: it takes the services as `rvsadm -L --stats` lists them (summed over cores,
//! `-Z` applied) and the pool reports of every core, and builds the families; the caller (the
//! control plane's metrics source) gathers both. Must not touch: the workers, the table.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};

use prometheus::proto::MetricFamily;

use super::Family;
use crate::ipvs::balancer::{PoolOwner, PoolReports};
use crate::ipvs::spec::ServiceKey;
use crate::proto::model::{ServiceInfo, Stats};

type StatGet = fn(&Stats) -> u64;

/// The counters of a service or dest: suffix after `rvs_service_`/`rvs_dest_`, help, field.
const TOTALS: [(&str, &str, StatGet); 5] = [
    ("connections_total", "Connections scheduled.", |s| s.conns),
    ("in_packets_total", "Packets client to real server.", |s| s.inpkts),
    ("out_packets_total", "Packets real server to client.", |s| s.outpkts),
    ("in_bytes_total", "Bytes client to real server (IP length).", |s| s.inbytes),
    ("out_bytes_total", "Bytes real server to client (IP length).", |s| s.outbytes),
];

fn service_labels(k: &ServiceKey) -> [(&'static str, String); 3] {
    [
        ("protocol", k.proto.services_name().to_string()),
        ("vip", k.addr.to_string()),
        ("port", k.port.to_string()),
    ]
}

fn as_refs<'a>(l: &'a [(&'static str, String)]) -> Vec<(&'a str, &'a str)> {
    l.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// The pool label of a pool: `tcp/192.0.2.100:80` for a service's, `snat/203.0.113.1` for a
/// SNAT WAN address's.
pub fn pool_name(owner: PoolOwner, addr: Ipv4Addr) -> String {
    match owner {
        PoolOwner::Service(k) => {
            format!("{}/{}", k.proto.services_name(), SocketAddr::new(k.addr, k.port))
        }
        PoolOwner::Snat => format!("snat/{addr}"),
    }
}

/// Families of `services` (per service and per dest).
pub fn service_families(services: &[ServiceInfo], out: &mut Vec<MetricFamily>) {
    for (suffix, help, get) in TOTALS {
        let mut svc = Family::counter(&format!("rvs_service_{suffix}"), help);
        let mut dst = Family::counter(&format!("rvs_dest_{suffix}"), help);
        for s in services {
            let l = service_labels(&s.spec.key);
            svc.sample(&as_refs(&l), get(&s.stats) as f64);
            for d in &s.dests {
                let mut dl = l.to_vec();
                dl.push(("dest", d.spec.addr.to_string()));
                dl.push(("dest_port", d.spec.port.to_string()));
                dst.sample(&as_refs(&dl), get(&d.stats) as f64);
            }
        }
        out.push(svc.build());
        out.push(dst.build());
    }
    type ConnGet = fn(&crate::proto::model::DestInfo) -> u32;
    let levels: [(&str, &str, ConnGet); 3] = [
        ("active_connections", "Established connections.", |d| d.active),
        ("inactive_connections", "Connections in other states.", |d| d.inactive),
        ("persistent_connections", "Persistence templates.", |d| d.persist),
    ];
    for (suffix, help, get) in levels {
        let mut svc = Family::gauge(&format!("rvs_service_{suffix}"), help);
        let mut dst = Family::gauge(&format!("rvs_dest_{suffix}"), help);
        for s in services {
            let l = service_labels(&s.spec.key);
            let sum: u64 = s.dests.iter().map(|d| u64::from(get(d))).sum();
            svc.sample(&as_refs(&l), sum as f64);
            for d in &s.dests {
                let mut dl = l.to_vec();
                dl.push(("dest", d.spec.addr.to_string()));
                dl.push(("dest_port", d.spec.port.to_string()));
                dst.sample(&as_refs(&dl), f64::from(get(d)));
            }
        }
        out.push(svc.build());
        out.push(dst.build());
    }
}

#[derive(Default)]
struct LaddrSum {
    in_use: u64,
    allocs: u64,
    misses: u64,
}

/// Families of the local-address pools and SNAT WAN addresses, summed over `cores`.
pub fn pool_families(cores: &[PoolReports], out: &mut Vec<MetricFamily>) {
    let mut laddrs: BTreeMap<(String, Ipv4Addr), LaddrSum> = BTreeMap::new();
    let mut exhausted: BTreeMap<String, u64> = BTreeMap::new();
    let mut snat: BTreeMap<Ipv4Addr, Stats> = BTreeMap::new();
    for c in cores {
        for l in &c.laddrs {
            let e = laddrs.entry((pool_name(l.owner, l.addr), l.addr)).or_default();
            e.in_use += l.in_use;
            e.allocs += l.allocs;
            e.misses += l.misses;
        }
        for x in &c.exhausted {
            let name = pool_name(x.owner, x.addr.unwrap_or(Ipv4Addr::UNSPECIFIED));
            *exhausted.entry(name).or_default() += x.exhausted;
        }
        for s in &c.snat {
            let e = snat.entry(s.out_addr).or_default();
            e.conns += s.stats.conns;
            e.inpkts += s.stats.inpkts;
            e.outpkts += s.stats.outpkts;
            e.inbytes += s.stats.inbytes;
            e.outbytes += s.stats.outbytes;
        }
    }
    type SumGet = fn(&LaddrSum) -> u64;
    let fams: [(&str, &str, bool, SumGet); 3] = [
        ("rvs_laddr_ports_in_use", "Local ports held by live connections.", true, |s| s.in_use),
        ("rvs_laddr_allocations_total", "Local ports handed out.", false, |s| s.allocs),
        (
            "rvs_laddr_misses_total",
            "New connections that found no free port on this local address.",
            false,
            |s| s.misses,
        ),
    ];
    for (name, help, gauge, get) in fams {
        let mut f = if gauge { Family::gauge(name, help) } else { Family::counter(name, help) };
        for ((pool, addr), s) in &laddrs {
            let a = addr.to_string();
            f.sample(&[("pool", pool), ("laddr", &a)], get(s) as f64);
        }
        out.push(f.build());
    }
    let mut f = Family::counter(
        "rvs_laddr_pool_exhausted_total",
        "New connections refused: every local address of the pool was out of ports.",
    );
    for (pool, n) in &exhausted {
        f.sample(&[("pool", pool)], *n as f64);
    }
    out.push(f.build());
    for (suffix, help, get) in TOTALS {
        let mut f = Family::counter(&format!("rvs_snat_{suffix}"), help);
        for (addr, s) in &snat {
            let a = addr.to_string();
            f.sample(&[("out", &a)], get(s) as f64);
        }
        out.push(f.build());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs::balancer::{LaddrReport, PoolExhaustion, SnatReport};
    use crate::ipvs::counters::TrafficCounters;
    use crate::ipvs::spec::{DestSpec, Protocol, ServiceSpec};
    use crate::proto::model::DestInfo;

    fn key() -> ServiceKey {
        ServiceKey { proto: Protocol::Tcp, addr: "192.0.2.100".parse().unwrap(), port: 80 }
    }

    fn render(f: Vec<MetricFamily>) -> String {
        crate::metrics::render(&f)
    }

    #[test]
    fn services_and_dests_render_with_their_labels() {
        let mut s = ServiceInfo::new(ServiceSpec::new(key()));
        s.stats = Stats { conns: 3, inpkts: 30, outpkts: 20, inbytes: 3000, outbytes: 2_000_000 };
        let mut d = DestInfo::new(DestSpec::new("192.0.2.12".parse().unwrap(), 8080));
        d.stats = Stats { conns: 2, inpkts: 7, outpkts: 5, inbytes: 700, outbytes: 500 };
        d.active = 4;
        d.inactive = 1;
        d.persist = 2;
        let mut d2 = DestInfo::new(DestSpec::new("192.0.2.13".parse().unwrap(), 8080));
        d2.active = 6;
        s.dests = vec![d, d2];
        let mut out = Vec::new();
        service_families(&[s], &mut out);
        let text = render(out);
        let svc = r#"protocol="tcp",vip="192.0.2.100",port="80""#;
        let dst = format!(r#"{svc},dest="192.0.2.12",dest_port="8080""#);
        for line in [
            "# TYPE rvs_service_connections_total counter".to_string(),
            format!("rvs_service_connections_total{{{svc}}} 3"),
            format!("rvs_service_in_packets_total{{{svc}}} 30"),
            format!("rvs_service_out_packets_total{{{svc}}} 20"),
            format!("rvs_service_in_bytes_total{{{svc}}} 3000"),
            format!("rvs_service_out_bytes_total{{{svc}}} 2000000"),
            "# TYPE rvs_service_active_connections gauge".to_string(),
            format!("rvs_service_active_connections{{{svc}}} 10"),
            format!("rvs_service_inactive_connections{{{svc}}} 1"),
            format!("rvs_dest_connections_total{{{dst}}} 2"),
            format!("rvs_dest_in_packets_total{{{dst}}} 7"),
            format!("rvs_dest_out_packets_total{{{dst}}} 5"),
            format!("rvs_dest_in_bytes_total{{{dst}}} 700"),
            format!("rvs_dest_out_bytes_total{{{dst}}} 500"),
            "# TYPE rvs_dest_active_connections gauge".to_string(),
            format!("rvs_dest_active_connections{{{dst}}} 4"),
            format!("rvs_dest_inactive_connections{{{dst}}} 1"),
            format!("rvs_dest_persistent_connections{{{dst}}} 2"),
            format!(r#"rvs_dest_active_connections{{{svc},dest="192.0.2.13",dest_port="8080"}} 6"#),
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
    }

    #[test]
    fn pools_sum_cores_and_name_their_pool() {
        let owner = PoolOwner::Service(key());
        let wan: Ipv4Addr = "203.0.113.1".parse().unwrap();
        let la: Ipv4Addr = "192.0.2.250".parse().unwrap();
        let core = |n: u64| PoolReports {
            laddrs: vec![
                LaddrReport { owner, addr: la, in_use: n, allocs: 10 * n, misses: n + 1 },
                LaddrReport { owner: PoolOwner::Snat, addr: wan, in_use: 1, allocs: 1, misses: 0 },
            ],
            exhausted: vec![
                PoolExhaustion { owner, addr: None, exhausted: n },
                PoolExhaustion { owner: PoolOwner::Snat, addr: Some(wan), exhausted: 5 },
            ],
            snat: vec![SnatReport {
                out_addr: wan,
                live: true,
                stats: TrafficCounters {
                    conns: n,
                    inpkts: 2 * n,
                    outpkts: n,
                    inbytes: 100,
                    outbytes: 50,
                },
            }],
            rules: Vec::new(),
        };
        let mut out = Vec::new();
        pool_families(&[core(2), core(3)], &mut out);
        let text = render(out);
        for line in [
            r#"rvs_laddr_ports_in_use{pool="tcp/192.0.2.100:80",laddr="192.0.2.250"} 5"#,
            r#"rvs_laddr_allocations_total{pool="tcp/192.0.2.100:80",laddr="192.0.2.250"} 50"#,
            r#"rvs_laddr_misses_total{pool="tcp/192.0.2.100:80",laddr="192.0.2.250"} 7"#,
            r#"rvs_laddr_ports_in_use{pool="snat/203.0.113.1",laddr="203.0.113.1"} 2"#,
            r#"rvs_laddr_pool_exhausted_total{pool="tcp/192.0.2.100:80"} 5"#,
            r#"rvs_laddr_pool_exhausted_total{pool="snat/203.0.113.1"} 10"#,
            r#"rvs_snat_connections_total{out="203.0.113.1"} 5"#,
            r#"rvs_snat_in_packets_total{out="203.0.113.1"} 10"#,
            r#"rvs_snat_out_packets_total{out="203.0.113.1"} 5"#,
            r#"rvs_snat_in_bytes_total{out="203.0.113.1"} 200"#,
            r#"rvs_snat_out_bytes_total{out="203.0.113.1"} 100"#,
            "# TYPE rvs_laddr_ports_in_use gauge",
            "# TYPE rvs_laddr_misses_total counter",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
    }
}
