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
use crate::ctrl::estimator::Estimator;
use crate::ctrl::model::{
    ConnEntry, MatchService, MatchSpec, Protocol, ServiceInfo, ServiceKey, ServiceLocalAddrs,
    SnatRule, Stats,
};
use crate::ctrl::proto::{ErrorCode, ListRequest, Reply, Request, Response, Status};
use crate::ctrl::reload::{table_diff, Reloader};
use crate::ipvs::balancer::{DestReport, PoolOwner, PoolReports, ServiceReport};
use crate::ipvs::conn::ConnInfo;
use crate::ipvs::counters::TrafficCounters;
use crate::ipvs::service::{BuildOptions, Services, SnatMatch};
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

type DestId = (ServiceKey, IpAddr, u16);

/// The authoritative table and the data plane it drives. See the module documentation.
pub struct Control<D> {
    table: ServiceTable,
    opts: BuildOptions,
    dp: D,
    svc_zero: HashMap<ServiceKey, Stats>,
    dest_zero: HashMap<DestId, Stats>,
    /// `-Z` baselines of match services (by spec) and their SNAT addresses.
    match_zero: HashMap<MatchSpec, Stats>,
    match_dest_zero: HashMap<(MatchSpec, IpAddr), Stats>,
    rates: Estimator,
    reloader: Option<Reloader>,
    health: Option<crate::health::board::Board>,
}

