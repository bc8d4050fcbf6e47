//! SNAT (`-J`): inside hosts reach outside through the WAN address; per-rule counts.

use super::common::*;

#[test]
fn snat_takes_inside_hosts_out_through_the_wan_address() {
    let rule = spec::SnatRule {
        src: Some(spec::AddrRange { first: INSIDE.into(), last: INSIDE.into() }),
        dst: None,
        proto: spec::SnatProto::Any,
        out_addr: WAN.into(),
        synproxy: false,
    };
    let mut lab = Lab::new(snapshot(&[], &[], &[rule]));
    let from_inside = |ip: &[u8]| eth(MAC1, rs_mac(50), ip);
    let from_outside = |ip: &[u8]| eth(MAC0, GW_MAC, ip);

    let (port, f) = lab.one(1, &from_inside(&tcp(INSIDE, 33000, OUTSIDE, 443, SYN, 1, 0, &[])));
    let s = seen(&f);
    assert_eq!(port, 0);
    assert_eq!((s.dst_mac, s.src_mac), (GW_MAC, MAC0));
    assert_eq!((s.src, s.dst, s.dport, s.ttl), (WAN, OUTSIDE, 443, 63));
    let wport = s.sport;
    let (port, f) =
        lab.one(0, &from_outside(&tcp(OUTSIDE, 443, WAN, wport, SYN | ACK, 50, 2, &[])));
    let r = seen(&f);
    assert_eq!(port, 1);
    assert_eq!(
        (r.dst_mac, r.src, r.sport, r.dst, r.dport),
        (rs_mac(50), OUTSIDE, 443, INSIDE, 33000)
    );
    lab.one(1, &from_inside(&tcp(INSIDE, 33000, OUTSIDE, 443, ACK, 2, 51, &[])));
    assert_eq!(lab.states(), ["ESTABLISHED"]);
    lab.one(1, &from_inside(&tcp(INSIDE, 33000, OUTSIDE, 443, FIN | ACK, 2, 51, &[])));
    lab.one(0, &from_outside(&tcp(OUTSIDE, 443, WAN, wport, FIN | ACK, 51, 3, &[])));
    assert_eq!(lab.states(), ["TIME_WAIT"]);

    let (_, f) = lab.one(1, &from_inside(&udp(INSIDE, 33001, OUTSIDE, 53, b"q")));
    let s = seen(&f);
    assert_eq!((s.src, s.dst, s.dport), (WAN, OUTSIDE, 53));
    let (_, f) = lab.one(0, &from_outside(&udp(OUTSIDE, 53, WAN, s.sport, b"a")));
    let r = seen(&f);
    assert_eq!((r.dst, r.dport, r.payload.as_slice()), (INSIDE, 33001, &b"a"[..]));
    // The WAN address counts its connections, packets and bytes; its pool its ports.
    let pools = lab.lb().pool_reports();
    let st = pools.snat.iter().find(|r| r.out_addr == WAN).expect("WAN report").stats;
    assert_eq!((st.conns, st.inpkts, st.outpkts), (2, 4, 3));
    assert_eq!(st.inbytes, 3 * 40 + 29);
    assert_eq!(st.outbytes, 2 * 40 + 29);
    let l = pools.laddrs.iter().find(|l| l.addr == WAN).expect("WAN pool");
    assert_eq!((l.owner, l.in_use, l.allocs), (crate::ipvs::balancer::PoolOwner::Snat, 2, 2));
    // Hosts outside the rule are not SNATed: routed traffic is not the balancer's.
    assert!(lab.send(1, &from_rs(1, &udp(rs(1), 1, OUTSIDE, 53, b"q"))).is_empty());
    assert_eq!(lab.p.net_counters().drop_count(DropReason::NotForUs), 1);
    // A non-SYN TCP packet matching the rule does not open a connection.
    assert!(lab
        .send(1, &from_inside(&tcp(INSIDE, 33002, OUTSIDE, 443, ACK, 1, 1, &[])))
        .is_empty());
    assert_eq!(lab.drops(R::TcpNotSyn), 1);
}

