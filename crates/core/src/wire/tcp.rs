//! TCP headers (RFC 9293) and their options.
//!
//! Layout:
//! ```text
//!  0               1               2               3
//!  0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7
//! +-------------------------------+-------------------------------+
//! |          Source Port          |       Destination Port        |  0
//! +-------------------------------+-------------------------------+
//! |                        Sequence Number                        |  4
//! +---------------------------------------------------------------+
//! |                    Acknowledgment Number                      |  8
//! +-------+-------+-+-+-+-+-+-+-+-+-------------------------------+
//! | DOff  | Rsrvd |C|E|U|A|P|R|S|F|            Window             | 12
//! +-------+-------+-+-+-+-+-+-+-+-+-------------------------------+
//! |           Checksum            |        Urgent Pointer         | 16
//! +-------------------------------+-------------------------------+
//! |                 Options (DOff > 5), up to 40 bytes            | 20
//! +---------------------------------------------------------------+
//! ```
//! Data offset counts 32-bit words (5..=15). Options are kind 0 (end of list), kind 1 (no-op,
//! one byte) or kind, length (counting kind and length bytes), data. The checksum covers a
//! pseudo-header (see [`super::checksum`]), the header and the payload, so the view's buffer
//! must be exactly the segment (the IP payload).

use std::net::{Ipv4Addr, Ipv6Addr};

use super::checksum;
use super::{get_u16, get_u32, set_u16, set_u32, Error, Field, Result};

mod field {
    use super::Field;
    pub const SRC_PORT: Field = 0..2;
    pub const DST_PORT: Field = 2..4;
    pub const SEQ: Field = 4..8;
    pub const ACK: Field = 8..12;
    pub const DOFF: usize = 12;
    pub const FLAGS: usize = 13;
    pub const WINDOW: Field = 14..16;
    pub const CHECKSUM: Field = 16..18;
    pub const URGENT: Field = 18..20;
}

/// Length of a header without options.
pub const HEADER_LEN: usize = field::URGENT.end;
/// Longest header (data offset 15).
pub const MAX_HEADER_LEN: usize = 60;
/// IP protocol number of TCP, as used in the pseudo-header.
const PROTOCOL: u8 = 6;

/// Option kinds (IANA "TCP Option Kind Numbers").
pub mod option_kind {
    /// End of option list.
    pub const END: u8 = 0;
    /// No-operation (padding).
    pub const NOP: u8 = 1;
    /// Maximum segment size, length 4.
    pub const MSS: u8 = 2;
    /// Window scale, length 3.
    pub const WINDOW_SCALE: u8 = 3;
    /// SACK permitted, length 2.
    pub const SACK_PERMITTED: u8 = 4;
    /// SACK blocks.
    pub const SACK: u8 = 5;
    /// Timestamps, length 10.
    pub const TIMESTAMPS: u8 = 8;
    /// Client address carried to the real server by FULLNAT ("TCP option address"): length 8,
    /// data is the client's port (2 bytes) and IPv4 address (4 bytes). Kind 254 is the RFC 4727
    /// experimental kind.
    pub const TOA: u8 = 254;
}

/// The eight TCP flag bits (byte 13 of the header).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(pub u8);

impl Flags {
    pub const FIN: Flags = Flags(0x01);
    pub const SYN: Flags = Flags(0x02);
    pub const RST: Flags = Flags(0x04);
    pub const PSH: Flags = Flags(0x08);
    pub const ACK: Flags = Flags(0x10);
    pub const URG: Flags = Flags(0x20);
    pub const ECE: Flags = Flags(0x40);
    pub const CWR: Flags = Flags(0x80);

    /// Whether every bit of `other` is set.
    #[inline]
    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any bit of `other` is set.
    #[inline]
    pub const fn intersects(self, other: Flags) -> bool {
        self.0 & other.0 != 0
    }

    /// The raw bits.
    #[inline]
    pub const fn bits(self) -> u8 {
        self.0
    }
}

