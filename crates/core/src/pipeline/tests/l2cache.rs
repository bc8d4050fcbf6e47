//! The established path's cached L2 header: hits once a connection's direction has been
//! routed and resolved, and a neighbour change (new MAC, expiry) makes the next packet relearn.

use super::common::*;
use crate::net::testutil::arp;

/// Real server 5 is not a static neighbour: it is learnt from ARP.
const RS5_MAC_A: MacAddr = MacAddr([0x52, 0, 0, 0, 5, 0xaa]);
const RS5_MAC_B: MacAddr = MacAddr([0x52, 0, 0, 0, 5, 0xbb]);

fn arp_frame(op: u16, dst: MacAddr, sha: MacAddr, spa: Ipv4Addr, tpa: Ipv4Addr) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&dst.0);
    v.extend_from_slice(&sha.0);
    v.extend_from_slice(&[0x08, 0x06]);
    v.extend_from_slice(&arp(op, sha, spa, MacAddr::ZERO, tpa));
    v
}

fn hits_misses(lab: &Lab) -> (u64, u64) {
    let c = lab.p.net_counters();
    (c.l2_cache_hits, c.l2_cache_misses)
}

/// A NAT service VIP:80 -> rs(5):8080, with rs(5) announced by ARP with `mac`.
fn lab_with_learnt_rs(mac: MacAddr) -> Lab {
    let s = svc(Protocol::Tcp, 80, "rr");
    let d = [dest(5, 8080, spec::FwdMethod::Masq, 1)];
    let mut lab = Lab::new(snapshot(&[(&s, &d)], &[], &[]));
    // A request for our address: learnt (and answered).
    let out = lab.send(1, &arp_frame(1, MacAddr::BROADCAST, mac, rs(5), HOST1));
    assert_eq!(out.len(), 1, "the ARP reply");
    assert_eq!(lab.p.net_counters().arp_learned, 1);
    lab
}

fn client_ack(seq: u32, payload: &[u8]) -> Vec<u8> {
    from_client(&tcp(CLIENT, 40000, VIP, 80, ACK | PSH, seq, 5001, payload))
}

#[test]
fn established_packets_use_the_cached_header_both_ways() {
    let mut lab = lab_with_learnt_rs(RS5_MAC_A);
    let (port, f) = lab.one(0, &from_client(&tcp(CLIENT, 40000, VIP, 80, SYN, 1000, 0, &[])));
    assert_eq!((port, seen(&f).dst_mac, seen(&f).src_mac), (1, RS5_MAC_A, MAC1));
    assert_eq!(hits_misses(&lab), (0, 1), "first packet in: routed, resolved, cached");
    let rs5 = eth(MAC1, RS5_MAC_A, &tcp(rs(5), 8080, CLIENT, 40000, SYN | ACK, 5000, 1001, &[]));
    let (port, f) = lab.one(1, &rs5);
    assert_eq!((port, seen(&f).dst_mac, seen(&f).src_mac), (0, CLIENT_MAC, MAC0));
    assert_eq!(hits_misses(&lab), (0, 2), "first packet out: its own miss");
    for i in 0..5u32 {
        let (port, f) = lab.one(0, &client_ack(1001 + i, b"x"));
        let s = seen(&f);
        assert_eq!((port, s.dst_mac, s.src_mac, s.dst, s.dport), (1, RS5_MAC_A, MAC1, rs(5), 8080));
    }
    assert_eq!(hits_misses(&lab), (5, 2));
    let reply = eth(MAC1, RS5_MAC_A, &tcp(rs(5), 8080, CLIENT, 40000, ACK, 5001, 1006, b"y"));
    let (port, f) = lab.one(1, &reply);
    let s = seen(&f);
    assert_eq!((port, s.dst_mac, s.src_mac, s.src, s.sport), (0, CLIENT_MAC, MAC0, VIP, 80));
    assert_eq!(hits_misses(&lab), (6, 2));
    // A second connection has a cache of its own: its first packet misses.
    lab.one(0, &from_client(&tcp(CLIENT, 40001, VIP, 80, SYN, 1, 0, &[])));
    assert_eq!(hits_misses(&lab), (6, 3));
}

