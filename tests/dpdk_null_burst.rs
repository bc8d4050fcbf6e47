//! Burst loop between net_null ports (rx makes 64-byte frames, tx frees them) and partial tx
//! into a full net_ring: no mbuf is leaked or freed twice.

mod common;

use rvs::dpdk::{MbufBatch, Mempool, Port, PortConfig};

#[test]
fn null_burst_loop_and_partial_tx_leak_nothing() {
    let _eal = common::eal("null-burst", &["net_null0,size=64", "net_null1,size=64", "net_ring0"]);
    let pool = Mempool::new("null_pool", 4095, 32, 2176, None).unwrap();
    let cfg = PortConfig { rss: false, rx_desc: 256, tx_desc: 256, ..PortConfig::default() };
    let mut p0 = Port::by_name("net_null0").unwrap().configure(&cfg, &pool).unwrap();
    let mut p1 = Port::by_name("net_null1").unwrap().configure(&cfg, &pool).unwrap();
    let mut rx = p0.rx_queue(0).unwrap();
    let mut tx = p1.tx_queue(0).unwrap();
    let start = pool.avail_count();
    assert_eq!(start, 4095);

    let mut batch: MbufBatch = MbufBatch::new();
    let mut moved = 0usize;
    for _ in 0..2000 {
        let n = rx.rx_burst(&mut batch);
        assert_eq!(batch.len(), n);
        assert!(batch.as_slice().iter().all(|m| m.pkt_len() == 64));
        moved += tx.tx_burst(&mut batch);
        assert!(batch.is_empty(), "net_null sends everything");
    }
    assert_eq!(moved, 2000 * 32);
    assert_eq!(pool.avail_count(), start);

    // A batch dropped while holding received mbufs frees them.
    let mut held: MbufBatch = MbufBatch::new();
    assert_eq!(rx.rx_burst(&mut held), 32);
    assert_eq!(pool.avail_count(), start - 32);
    drop(held);
    assert_eq!(pool.avail_count(), start);

    // Partial tx: net_ring's ring holds 1023 frames and nothing reads it here.
    let ring_cfg = PortConfig { rss: false, ..PortConfig::default() };
    let mut ring_port = Port::by_name("net_ring0").unwrap().configure(&ring_cfg, &pool).unwrap();
    let mut ring_tx = ring_port.tx_queue(0).unwrap();
    let mut ring_rx = ring_port.rx_queue(0).unwrap();
    let mut sent = 0usize;
    let mut partial = None;
    for _ in 0..40 {
        let mut b: MbufBatch = MbufBatch::new();
        rx.rx_burst(&mut b);
        assert_eq!(b.len(), 32);
        let n = ring_tx.tx_burst(&mut b);
        sent += n;
        if n < 32 {
            // The unsent ones stay in the batch, still owned; dropping it frees them once.
            assert_eq!(b.len(), 32 - n);
            partial = Some(n);
            drop(b);
            break;
        }
    }
    assert_eq!(partial, Some(1023 % 32), "the ring fills after 1023 frames");
    assert_eq!(sent, 1023);
    assert_eq!(pool.in_use_count(), 1023, "only the frames inside the ring are out");

    // A retry after a partial send keeps the rest: nothing fits now.
    let mut b: MbufBatch = MbufBatch::new();
    rx.rx_burst(&mut b);
    assert_eq!(ring_tx.tx_burst(&mut b), 0);
    assert_eq!(b.len(), 32);
    b.clear();
    assert_eq!(pool.in_use_count(), 1023);

    let mut drained = 0;
    loop {
        let mut b: MbufBatch = MbufBatch::new();
        let n = ring_rx.rx_burst(&mut b);
        if n == 0 {
            break;
        }
        drained += n;
    }
    assert_eq!(drained, 1023);
    assert_eq!(pool.avail_count(), start);
}
