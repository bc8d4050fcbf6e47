//! Forwarding with transmit checksum offload in force, end to end on rvsd's real daemon path:
//! [`Director::start`] on two `net_tap` ports (whose driver advertises IPv4/TCP/UDP transmit
//! checksum offload and computes the sums in its tx path) with `tx_checksum_offload = "auto"`,
//! real Linux endpoints, NAT and FULLNAT, TCP and UDP, both directions.
//!
//! The test proves the offload was in force, so it cannot pass on software checksums: both ports
//! report the three offloads and rvs logs that it chose them for each port (its log is captured
//! here). The NAT and FULLNAT rewrites mark every forwarded TCP/UDP packet for the NIC, so the
//! IPv4 and TCP/UDP checksums of the frames below are the tap PMD's work.
//!
//! Every frame rvs sends is captured on the kernel side of the taps (`tcpdump -Q in`, readiness
//! confirmed before traffic starts), and every IPv4 header, TCP and UDP checksum in it is
//! verified here with this file's own ones' complement sum (RFC 1071), not rvs's `wire::checksum`;
//! the kernels' checksum error counters (`IpExt`/`Tcp`/`Udp`/`Icmp` `InCsumErrors`) do not move,
//! the exchanges complete with their payloads intact, and the real server sees the client's
//! address for NAT and the local address for FULLNAT.
//!
//! Plumbing, in namespaces the test creates (names start with `golden`) and removes: the test
//! re-runs itself in namespace D, where rvsd creates the taps. The `lan` tap carries the real
//! server's address in D (the server runs as threads of this test); the `wan` tap is bridged in D
//! to a veth pair whose other end is the client's namespace C (the client is a Python script run
//! there with `ip netns exec`). rvsd resolves both neighbours with ARP.

mod common;

use common::golden::Body;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rvs::config::Config;
use rvs::daemon::Director;

const INSIDE: &str = "RVS_GOLDEN_CSUM_NS";
const TEST: &str = "nat_and_fullnat_forward_with_tx_checksum_offload";
const WAN_TAP: &str = "gcsumwan";
const LAN_TAP: &str = "gcsumlan";
const BRIDGE: &str = "gcsumbr";
const VETH_D: &str = "gcsumv0";
const VETH_C: &str = "gcsumv1";
/// The real server's response size: odd, many segments of several lengths.
const RESPONSE_LEN: usize = 30_001;

