//! ICMP for IPv6 (RFC 4443): echo, and the errors a director sends or relates to a conn
//! (destination unreachable, packet too big, time exceeded, parameter problem) with the
//! invoking packet they quote. Neighbour discovery messages share this header and are read by
//! [`super::ndisc`].
//!
//! Layout (8-byte header, then data):
//! ```text
//!  0       1       2               4               6               8
//! +-------+-------+---------------+---------------+---------------+---------
//! | Type  | Code  |   Checksum    |  Identifier   | Sequence No.  | echo data       (echo)
//! |       |       |               |            unused             | invoking packet (unreachable, time exceeded)
//! |       |       |               |              MTU              | invoking packet (packet too big)
//! |       |       |               |            Pointer            | invoking packet (parameter problem)
//! +-------+-------+---------------+---------------+---------------+---------
//! ```
//! The checksum covers the IPv6 pseudo-header (RFC 8200 section 8.1, next header 58) and the
//! whole message, so the view's buffer must be exactly the message (the upper-layer bytes of
//! the IPv6 packet, after any extension headers). An error quotes as much of the invoking
//! packet as fits in the minimum MTU ([`MAX_INVOKING_LEN`]); [`Quoted`] views that quote with
//! its transport tuple.

use std::net::Ipv6Addr;

use super::checksum;
use super::ip::IpProtocol;
use super::ipv6;
use super::ipv6ext;
use super::tuple::Tuple;
use super::{get_u16, get_u32, set_u16, set_u32, Error, Field, Result};

mod field {
    use super::Field;
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Field = 2..4;
    pub const IDENT: Field = 4..6;
    pub const SEQ: Field = 6..8;
    pub const PARAM: Field = 4..8;
    pub const DATA: usize = 8;
}

/// Length of the ICMPv6 header.
pub const HEADER_LEN: usize = field::DATA;

/// The IPv6 minimum MTU (RFC 8200 section 5): an ICMPv6 error packet never exceeds it.
pub const MIN_MTU: usize = 1280;

/// The most of the invoking packet an error quotes: the minimum MTU less the IPv6 and ICMPv6
/// headers (RFC 4443 section 2.4 (c)).
pub const MAX_INVOKING_LEN: usize = MIN_MTU - ipv6::HEADER_LEN - HEADER_LEN;

/// The ICMPv6 message type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Message {
    /// 1.
    DstUnreachable,
    /// 2.
    PacketTooBig,
    /// 3.
    TimeExceeded,
    /// 4.
    ParamProblem,
    /// 128.
    EchoRequest,
    /// 129.
    EchoReply,
    /// 133.
    RouterSolicit,
    /// 134.
    RouterAdvert,
    /// 135.
    NeighborSolicit,
    /// 136.
    NeighborAdvert,
    /// 137.
    Redirect,
    /// Any other type (MLD among them).
    Unknown(u8),
}

impl From<u8> for Message {
    #[inline]
    fn from(v: u8) -> Self {
        match v {
            1 => Message::DstUnreachable,
            2 => Message::PacketTooBig,
            3 => Message::TimeExceeded,
            4 => Message::ParamProblem,
            128 => Message::EchoRequest,
            129 => Message::EchoReply,
            133 => Message::RouterSolicit,
            134 => Message::RouterAdvert,
            135 => Message::NeighborSolicit,
            136 => Message::NeighborAdvert,
            137 => Message::Redirect,
            other => Message::Unknown(other),
        }
    }
}

impl From<Message> for u8 {
    #[inline]
    fn from(m: Message) -> u8 {
        match m {
            Message::DstUnreachable => 1,
            Message::PacketTooBig => 2,
            Message::TimeExceeded => 3,
            Message::ParamProblem => 4,
            Message::EchoRequest => 128,
            Message::EchoReply => 129,
            Message::RouterSolicit => 133,
            Message::RouterAdvert => 134,
            Message::NeighborSolicit => 135,
            Message::NeighborAdvert => 136,
            Message::Redirect => 137,
            Message::Unknown(v) => v,
        }
    }
}

