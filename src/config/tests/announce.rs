//! `[announce]` and the services' `announce` and `sloppy` keys (scale-out): the lab's director
//! config is accepted as shipped, and each rule refuses at its key with the fix.

use crate::config::announce::AnnouncePolicy;
use crate::config::Config;
use crate::ipvs::spec::{Protocol, ServiceKey};

const DIR1: &str = include_str!("../../../conf/lab-ecmp-dir1.toml");

#[track_caller]
fn rejects(text: &str, key: &str, word: &str) {
    super::refused_at(text, key, &[word]);
}

#[test]
fn the_labs_director_config_is_accepted() {
    let cfg = Config::from_toml_str(DIR1).unwrap();
    let a = cfg.announce().expect("[announce]");
    assert_eq!((a.table, a.dev.as_str()), (100, "lan-kernel"));
    assert_eq!(a.interval, core::time::Duration::from_millis(200));
    assert!(a.drain_timeout.is_zero());
    assert_eq!(a.bird_socket.as_deref(), Some(std::path::Path::new("/run/rvs-ecmp/bird-dir1.ctl")));
    // `announce = "healthy"` is the default: no entry.
    assert!(a.policies.is_empty());
    let s = &cfg.services().services()[0].spec;
    assert!(s.sloppy);
    let toml = crate::config::to_toml(cfg.services(), &[], cfg.timeouts());
    assert!(toml.contains("sloppy = true\n"), "{toml}");
}

#[test]
fn a_policy_other_than_healthy_is_kept_per_service() {
    let text = DIR1.replace("announce = \"healthy\"", "announce = \"always\"");
    let cfg = Config::from_toml_str(&text).unwrap();
    let key = ServiceKey { proto: Protocol::Tcp, addr: "10.99.9.100".parse().unwrap(), port: 80 };
    assert_eq!(cfg.announce().unwrap().policies, [(key, AnnouncePolicy::Always)]);
}

#[test]
fn each_rule_refuses_at_its_key() {
    rejects(&DIR1.replace("table = 100\n", ""), "announce.table", "missing");
    rejects(&DIR1.replace("table = 100\n", "table = 254\n"), "announce.table", "system table");
    rejects(&DIR1.replace("dev = \"lan-kernel\"", "dev = \"eth9\""), "announce.dev", "lan-kernel");
    rejects(&DIR1.replace("interval = 0.2", "interval = 0.01"), "announce.interval", "0.05");
    rejects(
        &DIR1.replace("bird_socket = \"/run/", "bird_socket = \"run/"),
        "announce.bird_socket",
        "absolute path",
    );
    rejects(
        &DIR1.replace("drain_timeout = 0", "drain_timeout = -1"),
        "announce.drain_timeout",
        "seconds",
    );
    rejects(
        &DIR1.replace("announce = \"healthy\"", "announce = \"sometimes\""),
        "service[0].announce",
        "\"always\"",
    );
    let no_section = DIR1
        .replace("[announce]\n", "")
        .replace("table = 100\ndev = \"lan-kernel\"\ninterval = 0.2\ndrain_timeout = 0\n", "")
        .replace("bird_socket = \"/run/rvs-ecmp/bird-dir1.ctl\"\n", "");
    rejects(
        &no_section.replace("announce = \"healthy\"", "announce = \"always\""),
        "service[0].announce",
        "[announce]",
    );
    // Without the section and without policies, nothing is announced.
    assert!(Config::from_toml_str(&no_section).unwrap().announce().is_none());
}
