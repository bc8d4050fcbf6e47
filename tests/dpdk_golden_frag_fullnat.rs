//! Golden test of FULLNAT beside the happy path, through rvsd's real daemon path (two
//! `net_pcap` ports, `wan` and `lan`): a UDP datagram in four fragments and its reply in four,
//! each fragment translated to and from the local address (the first as a whole packet, the
//! later ones at the IP level only); ICMP fragmentation-needed (about a TCP data segment) and
//! port-unreachable (about a UDP query) sent by the real server to the local address,
//! translated back to the client; and two frames dropped with nothing sent for them (a later
//! fragment whose first never came, a header with a wrong checksum). Captures from
//! `tests/data/gen_error_pcaps.py`.
//!
//! One EAL per process: this file holds a single test.

mod common;

use common::golden::{lb_event, Body, Scenario};
use rvs::ipvs::counters::IpvsDropReason;
use rvs::net::DropReason;

#[test]
fn fullnat_fragments_and_icmp_errors_golden() {
    let stats = Scenario {
        mode: "fullnaterr",
        ports: &["wan", "lan"],
        body: &Body::wan_lan()
            .vip()
            .addr("lan", "10.0.0.201/32", "local")
            .client_router()
            .real_servers(1)
            .poll(&["wan", "lan"])
            .then(
                r#"
[[service]]
proto = "tcp"
vip = "198.51.100.100:80"
scheduler = "rr"
laddrs = ["10.0.0.201"]

[[service.dest]]
addr = "10.0.0.11:8080"
fwd = "fullnat"

[[service]]
proto = "udp"
vip = "198.51.100.100:53"
scheduler = "rr"
laddrs = ["10.0.0.201"]

[[service.dest]]
addr = "10.0.0.11:53"
fwd = "fullnat"
"#,
            ),
        drops: &[(DropReason::Ipv4BadChecksum, 1)],
        lb_drops: &[(IpvsDropReason::FragUnmatched, 1)],
    }
    .run();
    assert_eq!(lb_event(&stats, "rvs_lb_icmp_forwarded_total"), 2, "ICMP errors translated");
    // Three later fragments of the request, three of the reply.
    assert_eq!(lb_event(&stats, "rvs_lb_fragments_followed_total"), 6, "fragments followed");
}
