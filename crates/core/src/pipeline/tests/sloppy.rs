//! Sloppy TCP (scale-out): a director that never saw a DR flow's SYN takes it up from a
//! mid-flow segment and, with `mh`, sends it to the real server the first director chose,
//! whatever order the two were given the real servers in.

use super::common::*;
use crate::ipvs::sched::SchedFlags;

fn mh_dr(sloppy: bool, order: &[u8], fwd: spec::FwdMethod) -> Lab {
    let mut s = svc(Protocol::Tcp, 80, "mh");
    s.flags = SchedFlags::MH_PORT;
    s.sloppy = sloppy;
    let d: Vec<_> = order.iter().map(|&n| dest(n, 80, fwd, 1)).collect();
    Lab::new(snapshot(&[(&s, &d)], &[], &[]))
}

/// The real server (by MAC) a forwarded frame went to.
fn rs_of(lab: &mut Lab, frame: &[u8]) -> MacAddr {
    let (port, f) = lab.one(0, &from_client(frame));
    assert_eq!(port, 1);
    seen(&f).dst_mac
}

#[test]
fn mid_flow_segments_follow_the_first_directors_choice() {
    let mut first = mh_dr(true, &[0, 1, 2, 3], spec::FwdMethod::Route);
    let mut second = mh_dr(true, &[3, 1, 0, 2], spec::FwdMethod::Route);
    let mut used = std::collections::HashSet::new();
    for i in 0..24u16 {
        let port = 40000 + i;
        let want = rs_of(&mut first, &tcp(CLIENT, port, VIP, 80, SYN, 1, 0, &[]));
        used.insert(want);
        let data = tcp(CLIENT, port, VIP, 80, ACK | PSH, 2, 1, b"mid-flow");
        assert_eq!(rs_of(&mut second, &data), want, "client port {port}");
        // Later segments use the connection the first one opened.
        assert_eq!(rs_of(&mut second, &tcp(CLIENT, port, VIP, 80, ACK, 10, 1, &[])), want);
    }
    assert!(used.len() > 1, "mh-port spreads the flows: {used:?}");
    let states = second.states();
    assert_eq!(states.len(), 24);
    assert!(states.iter().all(|s| *s == "ESTABLISHED"), "{states:?}");
    let active: u32 = (0..4).map(|n| second.dest_counts(n).0).sum();
    assert_eq!(active, 24, "taken-up connections count as active");
}

#[test]
fn without_sloppy_or_for_a_reset_or_nat_a_mid_flow_segment_is_dropped() {
    let ack = tcp(CLIENT, 40000, VIP, 80, ACK | PSH, 2, 1, b"x");
    let mut plain = mh_dr(false, &[0, 1], spec::FwdMethod::Route);
    assert!(plain.send(0, &from_client(&ack)).is_empty());
    assert_eq!(plain.drops(R::TcpNotSyn), 1);

    let mut sloppy = mh_dr(true, &[0, 1], spec::FwdMethod::Route);
    let rst = tcp(CLIENT, 40001, VIP, 80, RST | ACK, 2, 1, &[]);
    assert!(sloppy.send(0, &from_client(&rst)).is_empty());
    assert_eq!(sloppy.drops(R::TcpNotSyn), 1);
    assert!(sloppy.states().is_empty());

    // NAT cannot take over a flow: the real server's replies would come back to a director
    // that never translated them.
    let mut nat = mh_dr(true, &[0, 1], spec::FwdMethod::Masq);
    assert!(nat.send(0, &from_client(&ack)).is_empty());
    assert_eq!(nat.drops(R::TcpNotSyn), 1);
    assert!(nat.states().is_empty());
}
