//! The exception path end to end on DPDK: rvsd on a `net_pcap` port with a `net_tap` kernel
//! interface, and a real Linux kernel behind it answering for its address.
//!
//! The test re-runs itself inside a private network namespace (`unshare -n`), so the tap, its
//! address and whatever the kernel sends exist only there. The input capture holds, in order: an
//! ARP request and an ICMP echo request for the kernel's address 192.0.2.20, a flood of UDP
//! datagrams to it, and an echo request to the director's own 192.0.2.1. Expected: the kernel's
//! ARP reply (with the port's MAC) and echo reply leave by the port, the director answers its
//! own ping after the flood, and the flood is cut to the configured rate limit.
//!
//! One EAL per process: this file holds a single test.

use rvs::config::Config;
use rvs::daemon::Director;
use rvs::dataplane::stats::{LoopStat, EXCEPTION_EVENTS};
use rvs::net::ExceptionDrop;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const PCAP_MAC: [u8; 6] = [0x02, 0x70, 0x63, 0x61, 0x70, 0x00];
const PEER_MAC: [u8; 6] = [0x52, 0x54, 0, 0, 0, 0x50];
const PEER: [u8; 4] = [192, 0, 2, 50];
const KADDR: [u8; 4] = [192, 0, 2, 20];
const DIP: [u8; 4] = [192, 0, 2, 1];
const FLOOD: usize = 3000;
const RATE: u64 = 1000;
const BURST: u64 = 64;

