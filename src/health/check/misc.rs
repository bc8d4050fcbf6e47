//! `MISC_CHECK`: a script's exit status. 0 is up, anything else down; with `misc_dynamic`,
//! 2 to 255 are up too and set the weight to status - 2. Also how every health script runs
//! (the notify scripts too, through [`spawn_script`] and [`wait_until`]):
//!
//! - as its script user (keepalived's `user`/`script_user`: `misc_check.user`, else the user
//!   `rvs_script` when it exists, else root), with that user's primary group and no
//!   supplementary groups;
//! - with `enable_script_security` (keepalived's meaning), a script that would run as root is
//!   refused when its program, or a directory above it, is writable by anyone but root (a
//!   non-root user could otherwise make root run what they like);
//! - with a clean environment: `PATH=/usr/sbin:/usr/bin:/sbin:/bin`, the working directory `/`,
//!   and only RVS_DEST_ADDR and RVS_DEST_PORT (or the notify script's variables) set;
//! - with no file descriptor of rvsd's but stdin, stdout and stderr (all /dev/null): a bash
//!   prologue closes every other descriptor before the command line runs through `/bin/sh -c`
//!   (closing them in the child between fork and exec would need `unsafe`, which rvs keeps in
//!   the DPDK layer; bash because dash cannot name descriptors above 9);
//! - in its own process group, the whole group killed at the deadline (`misc_timeout`).