impl Message {
    /// Whether this is an error message (types 0-127, RFC 4443 section 2.1); errors quote the
    /// invoking packet and are never answered with an error.
    #[inline]
    pub fn is_error(&self) -> bool {
        u8::from(*self) < 128
    }
}

/// Codes of destination unreachable (RFC 4443 section 3.1).
pub mod unreachable {
    /// 0: no route to destination.
    pub const NO_ROUTE: u8 = 0;
    /// 1: communication administratively prohibited.
    pub const ADMIN_PROHIBITED: u8 = 1;
    /// 3: address unreachable.
    pub const ADDRESS: u8 = 3;
    /// 4: port unreachable.
    pub const PORT: u8 = 4;
}

/// Codes of time exceeded (RFC 4443 section 3.3).
pub mod time_exceeded {
    /// 0: hop limit exceeded in transit.
    pub const HOP_LIMIT: u8 = 0;
    /// 1: fragment reassembly time exceeded.
    pub const REASSEMBLY: u8 = 1;
}

/// Codes of parameter problem (RFC 4443 section 3.4).
pub mod param_problem {
    /// 0: erroneous header field.
    pub const HEADER_FIELD: u8 = 0;
    /// 1: unrecognised Next Header.
    pub const NEXT_HEADER: u8 = 1;
    /// 2: unrecognised IPv6 option.
    pub const OPTION: u8 = 2;
}

/// A view of an ICMPv6 message.
///
/// Invariant after [`Packet::new_checked`]: the buffer holds at least [`HEADER_LEN`] bytes; every
/// accessor reads inside them or returns the (possibly empty) rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps `buffer` without checks; accessors panic if it is shorter than [`HEADER_LEN`].
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Self {
        Packet { buffer }
    }

    /// Wraps `buffer`, which must hold the 8-byte header ([`Error::Truncated`]). The checksum is
    /// not checked; see [`Packet::verify_checksum`].
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self> {
        if buffer.as_ref().len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        Ok(Packet { buffer })
    }

    /// The wrapped buffer.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The whole message.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// Message type.
    #[inline]
    pub fn msg_type(&self) -> Message {
        Message::from(self.buffer.as_ref()[field::TYPE])
    }

    /// Message code (meaning depends on the type).
    #[inline]
    pub fn msg_code(&self) -> u8 {
        self.buffer.as_ref()[field::CODE]
    }

    /// Checksum field.
    #[inline]
    pub fn checksum(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::CHECKSUM.start)
    }

    /// Echo identifier (echo request/reply).
    #[inline]
    pub fn echo_ident(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::IDENT.start)
    }

    /// Echo sequence number (echo request/reply).
    #[inline]
    pub fn echo_seq(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::SEQ.start)
    }

    /// The 32-bit parameter after the checksum: the MTU of packet too big, the pointer of
    /// parameter problem (unused, zero, in the other errors).
    #[inline]
    pub fn param(&self) -> u32 {
        get_u32(self.buffer.as_ref(), field::PARAM.start)
    }

    /// The bytes after the 8-byte header: echo data, the invoking packet of an error, or the
    /// rest of a neighbour discovery message.
    #[inline]
    pub fn data(&self) -> &[u8] {
        &self.buffer.as_ref()[field::DATA..]
    }

    /// Views the packet an error quotes with its transport tuple ([`Quoted`]).
    #[inline]
    pub fn quoted(&self) -> Result<Quoted<'_>> {
        Quoted::new_checked(self.data())
    }

    /// Whether the checksum over the pseudo-header (`src`, `dst`, the message length, 58) and
    /// the message is correct.
    #[inline]
    pub fn verify_checksum(&self, src: Ipv6Addr, dst: Ipv6Addr) -> bool {
        let b = self.buffer.as_ref();
        let Ok(len) = u32::try_from(b.len()) else {
            return false;
        };
        let ph = checksum::pseudo_header_v6(src, dst, IpProtocol::ICMPV6.into(), len);
        checksum::add(ph, checksum::sum(b)) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the type.
    #[inline]
    pub fn set_msg_type(&mut self, m: Message) {
        self.buffer.as_mut()[field::TYPE] = m.into();
    }

    /// Sets the code.
    #[inline]
    pub fn set_msg_code(&mut self, code: u8) {
        self.buffer.as_mut()[field::CODE] = code;
    }

    /// Sets the checksum field.
    #[inline]
    pub fn set_checksum(&mut self, csum: u16) {
        set_u16(self.buffer.as_mut(), field::CHECKSUM.start, csum);
    }

    /// Sets the echo identifier.
    #[inline]
    pub fn set_echo_ident(&mut self, ident: u16) {
        set_u16(self.buffer.as_mut(), field::IDENT.start, ident);
    }

    /// Sets the echo sequence number.
    #[inline]
    pub fn set_echo_seq(&mut self, seq: u16) {
        set_u16(self.buffer.as_mut(), field::SEQ.start, seq);
    }

    /// Sets the 32-bit parameter (MTU, pointer, or the unused word).
    #[inline]
    pub fn set_param(&mut self, v: u32) {
        set_u32(self.buffer.as_mut(), field::PARAM.start, v);
    }

    /// The data, writable.
    #[inline]
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::DATA..]
    }

    /// Computes and writes the checksum for the message carried from `src` to `dst`. The
    /// buffer is the whole message (at most 4 GiB, as any IPv6 payload is).
    #[inline]
    pub fn fill_checksum(&mut self, src: Ipv6Addr, dst: Ipv6Addr) {
        self.set_checksum(0);
        let b = self.buffer.as_ref();
        let len = u32::try_from(b.len()).unwrap_or(u32::MAX);
        let ph = checksum::pseudo_header_v6(src, dst, IpProtocol::ICMPV6.into(), len);
        let c = !checksum::add(ph, checksum::sum(b));
        self.set_checksum(c);
    }
}

