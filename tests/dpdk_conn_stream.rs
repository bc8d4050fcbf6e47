//! `-L -c` of a large table while traffic flows (docs/hardening/conn-stream.md): the real rvsd
//! binary, one worker fed `FLOWS` FULLNAT flows from `net_pcap` with `infinite_rx=1` (the first
//! pass opens every connection, the next ones keep forwarding on them), the listing read through
//! the control socket chunk by chunk. The listing must hold every connection exactly once, the
//! worker's forwarded counter must rise while the listing is held open mid-stream (the worker is
//! never stopped by it), and rvsd's peak RSS over the listing must stay within a bound far below
//! what a whole copy of the table would take. rvsadm's own `-L -c -n` then prints every row.
//!
//! The pcap comes from `rvs-bench pcap` (as perf/blackbox.sh makes it); net_pcap holds every
//! frame in an mbuf, so the EAL gets about 5 KB per frame (--no-huge). One EAL per process.

mod common;

use std::collections::HashSet;
use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use rvs_proto::chunks::ChunksEnd;
use rvs_proto::client::Client;
use rvs_tools::rvsadm::names::NoNames;
use rvs_tools::rvsadm::run::run as rvsadm_run;

const FLOWS: u64 = 200_000;
/// net_pcap's own MAC ("\x02pcap\x00"; the PMD does not let it be changed).
const PCAP_MAC: &str = "02:70:63:61:70:00";
const VIP: &str = "10.0.0.100";
/// The bound on rvsd's RSS growth over the listing: a whole copy of 200k entries (the table's
/// copy, the listing's rows, their JSON) took about 100 MB before the listing was streamed.
const RSS_BOUND_KB: u64 = 48 << 10;

use common::rvsd::Rvsd;

fn config(dir: &Path, pcap: &Path, metrics_port: u16) -> String {
    let mbufs = 2 * FLOWS + 65_536;
    let memory_mb = mbufs * 5000 / 1_000_000 + 512;
    let laddrs: Vec<String> = (0..16).map(|n| format!("\"192.168.2.{n}\"")).collect();
    let mut cfg = format!(
        r#"
[eal]
main_lcore = 0
main_cpu = 0
no_huge = true
no_pci = true
memory_mb = {memory_mb}
file_prefix = "rvs-conn-stream-{pid}"
vdevs = ["net_pcap0,rx_pcap={pcap},infinite_rx=1", "net_null0,no-rx=1"]

[[port]]
name = "clients"
device = "net_pcap0"
promiscuous = true
rx_desc = 1024
tx_desc = 1024

[[port]]
name = "servers"
device = "net_null0"
rx_desc = 1024
tx_desc = 1024

[[addr]]
port = "clients"
ip = "10.0.0.1/24"
kind = "host"

[[addr]]
port = "clients"
ip = "{VIP}/32"
kind = "vip"

[[addr]]
port = "servers"
ip = "192.168.1.1/24"
kind = "host"

[[route]]
dst = "default"
via = "10.0.0.254"
port = "clients"

[[worker]]
lcore = 1
cpu = 1
rx = [{{ port = "clients", queue = 0 }}, {{ port = "servers", queue = 0 }}]

[dataplane]
mbufs = {mbufs}
conns_per_worker = {conns}

[ctrl]
socket = "{sock}"

[metrics]
listen = "127.0.0.1:{metrics_port}"

[[neigh.static]]
ip = "10.0.0.254"
mac = "52:00:00:00:00:fe"
port = "clients"

[[neigh.static]]
ip = "192.168.1.10"
mac = "52:00:00:00:01:00"
port = "servers"

[[neigh.static]]
ip = "192.168.1.11"
mac = "52:00:00:00:01:01"
port = "servers"
"#,
        pid = std::process::id(),
        pcap = pcap.display(),
        conns = FLOWS + FLOWS / 4 + 4096,
        sock = dir.join("rvs.sock").display(),
    );
    for n in 0..16 {
        cfg.push_str(&format!(
            "\n[[addr]]\nport = \"servers\"\nip = \"192.168.2.{n}/32\"\nkind = \"local\"\n"
        ));
    }
    cfg.push_str(&format!(
        "\n[[service]]\nproto = \"tcp\"\nvip = \"{VIP}:80\"\nscheduler = \"rr\"\nladdrs = [{}]\n",
        laddrs.join(", ")
    ));
    for n in [10, 11] {
        cfg.push_str(&format!(
            "\n[[service.dest]]\naddr = \"192.168.1.{n}:80\"\nfwd = \"fullnat\"\n"
        ));
    }
    cfg
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    l.local_addr().unwrap().port()
}

