//! The SYN proxy in front of a SNAT rule: the director answers an inside host's SYN with a
//! cookie in the outside server's name, takes a port from the WAN address's pool only when the
//! host's ACK validates, then translates sequence numbers and timestamps both ways on top of
//! the source NAT.

use super::common::*;
use super::synproxy_segs::*;
use crate::ipvs::balancer::PoolOwner;

const H: (Ipv4Addr, u16) = (INSIDE, 33000);
const O: (Ipv4Addr, u16) = (OUTSIDE, 443);
const HISN: u32 = 0x7fff_fff0;

fn rule(proto: spec::SnatProto, synproxy: bool) -> spec::SnatRule {
    spec::SnatRule {
        src: Some(spec::AddrRange { first: INSIDE.into(), last: INSIDE.into() }),
        dst: None,
        proto,
        out_addr: WAN.into(),
        synproxy,
    }
}

fn proxied_snat_lab() -> Lab {
    let cfg = BalancerConfig {
        conn_capacity: 64,
        hash_seed: HashSeed::from_u64(5),
        ..BalancerConfig::new(0, 1)
    };
    Lab::with(cfg, snapshot(&[], &[], &[rule(spec::SnatProto::Any, true)]))
}

fn from_inside(ip: &[u8]) -> Vec<u8> {
    eth(MAC1, rs_mac(50), ip)
}

fn from_outside(ip: &[u8]) -> Vec<u8> {
    eth(MAC0, GW_MAC, ip)
}

/// The WAN pool's (ports in use, allocations).
fn wan_pool(lab: &Lab) -> (u64, u64) {
    let pools = lab.lb().pool_reports();
    pools
        .laddrs
        .iter()
        .find(|l| l.addr == WAN && l.owner == PoolOwner::Snat)
        .map_or((0, 0), |l| (l.in_use, l.allocs))
}

#[test]
fn an_inside_host_connects_out_through_the_proxy() {
    let mut lab = proxied_snat_lab();
    // The SYN is answered on the inside, in the outside server's name; no port, no entry.
    let (port, f) =
        lab.one(1, &from_inside(&seg(H, O, SYN, HISN, 0, 64240, &syn_opts(1460, 500, 7), &[])));
    assert_eq!(port, 1, "answered toward the inside host");
    let sa = seen(&f);
    assert_eq!((sa.src, sa.sport, sa.dst, sa.dport), (OUTSIDE, 443, INSIDE, 33000));
    assert_eq!((sa.flags, sa.ack), (SYN | ACK, HISN.wrapping_add(1)));
    assert_eq!(opt(&sa, 3), Some(vec![7]), "the director's window scale");
    assert_eq!((lab.lb().conn_count(), wan_pool(&lab)), (0, (0, 0)));
    let cookie = sa.seq;
    let (our_ts, _) = ts_of(&sa);

    // The third ACK with data: only now a WAN port is taken and the SYN goes out.
    let ack = cookie_ack(H, O, HISN, Cookie::of(&sa), 501, ACK | PSH, b"hello");
    let (port, f) = lab.one(1, &from_inside(&ack));
    assert_eq!(port, 0, "out through the WAN side");
    let syn = seen(&f);
    assert_eq!((syn.src, syn.dst, syn.dport), (WAN, OUTSIDE, 443));
    assert_eq!((syn.flags, syn.seq), (SYN, HISN));
    assert!(syn.payload.is_empty(), "the data is held");
    assert_eq!(ts_of(&syn), (501, 0), "the host's timestamp");
    assert_eq!(opt(&syn, 3), Some(vec![7]), "the host's window scale");
    let wport = syn.sport;
    assert_eq!(wan_pool(&lab), (1, 1));
    assert_eq!(lab.lb().counters().synproxy.ack_valid, 1);

    // The server's SYN-ACK becomes the host's ACK with the held data, sent to the server.
    let srv_isn = 90_000u32;
    let o = synack_opts(1460, 7000, 501, 7);
    let srv_sa = seg(O, (WAN, wport), SYN | ACK, srv_isn, HISN.wrapping_add(1), 65160, &o, &[]);
    let (port, f) = lab.one(0, &from_outside(&srv_sa));
    assert_eq!(port, 0);
    let a = seen(&f);
    assert_eq!((a.src, a.sport, a.dst, a.dport), (WAN, wport, OUTSIDE, 443));
    assert_eq!((a.flags & (SYN | ACK), a.seq, a.ack), (ACK, HISN.wrapping_add(1), srv_isn + 1));
    assert_eq!(a.payload, b"hello");
    assert_eq!(ts_of(&a), (501, 7000));
    assert_eq!(lab.states(), ["ESTABLISHED"]);
    assert_eq!(lab.lb().counters().synproxy.conns_proxied, 1);

    // Server data reaches the host in the cookie's sequence space, TSval moved to ours.
    let d = seg(
        O,
        (WAN, wport),
        ACK | PSH,
        srv_isn + 1,
        HISN.wrapping_add(6),
        100,
        &ts(7001, 501),
        b"world",
    );
    let (port, f) = lab.one(0, &from_outside(&d));
    assert_eq!(port, 1);
    let d = seen(&f);
    assert_eq!((d.src, d.sport, d.dst, d.dport), (OUTSIDE, 443, INSIDE, 33000));
    assert_eq!((d.seq, d.ack), (cookie.wrapping_add(1), HISN.wrapping_add(6)));
    assert_eq!(ts_of(&d).0, our_ts.wrapping_add(1));
    assert_eq!(d.payload, b"world");
    // The host's ACK goes back into the server's numbers.
    let ha = seg(
        H,
        O,
        ACK,
        HISN.wrapping_add(6),
        cookie.wrapping_add(6),
        500,
        &ts(502, our_ts.wrapping_add(1)),
        &[],
    );
    let (port, f) = lab.one(1, &from_inside(&ha));
    assert_eq!(port, 0);
    let ha = seen(&f);
    assert_eq!((ha.src, ha.sport, ha.seq, ha.ack), (WAN, wport, HISN.wrapping_add(6), srv_isn + 6));
    assert_eq!(ts_of(&ha), (502, 7001));
    // The rule and the WAN address count the connection as any SNAT connection.
    let pools = lab.lb().pool_reports();
    assert_eq!(pools.rules[0].stats.conns, 1);
}

