//! Tests of the connection table through its public API.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use proptest::prelude::*;

use super::*;
use crate::wire::TcpFlags;

const FIN: TcpFlags = TcpFlags::FIN;
const SYN: TcpFlags = TcpFlags::SYN;
const RST: TcpFlags = TcpFlags::RST;
const PSH: TcpFlags = TcpFlags::PSH;
const ACK: TcpFlags = TcpFlags::ACK;
use crate::ipvs::proto::{ConnState, StateTimeouts, TcpState, UdpState};
use crate::time::Instant;
use crate::wire::IpProtocol;

const T0: Instant = Instant::from_secs(1000);

fn ip(d: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, d)
}
const VIP: Ipv4Addr = Ipv4Addr::new(192, 168, 0, 38);
const RS: Ipv4Addr = Ipv4Addr::new(192, 168, 0, 18);
const LIP: Ipv4Addr = Ipv4Addr::new(172, 16, 0, 1);

fn table(cap: u32) -> ConnTable<Ipv4Addr> {
    ConnTable::new(cap, HashSeed::from_u64(7), T0).unwrap()
}

fn spec(fwd: FwdMethod, client: (Ipv4Addr, u16)) -> ConnSpec<Ipv4Addr> {
    ConnSpec {
        key: ConnKey::new(IpProtocol::TCP, client.0, client.1, VIP, 80),
        dest_addr: (RS, 8080),
        local: if fwd.uses_local_addr() { Some((LIP, client.1)) } else { None },
        fwd,
        dest: 3,
        svc: 1,
        template: None,
    }
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn never(_: &Conn<Ipv4Addr>) {
    panic!("nothing should be freed here");
}

#[test]
fn entry_size() {
    assert_eq!(core::mem::size_of::<Conn<Ipv4Addr>>(), 84);
    assert!(core::mem::size_of::<Conn<Ipv6Addr>>() <= 132);
}

#[test]
fn bytes_per_connection_including_index() {
    // A capacity that fills the index's power-of-two bucket count well: 7/32 of 2^16, less 1.
    // 104-byte entries (88 before the per-direction cached L2 header) plus the index.
    let t = table(14_335);
    let per = t.memory_bytes() as f64 / 14_335.0;
    assert!(per <= 144.5, "{per} bytes per connection");
    // A power-of-two capacity is the unlucky case (index buckets double).
    let t = table(16_384);
    let per = t.memory_bytes() as f64 / 16_384.0;
    assert!(per <= 146.0, "{per} bytes per connection");
}

#[test]
fn construction_errors() {
    assert_eq!(
        ConnTable::<Ipv4Addr>::new(0, HashSeed::from_u64(1), T0).unwrap_err(),
        ConnTableError::Capacity(0)
    );
    let e = ConnTable::<Ipv4Addr>::new(u32::MAX, HashSeed::from_u64(1), T0).unwrap_err();
    assert!(e.to_string().contains("use 1 to"), "{e}");
}

#[test]
fn nat_lookup_both_directions() {
    let mut t = table(8);
    let id = t.insert(&spec(FwdMethod::Masq, (ip(5), 5000)), T0, never).unwrap();
    assert_eq!(
        t.lookup(&ConnKey::new(IpProtocol::TCP, ip(5), 5000, VIP, 80), T0),
        Some((id, Direction::In))
    );
    assert_eq!(
        t.lookup(&ConnKey::new(IpProtocol::TCP, RS, 8080, ip(5), 5000), T0),
        Some((id, Direction::Out))
    );
    // Other protocol, port or address: miss.
    assert_eq!(t.lookup(&ConnKey::new(IpProtocol::UDP, ip(5), 5000, VIP, 80), T0), None);
    assert_eq!(t.lookup(&ConnKey::new(IpProtocol::TCP, ip(5), 5001, VIP, 80), T0), None);
    assert_eq!(t.lookup(&ConnKey::new(IpProtocol::TCP, ip(6), 5000, VIP, 80), T0), None);
    assert_eq!(t.stats().hits, 2);
    assert_eq!(t.stats().misses, 3);
    let e = t.get(id).unwrap();
    assert_eq!((e.dest(), e.svc(), e.fwd()), (3, 1, FwdMethod::Masq));
    assert_eq!(e.state(), ConnState::Tcp(TcpState::None));
    assert!(!e.is_active());
    assert_eq!(t.len(), 1);
    t.check_invariants();
}

#[test]
fn fullnat_out_tuple_uses_local_address_and_dr_indexes_in_only() {
    let mut t = table(8);
    let f = t.insert(&spec(FwdMethod::FullNat, (ip(5), 5000)), T0, never).unwrap();
    assert_eq!(
        t.lookup(&ConnKey::new(IpProtocol::TCP, RS, 8080, LIP, 5000), T0),
        Some((f, Direction::Out))
    );
    assert_eq!(t.lookup(&ConnKey::new(IpProtocol::TCP, RS, 8080, ip(5), 5000), T0), None);

    let mut dr = spec(FwdMethod::Route, (ip(6), 6000));
    dr.dest_addr = (RS, 80);
    let d = t.insert(&dr, T0, never).unwrap();
    assert_eq!(
        t.lookup(&ConnKey::new(IpProtocol::TCP, ip(6), 6000, VIP, 80), T0),
        Some((d, Direction::In))
    );
    assert_eq!(t.lookup(&ConnKey::new(IpProtocol::TCP, RS, 80, ip(6), 6000), T0), None);
    assert!(t.get(d).unwrap().flags().contains(ConnFlags::NO_OUTPUT));
    assert!(!t.get(f).unwrap().flags().contains(ConnFlags::NO_OUTPUT));
    t.check_invariants();
}

#[test]
fn duplicate_live_tuple_is_refused() {
    let mut t = table(8);
    t.insert(&spec(FwdMethod::Masq, (ip(5), 5000)), T0, never).unwrap();
    assert_eq!(
        t.insert(&spec(FwdMethod::Masq, (ip(5), 5000)), T0, never),
        Err(InsertError::Exists)
    );
    // Another client whose out tuple collides (same local port towards the same RS) too.
    let mut s = spec(FwdMethod::FullNat, (ip(9), 9000));
    s.local = Some((ip(5), 5000));
    assert_eq!(t.insert(&s, T0, never), Err(InsertError::Exists));
    assert_eq!(t.len(), 1);
    t.check_invariants();
}

#[test]
fn full_table_refuses_and_counts() {
    let mut t = table(2);
    t.insert(&spec(FwdMethod::Masq, (ip(1), 1)), T0, never).unwrap();
    t.insert(&spec(FwdMethod::Masq, (ip(2), 2)), T0, never).unwrap();
    let e = t.insert(&spec(FwdMethod::Masq, (ip(3), 3)), T0, never).unwrap_err();
    assert_eq!(e, InsertError::TableFull { capacity: 2 });
    assert_eq!(e.to_string(), "connection table full (2 entries)");
    assert_eq!(t.stats().table_full, 1);
    assert_eq!(t.stats().inserts, 2);
    t.check_invariants();
}

#[test]
fn expired_entry_is_evicted_on_full_insert() {
    let mut t = table(2);
    let a = t.insert(&spec(FwdMethod::Masq, (ip(1), 1)), T0, never).unwrap();
    t.on_packet(a, Direction::In, SYN, 60, T0).unwrap(); // SYN_RECV: 60 s
    let b = t.insert(&spec(FwdMethod::Masq, (ip(2), 2)), T0, never).unwrap();
    t.on_packet(b, Direction::In, SYN, 60, T0 + secs(30)).unwrap(); // until T0 + 90 s
    let now = T0 + secs(61);
    // `a` is dead but not reaped: lookups no longer see it.
    assert_eq!(t.lookup(&ConnKey::new(IpProtocol::TCP, ip(1), 1, VIP, 80), now), None);
    let mut freed = vec![];
    let c = t.insert(&spec(FwdMethod::Masq, (ip(3), 3)), now, |e| freed.push(e.caddr())).unwrap();
    assert_eq!(freed, [ip(1)]);
    assert_eq!(c, a); // the slot was reused
    assert_eq!(t.stats().evicted, 1);
    assert_eq!(t.len(), 2);
    // Nothing else is dead: the next insert is refused.
    assert!(matches!(
        t.insert(&spec(FwdMethod::Masq, (ip(4), 4)), now, never),
        Err(InsertError::TableFull { .. })
    ));
    t.check_invariants();
}

#[test]
fn dead_entry_with_same_tuple_is_replaced() {
    let mut t = table(4);
    let a = t.insert(&spec(FwdMethod::Masq, (ip(1), 1)), T0, never).unwrap();
    let now = T0 + secs(2); // NONE lasts 2 s
    let mut freed = 0;
    let b = t
        .insert(&spec(FwdMethod::Masq, (ip(1), 1)), now, |e| {
            assert_eq!(e.caddr(), ip(1));
            freed += 1;
        })
        .unwrap();
    assert_eq!(freed, 1);
    assert_eq!(
        t.lookup(&ConnKey::new(IpProtocol::TCP, ip(1), 1, VIP, 80), now),
        Some((b, Direction::In))
    );
    let _ = a;
    t.check_invariants();
}

#[test]
fn tcp_nat_lifecycle_states_timeouts_and_activity() {
    let mut t = table(8);
    let id = t.insert(&spec(FwdMethod::Masq, (ip(5), 5000)), T0, never).unwrap();
    let steps: [(Direction, TcpFlags, TcpState, u32, Option<bool>); 8] = [
        (Direction::In, SYN, TcpState::SynRecv, 60, None),
        (Direction::Out, SYN | ACK, TcpState::SynRecv, 60, None),
        (Direction::In, ACK, TcpState::Established, 900, Some(true)),
        (Direction::In, ACK | PSH, TcpState::Established, 900, None),
        (Direction::Out, ACK | PSH, TcpState::Established, 900, None),
        (Direction::In, FIN | ACK, TcpState::CloseWait, 60, Some(false)),
        (Direction::Out, FIN | ACK, TcpState::TimeWait, 120, None),
        (Direction::In, ACK, TcpState::TimeWait, 120, None),
    ];
    for (i, (dir, fl, want, timeout, change)) in steps.into_iter().enumerate() {
        let now = T0 + secs(i as u64);
        let tr = t.on_packet(id, dir, fl, 100, now).unwrap();
        assert_eq!(tr.to, ConnState::Tcp(want), "step {i}");
        assert_eq!(tr.activity_change(), change, "step {i}");
        let e = t.get(id).unwrap();
        assert_eq!(e.timeout_secs(), timeout, "step {i}");
        assert_eq!(t.expires_in(e, now), timeout, "step {i}");
    }
    let e = t.get(id).unwrap();
    assert_eq!(e.counters.in_pkts, 5);
    // Expires exactly 120 s after the last packet (at T0 + 7 s).
    let last = T0 + secs(7);
    assert_eq!(t.expire(last + secs(119) + Duration::from_millis(900), never), 0);
    let mut gone = vec![];
    assert_eq!(t.expire(last + secs(120), |e| gone.push(e.state())), 1);
    assert_eq!(gone, [ConnState::Tcp(TcpState::TimeWait)]);
    assert!(t.get(id).is_none());
    assert!(t.is_empty());
    assert_eq!(t.stats().expired, 1);
    t.check_invariants();
}

#[test]
fn rst_closes_and_shortens_the_timer() {
    let mut t = table(8);
    let id = t.insert(&spec(FwdMethod::Masq, (ip(5), 5000)), T0, never).unwrap();
    t.on_packet(id, Direction::In, SYN, 60, T0);
    t.on_packet(id, Direction::Out, SYN | ACK, 60, T0);
    t.on_packet(id, Direction::In, ACK, 60, T0); // ESTABLISHED, 900 s, in wheel level 1
    let tr = t.on_packet(id, Direction::Out, RST, 40, T0 + secs(1)).unwrap();
    assert_eq!(tr.to, ConnState::Tcp(TcpState::Close));
    assert_eq!(tr.activity_change(), Some(false));
    // The earlier deadline is honoured, not the old 900 s one.
    assert_eq!(t.expire(T0 + secs(10), never), 0);
    assert_eq!(t.expire(T0 + secs(11), |_| {}), 1);
}

#[test]
fn dr_uses_input_only_table_until_a_reply_is_seen() {
    let mut t = table(8);
    let mut s = spec(FwdMethod::Route, (ip(5), 5000));
    s.dest_addr = (RS, 80);
    let id = t.insert(&s, T0, never).unwrap();
    for fl in [SYN, ACK, ACK | PSH] {
        t.on_packet(id, Direction::In, fl, 60, T0);
    }
    assert_eq!(t.get(id).unwrap().state(), ConnState::Tcp(TcpState::Established));
    // Client FIN: input-only goes to FIN_WAIT (input would say CLOSE_WAIT).
    t.on_packet(id, Direction::In, FIN | ACK, 60, T0);
    assert_eq!(t.get(id).unwrap().state(), ConnState::Tcp(TcpState::FinWait));

    // A TUN connection that sees a reply (it happens with asymmetric routes) switches over.
    let mut s = spec(FwdMethod::Tunnel, (ip(6), 6000));
    s.dest_addr = (RS, 80);
    let id = t.insert(&s, T0, never).unwrap();
    t.on_packet(id, Direction::In, SYN, 60, T0);
    t.on_packet(id, Direction::Out, SYN | ACK, 60, T0);
    assert!(!t.get(id).unwrap().flags().contains(ConnFlags::NO_OUTPUT));
    t.on_packet(id, Direction::In, ACK, 60, T0);
    t.on_packet(id, Direction::In, FIN | ACK, 60, T0);
    assert_eq!(t.get(id).unwrap().state(), ConnState::Tcp(TcpState::CloseWait));
}

#[test]
fn flagless_packet_moves_to_close() {
    let mut t = table(8);
    let id = t.insert(&spec(FwdMethod::Masq, (ip(5), 5000)), T0, never).unwrap();
    t.on_packet(id, Direction::In, SYN, 60, T0);
    let tr = t.on_packet(id, Direction::In, PSH, 60, T0).unwrap();
    assert_eq!(tr.to, ConnState::Tcp(TcpState::Close));
    assert_eq!(t.get(id).unwrap().timeout_secs(), 10);
}

#[test]
fn set_timeouts_apply_on_next_packet() {
    let mut t = table(8);
    let id = t.insert(&spec(FwdMethod::Masq, (ip(5), 5000)), T0, never).unwrap();
    for (d, fl) in [(Direction::In, SYN), (Direction::Out, SYN | ACK), (Direction::In, ACK)] {
        t.on_packet(id, d, fl, 60, T0);
    }
    assert_eq!(t.get(id).unwrap().timeout_secs(), 900);
    let mut to = *t.timeouts();
    to.set(crate::ipvs::spec::Timeouts { tcp: 30, tcpfin: 0, udp: 0 }).unwrap();
    t.set_timeouts(to);
    assert_eq!(
        t.timeouts().ipvsadm(),
        crate::ipvs::spec::Timeouts { tcp: 30, ..Default::default() }
    );
    assert_eq!(t.get(id).unwrap().timeout_secs(), 900);
    t.on_packet(id, Direction::In, ACK, 60, T0 + secs(1));
    assert_eq!(t.get(id).unwrap().timeout_secs(), 30);
    assert_eq!(t.expire(T0 + secs(31), |_| {}), 1);
}

#[test]
fn udp_flow() {
    let mut t = table(8);
    let mut s = spec(FwdMethod::Masq, (ip(5), 5353));
    s.key.proto = IpProtocol::UDP;
    let id = t.insert(&s, T0, never).unwrap();
    let tr = t.on_packet(id, Direction::In, TcpFlags(0xff), 100, T0).unwrap();
    assert_eq!(tr.to, ConnState::Udp(UdpState::Normal));
    assert_eq!(tr.activity_change(), None);
    assert!(!t.get(id).unwrap().is_active());
    assert_eq!(t.get(id).unwrap().timeout_secs(), 300);
    t.on_packet(id, Direction::Out, TcpFlags(0), 100, T0 + secs(200));
    assert_eq!(t.expire(T0 + secs(499), never), 0);
    assert_eq!(t.expire(T0 + secs(500), |_| {}), 1);
    let info_state = ConnState::Udp(UdpState::Normal).name();
    assert_eq!(info_state, "UDP");
}

#[test]
fn unsupported_protocol_and_bad_ids() {
    let mut t = table(8);
    let mut s = spec(FwdMethod::Masq, (ip(5), 1));
    s.key.proto = IpProtocol::GRE;
    assert_eq!(t.insert(&s, T0, never), Err(InsertError::UnsupportedProtocol(47)));
    let mut s = spec(FwdMethod::Masq, (ip(5), 1));
    s.template = Some(ConnId::from_index(3));
    assert_eq!(t.insert(&s, T0, never), Err(InsertError::NoSuchTemplate));
    s.template = Some(ConnId::from_index(u32::MAX));
    assert_eq!(t.insert(&s, T0, never), Err(InsertError::NoSuchTemplate));
    let bogus = ConnId::from_index(u32::MAX);
    assert!(t.get(bogus).is_none());
    assert!(t.on_packet(bogus, Direction::In, SYN, 1, T0).is_none());
    assert!(!t.remove(bogus, never));
    assert!(!t.refresh(bogus, T0));
    assert!(t.on_packet(ConnId::from_index(2), Direction::In, SYN, 1, T0).is_none());
    t.check_invariants();
}

fn tkey(client: Ipv4Addr) -> TemplateKey<Ipv4Addr> {
    TemplateKey::new(IpProtocol::TCP, client, Ipv4Addr::prefix_mask(24), VIP, 80)
}

fn tspec(client: Ipv4Addr, timeout: u32) -> TemplateSpec<Ipv4Addr> {
    TemplateSpec { key: tkey(client), dest_addr: (RS, 80), dest: 3, svc: 1, timeout_secs: timeout }
}

#[test]
fn template_sticks_a_client_network() {
    let mut t = table(8);
    let tid = t.template_insert(&tspec(ip(5), 300), T0, never).unwrap();
    // Any client of 10.0.0.0/24 finds it; another network does not.
    assert_eq!(t.template_lookup(&tkey(ip(77)), T0), Some(tid));
    assert_eq!(t.template_lookup(&tkey(Ipv4Addr::new(10, 0, 1, 5)), T0), None);
    // A template is not a connection: a connection lookup of its tuple misses.
    assert_eq!(t.lookup(&ConnKey::new(IpProtocol::TCP, ip(0), 0, VIP, 80), T0), None);
    // Same key twice: refused.
    assert_eq!(t.template_insert(&tspec(ip(9), 300), T0, never), Err(InsertError::Exists));
    let e = t.get(tid).unwrap();
    assert!(e.is_template());
    assert!(!e.is_active());
    assert_eq!(e.dest(), 3);
    t.check_invariants();
}

#[test]
fn idle_template_expires_at_its_timeout() {
    let mut t = table(8);
    t.template_insert(&tspec(ip(5), 300), T0, never).unwrap();
    assert_eq!(t.expire(T0 + secs(299), never), 0);
    assert!(t.template_lookup(&tkey(ip(5)), T0 + secs(299)).is_some());
    assert!(t.template_lookup(&tkey(ip(5)), T0 + secs(300)).is_none());
    let mut gone = vec![];
    assert_eq!(t.expire(T0 + secs(300), |e| gone.push(e.is_template())), 1);
    assert_eq!(gone, [true]);
    assert!(t.is_empty());
}

#[test]
fn template_outlives_its_connections() {
    let mut t = table(8);
    let tid = t.template_insert(&tspec(ip(5), 60), T0, never).unwrap();
    let mut s = spec(FwdMethod::Masq, (ip(5), 5000));
    s.template = Some(tid);
    let c = t.insert(&s, T0 + secs(10), never).unwrap(); // refreshes the template to T0+70
    assert_eq!(t.get(tid).unwrap().controlled(), 1);
    assert_eq!(t.get(c).unwrap().template(), Some(tid));
    for (d, fl) in [(Direction::In, SYN), (Direction::Out, SYN | ACK), (Direction::In, ACK)] {
        t.on_packet(c, d, fl, 60, T0 + secs(10));
    }
    // The template's own timeout passes while the connection lives: it stays and is found.
    assert_eq!(t.expire(T0 + secs(200), never), 0);
    assert_eq!(t.template_lookup(&tkey(ip(5)), T0 + secs(200)), Some(tid));
    assert!(t
        .lookup(&ConnKey::new(IpProtocol::TCP, ip(5), 5000, VIP, 80), T0 + secs(200))
        .is_some());
    // The connection ends (RST -> CLOSE, 10 s).
    t.on_packet(c, Direction::In, RST, 40, T0 + secs(200));
    let mut gone = vec![];
    t.expire(T0 + secs(210), |e| gone.push(e.is_template()));
    assert_eq!(gone, [false]);
    assert_eq!(t.get(tid).unwrap().controlled(), 0);
    // The template was re-armed for a full timeout when it fired at T0+70, then every 60 s;
    // it goes at its next firing with no connection left.
    t.expire(T0 + secs(400), |e| gone.push(e.is_template()));
    assert_eq!(gone, [false, true]);
    assert!(t.is_empty());
    t.check_invariants();
}

#[test]
fn invalidated_template_leaves_index_and_frees_with_last_connection() {
    let mut t = table(8);
    let tid = t.template_insert(&tspec(ip(5), 300), T0, never).unwrap();
    let mut s = spec(FwdMethod::Masq, (ip(5), 5000));
    s.template = Some(tid);
    let c = t.insert(&s, T0, never).unwrap();
    assert!(t.remove(tid, never));
    assert!(!t.remove(tid, never)); // already invalidated
    assert_eq!(t.template_lookup(&tkey(ip(5)), T0), None);
    assert_eq!(t.len(), 2);
    // No new connection may attach to it.
    let mut s2 = spec(FwdMethod::Masq, (ip(5), 5001));
    s2.template = Some(tid);
    assert_eq!(t.insert(&s2, T0, never), Err(InsertError::NoSuchTemplate));
    // A new template for the same network can be created meanwhile.
    let tid2 = t.template_insert(&tspec(ip(6), 300), T0, never).unwrap();
    t.check_invariants();
    let mut gone = vec![];
    assert!(t.remove(c, |e| gone.push((e.is_template(), e.dest()))));
    assert_eq!(gone, [(false, 3), (true, 3)]);
    assert_eq!(t.len(), 1);
    assert!(t.get(tid2).is_some());
    t.check_invariants();
}

#[test]
fn snapshot_rows() {
    let mut t = table(8);
    let c = t.insert(&spec(FwdMethod::Masq, (ip(5), 51234)), T0, never).unwrap();
    for (d, fl) in [(Direction::In, SYN), (Direction::Out, SYN | ACK), (Direction::In, ACK)] {
        t.on_packet(c, d, fl, 60, T0);
    }
    t.insert(&spec(FwdMethod::FullNat, (ip(6), 6000)), T0, never).unwrap();
    t.template_insert(&tspec(ip(7), 300), T0, never).unwrap();
    let rows = t.snapshot(T0 + Duration::from_millis(1500), 10);
    assert_eq!(rows.len(), 3);
    let sa = |a: Ipv4Addr, p| SocketAddr::new(a.into(), p);
    assert_eq!(
        rows[0],
        ConnInfo {
            proto: IpProtocol::TCP,
            state: "ESTABLISHED",
            expire_secs: 898,
            client: sa(ip(5), 51234),
            virt: sa(VIP, 80),
            dest: sa(RS, 8080),
            local: None,
            fwd: FwdMethod::Masq,
            template: false,
            counters: ConnCounters { in_pkts: 2 },
        }
    );
    assert_eq!(rows[0].proto_name(), "TCP");
    assert_eq!(rows[1].state, "NONE");
    assert_eq!(rows[1].expire_secs, 0);
    assert_eq!(rows[1].local, Some(sa(LIP, 6000)));
    assert!(rows[2].template);
    assert_eq!(rows[2].state, "NONE");
    assert_eq!(rows[2].client, sa(ip(0), 0));
    assert_eq!(rows[2].dest, sa(RS, 80));
    assert_eq!(rows[2].expire_secs, 298);
    assert_eq!(t.snapshot(T0, 2).len(), 2);
}

#[test]
fn ipv6_table() {
    let c: Ipv6Addr = "2001:db8::5".parse().unwrap();
    let v: Ipv6Addr = "2001:db8::80".parse().unwrap();
    let r: Ipv6Addr = "2001:db8:1::18".parse().unwrap();
    let mut t = ConnTable::<Ipv6Addr>::new(4, HashSeed::from_u64(3), T0).unwrap();
    let s = ConnSpec {
        key: ConnKey::new(IpProtocol::TCP, c, 40000, v, 443),
        dest_addr: (r, 443),
        local: None,
        fwd: FwdMethod::Masq,
        dest: 0,
        svc: 0,
        template: None,
    };
    let id = t.insert(&s, T0, |_| panic!("nothing to free")).unwrap();
    assert_eq!(
        t.lookup(&ConnKey::new(IpProtocol::TCP, r, 443, c, 40000), T0),
        Some((id, Direction::Out))
    );
    let tk = TemplateKey::new(IpProtocol::TCP, c, Ipv6Addr::prefix_mask(64), v, 0);
    assert_eq!(tk.client_net, "2001:db8::".parse::<Ipv6Addr>().unwrap());
    t.check_invariants();
}

#[derive(Debug, Clone)]
enum Op {
    Insert { client: u8, port: u8, fwd: u8, udp: bool, tmpl: bool },
    Template { client: u8, timeout: u16 },
    Packet { pick: u8, out: bool, flags: u8 },
    Lookup { client: u8, port: u8 },
    Remove { pick: u8 },
    Advance { ms: u32 },
    Expire { max: u8 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..6, 0u8..4, 0u8..5, any::<bool>(), any::<bool>())
            .prop_map(|(client, port, fwd, udp, tmpl)| Op::Insert { client, port, fwd, udp, tmpl }),
        1 => (0u8..6, 0u16..400).prop_map(|(client, timeout)| Op::Template { client, timeout }),
        5 => (any::<u8>(), any::<bool>(), any::<u8>()).prop_map(|(pick, out, flags)| Op::Packet { pick, out, flags }),
        2 => (0u8..6, 0u8..4).prop_map(|(client, port)| Op::Lookup { client, port }),
        1 => any::<u8>().prop_map(|pick| Op::Remove { pick }),
        3 => prop_oneof![0u32..500, 0u32..20_000, 0u32..1_000_000].prop_map(|ms| Op::Advance { ms }),
        2 => (0u8..4).prop_map(|max| Op::Expire { max }),
    ]
}