impl core::ops::BitOr for Flags {
    type Output = Flags;
    #[inline]
    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

impl core::ops::BitAnd for Flags {
    type Output = Flags;
    #[inline]
    fn bitand(self, rhs: Flags) -> Flags {
        Flags(self.0 & rhs.0)
    }
}

impl core::fmt::Debug for Flags {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        const NAMES: [&str; 8] = ["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"];
        let mut first = true;
        for (i, name) in NAMES.iter().enumerate() {
            if self.0 & (1 << i) != 0 {
                if !first {
                    f.write_str("|")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        if first {
            f.write_str("-")?;
        }
        Ok(())
    }
}

/// One option, as found by [`Options`]. No-ops are skipped and the end-of-list option ends the
/// iteration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpOption<'a> {
    /// Maximum segment size.
    Mss(u16),
    /// Window scale shift count.
    WindowScale(u8),
    /// SACK permitted.
    SackPermitted,
    /// SACK blocks (pairs of 32-bit sequence numbers).
    Sack(&'a [u8]),
    /// Timestamp value and echo reply.
    Timestamps { tsval: u32, tsecr: u32 },
    /// Any other kind, or a known kind with the wrong length, with its data (the bytes after
    /// kind and length).
    Unknown { kind: u8, data: &'a [u8] },
}

/// One raw option: its offset in the option bytes, kind and data.
#[derive(Debug, Clone, Copy)]
struct RawOption<'a> {
    at: usize,
    kind: u8,
    data: &'a [u8],
}

/// Walks option bytes; stops at end of list, and yields one error then stops at a length that
/// is below 2 or runs past the options.
#[derive(Debug, Clone)]
struct RawOptions<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// Offset of the end-of-list option, once the walk reached one.
    end_of_list: Option<usize>,
}

impl<'a> Iterator for RawOptions<'a> {
    type Item = Result<RawOption<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let at = self.pos;
            let kind = *self.bytes.get(at)?;
            match kind {
                option_kind::END => {
                    self.end_of_list = Some(at);
                    self.pos = self.bytes.len();
                    return None;
                }
                option_kind::NOP => {
                    self.pos = at + 1;
                    continue;
                }
                _ => {}
            }
            let len = self.bytes.get(at + 1).map(|&l| usize::from(l));
            let data = match len {
                Some(len) if len >= 2 => self.bytes.get(at + 2..at + len),
                _ => None,
            };
            return match data {
                Some(data) => {
                    self.pos = at + 2 + data.len();
                    Some(Ok(RawOption { at, kind, data }))
                }
                None => {
                    self.pos = self.bytes.len();
                    Some(Err(Error::Malformed("TCP option length")))
                }
            };
        }
    }
}

/// Iterator over the options of a header; see [`Packet::options_iter`].
#[derive(Debug, Clone)]
pub struct Options<'a> {
    raw: RawOptions<'a>,
}

impl<'a> Options<'a> {
    /// Walks `bytes`, the option area of a TCP header.
    pub fn new(bytes: &'a [u8]) -> Self {
        Options { raw: RawOptions { bytes, pos: 0, end_of_list: None } }
    }
}

impl<'a> Iterator for Options<'a> {
    type Item = Result<TcpOption<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        let raw = match self.raw.next()? {
            Ok(raw) => raw,
            Err(e) => return Some(Err(e)),
        };
        let d = raw.data;
        let opt = match (raw.kind, d.len()) {
            (option_kind::MSS, 2) => TcpOption::Mss(u16::from_be_bytes([d[0], d[1]])),
            (option_kind::WINDOW_SCALE, 1) => TcpOption::WindowScale(d[0]),
            (option_kind::SACK_PERMITTED, 0) => TcpOption::SackPermitted,
            (option_kind::SACK, _) => TcpOption::Sack(d),
            (option_kind::TIMESTAMPS, 8) => TcpOption::Timestamps {
                tsval: u32::from_be_bytes([d[0], d[1], d[2], d[3]]),
                tsecr: u32::from_be_bytes([d[4], d[5], d[6], d[7]]),
            },
            // Unknown kinds, and known kinds with a length they never have (which receivers
            // skip rather than obey).
            (kind, _) => TcpOption::Unknown { kind, data: d },
        };
        Some(Ok(opt))
    }
}