use crate::health::plan::{MiscCheck, ScriptUser};
use crate::health::state::CheckResult;
use std::net::SocketAddr;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The user scripts run as when none is configured and it exists (keepalived's
/// `keepalived_script`).
pub const DEFAULT_SCRIPT_USER: &str = "rvs_script";

/// The environment every script starts from.
const CLEAN_PATH: &str = "/usr/sbin:/usr/bin:/sbin:/bin";

/// Closes every descriptor above 2, then runs `$1` through `/bin/sh -c`.
const CLOSE_FDS_THEN_RUN: &str = r#"for f in /proc/$$/fd/*; do n=${f##*/}; case $n in 0|1|2) ;; *) eval "exec $n>&-" 2>/dev/null ;; esac; done; exec /bin/sh -c "$1""#;

/// What an exit status means.
pub fn interpret(code: i32, dynamic: bool) -> CheckResult {
    match code {
        0 => CheckResult::Success { weight: None },
        2..=255 if dynamic => CheckResult::Success { weight: Some((code - 2) as u32) },
        c => CheckResult::Failure(format!("exit status {c}")),
    }
}

/// A user's uid and primary gid from `/etc/passwd` (`name:pw:uid:gid:...`). Read there rather
/// than through libc's `getpwnam`, which would need `unsafe` outside the DPDK layer.
pub fn lookup_user(name: &str) -> Option<ScriptUser> {
    let text = std::fs::read_to_string("/etc/passwd").ok()?;
    lookup_user_in(&text, name)
}

fn lookup_user_in(passwd: &str, name: &str) -> Option<ScriptUser> {
    passwd.lines().find_map(|line| {
        let mut f = line.split(':');
        (f.next()? == name).then_some(())?;
        f.next()?;
        let uid = f.next()?.trim().parse().ok()?;
        let gid = f.next()?.trim().parse().ok()?;
        Some(ScriptUser { name: name.to_string(), uid, gid })
    })
}

/// The user a script runs as: `configured`, else [`DEFAULT_SCRIPT_USER`] when it exists, else
/// root (`None`).
pub fn script_user(configured: Option<&ScriptUser>) -> Option<ScriptUser> {
    configured.cloned().or_else(|| lookup_user(DEFAULT_SCRIPT_USER))
}

/// Why `enable_script_security` refuses to run `cmdline` as root, if it does: its program is
/// not an absolute path, or it or a directory above it is writable by someone else than root.
pub fn insecure_for_root(cmdline: &str) -> Option<String> {
    let program = cmdline.split_whitespace().next().unwrap_or("");
    let path = Path::new(program);
    if !path.is_absolute() {
        return Some(format!(
            "{program:?} is not an absolute path (enable_script_security runs root's scripts only by absolute path)"
        ));
    }
    for p in path.ancestors() {
        let Ok(meta) = std::fs::metadata(p) else {
            return Some(format!("{} cannot be read", p.display()));
        };
        let sticky_dir = meta.is_dir() && meta.mode() & 0o1000 != 0;
        if meta.uid() != 0 || (meta.mode() & 0o022 != 0 && !(sticky_dir && p != path)) {
            return Some(format!(
                "{} is writable by a non-root user (enable_script_security)",
                p.display()
            ));
        }
    }
    None
}

/// Starts `cmdline` as described in the module doc, as `user` (`None`: as rvsd's own user),
/// with `env` as its only variables besides PATH.
pub fn spawn_script(
    cmdline: &str,
    env: &[(&str, String)],
    user: Option<&ScriptUser>,
) -> std::io::Result<Child> {
    let mut cmd = Command::new("/bin/bash");
    cmd.arg("-c")
        .arg(CLOSE_FDS_THEN_RUN)
        .arg("rvs-script")
        .arg(cmdline)
        .env_clear()
        .env("PATH", CLEAN_PATH)
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    for (k, v) in env {
        cmd.env(k, v);
    }
    if let Some(u) = user {
        cmd.uid(u.uid).gid(u.gid);
    }
    cmd.spawn()
}

/// Waits for `child` until `deadline`; there, kills its whole process group and gives `None`.
pub fn wait_until(child: &mut Child, deadline: Instant) -> std::io::Result<Option<ExitStatus>> {
    loop {
        if let Some(st) = child.try_wait()? {
            return Ok(Some(st));
        }
        if Instant::now() >= deadline {
            // The group: the shell and whatever it started.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .stderr(Stdio::null())
                .status();
            let _ = child.kill();
            let _ = child.wait();
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// One `MISC_CHECK`, ended by `deadline`.
pub fn check(m: &MiscCheck, target: SocketAddr, deadline: Instant) -> CheckResult {
    let user = script_user(m.user.as_ref());
    if m.script_security && user.as_ref().map_or(true, |u| u.uid == 0) {
        if let Some(why) = insecure_for_root(&m.path) {
            return CheckResult::Failure(format!("refused to run as root: {why}"));
        }
    }
    let env =
        [("RVS_DEST_ADDR", target.ip().to_string()), ("RVS_DEST_PORT", target.port().to_string())];
    let mut child = match spawn_script(&m.path, &env, user.as_ref()) {
        Ok(c) => c,
        Err(e) => return CheckResult::Failure(format!("cannot run the script: {e}")),
    };
    match wait_until(&mut child, deadline) {
        Ok(Some(st)) => match (st.code(), st.signal()) {
            (Some(c), _) => interpret(c, m.dynamic),
            (None, Some(s)) => CheckResult::Failure(format!("killed by signal {s}")),
            (None, None) => CheckResult::Failure("ended without a status".into()),
        },
        Ok(None) => CheckResult::Failure("timed out".into()),
        Err(e) => CheckResult::Failure(format!("waiting for the script: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn misc(path: &str, dynamic: bool) -> MiscCheck {
        MiscCheck { path: path.into(), dynamic, user: None, script_security: false }
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
    fn users_come_from_the_passwd_file() {
        let file = "root:x:0:0:root:/root:/bin/bash\nrvs_script:x:998:997::/:/usr/sbin/nologin\nbad:x:y:1\n";
        let u = lookup_user_in(file, "rvs_script").unwrap();
        assert_eq!((u.uid, u.gid), (998, 997));
        assert_eq!(lookup_user_in(file, "bad"), None);
        assert_eq!(lookup_user_in(file, "nobody-here"), None);
    }

    #[test]
    fn script_security_refuses_what_others_may_change() {
        assert!(insecure_for_root("check.sh 1").unwrap().contains("not an absolute path"));
        let dir = std::env::temp_dir().join(format!("rvs-misc-sec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = dir.join("check.sh");
        std::fs::write(&script, "#!/bin/sh\nexit 0\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o757)).unwrap();
        let why = insecure_for_root(&format!("{} arg", script.display())).unwrap();
        assert!(why.contains("writable by a non-root user"), "{why}");
        let m = MiscCheck {
            path: format!("{} arg", script.display()),
            dynamic: false,
            user: None,
            script_security: true,
        };
        if lookup_user(DEFAULT_SCRIPT_USER).is_none() {
            // Runs as root here: refused, never started.
            let r = check(&m, target(), soon());
            assert!(
                matches!(&r, CheckResult::Failure(w) if w.starts_with("refused to run as root")),
                "{r:?}"
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn scripts_run_as_their_user_with_a_clean_env_and_no_inherited_fds() {
        // A descriptor rvsd would leak: not close-on-exec.
        let leak = socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::DGRAM, None).unwrap();
        leak.set_cloexec(false).unwrap();
        let fd = std::os::fd::AsRawFd::as_raw_fd(&leak);
        let link = std::fs::read_link(format!("/proc/self/fd/{fd}")).unwrap();
        std::env::set_var("RVS_TEST_SECRET", "rvsd's environment");
        let root = std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false);
        let user = if root { lookup_user("nobody") } else { None };
        let want_uid = user.as_ref().map_or_else(
            || std::fs::metadata("/proc/self").map(|m| m.uid()).unwrap_or(0),
            |u| u.uid,
        );
        // Exit 10: wrong user; 11: rvsd's variable seen; 12: the leaked socket is open; 13:
        // the dest's variables missing; 14: a descriptor above 2 open at all.
        let script = format!(
            "[ \"$(id -u)\" = {want_uid} ] || exit 10; [ -z \"$RVS_TEST_SECRET\" ] || exit 11; \
             for f in /proc/self/fd/*; do [ \"$(readlink $f)\" = \"{}\" ] && exit 12; done; \
             [ \"$RVS_DEST_ADDR:$RVS_DEST_PORT\" = 10.0.0.1:80 ] || exit 13; \
             [ -e /proc/$$/fd/3 ] && exit 14; exit 0",
            link.display()
        );
        let m = MiscCheck { path: script, dynamic: false, user, script_security: false };
        assert_eq!(check(&m, target(), soon()), CheckResult::Success { weight: None });
        drop(leak);
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
