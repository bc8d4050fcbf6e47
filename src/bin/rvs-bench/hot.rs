//! `rvs-bench hot`: the established path's fixed per-packet work, without DPDK, rings or a
//! traffic source, for profiling (`perf record` on one thread that does nothing else).
//!
//! The pipeline is the one the scenarios run (`setup`: stack with static neighbours, services
//! parsed from rvsadm changes, one balancer), populated with `flows` established connections
//! in one shuffle and fed their ACKs in another, in bursts of 32, through
//! [`Pipeline::prefetch`] and [`Pipeline::input`] as the worker loop calls them. The buffers
//! are mbufs of an EAL mempool (`--no-huge`, no ports), recycled by the [`NetIo`] instead of
//! freed, so neither the mempool nor a ring is in the loop. It prints the calling
//! thread's CPU ns per packet of two loops over the same frames: `fill` (write the frame into
//! the buffer and recycle it: the source's share) and `pipeline` (fill, then the pipeline);
//! their difference is the pipeline's cost. Nothing is asserted about speed.

use crate::frames::{Kind, Template, FRAME_LEN};
use crate::order;
use crate::setup::{self, Mode, GW_MAC, VIP, VPORT};
use anyhow::{anyhow, bail, Result};
use rvs::buf::PacketBuf;
use rvs::dataplane::pipeline::Pipeline;
use rvs::dpdk::{Eal, Mbuf, Mempool};
use rvs::net::{DropReason, NetIo};

const BURST: usize = 32;
const HEADROOM: usize = 128;

/// A [`NetIo`] that takes every buffer back into its free list.
struct Recycle {
    free: Vec<Mbuf>,
    tx: u64,
    dropped: u64,
}

impl NetIo<Mbuf> for Recycle {
    fn tx(&mut self, _port: u16, mut pkt: Mbuf) {
        // What the worker's tx does for a port that does not offload checksums.
        if pkt.tx_csum_wanted().is_some() {
            pkt.clear_tx_offload();
        }
        self.tx += 1;
        self.free.push(pkt);
    }
    fn alloc(&mut self) -> Option<Mbuf> {
        self.free.pop()
    }
    fn drop_pkt(&mut self, pkt: Mbuf, _reason: DropReason) {
        self.dropped += 1;
        self.free.push(pkt);
    }
}

/// Puts `b` back to `HEADROOM` bytes of headroom and `FRAME_LEN` bytes of data.
#[inline]
fn reset(b: &mut impl PacketBuf) {
    let h = b.headroom();
    let _ = if h > HEADROOM { b.prepend(h - HEADROOM).map(|_| ()) } else { b.adj(HEADROOM - h) };
    let _ = b.set_len(FRAME_LEN);
}

/// CPU time of the calling thread, in nanoseconds.
fn thread_ns() -> u64 {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    s.split_whitespace().next().and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// Runs the two loops; prints `hot mode=... flows=... fill_ns=... pipeline_ns=... above_fill_ns=...`.
pub fn run(mode: Mode, flows: u64, packets: u64, seed: u64) -> Result<()> {
    let mac0 = [0x02, 0, 0, 0, 0, 0xa0];
    let mac1 = [0x02, 0, 0, 0, 0, 0xa1];
    let eal = Eal::init(&crate::run::eal_args(false)).map_err(|e| anyhow!("EAL: {e}"))?;
    let pool = Mempool::new("hot", 1023, 64, 2176, None).map_err(|e| anyhow!("{e}"))?;
    let stack = setup::stack::<Mbuf>(mac0, mac1)?;
    let capacity = (flows as u32).saturating_mul(4).max(4096);
    let mut pipeline = Pipeline::with_balancer(stack, setup::balancer(capacity, None)?);
    pipeline.set_services(setup::services(mode, "rr")?, rvs::time::now());
    let syn = Template::new(Kind::Syn, mac0, GW_MAC, VIP, VPORT);
    let ack = Template::new(Kind::Ack, mac0, GW_MAC, VIP, VPORT);
    let insert = order::shuffled(flows, seed, 0);
    let ok = crate::run::populate(&mut pipeline, &[&syn, &ack], &insert);
    if ok < flows {
        bail!("only {ok} of {flows} connections could be established");
    }
    let visit = order::shuffled(flows, seed, 1);
    let mut io =
        Recycle { free: (0..2 * BURST).filter_map(|_| pool.alloc()).collect(), tx: 0, dropped: 0 };
    let mut burst: Vec<Mbuf> = Vec::with_capacity(BURST);
    let mut seq = 0u64;
    let mut fill = |io: &mut Recycle, burst: &mut Vec<Mbuf>| {
        for _ in 0..BURST {
            let Some(mut b) = io.free.pop() else { break };
            reset(&mut b);
            let f = visit.get((seq % flows) as usize).map_or(0, |&f| u64::from(f));
            ack.write(b.data_mut(), f);
            seq += 1;
            burst.push(b);
        }
    };
    let rounds = packets.div_ceil(BURST as u64);
    // The source alone.
    let t0 = thread_ns();
    for _ in 0..rounds {
        fill(&mut io, &mut burst);
        io.free.append(&mut burst);
    }
    let fill_ns = thread_ns() - t0;
    // The source and the pipeline.
    let now = rvs::time::now();
    let (tx0, dropped0) = (io.tx, io.dropped);
    let t0 = thread_ns();
    for _ in 0..rounds {
        fill(&mut io, &mut burst);
        pipeline.prefetch(burst.iter().map(|b| b.data()));
        for b in burst.drain(..) {
            if let Some((b, _, _)) = pipeline.input(0, b, now, &mut io) {
                io.free.push(b);
            }
        }
    }
    let pipe_ns = thread_ns() - t0;
    let n = (rounds * BURST as u64) as f64;
    let (fill_pp, pipe_pp) = (fill_ns as f64 / n, pipe_ns as f64 / n);
    println!(
        "hot mode={mode:?} flows={flows} packets={n} fill_ns={fill_pp:.1} pipeline_ns={pipe_pp:.1} \
         above_fill_ns={:.1} tx={} dropped={}",
        pipe_pp - fill_pp,
        io.tx - tx0,
        io.dropped - dropped0
    );
    drop((burst, io.free, pipeline));
    drop(eal);
    if io.tx - tx0 != rounds * BURST as u64 {
        bail!("not every packet was forwarded ({} dropped)", io.dropped - dropped0);
    }
    Ok(())
}
