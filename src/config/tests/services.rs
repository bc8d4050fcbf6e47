//! Services in the config: the same table as the `rvsadm` commands they stand for (the seeds'
//! DR lab and a config using every key), the written form ([`to_toml`]) read back to the same
//! table, and arbitrary service sections that must never panic.

use std::net::IpAddr;

use proptest::prelude::*;

use super::BASE;
use crate::config::{to_toml, Config};
use crate::ctrl::table::ServiceTable;
use crate::ipvs::spec::{AddrRange, Protocol, ServiceKey, SnatProto, SnatRule, Timeouts};
use crate::rvsadm::names::NoNames;
use crate::rvsadm::restore::parse_restore;
use crate::rvsadm::save::save;

/// Addresses the service tests use, added to `BASE` (which has host 10.0.0.1/24 on lan0,
/// 10.1.0.1/24 on wan0 and the VIP 10.0.0.100).
pub(super) const ADDRS: &str = r#"
[[addr]]
port = "lan0"
ip = "10.0.0.101/32"
kind = "vip"

[[addr]]
port = "wan0"
ip = "10.1.0.11/32"
kind = "local"

[[addr]]
port = "wan0"
ip = "10.1.0.12/32"
kind = "local"
"#;

/// `BASE` with [`ADDRS`] and `services` appended.
pub(super) fn with_services(services: &str) -> String {
    format!("{BASE}{ADDRS}{services}")
}

/// Every service key in use.
const FULL: &str = r#"
[timeouts]
tcp = 1000
udp = 60

[[service]]
proto = "tcp"
vip = "10.0.0.100:80"
scheduler = "rr"

[[service.dest]]
addr = "10.0.0.12"
fwd = "dr"

[[service.dest]]
addr = "10.0.0.13:80"
fwd = "route"
weight = 3

[[service]]
proto = "tcp"
vip = "10.0.0.101:443"
scheduler = "sh"
flags = ["sh-port", "sh-fallback"]
persistence = 600
netmask = "255.255.255.0"
laddrs = ["10.1.0.11", "10.1.0.12"]
toa = true

[[service.dest]]
addr = "10.1.0.20:8443"
fwd = "fullnat"
weight = 2
upper = 100
lower = 10

[[service]]
proto = "udp"
vip = "10.0.0.100:53"
one_packet = true

[[service.dest]]
addr = "10.0.0.30:5353"
fwd = "masq"

[[service.dest]]
addr = "10.0.0.31"
fwd = "tun"
tun_type = "gue"
tun_port = 6080
tun_csum = "remcsum"

[[service.dest]]
addr = "10.0.0.32"
fwd = "ipip"

[[service]]
proto = "tcp"
vip = "10.0.0.101:0"
persistence = 300

[[service.dest]]
addr = "10.0.0.40"
fwd = "gatewaying"
weight = 0

[[snat]]
src = "10.0.0.0/24"
out = "10.1.0.11"

[[snat]]
src = "10.0.0.5-10.0.0.9"
dst = "203.0.113.0/24"
proto = "icmp"
out = "10.1.0.12"
"#;

/// The table `rvsadm` builds from `lines` (in `-R` form).
fn rvsadm(lines: &str) -> ServiceTable {
    let mut t = ServiceTable::new();
    for cmd in parse_restore("rvsadm", lines, &NoNames).unwrap() {
        t.apply(&cmd).unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    }
    t
}

fn config(text: &str) -> Config {
    Config::from_toml_str(text).unwrap_or_else(|e| panic!("refused: {e}"))
}

fn tcp(addr: &str, port: u16) -> ServiceKey {
    ServiceKey { proto: Protocol::Tcp, addr: addr.parse().unwrap(), port }
}

