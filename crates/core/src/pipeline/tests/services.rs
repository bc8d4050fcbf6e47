//! What a virtual service decides for new connections, seen through NAT: scheduling and
//! weights, persistence, one-packet scheduling, no dest, which TCP packets may open a
//! connection, weights and thresholds, removed dests, a full connection table.

use super::common::*;

#[test]
fn rr_alternates_and_wrr_follows_weights() {
    let mut lab = nat_lab("rr", &[1, 1]);
    let picks: Vec<Ipv4Addr> = (0..6)
        .map(|i| {
            seen(&lab.one(0, &from_client(&tcp(CLIENT, 41000 + i, VIP, 80, SYN, 1, 0, &[]))).1).dst
        })
        .collect();
    for w in picks.windows(2) {
        assert_ne!(w[0], w[1], "{picks:?}");
    }
    assert_eq!(lab.dest_counts(0), (0, 3));
    assert_eq!(lab.dest_counts(1), (0, 3));

    let mut lab = nat_lab("wrr", &[3, 1]);
    let mut n = [0; 2];
    for i in 0..8 {
        let d =
            seen(&lab.one(0, &from_client(&tcp(CLIENT, 42000 + i, VIP, 80, SYN, 1, 0, &[]))).1).dst;
        n[usize::from(d == rs(1))] += 1;
    }
    assert_eq!(n, [6, 2]);
}

#[test]
fn persistence_sticks_per_netmask() {
    let mut s = svc(Protocol::Tcp, 0, "rr");
    s.persistence = Some(600);
    s.netmask = Netmask::V4(Ipv4Addr::new(255, 255, 255, 0));
    let d = [dest(0, 0, spec::FwdMethod::Masq, 1), dest(1, 0, spec::FwdMethod::Masq, 1)];
    let mut lab = Lab::new(snapshot(&[(&s, &d)], &[], &[]));
    let first = seen(&lab.one(0, &from_client(&tcp(CLIENT, 43000, VIP, 80, SYN, 1, 0, &[]))).1);
    // Same /24, other ports (a port-0 service takes every port): same dest, port kept.
    for (i, (c, vport)) in
        [(CLIENT, 443u16), (Ipv4Addr::new(10, 0, 0, 51), 80), (Ipv4Addr::new(10, 0, 0, 99), 22)]
            .into_iter()
            .enumerate()
    {
        let f = lab
            .one(0, &eth(MAC0, CLIENT_MAC, &tcp(c, 43001 + i as u16, VIP, vport, SYN, 1, 0, &[])))
            .1;
        let got = seen(&f);
        assert_eq!(got.dst, first.dst);
        assert_eq!(got.dport, vport, "port-0 dest port 0 keeps the client's port");
    }
    let templates: Vec<_> =
        lab.lb().conns_snapshot(lab.now, 100).into_iter().filter(|c| c.template).collect();
    assert_eq!(templates.len(), 1);
    assert_eq!(
        templates[0].client,
        std::net::SocketAddr::new(Ipv4Addr::new(10, 0, 0, 0).into(), 0)
    );
    assert_eq!(lab.lb().counters().templates_created, 1);
    // Another /24 is scheduled on its own: rr moves on to the other dest.
    let other = seen(
        &lab.one(
            0,
            &eth(MAC0, GW_MAC, &tcp(Ipv4Addr::new(10, 9, 9, 9), 1, VIP, 80, SYN, 1, 0, &[])),
        )
        .1,
    );
    assert_ne!(other.dst, first.dst);
}

#[test]
fn one_packet_udp_keeps_no_connection() {
    let mut s = svc(Protocol::Udp, 53, "rr");
    s.one_packet = true;
    let d = [dest(0, 53, spec::FwdMethod::Masq, 1), dest(1, 53, spec::FwdMethod::Masq, 1)];
    let mut lab = Lab::new(snapshot(&[(&s, &d)], &[], &[]));
    let picks: Vec<_> = (0..4)
        .map(|_| seen(&lab.one(0, &from_client(&udp(CLIENT, 5000, VIP, 53, b"q"))).1).dst)
        .collect();
    assert_eq!(picks, [rs(0), rs(1), rs(0), rs(1)], "every datagram scheduled");
    assert_eq!(lab.lb().conn_count(), 0);
    assert_eq!(lab.lb().counters().conns_created, 4);
    assert_eq!(lab.lb().service_reports()[0].stats.conns, 4);
}

