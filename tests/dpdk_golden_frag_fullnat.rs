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

use common::golden::{lb_event, Scenario};
use rvs::ipvs::counters::IpvsDropReason;
use rvs::net::DropReason;

#[test]
fn fullnat_fragments_and_icmp_errors_golden() {
    let stats = Scenario {
        mode: "fullnaterr",
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

[[neigh.static]]
ip = "198.51.100.2"
mac = "02:00:00:00:00:c1"
port = "wan"

[[neigh.static]]
ip = "10.0.0.11"
mac = "02:00:00:00:00:a1"
port = "lan"

# Requests arrive on wan: polled first (see gen_error_pcaps.py on ordering).
[[worker]]
lcore = 1
cpu = 1
rx = [{ port = "wan", queue = 0 }, { port = "lan", queue = 0 }]

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
        drops: &[(DropReason::Ipv4BadChecksum, 1)],
        lb_drops: &[(IpvsDropReason::FragUnmatched, 1)],
    }
    .run();
    assert_eq!(lb_event(&stats, "rvs_lb_icmp_forwarded_total"), 2, "ICMP errors translated");
    // Three later fragments of the request, three of the reply.
    assert_eq!(lb_event(&stats, "rvs_lb_fragments_followed_total"), 6, "fragments followed");
}
