//! net_ring loopback: a `net_ring` vdev created without arguments uses the same ring for
//! rx and tx of each queue, so frames sent on tx queue 0 come back on rx queue 0.

mod common;

use rvs::buf::PacketBuf;
use rvs::dpdk::{DpdkError, MbufBatch, Mempool, Port, PortConfig};

#[test]
fn net_ring_loopback_returns_frames_byte_identical() {
    let _eal = common::eal("ring-loopback", &["net_ring0"]);
    assert_eq!(Port::count(), 1);

    let err = Port::by_name("net_nope0").unwrap_err();
    assert!(matches!(err, DpdkError::NoSuchDevice { .. }));
    assert!(err.to_string().contains("dpdk-devbind --status"), "{err}");

    let pool = Mempool::new("loop_pool", 1023, 0, 2176, None).unwrap();
    let port = Port::by_name("net_ring0").unwrap();
    let mut cfg = PortConfig { rss: false, ..PortConfig::default() };
    cfg.promiscuous = true;
    let mut port = port.configure(&cfg, &pool).unwrap();
    let mut rx = port.rx_queue(0).unwrap();
    let mut tx = port.tx_queue(0).unwrap();
    let start = pool.avail_count();

    let frames: Vec<Vec<u8>> =
        (0..20u8).map(|i| common::frame(i, 18 + 61 * usize::from(i))).collect();
    let mut out: MbufBatch = MbufBatch::new();
    for f in &frames {
        out.push(common::mbuf_with(&pool, f)).unwrap();
    }
    assert_eq!(tx.tx_burst(&mut out), frames.len());
    assert!(out.is_empty());

    let mut back: MbufBatch = MbufBatch::new();
    // A burst limit takes no more than asked (the worker's `[dataplane] burst`).
    let mut got = rx.rx_burst_max(&mut back, 7);
    assert_eq!(got, 7);
    for _ in 0..100 {
        got += rx.rx_burst(&mut back);
        if got >= frames.len() {
            break;
        }
    }
    assert_eq!(got, frames.len());
    for (m, f) in back.as_slice().iter().zip(&frames) {
        assert_eq!(m.data(), f.as_slice());
        assert_eq!(m.pkt_len() as usize, f.len());
    }
    drop(back);
    assert_eq!(pool.avail_count(), start);

    let stats = port.stats().unwrap();
    assert_eq!(stats.opackets, frames.len() as u64);
    assert_eq!(stats.ipackets, frames.len() as u64);
    // net_ring counts packets, not bytes.
    assert!(port.link().unwrap().up);
    assert!(!port.xstats().unwrap().is_empty());
    drop((rx, tx));
    port.stop().unwrap();
}
