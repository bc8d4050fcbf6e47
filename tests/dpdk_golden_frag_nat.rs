//! Golden test of NAT beside the happy path, through rvsd's real daemon path (two `net_pcap`
//! ports, `wan` and `lan`): a UDP datagram in three fragments and its reply in two, each
//! fragment translated (the first as a whole packet, the later ones at the IP level only); ICMP
//! fragmentation-needed (about a TCP data segment) and port-unreachable (about a UDP query) from
//! the real server, translated back to the client, and a port-unreachable from the client about a
//! reply, translated to the real server; a SYN for a service whose only dest has
//! weight 0, answered with a RST; and two frames dropped with nothing sent for them (a later
//! fragment whose first never came, a header with a wrong checksum). Captures from
//! `tests/data/gen_error_pcaps.py`.
//!
//! One EAL per process: this file holds a single test.

mod common;

use common::golden::{lb_event, Body, Scenario};
use rvs::ipvs::counters::IpvsDropReason;
use rvs::net::DropReason;

#[test]
fn nat_fragments_icmp_errors_and_reset_golden() {
    let stats = Scenario {
        mode: "naterr",
        ports: &["wan", "lan"],
        body: &Body::wan_lan().vip().client_router().real_servers(1).poll(&["wan", "lan"]).then(
            r#"
[[service]]
proto = "tcp"
vip = "198.51.100.100:80"
scheduler = "rr"

[[service.dest]]
addr = "10.0.0.11:8080"
fwd = "nat"

[[service]]
proto = "udp"
vip = "198.51.100.100:53"
scheduler = "rr"

[[service.dest]]
addr = "10.0.0.11:5353"
fwd = "nat"

[[service]]
proto = "tcp"
vip = "198.51.100.100:81"
scheduler = "rr"

[[service.dest]]
addr = "10.0.0.11:81"
fwd = "nat"
weight = 0
"#,
        ),
        drops: &[(DropReason::Ipv4BadChecksum, 1)],
        lb_drops: &[(IpvsDropReason::FragUnmatched, 1), (IpvsDropReason::NoDest, 1)],
    }
    .run();
    assert_eq!(lb_event(&stats, "rvs_lb_resets_sent_total"), 1, "resets");
    assert_eq!(lb_event(&stats, "rvs_lb_icmp_forwarded_total"), 3, "ICMP errors translated");
    // Two later fragments of the request, one of the reply.
    assert_eq!(lb_event(&stats, "rvs_lb_fragments_followed_total"), 3, "fragments followed");
}
