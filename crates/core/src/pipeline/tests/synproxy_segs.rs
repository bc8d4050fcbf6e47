//! TCP segments and options of the SYN-proxy pipeline tests, shared by the NAT/FULLNAT
//! (`synproxy.rs`) and SNAT (`snat_synproxy.rs`) tests: a segment built byte by byte with its
//! checksum, Linux-like SYN and SYN-ACK options, reading options back, and the client's segment
//! answering a cookie SYN-ACK.

use super::common::*;
use crate::testkit::checksum::l4_checksum_v4;

/// A TCP segment with option bytes `opts` (a multiple of 4) and window `win`.
#[allow(clippy::too_many_arguments)]
pub(super) fn seg(
    src: (Ipv4Addr, u16),
    dst: (Ipv4Addr, u16),
    flags: u8,
    seq: u32,
    ack: u32,
    win: u16,
    opts: &[u8],
    payload: &[u8],
) -> Vec<u8> {
    assert_eq!(opts.len() % 4, 0);
    let mut t = Vec::new();
    t.extend_from_slice(&src.1.to_be_bytes());
    t.extend_from_slice(&dst.1.to_be_bytes());
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&ack.to_be_bytes());
    t.push((((20 + opts.len()) / 4) as u8) << 4);
    t.push(flags);
    t.extend_from_slice(&win.to_be_bytes());
    t.extend_from_slice(&[0, 0, 0, 0]);
    t.extend_from_slice(opts);
    t.extend_from_slice(payload);
    let c = l4_checksum_v4(src.0, dst.0, TCP, &t);
    t[16..18].copy_from_slice(&c.to_be_bytes());
    ipv4(src.0, dst.0, TCP, &t)
}

pub(super) fn ts(val: u32, ecr: u32) -> Vec<u8> {
    let mut o = vec![1, 1, 8, 10];
    o.extend_from_slice(&val.to_be_bytes());
    o.extend_from_slice(&ecr.to_be_bytes());
    o
}

/// A Linux-like SYN's options: MSS, SACK-permitted, timestamps, window scale.
pub(super) fn syn_opts(mss: u16, tsval: u32, ws: u8) -> Vec<u8> {
    synack_opts(mss, tsval, 0, ws)
}

/// A Linux-like SYN-ACK's options: MSS, SACK-permitted, timestamps echoing `tsecr`, window scale.
pub(super) fn synack_opts(mss: u16, tsval: u32, tsecr: u32, ws: u8) -> Vec<u8> {
    let mut o = vec![2, 4];
    o.extend_from_slice(&mss.to_be_bytes());
    o.extend_from_slice(&[4, 2, 8, 10]);
    o.extend_from_slice(&tsval.to_be_bytes());
    o.extend_from_slice(&tsecr.to_be_bytes());
    o.extend_from_slice(&[1, 3, 3, ws]);
    o
}

/// The options of a segment as (kind, data) pairs.
pub(super) fn options(opts: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < opts.len() {
        match opts[i] {
            0 => break,
            1 => i += 1,
            k => {
                let l = usize::from(opts[i + 1]);
                out.push((k, opts[i + 2..i + l].to_vec()));
                i += l;
            }
        }
    }
    out
}

pub(super) fn opt(s: &Seen, kind: u8) -> Option<Vec<u8>> {
    options(&s.opts).into_iter().find(|(k, _)| *k == kind).map(|(_, d)| d)
}

pub(super) fn ts_of(s: &Seen) -> (u32, u32) {
    let d = opt(s, 8).expect("timestamps");
    (u32::from_be_bytes([d[0], d[1], d[2], d[3]]), u32::from_be_bytes([d[4], d[5], d[6], d[7]]))
}

/// What a cookie SYN-ACK gave its client: the cookie (its sequence number) and its TSval.
#[derive(Debug, Clone, Copy)]
pub(super) struct Cookie {
    /// The SYN-ACK's sequence number.
    pub seq: u32,
    /// The SYN-ACK's TSval.
    pub ts: u32,
}

impl Cookie {
    /// The cookie of SYN-ACK `sa`.
    pub fn of(sa: &Seen) -> Cookie {
        Cookie { seq: sa.seq, ts: ts_of(sa).0 }
    }
}

/// The client's segment answering `cookie`'s SYN-ACK, from `from` (whose SYN had ISN `isn`) to
/// `to`: `flags`, sequence `isn + 1`, acknowledging the cookie, window 502, timestamps `tsval`
/// echoing the cookie's, and `data`.
pub(super) fn cookie_ack(
    from: (Ipv4Addr, u16),
    to: (Ipv4Addr, u16),
    isn: u32,
    cookie: Cookie,
    tsval: u32,
    flags: u8,
    data: &[u8],
) -> Vec<u8> {
    let ack = cookie.seq.wrapping_add(1);
    seg(from, to, flags, isn.wrapping_add(1), ack, 502, &ts(tsval, cookie.ts), data)
}