#[test]
fn seeds_dr_lab_is_the_same_table_as_its_rvsadm_commands() {
    let text = r#"
[eal]
no_huge = true
no_pci = true
vdevs = ["net_af_packet0,iface=eth0"]

[[port]]
name = "lan0"
device = "net_af_packet0"

[[addr]]
port = "lan0"
ip = "192.168.1.11/24"
kind = "host"

[[addr]]
port = "lan0"
ip = "192.168.1.100/32"
kind = "vip"

[[worker]]
lcore = 1
rx = [{ port = "lan0", queue = 0 }]

[[service]]
proto = "tcp"
vip = "192.168.1.100:80"
scheduler = "rr"

[[service.dest]]
addr = "192.168.1.12"
fwd = "dr"

[[service.dest]]
addr = "192.168.1.13"
fwd = "dr"
"#;
    let c = config(text);
    let want = rvsadm(
        "ipvsadm -A -t 192.168.1.100:80 -s rr
         ipvsadm -a -t 192.168.1.100:80 -r 192.168.1.12 -g
         ipvsadm -a -t 192.168.1.100:80 -r 192.168.1.13 -g",
    );
    assert_eq!(*c.services(), want);
    // Both views print the same `-S`.
    assert_eq!(
        save(c.services().services(), true, &NoNames),
        "-A -t 192.168.1.100:80 -s rr\n\
         -a -t 192.168.1.100:80 -r 192.168.1.12:80 -g -w 1\n\
         -a -t 192.168.1.100:80 -r 192.168.1.13:80 -g -w 1\n"
    );
    assert_eq!(c.timeouts(), Timeouts::default());
    assert!(c.snat_rules().is_empty());
    // And the config view of that table, exactly.
    assert_eq!(
        to_toml(c.services(), c.snat_rules(), c.timeouts()),
        r#"[timeouts]
tcp = 900
tcpfin = 120
udp = 300

[[service]]
proto = "tcp"
vip = "192.168.1.100:80"
scheduler = "rr"

[[service.dest]]
addr = "192.168.1.12:80"
fwd = "dr"
weight = 1

[[service.dest]]
addr = "192.168.1.13:80"
fwd = "dr"
weight = 1
"#
    );
}

#[test]
fn every_key_builds_what_the_rvsadm_commands_build() {
    let c = config(&with_services(FULL));
    let mut want = rvsadm(
        "rvsadm --set 1000 0 60
         rvsadm -A -t 10.0.0.100:80 -s rr
         rvsadm -a -t 10.0.0.100:80 -r 10.0.0.12 -g
         rvsadm -a -t 10.0.0.100:80 -r 10.0.0.13:80 -g -w 3
         rvsadm -A -t 10.0.0.101:443 -s sh -b sh-port,sh-fallback -p 600 -M 255.255.255.0
         rvsadm -a -t 10.0.0.101:443 -r 10.1.0.20:8443 -b -w 2 -x 100 -y 10
         rvsadm -P -t 10.0.0.101:443 -z 10.1.0.11
         rvsadm -P -t 10.0.0.101:443 -z 10.1.0.12
         rvsadm -A -u 10.0.0.100:53 -o
         rvsadm -a -u 10.0.0.100:53 -r 10.0.0.30:5353 -m
         rvsadm -a -u 10.0.0.100:53 -r 10.0.0.31 -i --tun-type gue --tun-port 6080 --tun-remcsum
         rvsadm -a -u 10.0.0.100:53 -r 10.0.0.32 -i
         rvsadm -A -t 10.0.0.101:0 -p 300
         rvsadm -a -t 10.0.0.101:0 -r 10.0.0.40 -g -w 0",
    );
    // TOA has no rvsadm option: the one setting only the config gives.
    want.service_mut(&tcp("10.0.0.101", 443)).unwrap().spec.toa = true;
    assert_eq!(*c.services(), want);
    assert_eq!(c.timeouts(), Timeouts { tcp: 1000, tcpfin: 120, udp: 60 });
    let range =
        |a: &str, b: &str| Some(AddrRange { first: a.parse().unwrap(), last: b.parse().unwrap() });
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    assert_eq!(
        c.snat_rules(),
        [
            SnatRule {
                src: range("10.0.0.0", "10.0.0.255"),
                dst: None,
                proto: SnatProto::Any,
                out_addr: ip("10.1.0.11"),
                synproxy: false,
            },
            SnatRule {
                src: range("10.0.0.5", "10.0.0.9"),
                dst: range("203.0.113.0", "203.0.113.255"),
                proto: SnatProto::Icmp,
                out_addr: ip("10.1.0.12"),
                synproxy: false,
            },
        ]
    );
}

