//! The DPDK worker loop: one per configured core.
//!
//! Owns the loop `rx burst -> pipeline -> tx burst`, the tx batches, the timer cadence, idle
//! backoff and publishing of the core's counters. It is the only code that touches ports and the
//! clock on a worker core; what happens to a packet is decided by the sans-IO [`Pipeline`].
//!
//! Ports are named by their index in the config (`port` in the stack) and mapped to DPDK port ids
//! only here, by the position of each [`TxQueue`] in the worker's tx list.

use super::backoff::IdleBackoff;
use super::control::{WorkerInbox, WorkerRequest, REQUESTS_PER_LOOP};
use super::crossing::{self, Arrival, Crossing};
use super::pipeline::Pipeline;
use super::stats::{
    exception_class_slots, exception_slots, lb_slots, net_slots, CoreStats, LoopCounters, LoopStat,
};
use crate::buf::PacketBuf;
use crate::dpdk::{Mbuf, MbufBatch, Mempool, RxQueue, TxL3, TxL4, TxQueue, BURST_SIZE};
use crate::net::{is_arp_frame, is_nd_frame, DropReason, NetIo};
use crate::time::{self, Instant};
use crate::wire::checksum::{prepare_tx_offload, TxL4Csum};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How often timers run (neighbour probes, expiry).
const TIMER_PERIOD: Duration = Duration::from_millis(1);
/// Loop iterations between two publications of the counters while busy.
const PUBLISH_EVERY: u32 = 1024;
/// ... and at least this often in time: a busy worker whose iterations are slow (a debug build,
/// a loaded host) still beats well inside the liveness monitor's 500 ms.
const PUBLISH_PERIOD: Duration = Duration::from_millis(50);

/// An rx queue the worker polls, and the port index its packets arrive on.
pub struct RxSlot {
    /// Port index in the config.
    pub port: u16,
    /// The queue.
    pub queue: RxQueue,
}

/// A tx queue and the packets waiting for it.
struct TxSlot {
    queue: TxQueue,
    batch: MbufBatch,
    /// The port computes IPv4/TCP/UDP checksums on transmit (offloads in force).
    csum_offload: bool,
}

/// This worker's queue pair on the kernel interface (exception path) of one port: frames for the
/// kernel are batched into `tx`, frames the kernel sent are read from `rx`. No other core touches
/// either queue.
pub struct KernelQueues {
    /// Port index in the config whose kernel interface this is.
    pub port: u16,
    /// Queue this worker reads what the kernel sent from.
    pub rx: RxQueue,
    /// Queue this worker writes frames for the kernel to.
    pub tx: TxQueue,
}

struct KernelSlot {
    port: u16,
    rx: RxQueue,
    tx: TxQueue,
    batch: MbufBatch,
}

/// Everything one worker owns.
pub struct Worker {
    core: usize,
    rx: Vec<RxSlot>,
    tx: Vec<TxSlot>,
    pool: Mempool,
    pipeline: Pipeline<Mbuf>,
    backoff: IdleBackoff,
    announce: bool,
    crossing: Crossing,
    inbox: Option<WorkerInbox>,
    burst: usize,
    /// Kernel queue pairs, indexed by port index (`None`: no kernel interface on that port).
    kernel: Vec<Option<KernelSlot>>,
    kernel_poll: Duration,
    counters: LoopCounters,
    stats: Arc<CoreStats>,
    stop: Arc<AtomicBool>,
    /// Packets the last poll took from other cores' rings (part of what it returned).
    crossed_last: usize,
    /// A fault to commit on purpose, and when (test builds only).
    #[cfg(feature = "test-support")]
    fault: Option<(super::heartbeat::TestFault, std::time::Instant)>,
}

