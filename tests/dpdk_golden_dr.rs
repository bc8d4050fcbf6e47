//! Golden test of DR (direct routing) through rvsd's real daemon path: one `net_pcap` port on
//! the LAN of the clients and the real servers. Two TCP connections (rr: RS1, then RS2) and a
//! UDP query; only the Ethernet header (to the real server's MAC, from the port's) and the TTL
//! (with the IPv4 header checksum) change. Captures from `tests/data/gen_mode_pcaps.py`.
//!
//! One EAL per process: this file holds a single test.

mod common;

use common::golden::{Body, Scenario};

#[test]
fn dr_golden() {
    Scenario {
        mode: "dr",
        ports: &["lan"],
        body: &Body::one_lan().then(
            r#"
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
        ),
        drops: &[],
        lb_drops: &[],
    }
    .run();
}
