//! How the control plane talks to running workers, without stopping them or sharing their state.
//!
//! Owns the per-worker bounded request queue ([`WorkerInbox`] in the worker, [`WorkerHandle`] on
//! the control plane) and the generation each worker publishes. A worker takes at most a few
//! requests at each burst boundary (never per packet); the control plane waits on a reply
//! channel, with a timeout, so a stuck worker shows up as an error rather than a hang.
//!
//! Each module owns its requests and answers them beside its code: the balancer's
//! ([`LbRequest`]: services snapshot, connection listing by bounded slices, reports, pools,
//! local-address counters, flush-removed) and the stack's ([`StackRequest`]: interface and route tables,
//! neighbour copy and flush). [`WorkerRequest`] only says which module a request is for; the
//! worker dispatches on it. A snapshot is acknowledged by the worker storing its generation,
//! which the control plane reads to know when a change is everywhere; every other request by
//! its reply.

use crate::ipvs::balancer::control::{ConnSlice, LbRequest, MAX_SLICE_SLOTS};
use crate::ipvs::balancer::{DestReport, PoolReports, ServiceReport};
use crate::ipvs::conn::ConnInfo;
use crate::ipvs::laddr::LaddrStats;
use crate::ipvs::service::Services;
use crate::net::control::StackRequest;
use crate::net::{IfaceTable, NeighInfo, RouteTable};
use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender, TrySendError};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use thiserror::Error;

/// A request to a worker, by the module that answers it.
#[derive(Debug)]
pub enum WorkerRequest {
    /// For the load balancer.
    Lb(LbRequest),
    /// For the stack (the director's own L2/L3).
    Net(StackRequest),
}

impl From<LbRequest> for WorkerRequest {
    fn from(r: LbRequest) -> Self {
        WorkerRequest::Lb(r)
    }
}

impl From<StackRequest> for WorkerRequest {
    fn from(r: StackRequest) -> Self {
        WorkerRequest::Net(r)
    }
}

/// Why a request did not get its answer.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ControlError {
    /// The worker's queue is full: it is not taking requests fast enough.
    #[error("worker {0} is busy (its request queue is full); try again")]
    Busy(usize),
    /// The worker has stopped.
    #[error("worker {0} has stopped")]
    Gone(usize),
    /// The worker did not answer in time.
    #[error("worker {core} did not answer within {ms} ms")]
    Timeout {
        /// Worker index.
        core: usize,
        /// How long we waited.
        ms: u64,
    },
}

/// Requests a worker takes per loop iteration at most.
pub const REQUESTS_PER_LOOP: usize = 4;
/// Depth of each worker's request queue.
const QUEUE_DEPTH: usize = 64;

/// The worker's end.
pub struct WorkerInbox {
    rx: Receiver<WorkerRequest>,
    generation: Arc<AtomicU64>,
}

/// The control plane's end for one worker.
#[derive(Clone)]
pub struct WorkerHandle {
    core: usize,
    tx: Sender<WorkerRequest>,
    generation: Arc<AtomicU64>,
}

/// A connected pair for worker `core`.
pub fn channel(core: usize) -> (WorkerHandle, WorkerInbox) {
    let (tx, rx) = bounded(QUEUE_DEPTH);
    let generation = Arc::new(AtomicU64::new(0));
    (WorkerHandle { core, tx, generation: generation.clone() }, WorkerInbox { rx, generation })
}

impl WorkerInbox {
    /// The next waiting request, if any (never blocks).
    #[inline]
    pub fn try_next(&self) -> Option<WorkerRequest> {
        self.rx.try_recv().ok()
    }

    /// Publishes the generation of the snapshot the worker now runs (single writer: a store).
    pub fn applied(&self, generation: u64) {
        self.generation.store(generation, Ordering::Release);
    }
}

impl WorkerHandle {
    /// The worker's index.
    pub fn core(&self) -> usize {
        self.core
    }

