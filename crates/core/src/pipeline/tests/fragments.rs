//! IPv4 fragments through every forwarding mode: a datagram split into fragments goes
//! client -> real server; the frames that come out are reassembled here (independently of the
//! code under test) and the whole datagram is checked, checksums from scratch. Later fragments
//! that come first, or find no room, are dropped and counted.

use super::common::*;

/// Splits the IPv4 datagram `ip` (20-byte header) into fragments whose payloads are `chunk`
/// bytes (a multiple of 8) but the last; header fields as RFC 791 has them.
fn fragment(ip: &[u8], chunk: usize) -> Vec<Vec<u8>> {
    assert_eq!(ip[0], 0x45);
    assert_eq!(chunk % 8, 0);
    let payload = &ip[20..];
    let mut out = Vec::new();
    let mut off = 0;
    while off < payload.len() {
        let end = (off + chunk).min(payload.len());
        let mut f = ip[..20].to_vec();
        f.extend_from_slice(&payload[off..end]);
        let total = f.len() as u16;
        f[2..4].copy_from_slice(&total.to_be_bytes());
        let mf = if end < payload.len() { 0x2000u16 } else { 0 };
        f[6..8].copy_from_slice(&(mf | (off / 8) as u16).to_be_bytes()); // DF clear
        f[10..12].fill(0);
        let c = naive_checksum(&f[..20]);
        f[10..12].copy_from_slice(&c.to_be_bytes());
        out.push(f);
        off = end;
    }
    out
}

/// Reassembles fragments (from their IPv4 header on, any order) into the whole datagram:
/// checks each fragment's header checksum and that they agree on the datagram's identity.
fn reassemble(frags: &[Vec<u8>]) -> Vec<u8> {
    let mut parts: Vec<(usize, bool, &[u8])> = Vec::new();
    for f in frags {
        assert_eq!(naive_checksum(&f[..20]), 0, "fragment header checksum");
        assert_eq!(usize::from(u16::from_be_bytes([f[2], f[3]])), f.len());
        assert_eq!((&f[4..6], f[9], &f[12..20]), (&frags[0][4..6], frags[0][9], &frags[0][12..20]));
        let fo = u16::from_be_bytes([f[6], f[7]]);
        parts.push((usize::from(fo & 0x1fff) * 8, fo & 0x2000 != 0, &f[20..]));
    }
    parts.sort_by_key(|p| p.0);
    let mut payload = Vec::new();
    for (i, (off, mf, bytes)) in parts.iter().enumerate() {
        assert_eq!(*off, payload.len(), "no hole, no overlap");
        assert_eq!(*mf, i + 1 < parts.len(), "MF on all but the last");
        payload.extend_from_slice(bytes);
    }
    let mut ip = frags[0][..20].to_vec();
    ip.extend_from_slice(&payload);
    let total = ip.len() as u16;
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip[6..8].fill(0);
    ip[10..12].fill(0);
    let c = naive_checksum(&ip[..20]);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    ip
}

fn data_block(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + 3) as u8).collect()
}

/// Sends `frags` (IPv4 datagram fragments) in a frame each on `port` from `src_mac`; returns
/// what came out, every fragment on `out_port`.
fn send_frags(
    lab: &mut Lab,
    port: u16,
    src_mac: MacAddr,
    frags: &[Vec<u8>],
    out_port: u16,
) -> Vec<Vec<u8>> {
    let dst_mac = if port == 0 { MAC0 } else { MAC1 };
    let mut out = Vec::new();
    for f in frags {
        let (p, frame) = lab.one(port, &eth(dst_mac, src_mac, f));
        assert_eq!(p, out_port);
        out.push(frame);
    }
    out
}

/// The whole datagram seen on the real server's side, as `seen` reads it.
fn whole(frames: &[Vec<u8>], strip_outer: usize) -> Seen {
    let frags: Vec<Vec<u8>> = frames.iter().map(|f| f[14 + strip_outer..].to_vec()).collect();
    let ip = reassemble(&frags);
    seen(&eth(MacAddr([0; 6]), MacAddr([0; 6]), &ip))
}