/// `BASE` and its addresses with the sections `to_toml` wrote for `c`.
fn rewritten(c: &Config) -> String {
    with_services(&to_toml(c.services(), c.snat_rules(), c.timeouts()))
}

#[test]
fn config_to_table_to_toml_to_config_is_the_same() {
    let c = config(&with_services(FULL));
    let again = config(&rewritten(&c));
    assert_eq!(again.services(), c.services());
    assert_eq!(again.snat_rules(), c.snat_rules());
    assert_eq!(again.timeouts(), c.timeouts());
    // Written forms: ipvsadm's long names become the config's, flags by the scheduler's names.
    let text = to_toml(c.services(), c.snat_rules(), c.timeouts());
    for line in [
        "flags = [\"sh-fallback\", \"sh-port\"]",
        "laddrs = [\"10.1.0.11\", \"10.1.0.12\"]",
        "toa = true",
        "netmask = \"255.255.255.0\"",
        "fwd = \"nat\"",
        "tun_type = \"gue\"\ntun_port = 6080\ntun_csum = \"remcsum\"",
        "addr = \"10.0.0.32:53\"\nfwd = \"tun\"\nweight = 1\ntun_type = \"ipip\"\n",
        "upper = 100\nlower = 10",
        "vip = \"10.0.0.101:0\"\nscheduler = \"wlc\"\npersistence = 300\n",
        "src = \"10.0.0.5-10.0.0.9\"\ndst = \"203.0.113.0/24\"\nproto = \"icmp\"",
        "[timeouts]\ntcp = 1000\ntcpfin = 120\nudp = 60\n",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    assert_eq!(to_toml(again.services(), again.snat_rules(), again.timeouts()), text);
}

#[test]
fn a_table_changed_by_rvsadm_is_written_and_read_back() {
    // The live view: start from the config, apply rvsadm changes, write, read back.
    let c = config(&with_services(FULL));
    let mut t = c.services().clone();
    for cmd in parse_restore(
        "rvsadm",
        "-e -t 10.0.0.100:80 -r 10.0.0.13:80 -g -w 7 -x 50 -y 5
         -d -t 10.0.0.100:80 -r 10.0.0.12
         -Q -t 10.0.0.101:443 -z 10.1.0.11
         -E -u 10.0.0.100:53 -s mh -b flag-3,mh-port
         -D -t 10.0.0.101:0
         --set 0 30 0",
        &NoNames,
    )
    .unwrap()
    {
        t.apply(&cmd).unwrap();
    }
    let text = with_services(&to_toml(&t, c.snat_rules(), t.timeouts()));
    let again = config(&text);
    assert_eq!(*again.services(), t);
    assert_eq!(again.timeouts(), Timeouts { tcp: 1000, tcpfin: 30, udp: 60 });
}

#[test]
fn without_services_the_table_is_empty_with_default_timeouts() {
    let c = config(BASE);
    assert_eq!(*c.services(), ServiceTable::new());
    assert_eq!(c.timeouts(), Timeouts { tcp: 900, tcpfin: 120, udp: 300 });
    assert!(c.snat_rules().is_empty());
    let lab = config(include_str!("../../../conf/rvs.toml"));
    assert!(lab.services().services().is_empty() && lab.snat_rules().is_empty());
    // Zeros keep the defaults, as --set does.
    let zeros = config(&with_services("[timeouts]\ntcp = 0\ntcpfin = 0\nudp = 0\n"));
    assert_eq!(zeros.timeouts(), Timeouts::default());
    // Defaults of a service and a dest are ipvsadm's.
    let c = config(&with_services(
        "[[service]]\nproto = \"tcp\"\nvip = \"10.0.0.100:80\"\n[[service.dest]]\naddr = \"10.0.0.9\"\n",
    ));
    assert_eq!(*c.services(), rvsadm("-A -t 10.0.0.100:80\n-a -t 10.0.0.100:80 -r 10.0.0.9"));
}

#[test]
fn bare_metal_sample_services() {
    let c = config(include_str!("../../../conf/bare-metal.toml"));
    let want = rvsadm(
        "-A -t 203.0.113.100:80 -s wrr
         -a -t 203.0.113.100:80 -r 10.20.0.11 -g -w 3
         -a -t 203.0.113.100:80 -r 10.20.0.12 -g -w 1
         -A -t 203.0.113.101:443 -s mh -b mh-port
         -a -t 203.0.113.101:443 -r 10.20.0.21:8443 -b
         -a -t 203.0.113.101:443 -r 10.30.0.22:8443 -b
         -P -t 203.0.113.101:443 -z 10.20.255.1
         -P -t 203.0.113.101:443 -z 10.20.255.2",
    );
    let mut want = want;
    want.service_mut(&tcp("203.0.113.101", 443)).unwrap().spec.toa = true;
    assert_eq!(*c.services(), want);
    assert_eq!(
        c.snat_rules(),
        [SnatRule {
            src: Some(AddrRange {
                first: "10.20.0.0".parse().unwrap(),
                last: "10.20.255.255".parse().unwrap()
            }),
            dst: None,
            proto: SnatProto::Any,
            out_addr: "203.0.113.50".parse().unwrap(),
            synproxy: false,
        }]
    );
    assert_eq!(c.timeouts(), Timeouts::default());
}

// ---- robustness ----

// Value lists for generated services: the valid values first and most often, then invalid ones.
const PROTOS: [&str; 6] = ["tcp", "udp", "tcp", "udp", "tcp", "sctp"];
const VIPS: [&str; 7] = [
    "10.0.0.100:80",
    "10.0.0.101:443",
    "10.0.0.100:8080",
    "10.0.0.101:0",
    "10.0.0.1:80",
    "10.0.0.100",
    "x",
];
const SCHEDS: [&str; 6] = ["rr", "wlc", "sh", "mh", "twos", "nope"];
const FLAGS: [&str; 6] = ["flag-1", "sh-port", "mh-fallback", "flag-3", "", "a,b"];
const FWDS: [&str; 8] = ["dr", "nat", "tun", "fullnat", "masq", "ipip", "snat", "bogus"];
const DESTS: [&str; 7] = [
    "10.0.0.12",
    "10.0.0.13",
    "10.0.0.14:80",
    "10.0.0.15:8080",
    "10.0.0.16:0",
    "2001:db8::1",
    "rs",
];
const LADDRS: [&str; 4] = ["10.1.0.11", "10.1.0.12", "10.0.0.100", "10.9.9.9"];

fn pick<'a>(list: &[&'a str], i: usize) -> &'a str {
    list[i % list.len()]
}

