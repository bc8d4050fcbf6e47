//! Several worker cores: replies to another core's local port are redirected, and NAT
//! connections live on the core their client address points to.

use super::common::*;

#[test]
fn reply_to_a_local_port_of_another_core_is_redirected() {
    let s = svc(Protocol::Tcp, 80, "rr");
    let d = [dest(0, 80, spec::FwdMethod::FullNat, 1)];
    let cfg = BalancerConfig {
        conn_capacity: 64,
        hash_seed: HashSeed::from_u64(3),
        ..BalancerConfig::new(0, 2)
    };
    let mut lab = Lab::with(cfg, snapshot(&[(&s, &d)], &[laddr(&s, LADDR)], &[]));
    // Port 5001 is odd: core 1 owns it.
    let reply = from_rs(0, &tcp(rs(0), 80, LADDR, 5001, SYN | ACK, 1, 2, &[]));
    let mut redirected = None;
    lab.inputs += 1;
    if let Some((b, core, carried)) =
        lab.p.input(1, VecBuf::from_slice(&reply), lab.now, &mut lab.io)
    {
        redirected = Some((b.data().to_vec(), core, across_the_ring(&lab, &b, &carried)));
    }
    let (bytes, core, carried) = redirected.expect("redirected");
    assert_eq!((bytes.as_slice(), core), (&reply[..], 1), "handed over unchanged");
    assert_eq!(lab.lb().counters().redirected, 1);
    // Port 5000 is ours, and there is no connection: dropped.
    assert!(lab
        .send(1, &from_rs(0, &tcp(rs(0), 80, LADDR, 5000, SYN | ACK, 1, 2, &[])))
        .is_empty());
    assert_eq!(lab.drops(R::NoConn), 1);
    // On core 1, a redirected packet of no connection is dropped, never sent back.
    let cfg1 = BalancerConfig { core: 1, ..cfg };
    let mut lab1 = Lab::with(cfg1, snapshot(&[(&s, &d)], &[laddr(&s, LADDR)], &[]));
    lab1.p.input_redirected(VecBuf::from_slice(&reply), &carried, lab1.now, &mut lab1.io);
    assert_eq!(lab1.drops(R::NoConn), 1);
    assert_eq!(lab1.lb().counters().redirect_received, 1);
    assert_eq!(lab1.io.dropped.len(), 1);
}

/// Two cores of one director: a frame goes in on core `at`; a redirect is handed to the other
/// core as the worker does. Returns what was sent and by which core.
fn two_cores(
    labs: &mut [Lab; 2],
    at: usize,
    port: u16,
    frame: &[u8],
) -> Vec<(usize, u16, Vec<u8>)> {
    let mut out = Vec::new();
    let now = labs[at].now;
    let handed = labs[at].p.input(port, VecBuf::from_slice(frame), now, &mut labs[at].io);
    out.extend(labs[at].io.tx.drain(..).map(|(p, b)| (at, p, b.data().to_vec())));
    if let Some((b, core, carried)) = handed {
        assert_ne!(core, at, "never redirected to itself");
        let carried = across_the_ring(&labs[at], &b, &carried);
        let l = &mut labs[core];
        l.p.input_redirected(b, &carried, now, &mut l.io);
        out.extend(l.io.tx.drain(..).map(|(p, b)| (core, p, b.data().to_vec())));
    }
    out
}

#[test]
fn nat_connections_live_where_the_client_address_points_and_replies_find_them() {
    let s = svc(Protocol::Tcp, 80, "rr");
    let d = [dest(0, 8080, spec::FwdMethod::Masq, 1), dest(1, 8080, spec::FwdMethod::Masq, 1)];
    let snap = snapshot(&[(&s, &d)], &[], &[]);
    let cfg = |core| BalancerConfig {
        conn_capacity: 64,
        hash_seed: HashSeed::from_u64(9),
        ..BalancerConfig::new(core, 2)
    };
    let mut labs = [Lab::with(cfg(0), snap.clone()), Lab::with(cfg(1), snap)];
    // Whichever core RSS hands the SYN to, the connection is made on the same core, and the
    // real server's reply, arriving on either core, reaches it and is translated.
    for (syn_at, reply_at) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
        let cport = 40000 + (syn_at * 2 + reply_at) as u16;
        let out = two_cores(
            &mut labs,
            syn_at,
            0,
            &from_client(&tcp(CLIENT, cport, VIP, 80, SYN, 1, 0, &[])),
        );
        assert_eq!(out.len(), 1, "SYN forwarded once");
        let (owner, _, f) = &out[0];
        let to = seen(f);
        let n = if to.dst == rs(0) { 0 } else { 1 };
        let reply = from_rs(n, &tcp(rs(n), 8080, CLIENT, cport, SYN | ACK, 9, 2, &[]));
        let out = two_cores(&mut labs, reply_at, 1, &reply);
        assert_eq!(out.len(), 1, "reply translated once");
        assert_eq!(out[0].0, *owner, "by the core that owns the connection");
        let back = seen(&out[0].2);
        assert_eq!((back.src, back.sport, back.dst, back.dport), (VIP, 80, CLIENT, cport));
    }
    let conns: usize = labs.iter().map(|l| l.lb().conns_snapshot(l.now, 100).len()).sum();
    assert_eq!(conns, 4, "one connection per flow, none duplicated on the other core");
}

