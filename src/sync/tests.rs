//! Two sync daemons over loopback UDP (unicast peers: loopback carries no multicast here):
//! a master sends what a balancer reported, a backup hands it to a worker thread that
//! installs it in its own balancer.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant as StdInstant};

use super::*;
use crate::dataplane::control::{channel, WorkerRequest};
use crate::ipvs::balancer::{Balancer, BalancerConfig, FixedEgress};
use crate::ipvs::conn::HashSeed;
use crate::ipvs::service::{BuildOptions, Services};
use crate::ipvs::spec::{DestSpec, FwdMethod, Protocol, ServiceKey, ServiceSpec, Timeouts};
use crate::ipvs::sync::{flags, MessageBuilder, ReportQueue, SyncAddrs, SyncConn};
use crate::time;

const VIP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 100);
const RS: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 10);
const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 50);
const MASTER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
const BACKUP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 3);

fn services() -> Arc<Services> {
    let s = ServiceSpec::new(ServiceKey { proto: Protocol::Tcp, addr: VIP.into(), port: 80 });
    let mut d = DestSpec::new(RS.into(), 8080);
    d.fwd = FwdMethod::Masq;
    let opts = BuildOptions { generation: 1, ..BuildOptions::default() };
    Arc::new(Services::build([(&s, &[d][..])], &[], &[], Timeouts::default(), opts).unwrap())
}

fn entry(cport: u16) -> SyncConn {
    SyncConn {
        protocol: 6,
        flags: flags::MASQ,
        state: 1, // ESTABLISHED
        cport,
        vport: 80,
        dport: 8080,
        fwmark: 0,
        timeout: 900,
        addrs: SyncAddrs::V4 { caddr: CLIENT, vaddr: VIP, daddr: RS },
        seq: None,
        pe: None,
        local: None,
    }
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = StdInstant::now() + Duration::from_secs(20);
    while !f() {
        assert!(StdInstant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A free UDP port on `addr`.
fn free_port(addr: Ipv4Addr) -> u16 {
    std::net::UdpSocket::bind((addr, 0)).unwrap().local_addr().unwrap().port()
}

#[test]
fn a_reported_connection_reaches_the_peers_worker_and_is_installed() {
    let port = free_port(BACKUP);
    // The backup's worker: a thread serving its inbox with a real balancer.
    let (handle, inbox) = channel(0);
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop = done.clone();
    let worker = std::thread::spawn(move || {
        let now = time::now();
        let cfg = BalancerConfig {
            conn_capacity: 64,
            hash_seed: HashSeed::from_u64(3),
            ..BalancerConfig::new(0, 1)
        };
        let mut lb = Balancer::new(cfg, now).unwrap();
        lb.set_services(services(), now, &FixedEgress { mtu: 1500, source: None });
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            match inbox.try_next() {
                Some(WorkerRequest::Lb(req)) => {
                    req.serve(Some(&mut lb), &FixedEgress { mtu: 1500, source: None }, time::now());
                }
                Some(_) => {}
                None => std::thread::sleep(Duration::from_millis(1)),
            }
        }
        lb
    });
    let mut b = SyncSettings::new("lo", BACKUP);
    b.syncid = 5;
    b.peers = vec![SocketAddr::from((MASTER, 1))]; // unicast: listen on BACKUP:port
    b.port = port;
    let backup = SyncDaemon::backup(b, vec![handle]).unwrap();

    let mut m = SyncSettings::new("lo", MASTER);
    m.syncid = 5;
    m.peers = vec![SocketAddr::from((BACKUP, port))];
    let (mut queue, rx) = ReportQueue::bounded(16);
    let master = SyncDaemon::master(m, vec![rx]).unwrap();
    assert!(queue.report(entry(40001)));
    assert!(queue.report(entry(40002)));
    wait_until("two connections learnt", || backup.stats().counts().learnt == 2);
    let sent = master.stats().counts();
    assert!(sent.sent_messages >= 1 && sent.sent_conns == 2, "{sent:?}");

    // Another sync id and garbage are dropped and counted; nothing more is installed.
    let raw = std::net::UdpSocket::bind((MASTER, 0)).unwrap();
    let mut other = MessageBuilder::new(6, 1472).unwrap();
    other.push(&entry(40003)).unwrap();
    raw.send_to(other.bytes(), (BACKUP, port)).unwrap();
    raw.send_to(b"not a sync message", (BACKUP, port)).unwrap();
    wait_until("the two drops", || {
        let c = backup.stats().counts();
        c.dropped_syncid == 1 && c.dropped_malformed == 1
    });
    master.stop();
    backup.stop();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let lb = worker.join().unwrap();
    assert_eq!(lb.conn_count(), 2);
    assert_eq!(lb.conns_learnt(), 2);
    let listed = lb.conns_snapshot(time::now(), 10);
    assert!(listed.iter().all(|c| c.state == "ESTABLISHED"), "{listed:?}");
}

#[test]
fn bad_settings_are_refused_with_what_to_fix() {
    let mut s = SyncSettings::new("lo", MASTER);
    s.maxlen = 20;
    let e = SyncDaemon::master(s.clone(), Vec::new()).unwrap_err();
    assert!(e.to_string().contains("at least 80"), "{e}");
    s.maxlen = 1472;
    s.group = Ipv4Addr::new(10, 1, 1, 1);
    let e = SyncDaemon::master(s, Vec::new()).unwrap_err();
    assert!(e.to_string().contains("not an IPv4 multicast"), "{e}");
    // A local address this host does not have.
    let s = SyncSettings {
        peers: vec![SocketAddr::from((BACKUP, 9))],
        ..SyncSettings::new("x", Ipv4Addr::new(203, 0, 113, 9))
    };
    let e = SyncDaemon::master(s, Vec::new()).unwrap_err();
    assert!(e.to_string().contains("kernel address"), "{e}");
}
