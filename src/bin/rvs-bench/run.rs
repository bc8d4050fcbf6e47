//! One scenario in this process: EAL with a ring-backed port 0 (the generator on lcore 0 sends
//! into its queue 0, the worker on lcore 1 receives from it) and `net_null` as port 1 (the
//! real servers' side, which frees what it is given). The worker is rvsd's own
//! `dataplane::worker::Worker` around a `Pipeline` with a balancer; the I/O ceiling is a plain
//! rx -> tx loop on the same queues. Counters are read from the worker's published
//! `CoreStats` before and after a fixed wall-clock window that follows a warm-up.
//!
//! Flows are inserted in one seeded shuffle and sent in another (see `order`). The worker
//! thread's own CPU time (its `/proc/.../schedstat` run time) is read beside the wall clock, so
//! a row says what a packet cost the worker even when the machine is shared.

use crate::frames::{Kind, Template, FRAME_LEN};
use crate::order;
use crate::setup::{self, Mode, GW_MAC, VIP, VPORT};
use anyhow::{anyhow, bail, Context, Result};
use rvs::buf::{PacketBuf, VecBuf};
use rvs::dataplane::backoff::{BackoffParams, IdleBackoff};
use rvs::dataplane::crossing::Crossing;
use rvs::dataplane::pipeline::Pipeline;
use rvs::dataplane::stats::{CoreStats, LoopStat};
use rvs::dataplane::worker::{RxSlot, Worker};
use rvs::dpdk::{self, Eal, MbufBatch, Mempool, Port, PortConfig, RxQueue, TxQueue};
use rvs::ipvs::balancer::Verdict;
use rvs::ipvs::counters::IpvsDropReason;
use rvs::net::{AddrKind, DropReason};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// What the generator sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Traffic {
    /// ACKs of `flows` established connections through a plain rx -> tx loop.
    Io,
    /// ACKs of `flows` established (pre-populated) connections.
    Established,
    /// Every packet a TCP SYN of a new flow.
    NewTcp,
    /// Every packet the first datagram of a new UDP flow.
    NewUdp,
    /// One packet in ten a new TCP SYN, the others ACKs of `flows` established connections.
    Mix,
    /// Both directions of `flows` established connections, alternating: client ACKs on
    /// port 0 and the real servers' replies (to the client for NAT, to the local address and
    /// port for FULLNAT) on port 1.
    Both,
    /// No traffic: the worker with the idle backoff of the lab configs (64 empty polls, then
    /// 200 us sleeps); measures the CPU it uses.
    Idle,
    /// Every packet a TCP SYN of a new flow into a table kept at `flows` connections (issue
    /// 13's steady state): the table is filled with `flows` SYN_RECV connections before the
    /// window, and the SYN flood guard's embryonic budget (`flows`, rvsd's `[guard]`) evicts
    /// the oldest for each new one, so every new connection costs an insert and a removal in a
    /// table that stays at the same fill.
    Steady,
}

/// One scenario's parameters.
#[derive(Debug, Clone)]
pub struct Params {
    /// Traffic.
    pub traffic: Traffic,
    /// Forwarding method (ignored for `Io`).
    pub mode: Mode,
    /// Established flows (pre-populated) for `Established`, `Mix` and `Io`.
    pub flows: u64,
    /// Connection table capacity.
    pub capacity: u32,
    /// Warm-up before the window.
    pub warmup: Duration,
    /// Measured window.
    pub window: Duration,
    /// Use hugepages (else `--no-huge`).
    pub huge: bool,
    /// Seed of the insertion and traffic orders.
    pub seed: u64,
}

