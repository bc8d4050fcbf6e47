//! rvsnet (and rvsadm's `-F`) against an in-process director: two workers on `net_null`, the
//! control server on a temp socket. Adding and deleting an address and a route shows in
//! `show` once every worker runs the new tables; refused changes (bad port, duplicate address,
//! an address a service uses, a gateway off-link, a connected route, an unknown `-F` port)
//! leave every listing exactly as it was; an added address is announced by worker 0 (its
//! gratuitous-ARP counter moves by one). `link show -s`, `neigh show|flush` and `steering
//! show` answer from the running workers and ports. rvsadm's `-F` must name a port; `-H`
//! match services list, save and restore. That the data plane answers for an added
//! address is shown through the sans-IO pipeline (`dataplane::pipeline` tests).

mod common;

use rvs::config::Config;
use rvs::ctrl::control::Control;
use rvs::ctrl::server::{Server, ServerConfig};
use rvs::daemon::Director;
use rvs::dataplane::stats::NET_EVENTS;
use rvs::ipvs::service::BuildOptions;
use rvs_tools::rvsadm::names::NoNames;
use rvs_tools::rvsadm::run as rvsadm;
use rvs_tools::rvsnet;
use std::path::Path;
use std::time::{Duration, Instant};

const EXTRA: &str = r#"
[[addr]]
port = "p0"
ip = "192.0.2.200/32"
kind = "local"

[[service]]
proto = "tcp"
vip = "192.0.2.100:80"
scheduler = "rr"
laddrs = ["192.0.2.200"]

[[service.dest]]
addr = "192.0.2.12:80"
fwd = "fullnat"
"#;

fn rvsnet(sock: &Path, line: &str) -> (i32, String, String) {
    let argv: Vec<String> = line.split_whitespace().map(str::to_string).collect();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = rvsnet::run::run(&argv, &mut out, &mut err, sock);
    (code, String::from_utf8_lossy(&out).into_owned(), String::from_utf8_lossy(&err).into_owned())
}

fn rvsadm(sock: &Path, line: &str) -> (i32, String, String) {
    let argv: Vec<String> = line.split_whitespace().map(str::to_string).collect();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = rvsadm::run(&argv, &mut &b""[..], &mut out, &mut err, sock, &NoNames);
    (code, String::from_utf8_lossy(&out).into_owned(), String::from_utf8_lossy(&err).into_owned())
}

fn show(sock: &Path, what: &str) -> String {
    let (code, out, err) = rvsnet(sock, &format!("rvsnet {what} show"));
    assert_eq!(code, 0, "{what} show: {err}");
    out
}

/// `line` is refused with a message containing `words`, and changes nothing.
fn refused(sock: &Path, line: &str, words: &str) {
    let before = (show(sock, "addr"), show(sock, "route"));
    let (code, out, err) = rvsnet(sock, line);
    assert_eq!((code, out.as_str()), (255, ""), "{line}: {err}");
    assert!(err.contains(words), "{line}: {err}");
    assert_eq!((show(sock, "addr"), show(sock, "route")), before, "{line} changed nothing");
}

