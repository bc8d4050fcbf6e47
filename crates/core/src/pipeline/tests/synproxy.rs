//! The SYN proxy through the whole pipeline: cookie SYN-ACKs, the server handshake opened on a
//! valid ACK, sequence/SACK/timestamp translation both ways, and what it refuses; NAT and
//! FULLNAT.

use super::common::*;
use super::synproxy_segs::*;

fn proxied_lab(fwd: spec::FwdMethod) -> Lab {
    let mut s = svc(Protocol::Tcp, 80, "rr");
    s.synproxy = true;
    let d = [dest(0, 8080, fwd, 1)];
    let cfg = BalancerConfig {
        conn_capacity: 64,
        hash_seed: HashSeed::from_u64(11),
        ..BalancerConfig::new(0, 1)
    };
    let la = if fwd == spec::FwdMethod::FullNat { vec![laddr(&s, LADDR)] } else { vec![] };
    Lab::with(cfg, snapshot(&[(&s, &d)], &la, &[]))
}

const C: (Ipv4Addr, u16) = (CLIENT, 40000);
const V: (Ipv4Addr, u16) = (VIP, 80);
const CISN: u32 = 0xffff_fff0; // the client's ISN: its sequence numbers wrap during the test

/// The client's SYN; returns the director's SYN-ACK.
fn cookie_synack(lab: &mut Lab) -> Seen {
    let conns = lab.lb().conn_count();
    let (port, f) =
        lab.one(0, &from_client(&seg(C, V, SYN, CISN, 0, 64240, &syn_opts(1460, 1000, 7), &[])));
    assert_eq!(port, 0, "answered to the client");
    assert_eq!(lab.lb().conn_count(), conns, "a SYN creates no connection");
    seen(&f)
}

/// The full handshake; returns (cookie ISN, cookie TSval, the server-side frame of the SYN).
fn handshake(lab: &mut Lab, data: &[u8]) -> (u32, u32, Seen) {
    let sa = cookie_synack(lab);
    assert_eq!((sa.src, sa.sport, sa.dst, sa.dport), (VIP, 80, CLIENT, 40000));
    assert_eq!((sa.flags, sa.ack), (SYN | ACK, CISN.wrapping_add(1)));
    let cookie = sa.seq;
    let (our_ts, ecr) = ts_of(&sa);
    assert_eq!(ecr, 1000, "the client's TSval echoed");
    assert_eq!(our_ts & 0x3f, 0x10 | 7, "window scale 7 and SACK in the TSval's low bits");
    assert_eq!(opt(&sa, 2), Some(1460u16.to_be_bytes().to_vec()), "MSS");
    assert_eq!(opt(&sa, 4), Some(vec![]), "SACK permitted");
    assert_eq!(opt(&sa, 3), Some(vec![7]), "the director's window scale");
    // The third ACK (with data) opens the connection toward the real server.
    let ack = cookie_ack(C, V, CISN, Cookie::of(&sa), 1001, ACK | PSH, data);
    let (port, f) = lab.one(0, &from_client(&ack));
    assert_eq!(port, 1);
    let syn = seen(&f);
    assert_eq!((syn.flags, syn.seq, syn.ack), (SYN, CISN, 0));
    assert!(syn.payload.is_empty(), "data is held, not sent with the SYN");
    assert_eq!(opt(&syn, 2), Some(1460u16.to_be_bytes().to_vec()), "the client's MSS class");
    assert_eq!(opt(&syn, 4), Some(vec![]), "the client's SACK-permitted");
    assert_eq!(opt(&syn, 3), Some(vec![7]), "the client's window scale");
    assert_eq!(ts_of(&syn), (1001, 0), "the client's timestamp");
    assert_eq!(lab.lb().conn_count(), 1);
    assert_eq!(lab.lb().counters().synproxy.ack_valid, 1);
    (cookie, our_ts, syn)
}