#[test]
fn nat_udp_datagram_in_fragments_reaches_the_real_server_whole() {
    let mut lab = nat_lab("rr", &[1]);
    let payload = data_block(1200);
    let frags = fragment(&udp(CLIENT, 5000, VIP, 53, &payload), 400);
    assert_eq!(frags.len(), 4);
    let out = send_frags(&mut lab, 0, CLIENT_MAC, &frags, 1);
    for f in &out {
        assert_eq!((mac(&f[0..6]), f[14 + 8]), (rs_mac(0), 63), "to the RS's MAC, TTL - 1");
        assert_eq!(&f[14 + 16..14 + 20], &rs(0).octets(), "every fragment's destination");
    }
    let s = whole(&out, 0);
    assert_eq!((s.src, s.sport, s.dst, s.dport), (CLIENT, 5000, rs(0), 5353));
    assert_eq!(s.payload, payload);
    assert_eq!(lab.lb().counters().frags_followed, 3);
    assert_eq!(lab.lb().conn_count(), 1);

    // The real server's reply in fragments goes back to the client from the VIP.
    let reply = data_block(900);
    let frags = fragment(&udp(rs(0), 5353, CLIENT, 5000, &reply), 512);
    let out = send_frags(&mut lab, 1, rs_mac(0), &frags, 0);
    let s = whole(&out, 0);
    assert_eq!((s.src, s.sport, s.dst, s.dport), (VIP, 53, CLIENT, 5000));
    assert_eq!(s.payload, reply);
}

#[test]
fn nat_tcp_segment_in_fragments_keeps_its_checksum() {
    let mut lab = nat_lab("rr", &[1]);
    lab.one(0, &from_client(&tcp(CLIENT, 40000, VIP, 80, SYN, 1000, 0, &[])));
    lab.one(1, &from_rs(0, &tcp(rs(0), 8080, CLIENT, 40000, SYN | ACK, 5000, 1001, &[])));
    let payload = data_block(1000);
    let seg = tcp(CLIENT, 40000, VIP, 80, ACK | PSH, 1001, 5001, &payload);
    let out = send_frags(&mut lab, 0, CLIENT_MAC, &fragment(&seg, 304), 1);
    let s = whole(&out, 0);
    assert_eq!((s.src, s.sport, s.dst, s.dport, s.seq), (CLIENT, 40000, rs(0), 8080, 1001));
    assert_eq!(s.payload, payload);
    assert_eq!(lab.states(), ["ESTABLISHED"]);
}

#[test]
fn dr_fragments_go_unchanged_to_the_real_servers_mac() {
    let u = svc(Protocol::Udp, 53, "rr");
    let d = [dest(2, 53, spec::FwdMethod::Route, 1)];
    let mut lab = Lab::new(snapshot(&[(&u, &d)], &[], &[]));
    let payload = data_block(700);
    let dgram = udp(CLIENT, 5001, VIP, 53, &payload);
    let frags = fragment(&dgram, 256);
    let out = send_frags(&mut lab, 0, CLIENT_MAC, &frags, 1);
    for (f, orig) in out.iter().zip(&frags) {
        assert_eq!(mac(&f[0..6]), rs_mac(2));
        assert_eq!(&f[14 + 20..], &orig[20..], "payload bytes untouched");
    }
    let s = whole(&out, 0);
    assert_eq!((s.src, s.sport, s.dst, s.dport, s.ttl), (CLIENT, 5001, VIP, 53, 63));
    assert_eq!(s.payload, payload);
}

#[test]
fn tun_encapsulates_each_fragment() {
    let u = svc(Protocol::Udp, 53, "rr");
    let d = [dest(3, 53, spec::FwdMethod::Tunnel, 1)];
    let mut lab = Lab::new(snapshot(&[(&u, &d)], &[], &[]));
    let payload = data_block(1100);
    let out = send_frags(
        &mut lab,
        0,
        CLIENT_MAC,
        &fragment(&udp(CLIENT, 5002, VIP, 53, &payload), 512),
        1,
    );
    assert_eq!(out.len(), 3);
    for f in &out {
        let outer = &f[14..34];
        assert_eq!(naive_checksum(outer), 0);
        assert_eq!((outer[9], &outer[16..20]), (4, &rs(3).octets()[..]), "IPIP to the RS");
        assert_eq!(mac(&f[0..6]), rs_mac(3));
    }
    let s = whole(&out, 20);
    assert_eq!((s.src, s.sport, s.dst, s.dport), (CLIENT, 5002, VIP, 53));
    assert_eq!(s.payload, payload);
}

#[test]
fn fullnat_fragments_take_the_local_address() {
    let mut lab = fullnat_lab(None);
    let payload = data_block(1000);
    let out = send_frags(
        &mut lab,
        0,
        CLIENT_MAC,
        &fragment(&udp(CLIENT, 5003, VIP, 53, &payload), 328),
        1,
    );
    for f in &out {
        assert_eq!(&f[14 + 12..14 + 16], &LADDR.octets(), "every fragment from the local address");
    }
    let s = whole(&out, 0);
    assert_eq!((s.src, s.dst, s.dport), (LADDR, rs(0), 5353));
    assert_eq!(s.payload, payload);
    // The reply in fragments: back to the client from the VIP.
    let lport = s.sport;
    let reply = data_block(600);
    let frags = fragment(&udp(rs(0), 5353, LADDR, lport, &reply), 200);
    let out = send_frags(&mut lab, 1, rs_mac(0), &frags, 0);
    let r = whole(&out, 0);
    assert_eq!((r.src, r.sport, r.dst, r.dport), (VIP, 53, CLIENT, 5003));
    assert_eq!(r.payload, reply);
}

