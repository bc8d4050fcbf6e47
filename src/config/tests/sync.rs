//! `[sync]` (connection sync): the keys with their defaults, and each rule refusing at its key
//! with the fix.

use std::net::{Ipv4Addr, SocketAddr};

use crate::config::Config;
use crate::proto::sync::SyncRole;

const DIR1: &str = include_str!("../../../conf/lab-ecmp-dir1.toml");

fn with(sync: &str) -> String {
    format!("{DIR1}\n[sync]\n{sync}\n")
}

#[track_caller]
fn rejects(sync: &str, key: &str, word: &str) {
    super::refused_at(&with(sync), key, &[word]);
}

#[test]
fn the_kernels_defaults_fill_what_is_not_given() {
    let cfg = Config::from_toml_str(&with("role = \"backup\"\nmcast_interface = \"lan-kernel\""))
        .unwrap();
    let s = cfg.sync().expect("[sync]");
    assert_eq!(s.roles, [SyncRole::Backup]);
    let st = &s.settings;
    assert_eq!((st.ifname.as_str(), st.local_addr), ("lan-kernel", Ipv4Addr::new(10, 99, 2, 21)));
    // The port's MTU 1500 less the IPv4 and UDP headers; group, port and TTL as the kernel's.
    assert_eq!((st.syncid, st.maxlen, st.port, st.ttl), (0, 1472, 8848, 1));
    assert_eq!(st.group, Ipv4Addr::new(224, 0, 0, 81));
    assert!(st.peers.is_empty());
    assert!(Config::from_toml_str(DIR1).unwrap().sync().is_none());
}

#[test]
fn both_roles_and_unicast_peers() {
    let cfg = Config::from_toml_str(&with(
        "role = \"both\"\nmcast_interface = \"lan-kernel\"\nsyncid = 7\nsync_maxlen = 1000\n\
         mcast_group = \"239.1.1.1\"\nmcast_port = 9000\nmcast_ttl = 2\n\
         peers = [\"10.99.2.22\", \"10.99.2.23:9001\"]",
    ))
    .unwrap();
    let s = cfg.sync().unwrap();
    assert_eq!(s.roles, [SyncRole::Master, SyncRole::Backup]);
    let st = &s.settings;
    assert_eq!((st.syncid, st.maxlen, st.port, st.ttl), (7, 1000, 9000, 2));
    assert_eq!(st.group, Ipv4Addr::new(239, 1, 1, 1));
    let want: Vec<SocketAddr> =
        vec!["10.99.2.22:9000".parse().unwrap(), "10.99.2.23:9001".parse().unwrap()];
    assert_eq!(st.peers, want);
    assert_eq!(cfg.sync_ifaces().len(), 1);
}

#[test]
fn each_rule_refuses_at_its_key() {
    let ok = "mcast_interface = \"lan-kernel\"";
    rejects(ok, "sync.role", "missing");
    rejects(&format!("role = \"primary\"\n{ok}"), "sync.role", "\"both\"");
    rejects("role = \"master\"", "sync.mcast_interface", "lan-kernel");
    rejects(
        "role = \"master\"\nmcast_interface = \"eth0\"",
        "sync.mcast_interface",
        "kernel_iface",
    );
    let m = format!("role = \"master\"\n{ok}");
    rejects(&format!("{m}\nsyncid = 256"), "sync.syncid", "0 to 255");
    rejects(&format!("{m}\nsync_maxlen = 79"), "sync.sync_maxlen", "80 to 65507");
    rejects(&format!("{m}\nmcast_group = \"10.0.0.1\""), "sync.mcast_group", "multicast");
    rejects(&format!("{m}\nmcast_group = \"ff02::81\""), "sync.mcast_group", "IPv4");
    rejects(&format!("{m}\nmcast_port = 0"), "sync.mcast_port", "1 to 65535");
    rejects(&format!("{m}\nmcast_ttl = 0"), "sync.mcast_ttl", "1 to 255");
    rejects(&format!("{m}\npeers = [\"peer2\"]"), "sync.peers[0]", "IPv4 address");
    rejects(&format!("{m}\npeers = [\"224.0.0.81\"]"), "sync.peers[0]", "unicast");
    rejects(&format!("{m}\npeers = [\"10.99.2.21\"]"), "sync.peers[0]", "own address");
}
