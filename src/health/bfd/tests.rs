//! The session thread against a BFD peer on loopback (a `rvs_core::bfd` session on its own
//! socket): it comes Up, goes Down with diag 1 when the peer falls silent, and ignores packets
//! whose TTL is not 255 or whose sender is no neighbour, counting them.

use super::*;
use crossbeam_channel::{bounded, Receiver};
use std::sync::atomic::AtomicBool;

const PEER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

fn instance(name: &str) -> BfdInstance {
    BfdInstance {
        name: name.into(),
        neighbor: PEER,
        source: Some(Ipv4Addr::LOCALHOST),
        min_rx_us: 20_000,
        min_tx_us: 20_000,
        idle_tx_us: 1_000_000,
        multiplier: 3,
        passive: false,
        ttl: 255,
        max_hops: 0,
    }
}

/// A BFD speaker on 127.0.0.2:`port`, until dropped.
struct Peer {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Peer {
    fn start(sock: UdpSocket, port: u16) -> Peer {
        sock.set_ttl(255).unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(5))).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::spawn(move || {
            let cfg = Config {
                min_tx: 20_000,
                min_rx: 20_000,
                idle_tx: 1_000_000,
                detect_mult: 3,
                passive: false,
            };
            let mut session = Session::new(cfg, 0xbeef, 7, time::now());
            let mut buf = [0u8; 128];
            while !s.load(Ordering::Relaxed) {
                let now = time::now();
                session.tick(now);
                if let Some(p) = session.transmit(now) {
                    let _ = sock.send_to(&p.to_bytes(), (Ipv4Addr::LOCALHOST, port));
                }
                if let Ok((n, _)) = sock.recv_from(&mut buf) {
                    if let Ok(p) = ControlPacket::parse(&buf[..n]) {
                        let _ = session.receive(&p, time::now());
                    }
                }
            }
        });
        Peer { stop, thread: Some(thread) }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn next(events: &Receiver<BfdEvent>, want: State) -> BfdEvent {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        match events.recv_timeout(left) {
            Ok(e) if e.state == want => return e,
            Ok(_) => {}
            Err(_) => break,
        }
    }
    panic!("no {want:?} event within 20 s");
}

#[test]
fn a_session_comes_up_goes_down_when_the_peer_stops_and_ignores_bad_ttls() {
    let peer_sock = UdpSocket::bind((PEER, 0)).unwrap();
    let port = peer_sock.local_addr().unwrap().port();
    let plan = BfdPlan { instances: vec![instance("rs1")], port };
    let (tx, events) = bounded(64);
    let stats = BfdStats::default();
    let bfd = Bfd::start(&plan, tx, stats.clone()).unwrap();
    let peer = Peer::start(peer_sock.try_clone().unwrap(), port);
    let up = next(&events, State::Up);
    assert_eq!(up.instance, 0);
    let s = stats.sessions();
    assert_eq!(s[0].state, State::Up);
    assert!(s[0].packets_in > 0 && s[0].packets_out > 0, "{s:?}");

    // A packet from the neighbour's address with TTL 64 (as if routed): counted, ignored.
    let hop = sock::tx_socket(Some(PEER), 1, 64).unwrap();
    let fake = ControlPacket {
        diag: Diag::None,
        state: State::AdminDown,
        poll: false,
        final_: false,
        cpi: false,
        demand: false,
        detect_mult: 3,
        my_discr: 0xbeef,
        your_discr: 0,
        desired_min_tx: 20_000,
        required_min_rx: 20_000,
        required_min_echo_rx: 0,
    };
    hop.send_to(&fake.to_bytes(), (Ipv4Addr::LOCALHOST, port)).unwrap();
    // From no neighbour (127.0.0.3, TTL 255): counted as unknown.
    let stranger = sock::tx_socket(Some(Ipv4Addr::new(127, 0, 0, 3)), 2, 255).unwrap();
    stranger.send_to(&fake.to_bytes(), (Ipv4Addr::LOCALHOST, port)).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while (stats.sessions()[0].bad[0] == 0 || stats.unknown() == 0)
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    let s = stats.sessions();
    assert_eq!(s[0].bad, [1, 0, 0, 0], "one bad TTL: {s:?}");
    assert_eq!(stats.unknown(), 1);
    // The AdminDown it carried changed nothing.
    assert_eq!(s[0].state, State::Up);
    assert!(events.try_recv().is_err(), "no event from ignored packets");

    drop(peer);
    let down = next(&events, State::Down);
    assert_eq!(down.diag, Diag::ControlDetectionTimeExpired);
    assert_eq!(stats.sessions()[0].downs, 1);

    // The peer comes back: Up again.
    let _peer = Peer::start(peer_sock, port);
    next(&events, State::Up);
    assert_eq!(stats.sessions()[0].ups, 2);
    bfd.stop();
}
