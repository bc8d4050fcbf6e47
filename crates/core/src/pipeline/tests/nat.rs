//! NAT (`-m`): a TCP connection from handshake to close and a UDP exchange, both directions.

use super::common::*;

#[test]
fn nat_tcp_handshake_data_and_close() {
    let mut lab = nat_lab("rr", &[1]);
    let (port, f) = lab.one(0, &from_client(&tcp(CLIENT, 40000, VIP, 80, SYN, 1000, 0, &[])));
    let s = seen(&f);
    assert_eq!(port, 1);
    assert_eq!((s.dst_mac, s.src_mac), (rs_mac(0), MAC1));
    assert_eq!((s.src, s.sport, s.dst, s.dport), (CLIENT, 40000, rs(0), 8080));
    assert_eq!((s.flags, s.seq, s.ttl), (SYN, 1000, 63));
    assert_eq!(lab.states(), ["SYN_RECV"]);
    assert_eq!(lab.dest_counts(0), (0, 1));

    let (port, f) =
        lab.one(1, &from_rs(0, &tcp(rs(0), 8080, CLIENT, 40000, SYN | ACK, 5000, 1001, &[])));
    let s = seen(&f);
    assert_eq!(port, 0);
    assert_eq!((s.dst_mac, s.src_mac), (CLIENT_MAC, MAC0));
    assert_eq!((s.src, s.sport, s.dst, s.dport), (VIP, 80, CLIENT, 40000));
    assert_eq!((s.flags, s.seq, s.ack), (SYN | ACK, 5000, 1001));
    assert_eq!(lab.states(), ["SYN_RECV"]);

    lab.one(0, &from_client(&tcp(CLIENT, 40000, VIP, 80, ACK, 1001, 5001, &[])));
    assert_eq!(lab.states(), ["ESTABLISHED"]);
    assert_eq!(lab.dest_counts(0), (1, 0));

    let (_, f) = lab.one(
        0,
        &from_client(&tcp(
            CLIENT,
            40000,
            VIP,
            80,
            ACK | PSH,
            1001,
            5001,
            b"GET / HTTP/1.0\r\n\r\n",
        )),
    );
    let s = seen(&f);
    assert_eq!(
        (s.dst, s.dport, s.payload.as_slice()),
        (rs(0), 8080, &b"GET / HTTP/1.0\r\n\r\n"[..])
    );
    let (_, f) = lab.one(
        1,
        &from_rs(
            0,
            &tcp(rs(0), 8080, CLIENT, 40000, ACK | PSH, 5001, 1019, b"HTTP/1.0 200 OK\r\n"),
        ),
    );
    let s = seen(&f);
    assert_eq!((s.src, s.sport, s.payload.as_slice()), (VIP, 80, &b"HTTP/1.0 200 OK\r\n"[..]));

    // The client closes first.
    lab.one(0, &from_client(&tcp(CLIENT, 40000, VIP, 80, FIN | ACK, 1019, 5018, &[])));
    assert_eq!(lab.states(), ["CLOSE_WAIT"]);
    assert_eq!(lab.dest_counts(0), (0, 1), "no longer active");
    lab.one(1, &from_rs(0, &tcp(rs(0), 8080, CLIENT, 40000, FIN | ACK, 5018, 1020, &[])));
    assert_eq!(lab.states(), ["TIME_WAIT"]);
    lab.one(0, &from_client(&tcp(CLIENT, 40000, VIP, 80, ACK, 1020, 5019, &[])));
    assert_eq!(lab.states(), ["TIME_WAIT"]);

    let svc = &lab.lb().service_reports()[0];
    assert_eq!((svc.stats.conns, svc.stats.inpkts, svc.stats.outpkts), (1, 5, 3));
    // TIME_WAIT lasts 120 s; then the connection and its count are gone.
    lab.advance(121);
    assert!(lab.states().is_empty());
    assert_eq!(lab.dest_counts(0), (0, 0));
    assert_eq!(lab.lb().conn_count(), 0);
}

#[test]
fn a_syn_on_a_connection_in_time_wait_opens_a_new_one() {
    // As IPVS with its default conn_reuse_mode: the client reuses its port after a close; the
    // new SYN is scheduled again (rr: the other server), the old entry is gone.
    let mut lab = nat_lab("rr", &[1, 1]);
    let c = |flags, seq, ack| from_client(&tcp(CLIENT, 40000, VIP, 80, flags, seq, ack, &[]));
    let r = |flags, seq, ack| from_rs(0, &tcp(rs(0), 8080, CLIENT, 40000, flags, seq, ack, &[]));
    let (_, f) = lab.one(0, &c(SYN, 1000, 0));
    assert_eq!(seen(&f).dst, rs(0));
    lab.one(1, &r(SYN | ACK, 5000, 1001));
    lab.one(0, &c(ACK, 1001, 5001));
    lab.one(0, &c(FIN | ACK, 1001, 5001));
    lab.one(1, &r(FIN | ACK, 5001, 1002));
    lab.one(0, &c(ACK, 1002, 5002));
    assert_eq!(lab.states(), ["TIME_WAIT"]);
    // An ACK in TIME_WAIT still belongs to the old connection.
    lab.one(0, &c(ACK, 1002, 5002));
    assert_eq!(lab.states(), ["TIME_WAIT"]);
    let (_, f) = lab.one(0, &c(SYN, 90_000, 0));
    let s = seen(&f);
    assert_eq!((s.dst, s.flags, s.seq), (rs(1), SYN, 90_000));
    assert_eq!(lab.states(), ["SYN_RECV"]);
    assert_eq!(lab.dest_counts(0), (0, 0), "the old connection is gone");
    assert_eq!(lab.dest_counts(1), (0, 1));
    assert_eq!(lab.lb().service_reports()[0].stats.conns, 2);
}

#[test]
fn nat_udp_exchange() {
    let mut lab = nat_lab("rr", &[1]);
    let (port, f) = lab.one(0, &from_client(&udp(CLIENT, 5000, VIP, 53, b"query")));
    let s = seen(&f);
    assert_eq!(port, 1);
    assert_eq!((s.dst_mac, s.src, s.sport, s.dst, s.dport), (rs_mac(0), CLIENT, 5000, rs(0), 5353));
    assert_eq!(s.payload, b"query");
    let (port, f) = lab.one(1, &from_rs(0, &udp(rs(0), 5353, CLIENT, 5000, b"answer")));
    let s = seen(&f);
    assert_eq!(port, 0);
    assert_eq!((s.dst_mac, s.src, s.sport, s.dst, s.dport), (CLIENT_MAC, VIP, 53, CLIENT, 5000));
    assert_eq!(s.payload, b"answer");
    assert_eq!(lab.states(), ["UDP"]);
    assert_eq!(lab.dest_counts(0), (0, 1), "UDP is never active");
    lab.advance(301);
    assert_eq!(lab.lb().conn_count(), 0);
}
