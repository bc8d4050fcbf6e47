//! The balancer's flood defences through the whole pipeline (see `crate::ipvs::guard`):
//! spoofed SYN and SYN+ACK floods at DR and TUN services, a UDP flood against TCP, the
//! SYN_RECV pressure timeout and the reset rate limit.

use super::common::*;
use crate::ipvs::guard::GuardConfig;

/// A spoofed client: a distinct address per `i`, outside the client's own.
fn spoofed(i: u32) -> Ipv4Addr {
    Ipv4Addr::new(10, 1 + (i >> 16) as u8, (i >> 8) as u8, i as u8)
}

fn guarded_lab(fwd: spec::FwdMethod, guard: GuardConfig) -> Lab {
    let s = svc(Protocol::Tcp, 80, "rr");
    let d = [dest(2, 80, fwd, 1)];
    let cfg = BalancerConfig {
        conn_capacity: 64,
        hash_seed: HashSeed::from_u64(3),
        guard,
        ..BalancerConfig::new(0, 1)
    };
    Lab::with(cfg, snapshot(&[(&s, &d)], &[], &[]))
}

fn budget(n: u32) -> GuardConfig {
    GuardConfig { embryonic_max: n, ..GuardConfig::UNLIMITED }
}

/// A real client's connection: SYN, the handshake's ACK, a request.
fn connect(lab: &mut Lab, port: u16) {
    lab.one(0, &from_client(&tcp(CLIENT, port, VIP, 80, SYN, 1, 0, &[])));
    lab.one(0, &from_client(&tcp(CLIENT, port, VIP, 80, ACK, 2, 1, &[])));
    lab.one(0, &from_client(&tcp(CLIENT, port, VIP, 80, ACK | PSH, 2, 1, b"GET /")));
}

#[test]
fn a_spoofed_syn_flood_recycles_its_own_entries_in_dr_and_tun() {
    for fwd in [spec::FwdMethod::Route, spec::FwdMethod::Tunnel] {
        let mut lab = guarded_lab(fwd, budget(16));
        connect(&mut lab, 40000);
        for i in 0..2000 {
            let syn = tcp(spoofed(i), 1024 + (i % 60000) as u16, VIP, 80, SYN, i, 0, &[]);
            lab.send(0, &from_client(&syn));
            assert!(lab.lb().conn_count() <= 1 + 16, "{fwd:?}: table within budget");
            assert!(lab.lb().embryonic() <= 16, "{fwd:?}");
        }
        assert_eq!(lab.drops(R::ConnTableFull), 0, "{fwd:?}: the table never filled");
        assert_eq!(lab.lb().guard_counters().embryonic_evicted, 2000 - 16, "{fwd:?}");
        // The established connection is untouched and a new client gets in.
        lab.one(0, &from_client(&tcp(CLIENT, 40000, VIP, 80, ACK, 7, 1, &[])));
        connect(&mut lab, 40001);
        let est = lab.states().iter().filter(|s| **s == "ESTABLISHED").count();
        assert_eq!(est, 2, "{fwd:?}");
    }
}

#[test]
fn spoofed_syn_then_ack_pairs_stay_embryonic_and_evictable() {
    let mut lab = guarded_lab(spec::FwdMethod::Route, budget(8));
    for i in 0..100 {
        let (c, p) = (spoofed(i), 2000 + i as u16);
        lab.send(0, &from_client(&tcp(c, p, VIP, 80, SYN, 1, 0, &[])));
        lab.send(0, &from_client(&tcp(c, p, VIP, 80, ACK, 2, 1, &[])));
    }
    let states = lab.states();
    assert_eq!(states.len(), 8, "only the budget's worth stays");
    assert!(states.iter().all(|s| *s == "SYN_RECV"), "{states:?}");
    assert_eq!(lab.lb().guard_counters().bare_acks_held, 100);
    // A later segment (not only data) does establish: a real client's next ACK.
    let c = spoofed(99);
    lab.one(0, &from_client(&tcp(c, 2099, VIP, 80, ACK, 2, 100, &[])));
    assert!(lab.states().contains(&"ESTABLISHED"));
}