/// A view of a TCP segment.
///
/// Invariant after [`Packet::new_checked`]: `20 <= header_len() <= buffer length`, so every fixed
/// field and the option area are inside the buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps `buffer` without checks; accessors panic if it is shorter than the header.
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Self {
        Packet { buffer }
    }

    /// Wraps `buffer` after checking: at least 20 bytes ([`Error::Truncated`]), data offset at
    /// least 5 ([`Error::Malformed`]), header inside the buffer ([`Error::Truncated`]).
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self> {
        let b = buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let hl = usize::from(b[field::DOFF] >> 4) * 4;
        if hl < HEADER_LEN {
            return Err(Error::Malformed("TCP data offset below 5"));
        }
        if hl > b.len() {
            return Err(Error::Truncated);
        }
        Ok(Packet { buffer })
    }

    /// The wrapped buffer.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Source port.
    #[inline]
    pub fn src_port(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::SRC_PORT.start)
    }

    /// Destination port.
    #[inline]
    pub fn dst_port(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::DST_PORT.start)
    }

    /// Sequence number.
    #[inline]
    pub fn seq_number(&self) -> u32 {
        get_u32(self.buffer.as_ref(), field::SEQ.start)
    }

    /// Acknowledgment number.
    #[inline]
    pub fn ack_number(&self) -> u32 {
        get_u32(self.buffer.as_ref(), field::ACK.start)
    }

    /// Header length in bytes (data offset * 4).
    #[inline]
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::DOFF] >> 4) * 4
    }

    /// The flag bits.
    #[inline]
    pub fn flags(&self) -> Flags {
        Flags(self.buffer.as_ref()[field::FLAGS])
    }

    /// SYN set.
    #[inline]
    pub fn syn(&self) -> bool {
        self.flags().contains(Flags::SYN)
    }

    /// ACK set.
    #[inline]
    pub fn ack(&self) -> bool {
        self.flags().contains(Flags::ACK)
    }

    /// FIN set.
    #[inline]
    pub fn fin(&self) -> bool {
        self.flags().contains(Flags::FIN)
    }

    /// RST set.
    #[inline]
    pub fn rst(&self) -> bool {
        self.flags().contains(Flags::RST)
    }

    /// PSH set.
    #[inline]
    pub fn psh(&self) -> bool {
        self.flags().contains(Flags::PSH)
    }

    /// URG set.
    #[inline]
    pub fn urg(&self) -> bool {
        self.flags().contains(Flags::URG)
    }

    /// Window field (unscaled).
    #[inline]
    pub fn window_len(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::WINDOW.start)
    }

    /// Checksum field.
    #[inline]
    pub fn checksum(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::CHECKSUM.start)
    }

    /// Urgent pointer.
    #[inline]
    pub fn urgent_ptr(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::URGENT.start)
    }

    /// Option bytes (empty when the data offset is 5).
    #[inline]
    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..self.header_len()]
    }

    /// Iterates the options; a malformed option yields one error and ends the iteration.
    #[inline]
    pub fn options_iter(&self) -> Options<'_> {
        Options::new(self.options())
    }

    /// Data of the first option of `kind` (the bytes after kind and length), or `None` when it
    /// is absent or a malformed option comes first.
    #[inline]
    pub fn find_option(&self, kind: u8) -> Option<&[u8]> {
        RawOptions { bytes: self.options(), pos: 0, end_of_list: None }
            .map_while(|r| r.ok())
            .find(|o| o.kind == kind)
            .map(|o| o.data)
    }

    /// The MSS option's value, when present and well formed.
    #[inline]
    pub fn mss(&self) -> Option<u16> {
        match self.find_option(option_kind::MSS)? {
            &[hi, lo] => Some(u16::from_be_bytes([hi, lo])),
            _ => None,
        }
    }

    /// The payload (after the options).
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..]
    }

    /// Whether the checksum is correct for a segment carried in IPv4 between `src` and `dst`.
    #[inline]
    pub fn verify_checksum_v4(&self, src: Ipv4Addr, dst: Ipv4Addr) -> bool {
        let b = self.buffer.as_ref();
        let ph = checksum::pseudo_header_v4(src, dst, PROTOCOL, b.len() as u16);
        checksum::add(ph, checksum::sum(b)) == 0xffff
    }

    /// Whether the checksum is correct for a segment carried in IPv6 between `src` and `dst`.
    #[inline]
    pub fn verify_checksum_v6(&self, src: Ipv6Addr, dst: Ipv6Addr) -> bool {
        let b = self.buffer.as_ref();
        let ph = checksum::pseudo_header_v6(src, dst, PROTOCOL, b.len() as u32);
        checksum::add(ph, checksum::sum(b)) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the source port.
    #[inline]
    pub fn set_src_port(&mut self, port: u16) {
        set_u16(self.buffer.as_mut(), field::SRC_PORT.start, port);
    }

    /// Sets the destination port.
    #[inline]
    pub fn set_dst_port(&mut self, port: u16) {
        set_u16(self.buffer.as_mut(), field::DST_PORT.start, port);
    }

    /// Sets the sequence number.
    #[inline]
    pub fn set_seq_number(&mut self, seq: u32) {
        set_u32(self.buffer.as_mut(), field::SEQ.start, seq);
    }

    /// Sets the acknowledgment number.
    #[inline]
    pub fn set_ack_number(&mut self, ack: u32) {
        set_u32(self.buffer.as_mut(), field::ACK.start, ack);
    }

    /// Sets the data offset from a header length in bytes (a multiple of 4, 20..=60); clears the
    /// reserved bits.
    #[inline]
    pub fn set_header_len(&mut self, len: usize) {
        self.buffer.as_mut()[field::DOFF] = ((len / 4) as u8) << 4;
    }

    /// Sets the flag bits.
    #[inline]
    pub fn set_flags(&mut self, flags: Flags) {
        self.buffer.as_mut()[field::FLAGS] = flags.0;
    }

    /// Sets the window field.
    #[inline]
    pub fn set_window_len(&mut self, window: u16) {
        set_u16(self.buffer.as_mut(), field::WINDOW.start, window);
    }

    /// Sets the checksum field.
    #[inline]
    pub fn set_checksum(&mut self, csum: u16) {
        set_u16(self.buffer.as_mut(), field::CHECKSUM.start, csum);
    }

    /// Sets the urgent pointer.
    #[inline]
    pub fn set_urgent_ptr(&mut self, ptr: u16) {
        set_u16(self.buffer.as_mut(), field::URGENT.start, ptr);
    }

    /// Option bytes, writable.
    #[inline]
    pub fn options_mut(&mut self) -> &mut [u8] {
        let hl = self.header_len();
        &mut self.buffer.as_mut()[HEADER_LEN..hl]
    }

    /// The payload, writable.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let hl = self.header_len();
        &mut self.buffer.as_mut()[hl..]
    }

    /// Computes and writes the checksum for IPv4 between `src` and `dst`.
    #[inline]
    pub fn fill_checksum_v4(&mut self, src: Ipv4Addr, dst: Ipv4Addr) {
        self.set_checksum(0);
        let b = self.buffer.as_ref();
        let ph = checksum::pseudo_header_v4(src, dst, PROTOCOL, b.len() as u16);
        let c = !checksum::add(ph, checksum::sum(b));
        self.set_checksum(c);
    }

    /// Computes and writes the checksum for IPv6 between `src` and `dst`.
    #[inline]
    pub fn fill_checksum_v6(&mut self, src: Ipv6Addr, dst: Ipv6Addr) {
        self.set_checksum(0);
        let b = self.buffer.as_ref();
        let ph = checksum::pseudo_header_v6(src, dst, PROTOCOL, b.len() as u32);
        let c = !checksum::add(ph, checksum::sum(b));
        self.set_checksum(c);
    }

    /// Replaces the source port, updating the checksum incrementally.
    #[inline]
    pub fn rewrite_src_port(&mut self, port: u16) {
        let c = checksum::update_u16(self.checksum(), self.src_port(), port);
        self.set_src_port(port);
        self.set_checksum(c);
    }

    /// Replaces the destination port, updating the checksum incrementally.
    #[inline]
    pub fn rewrite_dst_port(&mut self, port: u16) {
        let c = checksum::update_u16(self.checksum(), self.dst_port(), port);
        self.set_dst_port(port);
        self.set_checksum(c);
    }

    /// Replaces the sequence number, updating the checksum incrementally.
    #[inline]
    pub fn rewrite_seq_number(&mut self, seq: u32) {
        let c = checksum::update_u32(self.checksum(), self.seq_number(), seq);
        self.set_seq_number(seq);
        self.set_checksum(c);
    }

    /// Replaces the acknowledgment number, updating the checksum incrementally.
    #[inline]
    pub fn rewrite_ack_number(&mut self, ack: u32) {
        let c = checksum::update_u32(self.checksum(), self.ack_number(), ack);
        self.set_ack_number(ack);
        self.set_checksum(c);
    }

    /// Updates the checksum for a pseudo-header address that NAT changed from `old` to `new`
    /// (the IP header itself is rewritten by the caller).
    #[inline]
    pub fn update_checksum_addr_v4(&mut self, old: Ipv4Addr, new: Ipv4Addr) {
        let c = checksum::update_addr(self.checksum(), old, new);
        self.set_checksum(c);
    }

    /// IPv6 form of [`Packet::update_checksum_addr_v4`].
    #[inline]
    pub fn update_checksum_addr_v6(&mut self, old: Ipv6Addr, new: Ipv6Addr) {
        let c = checksum::update_addr_v6(self.checksum(), old, new);
        self.set_checksum(c);
    }

    /// Lowers the MSS option to `max` when it is larger, updating the checksum incrementally.
    /// Returns whether it changed anything.
    pub fn clamp_mss(&mut self, max: u16) -> bool {
        let found = RawOptions { bytes: self.options(), pos: 0, end_of_list: None }
            .map_while(|r| r.ok())
            .find(|o| o.kind == option_kind::MSS && o.data.len() == 2)
            .map(|o| (o.at, u16::from_be_bytes([o.data[0], o.data[1]])));
        let Some((at, mss)) = found else { return false };
        if mss <= max {
            return false;
        }
        // The checksum works on 16-bit words aligned to the segment start. At an even offset the
        // value is one word; at an odd one it straddles two (both inside the header, since the
        // header length is a multiple of 4 and the option ends at an odd offset before it).
        let start = HEADER_LEN + at + 2;
        let old = self.checksum();
        let b = self.buffer.as_mut();
        let c = if start % 2 == 0 {
            set_u16(b, start, max);
            checksum::update_u16(old, mss, max)
        } else {
            let w0 = start - 1;
            let before = [get_u16(b, w0), get_u16(b, w0 + 2)];
            set_u16(b, start, max);
            let after = [get_u16(b, w0), get_u16(b, w0 + 2)];
            let c = checksum::update_u16(old, before[0], after[0]);
            checksum::update_u16(c, before[1], after[1])
        };
        self.set_checksum(c);
        true
    }
}