const FWDS: [FwdMethod; 5] =
    [FwdMethod::Masq, FwdMethod::Route, FwdMethod::Tunnel, FwdMethod::FullNat, FwdMethod::Snat];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    /// Random packet and control sequences never panic, keep every structural invariant, and
    /// report every entry that leaves exactly once.
    #[test]
    fn random_sequences_keep_invariants(ops in proptest::collection::vec(op(), 1..150)) {
        let mut t = table(12);
        let mut now = T0;
        let mut inserted = 0u64;
        let mut freed = 0u64;
        let mut live_ids: Vec<ConnId> = vec![];
        for op in ops {
            match op {
                Op::Insert { client, port, fwd, udp, tmpl } => {
                    let fwd = FWDS[fwd as usize];
                    let mut s = spec(fwd, (ip(client), 1000 + u16::from(port)));
                    if udp { s.key.proto = IpProtocol::UDP; }
                    if tmpl {
                        s.template = t.template_lookup(&TemplateKey::new(s.key.proto, ip(client), Ipv4Addr::prefix_mask(24), VIP, 80), now);
                    }
                    match t.insert(&s, now, |_| freed += 1) {
                        Ok(id) => {
                            inserted += 1;
                            live_ids.push(id);
                            prop_assert_eq!(t.lookup(&ConnKey::new(s.key.proto, s.key.saddr, s.key.sport, VIP, 80), now), Some((id, Direction::In)));
                        }
                        Err(InsertError::Exists) => {
                            let (la, lp) = s.local.unwrap_or((s.key.saddr, s.key.sport));
                            let in_live = t.lookup(&ConnKey::new(s.key.proto, s.key.saddr, s.key.sport, VIP, 80), now).is_some();
                            let out_live = t.lookup(&ConnKey::new(s.key.proto, RS, 8080, la, lp), now).is_some();
                            prop_assert!(in_live || (fwd.sees_replies() && out_live));
                        }
                        Err(InsertError::TableFull { .. }) => prop_assert_eq!(t.len(), t.capacity()),
                        Err(e) => prop_assert!(false, "unexpected {e}"),
                    }
                }
                Op::Template { client, timeout } => {
                    let mut ts = tspec(ip(client), u32::from(timeout));
                    ts.key.proto = if client % 2 == 0 { IpProtocol::TCP } else { IpProtocol::UDP };
                    if let Ok(id) = t.template_insert(&ts, now, |_| freed += 1) {
                        inserted += 1;
                        live_ids.push(id);
                    }
                }
                Op::Packet { pick, out, flags } => {
                    if !live_ids.is_empty() {
                        let id = live_ids[pick as usize % live_ids.len()];
                        let dir = if out { Direction::Out } else { Direction::In };
                        let was = t.get(id).map(|e| (e.is_template(), e.state()));
                        let tr = t.on_packet(id, dir, TcpFlags(flags), 100, now);
                        match was {
                            Some((false, st)) => {
                                let tr = tr.unwrap();
                                prop_assert_eq!(tr.from, st);
                                prop_assert_eq!(t.get(id).unwrap().state(), tr.to);
                            }
                            _ => prop_assert!(tr.is_none()),
                        }
                    }
                }
                Op::Lookup { client, port } => {
                    if let Some((id, Direction::In)) = t.lookup(&ConnKey::new(IpProtocol::TCP, ip(client), 1000 + u16::from(port), VIP, 80), now) {
                        prop_assert_eq!(t.get(id).unwrap().caddr(), ip(client));
                    }
                }
                Op::Remove { pick } => {
                    if !live_ids.is_empty() {
                        let id = live_ids[pick as usize % live_ids.len()];
                        t.remove(id, |_| freed += 1);
                    }
                }
                Op::Advance { ms } => now = now + Duration::from_millis(u64::from(ms)),
                Op::Expire { max } => {
                    if max == 0 { t.expire(now, |_| freed += 1); } else { t.expire_at_most(now, u32::from(max), |_| freed += 1); }
                }
            }
            live_ids.retain(|&id| t.get(id).is_some());
            t.check_invariants();
            prop_assert_eq!(inserted, freed + u64::from(t.len()));
        }
        // Everything goes eventually once packets stop: connections within 900 s; a template
        // firing while it still controls one is re-armed from the time passed in, so it goes
        // at most one timeout (< 400 s) after that.
        let end = now + Duration::from_secs(901);
        t.expire(end, |_| freed += 1);
        t.expire(end + Duration::from_secs(401), |_| freed += 1);
        prop_assert!(t.is_empty(), "{} left", t.len());
        prop_assert_eq!(inserted, freed);
        t.check_invariants();
    }
}

