//! The encoder against an independent reader: messages written into a capture (UDP from a
//! director to 224.0.0.81:8848) and decoded by tshark's `ipvs` dissector (Debian's tshark,
//! installed by ci/deps), field by field.
//!
//! The dissector (Wireshark 4.0, and upstream as of this writing) reads each entry's fixed part
//! and steps to the next entry by the fixed length, ignoring the entry's size: options and
//! padding are not skipped, so an entry after one with options is misread. The kernel reads
//! the size. The messages of the field-by-field comparison therefore carry entries without
//! options; the FULLNAT extension is checked as the last entry of its message (the dissector
//! shows its fixed part and its size with the option counted).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use pcap_file::pcap::{PcapPacket, PcapWriter};

use super::*;
use crate::testkit::frames;

fn conn(i: u16, proto: u8, fwd: u32, addrs: SyncAddrs) -> SyncConn {
    SyncConn {
        protocol: proto,
        flags: fwd | if i % 3 == 0 { flags::INACTIVE } else { 0 },
        state: if proto == 6 { 1 + i % 8 } else { 0 },
        cport: 40000 + i,
        vport: 80,
        dport: 8000 + i,
        fwmark: if i % 5 == 0 { 0x1234 } else { 0 },
        timeout: 60 * u32::from(i) + 7,
        addrs,
        seq: None,
        pe: None,
        local: None,
    }
}

fn v4(i: u16) -> SyncAddrs {
    let [hi, lo] = i.to_be_bytes();
    SyncAddrs::V4 {
        caddr: Ipv4Addr::new(10, 1, hi, lo),
        vaddr: Ipv4Addr::new(192, 168, 0, 38),
        daddr: Ipv4Addr::new(192, 168, 1, 10 + (i % 4) as u8),
    }
}

fn v6(i: u16) -> SyncAddrs {
    SyncAddrs::V6 {
        caddr: Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, i),
        vaddr: Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x38),
        daddr: Ipv6Addr::new(0x2001, 0xdb8, 2, 0, 0, 0, 0, 10 + i % 4),
    }
}

/// One entry as the dissector shows it, and as it should.
#[derive(Debug, PartialEq, Eq)]
struct Shown {
    syncid: u8,
    count: u8,
    size: u16,
    kind: u8,
    proto: u8,
    entry_size: u16,
    flags: u32,
    state: u16,
    ports: (u16, u16, u16),
    fwmark: u32,
    timeout: u32,
    addrs: (IpAddr, IpAddr, IpAddr),
}

fn expected(msg: &[u8]) -> Vec<Shown> {
    let m = Message::parse(msg).unwrap();
    m.entries()
        .map(|e| {
            let c = e.unwrap();
            Shown {
                syncid: m.syncid(),
                count: m.conn_count(),
                size: m.len() as u16,
                kind: matches!(c.addrs, SyncAddrs::V6 { .. }) as u8,
                proto: c.protocol,
                entry_size: c.encoded_len() as u16,
                flags: c.flags,
                state: c.state,
                ports: (c.cport, c.vport, c.dport),
                fwmark: c.fwmark,
                timeout: c.timeout,
                addrs: (c.addrs.caddr(), c.addrs.vaddr(), c.addrs.daddr()),
            }
        })
        .collect()
}

const FIELDS: [&str; 18] = [
    "ipvs.syncid",
    "ipvs.conncount",
    "ipvs.size",
    "ipvs.type",
    "ipvs.proto",
    "ipvs.size.v1",
    "ipvs.flags.v1",
    "ipvs.state",
    "ipvs.cport",
    "ipvs.vport",
    "ipvs.dport",
    "ipvs.fwmark",
    "ipvs.timeout",
    "ipvs.caddr",
    "ipvs.vaddr",
    "ipvs.daddr",
    "ipvs.caddr6",
    "ipvs.vaddr6",
];

fn num<T: TryFrom<u64>>(s: &str) -> T {
    let v = match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16),
        None => s.parse(),
    }
    .unwrap_or_else(|e| panic!("tshark printed {s:?}: {e}"));
    T::try_from(v).unwrap_or_else(|_| panic!("{s} out of range"))
}

