use super::*;
use crate::ipvs::synproxy::segment::SynOpts;

fn cfg(pending: u32) -> SynProxyConfig {
    SynProxyConfig { pending, hold_bytes: 8, keys: [[1; 16], [2; 16]], ..SynProxyConfig::new() }
}

fn pend(conn: u32, deadline: Instant) -> Pending {
    Pending {
        conn,
        cookie_isn: 1,
        client_isn: 2,
        cookie_ts: None,
        client_tsval: 0,
        client_win: 1000,
        syn: SynOpts { mss: 1460, wscale: None, sack: false, ts: None },
        held: 0,
        deadline,
    }
}

#[test]
fn handshake_table_is_bounded_and_holds_data_once() {
    let t0 = Instant::from_secs(1);
    let mut p = SynProxy::new(cfg(2), t0);
    p.enable(16);
    let mut c = SynProxyCounters::default();
    let a = p.start(pend(3, t0), b"hello", &mut c).unwrap();
    assert_eq!(p.held(a), b"hello");
    assert!(!p.hold(a, b"more", &mut c), "one held segment per handshake");
    let b = p.start(pend(4, t0), b"far too long for the hold area", &mut c).unwrap();
    assert_eq!(p.held(b), b"");
    assert!(p.hold(b, b"fits", &mut c));
    assert_eq!(p.held(b), b"fits");
    assert!(p.start(pend(5, t0), b"", &mut c).is_none(), "full");
    assert_eq!(p.conn(3).unwrap().pending, a);
    assert!(p.pending(a, 4).is_none() && p.pending(a, 3).is_some());
    p.finish(a);
    assert_eq!(p.conn(3).unwrap().pending, NO_PENDING);
    assert_eq!(p.pending_count(), 1);
    assert!(p.start(pend(5, t0), b"", &mut c).is_some());
    assert_eq!(c.data_held, 2);
    assert_eq!(c.pending_drops, 1);
}

#[test]
fn sweep_gives_up_on_silent_servers_only() {
    let t0 = Instant::from_secs(1);
    let mut p = SynProxy::new(cfg(4), t0);
    p.enable(16);
    let mut c = SynProxyCounters::default();
    let late = Instant::from_secs(5);
    p.start(pend(1, late), b"", &mut c).unwrap();
    let done = p.start(pend(2, late), b"", &mut c).unwrap();
    p.start(pend(3, Instant::from_secs(100)), b"", &mut c).unwrap();
    p.finish(done);
    let mut gone = Vec::new();
    p.sweep(Instant::from_secs(4), 4, &mut c, |c| gone.push(c));
    assert!(gone.is_empty());
    p.sweep(Instant::from_secs(6), 4, &mut c, |c| gone.push(c));
    assert_eq!(gone, vec![1]);
    assert_eq!(c.server_timeouts, 1);
    assert_eq!(p.pending_count(), 1);
}

#[test]
fn synack_bucket_limits_per_core() {
    let t0 = Instant::from_secs(1);
    let mut p = SynProxy::new(SynProxyConfig { synack_rate: 10, synack_burst: 3, ..cfg(1) }, t0);
    let sent = (0..10).filter(|_| p.take_synack(t0)).count();
    assert_eq!(sent, 3);
    assert!(p.take_synack(t0 + Duration::from_millis(100)));
}
