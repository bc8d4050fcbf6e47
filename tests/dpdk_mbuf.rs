//! Mbuf as a PacketBuf: it behaves exactly like VecBuf with the same geometry (checked on
//! random operation sequences), refusals leave it unchanged, and MbufBatch ownership.

mod common;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use rvs::buf::{BufError, PacketBuf, VecBuf};
use rvs::dpdk::{sys, Mbuf, MbufBatch, Mempool, RxCksum, TxL3, TxL4};

const ROOM: u16 = 2176;
const HEADROOM: usize = 128;

fn geometry(m: &Mbuf) -> (usize, usize, usize) {
    (m.headroom(), m.len(), m.tailroom())
}

#[test]
fn mbuf_packetbuf_and_batch_ownership() {
    let _eal = common::eal("mbuf", &[]);
    let pool = Mempool::new("mbuf_pool", 511, 0, ROOM, None).unwrap();
    let total = pool.avail_count();

    // A fresh mbuf: default headroom, empty, the rest tailroom.
    let mut m = pool.alloc().unwrap();
    assert_eq!(geometry(&m), (HEADROOM, 0, usize::from(ROOM) - HEADROOM));
    assert_eq!(pool.in_use_count(), 1);

    m.append(4).unwrap().copy_from_slice(&[1, 2, 3, 4]);
    m.prepend(2).unwrap().copy_from_slice(&[9, 8]);
    assert_eq!(m.data(), &[9, 8, 1, 2, 3, 4]);
    assert_eq!(m.pkt_len(), 6);
    m.adj(3).unwrap();
    assert_eq!(m.data(), &[2, 3, 4]);
    m.trim(1).unwrap();
    assert_eq!(m.data(), &[2, 3]);
    m.data_mut()[0] = 7;
    assert_eq!(m.data(), &[7, 3]);
    assert_eq!(geometry(&m), (HEADROOM + 1, 2, usize::from(ROOM) - HEADROOM - 3));

    // Refusals leave the mbuf unchanged.
    let before = (geometry(&m), m.data().to_vec());
    assert_eq!(
        m.prepend(HEADROOM + 2).unwrap_err(),
        BufError::NoHeadroom { wanted: HEADROOM + 2, available: HEADROOM + 1 }
    );
    let tail = m.tailroom();
    assert_eq!(
        m.append(tail + 1).unwrap_err(),
        BufError::NoTailroom { wanted: tail + 1, available: tail }
    );
    assert_eq!(m.adj(3).unwrap_err(), BufError::TooShort { wanted: 3, len: 2 });
    assert_eq!(m.trim(3).unwrap_err(), BufError::TooShort { wanted: 3, len: 2 });
    assert_eq!(
        m.prepend(usize::MAX).unwrap_err(),
        BufError::NoHeadroom { wanted: usize::MAX, available: HEADROOM + 1 }
    );
    assert_eq!((geometry(&m), m.data().to_vec()), before);
    assert_eq!(m.pkt_len(), 2);

    // Tx offload request fields.
    assert!(m.set_tx_offload(14, 20, TxL3::Ipv4 { cksum: true }, TxL4::Tcp));
    assert_eq!(m.tx_offload_lens(), (14, 20));
    let f = m.ol_flags();
    assert_ne!(f & sys::RTE_MBUF_F_TX_IP_CKSUM, 0);
    assert_ne!(f & sys::RTE_MBUF_F_TX_IPV4, 0);
    assert_eq!(f & sys::RTE_MBUF_F_TX_L4_MASK, sys::RTE_MBUF_F_TX_TCP_CKSUM);
    assert!(m.set_tx_offload(14, 40, TxL3::Ipv6, TxL4::Udp));
    let f = m.ol_flags();
    assert_eq!(f & sys::RTE_MBUF_F_TX_IPV4, 0);
    assert_ne!(f & sys::RTE_MBUF_F_TX_IPV6, 0);
    assert_eq!(f & sys::RTE_MBUF_F_TX_L4_MASK, sys::RTE_MBUF_F_TX_UDP_CKSUM);
    assert!(!m.set_tx_offload(128, 20, TxL3::Ipv6, TxL4::None), "l2_len has 7 bits");
    assert_eq!(m.tx_offload_lens(), (14, 40));
    m.clear_tx_offload();
    assert_eq!(m.ol_flags() & (sys::RTE_MBUF_F_TX_IPV6 | sys::RTE_MBUF_F_TX_L4_MASK), 0);
    assert_eq!(m.rx_ip_cksum(), RxCksum::Unknown);
    assert_eq!(m.rss_hash(), None);

    // into_raw / from_raw move ownership without freeing.
    let raw = m.into_raw();
    assert_eq!(pool.in_use_count(), 1);
    // The one unsafe call outside rvs-dpdk: this test exercises the layer's raw hand-off.
    // SAFETY: raw came from into_raw just above and is rebuilt once.
    #[allow(unsafe_code)]
    let m = unsafe { Mbuf::from_raw(raw) };
    drop(m);
    assert_eq!(pool.in_use_count(), 0);

    // Same behaviour as VecBuf with the same geometry, on random operation sequences.
    let mut runner = TestRunner::new(Config { cases: 256, ..Config::default() });
    let ops = proptest::collection::vec((0u8..4, 0usize..2300), 0..48);
    runner
        .run(&ops, |ops| {
            let mut m = pool.alloc().expect("free mbuf");
            let mut v = VecBuf::with_capacity(HEADROOM, usize::from(ROOM));
            for (i, (op, n)) in ops.into_iter().enumerate() {
                let fill = i as u8;
                let (rm, rv) = match op {
                    0 => (m.prepend(n).map(|b| b.fill(fill)), v.prepend(n).map(|b| b.fill(fill))),
                    1 => (m.adj(n), v.adj(n)),
                    2 => (m.append(n).map(|b| b.fill(fill)), v.append(n).map(|b| b.fill(fill))),
                    _ => (m.trim(n), v.trim(n)),
                };
                prop_assert_eq!(rm, rv);
                prop_assert_eq!(m.data(), v.data());
                prop_assert_eq!((m.headroom(), m.tailroom()), (v.headroom(), v.tailroom()));
                prop_assert_eq!(m.pkt_len() as usize, m.len());
            }
            Ok(())
        })
        .unwrap();
    assert_eq!(pool.avail_count(), total);

    // Batches: push until full, pop, drain, drop frees what is left.
    let mut batch: MbufBatch<4> = MbufBatch::new();
    for i in 0..4u8 {
        batch.push(common::mbuf_with(&pool, &[i])).unwrap();
    }
    assert!(batch.is_full());
    let extra = common::mbuf_with(&pool, &[99]);
    let back = batch.push(extra).unwrap_err();
    assert_eq!(back.data(), &[99]);
    drop(back);
    assert_eq!(pool.in_use_count(), 4);
    assert_eq!(batch.as_slice().iter().map(|m| m.data()[0]).collect::<Vec<_>>(), [0, 1, 2, 3]);
    batch.as_mut_slice()[1].data_mut()[0] = 11;
    assert_eq!(batch.pop().unwrap().data(), &[3]);
    assert_eq!(pool.in_use_count(), 3);
    let mut it = batch.drain();
    assert_eq!(it.next().unwrap().data(), &[0]);
    drop(it); // frees the two not taken
    assert!(batch.is_empty());
    assert_eq!(pool.in_use_count(), 0);

    let mut batch: MbufBatch = MbufBatch::new();
    assert!(pool.alloc_bulk(&mut batch, 20));
    assert_eq!(batch.len(), 20);
    assert!(!pool.alloc_bulk(&mut batch, 13), "only 12 free slots");
    assert_eq!(batch.len(), 20);
    assert_eq!(pool.in_use_count(), 20);
    drop(batch);
    assert_eq!(pool.avail_count(), total);
}
