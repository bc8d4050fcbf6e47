//! rvsd's reply steering on `net_tap`, through its real start path ([`Director::start`]): two
//! workers, one tap port with a queue each, a FULLNAT service with a local address on it, so
//! rvsd wants `IPV4 dst / TCP|UDP dst port & mask -> QUEUE` rules per worker. It logs which
//! steering is in force, and the test holds it to what the kernel can do (tried first on a veth
//! pair, as in `dpdk_flow_tap.rs`): rte_flow rules where the kernel has TC flower, multiq and
//! skbedit; otherwise the software redirect over the per-core rings, with net_tap's reason.
//!
//! Runs in a network namespace the test creates (`golden-steer-<pid>`) and removes.
//!
//! One EAL per process: this file holds a single test.

mod common;

use std::process::Command;

use rvs::config::Config;
use rvs::daemon::Director;

const INSIDE: &str = "RVS_GOLDEN_STEER_NS";
const TEST: &str = "rvsd_logs_the_reply_steering_net_tap_can_give";

fn sh(cmd: &str, args: &[&str]) -> bool {
    Command::new(cmd).args(args).status().unwrap_or_else(|e| panic!("{cmd}: {e}")).success()
}

#[test]
fn rvsd_logs_the_reply_steering_net_tap_can_give() {
    if std::env::var_os(INSIDE).is_none() {
        let ns = format!("golden-steer-{}", std::process::id());
        assert!(sh("ip", &["netns", "add", &ns]));
        let exe = std::env::current_exe().unwrap();
        let st = Command::new("ip")
            .args(["netns", "exec", &ns])
            .arg(exe)
            .args(["--exact", TEST, "--nocapture", "--test-threads=1"])
            .env(INSIDE, &ns)
            .status();
        let _ = Command::new("ip").args(["netns", "delete", &ns]).status();
        assert!(st.expect("ip netns exec").success(), "the test inside the namespace failed");
        return;
    }
    inside();
}

/// Whether the kernel has the multiq qdisc and TC flower filters with skbedit.
fn kernel_has_tc_steering() -> bool {
    assert!(sh("ip", &["link", "add", "gsteerp0", "type", "veth", "peer", "name", "gsteerp1"]));
    let ok = sh("tc", &["qdisc", "add", "dev", "gsteerp0", "root", "handle", "1:", "multiq"])
        && sh(
            "tc",
            &[
                "filter",
                "add",
                "dev",
                "gsteerp0",
                "parent",
                "1:",
                "protocol",
                "ip",
                "flower",
                "ip_proto",
                "udp",
                "dst_port",
                "5",
                "action",
                "skbedit",
                "queue_mapping",
                "1",
            ],
        );
    assert!(sh("ip", &["link", "delete", "gsteerp0"]));
    ok
}

fn inside() {
    let tc = kernel_has_tc_steering();
    let log = common::log::LogBuf::install();
    let text = format!(
        r#"
[eal]
main_lcore = 0
no_huge = true
no_pci = true
memory_mb = 128
file_prefix = "rvs-golden-steer-{pid}"
vdevs = ["net_tap0,iface=gsteer0"]

[[port]]
name = "lan"
device = "net_tap0"
rx_queues = 2
tx_queues = 2
rx_desc = 128
tx_desc = 128

[[addr]]
port = "lan"
ip = "10.0.0.1/24"
kind = "host"

[[addr]]
port = "lan"
ip = "10.0.0.100/32"
kind = "vip"

[[addr]]
port = "lan"
ip = "10.0.0.201/32"
kind = "local"

[[worker]]
lcore = 1
cpu = 1
rx = [{{ port = "lan", queue = 0 }}]

[[worker]]
lcore = 2
cpu = 0
rx = [{{ port = "lan", queue = 1 }}]

[[service]]
proto = "tcp"
vip = "10.0.0.100:80"
scheduler = "rr"
laddrs = ["10.0.0.201"]

[[service.dest]]
addr = "10.0.0.11:80"
fwd = "fullnat"

[dataplane]
mbuf_cache = 32
conns_per_worker = 1024
idle_backoff = {{ empty_polls = 8, sleep_us = 200 }}
"#,
        pid = std::process::id()
    );
    let cfg = Config::from_toml_str(&text).unwrap_or_else(|e| panic!("config: {e}\n{text}"));
    let director = Director::start(&cfg).expect("director starts on net_tap");
    let said = log.text();
    let line = said
        .lines()
        .find(|l| l.contains("port lan: FULLNAT/SNAT replies:"))
        .unwrap_or_else(|| panic!("no steering line for port lan:\n{said}"));
    println!("kernel TC steering: {tc}; rvsd: {line}");
    if tc {
        // One rule per (local address, protocol, worker).
        assert!(line.contains("FULLNAT/SNAT replies: rte_flow, 4 rule(s)"), "{line}");
    } else {
        assert!(
            line.contains(
                "software redirect over per-core rings (rte_flow refused: validated, but the driver refused to create the rule: item not supported"
            ),
            "{line}"
        );
    }
    director.shutdown().expect("clean shutdown");
}
