use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use proptest::prelude::*;

use super::*;

fn v4(c: [u8; 4], v: [u8; 4], d: [u8; 4]) -> SyncAddrs {
    SyncAddrs::V4 { caddr: Ipv4Addr::from(c), vaddr: Ipv4Addr::from(v), daddr: Ipv4Addr::from(d) }
}

fn tcp_nat() -> SyncConn {
    SyncConn {
        protocol: 6,
        flags: flags::MASQ,
        state: 1,
        cport: 51234,
        vport: 80,
        dport: 8080,
        fwmark: 0,
        timeout: 900,
        addrs: v4([10, 0, 0, 5], [192, 168, 0, 38], [192, 168, 1, 18]),
        seq: None,
        pe: None,
        local: None,
    }
}

fn decode_all(buf: &[u8]) -> Result<Vec<Result<SyncConn, SyncError>>, SyncError> {
    Ok(Message::parse(buf)?.entries().collect())
}

#[test]
fn an_ipv4_entry_has_the_kernels_layout() {
    let mut b = MessageBuilder::new(7, 1472).unwrap();
    b.push(&tcp_nat()).unwrap();
    #[rustfmt::skip]
    let want: Vec<u8> = vec![
        0, 7, 0, 44, 1, 1, 0, 0,            // header: reserved, syncid, size, count, version, spare
        0, 6, 0, 36,                        // type v4, TCP, version 0 / size 36
        0, 0, 0, 0,                         // flags: MASQ
        0, 1, 0xc8, 0x22, 0, 80, 0x1f, 0x90, // state ESTABLISHED, cport, vport, dport
        0, 0, 0, 0, 0, 0, 0x03, 0x84,       // fwmark, timeout 900
        10, 0, 0, 5, 192, 168, 0, 38, 192, 168, 1, 18,
    ];
    assert_eq!(b.bytes(), &want[..]);
}

#[test]
fn entries_after_an_unaligned_one_start_on_four_bytes() {
    let mut fnat = tcp_nat();
    fnat.local = Some(SocketAddr::from(([192, 168, 1, 254], 5001)));
    let mut b = MessageBuilder::new(1, 1472).unwrap();
    b.push(&fnat).unwrap();
    b.push(&tcp_nat()).unwrap();
    let bytes = b.bytes();
    // 36 + 8 (the FULLNAT option) = 44: already aligned. Add a 5-byte engine name to unalign.
    assert_eq!(bytes.len(), 8 + 44 + 36);
    let mut pe = tcp_nat();
    pe.pe = Some(PeData { name: b"sip".to_vec(), data: b"call-1".to_vec() });
    let mut b = MessageBuilder::new(1, 1472).unwrap();
    b.push(&pe).unwrap();
    b.push(&fnat).unwrap();
    let len = pe.encoded_len();
    assert_eq!(len, 36 + 2 + 6 + 2 + 3);
    let second = 8 + len.next_multiple_of(4);
    assert_eq!(b.bytes().len(), second + 44);
    assert_eq!(b.bytes()[second + 3], 44);
    let got: Vec<_> = decode_all(b.bytes()).unwrap();
    assert_eq!(got, vec![Ok(pe), Ok(fnat)]);
}

#[test]
fn the_fullnat_option_is_optional_to_a_kernel_receiver() {
    // Bit 6 set and, with it masked off, a type the kernel does not know (1, 2, 3).
    assert_ne!(OPT_FULLNAT_LOCAL & OPT_F_OPTIONAL, 0);
    assert!(
        ![OPT_SEQ_DATA, OPT_PE_DATA, OPT_PE_NAME].contains(&(OPT_FULLNAT_LOCAL & !OPT_F_OPTIONAL))
    );
    let mut c = tcp_nat();
    c.local = Some(SocketAddr::from((Ipv6Addr::LOCALHOST, 5001)));
    assert_eq!(c.validate(), Err(EncodeError::LocalFamily));
}

#[test]
fn a_full_message_says_so_and_the_next_one_starts_empty() {
    let mut b = MessageBuilder::new(1, HEADER_LEN + 2 * CONN_V4_LEN).unwrap();
    b.push(&tcp_nat()).unwrap();
    b.push(&tcp_nat()).unwrap();
    assert_eq!(b.push(&tcp_nat()), Err(EncodeError::Full));
    let first = b.take();
    assert_eq!(Message::parse(&first).unwrap().conn_count(), 2);
    assert!(b.is_empty());
    b.push(&tcp_nat()).unwrap();
    assert_eq!(decode_all(b.bytes()).unwrap().len(), 1);
}