impl Worker {
    /// A worker for core index `core`, polling `rx`, sending on `tx` (one queue per port, in port
    /// index order), allocating from `pool`. `announce` makes this worker send the gratuitous ARPs
    /// at start (one worker per director does).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        core: usize,
        rx: Vec<RxSlot>,
        tx: Vec<TxQueue>,
        pool: Mempool,
        pipeline: Pipeline<Mbuf>,
        backoff: IdleBackoff,
        announce: bool,
        crossing: Crossing,
        stats: Arc<CoreStats>,
        stop: Arc<AtomicBool>,
    ) -> Self {
        let tx = tx
            .into_iter()
            .map(|queue| TxSlot { queue, batch: MbufBatch::default(), csum_offload: false })
            .collect();
        Worker {
            core,
            rx,
            tx,
            pool,
            pipeline,
            backoff,
            announce,
            crossing,
            inbox: None,
            burst: BURST_SIZE,
            kernel: Vec::new(),
            kernel_poll: Duration::from_micros(100),
            counters: LoopCounters::default(),
            stats,
            stop,
            crossed_last: 0,
            #[cfg(feature = "test-support")]
            fault: None,
        }
    }

    /// Receives at most `burst` packets per rx queue per poll (1..=32; larger values are cut to
    /// the batch size of 32).
    pub fn with_burst(mut self, burst: usize) -> Self {
        self.burst = burst.clamp(1, BURST_SIZE);
        self
    }

    /// Leaves the checksums of marked packets ([`crate::buf::PacketBuf::want_tx_csum`]) to
    /// the NIC on the ports `offload[port]` says compute IPv4, TCP and UDP checksums on
    /// transmit; elsewhere the software checksums stand.
    pub fn with_tx_csum_offload(mut self, offload: &[bool]) -> Self {
        for (slot, on) in self.tx.iter_mut().zip(offload) {
            slot.csum_offload = *on;
        }
        self
    }

    /// Makes this worker commit `fault` (test builds only; see [`super::heartbeat::TestFault`]).
    #[cfg(feature = "test-support")]
    pub fn with_test_fault(mut self, fault: Option<super::heartbeat::TestFault>) -> Self {
        self.fault = fault.map(|f| (f, std::time::Instant::now() + f.after));
        self
    }

    /// Commits the test fault once its time has come: a panic, or a stall that only the stop
    /// flag ends (no beat, no polling meanwhile).
    #[cfg(feature = "test-support")]
    fn commit_test_fault(&mut self) {
        let Some((f, at)) = self.fault else { return };
        if std::time::Instant::now() < at {
            return;
        }
        if f.panic {
            panic!("test fault: worker {} panics on purpose", self.core);
        }
        self.fault = None;
        while !self.stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Takes control-plane requests from `inbox` at burst boundaries.
    pub fn with_inbox(mut self, inbox: WorkerInbox) -> Self {
        self.inbox = Some(inbox);
        self
    }

    /// Gives the worker its queue pairs on the ports' kernel interfaces (the exception path),
    /// polled for frames from the kernel every `poll` (each poll of a tap is a system call, so
    /// not on every loop).
    pub fn with_kernel(mut self, queues: Vec<KernelQueues>, poll: Duration) -> Self {
        for q in queues {
            let i = usize::from(q.port);
            if self.kernel.len() <= i {
                self.kernel.resize_with(i + 1, || None);
            }
            if let Some(slot) = self.kernel.get_mut(i) {
                *slot = Some(KernelSlot {
                    port: q.port,
                    rx: q.rx,
                    tx: q.tx,
                    batch: MbufBatch::default(),
                });
            }
        }
        self.kernel_poll = poll;
        self
    }

    /// Core index of this worker.
    pub fn core(&self) -> usize {
        self.core
    }

    /// Runs until the stop flag is set. Returns the final loop counters.
    pub fn run(&mut self) -> LoopCounters {
        if self.announce {
            let mut io =
                WorkerIo::new(&mut self.tx, &mut self.kernel, &self.pool, &mut self.counters);
            self.pipeline.start(&mut io);
            let full = io.tx_full;
            self.count_tx_full(full);
            self.flush();
        }
        let mut last_timer = Instant::ZERO;
        let mut last_kernel = Instant::ZERO;
        let mut since_publish = 0u32;
        let mut last_publish = Instant::ZERO;
        // Start of the previous iteration, None after a sleep: the longest poll is measured
        // between consecutive iteration starts (no extra clock read), sleeps left out.
        let mut prev: Option<Instant> = None;
        while !self.stop.load(Ordering::Relaxed) {
            let now = time::now();
            if let Some(p) = prev {
                let ns = u64::try_from(now.saturating_since(p).as_nanos()).unwrap_or(u64::MAX);
                self.counters.longest_poll_ns = self.counters.longest_poll_ns.max(ns);
            }
            prev = Some(now);
            #[cfg(feature = "test-support")]
            self.commit_test_fault();
            self.serve_requests(now);
            let mut got = self.poll_once(now);
            if !self.kernel.is_empty() && now.saturating_since(last_kernel) >= self.kernel_poll {
                got += self.poll_kernel(now);
                last_kernel = now;
            }
            if now.saturating_since(last_timer) >= TIMER_PERIOD {
                let mut io =
                    WorkerIo::new(&mut self.tx, &mut self.kernel, &self.pool, &mut self.counters);
                self.pipeline.poll(now, &mut io);
                let full = io.tx_full;
                for e in self.pipeline.take_nd_events() {
                    report_nd_event(e);
                }
                self.count_tx_full(full);
                self.flush();
                last_timer = now;
            }
            since_publish += 1;
            let sleep =
                self.backoff.after_work(got.saturating_sub(self.crossed_last), self.crossed_last);
            if sleep.is_some()
                || since_publish >= PUBLISH_EVERY
                || now.saturating_since(last_publish) >= PUBLISH_PERIOD
            {
                self.publish();
                since_publish = 0;
                last_publish = now;
            }
            if let Some(d) = sleep {
                self.counters.sleeps += 1;
                std::thread::sleep(d);
                prev = None;
            }
        }
        self.flush();
        self.publish();
        self.counters
    }

    /// Polls the other cores' rings and every rx queue once, processes what arrived and flushes
    /// tx. Returns packets received (from the NIC and from other cores).
    pub fn poll_once(&mut self, now: Instant) -> usize {
        let mut batch: MbufBatch = MbufBatch::default();
        let crossed = self.poll_crossings(&mut batch, now);
        self.crossed_last = crossed;
        let mut got = crossed;
        for i in 0..self.rx.len() {
            let Some(slot) = self.rx.get_mut(i) else { break };
            let port = slot.port;
            let n = slot.queue.rx_burst_max(&mut batch, self.burst);
            if n == 0 {
                continue;
            }
            got += n;
            let share = self.crossing.has_peers();
            // IPv6 neighbour discovery travels the ARP copies' way (Stack::observe_arp).
            let share_nd = share && self.pipeline.stack().has_ipv6();
            let mut io =
                WorkerIo::new(&mut self.tx, &mut self.kernel, &self.pool, &mut self.counters);
            let mut lost_redirects = 0;
            self.pipeline.prefetch(batch.as_slice().iter().map(|p| p.data()));
            for pkt in batch.drain() {
                if share && is_arp_frame(pkt.data()) || share_nd && is_nd_frame(pkt.data()) {
                    let pool = io.pool;
                    let lost = self.crossing.share_arp(port, pkt.data(), || pool.alloc());
                    io.counters.arp_copies_lost += lost;
                }
                if let Some((pkt, core, carried)) = self.pipeline.input(port, pkt, now, &mut io) {
                    // A FULLNAT/SNAT reply to a local port another worker owns: hand it over,
                    // with the headers this core checked.
                    if self.crossing.redirect(core, port, pkt, &carried).is_err() {
                        lost_redirects += 1;
                    }
                }
            }
            let (full, kfull) = (io.tx_full, io.kernel_full);
            self.count_tx_full(full);
            self.count_kernel_full(kfull);
            self.counters.redirects_lost += lost_redirects;
        }
        if got > 0 {
            self.counters.busy_polls += 1;
            self.counters.rx_packets += got as u64;
            self.flush();
        } else {
            self.counters.idle_polls += 1;
        }
        got
    }

    /// Takes what other cores handed over: ARP copies to learn from, redirected packets to
    /// process as if received here.
    fn poll_crossings(&mut self, batch: &mut MbufBatch, now: Instant) -> usize {
        if !self.crossing.has_peers() {
            return 0;
        }
        let mut io = WorkerIo::new(&mut self.tx, &mut self.kernel, &self.pool, &mut self.counters);
        let pipeline = &mut self.pipeline;
        let n = self.crossing.drain(batch, |kind, port, pkt| match kind {
            Arrival::ArpCopy => pipeline.observe_arp(port, pkt, now, &mut io),
            Arrival::Redirect => match crossing::carried(&pkt) {
                Some(carried) => pipeline.input_redirected(pkt, &carried, now, &mut io),
                // Every redirect carries its headers; an mbuf without them is not one.
                None => io.drop_pkt(pkt, DropReason::NotForUs),
            },
        });
        let (full, kfull) = (io.tx_full, io.kernel_full);
        self.count_tx_full(full);
        self.count_kernel_full(kfull);
        self.counters.crossed_in += n as u64;
        n
    }

    /// Reads what the kernel sent on this worker's queue of every kernel interface, within the
    /// from-kernel rate limit, and sends it out of the matching port. Returns frames read.
    pub fn poll_kernel(&mut self, now: Instant) -> usize {
        let mut got = 0;
        let mut batch: MbufBatch = MbufBatch::default();
        for i in 0..self.kernel.len() {
            let budget = self.pipeline.from_kernel_budget(now, self.burst);
            if budget == 0 {
                break;
            }
            let Some(Some(slot)) = self.kernel.get_mut(i) else { continue };
            let port = slot.port;
            let n = slot.rx.rx_burst_max(&mut batch, budget);
            if n == 0 {
                continue;
            }
            got += n;
            let mut io =
                WorkerIo::new(&mut self.tx, &mut self.kernel, &self.pool, &mut self.counters);
            for pkt in batch.drain() {
                self.pipeline.from_kernel(port, pkt, now, &mut io);
            }
            let full = io.tx_full;
            self.count_tx_full(full);
        }
        if got > 0 {
            self.flush();
        }
        got
    }

    /// Takes a few control-plane requests, between bursts, and hands each to the module it is
    /// for: the balancer's answer a snapshot with the generation this worker then publishes, the
    /// stack's may send packets (a gratuitous ARP), which go out before new tables are
    /// acknowledged.
    fn serve_requests(&mut self, now: Instant) {
        let Some(inbox) = self.inbox.take() else { return };
        for _ in 0..REQUESTS_PER_LOOP {
            let Some(req) = inbox.try_next() else { break };
            match req {
                WorkerRequest::Lb(req) => {
                    if let Some(generation) = self.pipeline.serve_lb(req, now) {
                        inbox.applied(generation);
                    }
                }
                WorkerRequest::Net(req) => {
                    let mut io = WorkerIo::new(
                        &mut self.tx,
                        &mut self.kernel,
                        &self.pool,
                        &mut self.counters,
                    );
                    let ack = self.pipeline.serve_net(req, self.announce, now, &mut io);
                    let full = io.tx_full;
                    self.count_tx_full(full);
                    self.flush();
                    if let Some(ack) = ack {
                        ack.send();
                    }
                }
            }
        }
        self.inbox = Some(inbox);
    }

    /// Hands every waiting packet to its tx queue once; what the NIC does not take stays queued.
    fn flush(&mut self) {
        for slot in &mut self.tx {
            if !slot.batch.is_empty() {
                let n = slot.queue.tx_burst(&mut slot.batch);
                self.counters.tx_packets += n as u64;
            }
        }
        for slot in self.kernel.iter_mut().flatten() {
            if !slot.batch.is_empty() {
                slot.tx.tx_burst(&mut slot.batch);
            }
        }
    }

    fn count_tx_full(&mut self, n: u64) {
        self.counters.tx_dropped += n;
    }

    fn count_kernel_full(&mut self, n: u64) {
        if n > 0 {
            self.pipeline.count_kernel_queue_full(n);
        }
    }

    /// Publishes the counters for readers on other threads (plain stores, single writer).
    pub fn publish(&self) {
        self.stats.heartbeat.beat(self.counters.busy_polls + self.counters.idle_polls);
        self.stats.pool_in_use.store(u64::from(self.pool.in_use_count()), Ordering::Relaxed);
        let loop_vals: [u64; LoopStat::ALL.len()] = LoopStat::ALL.map(|s| s.get(&self.counters));
        self.stats.looping.store(&loop_vals);
        self.stats.net.store(&net_slots(self.pipeline.net_counters()));
        if let Some(lb) = self.pipeline.balancer() {
            self.stats.lb.store(&lb_slots(lb.counters(), lb.conn_stats(), lb.conn_count()));
        }
        if self.pipeline.stack().has_exception() {
            self.stats
                .exception
                .store(&exception_slots(self.pipeline.stack().exception_counters()));
            self.stats
                .exception_classes
                .store(&exception_class_slots(self.pipeline.stack().exception_class_counts()));
            self.stats.exception_classes_from_kernel.store(&exception_class_slots(
                self.pipeline.stack().exception_from_kernel_class_counts(),
            ));
        }
    }

    /// The pipeline (for tests and inspection between polls).
    pub fn pipeline(&self) -> &Pipeline<Mbuf> {
        &self.pipeline
    }
}