/// Runs tshark on `pcap` and reads every entry of every packet.
fn dissect(pcap: &PathBuf) -> Vec<Vec<Shown>> {
    let mut cmd = Command::new("tshark");
    cmd.args(["-r"]).arg(pcap);
    cmd.args([
        "-d",
        "udp.port==8848,ipvs",
        "-T",
        "fields",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=|",
    ]);
    for f in FIELDS.iter().chain(["ipvs.daddr6"].iter()) {
        cmd.args(["-e", f]);
    }
    let out =
        cmd.output().unwrap_or_else(|e| panic!("tshark: {e}: install Debian's tshark (ci/deps)"));
    assert!(out.status.success(), "tshark failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines()
        .map(|line| {
            let cols: Vec<Vec<&str>> = line
                .split('\t')
                .map(|c| if c.is_empty() { vec![] } else { c.split('|').collect() })
                .collect();
            assert_eq!(cols.len(), 19, "{line}");
            let n = cols[3].len();
            let (mut v4i, mut v6i) = (0, 0);
            (0..n)
                .map(|i| {
                    let kind: u8 = num(cols[3][i]);
                    let addrs = if kind == 0 {
                        let a = |c: usize| cols[c][v4i].parse::<IpAddr>().unwrap();
                        let r = (a(13), a(14), a(15));
                        v4i += 1;
                        r
                    } else {
                        let a = |c: usize| cols[c][v6i].parse::<IpAddr>().unwrap();
                        let r = (a(16), a(17), a(18));
                        v6i += 1;
                        r
                    };
                    Shown {
                        syncid: num(cols[0][0]),
                        count: num(cols[1][0]),
                        size: num(cols[2][0]),
                        // The dissector names type 1 nothing but reads its addresses as IPv6.
                        kind: (kind != 0) as u8,
                        proto: num(cols[4][i]),
                        entry_size: num(cols[5][i]),
                        flags: num(cols[6][i]),
                        state: num(cols[7][i]),
                        ports: (num(cols[8][i]), num(cols[9][i]), num(cols[10][i])),
                        fwmark: num(cols[11][i]),
                        timeout: num(cols[12][i]),
                        addrs,
                    }
                })
                .collect()
        })
        .collect()
}

fn write_pcap(name: &str, messages: &[Vec<u8>]) -> PathBuf {
    let path = std::env::temp_dir().join(format!("rvs-sync-{}-{name}.pcap", std::process::id()));
    let f = std::fs::File::create(&path).unwrap();
    let mut w = PcapWriter::new(f).unwrap();
    let (src, group) = (Ipv4Addr::new(192, 168, 100, 1), DEFAULT_GROUP);
    for (n, m) in messages.iter().enumerate() {
        let ip = frames::udp(src, DEFAULT_PORT, group, DEFAULT_PORT, m);
        let frame = frames::eth([1, 0, 0x5e, 0, 0, 0x51], [2, 0, 0, 0, 0, 1], 0x0800, &ip);
        let ts = Duration::from_millis(n as u64);
        w.write_packet(&PcapPacket::new(ts, frame.len() as u32, &frame)).unwrap();
    }
    path
}

#[test]
fn tshark_decodes_every_field_the_encoder_wrote() {
    // 40 connections of every forwarding method the kernel names, TCP and UDP, IPv4 and IPv6,
    // batched into messages of at most 300 bytes (several messages, several entries each).
    let fwds = [flags::MASQ, flags::DROUTE, flags::TUNNEL, flags::LOCALNODE];
    let conns: Vec<SyncConn> = (0..40u16)
        .map(|i| {
            let proto = if i % 2 == 0 { 6 } else { 17 };
            let addrs = if i % 7 == 6 { v6(i) } else { v4(i) };
            conn(i, proto, fwds[usize::from(i) % 4], addrs)
        })
        .collect();
    let mut b = MessageBuilder::new(42, 300).unwrap();
    let mut messages = Vec::new();
    for c in &conns {
        if b.push(c) == Err(EncodeError::Full) {
            messages.push(b.take());
            b.push(c).unwrap();
        }
    }
    messages.push(b.take());
    assert!(messages.len() > 3);
    let pcap = write_pcap("fields", &messages);
    let shown = dissect(&pcap);
    let _ = std::fs::remove_file(&pcap);
    let want: Vec<Vec<Shown>> = messages.iter().map(|m| expected(m)).collect();
    assert_eq!(shown, want);
    assert_eq!(shown.iter().map(Vec::len).sum::<usize>(), conns.len());
}

#[test]
fn tshark_reads_a_fullnat_entry_as_a_nat_entry_with_its_size() {
    let mut fnat = conn(1, 6, flags::MASQ, v4(1));
    fnat.local = Some(SocketAddr::from(([192, 168, 1, 254], 5001)));
    let mut b = MessageBuilder::new(3, 1472).unwrap();
    b.push(&conn(2, 6, flags::MASQ, v4(2))).unwrap();
    b.push(&fnat).unwrap();
    let msg = b.take();
    let pcap = write_pcap("fullnat", std::slice::from_ref(&msg));
    let shown = dissect(&pcap);
    let _ = std::fs::remove_file(&pcap);
    let want = expected(&msg);
    assert_eq!(want[1].entry_size, (CONN_V4_LEN + 8) as u16);
    assert_eq!(shown, vec![want]);
}
