//! FULLNAT (`-b`): local addresses and ports stand in for the client; TOA; tuples never shared
//! between services.

use super::common::*;

/// Two FULLNAT services sharing the local address toward the same real server, on one core
/// whose local port range is `lo..=hi`.
fn fullnat_shared_laddr_lab(lo: u16, hi: u16) -> Lab {
    let a = svc(Protocol::Tcp, 80, "rr");
    let b = svc(Protocol::Tcp, 81, "rr");
    let d = [dest(0, 8080, spec::FwdMethod::FullNat, 1)];
    let cfg = BalancerConfig {
        conn_capacity: 64,
        hash_seed: HashSeed::from_u64(5),
        local_ports: crate::ipvs::laddr::PortRange::new(lo, hi).unwrap(),
        ..BalancerConfig::new(0, 1)
    };
    Lab::with(cfg, snapshot(&[(&a, &d), (&b, &d)], &[laddr(&a, LADDR), laddr(&b, LADDR)], &[]))
}

#[test]
fn fullnat_services_sharing_a_local_address_never_share_a_tuple() {
    let mut lab = fullnat_shared_laddr_lab(5000, 5999);
    let mut tuples = std::collections::HashSet::new();
    // Interleaved and in runs: every connection gets its own (laddr, lport) toward the dest.
    for (i, vport) in [80, 81, 81, 80, 80, 81, 81, 81].into_iter().enumerate() {
        let cport = 42000 + i as u16;
        let out = lab.send(0, &from_client(&tcp(CLIENT, cport, VIP, vport, SYN, 1, 0, &[])));
        assert_eq!(out.len(), 1, "SYN {i} forwarded; dropped {:?}", lab.io.drop_reasons());
        let s = seen(&out[0].1);
        assert_eq!((s.src, s.dst, s.dport), (LADDR, rs(0), 8080));
        assert!(tuples.insert(s.sport), "local port {} handed out twice", s.sport);
    }
    assert_eq!(lab.drops(R::ConnConflict), 0);
    assert!(lab.lb().counters().local_port_conflicts > 0, "the shared ports were stepped over");
}

#[test]
fn fullnat_shared_tuple_search_is_bounded() {
    // Four ports: service 80 takes them all; service 81 finds each held, gives up after a
    // bounded search, and counts a conflict instead of looping.
    let mut lab = fullnat_shared_laddr_lab(5000, 5003);
    for cport in 43000..43004 {
        lab.one(0, &from_client(&tcp(CLIENT, cport, VIP, 80, SYN, 1, 0, &[])));
    }
    assert!(lab.send(0, &from_client(&tcp(CLIENT, 43010, VIP, 81, SYN, 1, 0, &[]))).is_empty());
    assert_eq!(lab.drops(R::ConnConflict), 1);
    // Its ports went back: once service 80's connections end, service 81 gets one.
    lab.advance(200);
    let (_, f) = lab.one(0, &from_client(&tcp(CLIENT, 43011, VIP, 81, SYN, 1, 0, &[])));
    assert_eq!(seen(&f).src, LADDR);
}