#[test]
fn no_dest_resets_tcp_and_drops_udp() {
    let s = svc(Protocol::Tcp, 80, "wlc");
    let u = svc(Protocol::Udp, 53, "wlc");
    let mut lab = Lab::new(snapshot(&[(&s, &[]), (&u, &[])], &[], &[]));
    let (port, f) = lab.one(0, &from_client(&tcp(CLIENT, 44000, VIP, 80, SYN, 7000, 0, b"xy")));
    let r = seen(&f);
    assert_eq!(port, 0);
    assert_eq!((r.dst_mac, r.src_mac), (CLIENT_MAC, MAC0));
    assert_eq!((r.src, r.sport, r.dst, r.dport), (VIP, 80, CLIENT, 44000));
    // RFC 793: no ACK in the offending segment -> seq 0, ACK = seq + SYN + data.
    assert_eq!((r.flags, r.seq, r.ack), (RST | ACK, 0, 7003));
    assert!(r.payload.is_empty() && r.opts.is_empty());
    assert_eq!(lab.drops(R::NoDest), 1);
    assert_eq!(lab.lb().counters().resets_sent, 1);

    assert!(lab.send(0, &from_client(&udp(CLIENT, 5000, VIP, 53, b"q"))).is_empty());
    assert_eq!(lab.drops(R::NoDest), 2);
    assert_eq!(lab.io.drop_reasons(), [DropReason::NoService]);
    assert_eq!(lab.lb().conn_count(), 0);
}

#[test]
fn tcp_needs_a_syn_and_sane_flags_and_unknown_ports_are_no_service() {
    let mut lab = nat_lab("rr", &[1]);
    assert!(lab.send(0, &from_client(&tcp(CLIENT, 1, VIP, 80, ACK, 1, 1, &[]))).is_empty());
    assert!(lab.send(0, &from_client(&tcp(CLIENT, 1, VIP, 80, SYN | ACK, 1, 1, &[]))).is_empty());
    assert_eq!(lab.drops(R::TcpNotSyn), 2);
    assert!(lab.send(0, &from_client(&tcp(CLIENT, 1, VIP, 80, SYN | FIN, 1, 1, &[]))).is_empty());
    assert!(lab.send(0, &from_client(&tcp(CLIENT, 1, VIP, 80, 0, 1, 1, &[]))).is_empty());
    assert_eq!(lab.drops(R::TcpBadFlags), 2);
    assert!(lab.send(0, &from_client(&tcp(CLIENT, 1, VIP, 81, SYN, 1, 1, &[]))).is_empty());
    assert!(lab.send(0, &from_client(&udp(CLIENT, 1, VIP, 54, b"x"))).is_empty());
    assert_eq!(lab.drops(R::NoService), 2);
    // Not addressed to the director and no connection: not the balancer's.
    assert!(lab
        .send(0, &from_client(&tcp(CLIENT, 1, Ipv4Addr::new(10, 0, 0, 9), 80, SYN, 1, 1, &[])))
        .is_empty());
    assert_eq!(lab.p.net_counters().drop_count(DropReason::NotForUs), 1);
    assert_eq!(lab.lb().counters().total_drops(), 6);
    assert_eq!(lab.lb().conn_count(), 0);
}

#[test]
fn weight_zero_takes_no_new_connections_but_existing_continue() {
    let s = svc(Protocol::Tcp, 80, "wlc");
    let mut d = [dest(0, 80, spec::FwdMethod::Masq, 1)];
    let mut lab = Lab::new(snapshot(&[(&s, &d)], &[], &[]));
    lab.one(0, &from_client(&tcp(CLIENT, 45000, VIP, 80, SYN, 1, 0, &[])));
    d[0].weight = 0;
    let now = lab.now;
    lab.p.set_services(snapshot(&[(&s, &d)], &[], &[]), now);
    // New client: no dest (reset).
    let r = seen(&lab.one(0, &from_client(&tcp(CLIENT, 45001, VIP, 80, SYN, 1, 0, &[]))).1);
    assert_eq!(r.flags & RST, RST);
    assert_eq!(lab.drops(R::NoDest), 1);
    // The existing connection goes on to the same dest.
    let s2 = seen(&lab.one(0, &from_client(&tcp(CLIENT, 45000, VIP, 80, ACK, 2, 1, b"more"))).1);
    assert_eq!((s2.dst, s2.payload.as_slice()), (rs(0), &b"more"[..]));
}

