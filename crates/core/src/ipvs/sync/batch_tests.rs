use std::net::Ipv4Addr;
use std::time::Duration;

use super::*;
use crate::time::Instant;

fn conn(cport: u16) -> SyncConn {
    SyncConn {
        protocol: 6,
        flags: flags::MASQ,
        state: 1,
        cport,
        vport: 80,
        dport: 80,
        fwmark: 0,
        timeout: 900,
        addrs: SyncAddrs::V4 {
            caddr: Ipv4Addr::new(10, 0, 0, 1),
            vaddr: Ipv4Addr::new(192, 168, 0, 38),
            daddr: Ipv4Addr::new(192, 168, 1, 10),
        },
        seq: None,
        pe: None,
        local: None,
    }
}

fn ports(msg: &[u8]) -> Vec<u16> {
    Message::parse(msg).unwrap().entries().map(|e| e.unwrap().cport).collect()
}

#[test]
fn a_full_queue_drops_and_counts() {
    let (mut q, rx) = ReportQueue::bounded(2);
    assert!(q.report(conn(1)));
    assert!(q.report(conn(2)));
    assert!(!q.report(conn(3)));
    assert_eq!(q.dropped(), 1);
    assert_eq!(rx.try_iter().map(|c| c.cport).collect::<Vec<_>>(), vec![1, 2]);
    assert!(q.report(conn(4)));
    drop(rx);
    assert!(!q.report(conn(5)));
    assert_eq!(q.dropped(), 2);
}

#[test]
fn datagrams_go_when_full_or_after_the_flush_time() {
    let t0 = Instant::from_secs(100);
    // Room for three IPv4 entries.
    let mut b = Batcher::new(9, HEADER_LEN + 3 * CONN_V4_LEN, Duration::from_secs(2)).unwrap();
    assert_eq!(b.deadline(), None);
    for p in 1..=3 {
        assert_eq!(b.push(&conn(p), t0), None);
    }
    assert_eq!(b.deadline(), Some(t0 + Duration::from_secs(2)));
    let t1 = t0 + Duration::from_millis(500);
    let full = b.push(&conn(4), t1).unwrap();
    assert_eq!(ports(&full), vec![1, 2, 3]);
    assert_eq!(Message::parse(&full).unwrap().syncid(), 9);
    // Entry 4 waits from t1.
    assert_eq!(b.poll(t1 + Duration::from_millis(1999)), None);
    let late = b.poll(t1 + Duration::from_secs(2)).unwrap();
    assert_eq!(ports(&late), vec![4]);
    assert_eq!(b.poll(t1 + Duration::from_secs(10)), None);
    assert_eq!(b.flush(), None);
    b.push(&conn(5), t1);
    assert_eq!(ports(&b.flush().unwrap()), vec![5]);
    assert_eq!(b.stats(), BatchStats { messages: 3, conns: 5, unencodable: 0 });
}

#[test]
fn an_entry_that_fits_no_message_is_counted_not_sent() {
    let mut b = Batcher::new(1, HEADER_LEN + CONN_V4_LEN, Duration::from_secs(2)).unwrap();
    let mut big = conn(1);
    big.seq = Some(SeqData::default());
    assert_eq!(b.push(&big, Instant::from_secs(1)), None);
    assert_eq!(b.flush(), None);
    assert_eq!(b.stats().unencodable, 1);
}
