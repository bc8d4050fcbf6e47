//! [`SyncControl`]: rvsadm's requests with the kernel's answers (a second start, a stop of
//! what does not run), a refused request changing nothing, the workers' reporting following
//! the master, and `[sync]` applied at start and on reload only when it changes.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::control::SyncControl;
use super::daemon::{SyncRole, SyncSettings};
use super::settings::{SyncConfig, SyncIface};
use crate::dataplane::control::{channel, WorkerHandle, WorkerRequest};
use crate::ipvs::balancer::{Balancer, BalancerConfig, FixedEgress};
use crate::ipvs::conn::HashSeed;
use crate::proto::sync::{SyncDaemonInfo, SyncDaemonParams, SyncRequest};
use crate::proto::ErrorCode;
use crate::time;

/// A worker thread serving its inbox with a real balancer, until `stop`.
fn worker(stop: Arc<AtomicBool>) -> (WorkerHandle, std::thread::JoinHandle<()>) {
    let (handle, inbox) = channel(0);
    let t = std::thread::spawn(move || {
        let cfg = BalancerConfig {
            conn_capacity: 64,
            hash_seed: HashSeed::from_u64(3),
            ..BalancerConfig::new(0, 1)
        };
        let mut lb = Balancer::new(cfg, time::now()).unwrap();
        let egress = FixedEgress { mtu: 1500, source: None };
        while !stop.load(Ordering::Relaxed) {
            match inbox.try_next() {
                Some(WorkerRequest::Lb(req)) => {
                    req.serve(Some(&mut lb), &egress, time::now());
                }
                Some(_) => {}
                None => std::thread::sleep(Duration::from_millis(1)),
            }
        }
    });
    (handle, t)
}

const ME: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

fn iface() -> SyncIface {
    SyncIface { name: "lo-sync".into(), addr: ME, mtu: 1500 }
}

fn reporting(h: &WorkerHandle) -> bool {
    h.sync_counts(Duration::from_secs(10)).unwrap().reporting
}

fn start(role: SyncRole, ifname: Option<&str>) -> SyncRequest {
    SyncRequest::Start {
        role,
        params: SyncDaemonParams {
            mcast_interface: ifname.map(String::from),
            syncid: Some(3),
            ..Default::default()
        },
    }
}

fn refused(r: Result<Vec<SyncDaemonInfo>, (ErrorCode, String)>) -> String {
    match r {
        Err((ErrorCode::Refused, m)) => m,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn rvsadms_requests_get_the_kernels_answers_and_a_refusal_changes_nothing() {
    let stop = Arc::new(AtomicBool::new(false));
    let (h, t) = worker(stop.clone());
    let mut sc = SyncControl::new(vec![h.clone()], vec![iface()]);
    assert_eq!(sc.handle(SyncRequest::Show).unwrap(), []);
    assert!(!reporting(&h));

    // The master starts (multicast on the interface's address) and the worker reports.
    let rows = sc.handle(start(SyncRole::Master, Some("lo-sync"))).unwrap();
    let want = SyncDaemonInfo {
        role: SyncRole::Master,
        mcast_interface: "lo-sync".into(),
        syncid: 3,
        sync_maxlen: 1472,
        mcast_group: Some("224.0.0.81".parse().unwrap()),
        mcast_port: 8848,
        mcast_ttl: 1,
    };
    assert_eq!(rows, std::slice::from_ref(&want));
    assert!(reporting(&h));

    // Refusals, each with nothing changed.
    assert_eq!(
        refused(sc.handle(start(SyncRole::Master, Some("lo-sync")))),
        "Daemon has already run"
    );
    assert_eq!(
        refused(sc.handle(SyncRequest::Stop { role: SyncRole::Backup })),
        "No daemon is running"
    );
    let m = refused(sc.handle(start(SyncRole::Backup, None)));
    assert!(m.contains("--mcast-interface") && m.contains("lo-sync"), "{m}");
    let m = refused(sc.handle(start(SyncRole::Backup, Some("eth9"))));
    assert!(m.contains("eth9") && m.contains("lo-sync"), "{m}");
    let v6 = SyncRequest::Start {
        role: SyncRole::Backup,
        params: SyncDaemonParams {
            mcast_interface: Some("lo-sync".into()),
            mcast_group: Some("ff02::81".parse().unwrap()),
            ..Default::default()
        },
    };
    assert!(refused(sc.handle(v6)).contains("IPv4"));
    assert_eq!(sc.handle(SyncRequest::Show).unwrap(), [want]);
    assert!(reporting(&h));

    // The stop turns reporting off; a second stop is the kernel's error.
    assert_eq!(sc.handle(SyncRequest::Stop { role: SyncRole::Master }).unwrap(), []);
    assert!(!reporting(&h));
    assert_eq!(
        refused(sc.handle(SyncRequest::Stop { role: SyncRole::Master })),
        "No daemon is running"
    );
    drop(sc);
    stop.store(true, Ordering::Relaxed);
    t.join().unwrap();
}

#[test]
fn the_config_block_is_applied_when_it_changes() {
    let stop = Arc::new(AtomicBool::new(false));
    let (h, t) = worker(stop.clone());
    let mut sc = SyncControl::new(vec![h.clone()], vec![iface()]);
    let port = std::net::UdpSocket::bind((ME, 0)).unwrap().local_addr().unwrap().port();
    let mut settings = SyncSettings::new("lo-sync", ME);
    settings.port = port;
    settings.peers = vec![SocketAddr::from((Ipv4Addr::new(127, 0, 0, 3), port))];
    let both = SyncConfig { roles: SyncRole::ALL.to_vec(), settings: settings.clone() };
    assert!(sc.apply_config(Some(&both)).unwrap());
    let roles: Vec<SyncRole> = sc.rows().iter().map(|r| r.role).collect();
    assert_eq!(roles, SyncRole::ALL);
    assert!(reporting(&h));
    // The same block again (a reload of an unchanged file) leaves rvsadm's changes alone.
    sc.handle(SyncRequest::Stop { role: SyncRole::Backup }).unwrap();
    assert!(!sc.apply_config(Some(&both)).unwrap());
    assert_eq!(sc.rows().len(), 1);
    // A changed block: the master restarts with the new settings, the backup is not wanted.
    let mut s2 = settings;
    s2.syncid = 9;
    let master = SyncConfig { roles: vec![SyncRole::Master], settings: s2 };
    assert!(sc.apply_config(Some(&master)).unwrap());
    let rows = sc.rows();
    assert_eq!((rows.len(), rows[0].syncid), (1, 9));
    assert!(reporting(&h));
    // No block: nothing runs, nothing reports.
    assert!(sc.apply_config(None).unwrap());
    assert!(sc.rows().is_empty());
    assert!(!reporting(&h));
    drop(sc);
    stop.store(true, Ordering::Relaxed);
    t.join().unwrap();
}
