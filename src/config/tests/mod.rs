//! Tests of the whole pipeline: the sample configs, the checked shape, EAL arguments, and
//! robustness against arbitrary text. Rejections are in `reject.rs`.

mod announce;
mod bfd;
mod exception;
mod health;
mod ipv6;
mod reject;
mod services;
mod services_reject;
mod sync;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use proptest::prelude::*;

use super::*;

/// A valid config with two ports, two workers and something in every section; the rejection
/// tests patch one line of it.
pub(super) const BASE: &str = r#"
[eal]
main_lcore = 0
no_huge = true
no_pci = true
memory_mb = 256
file_prefix = "rvs-test"
vdevs = ["net_null0", "net_null1,size=64"]

[[port]]
name = "lan0"
device = "net_null0"
rx_queues = 2
tx_queues = 2
rx_desc = 512
tx_desc = 512
mtu = 1500

[[port]]
name = "wan0"
device = "net_null1"
rx_queues = 2
rx_desc = 512
tx_desc = 512

[[addr]]
port = "lan0"
ip = "10.0.0.1/24"
kind = "host"

[[addr]]
port = "wan0"
ip = "10.1.0.1/24"
kind = "host"

[[addr]]
port = "lan0"
ip = "10.0.0.100/32"
kind = "vip"

[[route]]
dst = "default"
via = "10.1.0.254"
port = "wan0"

[[worker]]
lcore = 1
rx = [{ port = "lan0", queue = 0 }, { port = "wan0", queue = 0 }]

[[worker]]
lcore = 2
rx = [{ port = "lan0", queue = 1 }, { port = "wan0", queue = 1 }]

[dataplane]
burst = 32
mbuf_cache = 256

[neigh]
max_entries = 1024

[[neigh.static]]
ip = "10.0.0.2"
mac = "52:54:00:00:00:02"
port = "lan0"

[ctrl]
socket = "/run/rvs/test.sock"

[metrics]
listen = "127.0.0.1:9100"
"#;

/// Asserts that `text` is refused at `key` with a message containing every one of `words` (the
/// test files' `rejects` helpers wrap this one).
#[track_caller]
pub(super) fn refused_at(text: &str, key: &str, words: &[&str]) {
    match Config::from_toml_str(text) {
        Ok(_) => panic!("accepted, expected a refusal at {key}"),
        Err(ConfigError::Invalid { key: k, message, .. }) => {
            assert_eq!(k, key, "wrong key; message: {message}");
            for w in words {
                assert!(message.contains(w), "message lacks `{w}`: {message}");
            }
        }
        Err(e) => panic!("expected a rule violation at {key}, got: {e}"),
    }
}

/// `BASE` with the one occurrence of `from` replaced by `to`.
pub(super) fn patch(from: &str, to: &str) -> String {
    assert_eq!(BASE.matches(from).count(), 1, "`{from}` must occur exactly once in BASE");
    BASE.replacen(from, to, 1)
}

#[test]
fn base_is_valid_and_typed() {
    let c = Config::from_toml_str(BASE).unwrap();
    assert_eq!(c.ports().len(), 2);
    let wan = &c.ports()[1];
    assert_eq!(wan.index, 1);
    assert_eq!(wan.name, "wan0");
    assert_eq!(wan.device, Device::Vdev("net_null1".into()));
    assert_eq!(wan.tx_queues, 2, "tx_queues defaults to one per worker");
    assert_eq!(wan.mtu, 1500, "mtu defaults to 1500");
    assert!(!wan.promiscuous);
    assert_eq!(wan.mac, None);

    assert_eq!(
        c.addrs()[2],
        Addr {
            port: 0,
            ip: Ipv4Addr::new(10, 0, 0, 100),
            prefix_len: 32,
            kind: AddrKind::Vip,
            standby: false,
        }
    );
    assert_eq!(c.addrs()[1].net().trunc(), "10.1.0.0/24".parse().unwrap());
    assert_eq!(
        c.routes(),
        &[Route { dst: Ipv4Net::ANY, via: Some(Ipv4Addr::new(10, 1, 0, 254)), port: 1, metric: 0 }]
    );
    assert_eq!(
        c.static_neighs(),
        &[StaticNeigh { ip: Ipv4Addr::new(10, 0, 0, 2), mac: [0x52, 0x54, 0, 0, 0, 2], port: 0 }]
    );

    let w1 = &c.workers()[1];
    assert_eq!((w1.index, w1.lcore, w1.cpu, w1.tx_queue), (1, 2, 2, 1), "cpu defaults to lcore");
    assert_eq!(w1.rx, vec![RxQueue { port: 0, queue: 1 }, RxQueue { port: 1, queue: 1 }]);

    let n = c.neigh();
    assert_eq!(n.timeout, Duration::from_secs(300));
    assert_eq!(n.retry, Duration::from_millis(1000));
    assert_eq!(
        (n.probes, n.pending_per_neigh, n.pending_total, n.max_entries),
        (3, 16, 1024, 1024)
    );

    assert_eq!(c.ctrl().socket, PathBuf::from("/run/rvs/test.sock"));
    assert_eq!(c.ctrl().group, None);
    assert_eq!(c.metrics().listen, Some("127.0.0.1:9100".parse::<SocketAddr>().unwrap()));
    assert_eq!(c.dataplane().idle_backoff, None);
}

