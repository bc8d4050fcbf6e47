//! Golden test of TUN (IP tunnelling) through rvsd's real daemon path: one `net_pcap` port on
//! the LAN of the clients and the real servers. TCP: RS1 by IP-in-IP, RS2 by GUE without outer
//! checksum (rr, one connection each); UDP: the first flow to RS2 by GUE with outer checksum, the
//! second to RS1 by IP-in-IP, the third (a datagram in three fragments, each encapsulated as it
//! is) to RS2 by GUE. The outer headers are checked whole, their identification and GUE source
//! port computed by the generator from the flow hash's definition (docs/tun-flow-hash.md, ports
//! 0 for fragments). Captures from `tests/data/gen_mode_pcaps.py`.
//!
//! One EAL per process: this file holds a single test.

mod common;

use common::golden::{Body, Scenario};

#[test]
fn tun_golden() {
    Scenario {
        mode: "tun",
        ports: &["lan"],
        body: &Body::one_lan().then(
            r#"
[[service]]
proto = "tcp"
vip = "198.51.100.100:80"
scheduler = "rr"

[[service.dest]]
addr = "198.51.100.11:80"
fwd = "tun"
tun_type = "ipip"

[[service.dest]]
addr = "198.51.100.12:80"
fwd = "tun"
tun_type = "gue"
tun_port = 6080

[[service]]
proto = "udp"
vip = "198.51.100.100:53"
scheduler = "rr"

[[service.dest]]
addr = "198.51.100.12:53"
fwd = "tun"
tun_type = "gue"
tun_port = 6080
tun_csum = "csum"

[[service.dest]]
addr = "198.51.100.11:53"
fwd = "tun"
tun_type = "ipip"
"#,
        ),
        drops: &[],
        lb_drops: &[],
    }
    .run();
}
