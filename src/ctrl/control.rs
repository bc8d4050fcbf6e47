//! The control plane's authority: the service table rvsd runs, and how a request changes it.
//!
//! Owns [`Control`]: the authoritative [`ServiceTable`] (initialised from the config; its match
//! services are the SNAT rules), the `-Z` baselines, and the [`Dataplane`] it pushes snapshots
//! to. A change is applied to a clone of the table first; only when the clone accepts it and every worker runs the new
//! snapshot does the clone become the table, so a refused or failed change leaves everything as
//! it was. Listings merge the per-core reports into `ServiceInfo`s (sums over cores). Must not
//! touch: sockets and framing (`server`, `proto`), formatting (rvsadm does it).

use crate::adm::cli::Command;
use crate::adm::table::ServiceTable;
use crate::ctrl::model::{ConnEntry, Protocol, ServiceInfo, ServiceKey, SnatRule, Stats};
use crate::ctrl::proto::{ErrorCode, ListRequest, Reply, Request, Response, Status};
use crate::ipvs::balancer::{DestReport, ServiceReport};
use crate::ipvs::conn::ConnInfo;
use crate::ipvs::service::{BuildOptions, Services};
use crate::netadm::model::{NetReply, NetRequest};
use std::collections::HashMap;
use std::net::IpAddr;

/// Connection hash size shown in the `-L` banner: the kernel's default, which scripts expect.
pub const BANNER_SIZE: u32 = 4096;
/// Most connection entries copied from one worker for one listing.
pub const MAX_CONNS_PER_WORKER: usize = 1 << 20;

/// One worker's per-service and per-dest reports.
pub type WorkerReports = (Vec<ServiceReport>, Vec<DestReport>);

/// What the control plane needs from the running workers (the director, or a test double).
pub trait Dataplane: Send + 'static {
    /// Runs `snap` on every worker; returns once all of them do.
    fn set_services(&mut self, snap: Services) -> Result<(), String>;
    /// Every worker's per-service and per-dest reports.
    fn reports(&self) -> Result<Vec<WorkerReports>, String>;
    /// Every worker's connection table (at most `limit` entries each).
    fn conns(&self, limit: usize) -> Result<Vec<ConnInfo>, String>;
    /// Generation every worker runs.
    fn generation(&self) -> u64;
    /// Number of workers.
    fn workers(&self) -> usize;
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
    /// The names of rvsd's ports (`-F ifname` must be one); `None` when unknown.
    fn port_names(&self) -> Option<Vec<String>> {
        None
    }
}

type DestId = (ServiceKey, IpAddr, u16);

/// The authoritative table and the data plane it drives. See the module documentation.
pub struct Control<D> {
    table: ServiceTable,
    opts: BuildOptions,
    dp: D,
    svc_zero: HashMap<ServiceKey, Stats>,
    dest_zero: HashMap<DestId, Stats>,
}

fn add(a: &mut Stats, b: &Stats) {
    a.conns = a.conns.saturating_add(b.conns);
    a.inpkts = a.inpkts.saturating_add(b.inpkts);
    a.outpkts = a.outpkts.saturating_add(b.outpkts);
    a.inbytes = a.inbytes.saturating_add(b.inbytes);
    a.outbytes = a.outbytes.saturating_add(b.outbytes);
}

fn sub(a: &mut Stats, b: &Stats) {
    a.conns = a.conns.saturating_sub(b.conns);
    a.inpkts = a.inpkts.saturating_sub(b.inpkts);
    a.outpkts = a.outpkts.saturating_sub(b.outpkts);
    a.inbytes = a.inbytes.saturating_sub(b.inbytes);
    a.outbytes = a.outbytes.saturating_sub(b.outbytes);
}

fn conn_entry(c: &ConnInfo) -> Option<ConnEntry> {
    let proto = match c.proto {
        6 => Protocol::Tcp,
        17 => Protocol::Udp,
        _ => return None,
    };
    Some(ConnEntry {
        proto,
        state: c.state.to_string(),
        expire_s: c.expire_secs,
        client: c.client,
        virt: c.virt,
        dest: c.dest,
        local: c.local,
    })
}