fn sh(cmd: &str, args: &[&str]) {
    let out = Command::new(cmd).args(args).output().unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

fn sh_out(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd).args(args).output().unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(out.status.success(), "{cmd} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn nat_and_fullnat_forward_with_tx_checksum_offload() {
    if std::env::var_os(INSIDE).is_none() {
        let pid = std::process::id();
        let (d, c) = (format!("golden-csum-d{pid}"), format!("golden-csum-c{pid}"));
        sh("ip", &["netns", "add", &d]);
        sh("ip", &["netns", "add", &c]);
        let exe = std::env::current_exe().unwrap();
        let st = Command::new("ip")
            .args(["netns", "exec", &d])
            .arg(exe)
            .args(["--exact", TEST, "--nocapture", "--test-threads=1"])
            .env(INSIDE, &c)
            .status();
        let _ = Command::new("ip").args(["netns", "delete", &d]).status();
        let _ = Command::new("ip").args(["netns", "delete", &c]).status();
        assert!(st.expect("ip netns exec").success(), "the test inside the namespace failed");
        return;
    }
    let client_ns = std::env::var(INSIDE).unwrap();
    inside(&client_ns);
}

fn config() -> String {
    let head = format!(
        r#"
[eal]
main_lcore = 0
no_huge = true
no_pci = true
memory_mb = 128
file_prefix = "rvs-golden-csum-{pid}"
vdevs = ["net_tap0,iface={WAN_TAP}", "net_tap1,iface={LAN_TAP}"]

[[port]]
name = "wan"
device = "net_tap0"
mac = "02:00:00:00:c5:01"
rx_queues = 1
tx_queues = 1
rx_desc = 256
tx_desc = 256
mtu = 1500

[[port]]
name = "lan"
device = "net_tap1"
mac = "02:00:00:00:c5:02"
rx_queues = 1
tx_queues = 1
rx_desc = 256
tx_desc = 256
mtu = 1500

"#,
        pid = std::process::id()
    );
    // The golden labs' two ports, without static neighbours (learnt by ARP here).
    let body = Body::wan_lan().vip().addr("lan", "10.0.0.201/32", "local").poll(&["wan", "lan"]);
    head + &body.then(
        r#"
[[service]]
proto = "tcp"
vip = "198.51.100.100:80"
scheduler = "rr"

[[service.dest]]
addr = "10.0.0.11:8080"
fwd = "nat"

[[service]]
proto = "udp"
vip = "198.51.100.100:53"
scheduler = "rr"

[[service.dest]]
addr = "10.0.0.11:5353"
fwd = "nat"

[[service]]
proto = "tcp"
vip = "198.51.100.100:81"
scheduler = "rr"
laddrs = ["10.0.0.201"]

[[service.dest]]
addr = "10.0.0.11:8080"
fwd = "fullnat"

[[service]]
proto = "udp"
vip = "198.51.100.100:54"
scheduler = "rr"
laddrs = ["10.0.0.201"]

[[service.dest]]
addr = "10.0.0.11:5353"
fwd = "fullnat"

[dataplane]
burst = 32
mbufs = 4095
mbuf_cache = 32
conns_per_worker = 1024
tx_checksum_offload = "auto"
idle_backoff = { empty_polls = 8, sleep_us = 100 }
"#,
    )
}

/// `Name: counter` values of `/proc/net/snmp` and `/proc/net/netstat` that count checksum errors,
/// read in namespace `ns` (this one when `None`).
fn csum_errors(ns: Option<&str>) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    for file in ["/proc/net/snmp", "/proc/net/netstat"] {
        let text = match ns {
            Some(ns) => sh_out("ip", &["netns", "exec", ns, "cat", file]),
            None => std::fs::read_to_string(file).unwrap(),
        };
        let lines: Vec<&str> = text.lines().collect();
        for pair in lines.chunks(2) {
            let [names, values] = pair else { continue };
            let names: Vec<&str> = names.split_whitespace().collect();
            let values: Vec<&str> = values.split_whitespace().collect();
            for (n, v) in names.iter().zip(&values).skip(1) {
                if n.contains("CsumErrors") {
                    out.push((format!("{}{n}", names[0]), v.parse().unwrap()));
                }
            }
        }
    }
    assert!(out.iter().any(|(n, _)| n == "Tcp:InCsumErrors"), "counters found: {out:?}");
    out
}

/// A tcpdump of what arrives on the kernel side of `iface` from rvs, written to a file.
struct Capture {
    child: Child,
    file: PathBuf,
}

impl Capture {
    /// Starts tcpdump and returns once it says it is listening.
    fn start(iface: &str, dir: &Path) -> Capture {
        let file = dir.join(format!("{iface}.pcap"));
        let mut child = Command::new("tcpdump")
            .args(["-i", iface, "-Q", "in", "--immediate-mode", "-U", "-n", "-s", "0", "-w"])
            .arg(&file)
            .stderr(Stdio::piped())
            .spawn()
            .expect("tcpdump runs");
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        // tcpdump's first stderr line is "listening on IFACE, ..." once the socket is bound;
        // the read ends at its exit otherwise.
        err.read_line(&mut line).unwrap();
        assert!(line.contains("listening on"), "tcpdump on {iface}: {line}");
        std::thread::spawn(move || {
            let mut rest = String::new();
            let _ = err.read_to_string(&mut rest);
        });
        Capture { child, file }
    }

    /// Waits for the capture file to stop growing (unchanged for a second, 20 s at most), stops
    /// tcpdump (SIGINT: it flushes and exits) and returns the frames.
    fn stop(mut self) -> Vec<Vec<u8>> {
        let size = || std::fs::metadata(&self.file).map(|m| m.len()).unwrap_or(0);
        let deadline = Instant::now() + Duration::from_secs(20);
        let (mut last, mut since) = (size(), Instant::now());
        while since.elapsed() < Duration::from_secs(1) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
            if size() != last {
                (last, since) = (size(), Instant::now());
            }
        }
        sh("kill", &["-INT", &self.child.id().to_string()]);
        let st = self.child.wait().unwrap();
        assert!(st.success() || st.code().is_none(), "tcpdump: {st}");
        common::golden::frames(&self.file)
    }
}

