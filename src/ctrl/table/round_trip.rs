//! The table with rvsadm's words: what `-S` saves, `-C` clears and `-R` restores is the same
//! table, for services, dests and match services; the table's rules for match services.

use super::*;
use crate::ipvs::spec::{AddrRange, DestSpec, FwdMethod, MatchSpec, SnatProto};
use crate::proto::model::{DestInfo, MatchService};
use crate::rvsadm::cli::parse;
use crate::rvsadm::format::list_all;
use crate::rvsadm::names::{Names, NoNames, StaticNames};
use crate::rvsadm::restore::parse_restore;
use crate::rvsadm::save::save;
use crate::rvsadm::ListFormat;
use std::net::IpAddr;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn change(line: &str, names: &dyn Names) -> Change {
    let argv: Vec<&str> = line.split_whitespace().collect();
    let c = parse(&argv, names).unwrap_or_else(|e| panic!("{line}: {e}"));
    c.into_change().unwrap_or_else(|| panic!("{line}: not a change"))
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

fn build(lines: &[&str], names: &dyn Names) -> ServiceTable {
    let mut t = ServiceTable::new();
    for l in lines {
        t.apply(&change(l, names)).unwrap_or_else(|e| panic!("{l}: {e}"));
    }
    t
}

fn restore_into(t: &mut ServiceTable, text: &str, names: &dyn Names) {
    for c in parse_restore("rvsadm", text, names).unwrap() {
        t.apply(&c).unwrap();
    }
}

const RICH: &[&str] = &[
    "rvsadm -A -t 192.168.0.38:80 -s wrr",
    "rvsadm -a -t 192.168.0.38:80 -r 192.168.0.18:80 -g -w 3",
    "rvsadm -a -t 192.168.0.38:80 -r 192.168.0.28:80 -g -w 1",
    "rvsadm -A -u 10.0.0.53:53 -s rr -p 360 -M 255.255.255.0 -o",
    "rvsadm -a -u 10.0.0.53:53 -r 10.1.1.1:5353 -m -w 0",
    "rvsadm -A -t 10.0.0.1:0 -s sh -b sh-fallback,sh-port -p",
    "rvsadm -a -t 10.0.0.1:0 -r 172.16.0.5:8080 -b -w 65535",
    "rvsadm -a -t 10.0.0.1:0 -r 172.16.0.6 -i --tun-type gue --tun-port 6080 --tun-remcsum",
    "rvsadm -a -t 10.0.0.1:0 -r 172.16.0.7 -i --tun-type gre --tun-csum",
    "rvsadm -a -t 10.0.0.1:0 -r 172.16.0.8 -i",
    "rvsadm -A -t 10.0.0.2:80 -s rr -b flag-3",
    "rvsadm -a -t 10.0.0.2:80 -r 10.0.0.9:80 -J",
    "rvsadm -A -t [2001:db8::10]:443 -p 600 -M 64",
    "rvsadm -a -t [2001:db8::10]:443 -r [2001:db8::20]:443",
    "rvsadm -a -t [2001:db8::10]:443 -r 10.9.9.9 -i",
    "rvsadm -a -t [2001:db8::10]:443 -r [2001:db8::30]:8443 -m -w 7",
];

#[test]
fn save_clear_restore_reproduces_the_table() {
    for numeric in [true, false] {
        let names = StaticNames::from_text(
            "192.168.0.38 vip\n192.168.0.18 web1\n",
            "http 80/tcp\ndomain 53/udp\nhttps 443/tcp\n",
        );
        let original = build(RICH, &names);
        let saved = save(original.services(), numeric, &names);
        let mut t = original.clone();
        t.apply(&Change::Clear).unwrap();
        assert!(t.services().is_empty());
        restore_into(&mut t, &saved, &names);
        assert_eq!(save(t.services(), numeric, &names), saved);
        let f = ListFormat { numeric: true, ..ListFormat::default() };
        assert_eq!(
            list_all(4096, t.services(), &f, &NoNames),
            list_all(4096, original.services(), &f, &NoNames)
        );
        // Same services and dests, whatever the order.
        for s in original.services() {
            let r = t
                .services()
                .iter()
                .find(|x| x.spec == s.spec)
                .unwrap_or_else(|| panic!("{:?} lost", s.spec.key));
            for d in &s.dests {
                assert!(r.dests.iter().any(|x| x.spec == d.spec), "{:?} lost", d.spec);
            }
            assert_eq!(r.dests.len(), s.dests.len());
        }
    }
}

#[test]
fn seeds_survive_the_round_trip() {
    // The seeds add real servers to 172.16.100.1:80 without showing its -A line.
    let mut lines = vec!["rvsadm -A -t 172.16.100.1:80 -s rr"];
    lines.extend(
        include_str!("../../../tests/data/adm/seed_commands.txt")
            .lines()
            .filter(|l| l.contains(" -A ") || l.contains(" -a ")),
    );
    let original = build(&lines, &NoNames);
    assert_eq!(original.services().len(), 9);
    let saved = save(original.services(), true, &NoNames);
    let mut t = ServiceTable::new();
    restore_into(&mut t, &saved, &NoNames);
    assert_eq!(save(t.services(), true, &NoNames), saved);
}

#[test]
fn match_services_save_and_restore_to_the_same_table() {
    let text = crate::rvsadm::save::save_matches(&[lan_match()], true, &NoNames);
    assert_eq!(
        text,
        "-A -H proto=tcp,src-range=10.0.0.1-10.0.0.254 -s rr\n\
         -a -H proto=tcp,src-range=10.0.0.1-10.0.0.254 -r 192.0.2.200:0 -J -w 1\n"
    );
    let cmds = parse_restore("rvsadm", &text, &NoNames).unwrap();
    let mut t = ServiceTable::new();
    for c in &cmds {
        t.apply(c).unwrap();
    }
    assert_eq!(t.matches(), &[lan_match()]);
    // The same model as the config's [[snat]]: one rule, and back.
    let rules = t.snat_rules();
    assert_eq!(
        rules,
        vec![SnatRule {
            src: lan_match().spec.src,
            dst: None,
            proto: SnatProto::Tcp,
            out_addr: ip("192.0.2.200"),
            synproxy: false,
        }]
    );
    let mut from_cfg = ServiceTable::new();
    from_cfg.add_snat_rules(&rules);
    assert_eq!(from_cfg.snat_rules(), rules);
    assert_eq!(
        from_cfg.matches()[0].scheduler.as_str(),
        "wlc",
        "config rules take ipvsadm's default"
    );
}

#[test]
fn a_match_service_with_the_syn_proxy_saves_restores_and_becomes_a_proxied_rule() {
    let m = MatchService { synproxy: true, ..lan_match() };
    let text = crate::rvsadm::save::save_matches(std::slice::from_ref(&m), true, &NoNames);
    assert_eq!(
        text,
        "-A -H proto=tcp,src-range=10.0.0.1-10.0.0.254 -s rr --synproxy\n\
         -a -H proto=tcp,src-range=10.0.0.1-10.0.0.254 -r 192.0.2.200:0 -J -w 1\n"
    );
    let mut t = ServiceTable::new();
    for c in &parse_restore("rvsadm", &text, &NoNames).unwrap() {
        t.apply(c).unwrap();
    }
    assert_eq!(t.matches(), &[m]);
    let rules = t.snat_rules();
    assert!(rules[0].synproxy, "the data plane's rule has the proxy on");
    // The config's rule loads with it, and -E without --synproxy turns it off (as -E of a
    // virtual service resets the options it does not repeat).
    let mut from_cfg = ServiceTable::new();
    from_cfg.add_snat_rules(&rules);
    assert!(from_cfg.matches()[0].synproxy);
    let h = "proto=tcp,src-range=10.0.0.1-10.0.0.254";
    t.apply(&change(&format!("rvsadm -E -H {h} -s rr"), &NoNames)).unwrap();
    assert!(!t.snat_rules()[0].synproxy);
    // A UDP match has no handshake to proxy: the table refuses it too (a control client
    // other than rvsadm may ask).
    let udp = MatchSpec { proto: SnatProto::Udp, ..lan_match().spec };
    let add = Change::AddMatch { matcher: udp, scheduler: "rr".parse().unwrap(), synproxy: true };
    assert_eq!(t.apply(&add), Err(TableError::Invalid(SpecError::SynproxyNotTcp)));
}

#[test]
fn match_service_table_rules() {
    let cmd = |l: &str| change(l, &NoNames);
    let h = "proto=tcp,src-range=10.0.0.1-10.0.0.254";
    let mut t = ServiceTable::new();
    let mut go = |l: String| t.apply(&cmd(&l));
    assert_eq!(
        go(format!("rvsadm -a -H {h} -r 192.0.2.200 -J")),
        Err(TableError::ServiceNotDefined)
    );
    assert_eq!(go(format!("rvsadm -A -H {h} -s rr")), Ok(()));
    assert_eq!(go(format!("rvsadm -A -H {h} -s rr")), Err(TableError::ServiceExists));
    assert_eq!(go(format!("rvsadm -a -H {h} -r 192.0.2.200")), Err(TableError::MatchNeedsSnat));
    assert_eq!(go(format!("rvsadm -a -H {h} -r 192.0.2.200 -J")), Ok(()));
    assert_eq!(go(format!("rvsadm -a -H {h} -r 192.0.2.201 -J")), Err(TableError::MatchOneAddress));
    assert_eq!(go(format!("rvsadm -a -H {h} -r 192.0.2.200 -J")), Err(TableError::DestExists));
    assert_eq!(go(format!("rvsadm -e -H {h} -r 192.0.2.200 -J -w 3")), Ok(()));
    assert_eq!(go(format!("rvsadm -d -H {h} -r 192.0.2.201")), Err(TableError::NoSuchDest));
    assert_eq!(go(format!("rvsadm -d -H {h} -r 192.0.2.200")), Ok(()));
    assert_eq!(go("rvsadm -D -H proto=udp".to_string()), Err(TableError::NoSuchService));
    assert_eq!(go(format!("rvsadm -D -H {h}")), Ok(()));
    assert_eq!(go("rvsadm -A -H proto=udp".to_string()), Ok(()));
    assert_eq!(go("rvsadm -C".to_string()), Ok(()));
    assert!(t.matches().is_empty(), "-C clears match services too");
}