#[test]
fn addresses_and_routes_change_live_and_refusals_change_nothing() {
    let pid = std::process::id().to_string();
    let cfg =
        Config::from_toml_str(&common::two_worker_null_config("rvsnet", "192.0.2.100", EXTRA))
            .expect("valid test config");
    let director = Director::start(&cfg).expect("director starts on net_null");
    let control = Control::new(
        cfg.services().clone(),
        cfg.snat_rules().to_vec(),
        BuildOptions::default(),
        director.control(),
    );
    let sock = std::env::temp_dir().join(format!("rvs-rvsnet-{pid}/rvs.sock"));
    let server = Server::start(ServerConfig::new(&sock), control).expect("server starts");
    let mac = rvs::wire::MacAddr(director.port_macs()[0]).to_string();

    // The config's addresses, with the local address's pool on both workers.
    assert_eq!(
        show(&sock, "addr"),
        format!(
            "0: p0: mtu 1500 link/ether {mac}\n\
             \x20   inet 192.0.2.1/24 host\n\
             \x20   inet 192.0.2.100/32 vip\n\
             \x20   inet 192.0.2.200/32 local ports-in-use 0 (w0:0 w1:0) misses 0\n"
        )
    );
    assert_eq!(show(&sock, "route"), "192.0.2.0/24 dev p0 proto connected\n");

    // Add an address and a route; both show once rvsnet returns.
    let garp = NET_EVENTS
        .iter()
        .position(|e| e.metric == "rvs_net_gratuitous_arp_total")
        .expect("gratuitous ARP counter");
    let core0 = director.core_stats()[0].clone();
    let sent_before = core0.net_event(garp);
    assert_eq!(rvsnet(&sock, "rvsnet addr add 192.0.2.50/32 dev p0 kind vip").0, 0);
    assert!(show(&sock, "addr").ends_with("    inet 192.0.2.50/32 vip\n"));
    // Worker 0 (the announcing one) sent one gratuitous ARP, for the new address.
    let deadline = Instant::now() + Duration::from_secs(5);
    while core0.net_event(garp) == sent_before && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(core0.net_event(garp), sent_before + 1, "one gratuitous ARP for 192.0.2.50");
    assert_eq!(rvsnet(&sock, "rvsnet route add 10.1.0.0/16 via 192.0.2.254").0, 0);
    assert_eq!(
        show(&sock, "route"),
        "192.0.2.0/24 dev p0 proto connected\n10.1.0.0/16 via 192.0.2.254 dev p0\n"
    );

    // Refusals: nothing changes.
    refused(&sock, "rvsnet addr add 192.0.2.50 dev p0", "configured twice");
    refused(&sock, "rvsnet addr add 192.0.2.51 dev p9", "no port named `p9`; its ports are: p0");
    refused(&sock, "rvsnet addr add 127.0.0.1 dev p0", "cannot be owned");
    refused(&sock, "rvsnet addr del 192.0.2.100", "the VIP of TCP 192.0.2.100:80");
    refused(&sock, "rvsnet addr del 192.0.2.200", "a local address of TCP 192.0.2.100:80");
    refused(
        &sock,
        "rvsnet addr del 192.0.2.1",
        "gateway 192.0.2.254 is not on a connected network",
    );
    refused(&sock, "rvsnet addr del 192.0.2.77", "not an address of rvsd");
    refused(&sock, "rvsnet route add 10.1.0.0/16 via 192.0.2.254", "defined twice");
    refused(&sock, "rvsnet route add 10.2.0.0/16 via 10.9.9.9", "not on a connected network");
    refused(&sock, "rvsnet route add 10.2.0.1/16 dev p0", "host bits are set");
    refused(&sock, "rvsnet route del 192.0.2.0/24", "connected route");
    refused(&sock, "rvsnet route del 10.3.0.0/16", "no route 10.3.0.0/16");
    let (code, _, err) = rvsnet(&sock, "rvsnet addr add 192.0.2.52/40 dev p0");
    assert_eq!(code, 2, "{err}");

    // Delete them again.
    assert_eq!(rvsnet(&sock, "rvsnet route del 10.1.0.0/16").0, 0);
    assert_eq!(rvsnet(&sock, "rvsnet addr del 192.0.2.50 dev p0").0, 0);
    assert_eq!(show(&sock, "route"), "192.0.2.0/24 dev p0 proto connected\n");
    assert!(!show(&sock, "addr").contains("192.0.2.50"));

    // Listings from the workers and ports.
    let (code, out, _) = rvsnet(&sock, "rvsnet link show -s");
    assert_eq!(code, 0);
    assert!(out.starts_with("0: p0: <"), "{out}");
    assert!(out.contains("> mtu 1500 driver net_null device net_null0\n"), "{out}");
    assert!(out.contains(&format!("    link/ether {mac} ")), "{out}");
    assert!(out.contains("    RX: packets 0 bytes 0 missed 0 no-mbuf 0 errors 0\n"), "{out}");
    assert!(
        out.contains("\ncore 0: busy-polls ") && out.contains("\ncore 1: busy-polls "),
        "{out}"
    );
    assert_eq!(show(&sock, "neigh"), "", "nothing learned on net_null");
    assert_eq!(rvsnet(&sock, "rvsnet neigh flush").0, 0);
    // net_null validates no rte_flow rule: replies go over the software redirect.
    let steering = show(&sock, "steering");
    assert!(steering.starts_with("p0: software rules 0\n    rte_flow refused: "), "{steering}");

    // rvsadm -F names one of rvsd's ports, or nothing changes.
    let (code, _, err) = rvsadm(&sock, "rvsadm -P -t 192.0.2.100:80 -z 192.0.2.201 -F dpdk0");
    assert_eq!(
        (code, err.as_str()),
        (255, "-F dpdk0: rvsd has no port named `dpdk0`; its ports are: p0\n")
    );
    assert_eq!(rvsadm(&sock, "rvsadm -P -t 192.0.2.100:80 -z 192.0.2.201 -F p0").0, 0);
    let (code, out, _) = rvsadm(&sock, "rvsadm -G");
    assert_eq!(code, 0);
    assert!(out.contains("192.0.2.201          0          0          p0\n"), "{out}");
    assert!(out.contains("192.0.2.200          0          0          -\n"), "{out}");
    let (code, out, _) = rvsadm(&sock, "rvsadm -S -n");
    assert_eq!(code, 0);
    assert!(
        out.ends_with(
            "-P -t 192.0.2.100:80 -z 192.0.2.200\n-P -t 192.0.2.100:80 -z 192.0.2.201 -F p0\n"
        ),
        "{out}"
    );

    // A match service (-H, SNAT) from 10.0.0.0/24 leaving as the local address 192.0.2.200.
    let h = "proto=tcp,src-range=10.0.0.1-10.0.0.254";
    assert_eq!(rvsadm(&sock, &format!("rvsadm -A -H {h} -s rr")).0, 0);
    let (code, _, err) = rvsadm(&sock, &format!("rvsadm -a -H {h} -r 192.0.2.200"));
    assert_eq!(
        (code, err.as_str()),
        (255, "a match service (-H) forwards only by SNAT: give its real server -J\n")
    );
    assert_eq!(rvsadm(&sock, &format!("rvsadm -a -H {h} -r 192.0.2.200 -J")).0, 0);
    let (code, out, _) = rvsadm(&sock, "rvsadm -L -n");
    assert_eq!(code, 0);
    assert!(
        out.ends_with(
            "MATCH tcp,from=10.0.0.1-10.0.0.254:0-0 rr\n  -> 192.0.2.200:0                SNAT    1      0          0         \n"
        ),
        "{out}"
    );
    let (code, saved, _) = rvsadm(&sock, "rvsadm -S -n");
    assert_eq!(code, 0);
    assert!(
        saved.ends_with(&format!("-A -H {h} -s rr\n-a -H {h} -r 192.0.2.200:0 -J -w 1\n")),
        "{saved}"
    );
    refused(&sock, "rvsnet addr del 192.0.2.200", "a local address of TCP 192.0.2.100:80");
    // -C, -R of the saved table gives it back.
    assert_eq!(rvsadm(&sock, "rvsadm -C").0, 0);
    let (code, empty, _) = rvsadm(&sock, "rvsadm -S -n");
    assert_eq!((code, empty.as_str()), (0, ""));
    let argv: Vec<String> = ["rvsadm", "-R"].iter().map(|s| s.to_string()).collect();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = rvsadm::run(&argv, &mut saved.as_bytes(), &mut out, &mut err, &sock, &NoNames);
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&err));
    assert_eq!(rvsadm(&sock, "rvsadm -S -n").1, saved);
    assert_eq!(rvsadm(&sock, &format!("rvsadm -D -H {h}")).0, 0);
    refused(&sock, "rvsnet addr del 192.0.2.100 dev p0", "the VIP of TCP 192.0.2.100:80");

    server.stop();
    director.shutdown().expect("clean shutdown");
}
