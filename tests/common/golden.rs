//! The per-mode golden tests' shared run: rvsd's real daemon path ([`Director::start`] with one
//! worker on lcore 1) over `net_pcap` ports whose rx captures are the scenario's input and whose
//! tx captures must equal the expected ones, frame for frame.
//!
//! Captures live in `tests/data/modes/` and are written by `tests/data/gen_mode_pcaps.py`, which
//! builds every expected frame with its own code (see its doc for the rules it encodes). A
//! one-port scenario uses `<mode>_in.pcap` and `<mode>_expected.pcap`; a two-port one
//! `<mode>_in_<port>.pcap` and `<mode>_expected_<port>.pcap` for each port name.
//!
//! The comparison is exact: no field is masked. The fields rvs derives itself (TUN's outer
//! identification and GUE source port, from a flow hash; FULLNAT/SNAT local ports, from the
//! port cursor) are computed by the generator from their documented definitions.

use rvs::config::Config;
use rvs::daemon::Director;
use rvs::dataplane::stats::{CoreStats, LoopStat, LB_EVENTS};
use rvs::ipvs::counters::IpvsDropReason;
use rvs::net::DropReason;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The MAC address net_pcap gives its `i`-th port, in probe order (the driver numbers its
/// ports in the last byte and refuses to change it).
pub fn pcap_mac(i: u8) -> [u8; 6] {
    [0x02, 0x70, 0x63, 0x61, 0x70, i]
}

/// The frames of a capture file.
pub fn frames(path: &Path) -> Vec<Vec<u8>> {
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut r = pcap_file::pcap::PcapReader::new(f).expect("pcap header");
    let mut out = Vec::new();
    while let Some(p) = r.next_packet() {
        out.push(p.expect("pcap record").data.into_owned());
    }
    out
}

/// Lowercase hex of `f`.
pub fn hex(f: &[u8]) -> String {
    f.iter().map(|b| format!("{b:02x}")).collect()
}

/// A golden scenario.
pub struct Scenario<'a> {
    /// Capture file prefix in `tests/data/modes/` (`nat`, `dr`, ...).
    pub mode: &'a str,
    /// Port names in config order (port `i` is `net_pcap<i>`). With one port the files carry no
    /// port suffix.
    pub ports: &'a [&'a str],
    /// The config after `[eal]` and `[[port]]`: addresses, neighbours, the worker, services.
    /// `[dataplane]` is added here (small pool, 1024 connections).
    pub body: &'a str,
    /// Stack drops the scenario expects, by reason; every other reason must stay at zero.
    pub drops: &'a [(DropReason, u64)],
    /// Balancer drops the scenario expects, by reason; every other reason must stay at zero.
    pub lb_drops: &'a [(IpvsDropReason, u64)],
}

/// A balancer counter of `stats` by its metric name (`rvs_lb_resets_sent_total`, ...).
pub fn lb_event(stats: &CoreStats, metric: &str) -> u64 {
    let i = LB_EVENTS
        .iter()
        .position(|e| e.metric == metric)
        .unwrap_or_else(|| panic!("no balancer counter {metric}"));
    stats.lb_event(i)
}

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/modes")
}