fn is_change(cmd: &Command) -> bool {
    !matches!(
        cmd,
        Command::List { .. }
            | Command::Save { .. }
            | Command::Restore
            | Command::ListLocalAddrs { .. }
            | Command::Help
            | Command::Version
    )
}

impl<D: Dataplane> Control<D> {
    /// The control plane over `dp`, which already runs `table` and `snat`. The SNAT rules
    /// join the table as match services (`-H`), so rvsadm lists, saves and changes them.
    pub fn new(table: ServiceTable, snat: Vec<SnatRule>, opts: BuildOptions, dp: D) -> Self {
        let mut table = table;
        table.add_snat_rules(&snat);
        Control { table, opts, dp, svc_zero: HashMap::new(), dest_zero: HashMap::new() }
    }

    /// The table in force.
    pub fn table(&self) -> &ServiceTable {
        &self.table
    }

    /// Answers one request.
    pub fn handle(&mut self, req: Request) -> Response {
        match req {
            Request::Apply(cmd) if is_change(&cmd) => self.change(std::slice::from_ref(&cmd)),
            Request::Apply(_) => {
                Response::error(ErrorCode::BadRequest, "not a change: send it as a listing")
            }
            Request::Restore(cmds) => {
                if cmds.iter().any(|c| !is_change(c)) {
                    return Response::error(
                        ErrorCode::BadRequest,
                        "restore input may only hold changes (-A -E -D -a -e -d -C -Z --set -P -Q)",
                    );
                }
                self.change(&cmds)
            }
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
            Request::Net(r) => {
                let in_use = self.addrs_in_use();
                match self.dp.net(r, &in_use) {
                    Ok(reply) => Response::Ok(Reply::Net(reply)),
                    Err((code, message)) => Response::error(code, message),
                }
            }
        }
    }

    /// Addresses the table and the SNAT rules use, with what uses them (rvsnet may not delete
    /// them from under a service).
    fn addrs_in_use(&self) -> Vec<(IpAddr, String)> {
        let mut out = Vec::new();
        for s in self.table.services() {
            let k = s.spec.key;
            out.push((k.addr, format!("the VIP of {} {}:{}", k.proto.name(), k.addr, k.port)));
        }
        for l in self.table.local_addrs() {
            for a in &l.laddrs {
                let k = l.key;
                out.push((
                    a.spec.addr,
                    format!("a local address of {} {}:{}", k.proto.name(), k.addr, k.port),
                ));
            }
        }
        for r in &self.table.snat_rules() {
            out.push((r.out_addr, "the source address of a SNAT rule".to_string()));
        }
        out
    }

    fn list(&mut self, l: ListRequest) -> Response {
        match l {
            ListRequest::Timeouts => Response::Ok(Reply::Timeouts(self.table.timeouts())),
            ListRequest::Matches => Response::Ok(Reply::Matches(self.table.matches().to_vec())),
            ListRequest::LocalAddrs(None) => {
                Response::Ok(Reply::LocalAddrs(self.table.local_addrs().to_vec()))
            }
            ListRequest::LocalAddrs(Some(key)) => {
                if !self.table.services().iter().any(|s| s.spec.key == key) {
                    return Response::error(ErrorCode::NotFound, "No such service");
                }
                let l = self.table.local_addrs().iter().filter(|l| l.key == key).cloned();
                Response::Ok(Reply::LocalAddrs(l.collect()))
            }
            ListRequest::Conns { limit } => match self.dp.conns(limit.min(MAX_CONNS_PER_WORKER)) {
                Ok(c) => Response::Ok(Reply::Conns(c.iter().filter_map(conn_entry).collect())),
                Err(e) => Response::error(ErrorCode::Dataplane, e),
            },
            ListRequest::Services => match self.merged(true) {
                Ok(services) => Response::Ok(Reply::Services { size: BANNER_SIZE, services }),
                Err(e) => Response::error(ErrorCode::Dataplane, e),
            },
            ListRequest::Service(key) => {
                if !self.table.services().iter().any(|s| s.spec.key == key) {
                    return Response::error(ErrorCode::NotFound, "No such service");
                }
                match self.merged(true) {
                    Ok(all) => match all.into_iter().find(|s| s.spec.key == key) {
                        Some(s) => Response::Ok(Reply::Service(s)),
                        None => Response::error(ErrorCode::NotFound, "No such service"),
                    },
                    Err(e) => Response::error(ErrorCode::Dataplane, e),
                }
            }
        }
    }