#[test]
fn mbufs_default_to_the_formula_rounded_to_pow2_minus_1() {
    let c = Config::from_toml_str(BASE).unwrap();
    // rings: lan0 2*512 + 2*512, wan0 2*512 + 2*512 = 4096; bursts 2*32*2 = 128;
    // caches (2+1) * 384 = 1152; pending_total 1024. Sum 6400, next 2^n - 1 is 8191.
    assert_eq!(c.min_mbufs(), 6400);
    assert_eq!(c.dataplane().mbufs, 8191);
    // Exactly the minimum is accepted; one less is not.
    let exact = patch("mbuf_cache = 256", "mbuf_cache = 256\nmbufs = 6400");
    assert_eq!(Config::from_toml_str(&exact).unwrap().dataplane().mbufs, 6400);
    let short = patch("mbuf_cache = 256", "mbuf_cache = 256\nmbufs = 6399");
    assert_eq!(Config::from_toml_str(&short).unwrap_err().key(), Some("dataplane.mbufs"));
}

#[test]
fn empty_sections_take_documented_defaults() {
    let text = r#"
[eal]
vdevs = ["net_null0"]
[[port]]
name = "p"
device = "net_null0"
[[worker]]
lcore = 1
rx = [{ port = "p", queue = 0 }]
"#;
    let c = Config::from_toml_str(text).unwrap();
    let e = c.eal();
    assert_eq!((e.main_lcore, e.main_cpu, e.no_huge, e.no_pci), (0, 0, false, false));
    assert_eq!(e.file_prefix, "rvs");
    assert_eq!(e.memory_mb, None);
    let p = &c.ports()[0];
    assert_eq!((p.rx_queues, p.tx_queues, p.rx_desc, p.tx_desc, p.mtu), (1, 1, 1024, 1024, 1500));
    let d = c.dataplane();
    assert_eq!((d.burst, d.mbuf_cache, d.idle_backoff), (32, 256, None));
    assert_eq!(d.tx_checksum_offload, crate::config::TxChecksumOffload::Auto);
    let n = c.neigh();
    assert_eq!(
        (n.timeout, n.retry, n.probes),
        (Duration::from_secs(300), Duration::from_millis(1000), 3)
    );
    assert_eq!(c.ctrl().socket, Path::new("/run/rvs/rvs.sock"));
    assert_eq!(c.metrics().listen, None, "no [metrics] means no exporter");
    assert!(c.routes().is_empty() && c.addrs().is_empty() && c.static_neighs().is_empty());
}

#[test]
fn lab_config_parses() {
    let c = Config::from_toml_str(include_str!("../../../conf/rvs.toml")).unwrap();
    assert_eq!(c.ports()[0].device, Device::Vdev("net_af_packet0".into()));
    assert_eq!(c.addrs().len(), 2);
    assert_eq!(c.workers().len(), 1);
    assert_eq!(c.workers()[0].rx, vec![RxQueue { port: 0, queue: 0 }]);
    assert_eq!(
        c.dataplane().idle_backoff,
        Some(IdleBackoff {
            empty_polls: 64,
            sleep: Duration::from_micros(200),
            max_sleep: Duration::from_micros(2000)
        })
    );
    assert_eq!(c.dataplane().mbufs, 8191);
    assert_eq!(c.ctrl().socket, Path::new("/run/rvs/lab.sock"));
}

#[test]
fn lab_eal_args_golden() {
    let c = Config::from_toml_str(include_str!("../../../conf/rvs.toml")).unwrap();
    let expected = [
        "--lcores",
        "0@0,1@1",
        "--main-lcore",
        "0",
        "--no-huge",
        "--no-shconf",
        "-m",
        "256",
        "--no-pci",
        "--file-prefix",
        "rvs-lab",
        "--vdev",
        "net_af_packet0,iface=eth0,qpairs=1",
        "--vdev",
        "net_tap_rvs0,iface=lan0-kernel",
        "--no-telemetry",
    ];
    assert_eq!(c.eal_args(), expected);
}

