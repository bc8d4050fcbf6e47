//! The director's own IPv6: IPv6 `[[addr]]`, `[[route]]`, `[[neigh.static]]` entries and
//! `[nd]`, accepted beside the IPv4 ones and refused with the key and the fix.

use std::net::Ipv6Addr;
use std::time::Duration;

use super::BASE;
use crate::config::ip6::Ipv6Net;
use crate::config::ipv6::{Addr6, NdConfig, Route6, StaticNeigh6};
use crate::config::{AddrKind, Config};

/// BASE with one IPv6 host address per port, a VIP, a local address, two routes and a static
/// neighbour.
fn v6_base() -> String {
    format!(
        "{BASE}\n{}",
        r#"
[[addr]]
port = "lan0"
ip = "2001:db8:0:1::1/64"
kind = "host"

[[addr]]
port = "wan0"
ip = "2001:db8:ff::1/64"
kind = "host"

[[addr]]
port = "lan0"
ip = "2001:db8:0:100::100/128"
kind = "vip"

[[addr]]
port = "wan0"
ip = "2001:db8:ff::50/128"
kind = "local"

[[route]]
dst = "::/0"
via = "fe80::1"
port = "wan0"

[[route]]
dst = "2001:db8:77::/48"
via = "2001:db8:0:1::fe"
port = "lan0"

[[neigh.static]]
ip = "2001:db8:0:1::fe"
mac = "52:54:00:00:00:fe"
port = "lan0"

[nd]
dad_transmits = 2
dad_retrans_ms = 500
"#
    )
}

fn v6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

#[track_caller]
fn rejects(text: &str, key: &str, words: &[&str]) {
    super::refused_at(text, key, words);
}

#[test]
fn absent_by_default() {
    let c = Config::from_toml_str(BASE).unwrap();
    assert!(!c.ipv6().enabled());
    assert_eq!(c.ipv6().nd, NdConfig::default());
    assert_eq!(c.ipv6().nd.dad_retrans, Duration::from_secs(1));
}

#[test]
fn ipv6_entries_are_checked_beside_the_ipv4_ones() {
    let c = Config::from_toml_str(&v6_base()).unwrap();
    let base = Config::from_toml_str(BASE).unwrap();
    // The IPv4 sections are what they were.
    assert_eq!(c.addrs(), base.addrs());
    assert_eq!(c.routes(), base.routes());
    assert_eq!(c.static_neighs(), base.static_neighs());
    let v = c.ipv6();
    assert_eq!(
        v.addrs,
        vec![
            Addr6 { port: 0, ip: v6("2001:db8:0:1::1"), prefix_len: 64, kind: AddrKind::Host },
            Addr6 { port: 1, ip: v6("2001:db8:ff::1"), prefix_len: 64, kind: AddrKind::Host },
            Addr6 { port: 0, ip: v6("2001:db8:0:100::100"), prefix_len: 128, kind: AddrKind::Vip },
            Addr6 { port: 1, ip: v6("2001:db8:ff::50"), prefix_len: 128, kind: AddrKind::Local },
        ]
    );
    assert_eq!(
        v.routes,
        vec![
            Route6 { dst: Ipv6Net::ANY, via: Some(v6("fe80::1")), port: 1, metric: 0 },
            Route6 {
                dst: "2001:db8:77::/48".parse().unwrap(),
                via: Some(v6("2001:db8:0:1::fe")),
                port: 0,
                metric: 0
            },
        ]
    );
    assert_eq!(
        v.neighs,
        vec![StaticNeigh6 {
            ip: v6("2001:db8:0:1::fe"),
            mac: [0x52, 0x54, 0, 0, 0, 0xfe],
            port: 0
        }]
    );
    assert_eq!(v.nd.dad_transmits, 2);
    assert_eq!(v.nd.dad_retrans, Duration::from_millis(500));
    assert!(v.enabled());
}

/// The error key counts every `[[addr]]` of the file, IPv4 and IPv6 alike: BASE has three.
#[test]
fn address_refusals_name_the_fix() {
    let t = v6_base();
    let cases: &[(&str, &str, &str, &[&str])] = &[
        ("2001:db8:0:1::1/64", "2001:db8:0:1::1", "addr[3].ip", &["no prefix length", "/64"]),
        ("2001:db8:0:1::1/64", "2001:db8:0:1::1/129", "addr[3].ip", &["0 to 128"]),
        (
            "2001:db8:0:1::1/64",
            "fe80::1/64",
            "addr[3].ip",
            &["link-local", "global or unique-local"],
        ),
        ("2001:db8:0:1::1/64", "ff02::1/64", "addr[3].ip", &["multicast"]),
        ("2001:db8:0:1::1/64", "::/64", "addr[3].ip", &["unspecified"]),
        ("2001:db8:0:1::1/64", "::ffff:10.0.0.9/64", "addr[3].ip", &["IPv4-mapped"]),
        ("2001:db8:0:1::1/64", "2001:db8:0:1::1/0", "addr[3].ip", &["every address", "/64"]),
        ("2001:db8:0:100::100/128", "2001:db8:0:100::100/64", "addr[5].ip", &["/128", "host"]),
        ("2001:db8:ff::50/128", "2001:db8:0:1::1/128", "addr[6].ip", &["already", "once"]),
        ("2001:db8:ff::1/64", "2001:db8::1/32", "addr[4].ip", &["overlaps", "lan0", "disjoint"]),
    ];
    for (from, to, key, words) in cases {
        rejects(&t.replacen(from, to, 1), key, words);
    }
    let standby = t.replacen("kind = \"vip\"\n", "kind = \"vip\"\nstandby = true\n", 2);
    rejects(&standby, "addr[5].standby", &["IPv6", "not built"]);
    rejects(
        &t.replacen("port = \"lan0\"\nip = \"2001", "port = \"lan9\"\nip = \"2001", 1),
        "addr[3].port",
        &["lan9"],
    );
}