/// What one scenario measured.
#[derive(Debug, Default, Clone)]
pub struct Measured {
    /// Packets the worker received in the window, per second.
    pub rx_pps: f64,
    /// Packets the worker transmitted in the window, per second.
    pub tx_pps: f64,
    /// Packets the generator offered, per second.
    pub offered_pps: f64,
    /// Share of the worker's polls that found no packet (an idle poll is short: a small share
    /// of time can be a large share of polls).
    pub idle_polls: f64,
    /// Share of the generator's bursts the ring did not take whole: high when the worker is
    /// the bottleneck, near zero when the generator is.
    pub ring_full: f64,
    /// Share of the received packets the balancer forwarded on a connection.
    pub lb_share: f64,
    /// Connections created per second in the window.
    pub new_cps: f64,
    /// Packets dropped by the worker in the window (stack, balancer, tx).
    pub drops: u64,
    /// The largest drop reason, if any.
    pub top_drop: String,
    /// Connections in the table at the end.
    pub conns: u64,
    /// Resident memory of the process at the end of the window (bytes).
    pub rss: u64,
    /// CPU time the process used in the window, as a share of one core.
    pub cpu: f64,
    /// Totals of the whole traffic run (warmup, window and the drain after it), for the
    /// correctness checks of perf/smoke.sh: frames the generator's rings accepted ...
    pub sent: u64,
    /// ... the worker received, transmitted, forwarded on a connection, and dropped ...
    pub rx_total: u64,
    /// (transmitted)
    pub tx_total: u64,
    /// (forwarded on a connection)
    pub fwd_total: u64,
    /// (dropped)
    pub drops_total: u64,
    /// ... connections it created ...
    pub created_total: u64,
    /// ... and the connections in the table before the traffic (the populated ones).
    pub conns_before: u64,
    /// Worker thread CPU time in the window per received packet, in nanoseconds.
    pub cpu_ns_pkt: f64,
    /// Worker thread CPU time in the window as a share of the window.
    pub worker_cpu: f64,
    /// The worker's longest loop iteration over the whole run, in nanoseconds (0 for `Io`).
    pub longest_poll_ns: u64,
    /// Consecutive packets of one traffic pass whose connections were inserted next to each
    /// other (about 2 when the orders are independent shuffles; flows - 1 in slab order).
    pub adjacent: u64,
    /// Frames whose data the I/O loop touched (MAC addresses swapped); `Io` only.
    pub touched: u64,
    /// Packets per busy poll in the window (all rx queues of one poll together): near the
    /// burst size when the ring never ran dry, the worker's own cost being the limit.
    pub per_busy_poll: f64,
}

/// CPU time the thread at `task` (`/proc/<pid>/task/<tid>`) has run, in nanoseconds (the first
/// field of its schedstat), or None if it cannot be read.
fn thread_cpu_ns(task: &std::path::Path) -> Option<u64> {
    let s = std::fs::read_to_string(task.join("schedstat")).ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// The calling thread's `/proc` directory.
fn this_task() -> Option<PathBuf> {
    std::fs::read_link("/proc/thread-self").ok().map(|p| PathBuf::from("/proc").join(p))
}

/// CPU time (user + system) this process has used, in seconds, from /proc/self/stat.
pub fn cpu_secs() -> f64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = s.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

/// Resident memory of this process, from /proc/self/status.
pub fn rss_bytes() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next().and_then(|n| n.parse::<u64>().ok()))
        .map_or(0, |kb| kb * 1024)
}

pub(crate) fn eal_args(huge: bool) -> Vec<String> {
    let mut a: Vec<String> = vec![
        "--lcores=0@0,1@1".into(),
        "--no-pci".into(),
        "--no-telemetry".into(),
        format!("--file-prefix=rvs-bench-{}", std::process::id()),
        "--log-level=lib.eal:error".into(),
        "--vdev=net_ring0".into(),
        "--vdev=net_null0,no-rx=1".into(),
        "--vdev=net_ring1".into(),
        "--vdev=net_null1,no-rx=1".into(),
    ];
    if huge {
        a.extend(["--in-memory".into(), "-m".into(), "256".into()]);
    } else {
        a.extend(["--no-huge".into(), "--no-shconf".into(), "-m".into(), "512".into()]);
    }
    a
}

/// Counters of the worker at one instant.
#[derive(Debug, Default, Clone, Copy)]
struct Snap {
    at: Option<Instant>,
    rx: u64,
    tx: u64,
    busy: u64,
    idle: u64,
    created: u64,
    forwarded: u64,
    drops: u64,
}

fn drops_of(stats: &CoreStats) -> (u64, Vec<(String, u64)>) {
    let mut all = Vec::new();
    for r in DropReason::ALL {
        all.push((r.name().to_owned(), stats.drops(r)));
    }
    for r in IpvsDropReason::ALL {
        all.push((format!("lb_{}", r.name()), stats.lb_drops(r)));
    }
    all.push(("tx_full".to_owned(), stats.loop_stat(LoopStat::TxDropped)));
    (all.iter().map(|(_, n)| n).sum(), all)
}

