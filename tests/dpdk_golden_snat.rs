//! Golden test of SNAT through rvsd's real daemon path: two `net_pcap` ports, `wan` (the outside
//! server, the WAN address 198.51.100.200) and `lan` (inside hosts, whose gateway is the
//! director). Two inside hosts open TCP connections from the same port and one sends a UDP query;
//! they leave from the WAN address with local ports 1024, 1025, 1026, and the server's replies
//! come back to the hosts. Captures from `tests/data/gen_mode_pcaps.py`.
//!
//! One EAL per process: this file holds a single test.

mod common;

use common::golden::Scenario;

#[test]
fn snat_golden() {
    Scenario {
        mode: "snat",
        ports: &["wan", "lan"],
        body: r#"
[[addr]]
port = "wan"
ip = "198.51.100.1/24"
kind = "host"

[[addr]]
port = "wan"
ip = "198.51.100.200/32"
kind = "local"

[[addr]]
port = "lan"
ip = "10.0.0.1/24"
kind = "host"

[[neigh.static]]
ip = "198.51.100.50"
mac = "02:00:00:00:00:b1"
port = "wan"

[[neigh.static]]
ip = "10.0.0.11"
mac = "02:00:00:00:00:a1"
port = "lan"

[[neigh.static]]
ip = "10.0.0.12"
mac = "02:00:00:00:00:a2"
port = "lan"

# Requests arrive on lan: polled first (see gen_mode_pcaps.py on ordering).
[[worker]]
lcore = 1
cpu = 1
rx = [{ port = "lan", queue = 0 }, { port = "wan", queue = 0 }]

[[snat]]
src = "10.0.0.0/24"
dst = "0.0.0.0/0"
proto = "any"
out = "198.51.100.200"
"#,
        drops: &[],
        lb_drops: &[],
    }
    .run();
}