fn run_proxied_connection(fwd: spec::FwdMethod) {
    let mut lab = proxied_lab(fwd);
    let (cookie, our_ts, syn) = handshake(&mut lab, b"GET /");
    let (rs_addr, rs_port) = (syn.dst, syn.dport);
    assert_eq!((rs_addr, rs_port), (rs(0), 8080));
    let back = (syn.src, syn.sport);
    match fwd {
        spec::FwdMethod::FullNat => assert_eq!(back.0, LADDR),
        _ => assert_eq!(back, C),
    }
    let rsa = (rs(0), 8080);
    let rs_isn = 5000u32;
    // The server's SYN-ACK (window scale 9) completes its side: it gets the ACK with the data.
    let o = synack_opts(1400, 777, 1001, 9);
    let sa = seg(rsa, back, SYN | ACK, rs_isn, CISN.wrapping_add(1), 65160, &o, &[]);
    let (port, f) = lab.one(1, &from_rs(0, &sa));
    assert_eq!(port, 1, "the completing ACK goes back to the server");
    let a = seen(&f);
    assert_eq!((a.src, a.sport, a.dst, a.dport), (back.0, back.1, rs(0), 8080));
    assert_eq!(
        (a.flags & (SYN | ACK | RST), a.seq, a.ack),
        (ACK, CISN.wrapping_add(1), rs_isn + 1)
    );
    assert_eq!(a.payload, b"GET /", "the held data");
    assert_eq!(ts_of(&a), (1001, 777));
    assert_eq!(lab.states(), ["ESTABLISHED"]);
    assert_eq!(lab.lb().counters().synproxy.conns_proxied, 1);

    // Server data: sequence and TSval move to the client's view, the window is rescaled.
    let data = seg(
        rsa,
        back,
        ACK | PSH,
        rs_isn + 1,
        CISN.wrapping_add(6),
        100,
        &ts(778, 1001),
        b"HTTP/1.1",
    );
    let (port, f) = lab.one(1, &from_rs(0, &data));
    assert_eq!(port, 0);
    let d = seen(&f);
    assert_eq!((d.src, d.sport, d.dst, d.dport), (VIP, 80, CLIENT, 40000));
    assert_eq!((d.seq, d.ack), (cookie.wrapping_add(1), CISN.wrapping_add(6)));
    assert_eq!(ts_of(&d), (our_ts.wrapping_add(1), 1001));
    assert_eq!(d.payload, b"HTTP/1.1");
    let f14 = &f[14..];
    let hl = usize::from(f14[0] & 0xf) * 4;
    assert_eq!(u16::from_be_bytes([f14[hl + 14], f14[hl + 15]]), 400, "100 << 9 >> 7");

    // The client acknowledges part and SACKs a later block: back into the server's numbers.
    let mut o = ts(1002, our_ts.wrapping_add(1));
    o.extend_from_slice(&[1, 1, 5, 10]);
    o.extend_from_slice(&cookie.wrapping_add(5).to_be_bytes());
    o.extend_from_slice(&cookie.wrapping_add(9).to_be_bytes());
    let ack = seg(C, V, ACK, CISN.wrapping_add(6), cookie.wrapping_add(3), 500, &o, &[]);
    let (port, f) = lab.one(0, &from_client(&ack));
    assert_eq!(port, 1);
    let a = seen(&f);
    assert_eq!((a.seq, a.ack), (CISN.wrapping_add(6), rs_isn + 3));
    assert_eq!(ts_of(&a), (1002, 778));
    let mut want = (rs_isn + 5).to_be_bytes().to_vec();
    want.extend_from_slice(&(rs_isn + 9).to_be_bytes());
    assert_eq!(opt(&a, 5), Some(want), "SACK block in the server's space");

    // A forged ACK and a stale cookie are refused; the table does not grow.
    let forged = seg((CLIENT, 40001), V, ACK, 1, 0x1234_5678, 500, &[], &[]);
    assert!(lab.send(0, &from_client(&forged)).is_empty());
    assert_eq!(lab.drops(R::SynproxyBadAck), 1);
    let mut late = proxied_lab(fwd);
    let sa = cookie_synack(&mut late);
    late.advance(180);
    let ack = cookie_ack(C, V, CISN, Cookie::of(&sa), 1001, ACK, &[]);
    assert!(late.send(0, &from_client(&ack)).is_empty(), "a cookie three minutes old");
    assert_eq!(late.drops(R::SynproxyBadAck), 1);
    assert_eq!(late.lb().conn_count(), 0);
}

#[test]
fn a_reused_port_starts_over_with_a_cookie() {
    let mut lab = proxied_lab(spec::FwdMethod::Masq);
    handshake(&mut lab, b"");
    assert_eq!(lab.lb().conn_count(), 1);
    // The same client port opens again: the old connection ends, the SYN gets a cookie.
    let syn = seg(C, V, SYN, CISN ^ 0x8000, 0, 64240, &syn_opts(1460, 2000, 7), &[]);
    let (port, f) = lab.one(0, &from_client(&syn));
    assert_eq!((port, seen(&f).flags), (0, SYN | ACK));
    assert_eq!(lab.lb().conn_count(), 0);
    assert_eq!(lab.lb().counters().synproxy.cookies_sent, 2);
}

#[test]
fn nat_connection_through_the_proxy() {
    run_proxied_connection(spec::FwdMethod::Masq);
}

#[test]
fn fullnat_connection_through_the_proxy() {
    run_proxied_connection(spec::FwdMethod::FullNat);
}

#[test]
fn spoofed_syns_take_no_entry_and_no_local_port() {
    let mut lab = proxied_lab(spec::FwdMethod::FullNat);
    for i in 0..500u32 {
        let src = Ipv4Addr::from(0x0b00_0000 + i * 7919);
        let f = eth(MAC0, GW_MAC, &seg((src, 1024 + i as u16), V, SYN, i, 0, 1000, &[], &[]));
        lab.send(0, &f);
    }
    assert_eq!(lab.lb().conn_count(), 0);
    assert!(lab.lb().laddr_usage().iter().all(|(_, s)| s.in_use == 0 && s.allocs == 0));
    assert_eq!(lab.lb().counters().synproxy.cookies_sent, 500);
    assert_eq!(lab.drops(R::LaddrExhausted), 0);
    // A real client still gets through.
    handshake(&mut lab, b"");
}

