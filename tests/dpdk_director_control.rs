//! The control plane reaches running workers without stopping them: two workers on `net_null`
//! ports take a new configuration snapshot at a burst boundary (and say so through their
//! published generation) and hand out copies of their connection tables.

use rvs::adm::cli;
use rvs::adm::names::NoNames;
use rvs::adm::table::ServiceTable;
use rvs::config::Config;
use rvs::daemon::Director;
use rvs::ipvs::service::{BuildOptions, Services};

const CONFIG: &str = r#"
[eal]
main_lcore = 0
no_huge = true
no_pci = true
memory_mb = 128
file_prefix = "rvs-control-PID"
vdevs = ["net_null0,no-rx=1"]

[[port]]
name = "p0"
device = "net_null0"
rx_queues = 2
tx_queues = 2
rx_desc = 128
tx_desc = 128

[[addr]]
port = "p0"
ip = "192.0.2.1/24"
kind = "host"

[[addr]]
port = "p0"
ip = "192.0.2.100/32"
kind = "vip"

[[worker]]
lcore = 1
cpu = 1
rx = [{ port = "p0", queue = 0 }]

[[worker]]
lcore = 2
cpu = 0
rx = [{ port = "p0", queue = 1 }]

[dataplane]
mbuf_cache = 32
conns_per_worker = 1024
idle_backoff = { empty_polls = 8, sleep_us = 200 }
"#;

#[test]
fn workers_take_snapshots_and_list_connections_while_running() {
    let cfg = CONFIG.replace("PID", &std::process::id().to_string());
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
        table.apply(&cmd).expect("seed command applies");
    }
    let snap = Services::from_table(&table, &[], BuildOptions::default()).expect("snapshot");
    assert_eq!(snap.services().len(), 1);
    director.set_services(snap).expect("every worker applies it");
    assert_eq!(director.generation(), 1);
    director.set_services(Services::empty()).expect("and the next one");
    assert_eq!(director.generation(), 2);
    assert_eq!(director.conns(100).expect("still answering"), Vec::new());
    director.shutdown().expect("clean shutdown");
}