    /// The generation of the snapshot the worker runs.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Queues a request without waiting.
    pub fn send(&self, req: impl Into<WorkerRequest>) -> Result<(), ControlError> {
        self.tx.try_send(req.into()).map_err(|e| match e {
            TrySendError::Full(_) => ControlError::Busy(self.core),
            TrySendError::Disconnected(_) => ControlError::Gone(self.core),
        })
    }

    /// One step of a connection listing: the entries of at most `slots` table slots from slot
    /// `from` (see [`LbRequest::ConnSlice`]).
    pub fn conn_slice(
        &self,
        from: u32,
        slots: u32,
        timeout: Duration,
    ) -> Result<ConnSlice, ControlError> {
        self.ask(|reply| LbRequest::ConnSlice { from, slots, reply }, timeout)
    }

    /// How many of the worker's connections the listing shows with a local address (see
    /// [`LbRequest::ConnsListedWithLocal`]).
    pub fn conns_listed_with_local(&self, timeout: Duration) -> Result<u32, ControlError> {
        self.ask(|reply| LbRequest::ConnsListedWithLocal { reply }, timeout)
    }

    /// Up to `limit` entries of the worker's connection table, copied a slice per request
    /// (`timeout` for each), gathered here: for tests and tools; rvsd's listing streams them.
    pub fn conns(&self, limit: usize, timeout: Duration) -> Result<Vec<ConnInfo>, ControlError> {
        let (mut all, mut at) = (Vec::new(), Some(0));
        while let (Some(from), true) = (at, all.len() < limit) {
            let slice = self.conn_slice(from, MAX_SLICE_SLOTS, timeout)?;
            all.extend(slice.conns);
            at = slice.next;
        }
        all.truncate(limit);
        Ok(all)
    }

    /// Asks for the worker's per-service and per-dest reports.
    pub fn reports(
        &self,
        timeout: Duration,
    ) -> Result<(Vec<ServiceReport>, Vec<DestReport>), ControlError> {
        self.ask(|reply| LbRequest::Reports { reply }, timeout)
    }

    /// Makes the worker end the connections of removed services, dests and SNAT rules.
    pub fn flush_removed(&self, timeout: Duration) -> Result<u32, ControlError> {
        self.ask(|reply| LbRequest::FlushRemoved { reply }, timeout)
    }

    /// Asks for the worker's local-address pool and SNAT reports.
    pub fn pools(&self, timeout: Duration) -> Result<PoolReports, ControlError> {
        self.ask(|reply| LbRequest::Pools { reply }, timeout)
    }

    /// Makes the worker run `ifaces` and `routes`; returns once it does.
    /// (the worker that announces addresses sends a gratuitous ARP for each of `announce`).
    pub fn set_net(
        &self,
        ifaces: Arc<IfaceTable>,
        routes: Arc<RouteTable>,
        announce: Vec<Ipv4Addr>,
        timeout: Duration,
    ) -> Result<(), ControlError> {
        self.ask(|reply| StackRequest::SetTables { ifaces, routes, announce, reply }, timeout)
    }

    /// The worker's neighbour table and its clock; `flush` then forgets the learned entries.
    pub fn neighs(
        &self,
        flush: bool,
        timeout: Duration,
    ) -> Result<(crate::time::Instant, Vec<NeighInfo>), ControlError> {
        self.ask(|reply| StackRequest::Neighs { flush, reply }, timeout)
    }

    /// The worker's local-address pool counters.
    pub fn laddrs(&self, timeout: Duration) -> Result<Vec<(IpAddr, LaddrStats)>, ControlError> {
        self.ask(|reply| LbRequest::Laddrs { reply }, timeout)
    }

    /// The worker's connection-sync counters.
    pub fn sync_counts(
        &self,
        timeout: Duration,
    ) -> Result<crate::ipvs::balancer::SyncCoreCounts, ControlError> {
        self.ask(|reply| LbRequest::SyncCounts { reply }, timeout)
    }

    /// Sends the request `make` builds around a reply channel and waits for the answer.
    fn ask<T, R: Into<WorkerRequest>>(
        &self,
        make: impl FnOnce(Sender<T>) -> R,
        timeout: Duration,
    ) -> Result<T, ControlError> {
        let (reply, rx) = bounded(1);
        self.send(make(reply))?;
        self.wait(&rx, timeout)
    }

