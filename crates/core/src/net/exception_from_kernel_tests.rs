//! The exception path from the kernel towards the wire: per-(port, class) buckets keep a
//! kernel-side flood of one class from starving the others, with the worker's reading loop and
//! the kernel interface's bounded queue modelled in fake time.

use std::collections::VecDeque;
use std::net::Ipv4Addr;

use super::exc_class::{ClassRate, ExcClass};
use super::exc_from_kernel::classify_from_kernel;
use super::exception::{Exception, ExceptionDrop, ExceptionParams};
use super::stack::Stack;
use super::testutil::*;
use super::NeighParams;
use crate::buf::VecBuf;
use crate::time::Instant;
use crate::wire::MacAddr;

const KADDR: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 20);
const RS: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 12);
const RS_MAC: MacAddr = MacAddr([0x52, 0x54, 0, 0, 0, 0x12]);
/// The kernel interface's queue (a tap's default `txqueuelen`).
const QUEUE: usize = 1000;

fn kstack(params: ExceptionParams) -> Stack<VecBuf> {
    let i = ifaces().with_kernel_addrs(0, &[KADDR]).unwrap();
    let r = routes(&i);
    Stack::new(i, r, &[], NeighParams::default()).unwrap().with_exception(Exception::new(
        &[0],
        params,
        Instant::ZERO,
    ))
}

fn l4(sport: u16, dport: u16, tcp_flags: Option<u8>) -> (u8, Vec<u8>) {
    let mut h = vec![0u8; if tcp_flags.is_some() { 20 } else { 8 }];
    h[0..2].copy_from_slice(&sport.to_be_bytes());
    h[2..4].copy_from_slice(&dport.to_be_bytes());
    match tcp_flags {
        Some(f) => {
            h[12] = 0x50;
            h[13] = f;
            (6, h)
        }
        None => {
            h[4..6].copy_from_slice(&8u16.to_be_bytes());
            (17, h)
        }
    }
}

fn from_kernel(sport: u16, dport: u16, tcp_flags: Option<u8>) -> Vec<u8> {
    let (proto, h) = l4(sport, dport, tcp_flags);
    eth(RS_MAC, MAC0, 0x0800, &ipv4(KADDR, RS, proto, 64, &h))
}

/// What one second of a kernel-side flood did: health-check frames sent, lost in the kernel's
/// queue, and flood frames sent.
#[derive(Debug)]
struct Outcome {
    health_sent: usize,
    health_lost: usize,
    bfd_sent: usize,
    flood_sent: usize,
}

/// One second: the kernel writes a UDP frame from a low port (class `other`) every 10 µs
/// (100 000/s), a health-check SYN from an ephemeral port once in every 10 ms and a BFD packet
/// once in every 50 ms (each at a spread-out moment of its period, not in step with the flood),
/// into a queue of [`QUEUE`] frames (the kernel drops what does not fit); the worker polls every
/// 100 µs (rvsd's default `poll_us`), reading as many as [`Stack::from_kernel_budget`] allows, 32
/// at most (its burst).
fn flood_second(params: ExceptionParams) -> (Outcome, Stack<VecBuf>) {
    let mut s = kstack(params);
    let mut io = TestIo::default();
    let flood = from_kernel(9999, 9, None);
    let health = from_kernel(45000, 80, Some(0x02));
    let bfd = from_kernel(49152, 3784, None);
    assert_eq!(classify_from_kernel(&flood), ExcClass::Other);
    assert_eq!(classify_from_kernel(&health), ExcClass::Replies);
    assert_eq!(classify_from_kernel(&bfd), ExcClass::Routing);
    let mut queue: VecDeque<&Vec<u8>> = VecDeque::new();
    let mut health_lost = 0;
    // The k-th frame of a period `p` comes at k·p plus a phase that wanders over the period.
    let at = |k: u64, p: u64, step: u64| k * p + (k * step) % p;
    let (mut health_k, mut bfd_k) = (0, 0);
    for us in 0..1_000_000u64 {
        let now = Instant::from_micros(us);
        let mut write = |f: &'static str, frame| {
            if queue.len() < QUEUE {
                queue.push_back(frame);
            } else if f == "health" {
                health_lost += 1;
            }
        };
        if us % 10 == 0 {
            write("flood", &flood);
        }
        if us == at(health_k, 10_000, 7_919) {
            write("health", &health);
            health_k += 1;
        }
        if us == at(bfd_k, 50_000, 30_011) {
            write("bfd", &bfd);
            bfd_k += 1;
        }
        if us % 100 == 0 {
            let budget = s.from_kernel_budget(now, 32);
            for f in queue.drain(..budget.min(queue.len())) {
                s.from_kernel(0, buf(f), now, &mut io);
            }
        }
    }
    // The worker's last poll, at the end of the second: the queue is empty after it.
    let end = Instant::from_secs(1);
    let budget = s.from_kernel_budget(end, 32);
    for f in queue.drain(..budget.min(queue.len())) {
        s.from_kernel(0, buf(f), end, &mut io);
    }
    let sent = |f: &[u8]| io.tx.iter().filter(|(_, b)| data(b) == f).count();
    let out = Outcome {
        health_sent: sent(&health),
        health_lost,
        bfd_sent: sent(&bfd),
        flood_sent: sent(&flood),
    };
    (out, s)
}