#[test]
fn nat_connections_keep_their_core_when_their_dest_or_service_goes() {
    // A NAT connection lives on the core its client address points to. Once its dest, the
    // service's last NAT dest, or the whole service is removed, it still runs until it ends:
    // its packets arriving on the other core, in both directions, must still reach it.
    let s = svc(Protocol::Tcp, 80, "rr");
    let nat = dest(0, 8080, spec::FwdMethod::Masq, 1);
    let dr = dest(1, 8080, spec::FwdMethod::Route, 1);
    let cfg = |core| BalancerConfig {
        conn_capacity: 64,
        hash_seed: HashSeed::from_u64(9),
        ..BalancerConfig::new(core, 2)
    };
    // The DR dest is quiescent at first, so the connection goes to the NAT dest.
    let before = [nat, dest(1, 8080, spec::FwdMethod::Route, 0)];
    let no_dest: [DestSpec; 0] = [];
    let only_dr = [dr];
    let afters = [
        ("last dest removed", snapshot(&[(&s, &no_dest)], &[], &[])),
        ("service deleted", snapshot(&[], &[], &[])),
        ("last NAT dest removed, a DR dest left", snapshot(&[(&s, &only_dr)], &[], &[])),
    ];
    for (what, after) in afters {
        let snap = snapshot(&[(&s, &before)], &[], &[]);
        let mut labs = [Lab::with(cfg(0), snap.clone()), Lab::with(cfg(1), snap)];
        let cport = 41000;
        // Find the owner: the SYN ends up there whichever core gets it.
        let out =
            two_cores(&mut labs, 0, 0, &from_client(&tcp(CLIENT, cport, VIP, 80, SYN, 1, 0, &[])));
        assert_eq!(out.len(), 1, "{what}: SYN forwarded");
        let owner = out[0].0;
        let other = 1 - owner;
        assert_eq!(seen(&out[0].2).dst, rs(0), "{what}: to the NAT dest");
        let synack = from_rs(0, &tcp(rs(0), 8080, CLIENT, cport, SYN | ACK, 9, 2, &[]));
        assert_eq!(two_cores(&mut labs, other, 1, &synack).len(), 1, "{what}: SYN-ACK");
        // The configuration changes (twice, so unreferenced slots are forgotten).
        for _ in 0..2 {
            for l in &mut labs {
                let now = l.now;
                l.p.set_services(after.clone(), now);
            }
        }
        // Client to server, arriving on the core that does not own the connection.
        let ack = from_client(&tcp(CLIENT, cport, VIP, 80, ACK, 2, 10, b"GET"));
        let out = two_cores(&mut labs, other, 0, &ack);
        assert_eq!(
            out.len(),
            1,
            "{what}: client data forwarded; {:?}",
            labs[other].io.drop_reasons()
        );
        assert_eq!(out[0].0, owner, "{what}: by the owner");
        let to = seen(&out[0].2);
        assert_eq!((to.dst, to.dport, to.payload.as_slice()), (rs(0), 8080, &b"GET"[..]));
        // Server to client, arriving on the other core too.
        let data = from_rs(0, &tcp(rs(0), 8080, CLIENT, cport, ACK, 10, 5, b"200"));
        let out = two_cores(&mut labs, other, 1, &data);
        assert_eq!(out.len(), 1, "{what}: reply forwarded; {:?}", labs[other].io.drop_reasons());
        assert_eq!(out[0].0, owner, "{what}: by the owner");
        let back = seen(&out[0].2);
        assert_eq!((back.src, back.sport, back.dst, back.dport), (VIP, 80, CLIENT, cport));
        assert_eq!(labs[other].drops(R::NoDest) + labs[other].drops(R::TcpNotSyn), 0);
    }
}

#[test]
fn fullnat_and_snat_client_packets_on_the_wrong_core_reach_the_owner() {
    // FULLNAT: whichever core takes the SYN and the client's later packets, one connection
    // exists, on the core the client address points to, and it forwards every packet.
    let s = svc(Protocol::Tcp, 80, "rr");
    let d = [dest(0, 8080, spec::FwdMethod::FullNat, 1)];
    let snap = snapshot(&[(&s, &d)], &[laddr(&s, LADDR)], &[]);
    let cfg = |core| BalancerConfig {
        conn_capacity: 64,
        hash_seed: HashSeed::from_u64(9),
        ..BalancerConfig::new(core, 2)
    };
    let mut labs = [Lab::with(cfg(0), snap.clone()), Lab::with(cfg(1), snap)];
    for (syn_at, data_at) in [(0, 1), (1, 0), (0, 0), (1, 1)] {
        let cport = 42000 + (syn_at * 2 + data_at) as u16;
        let syn = from_client(&tcp(CLIENT, cport, VIP, 80, SYN, 1, 0, &[]));
        let out = two_cores(&mut labs, syn_at, 0, &syn);
        assert_eq!(out.len(), 1, "SYN forwarded once");
        let owner = out[0].0;
        let data = from_client(&tcp(CLIENT, cport, VIP, 80, ACK, 2, 1, b"GET"));
        let out = two_cores(&mut labs, data_at, 0, &data);
        assert_eq!(out.len(), 1, "data forwarded; {:?}", labs[data_at].io.drop_reasons());
        assert_eq!(out[0].0, owner, "by the owner");
        assert_eq!(seen(&out[0].2).src, LADDR);
    }
    let conns: usize = labs.iter().map(|l| l.lb().conns_snapshot(l.now, 100).len()).sum();
    assert_eq!(conns, 4, "one connection per flow");
    for l in &labs {
        assert_eq!(l.drops(R::TcpNotSyn), 0);
    }
}
