//! Table entries to sync entries and back, through the codec.

use std::net::{Ipv4Addr, SocketAddr};

use super::*;
use crate::ipvs::conn::{ConnKey, ConnSpec, ConnTable, Direction, HashSeed};
use crate::ipvs::proto::{ConnState, TcpState, UdpState};
use crate::ipvs::spec::FwdMethod;
use crate::time::Instant;
use crate::wire::{IpProtocol, TcpFlags};

const T0: Instant = Instant::from_secs(1000);
const VIP: Ipv4Addr = Ipv4Addr::new(192, 168, 0, 38);
const RS: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 18);
const LIP: Ipv4Addr = Ipv4Addr::new(172, 16, 0, 1);
const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 5);

fn spec(proto: IpProtocol, fwd: FwdMethod, cport: u16) -> ConnSpec<Ipv4Addr> {
    ConnSpec {
        key: ConnKey::new(proto, CLIENT, cport, VIP, 80),
        dest_addr: (RS, 8080),
        local: (fwd == FwdMethod::FullNat).then_some((LIP, 40000 + cport)),
        fwd,
        dest: 0,
        svc: 0,
        template: None,
    }
}

/// Through the wire: encode, decode, learn.
fn relayed(c: &SyncConn) -> Learnt {
    let mut b = MessageBuilder::new(1, 1472).unwrap();
    b.push(c).unwrap();
    let got = Message::parse(b.bytes()).unwrap().entries().next().unwrap().unwrap();
    assert_eq!(&got, c);
    Learnt::from_sync(&got).unwrap()
}

#[test]
fn an_established_fullnat_connection_crosses_with_its_local_address() {
    let mut t = ConnTable::<Ipv4Addr>::new(64, HashSeed::from_u64(1), T0).unwrap();
    let id = t.insert(&spec(IpProtocol::TCP, FwdMethod::FullNat, 1), T0, |_| {}).unwrap();
    t.on_packet(id, Direction::In, TcpFlags::SYN, 60, T0);
    t.on_packet(id, Direction::Out, TcpFlags::SYN | TcpFlags::ACK, 60, T0);
    t.on_packet(id, Direction::In, TcpFlags::ACK, 52, T0);
    let conn = t.get(id).unwrap();
    let s = SyncConn::from_conn(conn).unwrap();
    assert_eq!((s.flags, s.state, s.protocol), (flags::MASQ, 1, 6));
    assert_eq!(s.local, Some(SocketAddr::from((LIP, 40001))));
    assert_eq!(s.timeout, conn.timeout_secs());
    let l = relayed(&s);
    assert_eq!(
        l,
        Learnt {
            proto: IpProtocol::TCP,
            client: (CLIENT, 1),
            virt: (VIP, 80),
            dest_addr: (RS, 8080),
            local: Some((LIP, 40001)),
            fwd: FwdMethod::FullNat,
            state: ConnState::Tcp(TcpState::Established),
            timeout: conn.timeout_secs(),
        }
    );
}

#[test]
fn every_forwarding_method_and_state_maps_both_ways() {
    let mut t = ConnTable::<Ipv4Addr>::new(64, HashSeed::from_u64(2), T0).unwrap();
    let fwds = [FwdMethod::Masq, FwdMethod::Route, FwdMethod::Tunnel, FwdMethod::FullNat];
    for (i, fwd) in fwds.into_iter().enumerate() {
        let cport = 10 + i as u16;
        // A SYN only: SYN_RECV, inactive.
        let id = t.insert(&spec(IpProtocol::TCP, fwd, cport), T0, |_| {}).unwrap();
        t.on_packet(id, Direction::In, TcpFlags::SYN, 60, T0);
        let s = SyncConn::from_conn(t.get(id).unwrap()).unwrap();
        assert_ne!(s.flags & flags::INACTIVE, 0);
        let l = relayed(&s);
        assert_eq!((l.fwd, l.state), (fwd, ConnState::Tcp(TcpState::SynRecv)));
        // UDP.
        let id = t.insert(&spec(IpProtocol::UDP, fwd, cport), T0, |_| {}).unwrap();
        let l = relayed(&SyncConn::from_conn(t.get(id).unwrap()).unwrap());
        assert_eq!(
            (l.proto, l.fwd, l.state),
            (IpProtocol::UDP, fwd, ConnState::Udp(UdpState::Normal))
        );
    }
    // Every TCP state number the kernel has is one of rvs's, in the same order.
    for (n, st) in TcpState::ALL.iter().enumerate() {
        let mut c = SyncConn::from_conn(t.iter().next().unwrap().1).unwrap();
        c.protocol = 6;
        c.state = n as u16;
        assert_eq!(Learnt::from_sync(&c).unwrap().state, ConnState::Tcp(*st));
    }
}

#[test]
fn what_cannot_be_continued_is_refused() {
    let mut t = ConnTable::<Ipv4Addr>::new(64, HashSeed::from_u64(3), T0).unwrap();
    let id = t.insert(&spec(IpProtocol::TCP, FwdMethod::Snat, 1), T0, |_| {}).unwrap();
    assert_eq!(SyncConn::from_conn(t.get(id).unwrap()), None, "the kernel has no SNAT");
    let id = t.insert(&spec(IpProtocol::TCP, FwdMethod::Masq, 2), T0, |_| {}).unwrap();
    let good = SyncConn::from_conn(t.get(id).unwrap()).unwrap();
    let with = |f: &dyn Fn(&mut SyncConn)| {
        let mut c = good.clone();
        f(&mut c);
        Learnt::from_sync(&c).unwrap_err()
    };
    assert_eq!(with(&|c| c.state = 11), LearnError::State { proto: 6, state: 11 });
    assert_eq!(
        with(&|c| {
            c.protocol = 17;
            c.state = 1
        }),
        LearnError::State { proto: 17, state: 1 }
    );
    assert_eq!(with(&|c| c.protocol = 132), LearnError::Protocol(132));
    assert_eq!(with(&|c| c.flags |= flags::TEMPLATE), LearnError::Template);
    assert_eq!(with(&|c| c.flags = flags::BYPASS), LearnError::Fwd(SyncFwd::Bypass));
    assert_eq!(
        with(&|c| c.addrs = SyncAddrs::V6 {
            caddr: "::1".parse().unwrap(),
            vaddr: "::2".parse().unwrap(),
            daddr: "::3".parse().unwrap()
        }),
        LearnError::Ipv6
    );
}