#[test]
fn spoofed_syns_and_forged_acks_from_inside_take_no_wan_port() {
    let mut lab = proxied_snat_lab();
    for i in 0..500u32 {
        // Random "inside" sources the rule does not match are not the balancer's; the flood
        // comes from the matched host with random ports and sequence numbers.
        let sport = 1024 + (i * 97 % 60000) as u16;
        let f = from_inside(&seg(
            (INSIDE, sport),
            O,
            SYN,
            i.wrapping_mul(2_654_435_761),
            0,
            1000,
            &[],
            &[],
        ));
        lab.send(1, &f);
        let ack = seg((INSIDE, sport), O, ACK, i, i.wrapping_mul(40503), 1000, &[], &[]);
        assert!(lab.send(1, &from_inside(&ack)).is_empty(), "a forged ACK is not forwarded");
    }
    assert_eq!(lab.lb().conn_count(), 0);
    assert_eq!(wan_pool(&lab), (0, 0), "no WAN port taken");
    assert_eq!(lab.lb().counters().synproxy.cookies_sent, 500);
    assert_eq!(lab.drops(R::SynproxyBadAck), 500);
    assert_eq!(lab.drops(R::LaddrExhausted), 0);
}

#[test]
fn only_tcp_is_proxied_and_a_rule_without_the_proxy_opens_at_the_syn() {
    // UDP through a proxied rule (proto any) takes its port at once.
    let mut lab = proxied_snat_lab();
    let (port, f) = lab
        .one(1, &from_inside(&ipv4(INSIDE, OUTSIDE, UDP, &[0x80, 0xe8, 0, 53, 0, 9, 0, 0, b'q'])));
    assert_eq!((port, seen(&f).src), (0, WAN));
    assert_eq!(wan_pool(&lab), (1, 1));
    assert_eq!(lab.lb().counters().synproxy.cookies_sent, 0);
    // Without the proxy the SYN goes straight out and holds a port.
    let mut plain = Lab::new(snapshot(&[], &[], &[rule(spec::SnatProto::Tcp, false)]));
    let (port, f) =
        plain.one(1, &from_inside(&seg(H, O, SYN, HISN, 0, 64240, &syn_opts(1460, 1, 7), &[])));
    assert_eq!((port, seen(&f).src, seen(&f).flags), (0, WAN, SYN));
    assert_eq!(wan_pool(&plain), (1, 1));
}

#[test]
fn a_server_that_never_answers_gives_its_wan_port_back() {
    let mut lab = proxied_snat_lab();
    let (_, f) =
        lab.one(1, &from_inside(&seg(H, O, SYN, HISN, 0, 64240, &syn_opts(1460, 500, 7), &[])));
    let ack = cookie_ack(H, O, HISN, Cookie::of(&seen(&f)), 501, ACK, &[]);
    lab.one(1, &from_inside(&ack));
    assert_eq!(wan_pool(&lab).0, 1);
    lab.advance(11);
    assert_eq!(lab.lb().conn_count(), 0);
    assert_eq!(wan_pool(&lab).0, 0);
    assert_eq!(lab.lb().counters().synproxy.server_timeouts, 1);
}

#[test]
fn a_reused_inside_port_is_matched_again_and_starts_over_with_a_cookie() {
    let mut lab = proxied_snat_lab();
    let (_, f) =
        lab.one(1, &from_inside(&seg(H, O, SYN, HISN, 0, 64240, &syn_opts(1460, 500, 7), &[])));
    let ack = cookie_ack(H, O, HISN, Cookie::of(&seen(&f)), 501, ACK, &[]);
    lab.one(1, &from_inside(&ack));
    assert_eq!((lab.lb().conn_count(), wan_pool(&lab).0), (1, 1));
    // The same inside port opens again: the old connection and its WAN port go, a cookie answers.
    let syn = seg(H, O, SYN, HISN ^ 0x8000, 0, 64240, &syn_opts(1460, 900, 7), &[]);
    let (port, f) = lab.one(1, &from_inside(&syn));
    assert_eq!((port, seen(&f).flags, seen(&f).src), (1, SYN | ACK, OUTSIDE));
    assert_eq!((lab.lb().conn_count(), wan_pool(&lab).0), (0, 0));
    assert_eq!(lab.lb().counters().synproxy.cookies_sent, 2);
}
