//! Golden test of the whole daemon path on a `net_pcap` port: the input capture goes through EAL,
//! the port, a worker on lcore 1 and the L2/L3 stack; the output capture must equal the golden
//! one, frame for frame. The captures are made by `tests/data/gen_foundation_pcaps.py`, which
//! builds the expected replies with its own code from the RFC layouts.
//!
//! One EAL per process: this file holds a single test (cargo-nextest runs each test in its own
//! process anyway).

use rvs::config::Config;
use rvs::daemon::Director;
use rvs::dataplane::stats::LoopStat;
use rvs::net::DropReason;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn frames(path: &Path) -> Vec<Vec<u8>> {
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut r = pcap_file::pcap::PcapReader::new(f).expect("pcap header");
    let mut out = Vec::new();
    while let Some(p) = r.next_packet() {
        out.push(p.expect("pcap record").data.into_owned());
    }
    out
}

fn hex(f: &[u8]) -> String {
    f.iter().map(|b| format!("{b:02x}")).collect()
}

/// The MAC address net_pcap gives its first port (it cannot be changed: the driver refuses
/// `rte_eth_dev_default_mac_addr_set`).
const PCAP_MAC: [u8; 6] = [0x02, 0x70, 0x63, 0x61, 0x70, 0x00];

#[test]
fn arp_and_echo_golden() {
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let input = data.join("foundation_in.pcap");
    let tmp = std::env::temp_dir().join(format!("rvs-golden-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let output = tmp.join("out.pcap");
    let cfg = format!(
        r#"
[eal]
main_lcore = 0
no_huge = true
no_pci = true
memory_mb = 128
file_prefix = "rvs-golden-{pid}"
vdevs = ["net_pcap0,rx_pcap={input},tx_pcap={output}"]

[[port]]
name = "p0"
device = "net_pcap0"
rx_queues = 1
tx_queues = 1
rx_desc = 256
tx_desc = 256
mtu = 1500


[[addr]]
port = "p0"
ip = "192.0.2.1/24"
kind = "host"

[[addr]]
port = "p0"
ip = "192.0.2.100/32"
kind = "vip"

[[worker]]
lcore = 1
cpu = 1
rx = [{{ port = "p0", queue = 0 }}]

[dataplane]
burst = 32
mbufs = 2047
mbuf_cache = 32
idle_backoff = {{ empty_polls = 8, sleep_us = 100 }}
"#,
        pid = std::process::id(),
        input = input.display(),
        output = output.display(),
    );
    let cfg = Config::from_toml_str(&cfg).expect("test config is valid");
    let director = Director::start(&cfg).expect("director starts on net_pcap");
    assert_eq!(
        director.port_macs(),
        vec![PCAP_MAC],
        "net_pcap's MAC (the captures are addressed to it)"
    );
    let want_rx = frames(&input).len() as u64;
    let deadline = Instant::now() + Duration::from_secs(20);
    let stats = director.core_stats()[0].clone();
    while stats.loop_stat(LoopStat::RxPackets) < want_rx {
        assert!(Instant::now() < deadline, "worker did not receive the capture in time");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(50));
    let drops: Vec<_> = DropReason::ALL
        .iter()
        .filter(|r| stats.drops(**r) > 0)
        .map(|r| (r.name(), stats.drops(*r)))
        .collect();
    eprintln!("drops: {drops:?}");
    assert_eq!(stats.drops(DropReason::Ipv4BadChecksum), 1);
    assert_eq!(stats.drops(DropReason::Ipv4Truncated), 1);
    assert_eq!(stats.drops(DropReason::Ipv4BadIhl), 1);
    assert_eq!(stats.drops(DropReason::EthTruncated), 1);
    assert_eq!(stats.drops(DropReason::ArpNotForUs), 1);
    director.shutdown().expect("clean shutdown");

    let got = frames(&output);
    let want = frames(&data.join("foundation_expected.pcap"));
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(hex(g), hex(w), "frame {i} differs");
    }
    assert_eq!(got.len(), want.len(), "frame count");
    let _ = std::fs::remove_dir_all(&tmp);
}