    /// The table's services with counters summed over every worker, minus the `-Z` baselines
    /// when `zeroed`.
    fn merged(&self, zeroed: bool) -> Result<Vec<ServiceInfo>, String> {
        let reports = self.dp.reports()?;
        let mut out = self.table.services().to_vec();
        for s in &mut out {
            let key = s.spec.key;
            for (svcs, dests) in &reports {
                for r in svcs.iter().filter(|r| r.service == key && r.live) {
                    add(&mut s.stats, &r.stats);
                }
                for r in dests.iter().filter(|r| r.service == key && r.live) {
                    let addr = IpAddr::V4(r.addr);
                    if let Some(d) =
                        s.dests.iter_mut().find(|d| d.spec.addr == addr && d.spec.port == r.port)
                    {
                        d.active = d.active.saturating_add(r.active);
                        d.inactive = d.inactive.saturating_add(r.inactive);
                        d.persist = d.persist.saturating_add(r.persist);
                        add(&mut d.stats, &r.stats);
                    }
                }
            }
            if zeroed {
                if let Some(z) = self.svc_zero.get(&key) {
                    sub(&mut s.stats, z);
                }
                for d in &mut s.dests {
                    if let Some(z) = self.dest_zero.get(&(key, d.spec.addr, d.spec.port)) {
                        sub(&mut d.stats, z);
                    }
                }
            }
        }
        Ok(out)
    }