#[test]
fn snat_fragments_leave_from_the_wan_address() {
    let rule = spec::SnatRule {
        src: Some(spec::AddrRange { first: INSIDE.into(), last: INSIDE.into() }),
        dst: None,
        proto: spec::SnatProto::Any,
        out_addr: WAN.into(),
        synproxy: false,
    };
    let mut lab = Lab::new(snapshot(&[], &[], &[rule]));
    let payload = data_block(800);
    let out = send_frags(
        &mut lab,
        1,
        rs_mac(50),
        &fragment(&udp(INSIDE, 33001, OUTSIDE, 53, &payload), 256),
        0,
    );
    for f in &out {
        assert_eq!(mac(&f[0..6]), GW_MAC);
    }
    let s = whole(&out, 0);
    assert_eq!((s.src, s.dst, s.dport), (WAN, OUTSIDE, 53));
    assert_eq!(s.payload, payload);
    let wport = s.sport;
    let reply = data_block(500);
    let out =
        send_frags(&mut lab, 0, GW_MAC, &fragment(&udp(OUTSIDE, 53, WAN, wport, &reply), 160), 1);
    let r = whole(&out, 0);
    assert_eq!((r.src, r.dst, r.dport), (OUTSIDE, INSIDE, 33001));
    assert_eq!(r.payload, reply);
}

#[test]
fn out_of_order_and_unknown_fragments_are_counted() {
    let mut lab = nat_lab("rr", &[1]);
    let payload = data_block(1200);
    let frags = fragment(&udp(CLIENT, 5000, VIP, 53, &payload), 400);
    // The last fragment before the first: dropped, counted; the others follow the first.
    assert!(lab.send(0, &from_client(&frags[3])).is_empty());
    assert_eq!(lab.drops(R::FragUnmatched), 1);
    for f in &frags[..3] {
        assert_eq!(lab.send(0, &from_client(f)).len(), 1);
    }
    // After the entry's lifetime, a late fragment is unmatched too.
    lab.advance(3);
    assert!(lab.send(0, &from_client(&frags[3])).is_empty());
    assert_eq!(lab.drops(R::FragUnmatched), 2);
    assert_eq!(lab.lb().counters().frags_followed, 2);
    // A first fragment too short for the UDP header is bad_l4.
    let mut short = frags[0][..24].to_vec();
    short[2..4].copy_from_slice(&24u16.to_be_bytes());
    short[10..12].fill(0);
    let c = naive_checksum(&short[..20]);
    short[10..12].copy_from_slice(&c.to_be_bytes());
    assert!(lab.send(0, &from_client(&short)).is_empty());
    assert_eq!(lab.drops(R::BadL4), 1);
}

#[test]
fn a_full_table_drops_first_fragments() {
    let cfg = BalancerConfig {
        conn_capacity: 64,
        hash_seed: HashSeed::from_u64(7),
        frag_capacity: 1,
        ..BalancerConfig::new(0, 1)
    };
    let u = svc(Protocol::Udp, 53, "rr");
    let d = [dest(0, 5353, spec::FwdMethod::Masq, 1)];
    let mut lab = Lab::with(cfg, snapshot(&[(&u, &d)], &[], &[]));
    let a = fragment(&udp(CLIENT, 5000, VIP, 53, &data_block(600)), 304);
    let mut b_ip = udp(CLIENT, 5001, VIP, 53, &data_block(600));
    b_ip[4..6].copy_from_slice(&[0x43, 0x21]); // another IP id
    b_ip[10..12].fill(0);
    let c = naive_checksum(&b_ip[..20]);
    b_ip[10..12].copy_from_slice(&c.to_be_bytes());
    let b = fragment(&b_ip, 304);
    assert_eq!(lab.send(0, &from_client(&a[0])).len(), 1);
    assert!(lab.send(0, &from_client(&b[0])).is_empty(), "no room for a second datagram");
    assert_eq!(lab.drops(R::FragTableFull), 1);
    assert!(lab.send(0, &from_client(&b[1])).is_empty());
    assert_eq!(lab.drops(R::FragUnmatched), 1);
    assert_eq!(lab.send(0, &from_client(&a[1])).len(), 1);
}