fn snap(stats: &CoreStats) -> Snap {
    Snap {
        at: Some(Instant::now()),
        rx: stats.loop_stat(LoopStat::RxPackets),
        tx: stats.loop_stat(LoopStat::TxPackets),
        busy: stats.loop_stat(LoopStat::BusyPolls),
        idle: stats.loop_stat(LoopStat::IdlePolls),
        created: stats.lb_event(0),
        forwarded: stats.lb_event(2),
        drops: drops_of(stats).0,
    }
}

/// Sends frames into the queues of `tx` in turn until `stop(sent, bursts, full)` (frames
/// accepted, bursts offered, bursts the ring did not take whole); returns frames accepted.
/// `fill(q, seq, buf)` writes the `seq`-th frame for queue `q`.
fn generate(
    pool: &Mempool,
    tx: &mut [TxQueue],
    stop: &dyn Fn(u64, u64, u64) -> bool,
    fill: &dyn Fn(usize, u64, &mut [u8]),
) -> u64 {
    let mut batches: Vec<MbufBatch> = tx.iter().map(|_| MbufBatch::new()).collect();
    let mut seqs = vec![0u64; tx.len()];
    let mut sent = 0u64;
    let mut rounds = 0u64;
    let mut full = 0u64;
    loop {
        for (q, (queue, batch)) in tx.iter_mut().zip(batches.iter_mut()).enumerate() {
            rounds += 1;
            if rounds % 64 == 0 && stop(sent, rounds, full) {
                return sent;
            }
            let have = batch.len();
            let want = batch.free();
            if want > 0 && pool.alloc_bulk(batch, want) {
                for m in batch.as_mut_slice().iter_mut().skip(have) {
                    let seq = seqs.get_mut(q).map_or(0, |s| {
                        *s += 1;
                        *s - 1
                    });
                    if let Ok(buf) = m.append(FRAME_LEN) {
                        fill(q, seq, buf);
                    }
                }
            }
            sent += queue.tx_burst(batch) as u64;
            if !batch.is_empty() {
                full += 1;
            }
        }
    }
}

/// The real servers' replies of every connection in the table, as frames arriving on port 1:
/// from the dest to the client (NAT) or to the local address and port (FULLNAT).
fn reply_frames(pipeline: &Pipeline<rvs::dpdk::Mbuf>, dst_mac: [u8; 6]) -> Vec<[u8; FRAME_LEN]> {
    let Some(lb) = pipeline.balancer() else { return Vec::new() };
    let mut out = Vec::new();
    for c in lb.conns_snapshot(rvs::time::now(), usize::MAX) {
        let to = c.local.unwrap_or(c.client);
        let (IpAddr::V4(to_ip), IpAddr::V4(from_ip)) = (to.ip(), c.dest.ip()) else { continue };
        let rs_mac = [0x52, 0, 0, 0, 1, from_ip.octets()[3].wrapping_sub(10)];
        let t = Template::new(Kind::Ack, dst_mac, rs_mac, to_ip, to.port());
        let mut f = [0u8; FRAME_LEN];
        t.write_from(&mut f, from_ip, c.dest.port());
        out.push(f);
    }
    out
}

/// Pre-populates the balancer with TCP connections of the flows of `insert`, in that order:
/// the frames of `kinds` for each flow (SYN then ACK: established; SYN alone: SYN_RECV),
/// through `Balancer::input_checked` as the pipeline would hand them. Returns how many flows
/// had every frame forwarded.
pub(crate) fn populate<B: rvs::buf::PacketBuf>(
    pipeline: &mut Pipeline<B>,
    kinds: &[&Template],
    insert: &[u32],
) -> u64 {
    let Some(lb) = pipeline.balancer_mut() else { return 0 };
    let mut ok = 0;
    for &i in insert {
        let i = u64::from(i);
        for &t in kinds {
            let mut b = VecBuf::with_capacity(128, 256);
            if let Ok(bytes) = b.append(FRAME_LEN) {
                t.write(bytes, i);
            }
            let _ = b.trim(t.padding());
            if let Verdict::Forward { .. } = input_checked(lb, b) {
                ok += 1;
            }
        }
    }
    ok / kinds.len().max(1) as u64
}

