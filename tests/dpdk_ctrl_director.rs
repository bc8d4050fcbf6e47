//! The control server over an in-process director (two workers on `net_null`), driven through
//! rvsadm's library entry point: a change reaches every worker (the generation they run moves
//! on), a refused change or restore reaches none (the generation stays), and listings come from
//! the workers' own reports.

mod common;

use rvs::config::Config;
use rvs::ctrl::control::Control;
use rvs::ctrl::server::{Server, ServerConfig};
use rvs::daemon::Director;
use rvs::ipvs::service::BuildOptions;
use rvs_tools::rvsadm::names::NoNames;
use rvs_tools::rvsadm::run as rvsadm;
use std::path::Path;

const SERVICES: &str = r#"
[[service]]
proto = "tcp"
vip = "192.0.2.100:80"
scheduler = "rr"

[[service.dest]]
addr = "192.0.2.12:80"
weight = 2
"#;

fn run(sock: &Path, line: &str, stdin: &str) -> (i32, String, String) {
    let argv: Vec<String> = line.split_whitespace().map(str::to_string).collect();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = rvsadm::run(&argv, &mut stdin.as_bytes(), &mut out, &mut err, sock, &NoNames);
    (code, String::from_utf8_lossy(&out).into_owned(), String::from_utf8_lossy(&err).into_owned())
}

#[test]
fn changes_reach_every_worker_and_refusals_reach_none() {
    let pid = std::process::id().to_string();
    let cfg =
        Config::from_toml_str(&common::two_worker_null_config("ctrl-dir", "192.0.2.100", SERVICES))
            .expect("valid test config");
    let director = Director::start(&cfg).expect("director starts on net_null");
    let control = Control::new(
        cfg.services().clone(),
        cfg.snat_rules().to_vec(),
        BuildOptions::default(),
        director.control(),
    );
    let sock = std::env::temp_dir().join(format!("rvs-ctrl-dir-{pid}/rvs.sock"));
    let server = Server::start(ServerConfig::new(&sock), control).expect("server starts");
    assert_eq!(director.generation(), 0);

    // The config's service is the initial table.
    let (code, out, _) = run(&sock, "ipvsadm -L -n", "");
    assert_eq!(code, 0);
    assert!(out.ends_with("TCP  192.0.2.100:80 rr\n  -> 192.0.2.12:80                Route   2      0          0         \n"), "{out}");

    assert_eq!(run(&sock, "rvsadm -a -t 192.0.2.100:80 -r 192.0.2.13 -g", "").0, 0);
    assert_eq!(director.generation(), 1, "both workers run the change when rvsadm returns");
    let (code, _, err) = run(&sock, "rvsadm -a -t 192.0.2.100:80 -r 192.0.2.13 -g", "");
    assert_eq!((code, err.as_str()), (255, "Destination already exists\n"));
    let (code, _, err) = run(&sock, "rvsadm -R", "-C\n-a -t 10.0.0.1:80 -r 10.0.0.2\n");
    assert_eq!((code, err.as_str()), (255, "Service not defined\n"));
    assert_eq!(director.generation(), 1, "refused changes reach no worker");
    let (code, out, _) = run(&sock, "rvsadm -S -n", "");
    assert_eq!(
        (code, out.as_str()),
        (
            0,
            "-A -t 192.0.2.100:80 -s rr\n\
             -a -t 192.0.2.100:80 -r 192.0.2.12:80 -g -w 2\n\
             -a -t 192.0.2.100:80 -r 192.0.2.13:80 -g -w 1\n"
        )
    );
    let (code, out, _) = run(&sock, "rvsadm -L -n --stats --exact", "");
    assert_eq!(code, 0);
    assert!(out.contains("TCP  192.0.2.100:80"), "{out}");
    assert_eq!(run(&sock, "rvsadm -D -t 192.0.2.100:80", "").0, 0);
    assert_eq!(director.generation(), 2);
    assert_eq!(director.reports().expect("reports").len(), 2);

    server.stop();
    director.shutdown().expect("clean shutdown");
}