#[test]
fn upper_threshold_stops_and_lower_rule_restarts() {
    let s = svc(Protocol::Tcp, 80, "wlc");
    let mut d0 = dest(0, 80, spec::FwdMethod::Masq, 1);
    d0.upper = 2;
    let mut lab = Lab::new(snapshot(&[(&s, &[d0])], &[], &[]));
    for p in [46000u16, 46001] {
        assert_eq!(
            seen(&lab.one(0, &from_client(&tcp(CLIENT, p, VIP, 80, SYN, 1, 0, &[]))).1).dst,
            rs(0)
        );
    }
    let r = seen(&lab.one(0, &from_client(&tcp(CLIENT, 46002, VIP, 80, SYN, 1, 0, &[]))).1);
    assert_eq!((r.src, r.flags & RST), (VIP, RST), "over threshold: no dest");
    assert!(lab.lb().dest_reports()[0].overloaded);
    // SYN_RECV times out after 60 s: both go, 0 * 4 < 2 * 3, the dest takes connections again.
    lab.advance(61);
    assert!(!lab.lb().dest_reports()[0].overloaded);
    assert_eq!(
        seen(&lab.one(0, &from_client(&tcp(CLIENT, 46003, VIP, 80, SYN, 1, 0, &[]))).1).dst,
        rs(0)
    );
}

#[test]
fn removed_dest_keeps_its_connections_until_flushed() {
    let s = svc(Protocol::Tcp, 80, "rr");
    let d = [dest(0, 80, spec::FwdMethod::Masq, 1), dest(1, 80, spec::FwdMethod::Masq, 1)];
    let mut lab = Lab::new(snapshot(&[(&s, &d)], &[], &[]));
    let first = seen(&lab.one(0, &from_client(&tcp(CLIENT, 47000, VIP, 80, SYN, 1, 0, &[]))).1).dst;
    assert_eq!(first, rs(0));
    let now = lab.now;
    lab.p.set_services(snapshot(&[(&s, &d[1..])], &[], &[]), now);
    // Old connection: still to rs(0), both ways.
    assert_eq!(
        seen(&lab.one(0, &from_client(&tcp(CLIENT, 47000, VIP, 80, ACK, 2, 1, b"a"))).1).dst,
        rs(0)
    );
    assert_eq!(
        seen(&lab.one(1, &from_rs(0, &tcp(rs(0), 80, CLIENT, 47000, ACK, 1, 3, b"b"))).1).src,
        VIP
    );
    // New ones: only rs(1).
    for p in 47001..47004 {
        assert_eq!(
            seen(&lab.one(0, &from_client(&tcp(CLIENT, p, VIP, 80, SYN, 1, 0, &[]))).1).dst,
            rs(1)
        );
    }
    let reports = lab.lb().dest_reports();
    let gone = reports.iter().find(|r| r.addr == rs(0)).unwrap();
    assert!(!gone.live);
    assert_eq!(gone.inactive + gone.active, 1);
    // Flushing ends it; its packets are then strangers.
    assert_eq!(lab.p.balancer_mut().unwrap().flush_removed(), 1);
    assert!(lab.send(0, &from_client(&tcp(CLIENT, 47000, VIP, 80, ACK, 3, 1, b"c"))).is_empty());
    assert_eq!(lab.drops(R::TcpNotSyn), 1);
    // The next snapshot forgets the unused slot.
    let now = lab.now;
    lab.p.set_services(snapshot(&[(&s, &d[1..])], &[], &[]), now);
    assert!(lab.lb().dest_reports().iter().all(|r| r.addr != rs(0)));
}

#[test]
fn full_table_is_counted() {
    let s = svc(Protocol::Tcp, 80, "rr");
    let d = [dest(0, 80, spec::FwdMethod::Masq, 1)];
    let cfg = BalancerConfig {
        conn_capacity: 2,
        hash_seed: HashSeed::from_u64(1),
        ..BalancerConfig::new(0, 1)
    };
    let mut lab = Lab::with(cfg, snapshot(&[(&s, &d)], &[], &[]));
    lab.one(0, &from_client(&tcp(CLIENT, 48000, VIP, 80, SYN, 1, 0, &[])));
    lab.one(0, &from_client(&tcp(CLIENT, 48001, VIP, 80, SYN, 1, 0, &[])));
    assert!(lab.send(0, &from_client(&tcp(CLIENT, 48002, VIP, 80, SYN, 1, 0, &[]))).is_empty());
    assert_eq!(lab.drops(R::ConnTableFull), 1);
    assert_eq!(lab.dest_counts(0), (0, 2), "a refused connection is not counted");
}