/// Runs the scenario and returns what it measured.
pub fn run(p: &Params) -> Result<Measured> {
    let eal = Eal::init(&eal_args(p.huge)).map_err(|e| anyhow!("EAL: {e}"))?;
    let pool = Mempool::new("bench", 32767, 256, 2176, None).map_err(|e| anyhow!("{e}"))?;
    let ring = Port::by_name("net_ring0").map_err(|e| anyhow!("{e}"))?;
    let null = Port::by_name("net_null0").map_err(|e| anyhow!("{e}"))?;
    let rcfg = PortConfig {
        rx_queues: 1,
        tx_queues: 1,
        rss: false,
        promiscuous: true,
        ..PortConfig::default()
    };
    let mut ring = ring.configure(&rcfg, &pool).map_err(|e| anyhow!("net_ring0: {e}"))?;
    let ncfg = PortConfig { rss: false, ..PortConfig::default() };
    let mut null = null.configure(&ncfg, &pool).map_err(|e| anyhow!("net_null0: {e}"))?;
    let ring1 = Port::by_name("net_ring1").map_err(|e| anyhow!("{e}"))?;
    let mut ring1 = ring1.configure(&rcfg, &pool).map_err(|e| anyhow!("net_ring1: {e}"))?;
    let null1 = Port::by_name("net_null1").map_err(|e| anyhow!("{e}"))?;
    let mut null1 = null1.configure(&ncfg, &pool).map_err(|e| anyhow!("net_null1: {e}"))?;
    // net_ring has an all-zero MAC and refuses a new one; it is promiscuous, so the stack
    // is given made-up unicast MACs and the frames are addressed to them.
    let mac0 = [0x02, 0, 0, 0, 0, 0xa0];
    let mac1 = [0x02, 0, 0, 0, 0, 0xa1];
    // Port 0: client side, rx from ring0, tx to null0. Port 1: servers' side, rx from ring1
    // (replies, in the two-direction scenarios), tx to null1.
    let rx = ring.rx_queue(0).map_err(|e| anyhow!("{e}"))?;
    let rx1 = ring1.rx_queue(0).map_err(|e| anyhow!("{e}"))?;
    let gen_tx = ring.tx_queue(0).map_err(|e| anyhow!("{e}"))?;
    let gen_tx1 = ring1.tx_queue(0).map_err(|e| anyhow!("{e}"))?;
    let out_tx = null.tx_queue(0).map_err(|e| anyhow!("{e}"))?;
    let out_tx1 = null1.tx_queue(0).map_err(|e| anyhow!("{e}"))?;

    let syn = Template::new(Kind::Syn, mac0, GW_MAC, VIP, VPORT);
    let ack = Template::new(Kind::Ack, mac0, GW_MAC, VIP, VPORT);
    let udp = Template::new(Kind::Udp, mac0, GW_MAC, VIP, VPORT);
    let flows = p.flows.max(1);
    let mut replies = Vec::new();
    // Insertion order (stream 0) and traffic order (stream 1) of the established flows.
    let insert = order::shuffled(flows, p.seed, 0);
    let visit = order::shuffled(flows, p.seed, 1);
    let adjacent = order::adjacent_pairs(&insert, &visit);
    let worker_task: Arc<OnceLock<PathBuf>> = Arc::new(OnceLock::new());
    let touched = Arc::new(AtomicU64::new(0));

    let stop = Arc::new(AtomicBool::new(false));
    let stats = Arc::new(CoreStats::default());
    let io_counts = Arc::new([AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)]);
    let mut m = Measured::default();
    let handle = if p.traffic == Traffic::Io {
        let (stop2, counts, task, t2) =
            (stop.clone(), io_counts.clone(), worker_task.clone(), touched.clone());
        dpdk::launch(1, move || {
            if let Some(t) = this_task() {
                let _ = task.set(t);
            }
            io_loop(rx, out_tx, &stop2, &counts, &t2)
        })
        .map_err(|e| anyhow!("{e}"))?
    } else {
        let stack = setup::stack(mac0, mac1)?;
        let embryonic_max = (p.traffic == Traffic::Steady).then_some(flows as u32);
        let mut pipeline =
            Pipeline::with_balancer(stack, setup::balancer(p.capacity, embryonic_max)?);
        pipeline.set_services(setup::services(p.mode, "rr")?, rvs::time::now());
        if let Some(lb) = pipeline.balancer() {
            if lb.config_errors() > 0 {
                bail!("the balancer refused part of the services ({} errors)", lb.config_errors());
            }
        }
        if matches!(
            p.traffic,
            Traffic::Established | Traffic::Mix | Traffic::Both | Traffic::Steady
        ) {
            let t = Instant::now();
            let kinds: &[&Template] =
                if p.traffic == Traffic::Steady { &[&syn] } else { &[&syn, &ack] };
            let ok = populate(&mut pipeline, kinds, &insert);
            eprintln!(
                "populated {ok} of {flows} connections in {:.1} s",
                t.elapsed().as_secs_f64()
            );
            if ok < flows {
                bail!("only {ok} of {flows} connections could be established");
            }
        }
        if p.traffic == Traffic::Both {
            let table_order = reply_frames(&pipeline, mac1);
            if table_order.is_empty() {
                bail!("no connection to reply for");
            }
            // The replies in a third shuffle, not in the table's order.
            replies = order::shuffled(table_order.len() as u64, p.seed, 2)
                .into_iter()
                .filter_map(|i| table_order.get(i as usize).copied())
                .collect();
        }
        let worker = Worker::new(
            0,
            vec![RxSlot { port: 0, queue: rx }, RxSlot { port: 1, queue: rx1 }],
            vec![out_tx, out_tx1],
            pool.clone(),
            pipeline,
            if p.traffic == Traffic::Idle {
                // The lab configs' backoff: 64 empty polls, then sleeps from 200 µs doubling
                // to 2 ms.
                IdleBackoff::new(Some(BackoffParams {
                    empty_polls: 64,
                    sleep: Duration::from_micros(200),
                    max_sleep: Duration::from_millis(2),
                }))
            } else {
                IdleBackoff::busy()
            },
            false,
            Crossing::default(),
            stats.clone(),
            stop.clone(),
        );
        let mut worker = worker;
        let task = worker_task.clone();
        let h = dpdk::launch(1, move || {
            if let Some(t) = this_task() {
                let _ = task.set(t);
            }
            worker.run();
            if let Some(lb) = worker.pipeline().balancer() {
                eprintln!(
                    "conns={} table_bytes={} capacity={}",
                    lb.conn_count(),
                    lb.conn_table_bytes(),
                    lb.conn_capacity()
                );
            }
            0
        })
        .map_err(|e| anyhow!("{e}"))?;
        h
    };

    let traffic = p.traffic;
    let n_replies = replies.len().max(1) as u64;
    let fill = |q: usize, seq: u64, buf: &mut [u8]| match (traffic, q) {
        (Traffic::Both, 1) => {
            if let (Some(f), Some(out)) =
                (replies.get((seq % n_replies) as usize), buf.get_mut(..FRAME_LEN))
            {
                out.copy_from_slice(f);
            }
        }
        (Traffic::Io | Traffic::Established | Traffic::Idle | Traffic::Both, _) => {
            ack.write(buf, visit.get((seq % flows) as usize).map_or(0, |&f| u64::from(f)))
        }
        (Traffic::NewTcp | Traffic::Steady, _) => syn.write(buf, flows + seq),
        (Traffic::NewUdp, _) => udp.write(buf, flows + seq),
        (Traffic::Mix, _) => {
            if seq % 10 == 9 {
                syn.write(buf, flows + seq / 10)
            } else {
                ack.write(buf, visit.get((seq % flows) as usize).map_or(0, |&f| u64::from(f)))
            }
        }
    };
    let read = |stats: &CoreStats| -> Snap {
        if traffic == Traffic::Io {
            Snap {
                at: Some(Instant::now()),
                rx: io_counts[0].load(Ordering::Relaxed),
                tx: io_counts[1].load(Ordering::Relaxed),
                drops: io_counts[2].load(Ordering::Relaxed),
                ..Snap::default()
            }
        } else {
            snap(stats)
        }
    };
    // The counters before the traffic: once the worker has published (the populated
    // connections included), waited for.
    let conns_gauge = rvs::dataplane::stats::LB_EVENTS.iter().position(|e| e.gauge).unwrap_or(0);
    let first = if traffic == Traffic::Io {
        Snap::default()
    } else {
        wait_for("the worker's first counters", || {
            let s = read(&stats);
            s.busy + s.idle > 0
        })?;
        read(&stats)
    };
    let conns_before = if traffic == Traffic::Io { 0 } else { stats.lb.load(conns_gauge) };
    let start = Instant::now();
    let marks = std::cell::Cell::new((Snap::default(), Snap::default(), 0u64, 0u64));
    wait_for("the worker thread to start", || worker_task.get().is_some())?;
    let task = worker_task.get().cloned().unwrap_or_default();
    // The worker thread's CPU time at the start and end of the window.
    let wcpu = std::cell::Cell::new((0u64, 0u64));
    // Generator bursts and refused bursts at the start and end of the window; RSS at its end.
    let bursts = std::cell::Cell::new([0u64; 4]);
    let rss_end = std::cell::Cell::new(0u64);
    let stop_gen = |sent: u64, rounds: u64, full: u64| -> bool {
        let el = start.elapsed();
        let mut k = marks.get();
        let mut r = bursts.get();
        if k.0.at.is_none() && el >= p.warmup {
            k.0 = read(&stats);
            k.2 = sent;
            wcpu.set((thread_cpu_ns(&task).unwrap_or(0), 0));
            r[0] = rounds;
            r[1] = full;
        } else if k.0.at.is_some() && el >= p.warmup + p.window {
            k.1 = read(&stats);
            k.3 = sent;
            wcpu.set((wcpu.get().0, thread_cpu_ns(&task).unwrap_or(0)));
            r[2] = rounds;
            r[3] = full;
            marks.set(k);
            bursts.set(r);
            rss_end.set(rss_bytes());
            return true;
        }
        marks.set(k);
        bursts.set(r);
        false
    };
    let cpu0;
    let cpu1;
    let mut sent = 0;
    if traffic == Traffic::Idle {
        std::thread::sleep(p.warmup);
        let a = read(&stats);
        cpu0 = cpu_secs();
        let w0 = thread_cpu_ns(&task).unwrap_or(0);
        std::thread::sleep(p.window);
        cpu1 = cpu_secs();
        wcpu.set((w0, thread_cpu_ns(&task).unwrap_or(0)));
        marks.set((a, read(&stats), 0, 0));
        rss_end.set(rss_bytes());
    } else {
        cpu0 = cpu_secs();
        let mut queues = vec![gen_tx];
        if traffic == Traffic::Both {
            queues.push(gen_tx1);
        }
        sent = generate(&pool, &mut queues, &stop_gen, &fill);
        cpu1 = cpu_secs();
    }
    let (a, b, sent0, sent1) = marks.get();
    // The worker takes what is left in the rings (an event, waited for), then stops; it
    // publishes its last counters as it ends.
    wait_for("the worker to take every frame sent", || read(&stats).rx >= sent)?;
    stop.store(true, Ordering::Relaxed);
    handle.join().map_err(|e| anyhow!("worker: {e}"))?;
    let (_, reasons) = drops_of(&stats);
    let last = read(&stats);
    m.sent = sent;
    m.rx_total = last.rx - first.rx;
    m.tx_total = last.tx - first.tx;
    m.fwd_total = last.forwarded - first.forwarded;
    m.drops_total = last.drops - first.drops;
    m.created_total = last.created - first.created;
    m.conns_before = conns_before;
    m.adjacent =
        if matches!(traffic, Traffic::NewTcp | Traffic::NewUdp | Traffic::Idle | Traffic::Steady) {
            0
        } else {
            adjacent
        };
    m.touched = touched.load(Ordering::Relaxed);
    m.longest_poll_ns = stats.loop_stat(LoopStat::LongestPollNs);

    let secs = match (a.at, b.at) {
        (Some(a), Some(b)) => b.duration_since(a).as_secs_f64(),
        _ => bail!("the window was not measured"),
    };
    m.cpu = (cpu1 - cpu0) / secs;
    let (w0, w1) = wcpu.get();
    if w1 <= w0 {
        bail!("the worker thread's CPU time could not be read from {}", task.display());
    }
    m.worker_cpu = (w1 - w0) as f64 / 1e9 / secs;
    m.cpu_ns_pkt = if b.rx > a.rx { (w1 - w0) as f64 / (b.rx - a.rx) as f64 } else { f64::NAN };
    m.rx_pps = (b.rx - a.rx) as f64 / secs;
    m.tx_pps = (b.tx - a.tx) as f64 / secs;
    m.offered_pps = (sent1 - sent0) as f64 / secs;
    let polls = (b.busy - a.busy) + (b.idle - a.idle);
    m.idle_polls = if traffic == Traffic::Io || polls == 0 {
        f64::NAN
    } else {
        (b.idle - a.idle) as f64 / polls as f64
    };
    m.per_busy_poll =
        if b.busy > a.busy { (b.rx - a.rx) as f64 / (b.busy - a.busy) as f64 } else { f64::NAN };
    let r = bursts.get();
    m.ring_full = if r[2] > r[0] { (r[3] - r[1]) as f64 / (r[2] - r[0]) as f64 } else { f64::NAN };
    m.new_cps = (b.created - a.created) as f64 / secs;
    m.lb_share = if b.rx > a.rx {
        (b.forwarded - a.forwarded) as f64 / (b.rx - a.rx) as f64
    } else {
        f64::NAN
    };
    m.drops = b.drops - a.drops;
    m.top_drop = reasons
        .iter()
        .filter(|(_, n)| *n > 0)
        .max_by_key(|(_, n)| *n)
        .map(|(r, n)| format!("{r}:{n}"))
        .unwrap_or_default();
    m.conns = stats.lb.load(conns_gauge);
    m.rss = rss_end.get();
    drop(ring);
    drop(null);
    drop(ring1);
    drop(null1);
    drop(pool);
    drop(eal);
    Ok(m)
}

