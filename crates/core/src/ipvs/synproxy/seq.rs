//! Sequence-space translation of a proxied connection's segments, in place, with the TCP
//! checksum updated incrementally.
//!
//! Owns [`Deltas`] and [`translate_in`] / [`translate_out`]. The client was given the cookie as
//! the director's initial sequence number and the director's timestamp clock; the real server
//! chose its own. So, for the life of the connection:
//! - server to client: `seq += seq_delta`, `TSval += ts_delta`, and the window is rescaled when
//!   the server's window scale differs from the one the director advertised;
//! - client to server: `ack -= seq_delta`, every SACK block edge `-= seq_delta`,
//!   `TSecr -= ts_delta`.
//!
//! The client's own sequence numbers, SACK blocks about them and timestamps pass unchanged (the
//! server was given the client's ISN and options). All arithmetic is modulo 2^32.
//!
//! The option walker here is our own because the rewrite needs each option's offset (the
//! `wire` walker yields values); it stops at the first malformed length, leaving the rest.

use crate::wire::checksum;
use crate::wire::TcpFlags;

const SEQ: usize = 4;
const ACK: usize = 8;
const FLAGS: usize = 13;
const WINDOW: usize = 14;
const CSUM: usize = 16;
const OPTS: usize = 20;
const KIND_END: u8 = 0;
const KIND_NOP: u8 = 1;
const KIND_SACK: u8 = 5;
const KIND_TS: u8 = 8;

/// What one proxied connection adds to the server's numbers on their way to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Deltas {
    /// Cookie ISN minus the server's ISN.
    pub seq: u32,
    /// The director's SYN-ACK TSval minus the server's (0 without timestamps).
    pub ts: u32,
    /// The server's window scale (0 when it or the client sent none).
    pub server_wscale: u8,
    /// The window scale the director advertised to the client.
    pub client_wscale: u8,
}

impl Deltas {
    /// No translation.
    pub const ZERO: Deltas = Deltas { seq: 0, ts: 0, server_wscale: 0, client_wscale: 0 };
}

fn byte(seg: &[u8], i: usize) -> u16 {
    u16::from(seg.get(i).copied().unwrap_or(0))
}

/// Writes `new` big-endian at `off` (any alignment) and updates the checksum for it. The
/// checksum works on 16-bit words from the segment start, so an odd offset touches three words;
/// a byte past the end counts as the zero padding the checksum assumes.
fn put_u32(seg: &mut [u8], off: usize, new: u32) {
    let Some(dst) = seg.get_mut(off..off + 4) else { return };
    let old = [dst[0], dst[1], dst[2], dst[3]];
    dst.copy_from_slice(&new.to_be_bytes());
    let csum = u16::from_be_bytes([seg[CSUM], seg[CSUM + 1]]);
    let c = if off % 2 == 0 {
        checksum::update_u32(csum, u32::from_be_bytes(old), new)
    } else {
        let start = off - 1;
        let mut c = csum;
        for w in 0..3 {
            let at = start + 2 * w;
            let now = (byte(seg, at) << 8) | byte(seg, at + 1);
            // The word as it was: the rewritten bytes from `old`, the others unchanged.
            let b = |i: usize| {
                if (off..off + 4).contains(&i) {
                    u16::from(old[i - off])
                } else {
                    byte(seg, i)
                }
            };
            let before = (b(at) << 8) | b(at + 1);
            c = checksum::update_u16(c, before, now);
        }
        c
    };
    seg[CSUM..CSUM + 2].copy_from_slice(&c.to_be_bytes());
}

