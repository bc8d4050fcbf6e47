//! Tests of [`ConnTable::install`]: connections a peer director reported.

use std::net::Ipv4Addr;
use std::time::Duration;

use super::*;
use crate::ipvs::proto::{ConnState, TcpState, UdpState};
use crate::time::Instant;
use crate::wire::{IpProtocol, TcpFlags};

const T0: Instant = Instant::from_secs(1000);
const CLIENT: (Ipv4Addr, u16) = (Ipv4Addr::new(10, 0, 0, 5), 40000);
const VIP: Ipv4Addr = Ipv4Addr::new(192, 168, 0, 38);
const RS: Ipv4Addr = Ipv4Addr::new(192, 168, 0, 18);
const LIP: Ipv4Addr = Ipv4Addr::new(172, 16, 0, 1);

fn table() -> ConnTable<Ipv4Addr> {
    ConnTable::new(16, HashSeed::from_u64(9), T0).unwrap()
}

fn spec(proto: IpProtocol, fwd: FwdMethod) -> ConnSpec<Ipv4Addr> {
    ConnSpec {
        key: ConnKey::new(proto, CLIENT.0, CLIENT.1, VIP, 80),
        dest_addr: (RS, 8080),
        local: (fwd == FwdMethod::FullNat).then_some((LIP, 5001)),
        fwd,
        dest: 2,
        svc: 1,
        template: None,
    }
}

fn never(_: &Conn<Ipv4Addr>) {
    panic!("nothing should be freed here");
}

#[test]
fn installed_connection_has_the_reported_state_and_timer() {
    let mut t = table();
    let est = ConnState::Tcp(TcpState::Established);
    let id = t.install(&spec(IpProtocol::TCP, FwdMethod::FullNat), est, 300, T0, never).unwrap();
    let e = t.get(id).unwrap();
    assert_eq!(e.state(), est);
    assert!(e.is_active());
    assert_eq!((e.laddr(), e.lport()), (LIP, 5001));
    assert_eq!(e.timeout_secs(), 300);
    assert!((299..=300).contains(&t.expires_in(e, T0)));
    // Both directions find it: the reply to the local address too.
    let reply = ConnKey::new(IpProtocol::TCP, RS, 8080, LIP, 5001);
    assert_eq!(t.lookup(&reply, T0), Some((id, Direction::Out)));
    // It expires on the reported timer, not the state's 900 s.
    assert_eq!(t.expire(T0 + Duration::from_secs(299), never), 0);
    let mut freed = 0;
    assert_eq!(t.expire(T0 + Duration::from_secs(302), |_| freed += 1), 1);
    assert_eq!(freed, 1);
    t.check_invariants();
}

#[test]
fn installed_connection_continues_as_an_ordinary_one() {
    let mut t = table();
    let est = ConnState::Tcp(TcpState::Established);
    let id = t.install(&spec(IpProtocol::TCP, FwdMethod::Masq), est, 0, T0, never).unwrap();
    // Timeout 0: the table's own for the state.
    assert_eq!(t.get(id).unwrap().timeout_secs(), t.timeouts().for_state(est));
    // A FIN from the client moves it on as it would a connection opened here.
    let tr = t.on_packet(id, Direction::In, TcpFlags::FIN | TcpFlags::ACK, 52, T0).unwrap();
    assert_eq!(tr.from, est);
    assert_eq!(tr.activity_change(), Some(false));
    t.check_invariants();
}

#[test]
fn install_refuses_a_live_tuple_and_a_foreign_state() {
    let mut t = table();
    let est = ConnState::Tcp(TcpState::Established);
    t.install(&spec(IpProtocol::TCP, FwdMethod::Masq), est, 60, T0, never).unwrap();
    assert_eq!(
        t.install(&spec(IpProtocol::TCP, FwdMethod::Masq), est, 60, T0, never),
        Err(InsertError::Exists)
    );
    let udp = ConnState::Udp(UdpState::Normal);
    assert_eq!(
        t.install(&spec(IpProtocol::TCP, FwdMethod::Route), udp, 60, T0, never),
        Err(InsertError::UnsupportedProtocol(6))
    );
    assert_eq!(t.len(), 1);
    let id = t.install(&spec(IpProtocol::UDP, FwdMethod::Route), udp, 60, T0, never).unwrap();
    assert_eq!(t.get(id).unwrap().state(), udp);
    t.check_invariants();
}