/// The worker's [`NetIo`]: tx into per-port batches (and per-port kernel batches), alloc from
/// the pool, drop by freeing.
struct WorkerIo<'a> {
    tx: &'a mut [TxSlot],
    kernel: &'a mut [Option<KernelSlot>],
    pool: &'a Mempool,
    counters: &'a mut LoopCounters,
    tx_full: u64,
    kernel_full: u64,
}

impl<'a> WorkerIo<'a> {
    fn new(
        tx: &'a mut [TxSlot],
        kernel: &'a mut [Option<KernelSlot>],
        pool: &'a Mempool,
        counters: &'a mut LoopCounters,
    ) -> Self {
        WorkerIo { tx, kernel, pool, counters, tx_full: 0, kernel_full: 0 }
    }
}

/// Turns a packet's checksum-offload mark into the NIC's request on a port that offloads
/// (IPv4 header checksum zeroed, pseudo-header sum in the TCP/UDP field, `RTE_MBUF_F_TX_*`
/// flags and lengths set), or clears the mark on one that does not (software checksums stand).
#[inline]
pub fn request_tx_csum(pkt: &mut Mbuf, l2_len: usize, port_offloads: bool) {
    pkt.clear_tx_offload();
    if !port_offloads || l2_len > 127 {
        return;
    }
    let Some(plan) = prepare_tx_offload(pkt.data_mut(), l2_len) else { return };
    let l4 = match plan.l4 {
        TxL4Csum::None => TxL4::None,
        TxL4Csum::Tcp => TxL4::Tcp,
        TxL4Csum::Udp => TxL4::Udp,
    };
    // l2_len <= 127 and an IPv4 header is at most 60 bytes: within the mbuf's bitfields.
    let _ = pkt.set_tx_offload(l2_len as u8, plan.l3_len as u16, TxL3::Ipv4 { cksum: true }, l4);
}

