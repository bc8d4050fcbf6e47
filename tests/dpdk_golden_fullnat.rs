//! Golden test of FULLNAT through rvsd's real daemon path: two `net_pcap` ports, `wan` (clients,
//! the VIP) and `lan` (the real servers, which answer the director's local addresses). Two TCP
//! connections (rr: RS1:8080 from local address .201, RS2:80 from .202, local port 1024 each)
//! with TOA on the handshake's last ACK and the first data segment, and a UDP exchange; replies
//! translated back. Captures from `tests/data/gen_mode_pcaps.py`.
//!
//! One EAL per process: this file holds a single test.

mod common;

use common::golden::{Body, Scenario};

#[test]
fn fullnat_golden() {
    Scenario {
        mode: "fullnat",
        ports: &["wan", "lan"],
        body: &Body::wan_lan()
            .vip()
            .addr("lan", "10.0.0.201/32", "local")
            .addr("lan", "10.0.0.202/32", "local")
            .client_router()
            .real_servers(2)
            .poll(&["wan", "lan"])
            .then(
                r#"
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
            ),
        drops: &[],
        lb_drops: &[],
    }
    .run();
}
