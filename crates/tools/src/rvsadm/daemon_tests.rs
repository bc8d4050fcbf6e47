//! The sync daemon commands: ipvsadm's syntax, ranges and error words, and `-L --daemon`'s lines
//! byte for byte.

use std::net::IpAddr;
use std::path::Path;

use crate::rvsadm::cli::{parse, Command};
use crate::rvsadm::daemon::{
    format_daemons, SyncDaemonCmd, SyncDaemonInfo, SyncDaemonParams, SyncRole,
};
use crate::rvsadm::names::NoNames;
use crate::rvsadm::run::run;

fn p(line: &str) -> Result<Command, String> {
    let argv: Vec<&str> = line.split_whitespace().collect();
    parse(&argv, &NoNames).map_err(|e| e.to_string())
}

fn start(role: SyncRole, params: SyncDaemonParams) -> Result<Command, String> {
    Ok(Command::SyncDaemon(SyncDaemonCmd::Start { role, params }))
}

#[test]
fn start_and_stop_read_as_ipvsadm_reads_them() {
    let eth1 = |syncid| SyncDaemonParams {
        mcast_interface: Some("eth1".into()),
        syncid: Some(syncid),
        ..Default::default()
    };
    assert_eq!(
        p("rvsadm --start-daemon master --mcast-interface eth1 --syncid 7"),
        start(SyncRole::Master, eth1(7))
    );
    assert_eq!(
        p("rvsadm --start-daemon=backup --mcast-interface=eth1 --syncid=0"),
        start(SyncRole::Backup, eth1(0))
    );
    assert_eq!(
        p("rvsadm --start-daemon master --mcast-interface eth1 --syncid 1 --sync-maxlen 1472 \
           --mcast-group 239.1.2.3 --mcast-port 8849 --mcast-ttl 2"),
        start(
            SyncRole::Master,
            SyncDaemonParams {
                sync_maxlen: Some(1472),
                mcast_group: Some("239.1.2.3".parse().unwrap()),
                mcast_port: Some(8849),
                mcast_ttl: Some(2),
                ..eth1(1)
            }
        )
    );
    assert_eq!(
        p("rvsadm --start-daemon backup --mcast-interface eth1 --mcast-group ff02::81"),
        start(
            SyncRole::Backup,
            SyncDaemonParams {
                mcast_interface: Some("eth1".into()),
                mcast_group: Some("ff02::81".parse::<IpAddr>().unwrap()),
                ..Default::default()
            }
        )
    );
    // ipvsadm keeps 15 characters of the interface name.
    let long = p("rvsadm --start-daemon master --mcast-interface abcdefghijklmnopq").unwrap();
    let Command::SyncDaemon(SyncDaemonCmd::Start { params, .. }) = long else { panic!() };
    assert_eq!(params.mcast_interface.as_deref(), Some("abcdefghijklmno"));
    assert_eq!(
        p("rvsadm --stop-daemon backup"),
        Ok(Command::SyncDaemon(SyncDaemonCmd::Stop { role: SyncRole::Backup }))
    );
    assert_eq!(
        p("rvsadm --stop-daemon master --mcast-interface eth1 --syncid 3"),
        Ok(Command::SyncDaemon(SyncDaemonCmd::Stop { role: SyncRole::Master }))
    );
}

#[test]
fn bad_values_get_ipvsadms_words() {
    let cases: &[(&str, &str)] = &[
        ("rvsadm --start-daemon primary", "illegal start-daemon parameter specified"),
        ("rvsadm --stop-daemon primary", "illegal start_daemon specified"),
        ("rvsadm --start-daemon", "--start-daemon: missing argument"),
        ("rvsadm --start-daemon master --syncid 256", "illegal syncid specified"),
        ("rvsadm --start-daemon master --syncid x", "illegal syncid specified"),
        ("rvsadm --start-daemon master --sync-maxlen 0", "illegal sync-maxlen specified"),
        ("rvsadm --start-daemon master --sync-maxlen 65508", "illegal sync-maxlen specified"),
        ("rvsadm --start-daemon master --mcast-group 10.0.0.1", "illegal mcast-group specified"),
        ("rvsadm --start-daemon master --mcast-group nowhere", "illegal mcast-group specified"),
        ("rvsadm --start-daemon master --mcast-port 0", "illegal mcast-port specified"),
        ("rvsadm --start-daemon master --mcast-ttl 256", "illegal mcast-ttl specified"),
        ("rvsadm --start-daemon master --syncid", "--syncid: missing argument"),
        (
            "rvsadm --start-daemon master --syncid 1 --syncid 2",
            "multiple 'syncid' options specified",
        ),
        ("rvsadm --start-daemon master --bogus", "--bogus: unknown option"),
        (
            "rvsadm --start-daemon master --weight 1",
            "Illegal 'weight' option with the 'start-daemon' command",
        ),
        (
            "rvsadm --start-daemon master 10.0.0.1:80",
            "Illegal 'service-address' option with the 'start-daemon' command",
        ),
        ("rvsadm --start-daemon master --list", "multiple commands specified"),
        (
            "rvsadm --stop-daemon master --mcast-port 1",
            "Illegal 'mcast-port' option with the 'stop-daemon' command",
        ),
    ];
    for (line, want) in cases {
        assert_eq!(p(line).unwrap_err(), *want, "{line}");
    }
}

#[test]
fn the_daemon_listing_is_ipvsadms() {
    let group = Some("224.0.0.81".parse().unwrap());
    let rows = [
        SyncDaemonInfo {
            role: SyncRole::Backup,
            mcast_interface: "ens18".into(),
            syncid: 2,
            sync_maxlen: 1472,
            mcast_group: group,
            mcast_port: 8848,
            mcast_ttl: 1,
        },
        SyncDaemonInfo {
            role: SyncRole::Master,
            mcast_interface: "ens18".into(),
            syncid: 1,
            sync_maxlen: 1472,
            mcast_group: group,
            mcast_port: 8848,
            mcast_ttl: 1,
        },
    ];
    // ipvsadm 1.31 against a kernel that runs both: master first.
    assert_eq!(
        format_daemons(&rows),
        "master sync daemon (mcast=ens18, syncid=1, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n\
         backup sync daemon (mcast=ens18, syncid=2, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n"
    );
    // What the kernel leaves unset is left out.
    let bare = SyncDaemonInfo {
        role: SyncRole::Master,
        mcast_interface: "eth1".into(),
        syncid: 0,
        sync_maxlen: 0,
        mcast_group: None,
        mcast_port: 0,
        mcast_ttl: 0,
    };
    assert_eq!(format_daemons(&[bare]), "master sync daemon (mcast=eth1, syncid=0)\n");
    assert_eq!(format_daemons(&[]), "");
}

#[test]
fn rvsadm_sends_the_sync_requests_to_rvsd() {
    // No rvsd at that path: rvsadm tried to reach it (exit 1), for each of the three commands.
    for line in [
        "rvsadm --start-daemon master --mcast-interface eth1 --syncid 1",
        "rvsadm --stop-daemon backup",
        "rvsadm -L --daemon",
    ] {
        let argv: Vec<String> = line.split_whitespace().map(String::from).collect();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = run(
            &argv,
            &mut std::io::empty(),
            &mut out,
            &mut err,
            Path::new("/nonexistent/rvsd.sock"),
            &NoNames,
        );
        assert_eq!(code, 1, "{line}");
        assert!(out.is_empty());
        let err = String::from_utf8(err).unwrap();
        assert!(err.starts_with("rvsadm: ") && err.contains("/nonexistent/rvsd.sock"), "{err}");
    }
}
