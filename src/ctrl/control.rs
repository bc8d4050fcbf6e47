//! The control plane's authority: the service table rvsd runs, and how a request changes it.
//!
//! Owns [`Control`] and the [`Dataplane`] interface it drives: the authoritative
//! [`ServiceTable`] (initialised from the config; its match services are the SNAT rules),
//! answering requests, and applying changes. A change is applied to a clone of the table first;
//! only when the clone accepts it and every worker runs the new snapshot does the clone become
//! the table, so a refused or failed change leaves everything as it was. The other duties are
//! files of their own: listings summed over the workers (`listing`), the `-Z` baselines
//! (`baselines`), reloads (`reload`), the health checks' view and changes (`health_state`),
//! what rvsnet and `-F` may touch (`plumbing`). Must not touch: sockets and framing (`server`,
//! `proto`), formatting (rvsadm does it).

use super::baselines::Baselines;
use super::conn_stream::ConnSource;
use super::estimator::Estimator;
use super::health_state::HealthRows;
use super::reload::ReloadSource;
use super::table::ServiceTable;
use crate::ipvs::balancer::{DestReport, PoolReports, ServiceReport};
use crate::ipvs::service::{BuildOptions, Services};
use crate::ipvs::spec::{ServiceKey, SnatRule};
use crate::proto::change::Change;
use crate::proto::net::{NetReply, NetRequest};
use crate::proto::{ErrorCode, Reply, Request, Response, Status};
use std::net::IpAddr;

/// Connection hash size shown in the `-L` banner: the kernel's default, which scripts expect.
pub const BANNER_SIZE: u32 = 4096;

/// One worker's per-service and per-dest reports.
pub type WorkerReports = (Vec<ServiceReport>, Vec<DestReport>);

/// What the control plane needs from the running workers (the director, or a test double).
pub trait Dataplane: Send + 'static {
    /// Runs `snap` on every worker; returns once all of them do.
    fn set_services(&mut self, snap: Services) -> Result<(), String>;
    /// Every worker's per-service and per-dest reports.
    fn reports(&self) -> Result<Vec<WorkerReports>, String>;
    /// The workers' connection tables, to walk a slice at a time from a client's thread
    /// without this control plane's lock ([`crate::ctrl::conn_stream`]).
    fn conn_source(&self) -> Box<dyn ConnSource>;
    /// Generation every worker runs.
    fn generation(&self) -> u64;
    /// Number of workers.
    fn workers(&self) -> usize;
    /// Every worker's local-address pool and SNAT reports (none by default).
    fn pools(&self) -> Result<Vec<PoolReports>, String> {
        Ok(Vec::new())
    }
    /// Answers an rvsnet request (addresses, routes, neighbours, links, steering). `in_use`
    /// names the addresses the service table and SNAT rules use, which cannot be deleted.
    fn net(
        &mut self,
        req: NetRequest,
        in_use: &[(IpAddr, String)],
    ) -> Result<NetReply, (ErrorCode, String)> {
        let _ = (req, in_use);
        Err((ErrorCode::BadRequest, "this data plane has no plumbing to show or change".into()))
    }
    /// Ends, on every worker, the connections of services, dests and SNAT rules the running
    /// snapshot no longer has; returns how many entries ended.
    fn flush_removed(&mut self) -> Result<u64, String> {
        Err("this data plane keeps no connections to flush".into())
    }
    /// The names of rvsd's ports (`-F ifname` must be one); `None` when unknown.
    fn port_names(&self) -> Option<Vec<String>> {
        None
    }
}

/// The authoritative table and the data plane it drives. See the module documentation.
pub struct Control<D> {
    pub(super) table: ServiceTable,
    pub(super) opts: BuildOptions,
    pub(super) dp: D,
    pub(super) zero: Baselines,
    pub(super) rates: Estimator,
    pub(super) reloader: Option<Box<dyn ReloadSource>>,
    pub(super) health: Option<Box<dyn HealthRows>>,
    /// Scale-out: the announcer's handle, when `[announce]` is configured.
    pub(super) announce: Option<crate::announce::AnnounceHandle>,
    /// Connection sync: rvsd's sync daemons (`--start-daemon`, `[sync]` on reload).
    pub(super) sync: Option<std::sync::Arc<std::sync::Mutex<crate::sync::SyncControl>>>,
}

impl<D: Dataplane> Control<D> {
    /// The control plane over `dp`, which already runs `table` and `snat`. The SNAT rules
    /// join the table as match services (`-H`), so rvsadm lists, saves and changes them.
    pub fn new(table: ServiceTable, snat: Vec<SnatRule>, opts: BuildOptions, dp: D) -> Self {
        let mut table = table;
        table.add_snat_rules(&snat);
        Control {
            table,
            opts,
            dp,
            zero: Baselines::default(),
            rates: Estimator::new(),
            reloader: None,
            health: None,
            announce: None,
            sync: None,
        }
    }

    /// Answers `-L --health` from `health` (the health checks' published state), and keeps
    /// what they did to the table across reloads.
    pub fn with_health(mut self, health: impl HealthRows + 'static) -> Self {
        self.health = Some(Box::new(health));
        self
    }

