//! Per-service, per-dest and local-address pool metrics, and `--rate`, over rvsd's real daemon
//! path: one `net_pcap` port whose rx capture (written here) holds a known number of UDP
//! datagrams from two clients to a DR service, and three flows to a FULLNAT service. The scraped `/metrics` values must equal what was sent, and the same
//! numbers `rvsadm -L --stats` prints; after the estimator's 2 s interval `--rate` is non-zero.
//!
//! One EAL per process: this file holds a single test.

mod common;

use common::golden::pcap_mac;
use rvs::config::Config;
use rvs::ctrl::control::Control;
use rvs::ctrl::server::{Server, ServerConfig};
use rvs::daemon::Director;
use rvs::dataplane::stats::{LoopStat, LB_EVENTS};
use rvs::ipvs::service::BuildOptions;
use rvs::metrics::lb_source::LbMetrics;
use rvs_tools::rvsadm::names::NoNames;
use rvs_tools::rvsadm::run as rvsadm;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Datagrams per client, and the clients.
const PER_CLIENT: usize = 6;
const CLIENTS: [[u8; 4]; 2] = [[198, 51, 100, 50], [198, 51, 100, 51]];

fn ipv4_checksum(h: &[u8]) -> u16 {
    let mut sum = 0u32;
    for c in h.chunks(2) {
        sum += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// A UDP datagram from `client`:`sport` to the VIP's port `dport` with `payload` bytes;
/// returns the frame and its IP total length.
fn datagram(client: [u8; 4], sport: u16, dport: u16, payload: usize) -> (Vec<u8>, u64) {
    let ip_len = 20 + 8 + payload;
    let mut f = Vec::new();
    f.extend_from_slice(&pcap_mac(0));
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 0xc1]);
    f.extend_from_slice(&[0x08, 0x00]);
    let mut ip = vec![0x45, 0, (ip_len >> 8) as u8, ip_len as u8, 0, 1, 0x40, 0, 64, 17, 0, 0];
    ip.extend_from_slice(&client);
    ip.extend_from_slice(&[198, 51, 100, 100]);
    let c = ipv4_checksum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&ip);
    let udp_len = (8 + payload) as u16;
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&dport.to_be_bytes());
    f.extend_from_slice(&udp_len.to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend((0..payload).map(|i| i as u8));
    (f, ip_len as u64)
}

/// Flows (client ports) to the FULLNAT service, one datagram each.
const FULLNAT_FLOWS: u16 = 3;

/// Writes the capture: the DR service's datagrams, then one datagram per FULLNAT flow. Returns
/// the DR datagrams and their bytes, and the total number of frames.
fn write_capture(path: &Path) -> (u64, u64, u64) {
    let file = std::fs::File::create(path).expect("capture file");
    let mut w = pcap_file::pcap::PcapWriter::new(file).expect("pcap header");
    let (mut n, mut bytes) = (0u64, 0u64);
    let mut frames = Vec::new();
    for i in 0..PER_CLIENT {
        for (c, client) in CLIENTS.iter().enumerate() {
            let (f, len) = datagram(*client, 4000 + c as u16, 53, 10 + 37 * i + c);
            frames.push(f);
            n += 1;
            bytes += len;
        }
    }
    for p in 0..FULLNAT_FLOWS {
        frames.push(datagram(CLIENTS[0], 5000 + p, 5353, 20).0);
    }
    for (i, f) in frames.iter().enumerate() {
        let pkt =
            pcap_file::pcap::PcapPacket::new(Duration::from_millis(i as u64), f.len() as u32, f);
        w.write_packet(&pkt).expect("pcap record");
    }
    (n, bytes, frames.len() as u64)
}

/// A TCP port nobody listens on now (the config refuses port 0).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    l.local_addr().unwrap().port()
}

fn scrape(addr: std::net::SocketAddr) -> String {
    let mut s = std::net::TcpStream::connect(addr).expect("metrics endpoint");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

/// The value of the sample whose name and labels are exactly `series`.
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no sample {series} in\n{text}"))
}