fn get_u32(seg: &[u8], off: usize) -> u32 {
    seg.get(off..off + 4).map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// Offsets (in the segment) of the SACK block area and its length, and of the timestamp data.
#[derive(Default)]
struct Found {
    sack: Option<(usize, usize)>,
    ts: Option<usize>,
}

fn walk(seg: &[u8]) -> Found {
    let hl = usize::from(seg.get(12).copied().unwrap_or(0) >> 4) * 4;
    let end = hl.min(seg.len());
    let mut found = Found::default();
    let mut at = OPTS;
    while at < end {
        match seg[at] {
            KIND_END => break,
            KIND_NOP => at += 1,
            kind => {
                let Some(&len) = seg.get(at + 1) else { break };
                let len = usize::from(len);
                if len < 2 || at + len > end {
                    break;
                }
                match kind {
                    KIND_SACK if (len - 2) % 8 == 0 => found.sack = Some((at + 2, len - 2)),
                    KIND_TS if len == 10 => found.ts = Some(at + 2),
                    _ => {}
                }
                at += len;
            }
        }
    }
    found
}

/// Client to server: acknowledgment, SACK blocks and TSecr back into the server's spaces.
/// `seg` is a checked TCP segment (header and payload) with a valid checksum.
pub fn translate_in(seg: &mut [u8], d: &Deltas) {
    if seg.len() < OPTS {
        return;
    }
    let flags = TcpFlags(seg[FLAGS]);
    if flags.contains(TcpFlags::ACK) {
        put_u32(seg, ACK, get_u32(seg, ACK).wrapping_sub(d.seq));
    }
    let found = walk(seg);
    if let Some((at, len)) = found.sack {
        for edge in (at..at + len).step_by(4) {
            put_u32(seg, edge, get_u32(seg, edge).wrapping_sub(d.seq));
        }
    }
    if let Some(at) = found.ts {
        let ecr = get_u32(seg, at + 4);
        if ecr != 0 {
            put_u32(seg, at + 4, ecr.wrapping_sub(d.ts));
        }
    }
}

/// Server to client: sequence number and TSval into the client's view, window rescaled.
pub fn translate_out(seg: &mut [u8], d: &Deltas) {
    if seg.len() < OPTS {
        return;
    }
    put_u32(seg, SEQ, get_u32(seg, SEQ).wrapping_add(d.seq));
    if let Some(at) = walk(seg).ts {
        put_u32(seg, at, get_u32(seg, at).wrapping_add(d.ts));
    }
    if d.server_wscale != d.client_wscale && !TcpFlags(seg[FLAGS]).contains(TcpFlags::SYN) {
        let w = u32::from(u16::from_be_bytes([seg[WINDOW], seg[WINDOW + 1]]));
        let bytes = u64::from(w) << d.server_wscale.min(14);
        let new = (bytes >> d.client_wscale.min(14)).min(0xffff) as u16;
        let csum = u16::from_be_bytes([seg[CSUM], seg[CSUM + 1]]);
        let c = checksum::update_u16(csum, w as u16, new);
        seg[WINDOW..WINDOW + 2].copy_from_slice(&new.to_be_bytes());
        seg[CSUM..CSUM + 2].copy_from_slice(&c.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::TcpPacket;
    use proptest::prelude::*;
    use std::net::Ipv4Addr;

    const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 5);
    const B: Ipv4Addr = Ipv4Addr::new(192, 168, 0, 18);

    /// A segment with `opts` (padded with NOPs to a multiple of 4 in front) and `payload`, its
    /// checksum filled.
    fn segment(seq: u32, ack: u32, flags: u8, win: u16, opts: &[u8], payload: &[u8]) -> Vec<u8> {
        let pad = (4 - opts.len() % 4) % 4;
        let hl = 20 + pad + opts.len();
        let mut s = vec![0u8; hl + payload.len()];
        s[0..2].copy_from_slice(&51234u16.to_be_bytes());
        s[2..4].copy_from_slice(&80u16.to_be_bytes());
        s[4..8].copy_from_slice(&seq.to_be_bytes());
        s[8..12].copy_from_slice(&ack.to_be_bytes());
        s[12] = ((hl / 4) as u8) << 4;
        s[13] = flags;
        s[14..16].copy_from_slice(&win.to_be_bytes());
        s[20..20 + pad].fill(KIND_NOP);
        s[20 + pad..hl].copy_from_slice(opts);
        s[hl..].copy_from_slice(payload);
        TcpPacket::new_unchecked(&mut s[..]).fill_checksum_v4(A, B);
        s
    }

    fn sack(blocks: &[(u32, u32)]) -> Vec<u8> {
        let mut o = vec![KIND_SACK, (2 + 8 * blocks.len()) as u8];
        for (l, r) in blocks {
            o.extend_from_slice(&l.to_be_bytes());
            o.extend_from_slice(&r.to_be_bytes());
        }
        o
    }

    fn ts(val: u32, ecr: u32) -> Vec<u8> {
        let mut o = vec![KIND_TS, 10];
        o.extend_from_slice(&val.to_be_bytes());
        o.extend_from_slice(&ecr.to_be_bytes());
        o
    }

    fn valid(s: &[u8]) -> bool {
        TcpPacket::new_checked(s).unwrap().verify_checksum_v4(A, B)
    }

    #[test]
    fn client_ack_sack_and_tsecr_move_to_the_server_space() {
        let d = Deltas { seq: 1000, ts: 50, server_wscale: 7, client_wscale: 7 };
        let mut o = ts(9, 5050);
        o.extend(sack(&[(3000, 4000), (5000, 6000)]));
        let mut s = segment(77, 2000, 0x10, 512, &o, b"hello");
        translate_in(&mut s, &d);
        assert!(valid(&s));
        let p = TcpPacket::new_checked(&s[..]).unwrap();
        assert_eq!((p.seq_number(), p.ack_number(), p.window_len()), (77, 1000, 512));
        let got: Vec<_> = p.options_iter().map(|o| o.unwrap()).collect();
        let sack_bytes = sack(&[(2000, 3000), (4000, 5000)]);
        assert!(got.contains(&crate::wire::TcpOption::Timestamps { tsval: 9, tsecr: 5000 }));
        assert!(got.contains(&crate::wire::TcpOption::Sack(&sack_bytes[2..])));
    }

    #[test]
    fn server_seq_and_tsval_move_to_the_client_space_and_window_is_rescaled() {
        let d = Deltas { seq: 1000, ts: 50, server_wscale: 9, client_wscale: 7 };
        let mut s = segment(u32::MAX - 10, 77, 0x18, 100, &ts(1, 9), b"data");
        translate_out(&mut s, &d);
        assert!(valid(&s));
        let p = TcpPacket::new_checked(&s[..]).unwrap();
        assert_eq!(p.seq_number(), 989, "wraps around");
        assert_eq!(p.ack_number(), 77);
        assert_eq!(p.window_len(), 400);
        let got: Vec<_> = p.options_iter().map(|o| o.unwrap()).collect();
        assert!(got.contains(&crate::wire::TcpOption::Timestamps { tsval: 51, tsecr: 9 }));
        // A window that would pass 16 bits is capped.
        let mut s = segment(1, 1, 0x10, 0xffff, &[], &[]);
        translate_out(&mut s, &d);
        assert_eq!(TcpPacket::new_checked(&s[..]).unwrap().window_len(), 0xffff);
        assert!(valid(&s));
    }

    #[test]
    fn odd_offsets_and_malformed_options_keep_the_checksum() {
        let d = Deltas { seq: 0x0102_0304, ts: 0x0a0b_0c0d, ..Deltas::default() };
        // One NOP in front puts the SACK edges at odd offsets.
        let mut o = vec![KIND_NOP];
        o.extend(sack(&[(10, 20)]));
        o.extend(ts(1, 2));
        let mut s = segment(5, 6, 0x10, 1, &o, &[]);
        translate_in(&mut s, &d);
        assert!(valid(&s));
        // A length running past the header: nothing after it is touched, the checksum holds.
        let mut s = segment(5, 6, 0x10, 1, &[KIND_TS, 30, 0, 0], &[1, 2, 3]);
        translate_in(&mut s, &d);
        translate_out(&mut s, &d);
        assert!(valid(&s));
    }

    fn opts() -> impl Strategy<Value = Vec<u8>> {
        (
            proptest::option::of((any::<u32>(), any::<u32>())),
            proptest::collection::vec((any::<u32>(), any::<u32>()), 0..4),
            0usize..3,
        )
            .prop_map(|(t, blocks, nops)| {
                let mut o = vec![KIND_NOP; nops];
                if let Some((v, e)) = t {
                    o.extend(ts(v, e));
                }
                if !blocks.is_empty() {
                    o.extend(sack(&blocks));
                }
                o.truncate(40);
                o
            })
    }

    proptest! {
        #[test]
        fn translation_keeps_checksums_and_inverts(
            seq: u32, ack: u32, flags in 0u8..64, win: u16, o in opts(),
            payload in proptest::collection::vec(any::<u8>(), 0..9),
            dseq: u32, dts: u32,
        ) {
            let d = Deltas { seq: dseq, ts: dts, server_wscale: 0, client_wscale: 0 };
            let back = Deltas { seq: dseq.wrapping_neg(), ts: dts.wrapping_neg(), ..d };
            let orig = segment(seq, ack, flags | 0x10, win, &o, &payload);
            let mut s = orig.clone();
            translate_in(&mut s, &d);
            prop_assert!(valid(&s));
            translate_in(&mut s, &back);
            // TSecr 0 (not an echo) is left alone both ways; everything else comes back.
            prop_assert_eq!(&s, &orig);
            translate_out(&mut s, &d);
            prop_assert!(valid(&s));
            prop_assert_eq!(
                TcpPacket::new_checked(&s[..]).unwrap().seq_number(), seq.wrapping_add(dseq)
            );
            translate_out(&mut s, &back);
            prop_assert_eq!(&s, &orig);
        }

        #[test]
        fn any_bytes_never_panic(mut s in proptest::collection::vec(any::<u8>(), 0..80), d: u32) {
            let d = Deltas { seq: d, ts: d, server_wscale: (d % 16) as u8, client_wscale: 3 };
            translate_in(&mut s, &d);
            translate_out(&mut s, &d);
        }
    }
}