#[test]
fn a_client_that_answered_the_handshake_outlasts_a_budget_of_newer_embryos() {
    for fwd in [spec::FwdMethod::Route, spec::FwdMethod::Tunnel] {
        let mut lab = guarded_lab(fwd, budget(16));
        let syn = |lab: &mut Lab, i: u32| {
            lab.send(0, &from_client(&tcp(spoofed(i), 1024 + i as u16, VIP, 80, SYN, i, 0, &[])));
        };
        // The client's SYN, 10 spoofed ones, its handshake ACK (to the back of the FIFO), then
        // 15 more: 25 embryos came after its SYN, 15 after its ACK.
        lab.one(0, &from_client(&tcp(CLIENT, 40000, VIP, 80, SYN, 1, 0, &[])));
        (0..10).for_each(|i| syn(&mut lab, i));
        lab.one(0, &from_client(&tcp(CLIENT, 40000, VIP, 80, ACK, 2, 1, &[])));
        (10..25).for_each(|i| syn(&mut lab, i));
        assert!(lab.lb().embryonic() <= 16, "{fwd:?}");
        // Its first data still finds the connection, which is established.
        lab.one(0, &from_client(&tcp(CLIENT, 40000, VIP, 80, ACK | PSH, 2, 1, b"GET /")));
        let est = lab.states().iter().filter(|s| **s == "ESTABLISHED").count();
        assert_eq!(est, 1, "{fwd:?}");
        // A client that never answers is evicted after a budget of newer embryos, as before.
        lab.one(0, &from_client(&tcp(CLIENT, 40001, VIP, 80, SYN, 1, 0, &[])));
        (100..116).for_each(|i| syn(&mut lab, i));
        let late = tcp(CLIENT, 40001, VIP, 80, ACK | PSH, 2, 1, b"GET /");
        assert!(lab.send(0, &from_client(&late)).is_empty(), "{fwd:?}: evicted");
    }
}

#[test]
fn without_a_budget_a_syn_flood_fills_the_table_as_before() {
    let mut lab = guarded_lab(spec::FwdMethod::Route, GuardConfig::UNLIMITED);
    for i in 0..100 {
        lab.send(0, &from_client(&tcp(spoofed(i), 3000, VIP, 80, SYN, 1, 0, &[])));
    }
    assert_eq!(lab.lb().conn_count(), 64);
    assert_eq!(lab.drops(R::ConnTableFull), 36);
}

#[test]
fn a_full_table_evicts_the_oldest_embryo_for_a_new_tcp_connection() {
    // Budget larger than the table: the table fills first, then TCP evicts embryos.
    let mut lab = guarded_lab(spec::FwdMethod::Route, budget(1000));
    connect(&mut lab, 40000);
    for i in 0..200 {
        lab.send(0, &from_client(&tcp(spoofed(i), 3000, VIP, 80, SYN, 1, 0, &[])));
    }
    assert_eq!(lab.lb().conn_count(), 64);
    assert_eq!(lab.drops(R::ConnTableFull), 0);
    assert!(lab.states().contains(&"ESTABLISHED"), "the established one was not evicted");
}

#[test]
fn a_udp_flood_cannot_take_the_tables_tcp_share() {
    let t = svc(Protocol::Tcp, 80, "rr");
    let u = svc(Protocol::Udp, 53, "rr");
    let d = [dest(2, 80, spec::FwdMethod::Masq, 1)];
    let du = [dest(2, 53, spec::FwdMethod::Masq, 1)];
    let guard = GuardConfig { udp_share: 50, ..GuardConfig::UNLIMITED };
    let cfg = BalancerConfig {
        conn_capacity: 64,
        hash_seed: HashSeed::from_u64(3),
        guard,
        ..BalancerConfig::new(0, 1)
    };
    let mut lab = Lab::with(cfg, snapshot(&[(&t, &d), (&u, &du)], &[], &[]));
    for i in 0..100u16 {
        lab.send(0, &from_client(&udp(CLIENT, 5000 + i, VIP, 53, b"q")));
    }
    assert_eq!(lab.lb().conn_count(), 32, "UDP holds half the table");
    assert_eq!(lab.drops(R::ProtoShareFull), 68);
    for p in 0..32u16 {
        lab.one(0, &from_client(&tcp(CLIENT, 41000 + p, VIP, 80, SYN, 1, 0, &[])));
    }
    assert_eq!(lab.lb().conn_count(), 64);
    assert_eq!(lab.drops(R::ConnTableFull), 0);
}