impl Scenario<'_> {
    fn file(&self, kind: &str, port: &str) -> PathBuf {
        let name = if self.ports.len() == 1 {
            format!("{}_{kind}.pcap", self.mode)
        } else {
            format!("{}_{kind}_{port}.pcap", self.mode)
        };
        data_dir().join(name)
    }

    fn config(&self, out_dir: &Path) -> String {
        let pid = std::process::id();
        let vdevs: Vec<String> = self
            .ports
            .iter()
            .enumerate()
            .map(|(i, p)| {
                format!(
                    "\"net_pcap{i},rx_pcap={},tx_pcap={}\"",
                    self.file("in", p).display(),
                    out_dir.join(format!("{p}.pcap")).display()
                )
            })
            .collect();
        let mut cfg = format!(
            r#"
[eal]
main_lcore = 0
no_huge = true
no_pci = true
memory_mb = 128
file_prefix = "rvs-golden-{mode}-{pid}"
vdevs = [{vdevs}]
"#,
            mode = self.mode,
            vdevs = vdevs.join(", "),
        );
        for (i, p) in self.ports.iter().enumerate() {
            cfg += &format!(
                r#"
[[port]]
name = "{p}"
device = "net_pcap{i}"
rx_queues = 1
tx_queues = 1
rx_desc = 256
tx_desc = 256
mtu = 1500
"#
            );
        }
        cfg += self.body;
        cfg += r#"
[dataplane]
burst = 32
mbufs = 4095
mbuf_cache = 32
conns_per_worker = 1024
idle_backoff = { empty_polls = 8, sleep_us = 100 }
local_port_start = "first"
"#;
        cfg
    }

    /// Runs the scenario and asserts: the ports' MACs, every input frame received, nothing
    /// dropped but [`Scenario::drops`] and [`Scenario::lb_drops`], no tx drop, and each port's
    /// output capture equal to its expected capture. Returns the worker's final counters.
    pub fn run(&self) -> Arc<CoreStats> {
        let out_dir =
            std::env::temp_dir().join(format!("rvs-golden-{}-{}", self.mode, std::process::id()));
        std::fs::create_dir_all(&out_dir).unwrap();
        let text = self.config(&out_dir);
        let cfg = Config::from_toml_str(&text)
            .unwrap_or_else(|e| panic!("test config is invalid: {e}\n{text}"));
        let want_rx: u64 =
            self.ports.iter().map(|p| frames(&self.file("in", p)).len() as u64).sum();
        let want: Vec<Vec<Vec<u8>>> =
            self.ports.iter().map(|p| frames(&self.file("expected", p))).collect();
        let want_tx: u64 = want.iter().map(|w| w.len() as u64).sum();

        let director = Director::start(&cfg).expect("director starts on net_pcap");
        let macs: Vec<[u8; 6]> = (0..self.ports.len() as u8).map(pcap_mac).collect();
        assert_eq!(
            director.port_macs(),
            macs,
            "net_pcap's MACs (the captures are addressed to them)"
        );
        let stats = director.core_stats()[0].clone();
        // Wait for the whole input, then for the whole expected output or until nothing more
        // is sent for a while (the comparison below then says what is missing).
        let deadline = Instant::now() + Duration::from_secs(20);
        let (mut last_tx, mut still_since) = (u64::MAX, Instant::now());
        loop {
            let (rx, tx) =
                (stats.loop_stat(LoopStat::RxPackets), stats.loop_stat(LoopStat::TxPackets));
            if tx != last_tx {
                (last_tx, still_since) = (tx, Instant::now());
            }
            let settled = rx >= want_rx
                && (tx >= want_tx || still_since.elapsed() > Duration::from_millis(500));
            if settled || Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(50));
        director.shutdown().expect("clean shutdown");

        // The worker publishes its final counters when it stops.
        assert_eq!(stats.loop_stat(LoopStat::RxPackets), want_rx, "frames received");
        assert_eq!(stats.loop_stat(LoopStat::TxDropped), 0, "tx drops");
        let drops: Vec<_> =
            DropReason::ALL.iter().map(|r| (*r, stats.drops(*r))).filter(|(_, n)| *n > 0).collect();
        let mut expected_drops: Vec<_> =
            self.drops.iter().copied().filter(|(_, n)| *n > 0).collect();
        expected_drops.sort_by_key(|(r, _)| r.index());
        assert_eq!(drops, expected_drops, "stack drops by reason");
        let lb_drops: Vec<_> = IpvsDropReason::ALL
            .iter()
            .map(|r| (*r, stats.lb_drops(*r)))
            .filter(|(_, n)| *n > 0)
            .collect();
        let mut expected_lb: Vec<_> =
            self.lb_drops.iter().copied().filter(|(_, n)| *n > 0).collect();
        expected_lb.sort_by_key(|(r, _)| *r as usize);
        assert_eq!(lb_drops, expected_lb, "balancer drops by reason");

        for (p, want) in self.ports.iter().zip(&want) {
            let got = frames(&out_dir.join(format!("{p}.pcap")));
            compare(p, &got, want);
        }
        assert_eq!(stats.loop_stat(LoopStat::TxPackets), want_tx, "frames sent");
        let _ = std::fs::remove_dir_all(&out_dir);
        stats
    }
}

/// Asserts `got == want` frame for frame, naming the port, the frame and the first byte that
/// differs.
pub fn compare(port: &str, got: &[Vec<u8>], want: &[Vec<u8>]) {
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        if g != w {
            let at = g.iter().zip(w).position(|(a, b)| a != b).unwrap_or(g.len().min(w.len()));
            panic!(
                "port {port}: frame {i} differs from byte {at} (lengths {} / {})\n got: {}\nwant: {}",
                g.len(),
                w.len(),
                hex(g),
                hex(w)
            );
        }
    }
    assert_eq!(got.len(), want.len(), "port {port}: frame count");
}