    /// `-F ifname` must name one of rvsd's ports (when the data plane says which they are).
    fn check_ifnames(&self, cmds: &[Command]) -> Result<(), String> {
        let Some(ports) = self.dp.port_names() else { return Ok(()) };
        for c in cmds {
            if let Command::AddLocalAddr { laddr, .. } = c {
                if let Some(name) = &laddr.ifname {
                    if !ports.iter().any(|p| p == name) {
                        return Err(format!(
                            "-F {name}: rvsd has no port named `{name}`; its ports are: {}",
                            ports.join(", ")
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    fn change(&mut self, cmds: &[Command]) -> Response {
        if let Err(e) = self.check_ifnames(cmds) {
            return Response::error(ErrorCode::Refused, e);
        }
        let mut next = self.table.clone();
        for c in cmds {
            if let Err(e) = next.apply(c) {
                return Response::error(ErrorCode::Refused, e.to_string());
            }
        }
        let zero: Vec<Option<ServiceKey>> = cmds
            .iter()
            .filter_map(|c| match c {
                Command::Zero(k) => Some(*k),
                _ => None,
            })
            .collect();
        if !zero.is_empty() {
            // Workers count from when they started: `-Z` records where zero is.
            let raw = match self.merged(false) {
                Ok(r) => r,
                Err(e) => return Response::error(ErrorCode::Dataplane, e),
            };
            for s in raw.iter().filter(|s| zero.iter().any(|z| z.map_or(true, |k| k == s.spec.key)))
            {
                self.svc_zero.insert(s.spec.key, s.stats);
                for d in &s.dests {
                    self.dest_zero.insert((s.spec.key, d.spec.addr, d.spec.port), d.stats);
                }
            }
        }
        if next != self.table {
            let snap = match Services::from_table(&next, &next.snat_rules(), self.opts) {
                Ok(s) => s,
                Err(e) => return Response::error(ErrorCode::Refused, e.to_string()),
            };
            if let Err(e) = self.dp.set_services(snap) {
                // Some workers may run the new snapshot: put the old one back everywhere.
                if let Ok(old) =
                    Services::from_table(&self.table, &self.table.snat_rules(), self.opts)
                {
                    let _ = self.dp.set_services(old);
                }
                return Response::error(ErrorCode::Dataplane, e);
            }
            self.table = next;
            self.forget_removed();
        }
        Response::Ok(Reply::Done)
    }

    /// Drops `-Z` baselines of services and dests that no longer exist.
    fn forget_removed(&mut self) {
        let services = self.table.services();
        self.svc_zero.retain(|k, _| services.iter().any(|s| s.spec.key == *k));
        self.dest_zero.retain(|(k, a, p), _| {
            services.iter().any(|s| {
                s.spec.key == *k && s.dests.iter().any(|d| d.spec.addr == *a && d.spec.port == *p)
            })
        });
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::adm::cli::parse;
    use crate::adm::names::NoNames;
    use std::sync::{Arc, Mutex};

    /// A data plane that records snapshots and answers with fixed reports.
    #[derive(Clone, Default)]
    pub(crate) struct FakeDp {
        pub pushed: Arc<Mutex<Vec<usize>>>,
        pub fail_push: Arc<Mutex<bool>>,
        pub reports: Arc<Mutex<Vec<WorkerReports>>>,
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
        fn conns(&self, _limit: usize) -> Result<Vec<ConnInfo>, String> {
            Ok(Vec::new())
        }
        fn generation(&self) -> u64 {
            self.pushed.lock().unwrap().len() as u64
        }
        fn workers(&self) -> usize {
            2
        }
    }

    fn cmd(line: &str) -> Command {
        let argv: Vec<&str> = line.split_whitespace().collect();
        parse(&argv, &NoNames).unwrap()
    }

    fn key() -> ServiceKey {
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
        // Listings are not changes, alone or in a restore.
        let e = c.handle(Request::Apply(cmd("rvsadm -L -n")));
        assert!(matches!(e, Response::Error { code: ErrorCode::BadRequest, .. }));
        let e = c.handle(Request::Restore(vec![cmd("rvsadm -C"), cmd("rvsadm -S")]));
        assert!(matches!(e, Response::Error { code: ErrorCode::BadRequest, .. }));
        assert_eq!(c.table(), &before);
    }

    #[test]
    fn listings_sum_cores_and_zero_uses_baselines() {
        let dp = FakeDp::default();
        let mut c = Control::new(ServiceTable::new(), Vec::new(), BuildOptions::default(), dp);
        for l in ["rvsadm -A -t 10.0.0.1:80 -s rr", "rvsadm -a -t 10.0.0.1:80 -r 10.0.0.2 -g"] {
            assert_eq!(c.handle(Request::Apply(cmd(l))), Response::Ok(Reply::Done));
        }
        let st =
            |n: u64| Stats { conns: n, inpkts: 10 * n, outpkts: 0, inbytes: 100 * n, outbytes: 0 };
        let core = |n: u64| {
            (
                vec![ServiceReport { service: key(), live: true, stats: st(n) }],
                vec![DestReport {
                    service: key(),
                    addr: "10.0.0.2".parse().unwrap(),
                    port: 80,
                    live: true,
                    active: n as u32,
                    inactive: 1,
                    persist: 0,
                    overloaded: false,
                    stats: st(n),
                }],
            )
        };
        *c.dp.reports.lock().unwrap() = vec![core(2), core(3)];
        let Response::Ok(Reply::Services { services, .. }) =
            c.handle(Request::List(ListRequest::Services))
        else {
            panic!("listing")
        };
        let s = &services[0];
        assert_eq!(s.stats, st(5));
        assert_eq!((s.dests[0].active, s.dests[0].inactive, s.dests[0].stats), (5, 2, st(5)));
        assert_eq!(c.handle(Request::Apply(cmd("rvsadm -Z"))), Response::Ok(Reply::Done));
        *c.dp.reports.lock().unwrap() = vec![core(3), core(3)];
        let Response::Ok(Reply::Service(s)) = c.handle(Request::List(ListRequest::Service(key())))
        else {
            panic!("listing")
        };
        assert_eq!(s.stats, st(1));
        assert_eq!((s.dests[0].active, s.dests[0].stats), (6, st(1)));
        let missing = ServiceKey { port: 81, ..key() };
        assert_eq!(
            c.handle(Request::List(ListRequest::Service(missing))),
            Response::error(ErrorCode::NotFound, "No such service")
        );
    }
}
