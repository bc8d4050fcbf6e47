//! Golden test of NAT (masquerading) through rvsd's real daemon path: two `net_pcap` ports,
//! `wan` (clients, the VIP) and `lan` (the real servers, whose gateway is the director). Two TCP
//! connections (rr: RS1 with port mapping 80 -> 8080, then RS2) and a UDP exchange (port mapping
//! 53 -> 5353), requests and replies; captures from `tests/data/gen_mode_pcaps.py`.
//!
//! One EAL per process: this file holds a single test.

mod common;

use common::golden::Scenario;

#[test]
fn nat_golden() {
    Scenario {
        mode: "nat",
        ports: &["wan", "lan"],
        body: r#"
[[addr]]
port = "wan"
ip = "198.51.100.1/24"
kind = "host"

[[addr]]
port = "wan"
ip = "198.51.100.100/32"
kind = "vip"

[[addr]]
port = "lan"
ip = "10.0.0.1/24"
kind = "host"

[[neigh.static]]
ip = "198.51.100.2"
mac = "02:00:00:00:00:c1"
port = "wan"

[[neigh.static]]
ip = "10.0.0.11"
mac = "02:00:00:00:00:a1"
port = "lan"

[[neigh.static]]
ip = "10.0.0.12"
mac = "02:00:00:00:00:a2"
port = "lan"

# Requests arrive on wan: polled first (see gen_mode_pcaps.py on ordering).
[[worker]]
lcore = 1
cpu = 1
rx = [{ port = "wan", queue = 0 }, { port = "lan", queue = 0 }]

[[service]]
proto = "tcp"
vip = "198.51.100.100:80"
scheduler = "rr"

[[service.dest]]
addr = "10.0.0.11:8080"
fwd = "nat"

[[service.dest]]
addr = "10.0.0.12:80"
fwd = "nat"

[[service]]
proto = "udp"
vip = "198.51.100.100:53"
scheduler = "rr"

[[service.dest]]
addr = "10.0.0.11:5353"
fwd = "nat"

[[service.dest]]
addr = "10.0.0.12:5353"
fwd = "nat"
"#,
        drops: &[],
        lb_drops: &[],
    }
    .run();
}
