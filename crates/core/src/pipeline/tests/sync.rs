//! Connection sync between two directors, sans-IO: director A's packet path reports a
//! connection, the report is batched into a sync message (protocol v1) and decoded, director B
//! installs it and continues the connection in both directions.

use crossbeam_channel::Receiver;

use super::common::*;
use crate::ipvs::balancer::{InstallError, Installed, SyncReports, SyncRule};
use crate::ipvs::proto::{ConnState, TcpState};
use crate::ipvs::sync::{Batcher, Learnt, Message, ReportQueue, SyncConn};

const CPORT: u16 = 51000;

/// Makes `lab`'s balancer report into a queue of `capacity`; returns the control side's end.
fn reporting(lab: &mut Lab, capacity: usize) -> Receiver<SyncConn> {
    let (queue, rx) = ReportQueue::bounded(capacity);
    let lb = lab.p.balancer_mut().unwrap();
    lb.set_sync_reports(Some(SyncReports { queue, rule: SyncRule::default(), sent: 0 }));
    rx
}

/// What the control side sends for the queued reports: v1 datagrams of at most 1500 bytes.
fn datagrams(rx: &Receiver<SyncConn>, now: Instant) -> Vec<Vec<u8>> {
    let mut b = Batcher::new(9, 1500, core::time::Duration::from_secs(1)).unwrap();
    let mut out: Vec<Vec<u8>> = rx.try_iter().filter_map(|c| b.push(&c, now)).collect();
    out.extend(b.flush());
    out
}

/// The receiving side: decodes every datagram and installs every entry on `lab`.
fn install_all(lab: &mut Lab, grams: &[Vec<u8>]) -> Vec<Result<Installed, InstallError>> {
    let now = lab.now;
    let lb = lab.p.balancer_mut().unwrap();
    let mut out = Vec::new();
    for g in grams {
        let m = Message::parse(g).expect("a message we encoded decodes");
        assert_eq!(m.syncid(), 9);
        for e in m.entries() {
            let learnt = Learnt::from_sync(&e.expect("entry decodes")).expect("takeable");
            out.push(lb.install(&learnt, now));
        }
    }
    out
}

/// The client's handshake and first data through `lab` (three client packets: the third is
/// the one the kernel's default threshold reports); returns the real server's view of the
/// SYN (the source it sees).
fn open(lab: &mut Lab, rs_port: u16) -> (Ipv4Addr, u16) {
    let (_, f) = lab.one(0, &from_client(&tcp(CLIENT, CPORT, VIP, 80, SYN, 100, 0, &[])));
    let s = seen(&f);
    assert_eq!((s.dst, s.dport), (rs(0), rs_port));
    let back = (s.src, s.sport);
    let synack = tcp(rs(0), rs_port, back.0, back.1, SYN | ACK, 500, 101, &[]);
    lab.one(1, &from_rs(0, &synack));
    lab.one(0, &from_client(&tcp(CLIENT, CPORT, VIP, 80, ACK, 101, 501, &[])));
    lab.one(0, &from_client(&tcp(CLIENT, CPORT, VIP, 80, ACK | PSH, 101, 501, b"GET /")));
    back
}

/// B continues the connection: the client's next segment reaches the real server from
/// `back`, and the server's answer to `back` reaches the client from the VIP.
fn continues(b: &mut Lab, rs_port: u16, back: (Ipv4Addr, u16)) {
    let seg = tcp(CLIENT, CPORT, VIP, 80, ACK | PSH, 106, 501, b"more");
    let (port, f) = b.one(0, &from_client(&seg));
    let s = seen(&f);
    assert_eq!(port, 1);
    assert_eq!((s.src, s.sport, s.dst, s.dport), (back.0, back.1, rs(0), rs_port));
    assert_eq!(s.payload, b"more");
    let answer = tcp(rs(0), rs_port, back.0, back.1, ACK | PSH, 501, 110, b"200 OK");
    let (port, f) = b.one(1, &from_rs(0, &answer));
    let s = seen(&f);
    assert_eq!(port, 0);
    assert_eq!((s.src, s.sport, s.dst, s.dport), (VIP, 80, CLIENT, CPORT));
    assert_eq!(s.payload, b"200 OK");
}

#[test]
fn fullnat_connection_survives_on_the_peer_with_its_local_port() {
    let mut a = fullnat_lab(None);
    let rx = reporting(&mut a, 16);
    let back = open(&mut a, 8080);
    assert_eq!(back.0, LADDR);
    let grams = datagrams(&rx, a.now);
    assert_eq!(grams.len(), 1, "one report: the third client packet");
    assert_eq!(a.lb().sync_report_counts(), Some((1, 0)));

    let mut b = fullnat_lab(None);
    let done = install_all(&mut b, &grams);
    assert!(matches!(done[..], [Ok(Installed::New(_))]), "{done:?}");
    assert_eq!(b.lb().conns_learnt(), 1);
    assert_eq!(b.states(), vec!["ESTABLISHED"]);
    assert_eq!(b.dest_counts(0), (1, 0));
    continues(&mut b, 8080, back);
    // The local port is B's now: a new connection on B is given another.
    let (_, f) = b.one(0, &from_client(&tcp(CLIENT, CPORT + 1, VIP, 80, SYN, 1, 0, &[])));
    let s = seen(&f);
    assert_eq!(s.src, LADDR);
    assert_ne!(s.sport, back.1, "the learnt connection's local port is in use");
}