    /// Scale-out: answers `rvsadm --announced/--drain/--resume` through `announce`.
    pub fn set_announce(&mut self, announce: crate::announce::AnnounceHandle) {
        self.announce = Some(announce);
    }

    /// Connection sync: answers `rvsadm --start-daemon/--stop-daemon/-L --daemon` through
    /// `sync`, and brings it to a changed `[sync]` block on reload.
    pub fn set_sync(&mut self, sync: std::sync::Arc<std::sync::Mutex<crate::sync::SyncControl>>) {
        self.sync = Some(sync);
    }

    /// The table in force.
    pub fn table(&self) -> &ServiceTable {
        &self.table
    }

    /// The SNAT rules in force (the match services that have their address).
    pub fn snat_rules(&self) -> Vec<SnatRule> {
        self.table.snat_rules()
    }

    /// Answers one request.
    pub fn handle(&mut self, req: Request) -> Response {
        match req {
            Request::Apply(change) => self.change(std::slice::from_ref(&change)),
            Request::Restore(changes) => self.change(&changes),
            Request::Save => Response::Ok(Reply::Services {
                size: BANNER_SIZE,
                services: self.table.services().to_vec(),
            }),
            Request::Status => Response::Ok(Reply::Status(Status {
                generation: self.dp.generation(),
                workers: self.dp.workers(),
                services: self.table.services().len(),
                conn_table_size: BANNER_SIZE,
            })),
            Request::List(l) => self.list(l),
            Request::Reload => self.reload(),
            Request::FlushRemoved => match self.dp.flush_removed() {
                Ok(conns) => {
                    tracing::info!("flushed {conns} connection(s) of removed services and dests");
                    Response::Ok(Reply::Flushed { conns })
                }
                Err(m) => Response::error(ErrorCode::Dataplane, m),
            },
            Request::Announce(r) => match &self.announce {
                Some(a) => Response::Ok(Reply::Announce(a.handle(r, self.table.services()))),
                None => Response::error(
                    ErrorCode::NotFound,
                    "rvsd announces no VIPs: add an [announce] section to its config (docs/scale-out.md)",
                ),
            },
            Request::Sync(r) => match &self.sync {
                Some(s) => match s.lock().unwrap_or_else(|p| p.into_inner()).handle(r) {
                    Ok(rows) => Response::Ok(Reply::SyncDaemons(rows)),
                    Err((code, message)) => Response::error(code, message),
                },
                // No data plane to sync: only `-L --daemon` answers (nothing runs).
                None => match r {
                    crate::proto::sync::SyncRequest::Show => {
                        Response::Ok(Reply::SyncDaemons(Vec::new()))
                    }
                    _ => Response::error(
                        ErrorCode::Refused,
                        "this rvsd has no workers to sync connections of",
                    ),
                },
            },
            Request::Net(r) => {
                let in_use = self.addrs_in_use();
                match self.dp.net(r, &in_use) {
                    Ok(reply) => Response::Ok(Reply::Net(reply)),
                    Err((code, message)) => Response::error(code, message),
                }
            }
        }
    }

    fn change(&mut self, cmds: &[Change]) -> Response {
        self.change_with(cmds, None)
    }

