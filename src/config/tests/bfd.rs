//! `[[bfd_instance]]` and `bfd_check`: keepalived's defaults, the plan they make, the refusals
//! with their keys.

use super::services::with_services;
use crate::config::{Config, ConfigError};
use crate::health::plan::CheckKind;
use std::time::Duration;

const SVC: &str = r#"
[[service]]
proto = "tcp"
vip = "10.0.0.100:80"
[[service.dest]]
addr = "10.0.0.12"
[service.dest.bfd_check]
name = "rs1"
alpha = true
[[service.dest]]
addr = "10.0.0.13"
[service.dest.bfd_check]
name = "rs2"

[[bfd_instance]]
name = "rs1"
neighbor_ip = "10.0.0.12"
source_ip = "10.0.0.5"
min_rx = 50
min_tx = 100.5
idle_tx = 2000
multiplier = 3
passive = true
ttl = 64
max_hops = 2

[[bfd_instance]]
name = "rs2"
neighbor_ip = "10.0.0.13"
"#;

fn invalid(text: &str) -> (String, String) {
    match Config::from_toml_str(&with_services(text)) {
        Err(ConfigError::Invalid { key, message, .. }) => (key, message),
        other => panic!("accepted or other error: {other:?}"),
    }
}

#[test]
fn instances_take_keepalived_defaults_and_checks_name_them() {
    let cfg = Config::from_toml_str(&with_services(SVC)).unwrap();
    let bfd = &cfg.health().bfd;
    assert_eq!(bfd.port(), 3784);
    let [a, b] = &bfd.instances[..] else { panic!("{bfd:?}") };
    assert_eq!(
        (a.min_rx_us, a.min_tx_us, a.idle_tx_us, a.multiplier, a.passive, a.ttl, a.max_hops),
        (50_000, 100_500, 2_000_000, 3, true, 64, 2)
    );
    assert_eq!(a.source.map(|s| s.to_string()), Some("10.0.0.5".into()));
    // keepalived's defaults.
    assert_eq!(
        (b.min_rx_us, b.min_tx_us, b.idle_tx_us, b.multiplier, b.passive, b.ttl, b.max_hops),
        (10_000, 10_000, 1_000_000, 5, false, 255, 0)
    );
    assert!(b.ttl_ok(255) && !b.ttl_ok(254));
    assert!(a.ttl_ok(253) && !a.ttl_ok(252));
    let dests = &cfg.health().services[0].dests;
    let c = &dests[0].checkers[0];
    let CheckKind::Bfd(k) = &c.kind else { panic!("{c:?}") };
    assert_eq!((k.name.as_str(), k.instance), ("rs1", 0));
    assert_eq!(c.kind.name(), "BFD_CHECK");
    assert!(c.alpha);
    assert_eq!(c.target.to_string(), "10.0.0.12:0");
    // No retries: the session's detection time is the only delay.
    assert_eq!((c.timing.retry, c.timing.warmup), (0, Duration::ZERO));
    let CheckKind::Bfd(k) = &dests[1].checkers[0].kind else { panic!() };
    assert_eq!(k.instance, 1);
    assert!(!dests[1].checkers[0].alpha);
}

#[test]
fn bad_instances_and_dangling_checks_are_refused_with_the_key() {
    let svc = "[[service]]\nproto = \"tcp\"\nvip = \"10.0.0.100:80\"\n[[service.dest]]\naddr = \"10.0.0.12\"\n";
    let inst = "[[bfd_instance]]\nname = \"rs1\"\nneighbor_ip = \"10.0.0.12\"\n";
    for (text, key, words) in [
        (format!("{svc}[service.dest.bfd_check]\nname = \"nope\"\n{inst}"), "service[0].dest[0].bfd_check.name", "no [[bfd_instance]] is named `nope` (known: rs1)"),
        (format!("{svc}[service.dest.bfd_check]\n"), "service[0].dest[0].bfd_check.name", "missing"),
        (format!("{svc}[[bfd_instance]]\nneighbor_ip = \"10.0.0.12\"\n"), "bfd_instance[0].name", "missing"),
        (format!("{svc}{inst}{inst}"), "bfd_instance[1].name", "names two instances"),
        (format!("{svc}[[bfd_instance]]\nname = \"x\"\n"), "bfd_instance[0].neighbor_ip", "missing"),
        (format!("{svc}[[bfd_instance]]\nname = \"x\"\nneighbor_ip = \"fe80::1\"\n"), "bfd_instance[0].neighbor_ip", "IPv4 only"),
        (format!("{svc}[[bfd_instance]]\nname = \"x\"\nneighbor_ip = \"10.0.0.1\"\nsource_ip = \"nope\"\n"), "bfd_instance[0].source_ip", "not an IP address"),
        (format!("{svc}[[bfd_instance]]\nname = \"x\"\nneighbor_ip = \"10.0.0.1\"\nmin_rx = 0\n"), "bfd_instance[0].min_rx", "not an interval"),
        (format!("{svc}[[bfd_instance]]\nname = \"x\"\nneighbor_ip = \"10.0.0.1\"\nmultiplier = 0\n"), "bfd_instance[0].multiplier", "give 1 to 255"),
        (format!("{svc}[[bfd_instance]]\nname = \"x\"\nneighbor_ip = \"10.0.0.1\"\nttl = 256\n"), "bfd_instance[0].ttl", "give 1 to 255"),
        (format!("{svc}{inst}[[bfd_instance]]\nname = \"y\"\nneighbor_ip = \"10.0.0.12\"\n"), "bfd_instance[1].neighbor_ip", "one instance per neighbour"),
    ] {
        let (k, m) = invalid(&text);
        assert_eq!(k, key, "{text}");
        assert!(m.contains(words), "{text}: {m}");
    }
    // BFD_CHECK has none of the generic checker keys.
    let text = format!("{svc}[service.dest.bfd_check]\nname = \"rs1\"\ndelay_loop = 3\n{inst}");
    assert!(matches!(
        Config::from_toml_str(&with_services(&text)),
        Err(ConfigError::Syntax { .. })
    ));
}