/// Inserts an option of `kind` with `data` at the end of the options of the TCP segment held in
/// `buf[..seg_len]`, moving the payload back; `buf` must have room for the grown segment. An
/// end-of-list option and padding after it are turned into no-ops first so the new option is
/// seen; no-ops in front pad the option to a multiple of 4 bytes. Returns the new segment
/// length. The checksum is left stale (the segment length changed): refill it.
///
/// Errors: the segment is not a valid TCP header ([`Packet::new_checked`] errors),
/// [`Error::NoSpace`] when the header would pass 60 bytes or `buf` is too short.
pub fn insert_option(buf: &mut [u8], seg_len: usize, kind: u8, data: &[u8]) -> Result<usize> {
    let seg = buf.get(..seg_len).ok_or(Error::Truncated)?;
    let hl = Packet::new_checked(seg)?.header_len();
    let opt_len = 2 + data.len();
    let padded = (opt_len + 3) & !3;
    if hl + padded > MAX_HEADER_LEN || opt_len > usize::from(u8::MAX) {
        return Err(Error::NoSpace);
    }
    let new_len = seg_len + padded;
    if buf.len() < new_len {
        return Err(Error::NoSpace);
    }
    // Refuse a malformed list (the new option would not be seen past it) and turn an
    // end-of-list option and the bytes after it into no-ops.
    let mut walk = RawOptions { bytes: &buf[HEADER_LEN..hl], pos: 0, end_of_list: None };
    for opt in &mut walk {
        opt?;
    }
    if let Some(eol) = walk.end_of_list {
        buf[HEADER_LEN + eol..hl].fill(option_kind::NOP);
    }
    buf.copy_within(hl..seg_len, hl + padded);
    let at = hl;
    let nops = padded - opt_len;
    buf[at..at + nops].fill(option_kind::NOP);
    buf[at + nops] = kind;
    buf[at + nops + 1] = opt_len as u8;
    buf[at + nops + 2..at + padded].copy_from_slice(data);
    Packet::new_unchecked(&mut buf[..]).set_header_len(hl + padded);
    Ok(new_len)
}