#[test]
fn snat_rules_count_their_live_connections_and_traffic() {
    // Two rules through one WAN address: TCP and UDP from INSIDE. Each counts its own.
    let inside = Some(spec::AddrRange { first: INSIDE.into(), last: INSIDE.into() });
    let rule = |proto| spec::SnatRule {
        src: inside,
        dst: None,
        proto,
        out_addr: WAN.into(),
        synproxy: false,
    };
    let rules = [rule(spec::SnatProto::Tcp), rule(spec::SnatProto::Udp)];
    let mut lab = Lab::new(snapshot(&[], &[], &rules));
    let from_inside = |ip: &[u8]| eth(MAC1, rs_mac(50), ip);
    let from_outside = |ip: &[u8]| eth(MAC0, GW_MAC, ip);
    let report = |lab: &Lab, proto: IpProtocol| {
        let pools = lab.lb().pool_reports();
        let r = pools.rules.iter().find(|r| r.rule.proto == Some(proto)).copied();
        r.expect("rule report")
    };
    let (mut sent_in, mut sent_out) = ((0u64, 0u64), (0u64, 0u64));
    let mut inside_out = |lab: &mut Lab, ip: Vec<u8>| {
        sent_in = (sent_in.0 + 1, sent_in.1 + ip.len() as u64);
        seen(&lab.one(1, &from_inside(&ip)).1)
    };

    // SYN: one inactive connection.
    let s = inside_out(&mut lab, tcp(INSIDE, 33000, OUTSIDE, 443, SYN, 1, 0, &[]));
    let wport = s.sport;
    let r = report(&lab, IpProtocol::TCP);
    assert_eq!((r.live, r.active, r.inactive, r.stats.conns), (true, 0, 1, 1));
    let mut outside_in = |lab: &mut Lab, ip: Vec<u8>| {
        sent_out = (sent_out.0 + 1, sent_out.1 + ip.len() as u64);
        lab.one(0, &from_outside(&ip));
    };
    outside_in(&mut lab, tcp(OUTSIDE, 443, WAN, wport, SYN | ACK, 50, 2, &[]));
    inside_out(&mut lab, tcp(INSIDE, 33000, OUTSIDE, 443, ACK, 2, 51, &[]));
    // Established: active.
    let r = report(&lab, IpProtocol::TCP);
    assert_eq!((r.active, r.inactive), (1, 0));
    inside_out(&mut lab, tcp(INSIDE, 33000, OUTSIDE, 443, ACK | PSH, 2, 51, b"request"));
    outside_in(&mut lab, tcp(OUTSIDE, 443, WAN, wport, ACK | PSH, 51, 9, b"a longer response"));
    // Closed: inactive until it expires.
    inside_out(&mut lab, tcp(INSIDE, 33000, OUTSIDE, 443, FIN | ACK, 9, 68, &[]));
    outside_in(&mut lab, tcp(OUTSIDE, 443, WAN, wport, FIN | ACK, 68, 10, &[]));
    assert_eq!(lab.states(), ["TIME_WAIT"]);
    let r = report(&lab, IpProtocol::TCP);
    assert_eq!((r.active, r.inactive), (0, 1));
    let st = r.stats;
    assert_eq!((st.conns, st.inpkts, st.inbytes), (1, sent_in.0, sent_in.1));
    assert_eq!((st.outpkts, st.outbytes), (sent_out.0, sent_out.1));

    // The UDP rule counted nothing of that; now one flow of its own.
    let u = report(&lab, IpProtocol::UDP);
    assert_eq!((u.active, u.inactive, u.stats.conns, u.stats.inpkts), (0, 0, 0, 0));
    let q = udp(INSIDE, 33001, OUTSIDE, 53, b"query");
    let s = seen(&lab.one(1, &from_inside(&q)).1);
    let a = udp(OUTSIDE, 53, WAN, s.sport, b"answer");
    lab.one(0, &from_outside(&a));
    let u = report(&lab, IpProtocol::UDP);
    assert_eq!((u.active, u.inactive), (0, 1));
    let want = crate::ipvs::counters::TrafficCounters {
        conns: 1,
        inpkts: 1,
        outpkts: 1,
        inbytes: q.len() as u64,
        outbytes: a.len() as u64,
    };
    assert_eq!(u.stats, want);
    // The WAN address's totals are the two rules' totals.
    let pools = lab.lb().pool_reports();
    let wan = pools.snat.iter().find(|r| r.out_addr == WAN).expect("WAN report").stats;
    let mut sum = st;
    sum.conns += want.conns;
    sum.inpkts += want.inpkts;
    sum.outpkts += want.outpkts;
    sum.inbytes += want.inbytes;
    sum.outbytes += want.outbytes;
    assert_eq!(wan, sum);

    // Expired: no live connection left; the totals stay.
    lab.advance(600);
    let r = report(&lab, IpProtocol::TCP);
    assert_eq!((r.active, r.inactive, r.stats), (0, 0, st));
    assert_eq!(
        (report(&lab, IpProtocol::UDP).inactive, report(&lab, IpProtocol::UDP).stats),
        (0, want)
    );
}
