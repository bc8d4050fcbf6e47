//! The health threads against real servers on 127.0.0.1 and a control plane over a fake data
//! plane: a failing check changes the table the control plane runs, and only that.

use super::*;
use crate::ctrl::control::tests::FakeDp;
use crate::ctrl::control::Control;
use crate::ctrl::table::ServiceTable;
use crate::health::plan::{
    CheckKind, DestPlan, HttpCheck, HttpProtocol, MiscCheck, ServicePlan, SorryPlan, Timing,
    UrlCheck,
};
use crate::ipvs::service::BuildOptions;
use crate::ipvs::spec::{DestSpec, FwdMethod, Protocol, ServiceKey};
use crate::proto::{Request, Response};
use crate::rvsadm::cli::parse;
use crate::rvsadm::names::NoNames;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::Mutex;
use std::time::Instant as StdInstant;

fn key() -> ServiceKey {
    ServiceKey { proto: Protocol::Tcp, addr: "10.0.0.100".parse().unwrap(), port: 80 }
}

fn timing() -> Timing {
    Timing {
        delay_loop: Duration::from_millis(150),
        timeout: Duration::from_millis(300),
        retry: 0,
        delay_before_retry: Duration::from_millis(50),
        warmup: Duration::ZERO,
    }
}

/// An HTTP responder answering 200 "ok" until dropped; the listener closes with it.
struct Web {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl Web {
    fn start(addr: &str) -> Web {
        let l = TcpListener::bind(addr).unwrap();
        l.set_nonblocking(true).unwrap();
        let addr = l.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match l.accept() {
                    Ok((mut c, _)) => {
                        let _ = c.set_nonblocking(false);
                        let _ = c.set_read_timeout(Some(Duration::from_millis(500)));
                        let mut b = [0u8; 1024];
                        let _ = c.read(&mut b);
                        let _ = c.write_all(b"HTTP/1.0 200 OK\r\n\r\nok\n");
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Web { addr, stop }
    }
}

impl Drop for Web {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn http_dest(addr: SocketAddr, weight: u32) -> DestPlan {
    DestPlan {
        spec: DestSpec { fwd: FwdMethod::Masq, weight, ..DestSpec::new(addr.ip(), addr.port()) },
        inhibit_on_failure: false,
        alpha: false,
        notify_up: None,
        notify_down: None,
        checkers: vec![CheckerPlan {
            kind: CheckKind::Http(HttpCheck {
                urls: vec![UrlCheck {
                    path: "/".into(),
                    status: vec![(200, 299)],
                    digest: None,
                    regex: None,
                    regex_no_match: false,
                    virtualhost: None,
                }],
                protocol: HttpProtocol::V10,
            }),
            timing: timing(),
            target: addr,
            bind: None,
            alpha: false,
        }],
    }
}

fn control_for(dests: &[&DestPlan]) -> Arc<Mutex<Control<FakeDp>>> {
    let mut t = ServiceTable::new();
    let mut lines = vec!["rvsadm -A -t 10.0.0.100:80 -s wrr".to_string()];
    for d in dests {
        lines.push(format!(
            "rvsadm -a -t 10.0.0.100:80 -r {}:{} -m -w {}",
            d.spec.addr, d.spec.port, d.spec.weight
        ));
    }
    for l in &lines {
        let argv: Vec<&str> = l.split_whitespace().collect();
        t.apply(&parse(&argv, &NoNames).unwrap().into_change().expect("a change")).unwrap();
    }
    Arc::new(Mutex::new(Control::new(t, Vec::new(), BuildOptions::default(), FakeDp::default())))
}

/// (address, port, weight) of the service's dests, sorted.
fn dests(c: &Arc<Mutex<Control<FakeDp>>>) -> Vec<(String, u32)> {
    let c = c.lock().unwrap();
    let mut v: Vec<_> = c.table().services()[0]
        .dests
        .iter()
        .map(|d| (format!("{}:{}", d.spec.addr, d.spec.port), d.spec.weight))
        .collect();
    v.sort();
    v
}

fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) -> Duration {
    let start = StdInstant::now();
    while start.elapsed() < limit {
        if f() {
            return start.elapsed();
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("{what}: not within {limit:?}");
}

fn plan(dests: Vec<DestPlan>, sorry: Option<SorryPlan>) -> HealthPlan {
    HealthPlan {
        services: vec![ServicePlan {
            key: key(),
            quorum: 1,
            hysteresis: 0,
            quorum_up: None,
            quorum_down: None,
            sorry,
            dests,
        }],
        ..Default::default()
    }
}

#[test]
fn a_stopped_server_leaves_the_table_and_comes_back() {
    let a = Web::start("127.0.0.1:0");
    let b = Web::start("127.0.0.1:0");
    let (da, db) = (http_dest(a.addr, 2), http_dest(b.addr, 1));
    let control = control_for(&[&da, &db]);
    let board = Board::new();
    let h = Health::start(plan(vec![da, db], None), control.clone(), board.clone(), 4).unwrap();
    let mut both = vec![(a.addr.to_string(), 2), (b.addr.to_string(), 1)];
    both.sort();
    wait_until("first checks", Duration::from_secs(30), || {
        board.rows().iter().all(|r| r.checkers.iter().all(|c| c.checks > 0))
    });
    assert_eq!(dests(&control), both);
    let pushed = control.lock().unwrap().table().clone();
    let a_addr = a.addr;
    drop(a);
    // Waited for, not timed (how soon retry 0 acts is the engine's, tested on its own clock in
    // engine/tests.rs): the failed checks take it out, and only it.
    wait_until("dest a removed", Duration::from_secs(30), || dests(&control).len() == 1);
    assert_eq!(dests(&control), vec![(b.addr.to_string(), 1)]);
    assert_ne!(control.lock().unwrap().table(), &pushed);
    let row = board.rows().into_iter().find(|r| r.port == a_addr.port()).unwrap();
    assert_eq!(row.state(), "DOWN");
    assert!(row.checkers[0].last_error.is_some(), "{row:?}");
    // Back on the same port: restored with its configured weight.
    let _a = Web::start(&a_addr.to_string());
    wait_until("dest a back", Duration::from_secs(30), || dests(&control).len() == 2);
    assert_eq!(dests(&control), both);
    h.stop();
}

#[test]
fn all_servers_down_brings_in_the_sorry_server_and_operator_changes_stay() {
    let a = Web::start("127.0.0.1:0");
    let da = http_dest(a.addr, 1);
    let control = control_for(&[&da]);
    let sorry =
        DestSpec { fwd: FwdMethod::Masq, ..DestSpec::new("127.0.0.9".parse().unwrap(), 8080) };
    let sorry_plan = SorryPlan { spec: sorry, inhibit: false };
    let board = Board::new();
    let h =
        Health::start(plan(vec![da], Some(sorry_plan)), control.clone(), board.clone(), 2).unwrap();
    let a_addr = a.addr;
    drop(a);
    wait_until("sorry server in", Duration::from_secs(30), || {
        dests(&control) == vec![("127.0.0.9:8080".to_string(), 1)]
    });
    let _a = Web::start(&a_addr.to_string());
    wait_until("real server back", Duration::from_secs(30), || {
        dests(&control) == vec![(a_addr.to_string(), 1)]
    });
    // An operator's weight change on an up dest stays: checks act on transitions only.
    let edit = format!("rvsadm -e -t 10.0.0.100:80 -r {a_addr} -m -w 7");
    let argv: Vec<&str> = edit.split_whitespace().collect();
    let r = control
        .lock()
        .unwrap()
        .handle(Request::Apply(parse(&argv, &NoNames).unwrap().into_change().expect("a change")));
    assert_eq!(r, Response::Ok(crate::proto::Reply::Done));
    // Three more successful checks of it (events, not a sleep) leave the operator's weight alone.
    let checks = || {
        let rows = board.rows();
        rows.iter()
            .find(|r| r.port == a_addr.port() && !r.sorry)
            .map_or(0, |r| r.checkers[0].checks)
    };
    let c0 = checks();
    wait_until("three more checks", Duration::from_secs(30), || checks() >= c0 + 3);
    assert_eq!(dests(&control), vec![(a_addr.to_string(), 7)]);
    h.stop();
}

#[test]
fn a_script_check_sets_the_weight() {
    let dir = std::env::temp_dir().join(format!("rvs-runner-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let code = dir.join("code");
    std::fs::write(&code, "7\n").unwrap();
    let addr: SocketAddr = "127.0.0.1:8081".parse().unwrap();
    let mut d = http_dest(addr, 1);
    d.checkers[0].kind = CheckKind::Misc(MiscCheck {
        path: format!("exit $(cat {})", code.display()),
        dynamic: true,
        user: None,
        script_security: false,
    });
    let control = control_for(&[&d]);
    let h = Health::start(plan(vec![d], None), control.clone(), Board::new(), 1).unwrap();
    // Exit 7: weight 5.
    wait_until("weight 5", Duration::from_secs(30), || {
        dests(&control) == vec![(addr.to_string(), 5)]
    });
    std::fs::write(&code, "12\n").unwrap();
    wait_until("weight 10", Duration::from_secs(30), || {
        dests(&control) == vec![(addr.to_string(), 10)]
    });
    std::fs::write(&code, "1\n").unwrap();
    wait_until("removed", Duration::from_secs(30), || dests(&control).is_empty());
    h.stop();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_silent_server_does_not_hold_up_the_others() {
    // Accepts connections (the kernel does) and never answers: its first check waits for a
    // timeout longer than the test, so it is in flight the whole time.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let fast = Web::start("127.0.0.1:0");
    let mut ds = http_dest(silent.local_addr().unwrap(), 1);
    ds.checkers[0].timing.timeout = Duration::from_secs(600);
    let df = http_dest(fast.addr, 1);
    let control = control_for(&[&ds, &df]);
    let board = Board::new();
    let h = Health::start(plan(vec![ds, df], None), control, board.clone(), 2).unwrap();
    let checks = |port: u16| {
        board.rows().iter().find(|r| r.port == port).map_or(0, |r| r.checkers[0].checks)
    };
    let (sp, fp) = (silent.local_addr().unwrap().port(), fast.addr.port());
    // Five checks of the fast one complete while the silent one's first is still waiting. With two
    // probe threads this also shows the silent one never had a second check in flight (both
    // threads would be blocked, and the fast one starved).
    wait_until("five checks of the fast server", Duration::from_secs(30), || checks(fp) >= 5);
    assert_eq!(checks(sp), 0, "the silent server's check completed");
    let rows = board.rows();
    assert_eq!(rows.iter().find(|r| r.port == fp).unwrap().state(), "UP");
    // Its probe thread stays blocked until the timeout; stop does not wait for probes.
    h.stop();
}

/// A BFD_CHECK takes its dest out when the session's peer falls silent and brings it back when
/// the peer speaks again; an alpha dest waits for its session's first Up.
#[test]
fn a_bfd_check_follows_its_session() {
    use crate::health::plan::{BfdCheck, BfdInstance, BfdPlan};
    use rvs_core::bfd::{Config as BfdConfig, ControlPacket, Session};
    use std::net::{Ipv4Addr, UdpSocket};
    let peer_ip = Ipv4Addr::new(127, 0, 0, 4);
    let sock = UdpSocket::bind((peer_ip, 0)).unwrap();
    let port = sock.local_addr().unwrap().port();
    let addr: SocketAddr = (peer_ip, 80).into();
    let mut d = http_dest(addr, 1);
    d.checkers = vec![CheckerPlan {
        kind: CheckKind::Bfd(BfdCheck { name: "rs".into(), instance: 0 }),
        timing: Timing { retry: 0, ..timing() },
        target: (peer_ip, 0).into(),
        bind: None,
        alpha: true,
    }];
    let control = control_for(&[&d]);
    let mut p = plan(vec![d], None);
    p.bfd = BfdPlan {
        instances: vec![BfdInstance {
            name: "rs".into(),
            neighbor: peer_ip,
            source: Some(Ipv4Addr::LOCALHOST),
            min_rx_us: 20_000,
            min_tx_us: 20_000,
            idle_tx_us: 1_000_000,
            multiplier: 3,
            passive: false,
            ttl: 255,
            max_hops: 0,
        }],
        port,
    };
    let board = Board::new();
    let h = Health::start(p, control.clone(), board.clone(), 1).unwrap();
    // alpha: out until the session is Up.
    wait_until("alpha dest removed", Duration::from_secs(30), || dests(&control).is_empty());
    sock.set_ttl(255).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(5))).unwrap();
    let cfg = BfdConfig {
        min_tx: 20_000,
        min_rx: 20_000,
        idle_tx: 1_000_000,
        detect_mult: 3,
        passive: false,
    };
    let speak = |until: &dyn Fn() -> bool| {
        let mut s = Session::new(cfg, 77, 3, time::now());
        let mut buf = [0u8; 128];
        let start = StdInstant::now();
        while !until() && start.elapsed() < Duration::from_secs(30) {
            let now = time::now();
            s.tick(now);
            if let Some(p) = s.transmit(now) {
                let _ = sock.send_to(&p.to_bytes(), (Ipv4Addr::LOCALHOST, port));
            }
            if let Ok((n, _)) = sock.recv_from(&mut buf) {
                if let Ok(p) = ControlPacket::parse(&buf[..n]) {
                    let _ = s.receive(&p, time::now());
                }
            }
        }
    };
    speak(&|| dests(&control).len() == 1);
    assert_eq!(dests(&control), vec![(addr.to_string(), 1)]);
    let rows = board.rows();
    assert!(rows[0].alive && rows[0].checkers[0].kind == "BFD_CHECK", "{rows:?}");
    // Silent peer: the detection time takes the dest out.
    wait_until("dest removed", Duration::from_secs(30), || dests(&control).is_empty());
    assert!(board.rows()[0].checkers[0].last_error.as_deref().unwrap_or("").contains("Down"));
    speak(&|| dests(&control).len() == 1);
    assert_eq!(dests(&control).len(), 1);
    let text = crate::metrics::render(&crate::metrics::MetricsSource::families(&board));
    assert!(
        text.contains("rvs_bfd_session_downs_total{instance=\"rs\",neighbor=\"127.0.0.4\"} 1"),
        "{text}"
    );
    h.stop();
}
