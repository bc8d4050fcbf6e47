//! The metrics endpoint of a real rvsd (two workers on `net_null` ports) under abuse: many idle
//! connections, a huge request head and a client that never reads its response. Scrapes still
//! answer, rvsd's exporter threads stay within their bound, and SIGTERM stops rvsd (exit 0)
//! while the abusive connections are still open.
//!
//! One EAL per process: this file holds a single test.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

/// `[metrics]`'s default connection bound (metrics::server::Limits) plus the accept thread.
const MAX_EXPORTER_THREADS: usize = 8 + 1;

use common::rvsd::Rvsd;

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    l.local_addr().unwrap().port()
}

fn scrape(addr: SocketAddr) -> Option<String> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

/// Threads of `pid` whose name starts with `rvs-metrics`.
fn exporter_threads(pid: u32) -> usize {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return 0 };
    tasks
        .filter_map(Result::ok)
        .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
        .filter(|c| c.starts_with("rvs-metrics"))
        .count()
}

#[test]
fn scrapes_answer_under_abuse_and_sigterm_does_not_wait_for_clients() {
    let dir = Rvsd::scratch("dpdk-metrics-abuse");
    let port = free_port();
    let extra = format!(
        "\n[ctrl]\nsocket = \"{}\"\n\n[metrics]\nlisten = \"127.0.0.1:{port}\"\n",
        dir.join("rvs.sock").display()
    );
    let cfg = common::two_worker_null_config("metrics-abuse", "192.0.2.80", &extra);
    let mut rvsd = Rvsd::spawn(&dir, &cfg);
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(st) = rvsd.child.try_wait().unwrap() {
            panic!("rvsd exited early: {st}");
        }
        if scrape(addr).is_some_and(|b| b.starts_with("HTTP/1.0 200")) {
            break;
        }
        assert!(Instant::now() < deadline, "the metrics endpoint did not answer in 60 s");
        std::thread::sleep(Duration::from_millis(200));
    }

    // Abuse: 64 idle connections, a client that sends a request and never reads, a huge head.
    let mut held: Vec<TcpStream> = (0..64).filter_map(|_| TcpStream::connect(addr).ok()).collect();
    let mut non_reader = TcpStream::connect(addr).unwrap();
    non_reader.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").unwrap();
    let mut big = TcpStream::connect(addr).unwrap();
    let mut head = b"GET /metrics HTTP/1.0\r\nX-Big: ".to_vec();
    head.extend(vec![b'a'; 256 * 1024]);
    let _ = big.write_all(&head);
    held.push(big);
    for round in 0..5 {
        let body = scrape(addr).unwrap_or_default();
        assert!(body.starts_with("HTTP/1.0 200"), "scrape {round} under abuse: {body}");
        assert!(body.contains("rvs_"), "scrape {round} carries the families");
        let threads = exporter_threads(rvsd.child.id());
        assert!(threads <= MAX_EXPORTER_THREADS, "{threads} exporter threads");
        held.extend(TcpStream::connect(addr).ok());
    }

    // SIGTERM with every abusive connection still open: rvsd exits 0 on its own.
    let st = Command::new("kill").args(["-TERM", &rvsd.child.id().to_string()]).status().unwrap();
    assert!(st.success());
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(st) = rvsd.child.try_wait().unwrap() {
            break st;
        }
        assert!(Instant::now() < deadline, "rvsd did not stop on SIGTERM while clients held on");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "rvsd exited with {status}");
    drop(held);
    drop(non_reader);
}