/// The config body of a golden scenario ([`Scenario::body`]), built from the labs' shared parts
/// so that each scenario states only what differs: its addresses and neighbours, which port is
/// polled first, and its services (TOML, inline).
///
/// The labs: one port `lan` (DR, TUN: clients, the VIP and the real servers on
/// 198.51.100.0/24), or two ports `wan` (198.51.100.0/24: the clients' router, the VIP or the
/// SNAT WAN address) and `lan` (10.0.0.0/24: the real servers or inside hosts, whose gateway is
/// the director). Addresses and neighbours are written grouped by port, in the order the ports
/// were first named, each group in the order given.
#[derive(Default)]
pub struct Body {
    /// Port names in order of first mention.
    ports: Vec<&'static str>,
    /// (port, CIDR, kind).
    addrs: Vec<(&'static str, &'static str, &'static str)>,
    /// (port, address, MAC).
    neighs: Vec<(&'static str, &'static str, &'static str)>,
    /// The worker's rx ports, polled in this order.
    poll: Vec<&'static str>,
}

/// The lab's real servers (or inside hosts) as static neighbours: address on the two-port
/// lab's `lan`, address on the one-port lab, MAC.
const REAL_SERVERS: [(&str, &str, &str); 2] = [
    ("10.0.0.11", "198.51.100.11", "02:00:00:00:00:a1"),
    ("10.0.0.12", "198.51.100.12", "02:00:00:00:00:a2"),
];

impl Body {
    /// The two-port lab: the director's host addresses 198.51.100.1/24 on `wan` and
    /// 10.0.0.1/24 on `lan`.
    pub fn wan_lan() -> Body {
        Body::default().addr("wan", "198.51.100.1/24", "host").addr("lan", "10.0.0.1/24", "host")
    }

    /// The one-port lab: host address 198.51.100.1/24 and VIP 198.51.100.100 on `lan`, the two
    /// real servers (.11, .12) as neighbours, the worker polling `lan`.
    pub fn one_lan() -> Body {
        let mut b = Body::default().addr("lan", "198.51.100.1/24", "host").addr(
            "lan",
            "198.51.100.100/32",
            "vip",
        );
        for (_, ip, mac) in REAL_SERVERS {
            b = b.neigh("lan", ip, mac);
        }
        b.poll(&["lan"])
    }

    /// An address of the director on `port` (`kind`: host, vip, local).
    pub fn addr(mut self, port: &'static str, cidr: &'static str, kind: &'static str) -> Body {
        self.note_port(port);
        self.addrs.push((port, cidr, kind));
        self
    }

    /// The VIP 198.51.100.100 on `wan`.
    pub fn vip(self) -> Body {
        self.addr("wan", "198.51.100.100/32", "vip")
    }

    /// A static neighbour on `port`.
    pub fn neigh(mut self, port: &'static str, ip: &'static str, mac: &'static str) -> Body {
        self.note_port(port);
        self.neighs.push((port, ip, mac));
        self
    }

    /// The clients' router 198.51.100.2 on `wan`.
    pub fn client_router(self) -> Body {
        self.neigh("wan", "198.51.100.2", "02:00:00:00:00:c1")
    }

    /// The first `n` real servers (10.0.0.11, .12) on `lan`.
    pub fn real_servers(mut self, n: usize) -> Body {
        for (ip, _, mac) in REAL_SERVERS.into_iter().take(n) {
            self = self.neigh("lan", ip, mac);
        }
        self
    }

    /// The worker's rx ports, in polling order: the port the scenario's first packets
    /// arrive on comes first (see the capture generators on ordering).
    pub fn poll(mut self, ports: &[&'static str]) -> Body {
        self.poll = ports.to_vec();
        self
    }

    /// The whole body: addresses, neighbours, the worker, then `rest` (services, SNAT rules).
    pub fn then(&self, rest: &str) -> String {
        let mut out = String::new();
        for port in &self.ports {
            for (_, ip, kind) in self.addrs.iter().filter(|a| a.0 == *port) {
                out +=
                    &format!("\n[[addr]]\nport = \"{port}\"\nip = \"{ip}\"\nkind = \"{kind}\"\n");
            }
        }
        for port in &self.ports {
            for (_, ip, mac) in self.neighs.iter().filter(|n| n.0 == *port) {
                out += &format!(
                    "\n[[neigh.static]]\nip = \"{ip}\"\nmac = \"{mac}\"\nport = \"{port}\"\n"
                );
            }
        }
        let rx: Vec<String> =
            self.poll.iter().map(|p| format!("{{ port = \"{p}\", queue = 0 }}")).collect();
        out += &format!("\n[[worker]]\nlcore = 1\ncpu = 1\nrx = [{}]\n", rx.join(", "));
        out += rest;
        out
    }

    fn note_port(&mut self, port: &'static str) {
        if !self.ports.contains(&port) {
            self.ports.push(port);
        }
    }
}