#[test]
fn route_and_neighbour_refusals_name_the_fix() {
    let t = v6_base();
    // BASE has one route (the IPv4 default): the IPv6 ones are route[1] and route[2].
    rejects(&t.replacen("dst = \"::/0\"", "dst = \"default\"", 1), "route[1].dst", &["::/0"]);
    rejects(
        &t.replacen("2001:db8:77::/48", "2001:db8:77::1/48", 1),
        "route[2].dst",
        &["host bits", "2001:db8:77::/48"],
    );
    rejects(
        &t.replacen("via = \"fe80::1\"", "via = \"10.1.0.254\"", 1),
        "route[1].via",
        &["not an IPv6 address"],
    );
    rejects(
        &t.replacen("via = \"2001:db8:0:1::fe\"", "via = \"2001:db8:5::fe\"", 1),
        "route[2].via",
        &["not link-local", "lan0", "kind = \"host\""],
    );
    rejects(
        &t.replacen("via = \"2001:db8:0:1::fe\"", "via = \"2001:db8:ff::9\"", 1),
        "route[2].via",
        &["wan0", "use port = \"wan0\""],
    );
    rejects(
        &t.replacen("via = \"2001:db8:0:1::fe\"", "via = \"2001:db8:0:1::1\"", 1),
        "route[2].via",
        &["own address"],
    );
    rejects(
        &t.replacen("2001:db8:77::/48", "::/0", 1).replacen(
            "port = \"lan0\"\n\n[[neigh",
            "port = \"wan0\"\n\n[[neigh",
            1,
        ),
        "route[2].via",
        &["lan0"],
    );
    let dup = t.replacen(
        "2001:db8:77::/48\"\nvia = \"2001:db8:0:1::fe\"\nport = \"lan0\"",
        "::/0\"\nvia = \"fe80::2\"\nport = \"wan0\"",
        1,
    );
    rejects(&dup, "route[2].dst", &["already goes to ::/0", "metric"]);
    rejects(
        &t.replacen("ip = \"2001:db8:0:1::fe\"", "ip = \"2001:db8:9::fe\"", 1),
        "neigh.static[1].ip",
        &["not link-local"],
    );
    rejects(
        &t.replacen("ip = \"2001:db8:0:1::fe\"", "ip = \"2001:db8::zz\"", 1),
        "neigh.static[1].ip",
        &["not an IPv6 address"],
    );
    rejects(
        &t.replacen("52:54:00:00:00:fe", "33:33:00:00:00:01", 1),
        "neigh.static[1].mac",
        &["unicast"],
    );
}

#[test]
fn nd_refusals_name_the_fix() {
    let t = v6_base();
    rejects(
        &t.replacen("dad_transmits = 2", "dad_transmits = 11", 1),
        "nd.dad_transmits",
        &["0..=10"],
    );
    rejects(
        &t.replacen("dad_retrans_ms = 500", "dad_retrans_ms = 5", 1),
        "nd.dad_retrans_ms",
        &["10..=60000"],
    );
    rejects(&format!("{t}unsolicited_na = 4\n"), "nd.unsolicited_na", &["at most 3"]);
    rejects(&format!("{t}burst = 0\n"), "nd.burst", &["1 or more"]);
    assert!(Config::from_toml_str(&format!("{t}pps = 0\nburst = 0\n")).is_ok(), "unlimited");
    assert!(Config::from_toml_str(&t.replacen("dad_transmits = 2", "dad_transmits = 0", 1)).is_ok());
}

#[test]
fn ipv6_services_are_refused_until_the_data_path_has_them() {
    let svc = |vip: &str, laddr: &str| {
        format!(
            "{}\n[[service]]\nproto = \"tcp\"\nvip = \"{vip}\"\nladdrs = [\"{laddr}\"]\n[[service.dest]]\naddr = \"10.0.0.5\"\nfwd = \"fullnat\"\n",
            v6_base()
        )
    };
    rejects(
        &svc("[2001:db8:0:100::100]:80", "2001:db8:ff::50"),
        "service[0].vip",
        &["IPv6 services are not forwarded yet", "docs/ipv6.md"],
    );
    rejects(
        &svc("10.0.0.100:80", "2001:db8:ff::50"),
        "service[0].laddrs[0]",
        &["IPv6 services are not forwarded yet"],
    );
}