#[test]
fn fullnat_tcp_with_toa() {
    let mut lab = fullnat_lab(None);
    let (port, f) = lab.one(0, &from_client(&tcp(CLIENT, 51000, VIP, 80, SYN, 100, 0, &[])));
    let s = seen(&f);
    assert_eq!(port, 1);
    assert_eq!((s.dst_mac, s.src, s.dst, s.dport), (rs_mac(0), LADDR, rs(0), 8080));
    let lport = s.sport;
    assert!(lport >= 1024);
    assert!(s.opts.is_empty(), "no TOA on a SYN");
    let info = &lab.lb().conns_snapshot(lab.now, 10)[0];
    assert_eq!(info.local, Some(std::net::SocketAddr::new(LADDR.into(), lport)));

    let (port, f) =
        lab.one(1, &from_rs(0, &tcp(rs(0), 8080, LADDR, lport, SYN | ACK, 700, 101, &[])));
    let r = seen(&f);
    assert_eq!(port, 0);
    assert_eq!((r.dst_mac, r.src, r.sport, r.dst, r.dport), (CLIENT_MAC, VIP, 80, CLIENT, 51000));
    assert_eq!((r.flags, r.seq, r.ack), (SYN | ACK, 700, 101));
    let mut want = vec![254, 8];
    want.extend_from_slice(&51000u16.to_be_bytes());
    want.extend_from_slice(&CLIENT.octets());
    // The handshake's last ACK carries TOA (real servers' TOA modules read it there).
    let (_, f) = lab.one(0, &from_client(&tcp(CLIENT, 51000, VIP, 80, ACK, 101, 701, &[])));
    assert_eq!(seen(&f).opts, want);
    assert_eq!(lab.states(), ["ESTABLISHED"]);

    // First data segment: TOA carries the client's address and port again.
    let (_, f) =
        lab.one(0, &from_client(&tcp(CLIENT, 51000, VIP, 80, ACK | PSH, 101, 701, b"data")));
    let s = seen(&f);
    assert_eq!(s.opts, want);
    assert_eq!((s.src, s.sport, s.payload.as_slice()), (LADDR, lport, &b"data"[..]));
    // Then no more.
    let (_, f) =
        lab.one(0, &from_client(&tcp(CLIENT, 51000, VIP, 80, ACK | PSH, 105, 701, b"more")));
    assert!(seen(&f).opts.is_empty());
    let (_, f) =
        lab.one(1, &from_rs(0, &tcp(rs(0), 8080, LADDR, lport, ACK | PSH, 701, 109, b"resp")));
    assert_eq!(seen(&f).payload, b"resp");

    lab.one(1, &from_rs(0, &tcp(rs(0), 8080, LADDR, lport, FIN | ACK, 705, 109, &[])));
    assert_eq!(lab.states(), ["FIN_WAIT"]);
    lab.one(0, &from_client(&tcp(CLIENT, 51000, VIP, 80, FIN | ACK, 109, 706, &[])));
    assert_eq!(lab.states(), ["TIME_WAIT"]);
    assert_eq!(lab.dest_counts(0), (0, 1));
}

#[test]
fn fullnat_udp_and_local_ports_come_back_when_connections_end() {
    // One local port in all.
    let mut lab = fullnat_lab(Some((5000, 5000)));
    let (_, f) = lab.one(0, &from_client(&udp(CLIENT, 6000, VIP, 53, b"q")));
    let s = seen(&f);
    assert_eq!((s.src, s.sport, s.dst, s.dport), (LADDR, 5000, rs(0), 5353));
    let (_, f) = lab.one(1, &from_rs(0, &udp(rs(0), 5353, LADDR, 5000, b"a")));
    let r = seen(&f);
    assert_eq!(
        (r.src, r.sport, r.dst, r.dport, r.payload.as_slice()),
        (VIP, 53, CLIENT, 6000, &b"a"[..])
    );
    // A second client finds the port taken.
    assert!(lab.send(0, &from_client(&udp(CLIENT, 6001, VIP, 53, b"q"))).is_empty());
    assert_eq!(lab.drops(R::LaddrExhausted), 1);
    // The pool reports the port in use, the miss and the refusal.
    let pools = lab.lb().pool_reports();
    let l = pools.laddrs.iter().find(|l| l.addr == LADDR && l.in_use == 1).expect("laddr");
    assert_eq!((l.allocs, l.misses), (1, 1));
    assert!(matches!(l.owner, crate::ipvs::balancer::PoolOwner::Service(k) if k.port == 53));
    let ex: u64 = pools.exhausted.iter().filter(|x| x.owner == l.owner).map(|x| x.exhausted).sum();
    assert_eq!(ex, 1);
    // The first flow times out and gives its port back.
    lab.advance(301);
    let (_, f) = lab.one(0, &from_client(&udp(CLIENT, 6001, VIP, 53, b"q")));
    assert_eq!(seen(&f).sport, 5000);
}
