//! `MISC_CHECK`: a script's exit status. 0 is up, anything else down; with `misc_dynamic`,
//! 2 to 255 are up too and set the weight to status - 2. The command line runs through
//! `/bin/sh -c` in its own process group, with RVS_DEST_ADDR and RVS_DEST_PORT set; on the
//! timeout (`misc_timeout`) the whole group is killed and the check fails.

use crate::health::plan::MiscCheck;
use crate::health::state::CheckResult;
use std::net::SocketAddr;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What an exit status means.
pub fn interpret(code: i32, dynamic: bool) -> CheckResult {
    match code {
        0 => CheckResult::Success { weight: None },
        2..=255 if dynamic => CheckResult::Success { weight: Some((code - 2) as u32) },
        c => CheckResult::Failure(format!("exit status {c}")),
    }
}

/// One `MISC_CHECK`, ended by `deadline`.
pub fn check(m: &MiscCheck, target: SocketAddr, deadline: Instant) -> CheckResult {
    let child = Command::new("/bin/sh")
        .arg("-c")
        .arg(&m.path)
        .env("RVS_DEST_ADDR", target.ip().to_string())
        .env("RVS_DEST_PORT", target.port().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => return CheckResult::Failure(format!("cannot run /bin/sh: {e}")),
    };
    loop {
        match child.try_wait() {
            Ok(Some(st)) => {
                return match (st.code(), st.signal()) {
                    (Some(c), _) => interpret(c, m.dynamic),
                    (None, Some(s)) => CheckResult::Failure(format!("killed by signal {s}")),
                    (None, None) => CheckResult::Failure("ended without a status".into()),
                };
            }
            Ok(None) if Instant::now() >= deadline => {
                // The group: the shell and whatever it started.
                let _ = Command::new("kill")
                    .args(["-KILL", "--", &format!("-{}", child.id())])
                    .stderr(Stdio::null())
                    .status();
                let _ = child.kill();
                let _ = child.wait();
                return CheckResult::Failure("timed out".into());
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return CheckResult::Failure(format!("waiting for the script: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn misc(path: &str, dynamic: bool) -> MiscCheck {
        MiscCheck { path: path.into(), dynamic }
    }
    fn target() -> SocketAddr {
        "10.0.0.1:80".parse().unwrap()
    }
    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(5)
    }

    #[test]
    fn exit_statuses_as_keepalived_reads_them() {
        assert_eq!(interpret(0, false), CheckResult::Success { weight: None });
        assert_eq!(interpret(1, true), CheckResult::Failure("exit status 1".into()));
        assert_eq!(interpret(7, false), CheckResult::Failure("exit status 7".into()));
        assert_eq!(interpret(2, true), CheckResult::Success { weight: Some(0) });
        assert_eq!(interpret(255, true), CheckResult::Success { weight: Some(253) });
    }

    #[test]
    fn scripts_in_a_temp_dir_decide_and_see_the_dest() {
        let dir = std::env::temp_dir().join(format!("rvs-misc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = dir.join("check.sh");
        std::fs::write(
            &script,
            "#!/bin/sh\n[ \"$RVS_DEST_ADDR:$RVS_DEST_PORT\" = 10.0.0.1:80 ] || exit 1\nexit \"$1\"\n",
        )
        .unwrap();
        let run = |arg: &str, dynamic| {
            check(&misc(&format!("sh {} {arg}", script.display()), dynamic), target(), soon())
        };
        assert_eq!(run("0", false), CheckResult::Success { weight: None });
        assert_eq!(run("1", true), CheckResult::Failure("exit status 1".into()));
        assert_eq!(run("12", true), CheckResult::Success { weight: Some(10) });
        assert_eq!(run("12", false), CheckResult::Failure("exit status 12".into()));
        let missing = check(&misc("/nonexistent/script", false), target(), soon());
        assert_eq!(missing, CheckResult::Failure("exit status 127".into()));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_hanging_script_and_what_it_started_are_killed_at_the_timeout() {
        // The script starts a sleep of its own and waits for it: the check fails at its deadline
        // (a check that waited for the script would succeed 30 s later), and the whole process
        // group goes, the sleep included.
        let dir = std::env::temp_dir().join(format!("rvs-misc-hang-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pidfile = dir.join("pid");
        let script = format!("sleep 30 & echo $! > {}; wait; exit 0", pidfile.display());
        let r = check(&misc(&script, false), target(), Instant::now() + Duration::from_millis(300));
        assert_eq!(r, CheckResult::Failure("timed out".into()));
        let pid = std::fs::read_to_string(&pidfile).unwrap();
        let stat = format!("/proc/{}/stat", pid.trim());
        // Gone, or a zombie until its new parent reaps it: waited for, 30 s at most.
        let dead = || match std::fs::read_to_string(&stat) {
            Err(_) => true,
            Ok(s) => s.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('Z')),
        };
        let limit = Instant::now() + Duration::from_secs(30);
        while !dead() {
            assert!(Instant::now() < limit, "the script's sleep {} still runs", pid.trim());
            std::thread::sleep(Duration::from_millis(20));
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