#[test]
fn at_most_255_entries_go_in_one_message() {
    let mut b = MessageBuilder::new(1, 65535).unwrap();
    for _ in 0..255 {
        b.push(&tcp_nat()).unwrap();
    }
    assert_eq!(b.push(&tcp_nat()), Err(EncodeError::Full));
    assert_eq!(decode_all(b.bytes()).unwrap().len(), 255);
}

#[test]
fn bad_limits_and_oversized_entries_are_refused() {
    assert_eq!(MessageBuilder::new(1, 43).unwrap_err(), EncodeError::MaxLen(43));
    assert_eq!(MessageBuilder::new(1, 65536).unwrap_err(), EncodeError::MaxLen(65536));
    let mut b = MessageBuilder::new(1, 60).unwrap();
    let mut c = tcp_nat();
    c.seq = Some(SeqData::default());
    assert!(matches!(b.push(&c), Err(EncodeError::TooLong { .. })));
    c.seq = None;
    c.pe = Some(PeData { name: vec![b'x'; 17], data: vec![1] });
    assert_eq!(b.push(&c), Err(EncodeError::PeLength));
}

#[test]
fn headers_that_are_not_version_1_are_rejected() {
    assert_eq!(Message::parse(&[0; 4]).unwrap_err(), SyncError::Truncated(4));
    let mut h = vec![0, 1, 0, 8, 0, 1, 0, 0];
    assert!(Message::parse(&h).is_ok());
    h[3] = 9;
    assert!(matches!(Message::parse(&h), Err(SyncError::SizeMismatch { header: 9, actual: 8 })));
    h[3] = 8;
    h[5] = 0;
    assert!(matches!(Message::parse(&h), Err(SyncError::NotVersion1 { version: 0, .. })));
}

#[test]
fn an_unknown_mandatory_option_drops_its_entry_only() {
    let mut b = MessageBuilder::new(1, 1472).unwrap();
    let mut fnat = tcp_nat();
    fnat.local = Some(SocketAddr::from(([192, 168, 1, 254], 5001)));
    b.push(&fnat).unwrap();
    b.push(&tcp_nat()).unwrap();
    let mut bytes = b.bytes().to_vec();
    // Clear the optional bit of the first entry's FULLNAT option: now type 8, mandatory.
    bytes[8 + 36] = 8;
    let got = decode_all(&bytes).unwrap();
    assert_eq!(
        got,
        vec![Err(SyncError::UnknownMandatoryOption { index: 0, kind: 8 }), Ok(tcp_nat())]
    );
    // An unknown optional type is skipped and counted.
    bytes[8 + 36] = OPT_F_OPTIONAL | 9;
    let msg = Message::parse(&bytes).unwrap();
    let mut it = msg.entries();
    assert_eq!(it.next(), Some(Ok(tcp_nat())));
    assert_eq!(it.ignored_options(), 1);
}

#[test]
fn a_fatal_error_ends_the_message() {
    let mut b = MessageBuilder::new(1, 1472).unwrap();
    b.push(&tcp_nat()).unwrap();
    b.push(&tcp_nat()).unwrap();
    let mut bytes = b.bytes().to_vec();
    bytes[8] = 2; // first entry's type: neither v4 nor v6
    assert_eq!(decode_all(&bytes).unwrap(), vec![Err(SyncError::EntryType { index: 0, kind: 2 })]);
    let mut bytes = b.bytes().to_vec();
    bytes[4] = 3; // a count past the entries there are
    let got = decode_all(&bytes).unwrap();
    assert_eq!(got.len(), 3);
    assert_eq!(got[2], Err(SyncError::EntryTruncated { index: 2 }));
}

fn addrs() -> impl Strategy<Value = SyncAddrs> {
    prop_oneof![
        any::<([u8; 4], [u8; 4], [u8; 4])>().prop_map(|(c, v, d)| v4(c, v, d)),
        any::<([u8; 16], [u8; 16], [u8; 16])>().prop_map(|(c, v, d)| SyncAddrs::V6 {
            caddr: c.into(),
            vaddr: v.into(),
            daddr: d.into(),
        }),
    ]
}

prop_compose! {
    fn seq_adjust()(init_seq in any::<u32>(), delta in any::<u32>(), previous_delta in any::<u32>()) -> SeqAdjust {
        SeqAdjust { init_seq, delta, previous_delta }
    }
}

