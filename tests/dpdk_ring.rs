//! Ring ownership: items round-trip in order between two threads, a full ring hands the item
//! back, bursts move mbufs, and dropping a ring drops what it still holds.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use rvs::buf::PacketBuf;
use rvs::dpdk::{MbufBatch, Mempool, Multi, Ring, Single};

#[derive(Debug)]
struct Counted {
    seq: u64,
    drops: Arc<AtomicUsize>,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn ring_spsc_ownership_round_trip_and_drop() {
    let _eal = common::eal("ring", &[]);
    let drops = Arc::new(AtomicUsize::new(0));

    // SPSC across threads, in order, nothing lost or duplicated.
    let ring: Ring<Box<Counted>, Single, Single> = Ring::new("spsc", 64, None).unwrap();
    assert_eq!(ring.capacity(), 64);
    let (mut prod, mut cons) = ring.split();
    const N: u64 = 20_000;
    let d = Arc::clone(&drops);
    let producer = std::thread::spawn(move || {
        for seq in 0..N {
            let mut item = Box::new(Counted { seq, drops: Arc::clone(&d) });
            loop {
                match prod.enqueue(item) {
                    Ok(()) => break,
                    Err(back) => {
                        item = back;
                        // Both threads share the main lcore's CPU: let the consumer run.
                        std::thread::yield_now();
                    }
                }
            }
        }
    });
    let mut next = 0;
    while next < N {
        match cons.dequeue() {
            Some(item) => {
                assert_eq!(item.seq, next);
                next += 1;
            }
            None => std::thread::yield_now(),
        }
    }
    producer.join().unwrap();
    assert_eq!(drops.load(Ordering::SeqCst), N as usize);
    assert!(cons.dequeue().is_none());
    drop(cons);

    // A full ring gives the item back; dropping the ring drops the items left in it.
    drops.store(0, Ordering::SeqCst);
    let mut ring: Ring<Box<Counted>> = Ring::new("full", 4, None).unwrap();
    for seq in 0..4 {
        ring.enqueue(Box::new(Counted { seq, drops: Arc::clone(&drops) })).unwrap();
    }
    let back = ring.enqueue(Box::new(Counted { seq: 9, drops: Arc::clone(&drops) })).unwrap_err();
    assert_eq!(back.seq, 9);
    drop(back);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    assert_eq!(ring.dequeue().unwrap().seq, 0);
    assert_eq!(drops.load(Ordering::SeqCst), 2);
    assert_eq!(ring.count(), 3);
    drop(ring);
    assert_eq!(drops.load(Ordering::SeqCst), 5, "the three left were dropped with the ring");

    // Mbufs: burst in and out, and the ones left go back to the pool with the ring.
    let pool = Mempool::new("ring_pool", 255, 0, 2176, None).unwrap();
    let ring: Ring<rvs::dpdk::Mbuf, Multi, Single> = Ring::new("mbufs", 16, None).unwrap();
    let (prod, mut cons) = ring.split();
    let mut prod2 = prod.clone();
    let mut prod1 = prod;
    let mut batch: MbufBatch = MbufBatch::new();
    for i in 0..20u8 {
        batch.push(common::mbuf_with(&pool, &[i; 3])).unwrap();
    }
    assert_eq!(prod1.enqueue_burst(&mut batch), 16, "the ring holds 16");
    assert_eq!(batch.len(), 4);
    assert_eq!(batch.as_slice()[0].data(), &[16; 3], "unsent stay in order");
    assert!(prod2.enqueue(common::mbuf_with(&pool, &[0xee])).is_err());
    assert_eq!(pool.in_use_count(), 20);
    let mut out: MbufBatch<8> = MbufBatch::new();
    assert_eq!(cons.dequeue_burst(&mut out), 8);
    assert_eq!(
        out.as_slice().iter().map(|m| m.data()[0]).collect::<Vec<_>>(),
        (0..8).collect::<Vec<u8>>()
    );
    drop(out);
    drop(batch);
    assert_eq!(pool.in_use_count(), 8);
    drop((prod1, prod2, cons));
    assert_eq!(pool.in_use_count(), 0, "mbufs left in the ring were freed with it");
}