/// The I/O ceiling: rx burst, swap each frame's MAC addresses (the frame's first cache line is
/// read and written, as any forwarder must; testpmd's macswap), tx burst, free what tx refused.
/// Counts in `c`: rx, tx, dropped; frames touched in `touched`.
fn io_loop(
    mut rx: RxQueue,
    mut tx: TxQueue,
    stop: &AtomicBool,
    c: &[AtomicU64; 3],
    touched: &AtomicU64,
) -> i32 {
    let mut swapped = 0u64;
    let mut batch: MbufBatch = MbufBatch::new();
    let (mut got, mut sent, mut dropped) = (0u64, 0u64, 0u64);
    let mut loops = 0u32;
    while !stop.load(Ordering::Relaxed) {
        let n = rx.rx_burst(&mut batch);
        if n > 0 {
            got += n as u64;
            for m in batch.as_mut_slice() {
                if let Some(eth) = m.data_mut().get_mut(..12) {
                    let (dst, src) = eth.split_at_mut(6);
                    dst.swap_with_slice(src);
                    swapped += 1;
                }
            }
            sent += tx.tx_burst(&mut batch) as u64;
            dropped += batch.len() as u64;
            batch.clear();
        }
        loops += 1;
        if loops % 256 == 0 {
            c[0].store(got, Ordering::Relaxed);
            c[1].store(sent, Ordering::Relaxed);
            c[2].store(dropped, Ordering::Relaxed);
        }
    }
    c[0].store(got, Ordering::Relaxed);
    c[1].store(sent, Ordering::Relaxed);
    c[2].store(dropped, Ordering::Relaxed);
    touched.store(swapped, Ordering::Relaxed);
    0
}

