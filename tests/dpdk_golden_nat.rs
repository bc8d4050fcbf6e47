//! Golden test of NAT (masquerading) through rvsd's real daemon path: two `net_pcap` ports,
//! `wan` (clients, the VIP) and `lan` (the real servers, whose gateway is the director). Two TCP
//! connections (rr: RS1 with port mapping 80 -> 8080, then RS2) and a UDP exchange (port mapping
//! 53 -> 5353), requests and replies; captures from `tests/data/gen_mode_pcaps.py`.
//!
//! One EAL per process: this file holds a single test.

mod common;

use common::golden::{Body, Scenario};

#[test]
fn nat_golden() {
    Scenario {
        mode: "nat",
        ports: &["wan", "lan"],
        body: &Body::wan_lan().vip().client_router().real_servers(2).poll(&["wan", "lan"]).then(
            r#"
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
        ),
        drops: &[],
        lb_drops: &[],
    }
    .run();
}
