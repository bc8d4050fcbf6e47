//! Golden test of DR (direct routing) through rvsd's real daemon path: one `net_pcap` port on
//! the LAN of the clients and the real servers. Two TCP connections (rr: RS1, then RS2) and a
//! UDP query; only the Ethernet header (to the real server's MAC, from the port's) and the TTL
//! (with the IPv4 header checksum) change. Captures from `tests/data/gen_mode_pcaps.py`.
//!
//! One EAL per process: this file holds a single test.

mod common;

use common::golden::Scenario;

#[test]
fn dr_golden() {
    Scenario {
        mode: "dr",
        ports: &["lan"],
        body: r#"
[[addr]]
port = "lan"
ip = "198.51.100.1/24"
kind = "host"

[[addr]]
port = "lan"
ip = "198.51.100.100/32"
kind = "vip"

[[neigh.static]]
ip = "198.51.100.11"
mac = "02:00:00:00:00:a1"
port = "lan"

[[neigh.static]]
ip = "198.51.100.12"
mac = "02:00:00:00:00:a2"
port = "lan"

[[worker]]
lcore = 1
cpu = 1
rx = [{ port = "lan", queue = 0 }]

[[service]]
proto = "tcp"
vip = "198.51.100.100:80"
scheduler = "rr"

[[service.dest]]
addr = "198.51.100.11:80"
fwd = "dr"

[[service.dest]]
addr = "198.51.100.12:80"
fwd = "dr"

[[service]]
proto = "udp"
vip = "198.51.100.100:53"
scheduler = "rr"

[[service.dest]]
addr = "198.51.100.11:53"
fwd = "dr"

[[service.dest]]
addr = "198.51.100.12:53"
fwd = "dr"
"#,
        drops: &[],
        lb_drops: &[],
    }
    .run();
}
