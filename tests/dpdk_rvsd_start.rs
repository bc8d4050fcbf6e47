//! rvsd's start failures: a bad config or a missing device ends the process with a non-zero
//! status and one closing line that says what to fix, and nothing is left running.

use std::process::Command;

fn rvsd(config: &str, tag: &str) -> (i32, String) {
    let dir = std::env::temp_dir().join(format!("rvs-start-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("rvs.toml");
    std::fs::write(&path, config).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_rvsd"))
        .arg("--config")
        .arg(&path)
        .env("RVS_LOG", "warn")
        .output()
        .expect("rvsd runs");
    let _ = std::fs::remove_dir_all(&dir);
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn last_line(s: &str) -> &str {
    s.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("")
}

const BASE: &str = r#"
[eal]
main_lcore = 0
no_huge = true
no_pci = true
memory_mb = 64
file_prefix = "rvs-start-PID"
vdevs = ["net_af_packet0,iface=rvs-no-such-if"]

[[port]]
name = "lan0"
device = "net_af_packet0"

[[addr]]
port = "lan0"
ip = "192.0.2.1/24"
kind = "host"

[[worker]]
lcore = 1
rx = [{ port = "lan0", queue = 0 }]
"#;

#[test]
fn start_failures_exit_nonzero_with_one_line_that_says_what_to_do() {
    let base = BASE.replace("PID", &std::process::id().to_string());

    // No such device: EAL cannot probe it.
    let (code, err) = rvsd(&base, "dev");
    assert_ne!(code, 0, "{err}");
    let line = last_line(&err);
    assert!(line.starts_with("rvsd: error: no such device 'net_af_packet0'"), "{line}");
    assert!(line.contains("[eal] vdevs"), "{line}");

    // An unknown key: refused before DPDK starts, naming the key and where it is.
    let (code, err) = rvsd(&base.replace("[[worker]]", "[[worker]]\nthreads = 4"), "key");
    assert_ne!(code, 0, "{err}");
    let line = last_line(&err);
    assert!(line.starts_with("rvsd: error:") && line.contains("threads"), "{line}");

    // An inconsistent setting: a queue the port does not have.
    let (code, err) = rvsd(&base.replace("queue = 0", "queue = 3"), "queue");
    assert_ne!(code, 0, "{err}");
    let line = last_line(&err);
    assert!(line.contains("worker[0].rx[0]"), "{line}");
}