fn scrape(port: u16) -> Option<String> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(s, "GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

/// The sum of every sample of metric `name` (all labels).
fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| {
            l.strip_prefix(name).is_some_and(|rest| rest.starts_with(' ') || rest.starts_with('{'))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn status_kb(pid: u32, field: &str) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("rvsd's status");
    s.lines()
        .find_map(|l| {
            l.strip_prefix(field)?.strip_prefix(':')?.trim().strip_suffix("kB")?.trim().parse().ok()
        })
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// Waits (polling the metrics) until `done` holds, or panics after `secs` with `what`, or as
/// soon as rvsd has exited.
fn wait_metrics(
    rvsd: &mut Rvsd,
    port: u16,
    secs: u64,
    what: &str,
    done: impl Fn(&str) -> bool,
) -> String {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(status) = rvsd.child.try_wait().expect("rvsd's status") {
            panic!("rvsd exited ({status}) before {what}");
        }
        if let Some(m) = scrape(port).filter(|m| done(m)) {
            return m;
        }
        assert!(Instant::now() < deadline, "{what} within {secs} s");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_large_listing_streams_while_the_worker_forwards() {
    let dir = Rvsd::scratch("conn-stream");
    let pcap = dir.join("flows.pcap");
    let made = Command::new(env!("CARGO_BIN_EXE_rvs-bench"))
        .args(["pcap", "--out"])
        .arg(&pcap)
        .args(["--flows", &FLOWS.to_string(), "--seed", "7", "--dst-mac", PCAP_MAC, "--vip", VIP])
        .status()
        .expect("rvs-bench runs");
    assert!(made.success(), "rvs-bench pcap");
    let mport = free_port();
    let mut rvsd = Rvsd::spawn(&dir, &config(&dir, &pcap, mport));
    let pid = rvsd.pid();
    let sock = dir.join("rvs.sock");

    // The first pass (every SYN, then every ACK) has opened every connection.
    let frames = 2.0 * FLOWS as f64;
    wait_metrics(&mut rvsd, mport, 150, "rvsd up and every connection open", |m| {
        metric(m, "rvs_core_rx_packets_total") >= frames
            && metric(m, "rvs_conn_table_entries") >= FLOWS as f64
    });

    // The listing, chunk by chunk; held open after the first chunk until the worker has
    // forwarded more (it is not stopped by a listing in progress).
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").expect("reset rvsd's peak RSS");
    let rss_before = status_kb(pid, "VmRSS");
    let (mut chunks, mut rows) = (0usize, Vec::new());
    let mut forwarded_during = None;
    let started = Instant::now();
    let end = Client::connect(&sock).expect("rvsd's socket").list_conns(usize::MAX, |chunk| {
        chunks += 1;
        if chunks == 1 {
            let before = metric(&scrape(mport).expect("metrics"), "rvs_lb_forwarded_total");
            let m = wait_metrics(&mut rvsd, mport, 60, "forwarding during the listing", |m| {
                metric(m, "rvs_lb_forwarded_total") > before
            });
            forwarded_during = Some(metric(&m, "rvs_lb_forwarded_total") - before);
        }
        rows.extend(chunk.into_iter().map(|c| (c.client, c.local.is_some())));
    });
    let took = started.elapsed();
    let (hwm, rss_after) = (status_kb(pid, "VmHWM"), status_kb(pid, "VmRSS"));
    assert_eq!(end.expect("the listing ends"), ChunksEnd::Complete { entries: FLOWS });
    let unique: HashSet<_> = rows.iter().map(|r| r.0).collect();
    assert_eq!(
        (rows.len(), unique.len()),
        (FLOWS as usize, FLOWS as usize),
        "every connection once"
    );
    assert!(rows.iter().all(|r| r.1), "every FULLNAT row has its local address");
    let grew = hwm.saturating_sub(rss_before);
    let m = scrape(mport).expect("metrics");
    eprintln!(
        "listing of {FLOWS} connections: {chunks} chunks in {took:?}; forwarded while held open: \
         {forwarded_during:?}; rvsd RSS {rss_before} kB before, peak {hwm} kB (+{grew} kB), \
         {rss_after} kB after; longest worker poll so far {:.0} us",
        metric(&m, "rvs_core_longest_poll_seconds") * 1e6
    );
    assert!(chunks > 1, "{chunks} chunk(s)");
    assert!(grew < RSS_BOUND_KB, "rvsd's RSS grew by {grew} kB over the listing");

    // rvsadm prints every row under the FULLNAT header, as the chunks arrive.
    let argv: Vec<String> = ["rvsadm", "-L", "-c", "-n"].iter().map(|s| s.to_string()).collect();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let status = rvsadm_run(&argv, &mut &b""[..], &mut out, &mut err, &sock, &NoNames);
    assert_eq!(status, 0, "{}", String::from_utf8_lossy(&err));
    let text = String::from_utf8(out).expect("utf-8");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("IPVS connection entries"));
    assert!(lines.next().is_some_and(|h| h.ends_with(" local")), "FULLNAT header");
    assert_eq!(lines.count(), FLOWS as usize);
    drop(rvsd);
}