impl Drop for Capture {
    /// A test that fails before `stop` leaves no tcpdump running.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// What to look at when the traffic did not pass: the worker's drops, the neighbours.
fn diagnose(director: &Director, client_ns: &str) -> String {
    let st = &director.core_stats()[0];
    let drops: Vec<_> = rvs::net::DropReason::ALL
        .iter()
        .map(|r| (r.name(), st.drops(*r)))
        .filter(|(_, n)| *n > 0)
        .collect();
    let lb: Vec<_> = rvs::ipvs::counters::IpvsDropReason::ALL
        .iter()
        .map(|r| (format!("{r:?}"), st.lb_drops(*r)))
        .filter(|(_, n)| *n > 0)
        .collect();
    let cmd = |args: &[&str]| {
        Command::new(args[0])
            .args(&args[1..])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    };
    format!(
        "rx {} tx {}; stack drops {drops:?}; balancer drops {lb:?}\nclient neighbours:\n{}\nlinks here:\n{}",
        st.loop_stat(rvs::dataplane::stats::LoopStat::RxPackets),
        st.loop_stat(rvs::dataplane::stats::LoopStat::TxPackets),
        cmd(&["ip", "netns", "exec", client_ns, "ip", "neigh"]),
        cmd(&["ip", "-s", "link"]),
    )
}

/// RFC 1071 ones' complement sum of `parts`, folded (this file's own code).
fn ones_sum(parts: &[&[u8]]) -> u16 {
    let mut s: u64 = 0;
    let mut odd: Option<u8> = None;
    for p in parts {
        for &b in p.iter() {
            match odd.take() {
                None => odd = Some(b),
                Some(hi) => s += u64::from(u16::from_be_bytes([hi, b])),
            }
        }
    }
    if let Some(hi) = odd {
        s += u64::from(hi) << 8;
    }
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    s as u16
}

#[derive(Debug, Default)]
struct Verified {
    tcp: usize,
    udp: usize,
    other_ip: usize,
}

/// Checks every IPv4 frame of `frames`: header checksum, and TCP/UDP checksum over the pseudo
/// header for whole datagrams.
fn verify(port: &str, frames: &[Vec<u8>]) -> Verified {
    let mut v = Verified::default();
    for (i, f) in frames.iter().enumerate() {
        if f.len() < 34 || f[12..14] != [8, 0] {
            continue;
        }
        let ip = &f[14..];
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
        assert!(ihl >= 20 && total <= ip.len(), "{port} frame {i}: IPv4 lengths");
        assert_eq!(ones_sum(&[&ip[..ihl]]), 0xffff, "{port} frame {i}: IPv4 header checksum");
        let frag = u16::from_be_bytes([ip[6], ip[7]]) & 0x3fff;
        let (proto, seg) = (ip[9], &ip[ihl..total]);
        if frag != 0 || !(proto == 6 || proto == 17) {
            v.other_ip += 1;
            continue;
        }
        let pseudo = [&ip[12..20], &[0, proto], &(seg.len() as u16).to_be_bytes()[..]].concat();
        if proto == 17 {
            assert_ne!(&seg[6..8], &[0, 0], "{port} frame {i}: UDP checksum present");
            v.udp += 1;
        } else {
            v.tcp += 1;
        }
        assert_eq!(
            ones_sum(&[&pseudo, seg]),
            0xffff,
            "{port} frame {i}: {} checksum: {}",
            if proto == 6 { "TCP" } else { "UDP" },
            common::golden::hex(f)
        );
    }
    v
}

/// The real server: a TCP listener that answers each connection with `RESPONSE_LEN` bytes
/// derived from the request, and a UDP echo (reversed payload). Records the peers it saw.
fn servers(peers: Arc<Mutex<Vec<String>>>) {
    let l = TcpListener::bind("10.0.0.11:8080").expect("bind the TCP server");
    let p = peers.clone();
    std::thread::spawn(move || {
        for s in l.incoming().take(2) {
            let mut s = s.unwrap();
            p.lock().unwrap().push(format!("tcp {}", s.peer_addr().unwrap().ip()));
            let mut req = [0u8; 64];
            let n = s.read(&mut req).unwrap();
            let body: Vec<u8> =
                (0..RESPONSE_LEN).map(|i| req[i % n].wrapping_add((i / n) as u8)).collect();
            s.write_all(&body).unwrap();
        }
    });
    let u = UdpSocket::bind("10.0.0.11:5353").expect("bind the UDP server");
    std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        for _ in 0..2 {
            let (n, from) = u.recv_from(&mut buf).unwrap();
            peers.lock().unwrap().push(format!("udp {}", from.ip()));
            let mut back = buf[..n].to_vec();
            back.reverse();
            u.send_to(&back, from).unwrap();
        }
    });
}