prop_compose! {
    fn sync_conn()(
        protocol in any::<u8>(), flags in any::<u32>(), state in any::<u16>(),
        ports in any::<(u16, u16, u16)>(), fwmark in any::<u32>(), timeout in any::<u32>(),
        addrs in addrs(),
        seq in proptest::option::of((seq_adjust(), seq_adjust())),
        pe in proptest::option::of((proptest::collection::vec(any::<u8>(), 1..=16),
                                    proptest::collection::vec(any::<u8>(), 1..=255))),
        local in proptest::option::of((any::<[u8; 16]>(), any::<u16>())),
    ) -> SyncConn {
        let v6 = matches!(addrs, SyncAddrs::V6 { .. });
        let local = local.map(|(a, port)| if v6 {
            SocketAddr::from((Ipv6Addr::from(a), port))
        } else {
            SocketAddr::from(([a[0], a[1], a[2], a[3]], port))
        });
        SyncConn {
            protocol, flags, state,
            cport: ports.0, vport: ports.1, dport: ports.2, fwmark, timeout, addrs,
            seq: seq.map(|(in_seq, out_seq)| SeqData { in_seq, out_seq }),
            pe: pe.map(|(name, data)| PeData { name, data }),
            local,
        }
    }
}

proptest! {
    #[test]
    fn entries_round_trip_through_messages(
        syncid in any::<u8>(),
        maxlen in 400usize..2000,
        conns in proptest::collection::vec(sync_conn(), 0..40),
    ) {
        let mut b = MessageBuilder::new(syncid, maxlen).unwrap();
        let mut messages = Vec::new();
        for c in &conns {
            match b.push(c) {
                Ok(()) => {}
                Err(EncodeError::Full) => {
                    messages.push(b.take());
                    b.push(c).unwrap();
                }
                Err(EncodeError::TooLong { .. }) => prop_assert!(c.encoded_len() + HEADER_LEN > maxlen),
                Err(e) => prop_assert!(false, "{e}"),
            }
        }
        if !b.is_empty() {
            messages.push(b.take());
        }
        let mut got = Vec::new();
        for m in &messages {
            prop_assert!(m.len() <= maxlen);
            let msg = Message::parse(m).unwrap();
            prop_assert_eq!(msg.syncid(), syncid);
            for e in msg.entries() {
                got.push(e.unwrap());
            }
        }
        let want: Vec<_> = conns.into_iter().filter(|c| c.encoded_len() + HEADER_LEN <= maxlen).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(m) = Message::parse(&bytes) {
            let mut it = m.entries();
            for _ in it.by_ref() {}
            let _ = it.ignored_options();
        }
    }

    #[test]
    fn corrupted_messages_never_panic(
        conns in proptest::collection::vec(sync_conn(), 1..6),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut b = MessageBuilder::new(1, 65535).unwrap();
        for c in &conns {
            b.push(c).unwrap();
        }
        let mut bytes = b.take();
        for (i, v) in flips {
            // The header stays valid so that the entries are read.
            let at = HEADER_LEN + i.index(bytes.len() - HEADER_LEN);
            bytes[at] = v;
        }
        let msg = Message::parse(&bytes).unwrap();
        let n = msg.entries().count();
        prop_assert!(n <= usize::from(msg.conn_count()));
    }
}

#[test]
fn a_message_written_by_hand_from_the_kernel_layout_decodes() {
    // fuzz/corpus/ipvs_sync/mixed was written byte by byte (not by this encoder): FULLNAT, a
    // connection with sequence data, one with persistence data, plain NAT, syncid 7.
    let bytes = include_bytes!("../../../../../fuzz/corpus/ipvs_sync/mixed");
    let msg = Message::parse(bytes).unwrap();
    assert_eq!((msg.syncid(), msg.conn_count()), (7, 4));
    let got: Vec<SyncConn> = msg.entries().map(Result::unwrap).collect();
    assert_eq!(got[0].local, Some(SocketAddr::from(([192, 168, 1, 254], 5001))));
    assert_eq!(got[0].fwd(), SyncFwd::Masq);
    let seq = got[1].seq.unwrap();
    assert_eq!(seq.in_seq.init_seq, 0x0001_0203);
    assert_eq!(seq.out_seq.previous_delta, 0x1415_1617);
    assert_eq!(got[1].flags, flags::SEQ_MASK);
    let pe = got[2].pe.as_ref().unwrap();
    assert_eq!((&pe.name[..], &pe.data[..]), (&b"sip"[..], &b"call-1"[..]));
    assert_eq!(got[3], tcp_nat());
    // And this encoder writes the same bytes for the same entries.
    let mut b = MessageBuilder::new(7, 1472).unwrap();
    for c in &got {
        b.push(c).unwrap();
    }
    assert_eq!(b.bytes(), &bytes[..]);
}
