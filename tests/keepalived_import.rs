//! keepalived.conf import, round trip through rvsd's config check: the TOML the importer
//! writes is appended to a director's config and loaded by `Config` (what `rvsd --check`
//! runs); the checked table has the services, real servers and checkers of the input.
//! One table row per sample Debian's keepalived ships (`ci/deps` installs it): converted with
//! its services listed, or refused naming the construct and the line.

use rvs::config::Config;
use rvs_tools::kaimport::{import, import_str, Options};
use std::path::Path;

/// A director with one port, its host address and a default route: the importer's output
/// adds the VIPs (`--vip-port lan`) and the services.
const DIRECTOR: &str = r#"
[eal]
main_lcore = 0
no_huge = true
no_pci = true
file_prefix = "rvs-ka-import"
vdevs = ["net_null0"]

[[port]]
name = "lan"
device = "net_null0"

[[addr]]
port = "lan"
ip = "192.168.200.254/16"
kind = "host"

[[route]]
dst = "default"
via = "192.168.200.1"
port = "lan"

[[worker]]
lcore = 1
cpu = 0
rx = [{ port = "lan", queue = 0 }]
"#;

fn opts() -> Options {
    Options { vip_port: Some("lan".into()), config_id: "high".into(), vip_standby: false }
}

/// Each service as `proto vip:port -> dest:port(fwd, weight)[CHECKERS] ...`, from the checked
/// config.
fn summary(c: &Config) -> Vec<String> {
    let plan = c.health();
    c.services()
        .services()
        .iter()
        .map(|s| {
            let k = &s.spec.key;
            let sp = plan.services.iter().find(|p| p.key == *k);
            let dests: Vec<String> = s
                .dests
                .iter()
                .map(|d| {
                    let checks: Vec<&str> = sp
                        .and_then(|p| {
                            p.dests.iter().find(|pd| {
                                pd.spec.addr == d.spec.addr && pd.spec.port == d.spec.port
                            })
                        })
                        .map(|pd| pd.checkers.iter().map(|c| c.kind.name()).collect())
                        .unwrap_or_default();
                    format!(
                        "{}:{}({:?},{})[{}]",
                        d.spec.addr,
                        d.spec.port,
                        d.spec.fwd,
                        d.spec.weight,
                        checks.join(",")
                    )
                })
                .collect();
            format!("{} {}:{} -> {}", k.proto.services_name(), k.addr, k.port, dests.join(" "))
        })
        .collect()
}

fn check(toml: &str) -> Config {
    let text = format!("{DIRECTOR}\n{toml}");
    match Config::from_toml_str(&text) {
        Ok(c) => c,
        Err(e) => panic!("rvsd's check refused the import: {e}\n{toml}"),
    }
}

#[test]
fn an_operator_config_round_trips_through_the_config_check() {
    let text = r#"
global_defs { router_id LB1 }
virtual_server_group WEB {
    192.168.200.100 80
    192.168.200.101-102 80
}
virtual_server group WEB {
    delay_loop 2
    lb_algo wrr
    lb_kind DR
    quorum 2
    sorry_server 192.168.201.99 80
    real_server 192.168.201.11 80 {
        weight 3
        inhibit_on_failure
        HTTP_GET {
            url { path /health
                  status_code 200-299 }
            connect_timeout 1
        }
        PING_CHECK { }
    }
    real_server 192.168.201.12 80 {
        SSL_GET { url { path / } connect_port 443 }
        FILE_CHECK { track_file maint }
    }
}
track_file maint {
    file /run/rvs/maint
}
virtual_server 192.168.200.100 53 {
    protocol UDP
    lb_algo rr
    ops
    real_server 192.168.201.21 53 {
        DNS_CHECK { type SOA }
        UDP_CHECK {
            payload 00 01
            require_reply
        }
    }
    real_server 192.168.201.22 53 {
        SMTP_CHECK { connect_port 25 }
        MISC_CHECK { misc_path "/bin/true" }
    }
}
"#;
    let i = import_str(text, "lb.conf", &opts()).unwrap();
    let c = check(&i.toml);
    let dr = "192.168.201.11:80(Route,3)[HTTP_GET,PING_CHECK] 192.168.201.12:80(Route,1)[SSL_GET,FILE_CHECK]";
    assert_eq!(
        summary(&c),
        [
            format!("tcp 192.168.200.100:80 -> {dr}"),
            format!("tcp 192.168.200.101:80 -> {dr}"),
            format!("tcp 192.168.200.102:80 -> {dr}"),
            "udp 192.168.200.100:53 -> 192.168.201.21:53(Masq,1)[UDP_CHECK,DNS_CHECK] 192.168.201.22:53(Masq,1)[MISC_CHECK,SMTP_CHECK]".to_owned(),
        ]
    );
    let web = &c.health().services[0];
    assert_eq!(
        (web.quorum, web.sorry.as_ref().map(|s| s.spec.addr.to_string())),
        (2, Some("192.168.201.99".into()))
    );
    assert!(web.dests[0].inhibit_on_failure);
    assert_eq!(web.dests[0].checkers[0].timing.delay_loop, std::time::Duration::from_secs(2));
    assert_eq!(web.dests[1].checkers[0].target.port(), 443);
}

