//! Config reload against a real director (two workers on `net_null`): `rvsadm --reload` after
//! the file changed applies the difference (the listing changes, the generation moves once);
//! an invalid file or one that changes a restart-only setting is refused whole with the reason
//! and the listing stays. Then SIGHUP to a spawned rvsd process does the same from the signal.
//!
//! The in-process director is this file's one EAL; the spawned rvsd has its own process.

mod common;

use rvs::config::Config;
use rvs::config::Reloader;
use rvs::ctrl::control::Control;
use rvs::ctrl::server::{Server, ServerConfig};
use rvs::daemon::Director;
use rvs::ipvs::service::BuildOptions;
use rvs_tools::rvsadm::names::NoNames;
use rvs_tools::rvsadm::run as rvsadm;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SERVICES: &str = r#"
[[service]]
proto = "tcp"
vip = "VIP:80"
scheduler = "rr"

[[service.dest]]
addr = "192.0.2.12:80"
weight = 2
"#;

const MORE: &str = r#"
[[service.dest]]
addr = "192.0.2.13:80"
weight = 5
"#;

fn run(sock: &Path, line: &str) -> (i32, String, String) {
    let argv: Vec<String> = line.split_whitespace().map(str::to_string).collect();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = rvsadm::run(&argv, &mut &b""[..], &mut out, &mut err, sock, &NoNames);
    (code, String::from_utf8_lossy(&out).into_owned(), String::from_utf8_lossy(&err).into_owned())
}

fn listing(sock: &Path) -> String {
    let (code, out, err) = run(sock, "rvsadm -L -n");
    assert_eq!(code, 0, "{err}");
    out
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rvs-reload-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[test]
fn reload_applies_a_changed_config_and_refuses_a_bad_one_whole() {
    let dir = temp_dir("dir");
    let vip = "192.0.2.100";
    let base = common::two_worker_null_config("reload-dir", vip, &SERVICES.replace("VIP", vip));
    let path = dir.join("rvs.toml");
    std::fs::write(&path, &base).unwrap();
    let cfg = Config::load(&path).expect("valid test config");
    let director = Director::start(&cfg).expect("director starts on net_null");
    let mut control = Control::new(
        cfg.services().clone(),
        cfg.snat_rules().to_vec(),
        BuildOptions::default(),
        director.control(),
    );
    control.set_reloader(Reloader::from_file(cfg.clone(), path.clone()));
    let sock = dir.join("rvs.sock");
    let server = Server::start_shared(ServerConfig::new(&sock), Arc::new(Mutex::new(control)))
        .expect("server starts");

    // Unchanged file: nothing to do, nothing pushed.
    let (code, out, _) = run(&sock, "rvsadm --reload");
    assert_eq!((code, out.as_str()), (0, "rvsd reloaded its config: 0 change(s) applied\n"));
    assert_eq!(director.generation(), 0);

    // A second dest and another scheduler.
    std::fs::write(&path, format!("{}{MORE}", base.replace("\"rr\"", "\"wrr\""))).unwrap();
    let (code, out, err) = run(&sock, "rvsadm --reload");
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (0, "rvsd reloaded its config: 2 change(s) applied\n", "")
    );
    assert_eq!(director.generation(), 1, "one push, on every worker");
    let changed = listing(&sock);
    assert!(changed.contains("TCP  192.0.2.100:80 wrr\n"), "{changed}");
    assert!(changed.contains("-> 192.0.2.13:80                Route   5"), "{changed}");

    // Invalid: refused whole, the reason names the key; nothing changes.
    std::fs::write(&path, format!("{}{}", base, MORE.replace("weight = 5", "weight = 70000")))
        .unwrap();
    let (code, out, err) = run(&sock, "rvsadm --reload");
    assert_eq!((code, out.as_str()), (255, ""), "{err}");
    assert!(err.contains("service[0].dest[1].weight"), "{err}");
    assert!(err.contains("illegal weight specified"), "{err}");
    assert_eq!(listing(&sock), changed);
    assert_eq!(director.generation(), 1);

    // A restart-only setting: named, refused whole.
    std::fs::write(&path, base.replace("rx_desc = 128", "rx_desc = 256")).unwrap();
    let (code, _, err) = run(&sock, "rvsadm --reload");
    assert_eq!(code, 255, "{err}");
    assert!(err.contains("port[0].rx_desc") && err.contains("restart"), "{err}");
    assert_eq!(listing(&sock), changed);

    // A missing file: the read error, nothing changes.
    std::fs::remove_file(&path).unwrap();
    let (code, _, err) = run(&sock, "rvsadm --reload");
    assert_eq!(code, 255, "{err}");
    assert!(err.contains("rvs.toml"), "{err}");
    assert_eq!(director.generation(), 1);

    // Back to the first config.
    std::fs::write(&path, &base).unwrap();
    assert_eq!(run(&sock, "rvsadm --reload").0, 0);
    let back = listing(&sock);
    assert!(back.contains("TCP  192.0.2.100:80 rr\n") && !back.contains("192.0.2.13"), "{back}");

    server.stop();
    director.shutdown().expect("clean shutdown");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sighup_reloads_a_running_rvsd() {
    let dir = temp_dir("hup");
    let vip = "192.0.2.110";
    let sock = dir.join("run/rvs.sock");
    let ctrl = format!("\n[ctrl]\nsocket = \"{}\"\n", sock.display());
    let base = common::two_worker_null_config(
        "reload-hup",
        vip,
        &format!("{}{ctrl}", SERVICES.replace("VIP", vip)),
    );
    let path = dir.join("rvs.toml");
    std::fs::write(&path, &base).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_rvsd"))
        .arg("-c")
        .arg(&path)
        .env("RVS_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .expect("rvsd runs");
    let pid = child.id().to_string();
    let hup = || {
        let s = Command::new("kill").args(["-HUP", &pid]).status().expect("kill runs");
        assert!(s.success());
    };
    let wait_for = |what: &str, f: &dyn Fn(&str) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let (code, out, _) = run(&sock, "rvsadm -L -n");
            if code == 0 && f(&out) {
                return out;
            }
            assert!(Instant::now() < deadline, "{what}: last listing\n{out}");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    wait_for("rvsd starts", &|o| o.contains("192.0.2.12:80"));

    // The dest's services section is the last [[service]]; [ctrl] follows it, so put the new
    // dest right after the first one.
    let with_more = base.replace("weight = 2\n", &format!("weight = 2\n{MORE}"));
    std::fs::write(&path, &with_more).unwrap();
    hup();
    let after = wait_for("SIGHUP applies the new dest", &|o| o.contains("192.0.2.13:80"));

    // A bad config on SIGHUP: logged, nothing changes, rvsd keeps running.
    std::fs::write(&path, with_more.replace("scheduler = \"rr\"", "scheduler = \"fancy\""))
        .unwrap();
    hup();
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(run(&sock, "rvsadm -L -n").1, after);
    assert!(child.try_wait().expect("status").is_none(), "rvsd still runs");

    let s = Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs");
    assert!(s.success());
    let status = child.wait().expect("rvsd exits");
    let mut log = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut log);
    }
    assert!(status.success(), "{log}");
    assert!(log.contains("config reloaded: 1 change(s) applied"), "{log}");
    assert!(log.contains("reload refused") && log.contains("service[0]"), "{log}");
    let _ = std::fs::remove_dir_all(&dir);
}