#[test]
fn bare_metal_config_parses() {
    let c = Config::from_toml_str(include_str!("../../../conf/bare-metal.toml")).unwrap();
    assert_eq!(
        c.ports().iter().map(|p| p.device.clone()).collect::<Vec<_>>(),
        [Device::Pci("0000:3b:00.0".into()), Device::Pci("0000:3b:00.1".into())]
    );
    assert!(c.ports().iter().all(|p| p.rx_queues == 4 && p.tx_queues == 4));
    assert_eq!(c.workers().len(), 4);
    for (i, w) in c.workers().iter().enumerate() {
        assert_eq!(usize::from(w.tx_queue), i);
        assert_eq!(
            w.rx,
            [RxQueue { port: 0, queue: i as u16 }, RxQueue { port: 1, queue: i as u16 }]
        );
    }
    assert_eq!(c.dataplane().idle_backoff, None, "bare metal busy-polls");
    // The sum written out in the sample's comment.
    assert_eq!(c.min_mbufs(), 41344);
    assert_eq!(c.dataplane().mbufs, 65535);
    // A management address, never every address of the host.
    assert_eq!(c.metrics().listen, Some("192.0.2.10:9100".parse().unwrap()));
    assert_eq!(c.routes()[0].dst, Ipv4Net::ANY);
    assert_eq!(c.ctrl().group.as_deref(), Some("rvs"));
    let args = c.eal_args();
    let expected = [
        "--lcores",
        "0@0,1@2,2@3,3@4,4@5",
        "--main-lcore",
        "0",
        "--file-prefix",
        "rvs",
        "--vdev",
        "net_tap_rvs0,iface=ext0-kernel",
        "--vdev",
        "net_tap_rvs1,iface=int0-kernel",
        "-a",
        "0000:3b:00.0",
        "-a",
        "0000:3b:00.1",
        "--huge-dir",
        "/dev/hugepages",
        "--no-telemetry",
    ];
    assert_eq!(args, expected);
}

#[test]
fn eal_args_optional_parts() {
    let text = patch("file_prefix = \"rvs-test\"", "file_prefix = \"rvs-test\"\nmain_cpu = 7\ntelemetry = true\nextra_args = [\"--log-level=8\", \"--match-allocations\"]");
    let args = Config::from_toml_str(&text).unwrap().eal_args();
    assert_eq!(&args[..2], ["--lcores", "0@7,1@1,2@2"]);
    assert!(!args.iter().any(|a| a == "--no-telemetry"));
    assert_eq!(
        &args[args.len() - 2..],
        ["--log-level=8", "--match-allocations"],
        "extra_args come last"
    );
    let vdevs: Vec<&String> = args.iter().skip_while(|a| *a != "--vdev").collect();
    assert_eq!(vdevs[..4], ["--vdev", "net_null0", "--vdev", "net_null1,size=64"]);
}

#[test]
fn load_names_the_file() {
    let dir = std::env::temp_dir().join(format!("rvs-config-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.toml");
    std::fs::write(&good, BASE).unwrap();
    assert_eq!(Config::load(&good).unwrap(), Config::from_toml_str(BASE).unwrap());

    let bad = dir.join("bad.toml");
    std::fs::write(&bad, patch("burst = 32", "burst = 0")).unwrap();
    let msg = Config::load(&bad).unwrap_err().to_string();
    assert!(msg.starts_with(&format!("{}: dataplane.burst: ", bad.display())), "{msg}");

    let missing = dir.join("missing.toml");
    let err = Config::load(&missing).unwrap_err();
    assert!(matches!(err, ConfigError::Read { ref path, .. } if *path == missing), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `BASE` with `text` spliced in at a byte position, replacing `cut` bytes.
fn splice(pos: usize, cut: usize, text: &str) -> String {
    let mut s = BASE.as_bytes().to_vec();
    let pos = pos % (s.len() + 1);
    let end = (pos + cut).min(s.len());
    s.splice(pos..end, text.bytes());
    String::from_utf8_lossy(&s).into_owned()
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
        let _ = Config::from_toml_str(&text);
    }

    #[test]
    fn mutated_config_never_panics(pos in 0usize..2000, cut in 0usize..20, text in "[0-9a-z=\\[\\]{},.\":/ \n-]{0,20}") {
        let _ = Config::from_toml_str(&splice(pos, cut, &text));
    }

    #[test]
    fn any_number_in_any_value_never_panics(pos in 0usize..2000, n: i64) {
        // Numbers where strings, queues or sizes were: exercises every range check.
        let _ = Config::from_toml_str(&splice(pos, 3, &n.to_string()));
    }
}