#[test]
fn a_kernel_side_flood_of_one_class_does_not_starve_the_others() {
    let (out, s) = flood_second(ExceptionParams::default());
    eprintln!("with class buckets: {out:?}");
    // Every health check and BFD packet left; the flood got its class's burst and rate.
    assert_eq!((out.health_sent, out.health_lost, out.bfd_sent), (100, 0, 20), "{out:?}");
    assert!(out.flood_sent <= 256 + 2000 && out.flood_sent >= 2000, "{out:?}");
    let c = s.exception_counters();
    assert_eq!(c.from_kernel_packets as usize, 100 + 20 + out.flood_sent);
    assert_eq!(
        c.drop_count(ExceptionDrop::FromKernelClassLimited) as usize,
        100_000 - out.flood_sent
    );
    let counts = s.exception_from_kernel_class_counts();
    let other = counts[0][ExcClass::Other as usize];
    assert_eq!(
        (other.passed as usize, other.limited as usize),
        (out.flood_sent, 100_000 - out.flood_sent)
    );
    assert_eq!(counts[0][ExcClass::Replies as usize].passed, 100);
    assert_eq!(counts[0][ExcClass::Routing as usize].passed, 20);
    // The to-kernel direction's counts are its own.
    assert!(s.exception_class_counts()[0].iter().all(|c| c.passed == 0 && c.limited == 0));
}

#[test]
fn without_the_class_buckets_the_same_flood_starves_the_health_checks() {
    // Classes unlimited: the core's aggregate (20 000/s) alone decides how much is read, the
    // flood fills the kernel's queue and the health checks are lost there with it.
    let params = ExceptionParams {
        from_kernel_classes: [ClassRate { pps: 0, burst: 1 }; ExcClass::COUNT],
        ..ExceptionParams::default()
    };
    let (out, _) = flood_second(params);
    eprintln!("without class buckets: {out:?}");
    assert!(out.health_lost > 50, "{out:?}");
    assert!(out.health_sent < 50, "{out:?}");
}

#[test]
fn each_port_has_its_own_buckets_in_this_direction_too() {
    let i = ifaces().with_kernel_addrs(0, &[KADDR]).unwrap();
    let r = routes(&i);
    let params = ExceptionParams {
        from_kernel_classes: [ClassRate { pps: 1000, burst: 3 }; ExcClass::COUNT],
        ..ExceptionParams::default()
    };
    let mut s = Stack::new(i, r, &[], NeighParams::default())
        .unwrap()
        .with_exception(Exception::new(&[0, 1], params, Instant::ZERO));
    let mut io = TestIo::default();
    let flood = from_kernel(9999, 9, None);
    for _ in 0..10 {
        s.from_kernel(0, buf(&flood), Instant::ZERO, &mut io);
        s.from_kernel(1, buf(&flood), Instant::ZERO, &mut io);
    }
    assert_eq!(io.tx.iter().filter(|(p, _)| *p == 0).count(), 3);
    assert_eq!(io.tx.iter().filter(|(p, _)| *p == 1).count(), 3);
    assert_eq!(io.dropped.len(), 14);
    let counts = s.exception_from_kernel_class_counts();
    assert_eq!(counts[1][ExcClass::Other as usize].limited, 7);
}
