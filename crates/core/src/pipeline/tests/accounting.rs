//! Every buffer ends in exactly one place (transmitted, dropped, freed, redirected or queued)
//! whatever frames arrive.

use super::common::*;

fn arb_frame() -> impl Strategy<Value = (u16, Vec<u8>)> {
    let ips = prop_oneof![
        Just(VIP),
        Just(CLIENT),
        Just(LADDR),
        Just(WAN),
        Just(rs(0)),
        Just(rs(1)),
        Just(INSIDE),
        Just(OUTSIDE),
        any::<u32>().prop_map(Ipv4Addr::from)
    ];
    let ports =
        prop_oneof![Just(80u16), Just(53), Just(8080), Just(5000), Just(5001), any::<u16>()];
    let flags =
        prop_oneof![Just(SYN), Just(ACK), Just(SYN | ACK), Just(FIN | ACK), Just(RST), any::<u8>()];
    let l4 = (
        ips.clone(),
        ports.clone(),
        ips,
        ports,
        flags,
        proptest::collection::vec(any::<u8>(), 0..40),
        0u8..3,
    )
        .prop_map(|(s, sp, d, dp, f, pl, kind)| match kind {
            0 => tcp(s, sp, d, dp, f, 1, 1, &pl),
            1 => udp(s, sp, d, dp, &pl),
            _ => ipv4(s, d, 1, &pl),
        });
    let mutated =
        (l4.clone(), proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4), any::<bool>())
            .prop_map(|(mut ip, muts, fix)| {
                for (at, x) in muts {
                    let n = ip.len();
                    ip[at % n] ^= x;
                }
                if fix && ip.len() >= 20 {
                    // Keep the IPv4 header valid so the damage reaches the balancer.
                    ip[0] = 0x45;
                    let n = ip.len() as u16;
                    ip[2..4].copy_from_slice(&n.to_be_bytes());
                    ip[10..12].fill(0);
                    let c = naive_checksum(&ip[..20]);
                    ip[10..12].copy_from_slice(&c.to_be_bytes());
                }
                ip
            });
    (0u16..2, prop_oneof![l4, mutated], any::<bool>()).prop_map(|(port, ip, trunc)| {
        let src = if port == 0 { CLIENT_MAC } else { rs_mac(0) };
        let mut f = eth(if port == 0 { MAC0 } else { MAC1 }, src, &ip);
        if trunc {
            let n = f.len();
            f.truncate(14 + (n - 14) / 2);
        }
        (port, f)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn every_buffer_is_accounted_for(
        frames in proptest::collection::vec(arb_frame(), 1..40),
        n_cores in 1usize..3,
        advance in proptest::collection::vec(0u64..200, 1..40),
    ) {
        let s = svc(Protocol::Tcp, 80, "rr");
        let u = {
            let mut u = svc(Protocol::Udp, 53, "wlc");
            u.one_packet = true;
            u
        };
        let mut p0 = svc(Protocol::Tcp, 0, "sh");
        p0.persistence = Some(60);
        p0.key.addr = Ipv4Addr::new(10, 0, 0, 100).into();
        let d = [
            dest(0, 8080, spec::FwdMethod::Masq, 1),
            dest(1, 80, spec::FwdMethod::Route, 2),
            dest(2, 80, spec::FwdMethod::FullNat, 1),
            dest(3, 80, spec::FwdMethod::Tunnel, 1),
        ];
        let snat = [spec::SnatRule { src: None, dst: None, proto: spec::SnatProto::Any, out_addr: WAN.into(), synproxy: false }];
        let snap = snapshot(&[(&s, &d), (&u, &d[..2])], &[laddr(&s, LADDR)], &snat);
        let cfg = BalancerConfig { conn_capacity: 8, hash_seed: HashSeed::from_u64(9), ..BalancerConfig::new(0, n_cores) };
        let mut lab = Lab::with(cfg, snap);
        for (i, (port, f)) in frames.iter().enumerate() {
            lab.inputs += 1;
            if let Some((b, core, carried)) = lab.p.input(*port, VecBuf::from_slice(f), lab.now, &mut lab.io) {
                prop_assert!(core < n_cores && core != 0);
                across_the_ring(&lab, &b, &carried);
                lab.redirected += 1;
                drop(b);
            }
            if let Some(a) = advance.get(i) {
                lab.now = lab.now + core::time::Duration::from_secs(*a);
                lab.p.poll(lab.now, &mut lab.io);
            }
            let accounted = lab.io.tx.len() + lab.io.dropped.len() + lab.io.freed.len()
                + lab.redirected + lab.p.stack().neigh().pending_len();
            prop_assert_eq!(lab.inputs + lab.io.allocs, accounted);
            let lb = lab.lb();
            prop_assert!(lb.conn_count() <= 8);
            for r in lb.dest_reports() {
                prop_assert!(r.active + r.inactive + r.persist <= 8, "{:?}", r);
            }
        }
        // Everything expires eventually, and every count returns to zero.
        lab.advance(100_000);
        prop_assert_eq!(lab.lb().conn_count(), 0);
        for r in lab.lb().dest_reports() {
            prop_assert_eq!((r.active, r.inactive, r.persist), (0, 0, 0));
        }
    }
}