#[test]
fn synacks_are_rate_limited_per_core() {
    let mut s = svc(Protocol::Tcp, 80, "rr");
    s.synproxy = true;
    let d = [dest(0, 8080, spec::FwdMethod::Masq, 1)];
    let mut cfg = BalancerConfig { conn_capacity: 64, ..BalancerConfig::new(0, 1) };
    cfg.synproxy.synack_rate = 10;
    cfg.synproxy.synack_burst = 5;
    let mut lab = Lab::with(cfg, snapshot(&[(&s, &d)], &[], &[]));
    let out: usize = (0..20u16)
        .map(|i| {
            lab.send(0, &from_client(&seg((CLIENT, 2000 + i), V, SYN, 1, 0, 1000, &[], &[]))).len()
        })
        .sum();
    assert_eq!(out, 5);
    assert_eq!(lab.lb().counters().synproxy.synack_rate_limited, 15);
    assert_eq!(lab.drops(R::SynproxyRateLimited), 15);
}

#[test]
fn retransmitted_ack_resends_the_syn_and_a_silent_server_is_given_up() {
    let mut lab = proxied_lab(spec::FwdMethod::FullNat);
    let (cookie, our_ts, _) = handshake(&mut lab, b"");
    // The same third ACK again: the SYN goes to the server again.
    let sent = Cookie { seq: cookie, ts: our_ts };
    let ack = cookie_ack(C, V, CISN, sent, 1003, ACK, &[]);
    let (port, f) = lab.one(0, &from_client(&ack));
    assert_eq!((port, seen(&f).flags, seen(&f).seq), (1, SYN, CISN));
    assert_eq!(lab.lb().counters().synproxy.syn_retransmits, 1);
    // Data before the server answered is held once, further segments are dropped.
    let d = cookie_ack(C, V, CISN, sent, 1004, ACK | PSH, b"x");
    assert!(lab.send(0, &from_client(&d)).is_empty());
    assert!(lab.send(0, &from_client(&d)).is_empty());
    assert_eq!(lab.drops(R::SynproxyHandshake), 2);
    assert_eq!(lab.lb().counters().synproxy.data_held, 1);
    assert_eq!(lab.lb().synproxy_pending(), 1);
    // The server never answers: the connection and its local port are given back.
    lab.advance(11);
    assert_eq!(lab.lb().conn_count(), 0);
    assert_eq!(lab.lb().synproxy_pending(), 0);
    assert_eq!(lab.lb().counters().synproxy.server_timeouts, 1);
    assert!(lab.lb().laddr_usage().iter().all(|(_, s)| s.in_use == 0));
}

#[test]
fn server_reset_reaches_the_client_in_its_sequence_space() {
    let mut lab = proxied_lab(spec::FwdMethod::Masq);
    let (cookie, _, syn) = handshake(&mut lab, b"");
    let rst =
        seg((rs(0), 8080), (syn.src, syn.sport), RST | ACK, 0, CISN.wrapping_add(1), 0, &[], &[]);
    let (port, f) = lab.one(1, &from_rs(0, &rst));
    let r = seen(&f);
    assert_eq!((port, r.dst, r.flags & RST, r.seq), (0, CLIENT, RST, cookie.wrapping_add(1)));
    assert_eq!(lab.lb().counters().synproxy.server_resets, 1);
    assert_eq!(lab.lb().synproxy_pending(), 0);
}

#[test]
fn without_timestamps_only_mss_is_offered() {
    let mut lab = proxied_lab(spec::FwdMethod::Masq);
    let o = [2, 4, 0x02, 0x18, 1, 3, 3, 7]; // MSS 536, window scale 7, no timestamps
    let (_, f) = lab.one(0, &from_client(&seg(C, V, SYN, 9, 0, 1000, &o, &[])));
    let sa = seen(&f);
    assert_eq!(options(&sa.opts), vec![(2, 1460u16.to_be_bytes().to_vec())]);
    let ack = seg(C, V, ACK, 10, sa.seq.wrapping_add(1), 1000, &[], &[]);
    let (_, f) = lab.one(0, &from_client(&ack));
    let syn = seen(&f);
    assert_eq!(options(&syn.opts), vec![(2, 536u16.to_be_bytes().to_vec())]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Whatever a client sends to a proxied service, at most one frame leaves, nothing panics
    /// and no connection is made without a valid cookie.
    #[test]
    fn random_segments_make_no_connection(
        flags: u8, seq: u32, ack: u32, win: u16,
        o in proptest::collection::vec(any::<u8>(), 0..10),
        payload in proptest::collection::vec(any::<u8>(), 0..20),
    ) {
        let mut lab = proxied_lab(spec::FwdMethod::FullNat);
        let mut o = o;
        o.resize(o.len().div_ceil(4) * 4, 1);
        let out = lab.send(0, &from_client(&seg(C, V, flags, seq, ack, win, &o, &payload)));
        prop_assert!(out.len() <= 1);
        prop_assert_eq!(lab.lb().conn_count(), 0);
    }
}