fn checksum(b: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for c in b.chunks(2) {
        sum += u32::from(c[0]) << 8 | u32::from(*c.get(1).unwrap_or(&0));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn eth(dst: [u8; 6], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = dst.to_vec();
    f.extend_from_slice(&PEER_MAC);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

fn ipv4(dst: [u8; 4], proto: u8, id: u16, payload: &[u8]) -> Vec<u8> {
    let len = (20 + payload.len()) as u16;
    let mut h = vec![0x45, 0, (len >> 8) as u8, len as u8, (id >> 8) as u8, id as u8, 0x40, 0, 64];
    h.push(proto);
    h.extend_from_slice(&[0, 0]);
    h.extend_from_slice(&PEER);
    h.extend_from_slice(&dst);
    let c = checksum(&h);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    h.extend_from_slice(payload);
    h
}

fn echo(dst: [u8; 4], seq: u16) -> Vec<u8> {
    let mut m = vec![8, 0, 0, 0, 0x12, 0x34, (seq >> 8) as u8, seq as u8];
    m.extend_from_slice(b"rvs exception path");
    let c = checksum(&m);
    m[2..4].copy_from_slice(&c.to_be_bytes());
    eth(PCAP_MAC, 0x0800, &ipv4(dst, 1, seq, &m))
}

fn input_frames() -> Vec<Vec<u8>> {
    let mut arp = vec![0, 1, 8, 0, 6, 4, 0, 1];
    arp.extend_from_slice(&PEER_MAC);
    arp.extend_from_slice(&PEER);
    arp.extend_from_slice(&[0; 6]);
    arp.extend_from_slice(&KADDR);
    let mut v = vec![eth([0xff; 6], 0x0806, &arp), echo(KADDR, 1)];
    for i in 0..FLOOD {
        // UDP to the discard port, checksum 0 (none).
        let udp = [0x9c, 0x40, 0, 9, 0, 16, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8];
        v.push(eth(PCAP_MAC, 0x0800, &ipv4(KADDR, 17, 100 + i as u16, &udp)));
    }
    v.push(echo(DIP, 2));
    v
}

fn write_pcap(path: &Path, frames: &[Vec<u8>]) {
    let f = std::fs::File::create(path).unwrap();
    let mut w = pcap_file::pcap::PcapWriter::new(f).unwrap();
    for (i, d) in frames.iter().enumerate() {
        let p =
            pcap_file::pcap::PcapPacket::new(Duration::from_micros(i as u64), d.len() as u32, d);
        w.write_packet(&p).unwrap();
    }
}

fn read_pcap(path: &Path) -> Vec<Vec<u8>> {
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut r = pcap_file::pcap::PcapReader::new(f).expect("pcap header");
    let mut out = Vec::new();
    while let Some(p) = r.next_packet() {
        out.push(p.expect("pcap record").data.into_owned());
    }
    out
}

/// An ARP reply from `spa` with sender MAC `sha` to the peer.
fn is_arp_reply(f: &[u8], sha: [u8; 6], spa: [u8; 4]) -> bool {
    f.len() >= 42
        && f[12..14] == [8, 6]
        && f[0..6] == PEER_MAC
        && f[20..22] == [0, 2]
        && f[22..28] == sha
        && f[28..32] == spa
        && f[38..42] == PEER
}

/// An ICMP echo reply from `src` to the peer, sequence `seq`, from the port's MAC.
fn is_echo_reply(f: &[u8], src: [u8; 4], seq: u16) -> bool {
    f.len() >= 42
        && f[0..6] == PEER_MAC
        && f[6..12] == PCAP_MAC
        && f[12..14] == [8, 0]
        && f[23] == 1
        && f[26..30] == src
        && f[30..34] == PEER
        && f[34] == 0
        && f[40..42] == seq.to_be_bytes()
        && checksum(&f[14..34]) == 0
}

#[test]
fn exception_path_through_net_tap() {
    if std::env::var_os("RVS_TEST_IN_NETNS").is_none() {
        // Run this very test again inside a private network namespace.
        let exe = std::env::current_exe().unwrap();
        let status = Command::new("unshare")
            .args(["-n", "--"])
            .arg(exe)
            .args(["--exact", "exception_path_through_net_tap", "--nocapture", "--test-threads=1"])
            .env("RVS_TEST_IN_NETNS", "1")
            .status()
            .expect("unshare runs (util-linux; the test needs root for a network namespace)");
        assert!(status.success(), "the test inside the namespace failed: {status}");
        return;
    }
    // Inside: no IPv6 chatter from the new interface.
    let _ = Command::new("sysctl")
        .args([
            "-q",
            "-w",
            "net.ipv6.conf.all.disable_ipv6=1",
            "net.ipv6.conf.default.disable_ipv6=1",
        ])
        .status();

    let tmp = std::env::temp_dir().join(format!("rvs-exc-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let input = tmp.join("in.pcap");
    let output = tmp.join("out.pcap");
    let frames = input_frames();
    write_pcap(&input, &frames);
    let cfg = format!(
        r#"
[eal]
main_lcore = 0
no_huge = true
no_pci = true
memory_mb = 128
file_prefix = "rvs-exc-{pid}"
vdevs = ["net_pcap0,rx_pcap={input},tx_pcap={output}"]

[[port]]
name = "p0"
device = "net_pcap0"
rx_desc = 256
tx_desc = 256
kernel_iface = "rvsexc0"
kernel_addrs = ["192.0.2.20/24"]

[[addr]]
port = "p0"
ip = "192.0.2.1/24"
kind = "host"

[[worker]]
lcore = 1
cpu = 1
rx = [{{ port = "p0", queue = 0 }}]

[dataplane]
mbufs = 8191
mbuf_cache = 32
idle_backoff = {{ empty_polls = 8, sleep_us = 100 }}

[exception]
to_kernel_pps = {RATE}
to_kernel_burst = {BURST}

# The aggregate limit alone here: the flood's class (other) unlimited.
[exception_classes]
other = {{ pps = 0 }}
"#,
        pid = std::process::id(),
        input = input.display(),
        output = output.display(),
    );
    let cfg = Config::from_toml_str(&cfg).expect("test config is valid");
    let started = Instant::now();
    let director = Director::start(&cfg).expect("director starts with a kernel interface");
    // The kernel interface exists, with the port's MAC and the kernel's address.
    let link = Command::new("ip").args(["-o", "addr", "show", "dev", "rvsexc0"]).output().unwrap();
    let link = String::from_utf8_lossy(&link.stdout);
    assert!(link.contains("192.0.2.20/24"), "kernel address set: {link}");
    // (Not /sys/class/net: sysfs still shows the namespace the test started in.)
    let link = Command::new("ip").args(["-o", "link", "show", "dev", "rvsexc0"]).output().unwrap();
    let link = String::from_utf8_lossy(&link.stdout);
    assert!(link.contains("link/ether 02:70:63:61:70:00 "), "the tap has the port's MAC: {link}");
    assert!(link.contains(",UP"), "and is up: {link}");

    let stats = director.core_stats()[0].clone();
    let from_kernel = EXCEPTION_EVENTS
        .iter()
        .position(|e| e.metric == "rvs_exception_from_kernel_packets_total")
        .unwrap();
    let to_kernel = EXCEPTION_EVENTS
        .iter()
        .position(|e| e.metric == "rvs_exception_to_kernel_packets_total")
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while stats.loop_stat(LoopStat::RxPackets) < frames.len() as u64
        || stats.exception_event(from_kernel) < 2
    {
        assert!(Instant::now() < deadline, "frames did not pass in time");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    let elapsed = started.elapsed().as_secs_f64();
    let passed = stats.exception_event(to_kernel);
    let limited = stats.exception_drops(ExceptionDrop::RateLimited);
    eprintln!(
        "to kernel {passed}, rate limited {limited}, from kernel {}, elapsed {elapsed:.3} s",
        stats.exception_event(from_kernel)
    );
    assert_eq!(passed + limited, FLOOD as u64 + 2, "every frame for the kernel counted once");
    assert!(limited > 0, "the flood hit the limit");
    assert!(
        passed as f64 <= BURST as f64 + RATE as f64 * elapsed + 1.0,
        "{passed} passed in {elapsed:.3} s exceeds burst + rate"
    );
    director.shutdown().expect("clean shutdown");

    let out = read_pcap(&output);
    assert!(
        out.iter().any(|f| is_arp_reply(f, PCAP_MAC, KADDR)),
        "the kernel's ARP reply for 192.0.2.20, with the port's MAC, left by the port"
    );
    assert!(out.iter().any(|f| is_echo_reply(f, KADDR, 1)), "the kernel answered its ping");
    assert!(
        out.iter().any(|f| is_echo_reply(f, DIP, 2)),
        "rvsd answered its own ping after the flood"
    );
    let _ = std::fs::remove_dir_all(&tmp);
}