/// The client, run in namespace C: a TCP exchange and a UDP one with each of `ports`
/// (tcp, udp), checking what comes back; exits non-zero on any mismatch or after 20 s.
const CLIENT: &str = r#"
import socket, sys
RESPONSE_LEN = int(sys.argv[1])
for tport, uport in ((80, 53), (81, 54)):
    req = b"GET /%d checksummed by the tap" % tport
    s = socket.create_connection(("198.51.100.100", tport), timeout=20)
    s.sendall(req)
    got = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        got += b
    want = bytes((req[i % len(req)] + i // len(req)) & 0xFF for i in range(RESPONSE_LEN))
    assert got == want, "tcp %d: %d bytes, first difference at %s" % (
        tport, len(got), next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), None))
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(20)
    payload = bytes(range(7, 250)) * 3 + b"odd"
    u.sendto(payload, ("198.51.100.100", uport))
    data, frm = u.recvfrom(4096)
    assert frm == ("198.51.100.100", uport), frm
    assert data == payload[::-1], "udp %d: reply differs" % uport
    print("ok", tport, uport, flush=True)
"#;

fn inside(client_ns: &str) {
    let log = common::log::LogBuf::install();

    let text = config();
    let cfg = Config::from_toml_str(&text).unwrap_or_else(|e| panic!("config: {e}\n{text}"));
    let director = Director::start(&cfg).expect("director starts on net_tap");
    let started = log.text();
    for port in ["wan", "lan"] {
        let chosen = format!("port {port}: tx checksum offload on");
        assert!(started.contains(&chosen), "rvs did not choose the offload on {port}:\n{started}");
    }

    // net_tap gives the kernel's end of each tap the MAC rvs set on the port: a bridge would
    // take frames to it as its own. The kernel ends get MACs of their own.
    for (dev, mac) in [(WAN_TAP, "02:00:00:00:c5:11"), (LAN_TAP, "02:00:00:00:c5:12")] {
        sh("ip", &["link", "set", dev, "down"]);
        sh("ip", &["link", "set", dev, "address", mac]);
    }
    // The client's side: the wan tap bridged to a veth pair into C.
    sh("ip", &["link", "add", BRIDGE, "type", "bridge"]);
    sh("ip", &["link", "add", VETH_D, "type", "veth", "peer", "name", VETH_C, "netns", client_ns]);
    for dev in [WAN_TAP, VETH_D] {
        sh("ip", &["link", "set", dev, "master", BRIDGE]);
        sh("ip", &["link", "set", dev, "up"]);
    }
    sh("ip", &["link", "set", BRIDGE, "up"]);
    let in_c = |args: &[&str]| {
        let mut a = vec!["netns", "exec", client_ns];
        a.extend_from_slice(args);
        sh("ip", &a);
    };
    in_c(&["ip", "link", "set", "lo", "up"]);
    in_c(&["ip", "addr", "add", "198.51.100.2/24", "dev", VETH_C]);
    in_c(&["ip", "link", "set", VETH_C, "up"]);
    // veth leaves checksums to "hardware" that never computes them: have the kernel do it.
    in_c(&["ethtool", "-K", VETH_C, "tx", "off"]);
    // The real server's side: its address on the lan tap, the director as gateway.
    sh("ip", &["addr", "add", "10.0.0.11/24", "dev", LAN_TAP]);
    sh("ip", &["link", "set", LAN_TAP, "up"]);
    sh("ip", &["route", "add", "default", "via", "10.0.0.1", "dev", LAN_TAP]);

    let peers = Arc::new(Mutex::new(Vec::new()));
    servers(peers.clone());
    let dir = std::env::temp_dir().join(format!("rvs-golden-csum-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let caps = [Capture::start(WAN_TAP, &dir), Capture::start(LAN_TAP, &dir)];
    let (errs_c0, errs_d0) = (csum_errors(Some(client_ns)), csum_errors(None));

    let out = Command::new("ip")
        .args(["netns", "exec", client_ns, "python3", "-c", CLIENT, &RESPONSE_LEN.to_string()])
        .output()
        .expect("python3 runs");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "client: {}\n{said}\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        diagnose(&director, client_ns)
    );
    assert_eq!(said.lines().filter(|l| l.starts_with("ok")).count(), 2, "{said}");

    // Both connections answered: the server saw the client (NAT) and the local address (FULLNAT).
    let mut seen = peers.lock().unwrap().clone();
    seen.sort();
    assert_eq!(
        seen,
        ["tcp 10.0.0.201", "tcp 198.51.100.2", "udp 10.0.0.201", "udp 198.51.100.2"],
        "what the real server saw"
    );
    let [wan, lan] = caps;
    let (wan, lan) = (wan.stop(), lan.stop());
    let (vw, vl) = (verify("wan", &wan), verify("lan", &lan));
    println!("verified: wan {vw:?}, lan {vl:?}");
    // Replies to the client: the handshakes, the response's segments, two UDP answers. Requests
    // to the server: the handshakes, the requests, the ACKs, two UDP queries.
    assert!(vw.tcp >= 2 * (RESPONSE_LEN / 1460) && vw.udp == 2, "wan: {vw:?}");
    assert!(vl.tcp >= 2 * 4 && vl.udp == 2, "lan: {vl:?}");
    assert_eq!(csum_errors(Some(client_ns)), errs_c0, "checksum errors in the client's kernel");
    assert_eq!(csum_errors(None), errs_d0, "checksum errors in the server's kernel");
    director.shutdown().expect("clean shutdown");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The checker itself: RFC 1071's worked example, and a frame with one wrong checksum byte is
/// refused (so the capture check above cannot pass by checking nothing).
#[test]
fn the_independent_checksum_check_catches_a_wrong_sum() {
    // RFC 1071 section 3: 00 01 f2 03 f4 f5 f6 f7 sums to 0xddf2.
    assert_eq!(ones_sum(&[&[0x00, 0x01, 0xf2, 0x03], &[0xf4, 0xf5, 0xf6, 0xf7]]), 0xddf2);
    // An odd split between parts sums the same as the whole.
    assert_eq!(ones_sum(&[&[0x00, 0x01, 0xf2], &[0x03, 0xf4, 0xf5, 0xf6, 0xf7]]), 0xddf2);
    let good = common::frame(7, 33);
    let mut f = good.clone();
    // common::frame leaves both checksums zero: fill them the textbook way.
    let ip_c = !ones_sum(&[&f[14..34]]);
    f[24..26].copy_from_slice(&ip_c.to_be_bytes());
    let seg_len = (f.len() - 34) as u16;
    let pseudo = [&f[26..34], &[0, 17], &seg_len.to_be_bytes()[..]].concat();
    let udp_c = !ones_sum(&[&pseudo, &f[34..]]);
    f[40..42].copy_from_slice(&udp_c.to_be_bytes());
    let v = verify("test", std::slice::from_ref(&f));
    assert_eq!((v.tcp, v.udp, v.other_ip), (0, 1, 0));
    for at in [24, 41, f.len() - 1] {
        let mut bad = f.clone();
        bad[at] ^= 0x10;
        let caught = std::panic::catch_unwind(|| verify("test", &[bad]));
        assert!(caught.is_err(), "a flipped byte at {at} passed the check");
    }
}