/// Debian's samples: the services each converts to (none for the VRRP-only ones), or the
/// construct and line it is refused at.
const SAMPLES: &[(&str, Result<&[&str], &str>)] = &[
    (
        "keepalived.conf.HTTP_GET.port",
        Ok(&["tcp 192.168.200.100:443 -> 192.168.201.100:443(Masq,1)[SSL_GET]"]),
    ),
    ("keepalived.conf.IPv6", Err(":13: ae00::1: rvs serves IPv4 virtual services only")),
    (
        "keepalived.conf.PING_CHECK",
        Ok(&["udp 10.10.10.2:1358 -> 192.168.200.6:1358(Masq,1)[PING_CHECK]"]),
    ),
    ("keepalived.conf.SMTP_CHECK", Err(":68: a second host in SMTP_CHECK")),
    (
        "keepalived.conf.SSL_GET",
        Ok(&[
            "tcp 192.168.200.100:443 -> 192.168.201.100:443(Masq,1)[SSL_GET]",
            "tcp 192.168.200.100:80 -> 192.168.201.100:80(Masq,1)[HTTP_GET]",
        ]),
    ),
    (
        "keepalived.conf.UDP_CHECK",
        Ok(&["udp 10.10.10.2:1358 -> 192.168.200.6:1358(Masq,1)[UDP_CHECK]"]),
    ),
    ("keepalived.conf.conditional_conf", Ok(&[])),
    ("keepalived.conf.fwmark", Err(":7: fwmark services")),
    (
        "keepalived.conf.inhibit",
        Ok(&["tcp 10.10.10.2:1358 -> 192.168.200.2:1358(Masq,1)[HTTP_GET]"]),
    ),
    (
        "keepalived.conf.misc_check",
        Ok(&["tcp 10.10.10.2:1358 -> 192.168.200.6:1358(Masq,1)[MISC_CHECK]"]),
    ),
    (
        "keepalived.conf.misc_check_arg",
        Ok(&["tcp 10.10.10.2:1358 -> 192.168.200.6:1358(Masq,1)[MISC_CHECK]"]),
    ),
    ("keepalived.conf.quorum", Err(":30: omega")),
    (
        "keepalived.conf.sample",
        Ok(&["tcp 10.10.10.2:1358 -> 192.168.200.2:1358(Masq,1)[HTTP_GET]"]),
    ),
    (
        "keepalived.conf.status_code",
        Ok(&["tcp 192.168.200.100:443 -> 192.168.201.100:443(Masq,1)[SSL_GET]"]),
    ),
    ("keepalived.conf.track_interface", Ok(&[])),
    ("keepalived.conf.virtual_server_group", Err(":18: fwmark in a virtual_server_group")),
    (
        "keepalived.conf.virtualhost",
        Ok(&["tcp 192.168.200.100:80 -> 192.168.201.100:80(Masq,1)[SSL_GET]"]),
    ),
    ("keepalived.conf.vrrp", Ok(&[])),
    ("keepalived.conf.vrrp.localcheck", Ok(&[])),
    (
        "keepalived.conf.vrrp.lvs_syncd",
        Ok(&["tcp 192.168.200.19:80 -> 192.168.201.100:80(Masq,1)[TCP_CHECK]"]),
    ),
    ("keepalived.conf.vrrp.routes", Ok(&[])),
    ("keepalived.conf.vrrp.rules", Ok(&[])),
    ("keepalived.conf.vrrp.scripts", Ok(&[])),
    ("keepalived.conf.vrrp.static_ipaddress", Ok(&[])),
    ("keepalived.conf.vrrp.sync", Ok(&[])),
];

