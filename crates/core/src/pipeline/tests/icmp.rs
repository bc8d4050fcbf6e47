//! ICMP errors: TTL expiry answered with time exceeded, and errors about a connection
//! translated both ways.

use super::common::*;

#[test]
fn ttl_expiry_sends_time_exceeded() {
    let mut lab = nat_lab("rr", &[1]);
    let mut ip = udp(CLIENT, 5000, VIP, 53, b"q");
    ip[8] = 1;
    ip[10..12].fill(0);
    let c = naive_checksum(&ip[..20]);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    let (port, f) = lab.one(0, &from_client(&ip));
    assert_eq!(port, 0);
    assert_eq!(f[14 + 9], 1, "ICMP");
    assert_eq!((f[34], f[35]), (11, 0), "time exceeded in transit");
    assert_eq!(&f[30..34], &CLIENT.octets());
    assert_eq!(&f[42..], &ip[..28], "quotes the header and 8 bytes");
    assert_eq!(lab.drops(R::Ttl), 1);
}

/// A transmitted ICMP error: outer addresses and the quoted addresses and ports, checksums
/// (outer IPv4, ICMP, quoted IPv4) verified from scratch.
fn seen_icmp(f: &[u8]) -> (Ipv4Addr, Ipv4Addr, (Ipv4Addr, u16), (Ipv4Addr, u16)) {
    let ip = &f[14..];
    assert_eq!(ip[9], 1);
    assert_eq!(naive_checksum(&ip[..20]), 0, "outer IPv4 checksum");
    assert_eq!(naive_checksum(&ip[20..]), 0, "ICMP checksum");
    let q = &ip[28..];
    assert_eq!(naive_checksum(&q[..20]), 0, "quoted IPv4 checksum");
    let a = |b: &[u8]| Ipv4Addr::new(b[0], b[1], b[2], b[3]);
    let p = |b: &[u8]| u16::from_be_bytes([b[0], b[1]]);
    (a(&ip[12..16]), a(&ip[16..20]), (a(&q[12..16]), p(&q[20..22])), (a(&q[16..20]), p(&q[22..24])))
}

#[test]
fn icmp_errors_about_a_connection_are_translated_both_ways() {
    let mut lab = nat_lab("rr", &[1]);
    let req = udp(CLIENT, 5000, VIP, 53, b"query");
    let (_, f) = lab.one(0, &from_client(&req));
    let to_rs = f[14..].to_vec();
    // A router on the server side says the RS is unreachable, to the client, about it.
    let router = Ipv4Addr::new(192, 168, 1, 254);
    let err = icmp_error(router, CLIENT, 3, 1, [0; 4], &to_rs);
    let (port, f) = lab.one(1, &from_rs(0, &err));
    assert_eq!(port, 0);
    let (src, dst, qsrc, qdst) = seen_icmp(&f);
    assert_eq!((src, dst), (VIP, CLIENT), "outer source becomes the VIP");
    assert_eq!((qsrc, qdst), ((CLIENT, 5000), (VIP, 53)), "quotes what the client sent");
    // The client says its port is unreachable, about the reply it got from the VIP.
    let reply = lab.one(1, &from_rs(0, &udp(rs(0), 5353, CLIENT, 5000, b"answer"))).1;
    let err = icmp_error(CLIENT, VIP, 3, 3, [0; 4], &reply[14..]);
    let (port, f) = lab.one(0, &from_client(&err));
    assert_eq!(port, 1);
    let (src, dst, qsrc, qdst) = seen_icmp(&f);
    assert_eq!((src, dst), (CLIENT, rs(0)));
    assert_eq!((qsrc, qdst), ((rs(0), 5353), (CLIENT, 5000)), "quotes what the RS sent");
    assert_eq!(lab.lb().counters().icmp_forwarded, 2);
    // About no connection: dropped when sent to the VIP, not ours otherwise.
    let stray = udp(VIP, 53, CLIENT, 9999, b"x");
    assert!(lab.send(0, &from_client(&icmp_error(CLIENT, VIP, 3, 3, [0; 4], &stray))).is_empty());
    assert_eq!(lab.drops(R::IcmpNoConn), 1);
    // Not an error (timestamp request) to the VIP.
    assert!(lab
        .send(0, &from_client(&ipv4(CLIENT, VIP, 1, &[13, 0, 0xf2, 0xff, 0, 0, 0, 0])))
        .is_empty());
    assert_eq!(lab.drops(R::IcmpUnsupported), 1);
}
