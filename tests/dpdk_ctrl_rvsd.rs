//! rvsadm against a real rvsd: the rvsd binary runs on `net_null` ports with two workers and
//! its control socket in a temp directory; the seeds' ipvsadm command sequences run through the
//! rvsadm binary (`RVS_SOCK`), their output compared byte for byte; then the socket is abused
//! (garbage, oversized and truncated frames, wrong version, too many and slow clients) and must
//! keep serving; SIGTERM stops rvsd with exit 0 and removes the socket.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use rvs_tools::rvsadm::names::{CachedNames, SystemNames};
use rvs_tools::rvsadm::run::run as rvsadm_run;

const CTRL: &str = r#"
[ctrl]
socket = "SOCK"
"#;

/// The started rvsd and its control socket.
struct Rvsd {
    proc: common::rvsd::Rvsd,
    sock: PathBuf,
}

fn start_rvsd() -> Rvsd {
    let dir = common::rvsd::Rvsd::scratch("dpdk-ctrl");
    // The server creates the socket's directory itself.
    let sock = dir.join("run/rvs.sock");
    let cfg = common::two_worker_null_config("ctrl", "192.168.0.38", CTRL)
        .replace("SOCK", &sock.to_string_lossy());
    let mut d = Rvsd { proc: common::rvsd::Rvsd::spawn(&dir, &cfg), sock };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        d.proc.assert_running();
        if rvsadm(&d.sock, &["-L", "--timeout"], "").0 == 0 {
            return d;
        }
        assert!(Instant::now() < deadline, "rvsd's control socket did not answer in 60 s");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Runs rvsadm (the program's `run`, in this process: the rvsadm binary lives in rvs-tools,
/// another package of the workspace, and its `main` only adds the process's stdio, socket path
/// and /etc/services names); returns (exit status, stdout, stderr).
fn rvsadm(sock: &Path, args: &[&str], stdin: &str) -> (i32, String, String) {
    let system = SystemNames::load();
    let names = CachedNames::new(&system);
    let argv: Vec<String> =
        std::iter::once("rvsadm").chain(args.iter().copied()).map(String::from).collect();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let status = rvsadm_run(&argv, &mut stdin.as_bytes(), &mut out, &mut err, sock, &names);
    (
        status & 0xff,
        String::from_utf8_lossy(&out).into_owned(),
        String::from_utf8_lossy(&err).into_owned(),
    )
}

fn ok(sock: &Path, line: &str) -> String {
    let args: Vec<&str> = line.split_whitespace().skip(1).collect();
    let (code, out, err) = rvsadm(sock, &args, "");
    assert_eq!((code, err.as_str()), (0, ""), "{line}");
    out
}

const EMPTY: &str = "IP Virtual Server version 1.2.1 (size=4096)\n\
Prot LocalAddress:Port Scheduler Flags\n  \
-> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n";

#[test]
fn rvsadm_drives_a_running_rvsd_and_its_socket_survives_abuse() {
    let d = start_rvsd();
    let sock = d.sock.clone();
    let mode = std::fs::metadata(&sock).expect("socket exists").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "socket is owner-only without [ctrl] group");
    assert_eq!(ok(&sock, "rvsadm -L -n"), EMPTY);

    // The reference example, exactly.
    ok(&sock, "rvsadm -A -t 192.168.0.38:80 -s rr");
    ok(&sock, "rvsadm -E -t 192.168.0.38:80 -s wrr");
    ok(&sock, "rvsadm -a -t 192.168.0.38:80 -r 192.168.0.18:80 -g -w 3");
    ok(&sock, "rvsadm -a -t 192.168.0.38:80 -r 192.168.0.28:80 -g");
    let listed = ok(&sock, "rvsadm -L -n");
    let want = format!(
        "{EMPTY}TCP  192.168.0.38:80 wrr\n  \
-> 192.168.0.18:80              Route   3      0          0         \n  \
-> 192.168.0.28:80              Route   1      0          0         \n"
    );
    assert_eq!(listed, want);

    // Adding it again: ipvsadm's words, exit 255, nothing changed.
    let (code, out, err) = rvsadm(&sock, &["-A", "-t", "192.168.0.38:80", "-s", "rr"], "");
    assert_eq!((code, out.as_str(), err.as_str()), (255, "", "Service already exists\n"));
    assert_eq!(ok(&sock, "rvsadm -L -n"), want);
    // A command-line error never reaches the daemon: ipvsadm's exit status 2.
    let (code, _, err) =
        rvsadm(&sock, &["-a", "-t", "192.168.0.38:80", "-r", "1.2.3.4", "-w", "x"], "");
    assert_eq!((code, err.as_str()), (2, "illegal weight specified\n"));

    // The seeds' sequence: every -A and -a line (and the service its -a lines assume).
    ok(&sock, "rvsadm -C");
    assert_eq!(ok(&sock, "rvsadm -ln"), EMPTY);
    ok(&sock, "rvsadm -A -t 172.16.100.1:80 -s rr");
    let seeds = include_str!("data/adm/seed_commands.txt");
    for line in seeds.lines().filter(|l| l.contains(" -A ") || l.contains(" -a ")) {
        ok(&sock, line);
    }
    let (code, _, err) =
        rvsadm(&sock, &["-d", "-t", "192.168.163.100:80", "-r", "192.168.163.111"], "");
    assert_eq!((code, err.as_str()), (255, "No such destination\n"));
    let full = ok(&sock, "rvsadm -L -n");
    assert_eq!(full.lines().filter(|l| l.starts_with("TCP  ")).count(), 9, "{full}");
    let tunnel = format!(
        "TCP  192.168.80.120:8080 rr\n  -> {:<28} {:<7} {:<6} {:<10} {:<10}\n",
        "192.168.80.135:8080", "Tunnel", 1, 0, 0
    );
    assert!(full.contains(&tunnel), "{full}");
    let one = ok(&sock, "rvsadm -L -n -t 192.168.0.38:80");
    assert_eq!(
        one,
        "Prot LocalAddress:Port Scheduler Flags\n  \
-> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n\
TCP  192.168.0.38:80 wrr\n  \
-> 192.168.0.18:80              Route   3      0          0         \n  \
-> 192.168.0.28:80              Route   1      0          0         \n"
    );
    assert_eq!(
        ok(&sock, "rvsadm -lnc"),
        "IPVS connection entries\npro expire state       source             virtual            destination\n"
    );

    // -S, -C, -R: the same table again.
    let saved = ok(&sock, "rvsadm -S -n");
    assert!(saved.contains("-A -t 192.168.0.38:80 -s wrr\n"), "{saved}");
    assert!(saved.contains("-a -t 192.168.0.38:80 -r 192.168.0.18:80 -g -w 3\n"), "{saved}");
    ok(&sock, "rvsadm -C");
    assert_eq!(ok(&sock, "rvsadm -L -n"), EMPTY);
    let (code, out, err) = rvsadm(&sock, &["-R"], &saved);
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
    assert_eq!(ok(&sock, "rvsadm -L -n"), full);
    // A restore with a failing line changes nothing at all.
    let bad = "-A -t 10.9.9.9:80 -s rr\n-A -t 192.168.0.38:80 -s rr\n";
    let (code, _, err) = rvsadm(&sock, &["-R"], bad);
    assert_eq!((code, err.as_str()), (255, "Service already exists\n"));
    assert_eq!(ok(&sock, "rvsadm -L -n"), full);

    // Timeouts.
    assert_eq!(ok(&sock, "rvsadm -L --timeout"), "Timeout (tcp tcpfin udp): 900 120 300\n");
    ok(&sock, "rvsadm --set 100 20 30");
    assert_eq!(ok(&sock, "rvsadm -L --timeout"), "Timeout (tcp tcpfin udp): 100 20 30\n");
    ok(&sock, "rvsadm --set 0 60 0");
    assert_eq!(ok(&sock, "rvsadm -L --timeout"), "Timeout (tcp tcpfin udp): 100 60 30\n");
    ok(&sock, "rvsadm -Z");

    // Abuse: rvsd serves 16 clients at once and drops a client silent for 10 s.
    rvs::ctrl::abuse::run(&sock, 16, Duration::from_secs(10)).expect("rvsd survives abuse");
    assert_eq!(ok(&sock, "rvsadm -L -n"), full, "abuse changed nothing");

    // SIGTERM: exit 0, socket gone.
    let mut d = d;
    let killed = Command::new("kill").arg("-TERM").arg(d.proc.child.id().to_string()).status();
    assert!(killed.expect("kill runs").success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = d.proc.child.try_wait().expect("rvsd status") {
            break s;
        }
        assert!(Instant::now() < deadline, "rvsd did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "rvsd exit status {status}");
    assert!(!sock.exists(), "socket removed at stop");
    let (code, _, err) = rvsadm(&sock, &["-L", "-n"], "");
    assert_eq!(code, 1);
    assert!(err.contains("cannot reach rvsd at") && err.contains("RVS_SOCK overrides"), "{err}");
}
