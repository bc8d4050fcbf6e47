//! rvsd's client of BIRD's control socket (`[announce] bird_socket`, src/announce/bird.rs)
//! against the real BIRD 2 from Debian's bird2 (ci/deps installs it; without it this test fails
//! and says so). BIRD runs in a network namespace of its own (`unshare --net`), so its BGP
//! listener touches nothing of the host's; its control socket is a file, reachable from here.
//! The session's peer does not exist: BIRD reports it as not established, which is what the
//! test checks (the scale-out lab, ci/lab-tests/scale-dr.sh, sees an Established one).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rvs::announce::bird;

struct Bird(Child);

impl Drop for Bird {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn sessions_as_the_real_bird_reports_them() {
    let dir = std::env::temp_dir().join(format!("rvs-bird-real-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("bird.conf");
    let sock = dir.join("bird.ctl");
    std::fs::write(
        &conf,
        "router id 192.0.2.1;\n\
         protocol device { }\n\
         protocol bgp upstream { local 127.0.0.1 as 65100; neighbor 127.0.0.2 as 65000; passive on; }\n\
         protocol bgp second { local 127.0.0.1 as 65100; neighbor 127.0.0.3 as 65000; passive on; }\n",
    )
    .unwrap();
    let child = Command::new("unshare")
        .args(["--net", "bird", "-f", "-c"])
        .arg(&conf)
        .arg("-s")
        .arg(&sock)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("unshare/bird: {e}: install Debian's bird2 (ci/deps)"));
    let _bird = Bird(child);
    // BIRD answers once it has read its config and bound the socket (30 s at most).
    let deadline = Instant::now() + Duration::from_secs(30);
    let sessions = loop {
        match bird::sessions(&sock, Duration::from_secs(5)) {
            Ok(s) if s.len() == 2 => break s,
            other if Instant::now() > deadline => {
                panic!("BIRD never answered with both sessions: {other:?}")
            }
            _ => std::thread::sleep(Duration::from_millis(100)),
        }
    };
    assert_eq!(
        sessions.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        ["upstream", "second"]
    );
    for s in &sessions {
        assert!(!s.established, "{s:?}");
        assert_ne!(s.state, "up", "{s:?}");
        assert!(!s.info.is_empty(), "BIRD says what the session waits for: {s:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
