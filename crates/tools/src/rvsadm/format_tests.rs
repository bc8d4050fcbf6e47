//! Golden tests of the listings. Expected texts live in tests/data/adm/*.txt, written from the
//! reference printf layouts by tests/data/adm/gen_golden.py (independent of this formatter);
//! each line there ends with `$` so trailing spaces are visible. Smaller cases below build their
//! expected lines with explicit C-width format strings.

use crate::rvsadm::cli::ListFormat;
use crate::rvsadm::conns::list_conns;
use crate::rvsadm::format::{list_all, list_local_addrs, list_service, list_timeouts};
use crate::rvsadm::names::{NoNames, StaticNames};
use crate::rvsadm::save::save;
use rvs_core::ipvs::sched::SchedFlags;
use rvs_core::ipvs::spec::*;
use rvs_proto::model::*;
use std::net::{IpAddr, SocketAddr};

fn golden(text: &str) -> String {
    text.lines()
        .map(|l| {
            let body = l.strip_suffix('$').expect("golden lines end with $");
            format!("{body}\n")
        })
        .collect()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn key(proto: Protocol, addr: &str, port: u16) -> ServiceKey {
    ServiceKey { proto, addr: ip(addr), port }
}

fn stats(v: [u64; 5]) -> Stats {
    Stats { conns: v[0], inpkts: v[1], outpkts: v[2], inbytes: v[3], outbytes: v[4] }
}

fn rates(v: [u64; 5]) -> Rates {
    Rates { cps: v[0], inpps: v[1], outpps: v[2], inbps: v[3], outbps: v[4] }
}

fn dest(addr: &str, port: u16, fwd: FwdMethod, weight: u32) -> DestInfo {
    let mut d = DestInfo::new(DestSpec::new(ip(addr), port));
    d.spec.fwd = fwd;
    d.spec.weight = weight;
    d
}

fn tun(kind: TunType, port: u16, csum: TunCsum) -> Option<TunInfo> {
    Some(TunInfo { kind, port, csum })
}

/// The scenario of gen_golden.py, deliberately out of order (services and dests).
pub(super) fn scenario() -> Vec<ServiceInfo> {
    // 2001:db8::10 TCP 443
    let mut v6 = ServiceInfo::new(ServiceSpec::new(key(Protocol::Tcp, "2001:db8::10", 443)));
    v6.spec.persistence = Some(600);
    v6.spec.netmask = Netmask::V6(64);
    v6.stats = stats([1, 2, 3, 4, 5]);
    let mut long6 = dest("2001:db8:ffff:ffff:ffff:ffff:ffff:fff1", 8443, FwdMethod::Masq, 1);
    long6.spec.port = 8443;
    let mut t4 = dest("10.9.9.9", 443, FwdMethod::Tunnel, 1);
    t4.spec.tun = tun(TunType::Ipip, 0, TunCsum::NoCsum);
    v6.dests = vec![dest("2001:db8::20", 443, FwdMethod::Route, 1), long6, t4];

    // 192.168.0.38 TCP 80 wrr
    let mut www = ServiceInfo::new(ServiceSpec::new(key(Protocol::Tcp, "192.168.0.38", 80)));
    www.spec.scheduler = "wrr".parse().unwrap();
    www.stats = stats([99_999_999, 100_000_000, 999_999_999, 1_000_000_000, 999_999_999_999]);
    www.rates = rates([12, 100_000_000, 7, 99_999_999_999, 100_000_000_000_000]);
    let mut d28 = dest("192.168.0.28", 80, FwdMethod::Route, 1);
    d28.stats = stats([1, 2, 3, 4, 5]);
    d28.rates = rates([1, 2, 3, 4, 5]);
    let mut d18 = dest("192.168.0.18", 80, FwdMethod::Route, 3);
    d18.active = 12;
    d18.inactive = 345;
    d18.persist = 2;
    d18.spec.upper = 1000;
    d18.spec.lower = 10;
    d18.stats = stats([123_456_789, 5, 0, 100_000_000_000, u64::MAX]);
    d18.rates = rates([100_000_000, 3, 99_999_999, 100_000_000, 5]);
    www.dests = vec![d28, d18];

    // 10.0.0.53 UDP 53
    let mut dns = ServiceInfo::new(ServiceSpec::new(key(Protocol::Udp, "10.0.0.53", 53)));
    dns.spec.scheduler = "rr".parse().unwrap();
    dns.spec.persistence = Some(360);
    dns.spec.netmask = Netmask::V4("255.255.255.0".parse().unwrap());
    dns.spec.one_packet = true;
    dns.dests = vec![dest("10.1.1.1", 5353, FwdMethod::Masq, 0)];

    // 10.0.0.2 TCP 80 rr flag-3
    let mut rr = ServiceInfo::new(ServiceSpec::new(key(Protocol::Tcp, "10.0.0.2", 80)));
    rr.spec.scheduler = "rr".parse().unwrap();
    rr.spec.flags = SchedFlags::FLAG_3;
    rr.dests =
        vec![dest("10.0.0.10", 80, FwdMethod::Local, 1), dest("10.0.0.9", 80, FwdMethod::Snat, 1)];

    // 10.0.0.1 TCP 0 sh
    let mut sh = ServiceInfo::new(ServiceSpec::new(key(Protocol::Tcp, "10.0.0.1", 0)));
    sh.spec.scheduler = "sh".parse().unwrap();
    sh.spec.flags = SchedFlags::FLAG_1.union(SchedFlags::FLAG_2);
    sh.spec.persistence = Some(300);
    let mut fnat = dest("172.16.0.5", 8080, FwdMethod::FullNat, 65_535);
    fnat.active = u32::MAX;
    fnat.inactive = 7;
    let mut gue = dest("172.16.0.6", 0, FwdMethod::Tunnel, 2);
    gue.spec.tun = tun(TunType::Gue, 6080, TunCsum::RemCsum);
    let mut gre = dest("172.16.0.7", 0, FwdMethod::Tunnel, 2);
    gre.spec.tun = tun(TunType::Gre, 0, TunCsum::Csum);
    // No tunnel details at all: shows and saves as ipip, like ipvsadm.
    let ipip = dest("172.16.0.8", 0, FwdMethod::Tunnel, 2);
    sh.dests = vec![ipip, gre, gue, fnat];

    vec![v6, www, dns, rr, sh]
}

fn names() -> StaticNames {
    StaticNames::from_text(
        "192.168.0.38 vip-www.frontend.example.org\n192.168.0.18 web1\n\
         192.168.0.28 backend-server-number-28.lan\n\
         2001:db8::20 v6-real-server-with-an-extremely-long-name.example.net\n",
        "http 80/tcp www\ndomain 53/udp\nhttps 443/tcp\n",
    )
}

fn numeric() -> ListFormat {
    ListFormat { numeric: true, ..ListFormat::default() }
}

#[test]
fn list_numeric_golden() {
    let got = list_all(4096, &scenario(), &numeric(), &NoNames);
    assert_eq!(got, golden(include_str!("../../../../tests/data/adm/list_n.txt")));
}

#[test]
fn list_with_names_golden() {
    let got = list_all(4096, &scenario(), &ListFormat::default(), &names());
    assert_eq!(got, golden(include_str!("../../../../tests/data/adm/list_names.txt")));
}

#[test]
fn list_stats_golden() {
    let f = ListFormat { stats: true, ..numeric() };
    let got = list_all(4096, &scenario(), &f, &NoNames);
    assert_eq!(got, golden(include_str!("../../../../tests/data/adm/list_stats.txt")));
}

#[test]
fn list_stats_exact_golden() {
    let f = ListFormat { stats: true, exact: true, ..numeric() };
    let got = list_all(4096, &scenario(), &f, &NoNames);
    assert_eq!(got, golden(include_str!("../../../../tests/data/adm/list_stats_exact.txt")));
}

#[test]
fn list_rate_golden() {
    let f = ListFormat { rate: true, ..numeric() };
    let got = list_all(4096, &scenario(), &f, &NoNames);
    assert_eq!(got, golden(include_str!("../../../../tests/data/adm/list_rate.txt")));
}

#[test]
fn stats_wins_over_rate_like_ipvsadm() {
    let f = ListFormat { stats: true, rate: true, ..numeric() };
    let got = list_all(4096, &scenario(), &f, &NoNames);
    assert_eq!(got, golden(include_str!("../../../../tests/data/adm/list_stats.txt")));
}

#[test]
fn list_thresholds_golden() {
    let f = ListFormat { thresholds: true, ..numeric() };
    let got = list_all(4096, &scenario(), &f, &NoNames);
    assert_eq!(got, golden(include_str!("../../../../tests/data/adm/list_thresholds.txt")));
}

#[test]
fn list_persistent_conn_golden() {
    let f = ListFormat { persistent_conn: true, ..numeric() };
    let got = list_all(4096, &scenario(), &f, &NoNames);
    assert_eq!(got, golden(include_str!("../../../../tests/data/adm/list_persistent_conn.txt")));
}

#[test]
fn list_tun_info_golden() {
    let f = ListFormat { tun_info: true, ..numeric() };
    let got = list_all(4096, &scenario(), &f, &NoNames);
    assert_eq!(got, golden(include_str!("../../../../tests/data/adm/list_tun_info.txt")));
}

#[test]
fn save_golden() {
    assert_eq!(
        save(&scenario(), true, &NoNames),
        golden(include_str!("../../../../tests/data/adm/save_n.txt"))
    );
    assert_eq!(
        save(&scenario(), false, &names()),
        golden(include_str!("../../../../tests/data/adm/save_names.txt"))
    );
}

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn conn(
    proto: Protocol,
    state: &str,
    expire_s: u32,
    c: &str,
    v: &str,
    d: &str,
    l: Option<&str>,
) -> ConnEntry {
    ConnEntry {
        proto,
        state: state.into(),
        expire_s,
        client: sa(c),
        virt: sa(v),
        dest: sa(d),
        local: l.map(sa),
    }
}

fn conns() -> Vec<ConnEntry> {
    vec![
        conn(
            Protocol::Tcp,
            "ESTABLISHED",
            899,
            "10.1.1.5:51234",
            "192.168.0.38:80",
            "192.168.0.18:80",
            None,
        ),
        conn(Protocol::Udp, "UDP", 300, "10.1.1.6:5000", "10.0.0.53:53", "10.1.1.1:5353", None),
        conn(
            Protocol::Tcp,
            "FIN_WAIT",
            6005,
            "[2001:db8::99]:40000",
            "[2001:db8::10]:443",
            "[2001:db8::20]:443",
            None,
        ),
        conn(
            Protocol::Tcp,
            "SYN_RECV",
            30,
            "203.0.113.7:1025",
            "10.0.0.1:8080",
            "172.16.0.5:8080",
            Some("172.16.0.250:20001"),
        ),
    ]
}

#[test]
fn conns_golden() {
    let all = conns();
    let plain = all.get(..3).unwrap();
    assert_eq!(
        list_conns(plain, &numeric(), &NoNames),
        golden(include_str!("../../../../tests/data/adm/conns_n.txt"))
    );
    assert_eq!(
        list_conns(&all, &numeric(), &NoNames),
        golden(include_str!("../../../../tests/data/adm/conns_fullnat.txt"))
    );
}

#[test]
fn conns_reference_example() {
    // The example of the reference, line by line with the C widths.
    let c = vec![conn(
        Protocol::Tcp,
        "ESTABLISHED",
        899,
        "10.1.1.5:51234",
        "192.168.0.38:80",
        "192.168.0.18:80",
        None,
    )];
    let want = format!(
        "IPVS connection entries\npro expire {:<11} {:<18} {:<18} {}\n{:<3} {:<6} {:<11} {:<18} {:<18} {}\n",
        "state", "source", "virtual", "destination",
        "TCP", "14:59", "ESTABLISHED", "10.1.1.5:51234", "192.168.0.38:80", "192.168.0.18:80"
    );
    assert_eq!(list_conns(&c, &numeric(), &NoNames), want);
    // With --persistent-conn the header has the pe columns; rows without pe data do not.
    let f = ListFormat { persistent_conn: true, ..numeric() };
    let got = list_conns(&c, &f, &NoNames);
    let header = format!(
        "pro expire {:<11} {:<18} {:<18} {:<18} {:<16} {}\n",
        "state", "source", "virtual", "destination", "pe name", "pe_data"
    );
    assert_eq!(got.lines().nth(1).map(|l| format!("{l}\n")), Some(header));
}

#[test]
fn reference_example_listing() {
    // The `-L -n` example of the reference, typed in with its trailing spaces marked.
    let mut s = ServiceInfo::new(ServiceSpec::new(key(Protocol::Tcp, "192.168.0.38", 80)));
    s.spec.scheduler = "wrr".parse().unwrap();
    s.dests = vec![
        dest("192.168.0.28", 80, FwdMethod::Route, 1),
        dest("192.168.0.18", 80, FwdMethod::Route, 3),
    ];
    let want = "IP Virtual Server version 1.2.1 (size=4096)$
Prot LocalAddress:Port Scheduler Flags$
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn$
TCP  192.168.0.38:80 wrr$
  -> 192.168.0.18:80              Route   3      0          0         $
  -> 192.168.0.28:80              Route   1      0          0         $
";
    assert_eq!(list_all(4096, &[s], &numeric(), &NoNames), golden(want));
}

#[test]
fn nosort_keeps_given_order() {
    let f = ListFormat { nosort: true, ..numeric() };
    let got = list_all(4096, &scenario(), &f, &NoNames);
    let services: Vec<&str> =
        got.lines().filter(|l| l.starts_with("TCP") || l.starts_with("UDP")).collect();
    assert_eq!(
        services,
        [
            "TCP  [2001:db8::10]:443 wlc persistent 600 mask 64",
            "TCP  192.168.0.38:80 wrr",
            "UDP  10.0.0.53:53 rr persistent 360 mask 255.255.255.0 ops",
            "TCP  10.0.0.2:80 rr (flag-3)",
            "TCP  10.0.0.1:0 sh (sh-fallback,sh-port) persistent 300",
        ]
    );
    let first_dest = got.lines().nth(4).unwrap_or_default();
    assert!(first_dest.starts_with("  -> [2001:db8::20]:443 "), "{first_dest}");
}

#[test]
fn one_service_has_no_banner() {
    let s = scenario().into_iter().find(|s| s.spec.key.port == 53).unwrap();
    let want = format!(
        "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\nUDP  10.0.0.53:53 rr persistent 360 mask 255.255.255.0 ops\n  -> {:<28} {:<7} {:<6} {:<10} {:<10}\n",
        "10.1.1.1:5353", "Masq", 0, 0, 0
    );
    assert_eq!(list_service(&s, &numeric(), &NoNames), want);
}

#[test]
fn timeouts_line() {
    assert_eq!(list_timeouts(&Timeouts::default()), "Timeout (tcp tcpfin udp): 900 120 300\n");
}

#[test]
fn local_address_listing() {
    let list = vec![ServiceLocalAddrs {
        key: key(Protocol::Tcp, "10.0.0.1", 80),
        laddrs: vec![
            LocalAddrInfo {
                spec: LocalAddrSpec { addr: ip("172.16.0.250"), ifname: Some("dpdk0".into()) },
                conflicts: 3,
                conns: 42,
            },
            LocalAddrInfo {
                spec: LocalAddrSpec { addr: ip("172.16.0.251"), ifname: None },
                conflicts: 0,
                conns: 0,
            },
        ],
    }];
    // `%-20s %-8s %-20s %-10s %-10s %s`; the service line is `%-20s %-8u ` (trailing space).
    let want = golden(
        "\
VIP:VPORT            TOTAL    LADDR                CONFLICTS  CONNS      IFNAME$
10.0.0.1:80          2        $
                              172.16.0.250         3          42         dpdk0$
                              172.16.0.251         0          0          -$
",
    );
    assert_eq!(list_local_addrs(&list), want);
}

#[test]
fn save_writes_local_addresses_after_their_service() {
    let k = key(Protocol::Tcp, "10.0.0.1", 80);
    let mut s = ServiceInfo::new(ServiceSpec::new(k));
    s.spec.scheduler = "rr".parse().unwrap();
    let mut d = DestSpec::new(ip("192.168.1.10"), 8080);
    d.fwd = FwdMethod::FullNat;
    s.dests.push(DestInfo::new(d));
    let laddrs = vec![ServiceLocalAddrs {
        key: k,
        laddrs: vec![
            LocalAddrInfo {
                spec: LocalAddrSpec { addr: ip("192.168.1.200"), ifname: Some("p1".into()) },
                conflicts: 0,
                conns: 0,
            },
            LocalAddrInfo {
                spec: LocalAddrSpec { addr: ip("192.168.1.201"), ifname: None },
                conflicts: 0,
                conns: 0,
            },
        ],
    }];
    assert_eq!(
        crate::rvsadm::save::save_with(&[s], &laddrs, true, &NoNames),
        "-A -t 10.0.0.1:80 -s rr\n\
         -a -t 10.0.0.1:80 -r 192.168.1.10:8080 -b -w 1\n\
         -P -t 10.0.0.1:80 -z 192.168.1.200 -F p1\n\
         -P -t 10.0.0.1:80 -z 192.168.1.201\n"
    );
}

fn lan_match() -> MatchService {
    let mut d = DestSpec::new(ip("192.0.2.200"), 0);
    d.fwd = FwdMethod::Snat;
    MatchService {
        spec: MatchSpec {
            proto: SnatProto::Tcp,
            src: Some(AddrRange { first: ip("10.0.0.1"), last: ip("10.0.0.254") }),
            dst: None,
        },
        scheduler: "rr".parse().unwrap(),
        dests: vec![DestInfo::new(d)],
        stats: Default::default(),
        rates: Default::default(),
        synproxy: false,
    }
}

#[test]
fn match_services_list_as_dpvs_prints_them() {
    let any_to = MatchService {
        spec: MatchSpec {
            proto: SnatProto::Udp,
            src: None,
            dst: Some(AddrRange { first: ip("8.8.8.8"), last: ip("8.8.8.8") }),
        },
        scheduler: "wlc".parse().unwrap(),
        dests: vec![],
        stats: Default::default(),
        rates: Default::default(),
        synproxy: false,
    };
    let fmt = ListFormat { numeric: true, ..ListFormat::default() };
    // Service line "%s %s" (name, scheduler); real server "  -> %-28s %-7s %-6d %-10u %-10u".
    let want = golden(
        "\
MATCH tcp,from=10.0.0.1-10.0.0.254:0-0 rr$
  -> 192.0.2.200:0                SNAT    1      0          0         $
MATCH udp,to=8.8.8.8-8.8.8.8:0-0 wlc$
",
    );
    assert_eq!(
        crate::rvsadm::format::list_matches(&[lan_match(), any_to.clone()], &fmt, &NoNames),
        want
    );
    // After the banner and the virtual services of `-L -n`.
    let all = list_all(4096, &[], &fmt, &NoNames)
        + &crate::rvsadm::format::list_matches(&[lan_match()], &fmt, &NoNames);
    assert_eq!(
        all,
        golden(
            "\
IP Virtual Server version 1.2.1 (size=4096)$
Prot LocalAddress:Port Scheduler Flags$
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn$
MATCH tcp,from=10.0.0.1-10.0.0.254:0-0 rr$
  -> 192.0.2.200:0                SNAT    1      0          0         $
"
        )
    );
    // Layouts of what match services do not have leave them out.
    for f in [
        ListFormat { thresholds: true, ..fmt },
        ListFormat { persistent_conn: true, ..fmt },
        ListFormat { tun_info: true, ..fmt },
    ] {
        assert_eq!(crate::rvsadm::format::list_matches(&[lan_match()], &f, &NoNames), "");
    }
}

#[test]
fn a_match_service_with_the_syn_proxy_says_so_at_the_end_of_its_line() {
    let m = MatchService { synproxy: true, ..lan_match() };
    let fmt = ListFormat { numeric: true, ..ListFormat::default() };
    assert_eq!(
        crate::rvsadm::format::list_matches(&[m], &fmt, &NoNames),
        golden(
            "\
MATCH tcp,from=10.0.0.1-10.0.0.254:0-0 rr synproxy$
  -> 192.0.2.200:0                SNAT    1      0          0         $
"
        )
    );
}

#[test]
fn match_services_list_their_counters_as_services_do() {
    // Live connections in the plain layout's real-server line.
    let mut m = lan_match();
    m.dests[0].active = 3;
    m.dests[0].inactive = 12;
    let fmt = ListFormat { numeric: true, ..ListFormat::default() };
    assert_eq!(
        crate::rvsadm::format::list_matches(&[m.clone()], &fmt, &NoNames),
        golden(
            "\
MATCH tcp,from=10.0.0.1-10.0.0.254:0-0 rr$
  -> 192.0.2.200:0                SNAT    1      3          12        $
"
        )
    );
    // --stats: "%-33s" then five large numbers (%9llu, or %8llu and K/M/G/T); real servers
    // "  -> %-28s" then the same. The name (38 bytes) is not cut; a short one is padded.
    let st = stats([5, 1234, 100_000_000, 1_000_000_000, 100_000_000_000_000]);
    m.stats = st;
    m.dests[0].stats = st;
    m.rates = rates([3, 40, 50, 100_000_000, 7]);
    m.dests[0].rates = m.rates;
    let udp = MatchService {
        spec: MatchSpec {
            proto: SnatProto::Udp,
            src: None,
            dst: Some(AddrRange { first: ip("8.8.8.8"), last: ip("8.8.8.8") }),
        },
        scheduler: "wlc".parse().unwrap(),
        dests: vec![],
        stats: Default::default(),
        rates: Default::default(),
        synproxy: false,
    };
    let both = [m, udp];
    let list = |f: ListFormat| crate::rvsadm::format::list_matches(&both, &f, &NoNames);
    assert_eq!(
        list(ListFormat { stats: true, ..fmt }),
        golden(
            "\
MATCH tcp,from=10.0.0.1-10.0.0.254:0-0        5     1234  100000K    1000M     100T$
  -> 192.0.2.200:0                       5     1234  100000K    1000M     100T$
MATCH udp,to=8.8.8.8-8.8.8.8:0-0         0        0        0        0        0$
"
        )
    );
    // --exact: full numbers in max(9, digits + 1) columns.
    assert_eq!(
        list(ListFormat { stats: true, exact: true, ..fmt }),
        golden(
            "\
MATCH tcp,from=10.0.0.1-10.0.0.254:0-0        5     1234 100000000 1000000000 100000000000000$
  -> 192.0.2.200:0                       5     1234 100000000 1000000000 100000000000000$
MATCH udp,to=8.8.8.8-8.8.8.8:0-0         0        0        0        0        0$
"
        )
    );
    // --rate: the service line all large numbers; real servers " %8u" three times, then two.
    assert_eq!(
        list(ListFormat { rate: true, ..fmt }),
        golden(
            "\
MATCH tcp,from=10.0.0.1-10.0.0.254:0-0        3       40       50  100000K        7$
  -> 192.0.2.200:0                       3       40       50  100000K        7$
MATCH udp,to=8.8.8.8-8.8.8.8:0-0         0        0        0        0        0$
"
        )
    );
}

#[test]
fn synproxy_is_listed_and_saved_after_ipvsadm_options() {
    let mut s = scenario().into_iter().find(|s| s.spec.key.port == 80).unwrap();
    s.spec.synproxy = true;
    s.spec.flags = SchedFlags::FLAG_3;
    let listed = list_service(&s, &numeric(), &NoNames);
    assert!(listed.lines().nth(2).unwrap().ends_with(" synproxy"), "{listed}");
    let saved = save(std::slice::from_ref(&s), true, &NoNames);
    let first = saved.lines().next().unwrap();
    assert!(first.starts_with("-A -t ") && first.ends_with(" -b flag-3 --synproxy"), "{first}");
}

#[test]
fn sloppy_is_saved_and_listed() {
    let key = ServiceKey { proto: Protocol::Tcp, addr: "10.0.0.1".parse().unwrap(), port: 80 };
    let mut spec = ServiceSpec::new(key);
    spec.scheduler = "mh".parse().unwrap();
    spec.sloppy = true;
    let svcs = [ServiceInfo::new(spec)];
    assert_eq!(save(&svcs, true, &NoNames), "-A -t 10.0.0.1:80 -s mh --sloppy\n");
    let listed = list_all(4096, &svcs, &numeric(), &NoNames);
    assert!(listed.contains("TCP  10.0.0.1:80 mh sloppy\n"), "{listed}");
}

#[test]
fn announced_lists_each_vip_with_its_state() {
    use rvs_proto::announce::{AnnounceStatus, VipState};
    let s = AnnounceStatus {
        draining: false,
        vips: vec![
            ("192.168.100.100".parse().unwrap(), VipState::Announced),
            ("192.168.100.101".parse().unwrap(), VipState::NoHealthyServer),
        ],
        bgp: None,
    };
    assert_eq!(
        crate::rvsadm::format::announced(&s),
        "draining no\n192.168.100.100 announced\n192.168.100.101 withdrawn (no real server with weight above 0)\n"
    );
}

#[test]
fn announced_lists_the_bgp_sessions_as_the_daemon_reported_them() {
    use rvs_proto::announce::{AnnounceStatus, BgpSession, BgpView};
    let mut s = AnnounceStatus {
        draining: true,
        vips: vec![],
        bgp: Some(BgpView::Sessions(vec![BgpSession {
            name: "upstream".into(),
            state: "up".into(),
            info: "Established".into(),
            established: true,
        }])),
    };
    assert_eq!(crate::rvsadm::format::announced(&s), "draining yes\nbgp upstream up Established\n");
    s.bgp = Some(BgpView::Unreachable("no such file".into()));
    assert_eq!(
        crate::rvsadm::format::announced(&s),
        "draining yes\nbgp daemon unreachable: no such file\n"
    );
}

#[test]
fn conns_printed_as_chunks_arrive_are_the_same_bytes() {
    use crate::rvsadm::conns::ConnWriter;
    let all = conns();
    let with_o = ListFormat { persistent_conn: true, ..numeric() };
    for fmt in [numeric(), with_o] {
        for rows in [all.get(..3).unwrap(), &all[..], &all[3..], &[]] {
            let whole = list_conns(rows, &fmt, &NoNames);
            // Every way of cutting the rows into two or three chunks, empty chunks included.
            for a in 0..=rows.len() {
                for b in a..=rows.len() {
                    let mut w = ConnWriter::new(&fmt, &NoNames);
                    let mut out = String::new();
                    for part in [&rows[..a], &rows[a..b], &rows[b..]] {
                        out.push_str(&w.push(part.to_vec()));
                    }
                    out.push_str(&w.finish());
                    assert_eq!(out, whole, "cut at {a} and {b}");
                }
            }
        }
    }
    // The first row with a local address prints the header and what was held at once.
    let fmt = numeric();
    let mut w = ConnWriter::new(&fmt, &NoNames);
    assert_eq!(w.push(all[..1].to_vec()), "");
    let now = w.push(all[3..].to_vec());
    assert!(now.starts_with("IPVS connection entries\n") && now.lines().count() == 4, "{now}");
    assert_eq!(w.push(all[1..2].to_vec()).lines().count(), 1);
    assert_eq!(w.finish(), "");
}

#[test]
fn conns_told_their_header_print_every_chunk_as_it_arrives_and_the_same_bytes() {
    use crate::rvsadm::conns::ConnWriter;
    let all = conns();
    let with_o = ListFormat { persistent_conn: true, ..numeric() };
    for fmt in [numeric(), with_o] {
        for rows in [all.get(..3).unwrap(), &all[..], &all[3..], &[]] {
            let whole = list_conns(rows, &fmt, &NoNames);
            let column = rows.iter().any(|c| c.local.is_some());
            // Every way of cutting the rows into three chunks; rvsd tells the header in the
            // first. Each chunk's rows are printed at once: nothing is held.
            for a in 0..=rows.len() {
                for b in a..=rows.len() {
                    let mut w = ConnWriter::new(&fmt, &NoNames);
                    let mut out = String::new();
                    for (i, part) in [&rows[..a], &rows[a..b], &rows[b..]].into_iter().enumerate() {
                        let now = w.push_chunk((i == 0).then_some(column), part.to_vec());
                        let header = if i == 0 { 2 } else { 0 };
                        assert_eq!(now.lines().count(), header + part.len(), "cut at {a} and {b}");
                        assert_eq!(w.held(), 0);
                        out.push_str(&now);
                    }
                    out.push_str(&w.finish());
                    assert_eq!(out, whole, "cut at {a} and {b}");
                }
            }
        }
    }
    // Without rvsd's word (an older rvsd, a limited listing) rows are held as before.
    let fmt = numeric();
    let mut w = ConnWriter::new(&fmt, &NoNames);
    assert_eq!(w.push_chunk(None, all[..2].to_vec()), "");
    assert_eq!(w.held(), 2);
    // A row with a local address after a header without the column (a FULLNAT connection
    // made during the listing) still shows its local address.
    let mut w = ConnWriter::new(&fmt, &NoNames);
    let head = w.push_chunk(Some(false), all[..1].to_vec());
    assert!(!head.lines().nth(1).unwrap().contains("local"), "{head}");
    assert!(w.push_chunk(None, all[3..].to_vec()).trim_end().ends_with("172.16.0.250:20001"));
}

fn limited() -> ServiceInfo {
    let mut spec = ServiceSpec::new(key(Protocol::Tcp, "10.0.0.1", 80));
    spec.scheduler = "rr".parse().unwrap();
    spec.set_limits(ServiceLimits {
        conn_limit: 1000,
        source_rate: 20,
        source_burst: 0,
        allow: (0..10).map(|i| format!("10.{i}.0.0/16").parse().unwrap()).collect(),
        deny: vec!["10.9.9.0/24".parse().unwrap()],
    });
    ServiceInfo::new(spec)
}

#[test]
fn limits_are_listed_on_a_line_of_their_own_and_saved() {
    let svcs = [limited()];
    let listed = list_all(4096, &svcs, &numeric(), &NoNames);
    let want = "TCP  10.0.0.1:80 rr\n  limits conn-limit 1000 source-rate 20 allow \
                10.0.0.0/16,10.1.0.0/16,10.2.0.0/16,10.3.0.0/16,10.4.0.0/16,10.5.0.0/16,\
                10.6.0.0/16,10.7.0.0/16,... (10 prefixes) deny 10.9.9.0/24\n";
    assert!(listed.contains(want), "{listed}");
    let allow: Vec<String> = (0..10).map(|i| format!("10.{i}.0.0/16")).collect();
    assert_eq!(
        save(&svcs, true, &NoNames),
        format!(
            "-A -t 10.0.0.1:80 -s rr --conn-limit 1000 --source-rate 20 --allow {} --deny 10.9.9.0/24\n",
            allow.join(",")
        )
    );
    // Stats and rate listings keep ipvsadm's layout.
    let mut stats = numeric();
    stats.stats = true;
    assert!(!list_all(4096, &svcs, &stats, &NoNames).contains("limits"));
}

#[test]
fn a_service_without_limits_lists_and_saves_as_ipvsadm() {
    let svcs = [ServiceInfo::new(ServiceSpec::new(key(Protocol::Tcp, "10.0.0.1", 80)))];
    assert_eq!(save(&svcs, true, &NoNames), "-A -t 10.0.0.1:80 -s wlc\n");
    assert!(!list_all(4096, &svcs, &numeric(), &NoNames).contains("limits"));
}

#[test]
fn limits_survive_save_then_restore() {
    use crate::rvsadm::cli::{parse, Command};
    use rvs_proto::change::Change;
    let mut s = limited();
    let mut l = s.spec.limits().clone();
    l.source_burst = 35;
    s.spec.set_limits(l);
    let saved = save(std::slice::from_ref(&s), true, &NoNames);
    let mut argv = vec!["rvsadm"];
    argv.extend(saved.split_whitespace());
    assert_eq!(parse(&argv, &NoNames), Ok(Command::Change(Change::AddService(s.spec))));
}
