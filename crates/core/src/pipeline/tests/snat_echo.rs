//! Inside hosts ping outside addresses through a SNAT rule: the echo identifier is translated
//! like a port (from the rule's per-core pool) and the reply finds its way back; ICMP errors
//! about the translated request reach the host. Checksums are checked from scratch here.

use super::common::*;

fn rule(proto: spec::SnatProto) -> spec::SnatRule {
    spec::SnatRule {
        src: Some(spec::AddrRange { first: INSIDE.into(), last: INSIDE.into() }),
        dst: None,
        proto,
        out_addr: WAN.into(),
        synproxy: false,
    }
}

fn echo(src: Ipv4Addr, dst: Ipv4Addr, request: bool, id: u16, seq: u16, data: &[u8]) -> Vec<u8> {
    let mut m = vec![if request { 8 } else { 0 }, 0, 0, 0];
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(data);
    let c = naive_checksum(&m);
    m[2..4].copy_from_slice(&c.to_be_bytes());
    ipv4(src, dst, 1, &m)
}

/// A transmitted echo: (dst MAC, src, dst, ttl, type, id, seq, data), every checksum verified.
fn seen_echo(f: &[u8]) -> (MacAddr, Ipv4Addr, Ipv4Addr, u8, u8, u16, u16, Vec<u8>) {
    assert_eq!(&f[12..14], &[8, 0]);
    let ip = &f[14..];
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    assert_eq!(naive_checksum(&ip[..20]), 0, "IPv4 header checksum");
    assert_eq!(ip[9], 1);
    let m = &ip[20..total];
    assert_eq!(naive_checksum(m), 0, "ICMP checksum");
    (
        mac(&f[0..6]),
        Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]),
        Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]),
        ip[8],
        m[0],
        u16::from_be_bytes([m[4], m[5]]),
        u16::from_be_bytes([m[6], m[7]]),
        m[8..].to_vec(),
    )
}

fn from_inside(ip: &[u8]) -> Vec<u8> {
    eth(MAC1, rs_mac(50), ip)
}
fn from_outside(ip: &[u8]) -> Vec<u8> {
    eth(MAC0, GW_MAC, ip)
}

#[test]
fn ping_through_snat_request_and_reply() {
    for proto in [spec::SnatProto::Any, spec::SnatProto::Icmp] {
        let mut lab = Lab::new(snapshot(&[], &[], &[rule(proto)]));
        let mut wid = None;
        for seq in 1..=3u16 {
            let (port, f) =
                lab.one(1, &from_inside(&echo(INSIDE, OUTSIDE, true, 0x1234, seq, b"ping!")));
            let (dmac, src, dst, ttl, ty, id, s, data) = seen_echo(&f);
            assert_eq!(port, 0);
            assert_eq!((dmac, src, dst, ttl, ty, s), (GW_MAC, WAN, OUTSIDE, 63, 8, seq));
            assert_eq!(data, b"ping!");
            // One flow: the same translated identifier for every request of the session.
            assert_eq!(*wid.get_or_insert(id), id);
            let (port, f) =
                lab.one(0, &from_outside(&echo(OUTSIDE, WAN, false, id, seq, b"ping!")));
            let (dmac, src, dst, ttl, ty, id, s, data) = seen_echo(&f);
            assert_eq!(port, 1);
            assert_eq!(
                (dmac, src, dst, ttl, ty, id, s),
                (rs_mac(50), OUTSIDE, INSIDE, 63, 0, 0x1234, seq)
            );
            assert_eq!(data, b"ping!");
        }
        let conns = lab.lb().conns_snapshot(lab.now, 10);
        assert_eq!(conns.len(), 1);
        assert_eq!(conns[0].proto_name(), "ICMP");
        // A reply nobody asked for is dropped (the WAN address is the director's).
        let stray = wid.unwrap().wrapping_add(1);
        assert!(lab.send(0, &from_outside(&echo(OUTSIDE, WAN, false, stray, 1, b"x"))).is_empty());
        assert_eq!(lab.drops(R::IcmpNoConn), 1);
    }
}

#[test]
fn two_hosts_with_the_same_identifier_get_different_ones_outside() {
    let r = spec::SnatRule { src: None, ..rule(spec::SnatProto::Icmp) };
    let mut lab = Lab::new(snapshot(&[], &[], &[r]));
    let other = Ipv4Addr::new(192, 168, 1, 13); // rs(3), a static neighbour on port 1
    let (_, a) = lab.one(1, &from_inside(&echo(INSIDE, OUTSIDE, true, 7, 1, b"a")));
    let (_, b) = lab.one(1, &eth(MAC1, rs_mac(3), &echo(other, OUTSIDE, true, 7, 1, b"b")));
    let (ida, idb) = (seen_echo(&a).5, seen_echo(&b).5);
    assert_ne!(ida, idb);
    let (_, f) = lab.one(0, &from_outside(&echo(OUTSIDE, WAN, false, idb, 1, b"b")));
    let e = seen_echo(&f);
    assert_eq!((e.0, e.2, e.5), (rs_mac(3), other, 7));
    let (_, f) = lab.one(0, &from_outside(&echo(OUTSIDE, WAN, false, ida, 1, b"a")));
    let e = seen_echo(&f);
    assert_eq!((e.0, e.2, e.5), (rs_mac(50), INSIDE, 7));
}

#[test]
fn a_tcp_only_rule_does_not_take_pings_and_expiry_frees_the_identifier() {
    let mut lab = Lab::new(snapshot(&[], &[], &[rule(spec::SnatProto::Tcp)]));
    assert!(lab.send(1, &from_inside(&echo(INSIDE, OUTSIDE, true, 1, 1, b"x"))).is_empty());
    assert_eq!(lab.lb().conn_count(), 0);

    let mut lab = Lab::new(snapshot(&[], &[], &[rule(spec::SnatProto::Icmp)]));
    lab.one(1, &from_inside(&echo(INSIDE, OUTSIDE, true, 1, 1, b"x")));
    assert_eq!(lab.lb().conn_count(), 1);
    lab.advance(301); // the UDP timeout
    assert_eq!(lab.lb().conn_count(), 0, "expired, identifier given back");
}

#[test]
fn time_exceeded_about_a_translated_ping_reaches_the_host() {
    let mut lab = Lab::new(snapshot(&[], &[], &[rule(spec::SnatProto::Any)]));
    let (_, f) = lab.one(1, &from_inside(&echo(INSIDE, OUTSIDE, true, 0x4242, 9, b"ttl")));
    let sent_ip = f[14..].to_vec();
    let wid = seen_echo(&f).5;
    let router = Ipv4Addr::new(203, 0, 113, 9);
    let (port, out) = lab.one(0, &from_outside(&icmp_error(router, WAN, 11, 0, [0; 4], &sent_ip)));
    assert_eq!(port, 1);
    let ip = &out[14..];
    assert_eq!(naive_checksum(&ip[..20]), 0);
    assert_eq!(&ip[16..20], &INSIDE.octets(), "to the host");
    let m = &ip[20..];
    assert_eq!(naive_checksum(m), 0, "ICMP checksum");
    assert_eq!(m[0], 11);
    let q = &m[8..];
    assert_eq!(&q[12..16], &INSIDE.octets(), "quoted source is the host again");
    assert_eq!(naive_checksum(&q[..20]), 0, "quoted header checksum");
    assert_eq!(u16::from_be_bytes([q[24], q[25]]), 0x4242, "quoted identifier is the host's");
    assert_ne!(wid, 0x4242);
}