/// A TCP header in plain form, with the options the director writes itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq_number: u32,
    pub ack_number: u32,
    pub flags: Flags,
    pub window_len: u16,
    pub mss: Option<u16>,
    pub window_scale: Option<u8>,
    pub sack_permitted: bool,
    pub payload: &'a [u8],
}

impl<'a> Repr<'a> {
    /// Reads a checked segment. Options other than MSS, window scale and SACK permitted are
    /// skipped; a malformed option list is [`Error::Malformed`]. Does not verify the checksum.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&'a T>) -> Result<Repr<'a>> {
        let mut repr = Repr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            seq_number: packet.seq_number(),
            ack_number: packet.ack_number(),
            flags: packet.flags(),
            window_len: packet.window_len(),
            mss: None,
            window_scale: None,
            sack_permitted: false,
            payload: &packet.buffer.as_ref()[packet.header_len()..],
        };
        let opts = &packet.buffer.as_ref()[HEADER_LEN..packet.header_len()];
        for opt in Options::new(opts) {
            match opt? {
                TcpOption::Mss(v) => repr.mss = Some(v),
                TcpOption::WindowScale(v) => repr.window_scale = Some(v),
                TcpOption::SackPermitted => repr.sack_permitted = true,
                _ => {}
            }
        }
        Ok(repr)
    }

    /// Header length: 20 plus 4 for each of MSS, window scale and SACK permitted present.
    #[inline]
    pub fn header_len(&self) -> usize {
        HEADER_LEN
            + 4 * (usize::from(self.mss.is_some())
                + usize::from(self.window_scale.is_some())
                + usize::from(self.sack_permitted))
    }

    /// Header plus payload.
    #[inline]
    pub fn buffer_len(&self) -> usize {
        self.header_len() + self.payload.len()
    }

    /// Writes header, options and payload, with a zero checksum: call
    /// [`Packet::fill_checksum_v4`] or [`Packet::fill_checksum_v6`] next. The buffer must be
    /// exactly [`Repr::buffer_len`] bytes; panics if it is shorter.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_seq_number(self.seq_number);
        packet.set_ack_number(self.ack_number);
        packet.set_header_len(self.header_len());
        packet.set_flags(self.flags);
        packet.set_window_len(self.window_len);
        packet.set_checksum(0);
        packet.set_urgent_ptr(0);
        let opts = packet.options_mut();
        let mut at = 0;
        if let Some(mss) = self.mss {
            let [hi, lo] = mss.to_be_bytes();
            opts[at..at + 4].copy_from_slice(&[option_kind::MSS, 4, hi, lo]);
            at += 4;
        }
        if let Some(ws) = self.window_scale {
            opts[at..at + 4].copy_from_slice(&[option_kind::NOP, option_kind::WINDOW_SCALE, 3, ws]);
            at += 4;
        }
        if self.sack_permitted {
            opts[at..at + 4].copy_from_slice(&[
                option_kind::NOP,
                option_kind::NOP,
                option_kind::SACK_PERMITTED,
                2,
            ]);
        }
        let n = self.payload.len();
        packet.payload_mut()[..n].copy_from_slice(self.payload);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The test kit's reference TCP/IPv4 checksum, the checksum field taken as zero.
    fn naive_checksum_v4(src: Ipv4Addr, dst: Ipv4Addr, seg: &[u8]) -> u16 {
        let ph = crate::testkit::checksum::pseudo_v4(src, dst, 6, seg.len());
        crate::testkit::checksum::checksum_with_field_zero(&ph, seg, 16)
    }

    /// The test kit's reference TCP/IPv6 checksum, the checksum field taken as zero.
    fn naive_checksum_v6(src: Ipv6Addr, dst: Ipv6Addr, seg: &[u8]) -> u16 {
        let ph = crate::testkit::checksum::pseudo_v6(src, dst, 6, seg.len());
        crate::testkit::checksum::checksum_with_field_zero(&ph, seg, 16)
    }

    const SRC: Ipv4Addr = Ipv4Addr::new(192, 168, 0, 10);
    const DST: Ipv4Addr = Ipv4Addr::new(10, 1, 1, 1);

    // A SYN from port 40000 to 80, seq 0x01020304, window 64240, with MSS 1460, SACK permitted,
    // timestamps (tsval 0x11223344), NOP, window scale 7: the usual Linux SYN, byte by byte.
    const SYN: [u8; 40] = [
        0x9c, 0x40, // source port 40000
        0x00, 0x50, // destination port 80
        0x01, 0x02, 0x03, 0x04, // sequence number
        0x00, 0x00, 0x00, 0x00, // acknowledgment number
        0xa0, // data offset 10 (40 bytes)
        0x02, // SYN
        0xfa, 0xf0, // window 64240
        0x00, 0x00, // checksum (filled in by the test)
        0x00, 0x00, // urgent pointer
        0x02, 0x04, 0x05, 0xb4, // MSS 1460
        0x04, 0x02, // SACK permitted
        0x08, 0x0a, 0x11, 0x22, 0x33, 0x44, 0x00, 0x00, 0x00, 0x00, // timestamps
        0x01, // NOP
        0x03, 0x03, 0x07, // window scale 7
    ];

    fn syn() -> Vec<u8> {
        let mut b = SYN.to_vec();
        let c = naive_checksum_v4(SRC, DST, &b);
        b[16..18].copy_from_slice(&c.to_be_bytes());
        b
    }

    #[test]
    fn parse_golden_syn() {
        let b = syn();
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!((p.src_port(), p.dst_port()), (40000, 80));
        assert_eq!(p.seq_number(), 0x01020304);
        assert_eq!(p.header_len(), 40);
        assert!(p.syn() && !p.ack() && !p.fin() && !p.rst());
        assert_eq!(format!("{:?}", p.flags()), "SYN");
        assert_eq!(p.window_len(), 64240);
        assert!(p.verify_checksum_v4(SRC, DST));
        assert!(!p.verify_checksum_v4(SRC, Ipv4Addr::new(10, 1, 1, 2)));
        let opts: Vec<_> = p.options_iter().collect::<Result<_>>().unwrap();
        assert_eq!(
            opts,
            [
                TcpOption::Mss(1460),
                TcpOption::SackPermitted,
                TcpOption::Timestamps { tsval: 0x11223344, tsecr: 0 },
                TcpOption::WindowScale(7),
            ]
        );
        assert_eq!(p.mss(), Some(1460));
        assert_eq!(p.find_option(option_kind::WINDOW_SCALE), Some(&[7u8][..]));
        assert_eq!(p.find_option(option_kind::TOA), None);
        let r = Repr::parse(&p).unwrap();
        assert_eq!(r.mss, Some(1460));
        assert_eq!(r.window_scale, Some(7));
        assert!(r.sack_permitted);
        assert!(r.payload.is_empty());
    }

    #[test]
    fn fill_checksum_matches_naive() {
        let mut b = SYN.to_vec();
        b.extend_from_slice(b"GET / HTTP/1.0\r\n\r\n!");
        Packet::new_unchecked(&mut b[..]).fill_checksum_v4(SRC, DST);
        assert_eq!(
            Packet::new_checked(&b[..]).unwrap().checksum(),
            naive_checksum_v4(SRC, DST, &b)
        );
        let s6: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let d6: Ipv6Addr = "2001:db8::80".parse().unwrap();
        Packet::new_unchecked(&mut b[..]).fill_checksum_v6(s6, d6);
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.checksum(), naive_checksum_v6(s6, d6, &b));
        assert!(p.verify_checksum_v6(s6, d6));
    }

    #[test]
    fn refusals() {
        let b = syn();
        assert_eq!(Packet::new_checked(&b[..19]).unwrap_err(), Error::Truncated);
        assert_eq!(Packet::new_checked(&b[..39]).unwrap_err(), Error::Truncated);
        let mut bad = b.clone();
        bad[12] = 0x40;
        assert!(matches!(Packet::new_checked(&bad[..]), Err(Error::Malformed(_))));
        // An option whose length runs past the header.
        let mut bad = b.clone();
        bad[21] = 30;
        let p = Packet::new_checked(&bad[..]).unwrap();
        let v: Vec<_> = p.options_iter().collect();
        assert_eq!(v.len(), 1);
        assert!(v[0].is_err());
        assert!(Repr::parse(&p).is_err());
        assert_eq!(p.mss(), None);
        // A zero length byte.
        let mut bad = b.clone();
        bad[21] = 0;
        assert!(Packet::new_checked(&bad[..]).unwrap().options_iter().next().unwrap().is_err());
    }

    #[test]
    fn clamp_mss_as_last_option_without_payload() {
        let mut b = [0u8; 24];
        let mut p = Packet::new_unchecked(&mut b[..]);
        p.set_header_len(24);
        p.options_mut().copy_from_slice(&[2, 4, 0x05, 0xb4]);
        p.fill_checksum_v4(SRC, DST);
        assert!(p.clamp_mss(1400));
        assert!(!p.clamp_mss(1400));
        assert_eq!(p.mss(), Some(1400));
        assert!(p.verify_checksum_v4(SRC, DST));
    }

    #[test]
    fn wrong_length_known_kind_is_skipped() {
        // MSS with length 3 (one data byte), then window scale.
        let mut b = [0u8; 28];
        let mut p = Packet::new_unchecked(&mut b[..]);
        p.set_header_len(28);
        p.options_mut().copy_from_slice(&[2, 3, 9, 3, 3, 7, 0, 0]);
        let p = Packet::new_checked(&b[..]).unwrap();
        let v: Vec<_> = p.options_iter().collect::<Result<_>>().unwrap();
        assert_eq!(v, [TcpOption::Unknown { kind: 2, data: &[9] }, TcpOption::WindowScale(7)]);
        assert_eq!(p.mss(), None);
        let r = Repr::parse(&p).unwrap();
        assert_eq!((r.mss, r.window_scale), (None, Some(7)));
    }

    #[test]
    fn end_of_list_stops() {
        let mut b = SYN.to_vec();
        b[24] = option_kind::END; // where SACK permitted was
        let p = Packet::new_checked(&b[..]).unwrap();
        let v: Vec<_> = p.options_iter().collect::<Result<_>>().unwrap();
        assert_eq!(v, [TcpOption::Mss(1460)]);
    }

    #[test]
    fn insert_toa() {
        let mut b = syn();
        b.extend_from_slice(b"data");
        let seg_len = b.len();
        b.resize(seg_len + 8, 0);
        // 40-byte header + 8 = 48 bytes.
        let toa = [0x9c, 0x40, 192, 168, 0, 10];
        let n = insert_option(&mut b, seg_len, option_kind::TOA, &toa).unwrap();
        assert_eq!(n, seg_len + 8);
        let mut p = Packet::new_checked(&mut b[..n]).unwrap();
        assert_eq!(p.header_len(), 48);
        assert_eq!(p.payload(), b"data");
        assert_eq!(p.find_option(option_kind::TOA), Some(&toa[..]));
        assert_eq!(p.mss(), Some(1460));
        p.fill_checksum_v4(SRC, DST);
        assert!(p.verify_checksum_v4(SRC, DST));
        // No room past 60 bytes.
        let mut full = b.clone();
        full.resize(n + 16, 0);
        let n2 = insert_option(&mut full, n, option_kind::TOA, &toa).unwrap();
        assert_eq!(insert_option(&mut full, n2, option_kind::TOA, &toa), Err(Error::NoSpace));
        // No room in the buffer.
        let mut short = syn();
        let l = short.len();
        assert_eq!(insert_option(&mut short, l, option_kind::TOA, &toa), Err(Error::NoSpace));
    }

    #[test]
    fn insert_after_end_of_list_and_with_padding() {
        // Header with MSS then END and three padding bytes (data offset 7).
        let mut b = vec![0u8; 28];
        let mut p = Packet::new_unchecked(&mut b[..]);
        p.set_header_len(28);
        p.options_mut().copy_from_slice(&[2, 4, 0x05, 0xb4, 0, 0, 0, 0]);
        b.resize(28 + 8, 0xee);
        let n = insert_option(&mut b, 28, 99, &[1, 2, 3]).unwrap();
        assert_eq!(n, 36);
        let p = Packet::new_checked(&b[..n]).unwrap();
        // Former END and padding as no-ops, then three no-ops padding the 5-byte option.
        assert_eq!(&p.options()[4..], &[1, 1, 1, 1, 1, 1, 1, 99, 5, 1, 2, 3][..]);
        assert_eq!(p.find_option(99), Some(&[1, 2, 3][..]));
        assert_eq!(p.mss(), Some(1460));
        assert!(p.payload().is_empty());
    }

    #[test]
    fn repr_emit_golden() {
        let r = Repr {
            src_port: 80,
            dst_port: 40000,
            seq_number: 7,
            ack_number: 0x01020305,
            flags: Flags::SYN | Flags::ACK,
            window_len: 65535,
            mss: Some(1400),
            window_scale: Some(9),
            sack_permitted: true,
            payload: &[],
        };
        let mut b = vec![0xffu8; r.buffer_len()];
        let mut p = Packet::new_unchecked(&mut b[..]);
        r.emit(&mut p);
        p.fill_checksum_v4(DST, SRC);
        let c = naive_checksum_v4(DST, SRC, &b);
        #[rustfmt::skip]
        let want = [
            0x00, 0x50, 0x9c, 0x40, 0, 0, 0, 7, 0x01, 0x02, 0x03, 0x05,
            0x80, 0x12, 0xff, 0xff, (c >> 8) as u8, c as u8, 0, 0,
            2, 4, 0x05, 0x78, 1, 3, 3, 9, 1, 1, 4, 2,
        ];
        assert_eq!(b, want);
        assert_eq!(Repr::parse(&Packet::new_checked(&b[..]).unwrap()).unwrap(), r);
    }

    fn arb_segment() -> impl Strategy<Value = Vec<u8>> {
        (any::<[u8; 20]>(), proptest::collection::vec(any::<u8>(), 0..100)).prop_map(|(h, p)| {
            let mut b = syn();
            b[..12].copy_from_slice(&h[..12]);
            b[13..16].copy_from_slice(&h[13..16]);
            b.extend_from_slice(&p);
            Packet::new_unchecked(&mut b[..]).fill_checksum_v4(SRC, DST);
            b
        })
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            if let Ok(p) = Packet::new_checked(&bytes[..]) {
                let _ = (p.src_port(), p.dst_port(), p.seq_number(), p.ack_number(), p.flags());
                let _ = (p.window_len(), p.checksum(), p.urgent_ptr(), p.options(), p.payload());
                let _ = (p.mss(), p.find_option(254), p.verify_checksum_v4(SRC, DST));
                prop_assert!(p.options_iter().count() <= 40);
                let _ = Repr::parse(&p);
                let mut copy = bytes.clone();
                let _ = Packet::new_unchecked(&mut copy[..]).clamp_mss(536);
                copy.resize(bytes.len() + 8, 0);
                let _ = insert_option(&mut copy, bytes.len(), option_kind::TOA, &[0; 6]);
            }
        }

        #[test]
        fn arbitrary_options_never_panic(opts in proptest::collection::vec(any::<u8>(), 0..40)) {
            let words = opts.len() / 4;
            let mut b = vec![0u8; 20 + words * 4];
            b[20..].copy_from_slice(&opts[..words * 4]);
            Packet::new_unchecked(&mut b[..]).set_header_len(20 + words * 4);
            let p = Packet::new_checked(&b[..]).unwrap();
            for _ in p.options_iter() {}
            let _ = (p.mss(), Repr::parse(&p));
            let l = b.len();
            b.resize(l + 8, 0);
            if let Ok(n) = insert_option(&mut b, l, option_kind::TOA, &[1, 2, 3, 4, 5, 6]) {
                let p = Packet::new_checked(&b[..n]).unwrap();
                let want = TcpOption::Unknown { kind: option_kind::TOA, data: &[1, 2, 3, 4, 5, 6] };
                prop_assert!(p.options_iter().any(|o| o == Ok(want)));
            }
        }

        #[test]
        fn incremental_rewrites_equal_full(
            mut b in arb_segment(), port in any::<u16>(), n in any::<u32>(),
            addr in any::<u32>(), which in 0u8..6, mss in any::<u16>(),
        ) {
            let mut dst = DST;
            let mut p = Packet::new_unchecked(&mut b[..]);
            match which {
                0 => p.rewrite_src_port(port),
                1 => p.rewrite_dst_port(port),
                2 => p.rewrite_seq_number(n),
                3 => p.rewrite_ack_number(n),
                4 => {
                    dst = Ipv4Addr::from(addr);
                    p.update_checksum_addr_v4(DST, dst);
                }
                _ => { p.clamp_mss(mss); }
            }
            prop_assert!(p.verify_checksum_v4(SRC, dst));
            let inc = p.checksum();
            prop_assert_eq!(inc, naive_checksum_v4(SRC, dst, &b));
        }

        #[test]
        fn clamp_mss_at_odd_offset(mss in any::<u16>(), max in any::<u16>(), payload in any::<u8>()) {
            // NOP first so the MSS value starts at an odd offset.
            let mut b = vec![0u8; 28];
            let mut p = Packet::new_unchecked(&mut b[..]);
            p.set_header_len(28);
            let [hi, lo] = mss.to_be_bytes();
            p.options_mut().copy_from_slice(&[1, 2, 4, hi, lo, 0, 0, 0]);
            b.push(payload);
            Packet::new_unchecked(&mut b[..]).fill_checksum_v4(SRC, DST);
            let mut p = Packet::new_unchecked(&mut b[..]);
            let changed = p.clamp_mss(max);
            prop_assert_eq!(changed, mss > max);
            prop_assert_eq!(p.mss(), Some(mss.min(max)));
            prop_assert!(p.verify_checksum_v4(SRC, DST));
        }
    }
}
