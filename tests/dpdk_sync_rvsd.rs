//! Connection sync between two real rvsd processes (docs/scale-out.md, "Connection sync"):
//! director A (master) forwards a NAT connection that a `net_pcap` port replays (SYN, ACK, a
//! data segment from the client), its worker reports it on the third client packet, A's
//! master sends it as a version 1 message from A's kernel interface to B's, and B (backup,
//! the same service) installs it: B's `rvsadm -L -c -n` lists it, ESTABLISHED, with the real
//! server A chose. Also through the real control sockets: `-L --daemon` byte for byte as
//! ipvsadm prints it, a second `--start-daemon` of a running role and a `--stop-daemon` of a
//! stopped one refused with the kernel's words (exit 255, nothing changed), a start and stop
//! by rvsadm, the `rvs_sync_*` families, which `promtool check metrics` passes.
//!
//! The test re-runs itself inside a private network namespace (`unshare -n`): the two kernel
//! interfaces (taps) and their addresses exist only there. One EAL per process: each rvsd is
//! its own process.

mod common;

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::rvsd::Rvsd;
use rvs_tools::rvsadm::names::NoNames;
use rvs_tools::rvsadm::run::run as rvsadm_run;

const PCAP_MAC: [u8; 6] = [0x02, 0x70, 0x63, 0x61, 0x70, 0x00];
const CLIENT_MAC: [u8; 6] = [0x52, 0x54, 0, 0, 0, 0x50];
const CLIENT: [u8; 4] = [10, 0, 0, 50];
const VIP: [u8; 4] = [10, 0, 0, 100];
const CPORT: u16 = 40001;

fn sum16(b: &[u8], mut sum: u32) -> u32 {
    for c in b.chunks(2) {
        sum += u32::from(c[0]) << 8 | u32::from(*c.get(1).unwrap_or(&0));
    }
    sum
}

fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// A client frame to the VIP's port 80: TCP `flags`, sequence `seq`, ack `ack`, `data`.
fn tcp(flags: u8, seq: u32, ack: u32, data: &[u8], id: u16) -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(&CPORT.to_be_bytes());
    t.extend_from_slice(&80u16.to_be_bytes());
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&ack.to_be_bytes());
    t.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    t.extend_from_slice(data);
    let mut pseudo = Vec::new();
    pseudo.extend_from_slice(&CLIENT);
    pseudo.extend_from_slice(&VIP);
    pseudo.extend_from_slice(&[0, 6]);
    pseudo.extend_from_slice(&(t.len() as u16).to_be_bytes());
    let c = fold(sum16(&t, sum16(&pseudo, 0)));
    t[16..18].copy_from_slice(&c.to_be_bytes());
    let len = (20 + t.len()) as u16;
    let mut ip =
        vec![0x45, 0, (len >> 8) as u8, len as u8, (id >> 8) as u8, id as u8, 0x40, 0, 64, 6];
    ip.extend_from_slice(&[0, 0]);
    ip.extend_from_slice(&CLIENT);
    ip.extend_from_slice(&VIP);
    let c = fold(sum16(&ip, 0));
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    ip.extend_from_slice(&t);
    let mut f = PCAP_MAC.to_vec();
    f.extend_from_slice(&CLIENT_MAC);
    f.extend_from_slice(&[8, 0]);
    f.extend_from_slice(&ip);
    f
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

/// A director's config: the clients' port (`rx`: its vdev), a `net_null` servers' port, the
/// kernel interface `kname` with `kaddr` on the clients' port, one NAT service to two real
/// servers, and `sync` (the `[sync]` block).
fn config(
    name: &str,
    dir: &Path,
    rx: &str,
    kname: &str,
    kaddr: &str,
    sync: &str,
    metrics: u16,
) -> String {
    format!(
        r#"
[eal]
main_lcore = 0
no_huge = true
no_pci = true
memory_mb = 128
file_prefix = "rvs-sync-{name}-{pid}"
vdevs = ["{rx}", "net_null1,no-rx=1"]

[[port]]
name = "clients"
device = "{dev}"
rx_desc = 256
tx_desc = 256
kernel_iface = "{kname}"
kernel_addrs = ["{kaddr}/24"]

[[port]]
name = "servers"
device = "net_null1"
rx_desc = 256
tx_desc = 256

[[addr]]
port = "clients"
ip = "10.0.0.1/24"
kind = "host"

[[addr]]
port = "clients"
ip = "10.0.0.100/32"
kind = "vip"

[[addr]]
port = "servers"
ip = "192.168.1.1/24"
kind = "host"

[[worker]]
lcore = 1
cpu = 1
rx = [{{ port = "clients", queue = 0 }}, {{ port = "servers", queue = 0 }}]

[dataplane]
mbufs = 8191
mbuf_cache = 32
idle_backoff = {{ empty_polls = 8, sleep_us = 200, max_sleep_us = 2000 }}

[ctrl]
socket = "{sock}"

[metrics]
listen = "127.0.0.1:{metrics}"

[[neigh.static]]
ip = "10.0.0.50"
mac = "52:54:00:00:00:50"
port = "clients"

[[neigh.static]]
ip = "192.168.1.10"
mac = "52:00:00:00:01:00"
port = "servers"

[[neigh.static]]
ip = "192.168.1.11"
mac = "52:00:00:00:01:01"
port = "servers"

[[service]]
proto = "tcp"
vip = "10.0.0.100:80"
scheduler = "rr"

[[service.dest]]
addr = "192.168.1.10:80"
fwd = "nat"

[[service.dest]]
addr = "192.168.1.11:80"
fwd = "nat"

[sync]
{sync}
"#,
        pid = std::process::id(),
        dev = rx.split(',').next().unwrap(),
        sock = dir.join("rvs.sock").display(),
    )
}