    /// Applies `cmds`, and replaces the SNAT rules (the match services) with `snat` when given
    /// (a reload: the config declares them), as one change.
    pub(super) fn change_with(&mut self, cmds: &[Change], snat: Option<Vec<SnatRule>>) -> Response {
        if let Err(e) = self.check_ifnames(cmds) {
            return Response::error(ErrorCode::Refused, e);
        }
        let mut next = self.table.clone();
        for c in cmds {
            if let Err(e) = next.apply(c) {
                return Response::error(ErrorCode::Refused, e.to_string());
            }
        }
        if let Some(rules) = snat {
            next.set_snat_rules(&rules);
        }
        let zero: Vec<Option<ServiceKey>> = cmds
            .iter()
            .filter_map(|c| match c {
                Change::Zero(k) => Some(*k),
                _ => None,
            })
            .collect();
        if !zero.is_empty() {
            // Workers count from when they started: `-Z` records where zero is.
            let raw = match self.merged(false) {
                Ok(r) => r,
                Err(e) => return Response::error(ErrorCode::Dataplane, e),
            };
            for z in &zero {
                self.rates.zero(*z);
            }
            if zero.contains(&None) {
                match self.merged_matches(false) {
                    Ok(raw) => self.zero.record_matches(raw),
                    Err(e) => return Response::error(ErrorCode::Dataplane, e),
                }
            }
            self.zero.record_services(&raw, &zero);
        }
        if next != self.table {
            let snap = match next.snapshot(&next.snat_rules(), self.opts) {
                Ok(s) => s,
                Err(e) => return Response::error(ErrorCode::Refused, e.to_string()),
            };
            if let Err(e) = self.dp.set_services(snap) {
                // Some workers may run the new snapshot: put the old one back everywhere.
                if let Ok(old) = self.table.snapshot(&self.table.snat_rules(), self.opts) {
                    let _ = self.dp.set_services(old);
                }
                return Response::error(ErrorCode::Dataplane, e);
            }
            self.table = next;
            self.zero.forget_removed(&self.table);
        }
        Response::Ok(Reply::Done)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::ipvs::spec::Protocol;
    use crate::rvsadm::cli::parse;
    use crate::rvsadm::names::NoNames;
    use std::sync::{Arc, Mutex};

    /// A data plane that records snapshots and answers with fixed reports.
    #[derive(Clone, Default)]
    pub(crate) struct FakeDp {
        pub pushed: Arc<Mutex<Vec<usize>>>,
        pub fail_push: Arc<Mutex<bool>>,
        pub reports: Arc<Mutex<Vec<WorkerReports>>>,
        pub pools: Arc<Mutex<Vec<PoolReports>>>,
        pub flushed: Arc<Mutex<u64>>,
        /// Each worker's connection table, slot by slot.
        pub conns: Arc<Mutex<Vec<Vec<Option<crate::ipvs::conn::ConnInfo>>>>>,
    }

    impl Dataplane for FakeDp {
        fn set_services(&mut self, snap: Services) -> Result<(), String> {
            if *self.fail_push.lock().unwrap() {
                return Err("worker 1 did not answer within 5000 ms".into());
            }
            self.pushed.lock().unwrap().push(snap.services().len());
            Ok(())
        }
        fn reports(&self) -> Result<Vec<WorkerReports>, String> {
            Ok(self.reports.lock().unwrap().clone())
        }
        fn conn_source(&self) -> Box<dyn ConnSource> {
            let tables = self.conns.lock().unwrap().clone();
            Box::new(crate::ctrl::conn_stream::tests::FakeTables(tables))
        }
        fn generation(&self) -> u64 {
            self.pushed.lock().unwrap().len() as u64
        }
        fn workers(&self) -> usize {
            2
        }
        fn pools(&self) -> Result<Vec<PoolReports>, String> {
            Ok(self.pools.lock().unwrap().clone())
        }
        fn flush_removed(&mut self) -> Result<u64, String> {
            Ok(std::mem::take(&mut *self.flushed.lock().unwrap()))
        }
    }

    #[test]
    fn flush_removed_reaches_the_data_plane_and_changes_no_table() {
        let dp = FakeDp::default();
        *dp.flushed.lock().unwrap() = 3;
        let mut c = Control::new(ServiceTable::new(), Vec::new(), BuildOptions::default(), dp);
        c.handle(Request::Apply(cmd("rvsadm -A -t 10.0.0.1:80 -s rr")));
        let before = c.table().clone();
        assert_eq!(c.handle(Request::FlushRemoved), Response::Ok(Reply::Flushed { conns: 3 }));
        assert_eq!(c.handle(Request::FlushRemoved), Response::Ok(Reply::Flushed { conns: 0 }));
        assert_eq!(c.table(), &before);
        assert_eq!(*c.dp.pushed.lock().unwrap(), vec![1], "no snapshot pushed by a flush");
    }

    pub(crate) fn cmd(line: &str) -> Change {
        let argv: Vec<&str> = line.split_whitespace().collect();
        parse(&argv, &NoNames).unwrap().into_change().expect("a change")
    }

    pub(crate) fn key() -> ServiceKey {
        ServiceKey { proto: Protocol::Tcp, addr: "10.0.0.1".parse().unwrap(), port: 80 }
    }

    #[test]
    fn changes_commit_only_when_table_and_workers_accept() {
        let dp = FakeDp::default();
        let mut c = Control::new(ServiceTable::new(), Vec::new(), BuildOptions::default(), dp);
        let ok = c.handle(Request::Apply(cmd("rvsadm -A -t 10.0.0.1:80 -s rr")));
        assert_eq!(ok, Response::Ok(Reply::Done));
        assert_eq!(*c.dp.pushed.lock().unwrap(), vec![1]);
        let before = c.table().clone();
        let e = c.handle(Request::Apply(cmd("rvsadm -A -t 10.0.0.1:80 -s wrr")));
        assert_eq!(e, Response::error(ErrorCode::Refused, "Service already exists"));
        assert_eq!(c.table(), &before);
        // A restore with one bad line changes nothing and pushes nothing.
        let e = c.handle(Request::Restore(vec![
            cmd("rvsadm -A -t 10.0.0.2:80"),
            cmd("rvsadm -a -t 10.0.0.9:80 -r 10.0.0.3"),
        ]));
        assert_eq!(e, Response::error(ErrorCode::Refused, "Service not defined"));
        assert_eq!((c.table(), c.dp.pushed.lock().unwrap().len()), (&before, 1));
        // Workers refusing: nothing committed.
        *c.dp.fail_push.lock().unwrap() = true;
        let e = c.handle(Request::Apply(cmd("rvsadm -C")));
        assert!(matches!(e, Response::Error { code: ErrorCode::Dataplane, .. }), "{e:?}");
        assert_eq!(c.table(), &before);
    }
}