impl NetIo<Mbuf> for WorkerIo<'_> {
    #[inline]
    fn tx(&mut self, port: u16, mut pkt: Mbuf) {
        let Some(slot) = self.tx.get_mut(usize::from(port)) else {
            self.tx_full += 1;
            return;
        };
        if let Some(l2) = pkt.tx_csum_wanted() {
            request_tx_csum(&mut pkt, l2, slot.csum_offload);
        }
        let Err(pkt) = slot.batch.push(pkt) else { return };
        // The batch is full: hand it to the NIC and try again; if the NIC's ring is full too,
        // the packet is dropped (and counted as tx_full by the caller).
        let n = slot.queue.tx_burst(&mut slot.batch);
        self.counters.tx_packets += n as u64;
        if let Err(pkt) = slot.batch.push(pkt) {
            drop(pkt);
            self.tx_full += 1;
        }
    }

    #[inline]
    fn alloc(&mut self) -> Option<Mbuf> {
        self.pool.alloc()
    }

    #[inline]
    fn drop_pkt(&mut self, pkt: Mbuf, _reason: DropReason) {
        drop(pkt);
    }

    #[inline]
    fn to_kernel(&mut self, port: u16, pkt: Mbuf) {
        let Some(Some(slot)) = self.kernel.get_mut(usize::from(port)) else {
            self.kernel_full += 1;
            return;
        };
        let Err(pkt) = slot.batch.push(pkt) else { return };
        // The batch is full: write it to the tap (non-blocking) and try again; what the kernel
        // does not take now is dropped and counted, never waited for.
        slot.tx.tx_burst(&mut slot.batch);
        if let Err(pkt) = slot.batch.push(pkt) {
            drop(pkt);
            self.kernel_full += 1;
        }
    }
}

/// Logs an IPv6 neighbour discovery event of a worker's stack (the counters count them too).
fn report_nd_event(e: crate::net::nd::NdEvent) {
    use crate::net::nd::NdEvent;
    match e {
        NdEvent::Ready { port, addr } => {
            tracing::info!("port {port}: IPv6 address {addr} passed duplicate address detection")
        }
        NdEvent::DadConflict { port, addr, mac } => tracing::error!(
            "port {port}: IPv6 address {addr} is already used by {} (duplicate address detection): rvsd will not use it; remove it from the config or from the other host",
            mac.map_or("another node".to_owned(), |m| m.to_string())
        ),
        NdEvent::Conflict { port, addr, mac } => tracing::warn!(
            "port {port}: another node ({}) advertises rvsd's IPv6 address {addr}",
            mac.map_or("unknown MAC".to_owned(), |m| m.to_string())
        ),
    }
}