/// The packet an ICMPv6 error quotes: its fixed header, its extension headers as far as the
/// quote holds them, and the first bytes of its upper-layer header (the ports of TCP/UDP, the
/// type and identifier of an ICMPv6 echo).
///
/// `new_checked` checks the quoted fixed header ([`ipv6::Packet::new_checked_header`]), walks
/// its extension headers inside the quote ([`ipv6ext::walk_payload`]; a non-first fragment
/// quotes no transport header: [`Error::Unsupported`]) and that the quote holds what the
/// protocol's tuple needs; other protocols are [`Error::Unsupported`]. After it no accessor
/// panics.
#[derive(Debug, Clone)]
pub struct Quoted<'a> {
    ip: ipv6::Packet<&'a [u8]>,
    chain: ipv6ext::Chain,
    l4: &'a [u8],
}

impl<'a> Quoted<'a> {
    /// Views the quoted packet at the start of `data` (an error's data, after its header).
    pub fn new_checked(data: &'a [u8]) -> Result<Quoted<'a>> {
        let ip = ipv6::Packet::new_checked_header(data)?;
        // The quoted payload, borrowed from `data` (not from the view, which moves into Self).
        let end = (ipv6::HEADER_LEN + usize::from(ip.payload_len())).min(data.len());
        let payload = &data[ipv6::HEADER_LEN..end];
        let chain = ipv6ext::walk_payload(ip.next_header(), payload)?;
        if !chain.has_l4_header() {
            return Err(Error::Unsupported);
        }
        let l4 = payload.get(chain.l4_offset..).ok_or(Error::Truncated)?;
        let need = match chain.protocol {
            IpProtocol::TCP | IpProtocol::UDP => 4,
            IpProtocol::ICMPV6 => {
                match l4.first().map(|&t| Message::from(t)) {
                    Some(Message::EchoRequest | Message::EchoReply) => {}
                    Some(_) => return Err(Error::Malformed("quoted ICMPv6 is not an echo")),
                    None => return Err(Error::Truncated),
                }
                field::IDENT.end
            }
            _ => return Err(Error::Unsupported),
        };
        if l4.len() < need {
            return Err(Error::Truncated);
        }
        Ok(Quoted { ip, chain, l4 })
    }

    /// The quoted fixed header (its Payload Length describes the original packet).
    #[inline]
    pub fn ip(&self) -> &ipv6::Packet<&'a [u8]> {
        &self.ip
    }

