//! DR (`-g`): the frame goes to the real server's MAC, the IP packet unchanged but its TTL.

use super::common::*;

#[test]
fn dr_forwards_unchanged_to_the_real_servers_mac() {
    let s = svc(Protocol::Tcp, 80, "rr");
    let d = [dest(2, 80, spec::FwdMethod::Route, 1)];
    let mut lab = Lab::new(snapshot(&[(&s, &d)], &[], &[]));
    let syn = tcp(CLIENT, 49000, VIP, 80, SYN, 1, 0, &[]);
    let (port, f) = lab.one(0, &from_client(&syn));
    let s1 = seen(&f);
    assert_eq!(port, 1);
    assert_eq!((s1.dst_mac, s1.src_mac), (rs_mac(2), MAC1));
    assert_eq!((s1.src, s1.sport, s1.dst, s1.dport, s1.ttl), (CLIENT, 49000, VIP, 80, 63));
    assert_eq!(&f[14 + 20..], &syn[20..], "L4 untouched");
    lab.one(0, &from_client(&tcp(CLIENT, 49000, VIP, 80, ACK, 2, 1, &[])));
    // The handshake's bare ACK is not enough where replies bypass the director (a spoofed
    // SYN then ACK must not take a 900 s entry): data makes it ESTABLISHED.
    assert_eq!(lab.states(), ["SYN_RECV"]);
    assert_eq!(lab.lb().guard_counters().bare_acks_held, 1);
    lab.one(0, &from_client(&tcp(CLIENT, 49000, VIP, 80, ACK | PSH, 2, 1, b"GET /")));
    assert_eq!(lab.states(), ["ESTABLISHED"]);
    assert_eq!(lab.dest_counts(2), (1, 0));
    lab.one(0, &from_client(&tcp(CLIENT, 49000, VIP, 80, FIN | ACK, 2, 1, &[])));
    assert_eq!(lab.states(), ["FIN_WAIT"]);
    assert_eq!(lab.dest_counts(2), (0, 1));
}