#[test]
fn nat_connection_survives_on_the_peer() {
    let mut a = nat_lab("rr", &[1]);
    let rx = reporting(&mut a, 16);
    let back = open(&mut a, 8080);
    assert_eq!(back, (CLIENT, CPORT));
    let grams = datagrams(&rx, a.now);
    let mut b = nat_lab("rr", &[1]);
    let done = install_all(&mut b, &grams);
    assert!(matches!(done[..], [Ok(Installed::New(_))]), "{done:?}");
    continues(&mut b, 8080, back);
    assert_eq!(b.dest_counts(0), (1, 0));
}

#[test]
fn later_reports_update_the_learnt_connection() {
    let mut a = nat_lab("rr", &[1]);
    let rx = reporting(&mut a, 16);
    open(&mut a, 8080);
    let mut b = nat_lab("rr", &[1]);
    install_all(&mut b, &datagrams(&rx, a.now));
    assert_eq!(b.dest_counts(0), (1, 0));
    // The client closes on A: CLOSE_WAIT (IPVS's state for a client FIN) is reported at
    // once, and B follows.
    a.one(0, &from_client(&tcp(CLIENT, CPORT, VIP, 80, FIN | ACK, 106, 501, &[])));
    let grams = datagrams(&rx, a.now);
    assert_eq!(grams.len(), 1);
    let done = install_all(&mut b, &grams);
    assert!(matches!(done[..], [Ok(Installed::Updated(_))]), "{done:?}");
    assert_eq!(b.states(), vec!["CLOSE_WAIT"]);
    assert_eq!(b.dest_counts(0), (0, 1));
    assert_eq!(b.lb().conns_learnt(), 1);
}

#[test]
fn a_full_report_queue_drops_and_counts() {
    let mut a = nat_lab("rr", &[1]);
    let _rx = reporting(&mut a, 1);
    for cport in [41000, 41001] {
        a.one(0, &from_client(&tcp(CLIENT, cport, VIP, 80, SYN, 1, 0, &[])));
        for _ in 0..2 {
            a.one(0, &from_client(&tcp(CLIENT, cport, VIP, 80, ACK, 2, 1, &[])));
        }
    }
    assert_eq!(a.lb().sync_report_counts(), Some((1, 1)));
    // Forwarding went on regardless.
    assert_eq!(a.lb().conn_count(), 2);
}

#[test]
fn install_refuses_what_this_director_cannot_continue() {
    let mut b = nat_lab("rr", &[1]);
    let est = ConnState::Tcp(TcpState::Established);
    let mut l = Learnt {
        proto: IpProtocol::TCP,
        client: (CLIENT, CPORT),
        virt: (VIP, 81),
        dest_addr: (rs(0), 8080),
        local: None,
        fwd: spec::FwdMethod::Masq,
        state: est,
        timeout: 900,
    };
    let now = b.now;
    let lb = b.p.balancer_mut().unwrap();
    assert_eq!(lb.install(&l, now), Err(InstallError::NoService(VIP, 81)));
    l.virt.1 = 80;
    l.dest_addr = (rs(3), 8080);
    assert_eq!(lb.install(&l, now), Err(InstallError::NoDest(rs(3), 8080)));
    l.dest_addr = (rs(0), 8080);
    l.fwd = spec::FwdMethod::Route;
    assert!(matches!(lb.install(&l, now), Err(InstallError::Fwd { .. })));
    assert_eq!(lb.conn_count(), 0);
    assert_eq!(lb.conns_learnt(), 0);
}

#[test]
fn report_rule_follows_the_kernel_defaults() {
    let r = SyncRule::default();
    let tcp =
        |a, b| crate::ipvs::proto::Transition { from: ConnState::Tcp(a), to: ConnState::Tcp(b) };
    use TcpState::*;
    // Handshake states are never reported.
    assert!(!r.wants(tcp(None, SynRecv), 3));
    // ESTABLISHED: the third client packet, then every fiftieth.
    assert!(!r.wants(tcp(SynRecv, Established), 2));
    assert!(r.wants(tcp(Established, Established), 3));
    assert!(!r.wants(tcp(Established, Established), 4));
    assert!(r.wants(tcp(Established, Established), 53));
    // Into a closing state: at once.
    assert!(r.wants(tcp(Established, FinWait), 7));
    assert!(r.wants(tcp(FinWait, TimeWait), 9));
    assert!(!r.wants(tcp(FinWait, FinWait), 9));
    let udp = crate::ipvs::proto::Transition {
        from: ConnState::Udp(crate::ipvs::proto::UdpState::Normal),
        to: ConnState::Udp(crate::ipvs::proto::UdpState::Normal),
    };
    assert!(!r.wants(udp, 1));
    assert!(r.wants(udp, 3));
    assert!(r.wants(udp, 103));
    let once = SyncRule { threshold: 3, period: 0 };
    assert!(once.wants(udp, 3));
    assert!(!once.wants(udp, 53));
}
