//! Parser tests: every distinct ipvsadm command line of the seeds (tests/data/adm/
//! seed_commands.txt, `ipvsadm` replaced by `rvsadm`), the options ipvsadm users type, ipvsadm's
//! error messages, and a property test that random argv never panics.

use crate::rvsadm::cli::{parse, Command, ListFormat, ListWhat};
use crate::rvsadm::error::CliError;
use crate::rvsadm::names::{NoNames, StaticNames};
use proptest::prelude::*;
use rvs_core::ipvs::sched::SchedFlags;
use rvs_core::ipvs::spec::*;
use rvs_proto::change::Change;
use std::net::IpAddr;

fn argv(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

fn p(line: &str) -> Result<Command, CliError> {
    parse(&argv(line), &NoNames)
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn tcp(addr: &str, port: u16) -> ServiceKey {
    ServiceKey { proto: Protocol::Tcp, addr: ip(addr), port }
}

fn add_svc(addr: &str, port: u16, sched: &str) -> Command {
    let mut s = ServiceSpec::new(tcp(addr, port));
    s.scheduler = sched.parse().unwrap();
    Command::Change(Change::AddService(s))
}

fn add_dest(vip: &str, vport: u16, rip: &str, rport: u16, fwd: FwdMethod, w: u32) -> Command {
    let mut d = DestSpec::new(ip(rip), rport);
    d.fwd = fwd;
    d.weight = w;
    if fwd == FwdMethod::Tunnel {
        d.tun = Some(TunInfo::default());
    }
    Command::Change(Change::AddDest { service: tcp(vip, vport), dest: d })
}

fn list(what: ListWhat, numeric: bool) -> Command {
    Command::List { what, format: ListFormat { numeric, ..ListFormat::default() } }
}

#[test]
fn every_seed_command_parses_as_expected() {
    use FwdMethod::{Masq, Route, Tunnel};
    let expected: Vec<(&str, Command)> = vec![
        ("rvsadm -A -t 172.16.1.100:80 -s rr", add_svc("172.16.1.100", 80, "rr")),
        ("rvsadm -A -t 172.16.254.200:80 -s wrr", add_svc("172.16.254.200", 80, "wrr")),
        ("rvsadm -A -t 192.168.0.38:80 -s wrr", add_svc("192.168.0.38", 80, "wrr")),
        ("rvsadm -A -t 192.168.1.100:80 -s rr", add_svc("192.168.1.100", 80, "rr")),
        ("rvsadm -A -t 192.168.150.100:80 -s rr", add_svc("192.168.150.100", 80, "rr")),
        ("rvsadm -A -t 192.168.163.100:80 -s rr", add_svc("192.168.163.100", 80, "rr")),
        ("rvsadm -A -t 192.168.80.120:8080 -s rr", add_svc("192.168.80.120", 8080, "rr")),
        ("rvsadm -A -t 192.168.9.100:80 -s rr", add_svc("192.168.9.100", 80, "rr")),
        ("rvsadm -C", Command::Change(Change::Clear)),
        ("rvsadm -L -n", list(ListWhat::All, true)),
        ("rvsadm -R", Command::Restore),
        ("rvsadm -S", Command::Save { numeric: false }),
        (
            "rvsadm -a -t 172.16.1.100:80 -r 172.16.1.5:80 -m",
            add_dest("172.16.1.100", 80, "172.16.1.5", 80, Masq, 1),
        ),
        (
            "rvsadm -a -t 172.16.1.100:80 -r 172.16.1.6:80 -m",
            add_dest("172.16.1.100", 80, "172.16.1.6", 80, Masq, 1),
        ),
        (
            "rvsadm -a -t 172.16.100.1:80 -r 192.168.10.8 -g",
            add_dest("172.16.100.1", 80, "192.168.10.8", 80, Route, 1),
        ),
        (
            "rvsadm -a -t 172.16.100.1:80 -r 192.168.10.9 -g",
            add_dest("172.16.100.1", 80, "192.168.10.9", 80, Route, 1),
        ),
        (
            "rvsadm -a -t 172.16.254.200:80 -r 192.168.0.18:80 -m -w 1",
            add_dest("172.16.254.200", 80, "192.168.0.18", 80, Masq, 1),
        ),
        (
            "rvsadm -a -t 172.16.254.200:80 -r 192.168.0.28:80 -m -w 1",
            add_dest("172.16.254.200", 80, "192.168.0.28", 80, Masq, 1),
        ),
        (
            "rvsadm -a -t 192.168.0.38:80 -r 192.168.0.18:80 -g -w 3",
            add_dest("192.168.0.38", 80, "192.168.0.18", 80, Route, 3),
        ),
        (
            "rvsadm -a -t 192.168.0.38:80 -r 192.168.0.28:80 -g -w 1",
            add_dest("192.168.0.38", 80, "192.168.0.28", 80, Route, 1),
        ),
        (
            "rvsadm -a -t 192.168.1.100:80 -r 192.168.1.11 -g -w 1",
            add_dest("192.168.1.100", 80, "192.168.1.11", 80, Route, 1),
        ),
        (
            "rvsadm -a -t 192.168.1.100:80 -r 192.168.1.12 -g -w 1",
            add_dest("192.168.1.100", 80, "192.168.1.12", 80, Route, 1),
        ),
        (
            "rvsadm -a -t 192.168.150.100:80 -r 192.168.150.12 -g -w 1",
            add_dest("192.168.150.100", 80, "192.168.150.12", 80, Route, 1),
        ),
        (
            "rvsadm -a -t 192.168.163.100:80 -r 192.168.163.112 -g -w 1",
            add_dest("192.168.163.100", 80, "192.168.163.112", 80, Route, 1),
        ),
        (
            "rvsadm -a -t 192.168.163.100:80 -r 192.168.163.113 -g -w 1",
            add_dest("192.168.163.100", 80, "192.168.163.113", 80, Route, 1),
        ),
        (
            "rvsadm -a -t 192.168.80.120:8080 -r 192.168.80.135 -i",
            add_dest("192.168.80.120", 8080, "192.168.80.135", 8080, Tunnel, 1),
        ),
        (
            "rvsadm -a -t 192.168.80.120:8080 -r 192.168.80.136 -i",
            add_dest("192.168.80.120", 8080, "192.168.80.136", 8080, Tunnel, 1),
        ),
        (
            "rvsadm -d -t 192.168.163.100:80 -r 192.168.163.111",
            Command::Change(Change::DeleteDest {
                service: tcp("192.168.163.100", 80),
                addr: ip("192.168.163.111"),
                port: 80,
            }),
        ),
        ("rvsadm -ln", list(ListWhat::All, true)),
        ("rvsadm -lnc", list(ListWhat::Conns, true)),
    ];
    let seeds: Vec<&str> = include_str!("../../../../tests/data/adm/seed_commands.txt")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    for line in &seeds {
        let want = expected
            .iter()
            .find(|(l, _)| l == line)
            .map(|(_, c)| c)
            .unwrap_or_else(|| panic!("no expectation written for seed line {line:?}"));
        assert_eq!(p(line).as_ref(), Ok(want), "{line}");
    }
    assert_eq!(seeds.len(), expected.len(), "every expectation is a seed line");
}

#[test]
fn no_arguments_lists_everything_with_names() {
    assert_eq!(p("rvsadm"), Ok(list(ListWhat::All, false)));
}

#[test]
fn service_options() {
    let mut s = ServiceSpec::new(tcp("10.0.0.1", 0));
    s.scheduler = "sh".parse().unwrap();
    s.flags = SchedFlags::FLAG_1.union(SchedFlags::FLAG_2);
    s.persistence = Some(DEFAULT_PERSISTENCE_S);
    s.netmask = Netmask::V4("255.255.255.0".parse().unwrap());
    assert_eq!(
        p("rvsadm -A -t 10.0.0.1:0 -s sh -b sh-fallback,sh-port -p -M 255.255.255.0"),
        Ok(Command::Change(Change::AddService(s.clone())))
    );
    // -p with a value, the flags before the scheduler, long options with '='.
    s.persistence = Some(600);
    assert_eq!(
        p("rvsadm --add-service --tcp-service=10.0.0.1:0 --sched-flags sh-fallback,sh-port --scheduler=sh --persistent 600 --netmask 255.255.255.0"),
        Ok(Command::Change(Change::AddService(s.clone())))
    );
    // -p600 in one word, -E.
    assert_eq!(
        p("rvsadm -E -t 10.0.0.1:0 -ssh -bsh-fallback,sh-port -p600 -M 255.255.255.0"),
        Ok(Command::Change(Change::EditService(s)))
    );
    // UDP, one-packet scheduling; default scheduler wlc.
    let mut u =
        ServiceSpec::new(ServiceKey { proto: Protocol::Udp, addr: ip("10.0.0.53"), port: 53 });
    u.one_packet = true;
    assert_eq!(
        p("rvsadm -A -u 10.0.0.53:53 -o"),
        Ok(Command::Change(Change::AddService(u.clone())))
    );
    assert_eq!(
        p("rvsadm -A --udp-service 10.0.0.53:53 --ops"),
        Ok(Command::Change(Change::AddService(u)))
    );
    // IPv6 with a prefix mask.
    let mut v6 = ServiceSpec::new(tcp("2001:db8::1", 443));
    v6.persistence = Some(DEFAULT_PERSISTENCE_S);
    v6.netmask = Netmask::V6(64);
    assert_eq!(
        p("rvsadm -A -t [2001:db8::1]:443 -p -M 64"),
        Ok(Command::Change(Change::AddService(v6)))
    );
    assert_eq!(
        p("rvsadm -D -t 10.0.0.1:80"),
        Ok(Command::Change(Change::DeleteService(tcp("10.0.0.1", 80))))
    );
    let mut pe = ServiceSpec::new(tcp("10.0.0.1", 80));
    pe.pe = Some("sip".into());
    assert_eq!(p("rvsadm -A -t 10.0.0.1:80 --pe sip"), Ok(Command::Change(Change::AddService(pe))));
}

#[test]
fn dest_options() {
    let mut d = DestSpec::new(ip("10.0.0.9"), 8080);
    d.fwd = FwdMethod::FullNat;
    d.weight = 0;
    d.upper = 1000;
    d.lower = 10;
    let svc = tcp("10.0.0.1", 80);
    assert_eq!(
        p("rvsadm -a -t 10.0.0.1:80 -r 10.0.0.9:8080 -b -w 0 -x 1000 -y 10"),
        Ok(Command::Change(Change::AddDest { service: svc, dest: d.clone() }))
    );
    assert_eq!(
        p("rvsadm --edit-server -t 10.0.0.1:80 --real-server 10.0.0.9:8080 --fullnat --weight 0 --u-threshold 1000 --l-threshold 10"),
        Ok(Command::Change(Change::EditDest {
            service: svc,
            dest: d.clone()
        }))
    );
    d.fwd = FwdMethod::Snat;
    assert_eq!(
        p("rvsadm -a -t 10.0.0.1:80 -r 10.0.0.9:8080 -J -w 0 -x 1000 -y 10"),
        Ok(Command::Change(Change::AddDest { service: svc, dest: d }))
    );
    // NAT keeps an explicit port and takes the virtual port when none is given.
    let mut m = DestSpec::new(ip("10.0.0.9"), 80);
    m.fwd = FwdMethod::Masq;
    assert_eq!(
        p("rvsadm -a -t 10.0.0.1:80 -r 10.0.0.9 --masquerading"),
        Ok(Command::Change(Change::AddDest { service: svc, dest: m }))
    );
    // DR ignores the real server's port: it must be the virtual one.
    let r = DestSpec::new(ip("10.0.0.9"), 80);
    assert_eq!(
        p("rvsadm -a -t 10.0.0.1:80 -r 10.0.0.9:8080"),
        Ok(Command::Change(Change::AddDest { service: svc, dest: r }))
    );
    // GUE tunnel with port and checksum, IPv6 real server behind an IPv4 service.
    let mut t = DestSpec::new(ip("2001:db8::9"), 80);
    t.fwd = FwdMethod::Tunnel;
    t.tun = Some(TunInfo { kind: TunType::Gue, port: 6080, csum: TunCsum::RemCsum });
    assert_eq!(
        p("rvsadm -a -t 10.0.0.1:80 -r [2001:db8::9]:80 -i --tun-type gue --tun-port 6080 --tun-remcsum"),
        Ok(Command::Change(Change::AddDest {
            service: svc,
            dest: t
        }))
    );
    // Delete with an explicit port keeps it.
    assert_eq!(
        p("rvsadm -d -t 10.0.0.1:80 -r 10.0.0.9:8080"),
        Ok(Command::Change(Change::DeleteDest { service: svc, addr: ip("10.0.0.9"), port: 8080 }))
    );
}

#[test]
fn list_forms() {
    let f = |numeric, stats, exact| ListFormat { numeric, stats, exact, ..ListFormat::default() };
    assert_eq!(
        p("rvsadm -L -n --stats --exact"),
        Ok(Command::List { what: ListWhat::All, format: f(true, true, true) })
    );
    assert_eq!(
        p("rvsadm -Ln -t 10.0.0.1:80 --stats"),
        Ok(Command::List {
            what: ListWhat::Service(tcp("10.0.0.1", 80)),
            format: f(true, true, false)
        })
    );
    assert_eq!(p("rvsadm -l --timeout"), Ok(list(ListWhat::Timeouts, false)));
    assert_eq!(p("rvsadm --list --numeric --connection"), Ok(list(ListWhat::Conns, true)));
    assert_eq!(p("rvsadm -L --daemon"), Ok(list(ListWhat::Daemon, false)));
    let all = ListFormat {
        numeric: true,
        rate: true,
        thresholds: true,
        persistent_conn: true,
        tun_info: true,
        nosort: true,
        ..ListFormat::default()
    };
    assert_eq!(
        p("rvsadm -L -n --rate --thresholds --persistent-conn --tun-info --nosort --sort"),
        Ok(Command::List { what: ListWhat::All, format: all })
    );
    assert_eq!(p("rvsadm -S -n"), Ok(Command::Save { numeric: true }));
    assert_eq!(p("rvsadm --save"), Ok(Command::Save { numeric: false }));
    assert_eq!(p("rvsadm --clear"), Ok(Command::Change(Change::Clear)));
    assert_eq!(p("rvsadm --restore"), Ok(Command::Restore));
    assert_eq!(p("rvsadm -Z"), Ok(Command::Change(Change::Zero(None))));
    assert_eq!(
        p("rvsadm --zero -t 10.0.0.1:80"),
        Ok(Command::Change(Change::Zero(Some(tcp("10.0.0.1", 80)))))
    );
    assert_eq!(
        p("rvsadm --set 900 0 300"),
        Ok(Command::Change(Change::SetTimeouts(Timeouts { tcp: 900, tcpfin: 0, udp: 300 })))
    );
    assert_eq!(p("rvsadm -h"), Ok(Command::Help));
    assert_eq!(p("rvsadm --version"), Ok(Command::Version));
}

#[test]
fn local_address_extension() {
    let svc = tcp("10.0.0.1", 80);
    assert_eq!(
        p("rvsadm -P -t 10.0.0.1:80 -z 172.16.0.250 -F dpdk0"),
        Ok(Command::Change(Change::AddLocalAddr {
            service: svc,
            laddr: LocalAddrSpec { addr: ip("172.16.0.250"), ifname: Some("dpdk0".into()) }
        }))
    );
    assert_eq!(
        p("rvsadm --del-laddr -t 10.0.0.1:80 --laddr 172.16.0.250"),
        Ok(Command::Change(Change::DelLocalAddr {
            service: svc,
            laddr: LocalAddrSpec { addr: ip("172.16.0.250"), ifname: None }
        }))
    );
    assert_eq!(p("rvsadm -G"), Ok(Command::ListLocalAddrs { service: None }));
    assert_eq!(p("rvsadm -G -t 10.0.0.1:80"), Ok(Command::ListLocalAddrs { service: Some(svc) }));
    assert_eq!(
        p("rvsadm -P -t 10.0.0.1:80"),
        Err(CliError::MissingOption { opt: "laddr", cmd: "add-laddr" })
    );
}

#[test]
fn names_resolve_only_when_not_literal() {
    let n = StaticNames::from_text("10.9.8.7 lb\n", "http 80/tcp\nhttps 443/tcp\n");
    assert_eq!(
        parse(&argv("rvsadm -A -t lb:http"), &n),
        Ok(Command::Change(Change::AddService(ServiceSpec::new(tcp("10.9.8.7", 80)))))
    );
    assert_eq!(
        parse(&argv("rvsadm -A -t lb:https"), &NoNames),
        Err(CliError::IllegalServiceAddress)
    );
}

fn err(line: &str) -> String {
    match p(line) {
        Ok(c) => panic!("{line:?} parsed as {c:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn ipvsadm_error_messages() {
    let cases: &[(&str, &str)] = &[
        ("rvsadm -t 10.0.0.1:80 -A", "Try `rvsadm -h' or 'rvsadm --help' for more information."),
        ("rvsadm foo", "Try `rvsadm -h' or 'rvsadm --help' for more information."),
        ("rvsadm -A", "You need to supply the 'service-address' option for the 'add-service' command"),
        ("rvsadm -A -t 10.0.0.1:80 -w 3", "Illegal 'weight' option with the 'add-service' command"),
        ("rvsadm -A -t 10.0.0.1:80 -r 10.0.0.2", "Illegal 'real-server' option with the 'add-service' command"),
        ("rvsadm -a -t 10.0.0.1:80", "You need to supply the 'real-server' option for the 'add-server' command"),
        ("rvsadm -a -t 10.0.0.1:80 -r 10.0.0.2 -s rr", "Illegal 'scheduler' option with the 'add-server' command"),
        ("rvsadm -a -t 10.0.0.1:80 -r 10.0.0.2 -g -m", "multiple 'forwarding-method' options specified"),
        ("rvsadm -d -t 10.0.0.1:80 -r 10.0.0.2 -w 2", "Illegal 'weight' option with the 'delete-server' command"),
        ("rvsadm -L -c -t 10.0.0.1:80", "The option 'service-address' conflicts with the 'connection' option in the 'list' command"),
        ("rvsadm -L -c --stats", "options conflicts in the list command"),
        ("rvsadm -L --timeout --persistent-conn", "options conflicts in the list command"),
        ("rvsadm -L -n -n", "multiple 'numeric' options specified"),
        ("rvsadm -C -n", "Illegal 'numeric' option with the 'flush' command"),
        ("rvsadm -S -c", "Illegal 'connection' option with the 'save' command"),
        ("rvsadm -A -t 80", "illegal virtual server address[:port] specified"),
        ("rvsadm -A -t 10.0.0.1:99999", "illegal virtual server address[:port] specified"),
        ("rvsadm -a -t 10.0.0.1:80 -r 10.0.0.999", "illegal real server address[:port] specified"),
        ("rvsadm -a -t 10.0.0.1:80 -r 10.0.0.2 -w 65536", "illegal weight specified"),
        ("rvsadm -a -t 10.0.0.1:80 -r 10.0.0.2 -w -1", "illegal weight specified"),
        ("rvsadm -a -t 10.0.0.1:80 -r 10.0.0.2 -x abc", "illegal u_threshold specified"),
        ("rvsadm -a -t 10.0.0.1:80 -r 10.0.0.2 -y 2147483648", "illegal l_threshold specified"),
        ("rvsadm -A -t 10.0.0.1:80 -p 0", "invalid timeout value `0' specified"),
        ("rvsadm -A -t 10.0.0.1:80 -p 2678401", "invalid timeout value `2678401' specified"),
        ("rvsadm -A -t 10.0.0.1:0", "Zero port specified for non-persistent service"),
        ("rvsadm -A -t 10.0.0.1:80 -o", "One-Packet Scheduling is only for UDP virtual services"),
        ("rvsadm -A -t 10.0.0.1:80 -M 300.0.0.0", "illegal virtual server persistent mask specified"),
        ("rvsadm -A -t [::1]:80 -M 129", "illegal ipv6 netmask specified"),
        ("rvsadm -A -t 10.0.0.1:80 -b sh-port", "incompatible scheduler flag `sh-port'"),
        ("rvsadm -A -t 10.0.0.1:80 -s mh -b bogus", "invalid scheduler flag `bogus'"),
        ("rvsadm -A -t 10.0.0.1:80 -s fancy", "Scheduler or persistence engine not found"),
        ("rvsadm -E -H proto=tcp -s fancy", "Scheduler or persistence engine not found"),
        ("rvsadm -a -t 10.0.0.1:80 -r 10.0.0.2 -s fancy", "Illegal 'scheduler' option with the 'add-server' command"),
        ("rvsadm --set 1 2", "--set option requires 3 timeout values"),
        ("rvsadm --set 1 2 x", "invalid timeout value `x' specified"),
        ("rvsadm --set 1 2 3 4", "unexpected argument 4"),
        ("rvsadm -L extra", "unexpected argument extra"),
        ("rvsadm -a -t 10.0.0.1:80 -r 10.0.0.2 --tun-type ipip", "Tunnel options conflict with forward method"),
        ("rvsadm -a -t 10.0.0.1:80 -r 10.0.0.2 -i --tun-type vxlan", "illegal tunnel type specified"),
        ("rvsadm -a -t 10.0.0.1:80 -r 10.0.0.2 -i --tun-port 0", "illegal tunnel port specified"),
        ("rvsadm -a -t 10.0.0.1:80 -r 10.0.0.2 -i --tun-type gue", "You need to supply the 'tun-port' option for the 'gue' tunnel type"),
        ("rvsadm -a -t 10.0.0.1:80 -r 10.0.0.2 -i --tun-port 6080", "Illegal 'tun-port' option with the 'ipip' tunnel type"),
        ("rvsadm -a -t 10.0.0.1:80 -r 10.0.0.2 -i --tun-type gre --tun-remcsum", "Illegal 'tun-remcsum' option with the 'gre' tunnel type"),
        ("rvsadm -a -t 10.0.0.1:80 -r 10.0.0.2 -i --tun-type gue --tun-port 1 --tun-csum --tun-nocsum", "The option 'tun-csum' conflicts with the 'tun-nocsum' option in the 'gue' tunnel type"),
        ("rvsadm -a -t 10.0.0.1:80 -r [::2]:80 -m", "Different address family is allowed only for tunneling servers"),
        ("rvsadm -A -t 10.0.0.1:80 -s", "-s: missing argument"),
        ("rvsadm -A -t 10.0.0.1:80 --scheduler", "--scheduler: missing argument"),
        ("rvsadm -L -q", "-q: unknown option"),
        ("rvsadm -L --bogus", "--bogus: unknown option"),
        ("rvsadm -L --numeric=yes", "--numeric: option does not take an argument"),
        ("rvsadm -A -t 10.0.0.1:80 -L", "invalid option `-L'"),
        ("rvsadm -L -6", "-6 used before -f"),
        ("rvsadm -A --sctp-service 10.0.0.1:80", "SCTP services are not supported by rvs; use -t or -u"),
        ("rvsadm -L --start-daemon master", "multiple commands specified"),
        ("rvsadm -A -t 10.0.0.1:80 --syncid 1", "Illegal 'syncid' option with the 'add-service' command"),
    ];
    for (line, want) in cases {
        assert_eq!(err(line), *want, "{line}");
    }
}

#[test]
fn fwmark_is_refused_with_the_rvs_alternative() {
    for line in
        ["rvsadm -A -f 1 -s rr", "rvsadm -a -f 1 -r 10.0.0.2", "rvsadm -A --fwmark-service 7"]
    {
        let e = p(line).unwrap_err();
        assert_eq!(e, CliError::Model(SpecError::FwmarkUnsupported), "{line}");
        let msg = e.to_string();
        assert!(msg.contains("DPDK has no netfilter marks"), "{msg}");
        assert!(
            msg.contains("a match service (-H proto=...,src-range=...) or a per-port service"),
            "{msg}"
        );
    }
}

#[test]
fn exit_codes() {
    assert_eq!(p("rvsadm foo").unwrap_err().exit_code(), 255);
    assert_eq!(p("rvsadm -A").unwrap_err().exit_code(), 2);
    // The kernel's refusal in ipvsadm, found by rvsadm before anything is sent.
    assert_eq!(p("rvsadm -A -t 10.0.0.1:80 -s fancy").unwrap_err().exit_code(), 255);
}

#[test]
fn reload_is_an_rvs_extension_without_options() {
    assert_eq!(p("rvsadm --reload").unwrap(), Command::Reload);
    assert!(p("rvsadm --reload -n").is_err());
    assert!(p("rvsadm --reload -t 10.0.0.1:80").is_err());
    assert!(p("rvsadm --reload -C").is_err());
    assert!(crate::rvsadm::cli::usage("rvsadm").contains("rvsadm --reload\n"));
}

#[test]
fn flush_removed_is_an_rvs_extension_without_options() {
    assert_eq!(p("rvsadm --flush-removed").unwrap(), Command::FlushRemoved);
    assert!(p("rvsadm --flush-removed -n").is_err());
    assert!(p("rvsadm --flush-removed -t 10.0.0.1:80").is_err());
    assert!(crate::rvsadm::cli::usage("rvsadm").contains("rvsadm --flush-removed\n"));
}

#[test]
fn announce_commands_are_rvs_extensions_without_options() {
    use rvs_proto::announce::AnnounceRequest as A;
    assert_eq!(p("rvsadm --announced").unwrap(), Command::Announce(A::Show));
    assert_eq!(p("rvsadm --drain").unwrap(), Command::Announce(A::Drain));
    assert_eq!(p("rvsadm --resume").unwrap(), Command::Announce(A::Resume));
    assert!(p("rvsadm --drain -t 10.0.0.1:80").is_err());
    assert!(p("rvsadm --drain --resume").is_err());
    assert!(
        crate::rvsadm::cli::usage("rvsadm").contains("rvsadm --announced | --drain | --resume\n")
    );
}

#[test]
fn sloppy_is_a_service_option_of_add_and_edit_only() {
    let mut s =
        ServiceSpec::new(ServiceKey { proto: Protocol::Tcp, addr: ip("10.0.0.1"), port: 80 });
    s.scheduler = "mh".parse().unwrap();
    s.sloppy = true;
    assert_eq!(
        p("rvsadm -A -t 10.0.0.1:80 -s mh --sloppy"),
        Ok(Command::Change(Change::AddService(s.clone())))
    );
    assert_eq!(
        p("rvsadm -E -t 10.0.0.1:80 --sloppy -s mh"),
        Ok(Command::Change(Change::EditService(s)))
    );
    assert_eq!(
        p("rvsadm -a -t 10.0.0.1:80 -r 10.0.0.2 --sloppy"),
        Err(CliError::IllegalOption { opt: "sloppy", cmd: "add-server" })
    );
    assert_eq!(
        p("rvsadm -A -t 10.0.0.1:80 --sloppy --sloppy"),
        Err(CliError::MultipleOption("sloppy"))
    );
}

proptest! {
    #[test]
    fn random_argv_never_panics(words in proptest::collection::vec(
        prop_oneof![
            Just("-A".to_string()), Just("-a".to_string()), Just("-L".to_string()),
            Just("-t".to_string()), Just("-r".to_string()), Just("-p".to_string()),
            Just("-b".to_string()), Just("-lnc".to_string()), Just("--set".to_string()),
            Just("10.0.0.1:80".to_string()), Just("[::1]:80".to_string()),
            Just("--tun-type".to_string()), Just("gue".to_string()), Just("--".to_string()),
            "-[a-zA-Z0-9]{0,4}", "--[a-z-]{0,12}(=[a-z0-9]{0,4})?", ".{0,12}",
        ], 0..8)) {
        let mut v = vec!["rvsadm".to_string()];
        v.extend(words);
        let _ = parse(&v, &NoNames);
    }

    #[test]
    fn weights_in_range_parse(w in 0u32..=65_535) {
        let line = format!("rvsadm -a -t 10.0.0.1:80 -r 10.0.0.2 -w {w}");
        match p(&line) {
            Ok(Command::Change(Change::AddDest { dest, .. })) => prop_assert_eq!(dest.weight, w),
            other => prop_assert!(false, "{:?}", other),
        }
    }
}

// ---- match services (-H, SNAT) ----

fn lan() -> MatchSpec {
    MatchSpec {
        proto: SnatProto::Tcp,
        src: Some(AddrRange { first: ip("10.0.0.1"), last: ip("10.0.0.254") }),
        dst: None,
    }
}

#[test]
fn match_services_parse() {
    let h = "proto=tcp,src-range=10.0.0.1-10.0.0.254";
    let add = |sched: &str, synproxy| {
        Ok(Command::Change(Change::AddMatch {
            matcher: lan(),
            scheduler: sched.parse().unwrap(),
            synproxy,
        }))
    };
    assert_eq!(p(&format!("rvsadm -A -H {h} -s rr")), add("rr", false));
    assert_eq!(p(&format!("rvsadm -A -H {h}")), add("wlc", false));
    assert_eq!(
        p(&format!("rvsadm --edit-service --match {h} -s wrr")),
        Ok(Command::Change(Change::EditMatch {
            matcher: lan(),
            scheduler: "wrr".parse().unwrap(),
            synproxy: false,
        }))
    );
    // The SYN proxy (rvs extension) on a match service of TCP or of any protocol; refused on
    // UDP or ICMP, which have no handshake.
    assert_eq!(p(&format!("rvsadm -A -H {h} -s rr --synproxy")), add("rr", true));
    assert_eq!(
        p(&format!("rvsadm -E -H {h} -s rr --synproxy")),
        Ok(Command::Change(Change::EditMatch {
            matcher: lan(),
            scheduler: "rr".parse().unwrap(),
            synproxy: true,
        }))
    );
    assert_eq!(
        p("rvsadm -A -H proto=udp,src-range=10.0.0.1-10.0.0.254 --synproxy"),
        Err(CliError::Model(SpecError::SynproxyNotTcp))
    );
    assert_eq!(p(&format!("rvsadm -D -H {h}")), Ok(Command::Change(Change::DeleteMatch(lan()))));
    let mut d = DestSpec::new(ip("192.0.2.200"), 0);
    d.fwd = FwdMethod::Snat;
    assert_eq!(
        p(&format!("rvsadm -a -H {h} -r 192.0.2.200 -J")),
        Ok(Command::Change(Change::AddMatchDest { matcher: lan(), dest: d.clone() }))
    );
    d.weight = 5;
    assert_eq!(
        p(&format!("rvsadm -e -H {h} -r 192.0.2.200:0 -J -w 5")),
        Ok(Command::Change(Change::EditMatchDest { matcher: lan(), dest: d }))
    );
    assert_eq!(
        p(&format!("rvsadm -d -H {h} -r 192.0.2.200")),
        Ok(Command::Change(Change::DeleteMatchDest {
            matcher: lan(),
            addr: ip("192.0.2.200"),
            port: 0
        }))
    );
}

#[test]
fn match_service_errors() {
    let msg = |l: &str| p(l).unwrap_err().to_string();
    assert_eq!(
        msg("rvsadm -A -H proto=tcp -t 10.0.0.1:80"),
        "multiple 'service-address' options specified"
    );
    assert!(msg("rvsadm -A -H proto=tcp -p 60").contains("takes only -s"));
    assert!(msg("rvsadm -A -H oif=dpdk1").contains("not by interface"));
    assert!(msg("rvsadm -Z -H proto=tcp").contains("which zero does not take"));
    assert!(msg("rvsadm -P -H proto=tcp -z 10.0.0.1").contains("which add-laddr does not take"));
    assert_eq!(
        msg("rvsadm -a -H proto=tcp"),
        "You need to supply the 'real-server' option for the 'add-server' command"
    );
}

#[test]
fn synproxy_extension() {
    let mut s = ServiceSpec::new(tcp("10.0.0.1", 80));
    s.scheduler = "rr".parse().unwrap();
    s.synproxy = true;
    assert_eq!(
        p("rvsadm -A -t 10.0.0.1:80 -s rr --synproxy"),
        Ok(Command::Change(Change::AddService(s.clone())))
    );
    assert_eq!(
        p("rvsadm -E -t 10.0.0.1:80 --synproxy -s rr"),
        Ok(Command::Change(Change::EditService(s)))
    );
    assert!(err("rvsadm -A -u 10.0.0.1:53 --synproxy").contains("only for TCP"));
    assert!(err("rvsadm -a -t 10.0.0.1:80 -r 10.1.1.1 --synproxy").contains("synproxy"));
    assert!(err("rvsadm -L --synproxy").contains("synproxy"));
}

#[test]
fn service_limits_on_add_and_edit_only() {
    let mut s = ServiceSpec::new(tcp("10.0.0.1", 80));
    s.scheduler = "rr".parse().unwrap();
    s.set_limits(ServiceLimits {
        conn_limit: 1000,
        source_rate: 20,
        source_burst: 40,
        allow: vec!["10.0.0.0/8".parse().unwrap(), "192.0.2.7/32".parse().unwrap()],
        deny: vec!["10.9.0.0/16".parse().unwrap()],
    });
    let line = "rvsadm -A -t 10.0.0.1:80 -s rr --conn-limit 1000 --source-rate 20:40 \
                --allow 10.0.0.0/8,192.0.2.7 --deny 10.9.0.0/16";
    assert_eq!(p(line), Ok(Command::Change(Change::AddService(s.clone()))));
    let edit = line.replace("-A", "-E");
    assert_eq!(p(&edit), Ok(Command::Change(Change::EditService(s))));
    let mut only_rate = ServiceSpec::new(tcp("10.0.0.1", 80));
    only_rate.set_limits(ServiceLimits { source_rate: 5, ..Default::default() });
    assert_eq!(
        p("rvsadm -A -t 10.0.0.1:80 --source-rate 5"),
        Ok(Command::Change(Change::AddService(only_rate)))
    );
}

#[test]
fn service_limits_refusals_name_the_option_and_the_fix() {
    assert_eq!(
        p("rvsadm -a -t 10.0.0.1:80 -r 10.0.0.2 --conn-limit 3"),
        Err(CliError::IllegalOption { opt: "conn-limit", cmd: "add-server" })
    );
    assert_eq!(
        p("rvsadm -L --deny 10.0.0.0/8"),
        Err(CliError::IllegalOption { opt: "deny", cmd: "list" })
    );
    assert_eq!(
        p("rvsadm -A -t 10.0.0.1:80 --allow 10.0.0.0/8 --allow 11.0.0.0/8"),
        Err(CliError::MultipleOption("allow"))
    );
    for bad in ["--conn-limit 0", "--conn-limit x", "--source-rate 5:0", "--source-rate :3"] {
        let e = err(&format!("rvsadm -A -t 10.0.0.1:80 {bad}"));
        assert!(e.starts_with("illegal --"), "{bad}: {e}");
    }
    assert!(err("rvsadm -A -t 10.0.0.1:80 --source-rate 2000000").contains("1 to 1000000"));
    assert!(err("rvsadm -A -t 10.0.0.1:80 --deny 10.1.2.3/16").contains("write 10.1.0.0/16"));
    assert!(err("rvsadm -A -t 10.0.0.1:80 --allow 10.0.0.0/33").contains("invalid prefix"));
    assert!(err("rvsadm -A -H proto=tcp -s rr --conn-limit 4").contains("match service"));
}
