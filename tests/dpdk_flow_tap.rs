//! rte_flow rules on a device that implements them: `net_tap`, whose PMD turns rte_flow rules
//! into TC filters on the tap (a multiq root qdisc, flower filters, the skbedit action for
//! QUEUE). What the test asserts depends on whether the kernel has those (tried first on a veth
//! pair, independently of DPDK):
//!
//! - With them: `src/dpdk/flow.rs`'s [`probe_steering`] accepts the reply-steering shape,
//!   [`create_rule`] installs `ETH / IPV4 dst / UDP|TCP dst port & mask -> QUEUE`, UDP flows the
//!   kernel sends to the DPDK side that match land on the rule's queue while the rule lives,
//!   and [`FlowRule::destroy`] takes it out.
//! - Without them (this project's CI kernel: no `NET_SCH_MULTIQ`, `NET_CLS_FLOWER`,
//!   `NET_ACT_SKBEDIT`): net_tap disables rte_flow at start, yet `rte_flow_validate` accepts the
//!   shape (it checks the pattern only); creating the rule fails with "item not supported".
//!   The probe's trial creation reports that refusal for TCP and UDP, and [`create_rule`]
//!   returns it, so rvsd falls back to the software redirect and says why.
//!
//! The fallback elsewhere: the probe on `net_ring` (no rte_flow at all) in `dpdk_port.rs`, the
//! software redirect between workers in `dpdk_crossing.rs`.
//!
//! Runs in a network namespace the test creates (`golden-flow-<pid>`) and removes: the test
//! re-runs itself inside it with `ip netns exec`.

mod common;

use std::net::{Ipv4Addr, UdpSocket};
use std::process::Command;
use std::time::{Duration, Instant};

use rvs::dpdk::{
    create_rule, probe_steering, FlowRule, FlowSupport, L4Proto, MbufBatch, Mempool, Port,
    PortConfig, RxQueue, SteeringRule,
};

const INSIDE: &str = "RVS_GOLDEN_FLOW_NS";
const TEST: &str = "tap_steering_rules_follow_the_kernels_tc_support";
const IFACE: &str = "gflow0";
const QUEUES: u16 = 4;
const DPDK_IP: Ipv4Addr = Ipv4Addr::new(10, 98, 0, 2);
const DPDK_MAC: &str = "02:00:00:00:98:02";
/// The rules' queue.
const TARGET: u16 = 3;
/// What net_tap (DPDK 22.11) says when asked to create a rule on a kernel without TC flower
/// (it validates the same rule: it only checks the pattern there).
const REFUSAL: &str = "item not supported";
/// Port bits the rules match: `dst port & MASK == VALUE`.
const MASK: u16 = 0x000f;
const VALUE: u16 = 5;