#[test]
fn timeouts_default_used_by_new_table() {
    assert_eq!(*table(1).timeouts(), StateTimeouts::default());
}

#[test]
fn index_never_reallocates_under_churn_at_full_load() {
    // Keep the table full and replace entries over and over: deletions leave tombstones in
    // the index, which must be recycled in place, never by growing.
    let cap = 256u32;
    let mut t = table(cap);
    let bytes = t.memory_bytes();
    let mut ids = vec![];
    for i in 0..cap {
        let s = spec(FwdMethod::FullNat, (ip((i % 250) as u8), i as u16));
        ids.push(t.insert(&s, T0, never).unwrap());
    }
    let mut port = 10_000u16;
    for round in 0..200_000u32 {
        let k = (round.wrapping_mul(2_654_435_761) % cap) as usize;
        assert!(t.remove(ids[k], |_| {}));
        port = port.wrapping_add(1);
        let s = spec(FwdMethod::FullNat, (ip((round % 250) as u8), port));
        ids[k] = t.insert(&s, T0, never).unwrap();
        assert_eq!(t.memory_bytes(), bytes, "round {round}");
    }
    assert_eq!(t.len(), cap);
    t.check_invariants();
}

#[test]
fn expire_at_most_bounds_the_work() {
    let mut t = table(16);
    for i in 0..10 {
        t.insert(&spec(FwdMethod::Masq, (ip(i), 1)), T0, never).unwrap();
    }
    let later = T0 + secs(5);
    assert_eq!(t.expire_at_most(later, 3, |_| {}), 3);
    assert_eq!(t.len(), 7);
    assert_eq!(t.expire_at_most(later, 100, |_| {}), 7);
    assert!(t.is_empty());
    assert_eq!(t.stats().expired, 10);
}