/// Polls `f` every millisecond until it holds; an error after 30 s (a deadline, not a measure).
fn wait_for(what: &str, mut f: impl FnMut() -> bool) -> Result<()> {
    let limit = Instant::now() + Duration::from_secs(30);
    while !f() {
        if Instant::now() >= limit {
            bail!("waited 30 s for {what}");
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(())
}

/// Fails unless `p` makes sense.
pub fn check(p: &Params) -> Result<()> {
    if p.capacity == 0 {
        bail!("connection capacity must be positive");
    }
    Ok(())
}

/// Context for errors of a scenario.
pub fn named(r: Result<Measured>, name: &str) -> Result<Measured> {
    r.with_context(|| format!("scenario {name}"))
}

/// Hands `b` to the balancer as the stack would: its headers checked once, then
/// `Balancer::input_checked` (a frame whose header does not check is counted as not forwarded).
pub(crate) fn input_checked(lb: &mut rvs::ipvs::balancer::Balancer, b: VecBuf) -> Verdict<VecBuf> {
    match rvs::wire::Ipv4Meta::parse(b.data(), 14) {
        Ok(ip) => {
            let meta = rvs::wire::PacketMeta::parse(b.data(), ip);
            lb.input_checked(b, &meta, Some(AddrKind::Vip), rvs::time::now())
        }
        Err(_) => Verdict::NotMine { pkt: b },
    }
}