fn sh(cmd: &str, args: &[&str]) {
    let out = Command::new(cmd).args(args).output().unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn tap_steering_rules_follow_the_kernels_tc_support() {
    if std::env::var_os(INSIDE).is_none() {
        let ns = format!("golden-flow-{}", std::process::id());
        sh("ip", &["netns", "add", &ns]);
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

/// Sends one UDP datagram from the kernel to the DPDK side for each destination port, with
/// the port in its payload.
fn send_udp(ports: &[u16]) {
    for p in ports {
        // A socket (so another source port) per datagram: different flows.
        let s = UdpSocket::bind("10.98.0.1:0").unwrap();
        s.send_to(&p.to_be_bytes(), (DPDK_IP, *p)).unwrap();
    }
}

/// Polls every rx queue until `n` UDP datagrams to `DPDK_IP` have come (20 s at most); returns
/// (queue, destination port) for each.
fn receive(queues: &mut [RxQueue], n: usize) -> Vec<(u16, u16)> {
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while got.len() < n && Instant::now() < deadline {
        for (q, rxq) in queues.iter_mut().enumerate() {
            let mut b: MbufBatch = MbufBatch::new();
            rxq.rx_burst(&mut b);
            for m in b.drain() {
                let d = rvs::buf::PacketBuf::data(&m);
                if d.len() >= 42
                    && d[12..14] == [8, 0]
                    && d[23] == 17
                    && d[30..34] == DPDK_IP.octets()
                {
                    got.push((q as u16, u16::from_be_bytes([d[36], d[37]])));
                }
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(got.len(), n, "datagrams received: {got:?}");
    got
}

/// Whether this kernel has what net_tap builds rte_flow on: the multiq qdisc, TC flower
/// filters and the skbedit action (for QUEUE). Tried on a veth pair in this namespace.
fn kernel_has_tc_steering() -> bool {
    sh("ip", &["link", "add", "gflowp0", "type", "veth", "peer", "name", "gflowp1"]);
    let tc = |args: &[&str]| Command::new("tc").args(args).status().is_ok_and(|s| s.success());
    let multiq = tc(&["qdisc", "add", "dev", "gflowp0", "root", "handle", "1:", "multiq"]);
    let flower = multiq
        && tc(&[
            "filter",
            "add",
            "dev",
            "gflowp0",
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
        ]);
    sh("ip", &["link", "delete", "gflowp0"]);
    println!("kernel: multiq qdisc {multiq}, flower filter with skbedit {flower}");
    flower
}

/// Without TC support in the kernel net_tap cannot install any rule, although
/// `rte_flow_validate` accepts the shape: the probe's trial creation finds out and says so for
/// both protocols with the driver's reason, and creating the rule fails with that reason (rvsd
/// then uses the software redirect, `src/daemon/steering.rs`).
fn refused_without_kernel_support(cp: &rvs::dpdk::ConfiguredPort, probe: &rvs::dpdk::FlowSteering) {
    for (what, s) in [("tcp", &probe.tcp), ("udp", &probe.udp)] {
        match s {
            FlowSupport::Unsupported(why) => {
                println!("net_tap refuses {what} steering: {why}");
                let want =
                    format!("validated, but the driver refused to create the rule: {REFUSAL}");
                assert!(why.contains(&want), "{what}: unexpected reason {why:?}");
            }
            FlowSupport::Supported => {
                panic!("net_tap validated a {what} rule on a kernel without TC flower")
            }
        }
    }
    for proto in [L4Proto::Tcp, L4Proto::Udp] {
        match create_rule(cp, rule(proto)) {
            Err(rvs::dpdk::DpdkError::Flow { op: "create", message, .. }) => {
                assert!(message.contains(REFUSAL), "{proto:?}: {message}")
            }
            Err(e) => panic!("{proto:?}: unexpected error {e}"),
            Ok(r) => panic!("{proto:?}: rule {r:?} created without kernel support"),
        }
    }
}

fn rule(proto: L4Proto) -> SteeringRule {
    SteeringRule { dst: DPDK_IP, proto, port_value: VALUE, port_mask: MASK, queue: TARGET }
}

fn inside() {
    let _eal = common::eal("flowtap", &[&format!("net_tap0,iface={IFACE}")]);
    let pool = Mempool::new("flowtap_pool", 4095, 0, 2176, None).unwrap();
    let port = Port::by_name("net_tap0").unwrap();
    let cfg = PortConfig {
        rx_queues: QUEUES,
        // net_tap wants as many tx queues as rx queues.
        tx_queues: QUEUES,
        rx_desc: 256,
        tx_desc: 256,
        mac: Some([2, 0, 0, 0, 0x98, 2]),
        rss: false,
        ..PortConfig::default()
    };
    let mut cp = port.configure(&cfg, &pool).expect("net_tap with 4 rx queues");
    let mut queues: Vec<RxQueue> = (0..QUEUES).map(|q| cp.rx_queue(q).unwrap()).collect();
    sh("ip", &["link", "set", IFACE, "up"]);
    sh("ip", &["addr", "add", "10.98.0.1/24", "dev", IFACE]);
    sh("ip", &["neigh", "replace", "10.98.0.2", "lladdr", DPDK_MAC, "dev", IFACE]);

    let probe = probe_steering(cp.id(), TARGET);
    println!("net_tap rte_flow probe: {probe:?}");
    if !kernel_has_tc_steering() {
        refused_without_kernel_support(&cp, &probe);
        return;
    }
    // The probe accepts the reply-steering shape for both protocols.
    assert_eq!(probe.tcp, FlowSupport::Supported, "TCP steering on net_tap");
    assert_eq!(probe.udp, FlowSupport::Supported, "UDP steering on net_tap");

    // Matching flows (dst port & 0xf == 5) and others, 8 flows each.
    let matching: Vec<u16> = (0..8).map(|i| 40005 + 16 * i).collect();
    let other: Vec<u16> = (0..8).map(|i| 40006 + 16 * i).collect();

    let udp = create_rule(&cp, rule(L4Proto::Udp)).expect("UDP rule installed on net_tap");
    let tcp = create_rule(&cp, rule(L4Proto::Tcp)).expect("TCP rule installed on net_tap");
    assert_eq!(udp.rule(), &rule(L4Proto::Udp));
    send_udp(&matching);
    let got = receive(&mut queues, matching.len());
    for (q, p) in &got {
        assert_eq!(*q, TARGET, "datagram to port {p} on the rule's queue: {got:?}");
    }
    // Non-matching flows are not the rule's: they go where the kernel's queue choice puts
    // them, which for 8 flows over 4 queues is not queue 3 alone.
    send_udp(&other);
    let spread = receive(&mut queues, other.len());
    println!("non-matching flows by queue: {spread:?}");

    // Destroyed: the matching flows are no longer held to the rule's queue.
    FlowRule::destroy(udp).expect("rule destroyed");
    send_udp(&matching);
    let after = receive(&mut queues, matching.len());
    println!("matching flows by queue after destroy: {after:?}");
    assert!(
        spread.iter().chain(&after).any(|(q, _)| *q != TARGET),
        "without a rule, 16 flows all landed on queue {TARGET}: the kernel does not spread, so the test proves nothing: {spread:?} {after:?}"
    );
    drop(tcp);
    drop(queues);
}