    /// The quoted chain: upper-layer protocol and offset (from the quoted payload's start).
    #[inline]
    pub fn chain(&self) -> &ipv6ext::Chain {
        &self.chain
    }

    /// For a quoted ICMPv6 echo: request (`Some(true)`) or reply; `None` for TCP/UDP.
    #[inline]
    pub fn echo_request(&self) -> Option<bool> {
        (self.chain.protocol == IpProtocol::ICMPV6)
            .then(|| Message::from(self.l4[field::TYPE]) == Message::EchoRequest)
    }

    /// The quoted packet's tuple (for an echo, both ports are its identifier).
    #[inline]
    pub fn tuple(&self) -> Tuple<Ipv6Addr> {
        let (sport, dport) = if self.chain.protocol == IpProtocol::ICMPV6 {
            let id = get_u16(self.l4, field::IDENT.start);
            (id, id)
        } else {
            (get_u16(self.l4, 0), get_u16(self.l4, 2))
        };
        Tuple::new(self.chain.protocol, self.ip.src_addr(), sport, self.ip.dst_addr(), dport)
    }
}

/// An ICMPv6 message in plain form: the echoes and the errors. Neighbour discovery is
/// [`super::ndisc::Repr`]; other types parse to [`Repr::Other`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repr<'a> {
    /// Echo request.
    EchoRequest { ident: u16, seq: u16, data: &'a [u8] },
    /// Echo reply.
    EchoReply { ident: u16, seq: u16, data: &'a [u8] },
    /// Destination unreachable with its code.
    DstUnreachable { code: u8, invoking: &'a [u8] },
    /// Packet too big with the next-hop MTU.
    PacketTooBig { mtu: u32, invoking: &'a [u8] },
    /// Time exceeded with its code.
    TimeExceeded { code: u8, invoking: &'a [u8] },
    /// Parameter problem with its code and the offset of the offending byte.
    ParamProblem { code: u8, pointer: u32, invoking: &'a [u8] },
    /// Any other type: its type, code, 32-bit parameter and data.
    Other { msg: u8, code: u8, param: u32, data: &'a [u8] },
}

impl<'a> Repr<'a> {
    /// Reads a checked message (the checksum is not verified here).
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&'a T>) -> Result<Repr<'a>> {
        let b: &'a [u8] = packet.buffer.as_ref();
        let data = &b[field::DATA..];
        let code = packet.msg_code();
        let echo_code =
            || if code == 0 { Ok(()) } else { Err(Error::Malformed("ICMPv6 echo code not 0")) };
        Ok(match packet.msg_type() {
            Message::EchoRequest => {
                echo_code()?;
                Repr::EchoRequest { ident: packet.echo_ident(), seq: packet.echo_seq(), data }
            }
            Message::EchoReply => {
                echo_code()?;
                Repr::EchoReply { ident: packet.echo_ident(), seq: packet.echo_seq(), data }
            }
            Message::DstUnreachable => Repr::DstUnreachable { code, invoking: data },
            Message::PacketTooBig => Repr::PacketTooBig { mtu: packet.param(), invoking: data },
            Message::TimeExceeded => Repr::TimeExceeded { code, invoking: data },
            Message::ParamProblem => {
                Repr::ParamProblem { code, pointer: packet.param(), invoking: data }
            }
            m => Repr::Other { msg: m.into(), code, param: packet.param(), data },
        })
    }

    /// An error that quotes `invoking`, cut to [`MAX_INVOKING_LEN`] so the packet fits the
    /// minimum MTU.
    #[inline]
    pub fn quote(invoking: &'a [u8]) -> &'a [u8] {
        &invoking[..invoking.len().min(MAX_INVOKING_LEN)]
    }

    fn parts(&self) -> (Message, u8, u32, &'a [u8]) {
        match *self {
            Repr::EchoRequest { ident, seq, data } => {
                (Message::EchoRequest, 0, (u32::from(ident) << 16) | u32::from(seq), data)
            }
            Repr::EchoReply { ident, seq, data } => {
                (Message::EchoReply, 0, (u32::from(ident) << 16) | u32::from(seq), data)
            }
            Repr::DstUnreachable { code, invoking } => (Message::DstUnreachable, code, 0, invoking),
            Repr::PacketTooBig { mtu, invoking } => (Message::PacketTooBig, 0, mtu, invoking),
            Repr::TimeExceeded { code, invoking } => (Message::TimeExceeded, code, 0, invoking),
            Repr::ParamProblem { code, pointer, invoking } => {
                (Message::ParamProblem, code, pointer, invoking)
            }
            Repr::Other { msg, code, param, data } => (Message::from(msg), code, param, data),
        }
    }

    /// Header plus data.
    #[inline]
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.parts().3.len()
    }

    /// Writes the message into `packet` (whose buffer must be exactly [`Repr::buffer_len`]
    /// long, or longer when the caller wants the extra bytes checksummed as data) and its
    /// checksum for `src` to `dst`. [`Error::NoSpace`] if the buffer is too short.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        src: Ipv6Addr,
        dst: Ipv6Addr,
        packet: &mut Packet<T>,
    ) -> Result<()> {
        let (msg, code, param, data) = self.parts();
        if packet.buffer.as_ref().len() < HEADER_LEN + data.len() {
            return Err(Error::NoSpace);
        }
        packet.set_msg_type(msg);
        packet.set_msg_code(code);
        packet.set_param(param);
        packet.data_mut()[..data.len()].copy_from_slice(data);
        packet.fill_checksum(src, dst);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::checksum as reference;
    use proptest::prelude::*;

    fn a(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    /// A quoted UDP packet: fixed header (payload length 1000, more than is quoted), a
    /// destination-options header, then UDP 4000 -> 53.
    fn invoking_udp() -> Vec<u8> {
        let mut v = vec![0x60, 0, 0, 0, 0x03, 0xe8, 60, 64];
        v.extend_from_slice(&a("2001:db8::10").octets());
        v.extend_from_slice(&a("2001:db8::53").octets());
        v.extend_from_slice(&[17, 0, 1, 4, 0, 0, 0, 0]);
        v.extend_from_slice(&[0x0f, 0xa0, 0, 53, 0x03, 0xd8, 0xab, 0xcd]);
        v
    }

    #[test]
    fn errors_round_trip_with_a_reference_checksum() {
        let (src, dst) = (a("2001:db8::1"), a("2001:db8::10"));
        let inv = invoking_udp();
        for r in [
            Repr::DstUnreachable { code: unreachable::PORT, invoking: &inv },
            Repr::PacketTooBig { mtu: 1400, invoking: &inv },
            Repr::TimeExceeded { code: time_exceeded::HOP_LIMIT, invoking: &inv },
            Repr::ParamProblem { code: param_problem::NEXT_HEADER, pointer: 40, invoking: &inv },
            Repr::EchoRequest { ident: 7, seq: 9, data: b"abc" },
            Repr::EchoReply { ident: 7, seq: 9, data: b"" },
        ] {
            let mut buf = vec![0u8; r.buffer_len()];
            r.emit(src, dst, &mut Packet::new_unchecked(&mut buf[..])).unwrap();
            let ph = reference::pseudo_v6(src, dst, 58, buf.len());
            assert_eq!(reference::checksum_with_field_zero(&ph, &buf, 2), get_u16(&buf, 2));
            let p = Packet::new_checked(&buf[..]).unwrap();
            assert!(p.verify_checksum(src, dst));
            assert!(!p.verify_checksum(dst, a("2001:db8::11")));
            assert_eq!(Repr::parse(&p).unwrap(), r);
            assert_eq!(
                p.msg_type().is_error(),
                !matches!(r, Repr::EchoRequest { .. } | Repr::EchoReply { .. })
            );
            if p.msg_type().is_error() {
                let q = p.quoted().unwrap();
                assert_eq!(
                    q.tuple(),
                    Tuple::new(IpProtocol::UDP, a("2001:db8::10"), 4000, a("2001:db8::53"), 53)
                );
                assert_eq!(q.echo_request(), None);
                assert_eq!(q.chain().l4_offset, 8);
            }
        }
    }

    #[test]
    fn quoted_echo_and_refusals() {
        let mut v = invoking_udp();
        v[6] = 58;
        v.truncate(40);
        v.extend_from_slice(&[128, 0, 0, 0, 0x12, 0x34, 0, 1]);
        let q = Quoted::new_checked(&v).unwrap();
        assert_eq!(q.echo_request(), Some(true));
        assert_eq!((q.tuple().sport, q.tuple().dport), (0x1234, 0x1234));
        v[40] = 1; // a quoted error
        assert!(matches!(Quoted::new_checked(&v), Err(Error::Malformed(_))));
        assert_eq!(Quoted::new_checked(&v[..39]).unwrap_err(), Error::Truncated);
        let inv = invoking_udp();
        assert_eq!(Quoted::new_checked(&inv[..50]).unwrap_err(), Error::Truncated);
        let mut frag = inv[..40].to_vec();
        frag[6] = 44;
        frag.extend_from_slice(&[17, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0]);
        assert_eq!(Quoted::new_checked(&frag).unwrap_err(), Error::Unsupported);
        assert_eq!(Packet::new_checked(&[0u8; 7][..]).unwrap_err(), Error::Truncated);
    }

    #[test]
    fn quote_fits_the_minimum_mtu() {
        let big = vec![0u8; 2000];
        let r = Repr::PacketTooBig { mtu: 1280, invoking: Repr::quote(&big) };
        assert_eq!(ipv6::HEADER_LEN + r.buffer_len(), MIN_MTU);
        let mut buf = [0u8; 8];
        assert_eq!(
            r.emit(
                Ipv6Addr::LOCALHOST,
                Ipv6Addr::LOCALHOST,
                &mut Packet::new_unchecked(&mut buf[..])
            ),
            Err(Error::NoSpace)
        );
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(p) = Packet::new_checked(&bytes[..]) {
                let _ = (p.msg_type(), p.msg_code(), p.checksum(), p.echo_ident(), p.echo_seq(), p.param());
                let _ = p.verify_checksum(Ipv6Addr::UNSPECIFIED, Ipv6Addr::LOCALHOST);
                if let Ok(q) = p.quoted() {
                    let _ = (q.tuple(), q.echo_request(), q.ip().payload());
                }
                if let Ok(r) = Repr::parse(&p) {
                    let mut out = vec![0u8; r.buffer_len()];
                    r.emit(Ipv6Addr::UNSPECIFIED, Ipv6Addr::LOCALHOST, &mut Packet::new_unchecked(&mut out[..])).unwrap();
                    // The unused word of unreachable and time exceeded is sent as zero.
                    let unused = matches!(r, Repr::DstUnreachable { .. } | Repr::TimeExceeded { .. });
                    if !unused {
                        prop_assert_eq!(&out[4..8], &bytes[4..8]);
                    }
                    prop_assert_eq!(&out[8..], &bytes[8..]);
                    prop_assert_eq!(out[0], bytes[0]);
                    // Packet too big is sent with code 0 (RFC 4443 section 3.2).
                    if !matches!(r, Repr::PacketTooBig { .. }) {
                        prop_assert_eq!(out[1], bytes[1]);
                    }
                }
            }
        }

        #[test]
        fn checksum_equals_the_reference(
            src in any::<u128>(), dst in any::<u128>(), ident in any::<u16>(), seq in any::<u16>(),
            data in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            let (src, dst) = (Ipv6Addr::from(src), Ipv6Addr::from(dst));
            let r = Repr::EchoRequest { ident, seq, data: &data };
            let mut buf = vec![0u8; r.buffer_len()];
            r.emit(src, dst, &mut Packet::new_unchecked(&mut buf[..])).unwrap();
            let ph = reference::pseudo_v6(src, dst, 58, buf.len());
            prop_assert_eq!(reference::checksum_with_field_zero(&ph, &buf, 2), get_u16(&buf, 2));
            prop_assert_eq!(reference::ones_sum(&[&ph, &buf]), 0xffff);
        }
    }
}