fn add(a: &mut Stats, b: &TrafficCounters) {
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
            | Command::Reload
            | Command::FlushRemoved
    )
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
            svc_zero: HashMap::new(),
            dest_zero: HashMap::new(),
            match_zero: HashMap::new(),
            match_dest_zero: HashMap::new(),
            rates: Estimator::new(),
            reloader: None,
            health: None,
        }
    }

    /// Answers `-L --health` from `board` (the health checks' published state).
    pub fn with_health(mut self, board: crate::health::board::Board) -> Self {
        self.health = Some(board);
        self
    }

    /// The table in force.
    pub fn table(&self) -> &ServiceTable {
        &self.table
    }

    /// The SNAT rules in force (the match services that have their address).
    pub fn snat_rules(&self) -> Vec<SnatRule> {
        self.table.snat_rules()
    }

    /// Where [`Request::Reload`] and SIGHUP read the config from.
    pub fn set_reloader(&mut self, r: Reloader) {
        self.reloader = Some(r);
    }

    /// Reads the config again and applies the difference as one live change (see
    /// `ctrl::reload`); a config that does not validate or needs a restart changes nothing.
    /// The outcome is logged, whoever asked (the RPC or SIGHUP).
    pub fn reload(&mut self) -> Response {
        let Some(r) = &self.reloader else {
            return Response::error(
                ErrorCode::BadRequest,
                "this rvsd has no config file to reload (it was started without -c)",
            );
        };
        let (mut table, snat) = match r.load() {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!("reload refused: {e}");
                return Response::error(ErrorCode::BadConfig, e);
            }
        };
        if let Some(board) = &self.health {
            crate::health::apply::keep_health_state(&self.table, &mut table, &board.rows());
        }
        let cmds = table_diff(&self.table, &table);
        let changes = cmds.len() + usize::from(snat != self.table.snat_rules());
        match self.change_with(&cmds, Some(snat)) {
            Response::Ok(_) => {
                tracing::info!("config reloaded: {changes} change(s) applied");
                Response::Ok(Reply::Reloaded { changes })
            }
            Response::Error { code, message } => {
                tracing::warn!("reload failed, nothing changed: {message}");
                Response::Error { code, message }
            }
        }
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
            Request::Reload => self.reload(),
            Request::FlushRemoved => match self.dp.flush_removed() {
                Ok(conns) => {
                    tracing::info!("flushed {conns} connection(s) of removed services and dests");
                    Response::Ok(Reply::Flushed { conns })
                }
                Err(m) => Response::error(ErrorCode::Dataplane, m),
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
            ListRequest::Health => Response::Ok(Reply::Health(
                self.health.as_ref().map(|b| b.rows()).unwrap_or_default(),
            )),
            ListRequest::Matches => match self.merged_matches(true) {
                Ok(m) => Response::Ok(Reply::Matches(m)),
                Err(e) => Response::error(ErrorCode::Dataplane, e),
            },
            ListRequest::LocalAddrs(None) => self.laddr_usage(self.table.local_addrs().to_vec()),
            ListRequest::LocalAddrs(Some(key)) => {
                if !self.table.services().iter().any(|s| s.spec.key == key) {
                    return Response::error(ErrorCode::NotFound, "No such service");
                }
                let l = self.table.local_addrs().iter().filter(|l| l.key == key).cloned();
                self.laddr_usage(l.collect())
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

    /// Samples every service's and dest's totals for the `--rate` estimator. Call every
    /// [`crate::ctrl::estimator::INTERVAL`].
    pub fn sample_rates(&mut self) -> Result<(), String> {
        let raw = self.merged(false)?;
        self.rates.sample(&raw);
        let raw = self.merged_matches(false)?;
        self.rates.sample_matches(&raw);
        Ok(())
    }

    /// `-G`: each local address with its ports in use (`CONNS`) and allocation misses
    /// (`CONFLICTS`), summed over the workers' pools.
    fn laddr_usage(&self, mut list: Vec<ServiceLocalAddrs>) -> Response {
        let pools = match self.dp.pools() {
            Ok(p) => p,
            Err(e) => return Response::error(ErrorCode::Dataplane, e),
        };
        for s in &mut list {
            for l in &mut s.laddrs {
                let reports = pools.iter().flat_map(|p| &p.laddrs).filter(|r| {
                    r.owner == PoolOwner::Service(s.key) && IpAddr::V4(r.addr) == l.spec.addr
                });
                for r in reports {
                    l.conns = l.conns.saturating_add(u32::try_from(r.in_use).unwrap_or(u32::MAX));
                    l.conflicts = l.conflicts.saturating_add(r.misses);
                }
            }
        }
        Response::Ok(Reply::LocalAddrs(list))
    }

    /// What the metrics exporter shows: the services as `-L --stats` lists them, and every
    /// worker's pool reports.
    pub fn metrics_view(&self) -> Result<(Vec<ServiceInfo>, Vec<PoolReports>), String> {
        Ok((self.merged(true)?, self.dp.pools()?))
    }

    /// The table's services with counters summed over every worker; when `zeroed` (a listing),
    /// minus the `-Z` baselines and with the estimated rates.
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
                self.rates.fill(std::slice::from_mut(s));
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

    /// The match services with their rules' counts summed over every worker: live connections
    /// (active, inactive) on the SNAT real server, totals on both lines; when `zeroed` (a
    /// listing), minus the `-Z` baselines and with the estimated rates. A rule is found by its
    /// whole data-plane form (spec and SNAT address); one that is not forwarded (IPv6) or has
    /// no address yet counts nothing.
    fn merged_matches(&self, zeroed: bool) -> Result<Vec<MatchService>, String> {
        let mut out = self.table.matches().to_vec();
        if out.is_empty() {
            return Ok(out);
        }
        let pools = self.dp.pools()?;
        for m in &mut out {
            let Some(rule) = m.rule().as_ref().and_then(SnatMatch::from_rule) else { continue };
            for r in pools.iter().flat_map(|p| &p.rules).filter(|r| r.live && r.rule == rule) {
                add(&mut m.stats, &r.stats);
                if let Some(d) = m.dests.first_mut() {
                    d.active = d.active.saturating_add(r.active);
                    d.inactive = d.inactive.saturating_add(r.inactive);
                    add(&mut d.stats, &r.stats);
                }
            }
            if zeroed {
                self.rates.fill_matches(std::slice::from_mut(m));
                if let Some(z) = self.match_zero.get(&m.spec) {
                    sub(&mut m.stats, z);
                }
                for d in &mut m.dests {
                    if let Some(z) = self.match_dest_zero.get(&(m.spec.clone(), d.spec.addr)) {
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
        self.change_with(cmds, None)
    }

    /// Applies `cmds`, and replaces the SNAT rules (the match services) with `snat` when given
    /// (a reload: the config declares them), as one change.
    fn change_with(&mut self, cmds: &[Command], snat: Option<Vec<SnatRule>>) -> Response {
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
            for z in &zero {
                self.rates.zero(*z);
            }
            if zero.contains(&None) {
                let raw = match self.merged_matches(false) {
                    Ok(r) => r,
                    Err(e) => return Response::error(ErrorCode::Dataplane, e),
                };
                for m in raw {
                    for d in &m.dests {
                        self.match_dest_zero.insert((m.spec.clone(), d.spec.addr), d.stats);
                    }
                    self.match_zero.insert(m.spec, m.stats);
                }
            }
            for s in raw.iter().filter(|s| zero.iter().any(|z| z.map_or(true, |k| k == s.spec.key)))
            {
                self.svc_zero.insert(s.spec.key, s.stats);
                for d in &s.dests {
                    self.dest_zero.insert((s.spec.key, d.spec.addr, d.spec.port), d.stats);
                }
            }
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
        let matches = self.table.matches();
        self.match_zero.retain(|k, _| matches.iter().any(|m| m.spec == *k));
        self.match_dest_zero.retain(|(k, a), _| {
            matches.iter().any(|m| m.spec == *k && m.dests.iter().any(|d| d.spec.addr == *a))
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
        pub pools: Arc<Mutex<Vec<PoolReports>>>,
        pub flushed: Arc<Mutex<u64>>,
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
        // Not a change: refused as one, and inside a restore.
        let e = c.handle(Request::Apply(Command::FlushRemoved));
        assert!(matches!(e, Response::Error { code: ErrorCode::BadRequest, .. }));
        let e = c.handle(Request::Restore(vec![Command::FlushRemoved]));
        assert!(matches!(e, Response::Error { code: ErrorCode::BadRequest, .. }));
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

    /// The shared `net_null` director with one TCP service of one real server.
    static CFG: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "{}{}",
            crate::config::test_fixtures::NULL_DIRECTOR,
            r#"
[[service]]
proto = "tcp"
vip = "192.0.2.100:80"
scheduler = "rr"

[[service.dest]]
addr = "192.0.2.12:80"
"#
        )
    });

    #[test]
    fn reload_applies_the_difference_or_nothing() {
        use crate::config::Config;
        let running = Config::from_toml_str(&CFG).unwrap();
        let dp = FakeDp::default();
        let mut c =
            Control::new(running.services().clone(), Vec::new(), BuildOptions::default(), dp);
        assert!(matches!(
            c.handle(Request::Reload),
            Response::Error { code: ErrorCode::BadRequest, .. }
        ));
        let text = Arc::new(Mutex::new(CFG.clone()));
        let t = text.clone();
        c.set_reloader(Reloader::new(running, move || {
            Config::from_toml_str(&t.lock().unwrap()).map_err(|e| e.to_string())
        }));
        // Nothing changed: nothing pushed.
        assert_eq!(c.handle(Request::Reload), Response::Ok(Reply::Reloaded { changes: 0 }));
        assert!(c.dp.pushed.lock().unwrap().is_empty());
        // A dest added, the scheduler changed, a second service: three changes, one push.
        *text.lock().unwrap() = CFG.replace("scheduler = \"rr\"", "scheduler = \"wrr\"")
            + "\n[[service.dest]]\naddr = \"192.0.2.13:80\"\nweight = 3\n\n[[service]]\nproto = \"udp\"\nvip = \"192.0.2.100:53\"\n";
        assert_eq!(c.handle(Request::Reload), Response::Ok(Reply::Reloaded { changes: 3 }));
        assert_eq!(*c.dp.pushed.lock().unwrap(), vec![2]);
        let s = &c.table().services()[0];
        assert_eq!((s.spec.scheduler.as_str(), s.dests.len()), ("wrr", 2));
        let before = c.table().clone();
        // Invalid: refused whole, with the config's reason.
        *text.lock().unwrap() = CFG.replace("scheduler = \"rr\"", "scheduler = \"fancy\"");
        let Response::Error { code, message } = c.handle(Request::Reload) else { panic!() };
        assert_eq!(code, ErrorCode::BadConfig);
        assert!(message.contains("service[0]"), "{message}");
        // A setting only a restart applies: named, refused whole.
        *text.lock().unwrap() = CFG.replace("rx_queues = 1", "rx_queues = 1\nrx_desc = 512");
        let Response::Error { code, message } = c.handle(Request::Reload) else { panic!() };
        assert_eq!(code, ErrorCode::BadConfig);
        assert!(message.contains("port[0].rx_desc") && message.contains("restart"), "{message}");
        assert_eq!((c.table(), c.dp.pushed.lock().unwrap().len()), (&before, 1));
        // Back to the first config: the extra dest and service go.
        *text.lock().unwrap() = CFG.clone();
        assert_eq!(c.handle(Request::Reload), Response::Ok(Reply::Reloaded { changes: 3 }));
        assert_eq!(*c.dp.pushed.lock().unwrap(), vec![2, 1]);
    }

    #[test]
    fn reload_leaves_a_dest_the_health_checks_removed_out() {
        use crate::config::Config;
        use crate::health::board::{Board, CheckerHealth, DestHealth};
        let running = Config::from_toml_str(&CFG).unwrap();
        let board = Board::new();
        let mut c = Control::new(
            running.services().clone(),
            Vec::new(),
            BuildOptions::default(),
            FakeDp::default(),
        )
        .with_health(board.clone());
        c.set_reloader(Reloader::new(running, || {
            Config::from_toml_str(&CFG).map_err(|e| e.to_string())
        }));
        // The check took 192.0.2.12:80 out.
        let key = c.table().services()[0].spec.key;
        let rs: IpAddr = "192.0.2.12".parse().unwrap();
        let del = Command::DeleteDest { service: key, addr: rs, port: 80 };
        assert_eq!(c.handle(Request::Apply(del)), Response::Ok(Reply::Done));
        board.set(vec![DestHealth {
            service: key,
            addr: rs,
            port: 80,
            alive: false,
            weight: 1,
            quorum_up: true,
            sorry: false,
            checkers: vec![CheckerHealth::new("TCP_CHECK", false)],
        }]);
        assert_eq!(c.handle(Request::Reload), Response::Ok(Reply::Reloaded { changes: 0 }));
        assert!(c.table().services()[0].dests.is_empty(), "still down: not put back");
        // Up again: a reload puts it back as the file says.
        board.update(|rows| rows[0].alive = true);
        assert_eq!(c.handle(Request::Reload), Response::Ok(Reply::Reloaded { changes: 1 }));
        assert_eq!(c.table().services()[0].dests.len(), 1);
    }

    #[test]
    fn match_services_list_their_rules_counts_and_zero_them() {
        use crate::ipvs::balancer::SnatRuleReport;
        let dp = FakeDp::default();
        let mut c = Control::new(ServiceTable::new(), Vec::new(), BuildOptions::default(), dp);
        let h = "proto=tcp,src-range=10.0.0.1-10.0.0.254";
        for l in [format!("rvsadm -A -H {h} -s rr"), format!("rvsadm -a -H {h} -r 192.0.2.200 -J")]
        {
            assert_eq!(c.handle(Request::Apply(cmd(&l))), Response::Ok(Reply::Done));
        }
        let m = &c.table().matches()[0];
        let rule = SnatMatch::from_rule(&m.rule().unwrap()).unwrap();
        // Another rule through the same address: not this match service's.
        let other = SnatMatch { proto: Some(17), ..rule };
        let st = |n: u64| TrafficCounters {
            conns: n,
            inpkts: 4 * n,
            outpkts: 3 * n,
            inbytes: 100 * n,
            outbytes: 90 * n,
        };
        let core = |n: u64| PoolReports {
            rules: vec![
                SnatRuleReport { rule, live: true, active: n as u32, inactive: 1, stats: st(n) },
                SnatRuleReport { rule: other, live: true, active: 7, inactive: 7, stats: st(50) },
            ],
            ..PoolReports::default()
        };
        *c.dp.pools.lock().unwrap() = vec![core(2), core(3)];
        let list = |c: &mut Control<FakeDp>| {
            let Response::Ok(Reply::Matches(m)) = c.handle(Request::List(ListRequest::Matches))
            else {
                panic!("listing")
            };
            m
        };
        let m = list(&mut c);
        assert_eq!(m[0].stats, Stats::from(st(5)));
        let d = &m[0].dests[0];
        assert_eq!((d.active, d.inactive, d.stats), (5, 2, Stats::from(st(5))));
        // -Z: totals from here on; live connections are not totals.
        assert_eq!(c.handle(Request::Apply(cmd("rvsadm -Z"))), Response::Ok(Reply::Done));
        *c.dp.pools.lock().unwrap() = vec![core(3), core(3)];
        let m = list(&mut c);
        assert_eq!(m[0].stats, Stats::from(st(1)));
        assert_eq!((m[0].dests[0].active, m[0].dests[0].stats), (6, Stats::from(st(1))));
        // The table itself keeps no counts.
        assert_eq!(c.table().matches()[0].stats, Stats::default());
    }

    #[test]
    fn listings_sum_cores_and_zero_uses_baselines() {
        let dp = FakeDp::default();
        let mut c = Control::new(ServiceTable::new(), Vec::new(), BuildOptions::default(), dp);
        for l in ["rvsadm -A -t 10.0.0.1:80 -s rr", "rvsadm -a -t 10.0.0.1:80 -r 10.0.0.2 -g"] {
            assert_eq!(c.handle(Request::Apply(cmd(l))), Response::Ok(Reply::Done));
        }
        let st = |n: u64| TrafficCounters {
            conns: n,
            inpkts: 10 * n,
            outpkts: 0,
            inbytes: 100 * n,
            outbytes: 0,
        };
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
        assert_eq!(s.stats, Stats::from(st(5)));
        assert_eq!(
            (s.dests[0].active, s.dests[0].inactive, s.dests[0].stats),
            (5, 2, Stats::from(st(5)))
        );
        assert_eq!(c.handle(Request::Apply(cmd("rvsadm -Z"))), Response::Ok(Reply::Done));
        *c.dp.reports.lock().unwrap() = vec![core(3), core(3)];
        let Response::Ok(Reply::Service(s)) = c.handle(Request::List(ListRequest::Service(key())))
        else {
            panic!("listing")
        };
        assert_eq!(s.stats, Stats::from(st(1)));
        assert_eq!((s.dests[0].active, s.dests[0].stats), (6, Stats::from(st(1))));
        // -G: ports in use and misses of each local address, summed over the cores.
        assert_eq!(
            c.handle(Request::Apply(cmd("rvsadm -P -t 10.0.0.1:80 -z 10.0.0.250"))),
            Response::Ok(Reply::Done)
        );
        let laddr = |in_use: u64, misses: u64| crate::ipvs::balancer::LaddrReport {
            owner: PoolOwner::Service(key()),
            addr: "10.0.0.250".parse().unwrap(),
            in_use,
            allocs: in_use,
            misses,
        };
        *c.dp.pools.lock().unwrap() = vec![
            PoolReports { laddrs: vec![laddr(3, 1)], ..PoolReports::default() },
            PoolReports { laddrs: vec![laddr(4, 0)], ..PoolReports::default() },
        ];
        let Response::Ok(Reply::LocalAddrs(l)) =
            c.handle(Request::List(ListRequest::LocalAddrs(Some(key()))))
        else {
            panic!("-G")
        };
        assert_eq!((l[0].laddrs[0].conns, l[0].laddrs[0].conflicts), (7, 1));
        let missing = ServiceKey { port: 81, ..key() };
        assert_eq!(
            c.handle(Request::List(ListRequest::Service(missing))),
            Response::error(ErrorCode::NotFound, "No such service")
        );
    }
}
