//! Golden test of FULLNAT through rvsd's real daemon path: two `net_pcap` ports, `wan` (clients,
//! the VIP) and `lan` (the real servers, which answer the director's local addresses). Two TCP
//! connections (rr: RS1:8080 from local address .201, RS2:80 from .202, local port 1024 each)
//! with TOA on the handshake's last ACK and the first data segment, and a UDP exchange; replies
//! translated back. Captures from `tests/data/gen_mode_pcaps.py`.
//!
//! One EAL per process: this file holds a single test.

mod common;

use common::golden::Scenario;

#[test]
fn fullnat_golden() {
    Scenario {
        mode: "fullnat",
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

[[addr]]
port = "lan"
ip = "10.0.0.201/32"
kind = "local"

[[addr]]
port = "lan"
ip = "10.0.0.202/32"
kind = "local"

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
laddrs = ["10.0.0.201", "10.0.0.202"]
toa = true

[[service.dest]]
addr = "10.0.0.11:8080"
fwd = "fullnat"

[[service.dest]]
addr = "10.0.0.12:80"
fwd = "fullnat"

[[service]]
proto = "udp"
vip = "198.51.100.100:53"
scheduler = "rr"
laddrs = ["10.0.0.201", "10.0.0.202"]

[[service.dest]]
addr = "10.0.0.11:53"
fwd = "fullnat"

[[service.dest]]
addr = "10.0.0.12:53"
fwd = "fullnat"
"#,
        drops: &[],
        lb_drops: &[],
    }
    .run();
}