fn run(sock: &Path, line: &str) -> String {
    let argv: Vec<String> = line.split_whitespace().map(str::to_string).collect();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = rvsadm::run(&argv, &mut &b""[..], &mut out, &mut err, sock, &NoNames);
    assert_eq!(code, 0, "{line}: {}", String::from_utf8_lossy(&err));
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn scraped_service_metrics_equal_the_traffic_sent() {
    let pid = std::process::id();
    let dir = std::env::temp_dir().join(format!("rvs-dpdk-metrics-{pid}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("in.pcap");
    let (sent, sent_bytes, frames) = write_capture(&input);
    let cfg = format!(
        r#"
[eal]
main_lcore = 0
no_huge = true
no_pci = true
memory_mb = 128
file_prefix = "rvs-metrics-{pid}"
vdevs = ["net_pcap0,rx_pcap={input},tx_pcap={output}"]

[[port]]
name = "lan"
device = "net_pcap0"
rx_queues = 1
tx_queues = 1
rx_desc = 256
tx_desc = 256

[[addr]]
port = "lan"
ip = "198.51.100.1/24"
kind = "host"

[[addr]]
port = "lan"
ip = "198.51.100.100/32"
kind = "vip"

[[addr]]
port = "lan"
ip = "198.51.100.200/32"
kind = "local"

[[neigh.static]]
ip = "198.51.100.11"
mac = "02:00:00:00:00:a1"
port = "lan"

[[worker]]
lcore = 1
cpu = 1
rx = [{{ port = "lan", queue = 0 }}]

[dataplane]
mbufs = 2047
mbuf_cache = 32
conns_per_worker = 1024
idle_backoff = {{ empty_polls = 8, sleep_us = 100 }}

[metrics]
listen = "127.0.0.1:{mport}"

[[service]]
proto = "udp"
vip = "198.51.100.100:53"
scheduler = "rr"

[[service.dest]]
addr = "198.51.100.11:53"
fwd = "dr"

[[service]]
proto = "udp"
vip = "198.51.100.100:5353"
scheduler = "rr"
laddrs = ["198.51.100.200"]

[[service.dest]]
addr = "198.51.100.11:53"
fwd = "fullnat"
"#,
        input = input.display(),
        mport = free_port(),
        output = dir.join("out.pcap").display(),
    );
    let cfg = Config::from_toml_str(&cfg).expect("test config is valid");
    let director = Director::start(&cfg).expect("director starts on net_pcap");
    let control = Arc::new(Mutex::new(Control::new(
        cfg.services().clone(),
        cfg.snat_rules().to_vec(),
        BuildOptions::default(),
        director.control(),
    )));
    director.add_metrics_source(Arc::new(LbMetrics::new(control.clone())));
    let sock = dir.join("rvs.sock");
    let server = Server::start_shared(ServerConfig::new(&sock), control).expect("server starts");

    let stats = director.core_stats()[0].clone();
    let fwd = LB_EVENTS.iter().position(|e| e.metric == "rvs_lb_forwarded_total").unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while stats.loop_stat(LoopStat::RxPackets) < frames || stats.lb_event(fwd) < frames {
        assert!(Instant::now() < deadline, "worker did not forward the capture in time");
        std::thread::sleep(Duration::from_millis(20));
    }

    let text = scrape(director.metrics_addr().expect("metrics run"));
    let svc = r#"protocol="udp",vip="198.51.100.100",port="53""#;
    let dst = format!(r#"{svc},dest="198.51.100.11",dest_port="53""#);
    let conns = CLIENTS.len() as f64;
    for (family, labels, want) in [
        ("rvs_service_connections_total", svc.to_string(), conns),
        ("rvs_service_in_packets_total", svc.to_string(), sent as f64),
        ("rvs_service_in_bytes_total", svc.to_string(), sent_bytes as f64),
        ("rvs_service_out_packets_total", svc.to_string(), 0.0),
        ("rvs_service_out_bytes_total", svc.to_string(), 0.0),
        ("rvs_dest_connections_total", dst.clone(), conns),
        ("rvs_dest_in_packets_total", dst.clone(), sent as f64),
        ("rvs_dest_in_bytes_total", dst.clone(), sent_bytes as f64),
        ("rvs_dest_out_packets_total", dst.clone(), 0.0),
        // UDP connections count as inactive, as in IPVS.
        ("rvs_dest_active_connections", dst.clone(), 0.0),
        ("rvs_dest_inactive_connections", dst.clone(), conns),
        ("rvs_service_inactive_connections", svc.to_string(), conns),
    ] {
        assert_eq!(value(&text, &format!("{family}{{{labels}}}")), want, "{family}");
    }
    // The director's own families are still there.
    assert_eq!(value(&text, r#"rvs_core_rx_packets_total{core="0"}"#), frames as f64);
    // The FULLNAT service's pool: one local port per flow, still held (UDP timeout 300 s).
    let pool = r#"pool="udp/198.51.100.100:5353",laddr="198.51.100.200""#;
    let flows = f64::from(FULLNAT_FLOWS);
    assert_eq!(value(&text, &format!("rvs_laddr_ports_in_use{{{pool}}}")), flows);
    assert_eq!(value(&text, &format!("rvs_laddr_allocations_total{{{pool}}}")), flows);
    assert_eq!(value(&text, &format!("rvs_laddr_misses_total{{{pool}}}")), 0.0);
    assert_eq!(
        value(&text, r#"rvs_laddr_pool_exhausted_total{pool="udp/198.51.100.100:5353"}"#),
        0.0
    );
    let fsvc = r#"protocol="udp",vip="198.51.100.100",port="5353""#;
    assert_eq!(value(&text, &format!("rvs_service_connections_total{{{fsvc}}}")), flows);

    // The very numbers `-L --stats --exact` prints.
    let listing = run(&sock, "rvsadm -L -n --stats --exact");
    let cells = |prefix: &str| -> Vec<u64> {
        let l = listing.lines().find(|l| l.contains(prefix)).unwrap_or_else(|| panic!("{listing}"));
        l.split_whitespace().filter_map(|w| w.parse().ok()).collect()
    };
    assert_eq!(
        cells("UDP  198.51.100.100:53 "),
        vec![CLIENTS.len() as u64, sent, 0, sent_bytes, 0]
    );
    assert_eq!(cells("-> 198.51.100.11:53"), vec![CLIENTS.len() as u64, sent, 0, sent_bytes, 0]);

    // `--rate`: the estimator samples every 2 s from the server's start; its first sample sees
    // the whole capture (counted from zero), later ones see no traffic and decay the rates.
    // Expected per IPVS's fixed point: avg_1 = (diff << shift) >> 2, avg_k+1 = avg_k - avg_k/4.
    let expect = |diff: u64, shift: u32, round: i64, down: u32| -> Vec<u64> {
        let mut avg = ((diff << shift) >> 2) as i64;
        let mut v = Vec::new();
        for _ in 0..6 {
            v.push(((avg + round) >> down) as u64);
            avg += (0 - avg) >> 2;
        }
        v
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    let rates = loop {
        let listing = run(&sock, "rvsadm -L -n --rate --exact");
        let l = listing.lines().find(|l| l.contains("UDP  198.51.100.100:53 ")).unwrap_or_default();
        let v: Vec<u64> = l.split_whitespace().filter_map(|w| w.parse().ok()).collect();
        if v.iter().any(|&x| x > 0) {
            break (v, listing);
        }
        assert!(Instant::now() < deadline, "--rate stayed at zero:\n{listing}");
        std::thread::sleep(Duration::from_millis(200));
    };
    let (v, listing) = rates;
    assert_eq!(v.len(), 5, "{listing}");
    assert!(expect(CLIENTS.len() as u64, 9, 0x1FF, 10).contains(&v[0]), "CPS {listing}");
    assert!(expect(sent, 9, 0x1FF, 10).contains(&v[1]), "InPPS {listing}");
    assert_eq!((v[2], v[4]), (0, 0), "{listing}");
    assert!(expect(sent_bytes, 4, 0xF, 5).contains(&v[3]), "InBPS {listing}");
    assert!(v[1] > 0 && v[3] > 0, "{listing}");

    server.stop();
    director.shutdown().expect("clean shutdown");
    let _ = std::fs::remove_dir_all(&dir);
}