/// rvsadm's exit status, standard output and standard error.
fn rvsadm(sock: &Path, line: &str) -> (i32, String, String) {
    let argv: Vec<String> = line.split_whitespace().map(String::from).collect();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = rvsadm_run(&argv, &mut std::io::empty(), &mut out, &mut err, sock, &NoNames);
    (code, String::from_utf8(out).unwrap(), String::from_utf8(err).unwrap())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn scrape(port: u16) -> Option<String> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(s, "GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default())
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| {
            l.strip_prefix(name).is_some_and(|rest| rest.starts_with(' ') || rest.starts_with('{'))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Waits until `done` holds for rvsadm's `line` on `sock`, or panics naming `what`.
fn wait_for(
    rvsd: &mut Rvsd,
    sock: &Path,
    line: &str,
    what: &str,
    done: impl Fn(&str) -> bool,
) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        rvsd.assert_running();
        let (code, out, _) = rvsadm(sock, line);
        if code == 0 && done(&out) {
            return out;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}; last: {out}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_connection_through_a_appears_on_b() {
    if std::env::var_os("RVS_TEST_IN_NETNS").is_none() {
        let exe = std::env::current_exe().unwrap();
        let status = Command::new("unshare")
            .args(["-n", "--"])
            .arg(exe)
            .args([
                "--exact",
                "a_connection_through_a_appears_on_b",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("RVS_TEST_IN_NETNS", "1")
            .status()
            .expect("unshare runs (util-linux; the test needs root for a network namespace)");
        assert!(status.success(), "the test inside the namespace failed: {status}");
        return;
    }
    let _ = Command::new("ip").args(["link", "set", "lo", "up"]).status();
    let _ = Command::new("sysctl")
        .args([
            "-q",
            "-w",
            "net.ipv6.conf.all.disable_ipv6=1",
            "net.ipv6.conf.default.disable_ipv6=1",
        ])
        .status();

    // B first: the backup must listen before A's worker reports.
    let bdir = Rvsd::scratch("sync-b");
    let bsock = bdir.join("rvs.sock");
    let bmetrics = free_port();
    let bsync =
        "role = \"backup\"\nmcast_interface = \"syncb\"\nsyncid = 7\npeers = [\"192.0.2.21\"]";
    let mut b = Rvsd::spawn(
        &bdir,
        &config("b", &bdir, "net_null0,no-rx=1", "syncb", "192.0.2.22", bsync, bmetrics),
    );
    let listed = wait_for(&mut b, &bsock, "rvsadm -L --daemon", "B's backup", |o| !o.is_empty());
    assert_eq!(
        listed,
        "backup sync daemon (mcast=syncb, syncid=7, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n"
    );

    // A replays SYN, ACK, data from the client.
    let adir = Rvsd::scratch("sync-a");
    let asock = adir.join("rvs.sock");
    let pcap = adir.join("in.pcap");
    write_pcap(
        &pcap,
        &[
            tcp(0x02, 1000, 0, b"", 1),
            tcp(0x10, 1001, 1, b"", 2),
            tcp(0x18, 1001, 1, b"GET / HTTP/1.0\r\n\r\n", 3),
        ],
    );
    let a_sync =
        "role = \"master\"\nmcast_interface = \"synca\"\nsyncid = 7\npeers = [\"192.0.2.22\"]";
    let rx = format!("net_pcap0,rx_pcap={}", pcap.display());
    let ametrics = free_port();
    let mut a =
        Rvsd::spawn(&adir, &config("a", &adir, &rx, "synca", "192.0.2.21", a_sync, ametrics));

    // A's connection, then the same on B (it has no traffic of its own).
    let want = "10.0.0.50:40001";
    let on_a = wait_for(&mut a, &asock, "rvsadm -L -c -n", "A's connection", |o| o.contains(want));
    let line_a = on_a.lines().find(|l| l.contains(want)).unwrap().to_string();
    assert!(line_a.contains("ESTABLISHED"), "{on_a}");
    // A's worker reported it and A's master sent it.
    let sync_lines =
        |m: &str| m.lines().filter(|l| l.starts_with("rvs_sync")).collect::<Vec<_>>().join("\n");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        a.assert_running();
        let m = scrape(ametrics).unwrap_or_default();
        if metric(&m, "rvs_sync_sent_conns_total") >= 1.0 {
            break;
        }
        assert!(Instant::now() < deadline, "A sent nothing:\n{}", sync_lines(&m));
        std::thread::sleep(Duration::from_millis(100));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        b.assert_running();
        let m = scrape(bmetrics).unwrap_or_default();
        if metric(&m, "rvs_sync_conns_learnt_total") >= 1.0 {
            break;
        }
        assert!(Instant::now() < deadline, "B learnt nothing:\n{}", sync_lines(&m));
        std::thread::sleep(Duration::from_millis(100));
    }
    let on_b = wait_for(&mut b, &bsock, "rvsadm -L -c -n", "B learning A's connection", |o| {
        o.contains(want)
    });
    let line_b = on_b.lines().find(|l| l.contains(want)).unwrap().to_string();
    eprintln!("A: {line_a}\nB: {line_b}");
    assert!(line_b.contains("ESTABLISHED"), "{on_b}");
    // The same real server (the last column), as A scheduled it.
    let rs = |l: &str| l.split_whitespace().last().unwrap().to_string();
    assert_eq!(rs(&line_a), rs(&line_b));

    // The control requests, with the kernel's answers.
    let (code, out, err) = rvsadm(&asock, "rvsadm -L --daemon");
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(
        out,
        "master sync daemon (mcast=synca, syncid=7, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n"
    );
    let (code, out, err) =
        rvsadm(&asock, "rvsadm --start-daemon master --mcast-interface synca --syncid 1");
    assert_eq!((code, out.as_str(), err.as_str()), (255, "", "Daemon has already run\n"));
    let (code, _, err) = rvsadm(&asock, "rvsadm --stop-daemon backup");
    assert_eq!((code, err.as_str()), (255, "No daemon is running\n"));
    let (code, _, err) = rvsadm(&asock, "rvsadm --start-daemon backup --mcast-interface eth9");
    assert_eq!(code, 255);
    assert!(err.contains("eth9") && err.contains("synca"), "{err}");
    // Nothing changed by the refusals; a start and a stop by rvsadm (multicast on the tap).
    let (_, out, _) = rvsadm(&asock, "rvsadm -L --daemon");
    assert_eq!(out.lines().count(), 1, "{out}");
    let (code, out, err) = rvsadm(
        &asock,
        "rvsadm --start-daemon backup --mcast-interface synca --syncid 9 --mcast-ttl 2",
    );
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
    let (_, out, _) = rvsadm(&asock, "rvsadm -L --daemon");
    assert_eq!(
        out,
        "master sync daemon (mcast=synca, syncid=7, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n\
         backup sync daemon (mcast=synca, syncid=9, maxlen=1472, group=224.0.0.81, port=8848, ttl=2)\n"
    );
    assert_eq!(rvsadm(&asock, "rvsadm --stop-daemon backup").0, 0);
    assert_eq!(rvsadm(&asock, "rvsadm -L --daemon").1.lines().count(), 1);

    // B's metrics: the message received, the connection learnt; promtool finds nothing to fix.
    let m = scrape(bmetrics).expect("B's metrics");
    assert!(metric(&m, "rvs_sync_received_conns_total") >= 1.0, "{m}");
    assert!(metric(&m, "rvs_sync_conns_learnt_total") >= 1.0, "{m}");
    assert_eq!(
        metric(&m, "rvs_sync_worker_installed_total"),
        metric(&m, "rvs_sync_conns_learnt_total")
    );
    assert!(m.contains("rvs_sync_daemon_running{role=\"backup\"} 1"), "{m}");
    let mut p = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian's prometheus package, from ci/deps)");
    p.stdin.take().unwrap().write_all(m.as_bytes()).unwrap();
    let out = p.wait_with_output().unwrap();
    let said =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && said.trim().is_empty(), "promtool: {said}");
    drop(a);
    drop(b);
}
