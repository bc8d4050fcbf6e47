//! Golden test of SNAT through rvsd's real daemon path: two `net_pcap` ports, `wan` (the outside
//! server, the WAN address 198.51.100.200) and `lan` (inside hosts, whose gateway is the
//! director). Two inside hosts open TCP connections from the same port and one sends a UDP query;
//! they leave from the WAN address with local ports 1024, 1025, 1026, and the server's replies
//! come back to the hosts. Captures from `tests/data/gen_mode_pcaps.py`.
//!
//! One EAL per process: this file holds a single test.

mod common;

use common::golden::{Body, Scenario};

#[test]
fn snat_golden() {
    Scenario {
        mode: "snat",
        ports: &["wan", "lan"],
        body: &Body::wan_lan()
            .addr("wan", "198.51.100.200/32", "local")
            .neigh("wan", "198.51.100.50", "02:00:00:00:00:b1")
            .real_servers(2)
            .poll(&["lan", "wan"])
            .then(
                r#"
[[snat]]
src = "10.0.0.0/24"
dst = "0.0.0.0/0"
proto = "any"
out = "198.51.100.200"
"#,
            ),
        drops: &[],
        lb_drops: &[],
    }
    .run();
}