    fn wait<T>(&self, rx: &Receiver<T>, timeout: Duration) -> Result<T, ControlError> {
        rx.recv_timeout(timeout).map_err(|e| match e {
            RecvTimeoutError::Timeout => {
                ControlError::Timeout { core: self.core, ms: timeout.as_millis() as u64 }
            }
            RecvTimeoutError::Disconnected => ControlError::Gone(self.core),
        })
    }
}

/// Sends `snap` to every worker and waits until each runs it (its generation is published), or
/// `timeout` passes.
pub fn set_services_everywhere(
    workers: &[WorkerHandle],
    snap: &Arc<Services>,
    timeout: Duration,
) -> Result<(), ControlError> {
    for w in workers {
        w.send(LbRequest::SetServices(snap.clone()))?;
    }
    let deadline = Instant::now() + timeout;
    for w in workers {
        while w.generation() < snap.generation() {
            if Instant::now() >= deadline {
                return Err(ControlError::Timeout {
                    core: w.core(),
                    ms: timeout.as_millis() as u64,
                });
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_flow_and_generation_is_published() {
        let (h, inbox) = channel(3);
        assert!(inbox.try_next().is_none());
        assert_eq!(h.generation(), 0);
        // A worker thread answering requests at its own pace.
        let worker = std::thread::spawn(move || {
            let mut served = 0;
            while served < 2 {
                match inbox.try_next() {
                    Some(WorkerRequest::Lb(LbRequest::ConnSlice { from, slots, reply })) => {
                        assert_eq!((from, slots), (0, MAX_SLICE_SLOTS));
                        let _ = reply.send(ConnSlice::default());
                        served += 1;
                    }
                    Some(WorkerRequest::Lb(LbRequest::SetServices(s))) => {
                        inbox.applied(s.generation());
                        served += 1;
                    }
                    Some(WorkerRequest::Lb(LbRequest::Reports { reply })) => {
                        let _ = reply.send((Vec::new(), Vec::new()));
                    }
                    Some(WorkerRequest::Lb(LbRequest::Pools { reply })) => {
                        let _ = reply.send(PoolReports::default());
                    }
                    Some(_) => {}
                    None => std::thread::sleep(Duration::from_millis(1)),
                }
            }
        });
        assert_eq!(h.conns(10, Duration::from_secs(5)), Ok(Vec::new()));
        let snap = Arc::new(Services::empty().with_generation(7));
        set_services_everywhere(std::slice::from_ref(&h), &snap, Duration::from_secs(5))
            .expect("applied");
        assert_eq!(h.generation(), 7);
        worker.join().unwrap();
        // The worker is gone: requests fail cleanly.
        assert_eq!(h.conns(1, Duration::from_millis(10)), Err(ControlError::Gone(3)));
    }

    #[test]
    fn flush_removed_is_answered_with_the_workers_count() {
        let (h, inbox) = channel(2);
        let worker = std::thread::spawn(move || loop {
            match inbox.try_next() {
                Some(WorkerRequest::Lb(LbRequest::FlushRemoved { reply })) => {
                    let _ = reply.send(4);
                    break;
                }
                Some(_) => {}
                None => std::thread::sleep(Duration::from_millis(1)),
            }
        });
        assert_eq!(h.flush_removed(Duration::from_secs(5)), Ok(4));
        worker.join().unwrap();
    }

    #[test]
    fn a_silent_worker_times_out_and_a_full_queue_is_busy() {
        let (h, _inbox) = channel(1);
        assert_eq!(
            h.conns(1, Duration::from_millis(20)),
            Err(ControlError::Timeout { core: 1, ms: 20 })
        );
        let snap = Arc::new(Services::empty().with_generation(1));
        let mut busy = false;
        for _ in 0..=QUEUE_DEPTH {
            if h.send(LbRequest::SetServices(snap.clone())) == Err(ControlError::Busy(1)) {
                busy = true;
            }
        }
        assert!(busy);
    }
}