/// One `[[service]]` with its dests, from choices that mostly give valid values: a forwarding
/// mode per service that its dests mostly follow, local addresses and TOA mostly only with
/// FULLNAT, tunnel keys mostly only with TUN.
fn service_text(choice: &[usize], dests: &[Vec<usize>]) -> String {
    let c = |n: usize| choice.get(n).copied().unwrap_or(0);
    let rare = |n: usize| c(n) % 8 == 0;
    let mode = pick(&FWDS, c(9) % 4);
    let mut s = format!(
        "\n[[service]]\nproto = \"{}\"\nvip = \"{}\"\n",
        pick(&PROTOS, c(0)),
        pick(&VIPS, c(1) % if rare(1) { 7 } else { 4 }),
    );
    if c(2) % 3 != 0 {
        s += &format!("scheduler = \"{}\"\n", pick(&SCHEDS, c(2) / 3));
    }
    if rare(3) {
        s += &format!("flags = [\"{}\"]\n", pick(&FLAGS, c(3) / 8));
    }
    if c(4) % 2 == 0 {
        s += &format!("persistence = {}\n", [300, 60, 1, 0, 2_678_401][c(4) / 2 % 5]);
        if rare(5) {
            s += "netmask = \"255.255.0.0\"\n";
        }
    }
    if rare(6) {
        s += "one_packet = true\n";
    }
    if (mode == "fullnat") != rare(7) {
        s += &format!("laddrs = [\"{}\"]\n", pick(&LADDRS, c(7) / 8));
        if c(8) % 2 == 0 {
            s += "toa = true\n";
        }
    }
    for d in dests {
        let c = |n: usize| d.get(n).copied().unwrap_or(0);
        let rare = |n: usize| c(n) % 8 == 0;
        let fwd = if rare(1) { pick(&FWDS, c(1) / 8) } else { mode };
        s += &format!(
            "\n[[service.dest]]\naddr = \"{}\"\nfwd = \"{fwd}\"\nweight = {}\n",
            pick(&DESTS, c(0) % if rare(0) { 7 } else { 3 }),
            [1, 0, 5, 65_535, 65_536][c(2) % 5]
        );
        if c(3) % 3 == 0 {
            s += &format!("upper = {}\nlower = {}\n", c(3) % 7, c(4) % 5);
        }
        if (fwd == "tun") != rare(5) {
            let kind = ["ipip", "gue", "gre"][c(5) / 8 % 3];
            s += &format!("tun_type = \"{kind}\"\n");
            if (kind == "gue") != rare(6) {
                s += &format!("tun_port = {}\n", [6080, 0][usize::from(rare(6))]);
                s += &format!("tun_csum = \"{}\"\n", ["nocsum", "csum", "remcsum", "x"][c(7) % 4]);
            }
        }
    }
    s
}

