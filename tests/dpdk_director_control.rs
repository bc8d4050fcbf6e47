//! The control plane reaches running workers without stopping them: two workers on `net_null`
//! ports take a new configuration snapshot at a burst boundary (and say so through their
//! published generation) and hand out copies of their connection tables.

mod common;

use rvs::config::Config;
use rvs::ctrl::table::ServiceTable;
use rvs::daemon::Director;
use rvs::ipvs::service::{BuildOptions, Services};
use rvs_tools::rvsadm::cli;
use rvs_tools::rvsadm::names::NoNames;

#[test]
fn workers_take_snapshots_and_list_connections_while_running() {
    let cfg = common::two_worker_null_config("control", "192.0.2.100", "");
    let cfg = Config::from_toml_str(&cfg).expect("valid test config");
    let mut director = Director::start(&cfg).expect("director starts on net_null");
    assert_eq!(director.generation(), 0);
    assert_eq!(director.conns(100).expect("both workers answer"), Vec::new());

    // The seeds' DR service, as rvsadm would add it.
    let mut table = ServiceTable::new();
    for line in [
        "rvsadm -A -t 192.0.2.100:80 -s rr",
        "rvsadm -a -t 192.0.2.100:80 -r 192.0.2.12 -g",
        "rvsadm -a -t 192.0.2.100:80 -r 192.0.2.13 -g",
    ] {
        let argv: Vec<&str> = line.split_whitespace().collect();
        let cmd = cli::parse(&argv, &NoNames).expect("seed command parses");
        let cmd = cmd.into_change().expect("seed command is a change");
        table.apply(&cmd).expect("seed command applies");
    }
    let snap = table.snapshot(&[], BuildOptions::default()).expect("snapshot");
    assert_eq!(snap.services().len(), 1);
    director.set_services(snap).expect("every worker applies it");
    assert_eq!(director.generation(), 1);
    director.set_services(Services::empty()).expect("and the next one");
    assert_eq!(director.generation(), 2);
    assert_eq!(director.conns(100).expect("still answering"), Vec::new());
    director.shutdown().expect("clean shutdown");
}
