//! Health checks over an in-process director (two workers on `net_null`): a check failing
//! against a real TCP listener on 127.0.0.1 (reached through `connect_ip`/`connect_port`) takes
//! its dest out of what every worker runs, and the listener coming back restores it; rvsadm's
//! `-L -n --health` shows the state over the control socket.

mod common;

use rvs::config::Config;
use rvs::ctrl::control::Control;
use rvs::ctrl::server::{Server, ServerConfig};
use rvs::daemon::Director;
use rvs::health::board::Board;
use rvs::health::runner::Health;
use rvs::ipvs::service::BuildOptions;
use rvs_tools::rvsadm::names::NoNames;
use rvs_tools::rvsadm::run as rvsadm;
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn run(sock: &Path, line: &str) -> (i32, String) {
    let argv: Vec<String> = line.split_whitespace().map(str::to_string).collect();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = rvsadm::run(&argv, &mut "".as_bytes(), &mut out, &mut err, sock, &NoNames);
    (code, String::from_utf8_lossy(&out).into_owned())
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(5) {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{what}: not within 5 s");
}

#[test]
fn a_failing_check_changes_what_every_worker_runs() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let services = format!(
        r#"
[[service]]
proto = "tcp"
vip = "192.0.2.100:80"
scheduler = "rr"
delay_loop = 0.2
connect_timeout = 0.3
retry = 0
warmup = 0

[[service.dest]]
addr = "192.0.2.12:80"
weight = 3
[service.dest.tcp_check]
connect_ip = "127.0.0.1"
connect_port = {port}

[[service.dest]]
addr = "192.0.2.13:80"
"#
    );
    let cfg =
        Config::from_toml_str(&common::two_worker_null_config("health", "192.0.2.100", &services))
            .expect("valid test config");
    let director = Director::start(&cfg).expect("director starts on net_null");
    let board = Board::new();
    let control = Control::new(
        cfg.services().clone(),
        cfg.snat_rules().to_vec(),
        BuildOptions::default(),
        director.control(),
    )
    .with_health(board.clone());
    let control = Arc::new(Mutex::new(control));
    let sock = std::env::temp_dir().join(format!("rvs-health-{}/rvs.sock", std::process::id()));
    let server = Server::start_shared(ServerConfig::new(&sock), control.clone()).unwrap();
    let health = Health::start(cfg.health().clone(), control, board.clone(), 2).unwrap();

    let live = |addr: &str| {
        director.reports().expect("reports").iter().all(|(_, dests)| {
            dests.iter().any(|d| d.addr.to_string() == addr && d.port == 80 && d.live)
        })
    };
    wait_until("first check", || {
        board.rows().iter().any(|r| r.checkers.first().is_some_and(|c| c.checks > 0))
    });
    assert!(live("192.0.2.12") && live("192.0.2.13"));
    let (code, out) = run(&sock, "rvsadm -L -n --health");
    assert_eq!(code, 0);
    assert!(
        out.contains("  -> 192.0.2.12:80                Route   3      0          0          UP\n"),
        "{out}"
    );
    assert!(
        out.contains("  -> 192.0.2.13:80                Route   1      0          0          -\n"),
        "{out}"
    );
    let generation = director.generation();

    drop(listener);
    wait_until("dest out of every worker's snapshot", || !live("192.0.2.12"));
    assert!(live("192.0.2.13"));
    assert!(director.generation() > generation, "the change reached the workers");
    let (_, out) = run(&sock, "rvsadm -L -n");
    assert!(!out.contains("192.0.2.12"), "{out}");
    let (_, out) = run(&sock, "rvsadm -L -n --health");
    assert!(out.contains("  -> 192.0.2.12:80                -       -      -          -          DOWN (TCP_CHECK: connect 127.0.0.1:"), "{out}");

    let _listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    wait_until("dest back on every worker", || live("192.0.2.12"));
    let (_, out) = run(&sock, "rvsadm -L -n");
    assert!(out.contains("  -> 192.0.2.12:80                Route   3 "), "{out}");

    health.stop();
    server.stop();
    director.shutdown().expect("clean shutdown");
}