/// Settings of one valid service, drawn at random; see [`valid_service_text`].
#[derive(Debug, Clone)]
struct ValidService {
    udp: bool,
    scheduler: usize,
    flags: u8,
    persistence: Option<(u32, Option<u32>)>,
    one_packet: bool,
    mode: usize,
    laddrs: usize,
    toa: bool,
    dests: Vec<(u16, u32, u32, u32, u8, u16)>,
}

fn valid_service() -> impl Strategy<Value = ValidService> {
    let dest = (any::<u16>(), 0u32..=65_535, any::<u32>(), any::<u32>(), any::<u8>(), 1u16..);
    (
        (
            any::<bool>(),
            0usize..14,
            0u8..8,
            proptest::option::of((1u32..=2_678_400, proptest::option::of(any::<u32>()))),
        ),
        (any::<bool>(), 0usize..4, 1usize..4, any::<bool>()),
        proptest::collection::vec(dest, 0..4),
    )
        .prop_map(
            |((udp, scheduler, flags, persistence), (one_packet, mode, laddrs, toa), dests)| {
                ValidService {
                    udp,
                    scheduler,
                    flags,
                    persistence,
                    one_packet,
                    mode,
                    laddrs,
                    toa,
                    dests,
                }
            },
        )
}

/// The `[[service]]` text of `v` as the `i`-th service: every rule holds by construction.
fn valid_service_text(i: usize, v: &ValidService) -> String {
    let sched = crate::ipvs::sched::SchedKind::ALL[v.scheduler];
    let vip = format!("10.0.0.{}:{}", 100 + i % 2, 1000 + i);
    let fwd = ["dr", "nat", "tun", "fullnat"][v.mode];
    let mut s = format!(
        "\n[[service]]\nproto = \"{}\"\nvip = \"{vip}\"\nscheduler = \"{sched}\"\n",
        if v.udp { "udp" } else { "tcp" }
    );
    let flags: Vec<String> =
        (0..3).filter(|b| v.flags & (1 << b) != 0).map(|b| format!("\"flag-{}\"", b + 1)).collect();
    s += &format!("flags = [{}]\n", flags.join(", "));
    if let Some((t, mask)) = v.persistence {
        s += &format!("persistence = {t}\n");
        if let Some(m) = mask {
            s += &format!("netmask = \"{}\"\n", std::net::Ipv4Addr::from(m));
        }
    }
    s += &format!("one_packet = {}\n", v.udp && v.one_packet);
    if fwd == "fullnat" {
        let laddrs =
            [["\"10.1.0.11\""].as_slice(), &["\"10.1.0.12\""], &["\"10.1.0.12\"", "\"10.1.0.11\""]];
        s += &format!("laddrs = [{}]\n", laddrs[v.laddrs - 1].join(", "));
        s += &format!("toa = {}\n", v.toa && !v.udp);
    }
    for (k, &(port, weight, upper, lower, tun, tun_port)) in v.dests.iter().enumerate() {
        let port = match fwd {
            "dr" | "tun" => String::new(),
            _ => format!(":{}", port.max(1)),
        };
        let upper = upper % (i32::MAX as u32 + 1);
        s += &format!(
            "\n[[service.dest]]\naddr = \"10.0.0.{}{port}\"\nfwd = \"{fwd}\"\nweight = {weight}\nupper = {upper}\nlower = {}\n",
            20 + k,
            if upper == 0 { 0 } else { lower % (upper + 1) }
        );
        if fwd == "tun" && tun % 2 == 1 {
            let csum = ["nocsum", "csum", "remcsum"][usize::from(tun / 2 % 3)];
            s += &format!("tun_type = \"gue\"\ntun_port = {tun_port}\ntun_csum = \"{csum}\"\n");
        }
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Any combination of valid and invalid values is refused with a key or accepted, and an
    /// accepted one reads back from its written form as the same table.
    #[test]
    fn arbitrary_services_never_panic_and_accepted_ones_round_trip(
        services in proptest::collection::vec(
            (proptest::collection::vec(0usize..64, 10),
             proptest::collection::vec(proptest::collection::vec(0usize..64, 8), 0..4)),
            0..3),
    ) {
        let text: String = services.iter().map(|(c, d)| service_text(c, d)).collect();
        match Config::from_toml_str(&with_services(&text)) {
            Ok(c) => {
                let again = Config::from_toml_str(&rewritten(&c));
                prop_assert!(again.is_ok(), "{:?}\n{}", again.err(), rewritten(&c));
                prop_assert_eq!(again.ok().map(|a| a.services().clone()), Some(c.services().clone()));
            }
            Err(e) => prop_assert!(e.key().is_some_and(|k| k.starts_with("service[")), "{e}"),
        }
    }

    /// Valid services of every shape are accepted, and read back from their written form as
    /// the same table, rules and timeouts; writing again gives the same text.
    #[test]
    fn valid_services_round_trip(
        services in proptest::collection::vec(valid_service(), 0..4),
        timeouts in (0u32..=2_678_400, 0u32..=2_678_400, 0u32..=2_678_400),
        snat in proptest::collection::vec((any::<u32>(), 0u8..=32, any::<u32>(), any::<u32>(), 0usize..4), 0..3),
    ) {
        let mut text = format!(
            "[timeouts]\ntcp = {}\ntcpfin = {}\nudp = {}\n",
            timeouts.0, timeouts.1, timeouts.2
        );
        text += &services.iter().enumerate().map(|(i, v)| valid_service_text(i, v)).collect::<String>();
        for (i, (src, len, a, b, proto)) in snat.iter().enumerate() {
            let src = crate::config::Ipv4Net::new(std::net::Ipv4Addr::from(*src), *len).unwrap().trunc();
            let (a, b) = (std::net::Ipv4Addr::from(*a.min(b)), std::net::Ipv4Addr::from(*a.max(b)));
            // The index in proto keeps rules distinct.
            let proto = ["any", "tcp", "udp", "icmp"][(proto + i) % 4];
            text += &format!(
                "\n[[snat]]\nsrc = \"{src}\"\ndst = \"{a}-{b}\"\nproto = \"{proto}\"\nout = \"10.1.0.1{}\"\n",
                1 + i % 2
            );
        }
        let c = Config::from_toml_str(&with_services(&text));
        prop_assert!(c.is_ok(), "{:?}\n{}", c.err(), text);
        let Ok(c) = c else { unreachable!() };
        prop_assert_eq!(c.services().services().len(), services.len());
        let written = to_toml(c.services(), c.snat_rules(), c.timeouts());
        let again = Config::from_toml_str(&with_services(&written));
        prop_assert!(again.is_ok(), "{:?}\n{}", again.err(), written);
        let Ok(again) = again else { unreachable!() };
        prop_assert_eq!(again.services(), c.services());
        prop_assert_eq!(again.snat_rules(), c.snat_rules());
        prop_assert_eq!(again.timeouts(), c.timeouts());
        prop_assert_eq!(to_toml(again.services(), again.snat_rules(), again.timeouts()), written);
    }

    #[test]
    fn mutated_service_sections_never_panic(
        pos in 0usize..2000, cut in 0usize..20, text in "[0-9a-z=\\[\\]{},.\":/ \n_-]{0,24}",
    ) {
        let full = with_services(FULL);
        let start = full.len() - FULL.len();
        let mut s = full.into_bytes();
        let pos = start + pos % (s.len() - start + 1);
        let end = (pos + cut).min(s.len());
        s.splice(pos..end, text.bytes());
        let _ = Config::from_toml_str(&String::from_utf8_lossy(&s));
    }

    #[test]
    fn any_number_in_a_service_value_never_panics(pos in 0usize..2000, n: i64) {
        let full = with_services(FULL);
        let start = full.len() - FULL.len();
        let mut s = full.into_bytes();
        let pos = start + pos % (s.len() - start + 1);
        let end = (pos + 3).min(s.len());
        s.splice(pos..end, n.to_string().bytes());
        let _ = Config::from_toml_str(&String::from_utf8_lossy(&s));
    }
}

#[test]
fn synproxy_is_read_written_and_read_back() {
    let c = config(&with_services(
        "[[service]]\nproto = \"tcp\"\nvip = \"10.0.0.100:80\"\nsynproxy = true\n\
         [[service.dest]]\naddr = \"10.0.0.12:8080\"\nfwd = \"nat\"\n",
    ));
    let key = tcp("10.0.0.100", 80);
    assert!(c.services().services().iter().any(|s| s.spec.key == key && s.spec.synproxy));
    let text = to_toml(c.services(), c.snat_rules(), c.timeouts());
    assert!(text.contains("synproxy = true"), "{text}");
    assert_eq!(config(&rewritten(&c)).services(), c.services());
}

#[test]
fn snat_synproxy_is_read_written_and_read_back_and_refused_without_tcp() {
    let rule = |proto: &str| {
        with_services(&format!(
            "[[snat]]\nsrc = \"10.0.0.0/24\"\nproto = \"{proto}\"\nout = \"10.1.0.11\"\nsynproxy = true\n"
        ))
    };
    for proto in ["tcp", "any"] {
        let c = config(&rule(proto));
        assert!(c.snat_rules()[0].synproxy, "{proto}");
        let text = to_toml(c.services(), c.snat_rules(), c.timeouts());
        assert!(text.contains("out = \"10.1.0.11\"\nsynproxy = true\n"), "{text}");
        assert_eq!(config(&rewritten(&c)).snat_rules(), c.snat_rules());
    }
    for proto in ["udp", "icmp"] {
        let e = Config::from_toml_str(&rule(proto)).expect_err(proto).to_string();
        assert!(e.contains("snat[0].synproxy") && e.contains("TCP"), "{e}");
    }
}

#[test]
fn service_limits_are_read_written_and_read_back() {
    let c = config(&with_services(
        "[[service]]\nproto = \"tcp\"\nvip = \"10.0.0.100:80\"\n\
         [service.limits]\nconn_limit = 500\nsource_rate = 10\nsource_burst = 30\n\
         allow = [\"10.0.0.0/8\", \"192.0.2.1\"]\ndeny = [\"10.9.0.0/16\"]\n\
         [[service.dest]]\naddr = \"10.0.0.12:80\"\nfwd = \"nat\"\n",
    ));
    let key = tcp("10.0.0.100", 80);
    let s = c.services().services().iter().find(|s| s.spec.key == key).unwrap();
    let l = s.spec.limits();
    assert_eq!((l.conn_limit, l.source_rate, l.source_burst), (500, 10, 30));
    assert_eq!(
        l.allow.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
        ["10.0.0.0/8", "192.0.2.1/32"]
    );
    assert_eq!(l.deny[0].to_string(), "10.9.0.0/16");
    let text = to_toml(c.services(), c.snat_rules(), c.timeouts());
    assert!(text.contains("[service.limits]\nconn_limit = 500\n"), "{text}");
    assert_eq!(config(&rewritten(&c)).services(), c.services());
}