#[test]
fn every_debian_sample_converts_or_is_refused_with_its_line() {
    let dir = Path::new("/usr/share/doc/keepalived/samples");
    assert!(dir.is_dir(), "{} is missing: install Debian's keepalived (ci/deps)", dir.display());
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("keepalived.conf."))
        .collect();
    names.sort();
    let table: Vec<&str> = SAMPLES.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, table, "the table has one row per sample");
    let mut failures = Vec::new();
    for (name, want) in SAMPLES {
        let path = dir.join(name);
        let got = import(&path, &opts());
        match (got, want) {
            (Ok(i), Ok(services)) => {
                let c = check(&i.toml);
                let s = summary(&c);
                if s != *services {
                    failures.push(format!("{name}: {s:#?}"));
                }
                if s.len() != i.services {
                    failures.push(format!(
                        "{name}: {} services written, {} checked",
                        i.services,
                        s.len()
                    ));
                }
            }
            (Err(r), Err(at)) => {
                let first = r[0].to_string();
                if !first.starts_with(&format!("{}{at}", path.display())) {
                    failures.push(format!("{name}: refused as {first}, want {at}"));
                }
            }
            (Ok(i), Err(at)) => {
                failures.push(format!("{name}: converted, want a refusal at {at}:\n{}", i.toml))
            }
            (Err(r), Ok(_)) => failures.push(format!("{name}: refused: {r:?}")),
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn debian_s_own_keepalived_conf_sample_converts() {
    let path = Path::new("/etc/keepalived/keepalived.conf.sample");
    assert!(path.is_file(), "{} is missing: install Debian's keepalived (ci/deps)", path.display());
    let i = import(path, &opts()).unwrap();
    let c = check(&i.toml);
    assert_eq!(summary(&c).len(), i.services);
}

#[test]
fn bfd_instances_and_checks_round_trip_through_the_config_check() {
    let text = "bfd_instance rs1 {\n neighbor_ip 192.168.201.11\n min_rx 100\n min_tx 100\n multiplier 3\n}\nvirtual_server 192.168.200.100 80 {\n lb_algo rr\n lb_kind DR\n real_server 192.168.201.11 80 {\n  BFD_CHECK { name rs1 }\n }\n}\n";
    let i = import_str(text, "lb.conf", &opts()).unwrap();
    let c = check(&i.toml);
    let bfd = &c.health().bfd.instances;
    assert_eq!(bfd.len(), 1, "{}", i.toml);
    assert_eq!((bfd[0].name.as_str(), bfd[0].min_rx_us, bfd[0].multiplier), ("rs1", 100_000, 3));
    let d = &c.health().services[0].dests[0];
    assert_eq!(d.checkers[0].kind.name(), "BFD_CHECK");
}

#[test]
fn vip_standby_addrs_pass_the_config_check() {
    let text = "virtual_server 192.168.200.100 80 {\n lb_algo rr\n lb_kind DR\n real_server 192.168.201.11 80 { }\n}\n";
    let i = import_str(text, "lb.conf", &Options { vip_standby: true, ..opts() }).unwrap();
    assert!(i.toml.contains("standby = true"), "{}", i.toml);
    check(&i.toml);
}