#[test]
fn syn_recv_is_shortened_under_pressure() {
    let g =
        GuardConfig { embryonic_max: 8, syn_recv_pressure_timeout: 5, ..GuardConfig::UNLIMITED };
    let mut lab = guarded_lab(spec::FwdMethod::Route, g);
    for i in 0..4 {
        lab.send(0, &from_client(&tcp(spoofed(i), 3000, VIP, 80, SYN, 1, 0, &[])));
    }
    lab.advance(0);
    assert!(lab.lb().under_syn_pressure(), "half the budget");
    lab.send(0, &from_client(&tcp(spoofed(100), 3000, VIP, 80, SYN, 1, 0, &[])));
    lab.advance(6);
    assert_eq!(lab.lb().conn_count(), 4, "the one created under pressure expired after 5 s");
    lab.advance(60);
    assert_eq!(lab.lb().conn_count(), 0);
    assert!(!lab.lb().under_syn_pressure(), "pressure ends with the embryos");
    assert_eq!(lab.lb().guard_counters().pressure_entered, 1);
}

#[test]
fn resets_for_syns_without_a_dest_are_rate_limited() {
    let s = svc(Protocol::Tcp, 80, "wlc");
    let guard = GuardConfig { reset_pps: 100, reset_burst: 3, ..GuardConfig::UNLIMITED };
    let cfg = BalancerConfig { conn_capacity: 64, guard, ..BalancerConfig::new(0, 1) };
    let mut lab = Lab::with(cfg, snapshot(&[(&s, &[])], &[], &[]));
    let sent: usize = (0..10u16)
        .map(|i| lab.send(0, &from_client(&tcp(CLIENT, 44000 + i, VIP, 80, SYN, 1, 0, &[]))).len())
        .sum();
    assert_eq!(sent, 3, "the burst, then nothing");
    assert_eq!(lab.lb().counters().resets_sent, 3);
    assert_eq!(lab.lb().guard_counters().resets_limited, 7);
    assert_eq!(lab.drops(R::NoDest), 10, "every SYN is still counted");
}

#[test]
fn fullnat_spoofed_syns_and_resets_cannot_exhaust_the_local_ports() {
    // Four local ports on this core.
    let mut lab = fullnat_lab(Some((5000, 5003)));
    for i in 0..100u32 {
        let (c, p) = (spoofed(i), 2000 + i as u16);
        let out = lab.send(0, &from_client(&tcp(c, p, VIP, 80, SYN, 1, 0, &[])));
        assert_eq!(out.len(), 1, "SYN {i} forwarded; dropped {:?}", lab.io.drop_reasons());
        lab.send(0, &from_client(&tcp(c, p, VIP, 80, RST, 2, 0, &[])));
    }
    assert_eq!(lab.drops(R::LaddrExhausted), 0);
    assert_eq!(lab.lb().guard_counters().reset_releases, 100);
    assert_eq!(lab.lb().conn_count(), 0, "a reset ends the connection at once");
    // A reset from the real server's side releases too.
    let (_, f) = lab.one(0, &from_client(&tcp(CLIENT, 45000, VIP, 80, SYN, 1, 0, &[])));
    let lport = seen(&f).sport;
    lab.one(1, &from_rs(0, &tcp(rs(0), 8080, LADDR, lport, RST | ACK, 0, 2, &[])));
    assert_eq!(lab.lb().conn_count(), 0);
}

#[test]
fn fullnat_embryos_evicted_under_the_budget_give_their_ports_back() {
    let s = svc(Protocol::Tcp, 80, "rr");
    let d = [dest(0, 8080, spec::FwdMethod::FullNat, 1)];
    let cfg = BalancerConfig {
        conn_capacity: 64,
        hash_seed: HashSeed::from_u64(5),
        local_ports: crate::ipvs::laddr::PortRange::new(5000, 5003).unwrap(),
        guard: budget(3),
        ..BalancerConfig::new(0, 1)
    };
    let mut lab = Lab::with(cfg, snapshot(&[(&s, &d)], &[laddr(&s, LADDR)], &[]));
    for i in 0..100u32 {
        let out = lab.send(0, &from_client(&tcp(spoofed(i), 3000, VIP, 80, SYN, 1, 0, &[])));
        assert_eq!(out.len(), 1, "SYN {i}; dropped {:?}", lab.io.drop_reasons());
    }
    assert_eq!(lab.drops(R::LaddrExhausted), 0, "three embryos hold three of four ports");
    lab.one(0, &from_client(&tcp(CLIENT, 45000, VIP, 80, SYN, 1, 0, &[])));
}
