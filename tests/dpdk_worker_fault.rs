//! Worker liveness over the real rvsd (two workers on `net_null` ports): a worker made to panic,
//! or made to stop looping without returning (test-only hook `RVS_TEST_WORKER_FAULT`, compiled
//! with the `test-support` feature), makes rvsd log which worker and why, and exit non-zero on
//! its own so that a supervisor restarts it.

mod common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs rvsd with `fault` until it exits (60 s at most); returns its status code and stderr.
fn rvsd_with_fault(tag: &str, fault: &str) -> (Option<i32>, String) {
    let pid = std::process::id();
    let dir = std::env::temp_dir().join(format!("rvs-dpdk-fault-{tag}-{pid}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let extra = format!("\n[ctrl]\nsocket = \"{}\"\n", dir.join("rvs.sock").display());
    let cfg = common::two_worker_null_config(&format!("fault-{tag}"), "192.0.2.81", &extra);
    let cfg_path = dir.join("rvs.toml");
    std::fs::write(&cfg_path, cfg).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_rvsd"))
        .arg("-c")
        .arg(&cfg_path)
        .env("RVS_LOG", "info")
        .env("RVS_TEST_WORKER_FAULT", fault)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rvsd runs");
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("rvsd kept running with a faulty worker: {}", reader.join().unwrap());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let _ = std::fs::remove_dir_all(&dir);
    (status.code(), reader.join().unwrap())
}

#[test]
fn a_panicking_worker_ends_rvsd_with_a_failure_and_a_clear_line() {
    let (code, err) = rvsd_with_fault("panic", "panic:1:2000");
    assert!(err.contains("worker 1 running on lcore 2"), "the worker ran first:\n{err}");
    assert_ne!(code, Some(0), "rvsd must exit non-zero:\n{err}");
    assert!(
        err.contains(
            "worker 1 (lcore 2) panicked: test fault: worker 1 panics on purpose; \
             rvsd exits so that its supervisor restarts it"
        ),
        "{err}"
    );
}

#[test]
fn a_stuck_worker_ends_rvsd_with_a_failure_and_a_clear_line() {
    let (code, err) = rvsd_with_fault("stall", "stall:0:2000");
    assert!(err.contains("worker 0 running on lcore 1"), "the worker ran first:\n{err}");
    assert_ne!(code, Some(0), "rvsd must exit non-zero:\n{err}");
    assert!(err.contains("worker 0 (lcore 1) is stuck: no heartbeat for"), "{err}");
    assert!(err.contains("rvsd exits so that its supervisor restarts it"), "{err}");
}