#[test]
fn a_new_mac_for_the_real_server_is_used_by_the_next_packet() {
    let mut lab = lab_with_learnt_rs(RS5_MAC_A);
    lab.one(0, &from_client(&tcp(CLIENT, 40000, VIP, 80, SYN, 1000, 0, &[])));
    lab.one(1, &eth(MAC1, RS5_MAC_A, &tcp(rs(5), 8080, CLIENT, 40000, SYN | ACK, 5000, 1001, &[])));
    assert_eq!(seen(&lab.one(0, &client_ack(1001, b"a")).1).dst_mac, RS5_MAC_A);
    assert_eq!(hits_misses(&lab), (1, 2));
    // The real server moves to another NIC: a gratuitous ARP reply updates the entry.
    let out = lab.send(1, &arp_frame(2, MAC1, RS5_MAC_B, rs(5), HOST1));
    assert!(out.is_empty());
    let (port, f) = lab.one(0, &client_ack(1002, b"b"));
    assert_eq!((port, seen(&f).dst_mac), (1, RS5_MAC_B), "the next packet takes the new MAC");
    assert_eq!(hits_misses(&lab), (1, 3), "and relearnt it");
    assert_eq!(seen(&lab.one(0, &client_ack(1003, b"c")).1).dst_mac, RS5_MAC_B);
    assert_eq!(hits_misses(&lab), (2, 3), "cached again");
    // The same MAC announced again changes nothing: still a hit.
    lab.send(1, &arp_frame(2, MAC1, RS5_MAC_B, rs(5), HOST1));
    assert_eq!(seen(&lab.one(0, &client_ack(1004, b"d")).1).dst_mac, RS5_MAC_B);
    assert_eq!(hits_misses(&lab), (3, 3));
    // The other direction was cached under the old epoch: it relearns too (same MAC).
    let reply = eth(MAC1, RS5_MAC_B, &tcp(rs(5), 8080, CLIENT, 40000, ACK, 5001, 1005, b"y"));
    assert_eq!(seen(&lab.one(1, &reply).1).dst_mac, CLIENT_MAC);
    assert_eq!(hits_misses(&lab), (3, 4));
}

#[test]
fn an_expired_neighbour_is_resolved_again_not_used_from_the_cache() {
    let mut lab = lab_with_learnt_rs(RS5_MAC_A);
    lab.one(0, &from_client(&tcp(CLIENT, 40000, VIP, 80, SYN, 1000, 0, &[])));
    lab.one(1, &eth(MAC1, RS5_MAC_A, &tcp(rs(5), 8080, CLIENT, 40000, SYN | ACK, 5000, 1001, &[])));
    lab.one(0, &client_ack(1001, b"a"));
    // The learnt entry lives 300 s; the established connection 900 s.
    lab.advance(301);
    assert_eq!(lab.lb().conn_count(), 1);
    let out = lab.send(0, &client_ack(1002, b"b"));
    assert_eq!(out.len(), 1, "an ARP request; the packet waits for the answer");
    assert_eq!(&out[0].1[12..14], &[0x08, 0x06]);
    assert_eq!(lab.p.stack().neigh().pending_len(), 1);
    let (h, m) = hits_misses(&lab);
    assert_eq!((h, m), (1, 3));
    // The answer releases the packet with the (new) MAC, and the next one is cached again.
    let out = lab.send(1, &arp_frame(2, MAC1, RS5_MAC_B, rs(5), HOST1));
    assert_eq!(out.len(), 1);
    assert_eq!(seen(&out[0].1).dst_mac, RS5_MAC_B);
    assert_eq!(seen(&lab.one(0, &client_ack(1003, b"c")).1).dst_mac, RS5_MAC_B);
    assert_eq!(hits_misses(&lab), (1, 4), "relearnt once resolved");
    assert_eq!(seen(&lab.one(0, &client_ack(1004, b"d")).1).dst_mac, RS5_MAC_B);
    assert_eq!(hits_misses(&lab), (2, 4));
}

#[test]
fn new_plumbing_tables_make_established_packets_route_again() {
    let mut lab = lab_with_learnt_rs(RS5_MAC_A);
    lab.one(0, &from_client(&tcp(CLIENT, 40000, VIP, 80, SYN, 1000, 0, &[])));
    lab.one(0, &client_ack(1001, b"a"));
    assert_eq!(hits_misses(&lab), (1, 1));
    // What an rvsnet address or route change hands the workers: the same tables, new epoch.
    let ifaces = Arc::clone(lab.p.stack().ifaces());
    let routes = Arc::clone(lab.p.stack().routes());
    let epoch = lab.p.stack().l2_epoch();
    lab.p.set_net(ifaces, routes, lab.now);
    assert_ne!(lab.p.stack().l2_epoch(), epoch);
    let (port, f) = lab.one(0, &client_ack(1002, b"b"));
    assert_eq!((port, seen(&f).dst_mac), (1, RS5_MAC_A));
    assert_eq!(hits_misses(&lab), (1, 2), "routed and resolved again under the new tables");
    lab.one(0, &client_ack(1003, b"c"));
    assert_eq!(hits_misses(&lab), (2, 2), "and cached again");
}
