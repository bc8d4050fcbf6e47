//! ICMP for IPv4 (RFC 792, RFC 1191 for the next-hop MTU): echo, destination unreachable and
//! time exceeded, the messages a director answers or relates to a conn.
//!
//! Layout (8-byte header, then data):
//! ```text
//!  0       1       2               4               6               8
//! +-------+-------+---------------+---------------+---------------+---------
//! | Type  | Code  |   Checksum    |  Identifier   | Sequence No.  | echo data      (echo)
//! |       |       |               |    unused     | Next-hop MTU  | IP header + 8  (unreachable)
//! |       |       |               |            unused             | IP header + 8  (time exceeded)
//! +-------+-------+---------------+---------------+---------------+---------
//! ```
//! The checksum covers the whole ICMP message, so the view's buffer must be exactly the message
//! (the IPv4 payload), not more. Errors quote the offending datagram's IP header and at least
//! its first 8 payload bytes; [`Packet::quoted_ipv4`] views that quote's header and [`Quoted`]
//! the quote with its transport tuple.

use std::net::Ipv4Addr;

use super::checksum;
use super::ip::IpProtocol;
use super::ipv4;
use super::tuple::Tuple;
use super::{get_u16, set_u16, Error, Field, Result};

mod field {
    use super::Field;
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Field = 2..4;
    pub const IDENT: Field = 4..6;
    pub const SEQ: Field = 6..8;
    pub const UNUSED: Field = 4..8;
    pub const MTU: Field = 6..8;
    pub const DATA: usize = 8;
}

/// Length of the ICMP header.
pub const HEADER_LEN: usize = field::DATA;

/// The ICMP message type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Message {
    /// 0.
    EchoReply,
    /// 3.
    DstUnreachable,
    /// 5.
    Redirect,
    /// 8.
    EchoRequest,
    /// 11.
    TimeExceeded,
    /// 12.
    ParamProblem,
    /// Any other type.
    Unknown(u8),
}

impl From<u8> for Message {
    #[inline]
    fn from(v: u8) -> Self {
        match v {
            0 => Message::EchoReply,
            3 => Message::DstUnreachable,
            5 => Message::Redirect,
            8 => Message::EchoRequest,
            11 => Message::TimeExceeded,
            12 => Message::ParamProblem,
            other => Message::Unknown(other),
        }
    }
}

impl From<Message> for u8 {
    #[inline]
    fn from(m: Message) -> u8 {
        match m {
            Message::EchoReply => 0,
            Message::DstUnreachable => 3,
            Message::Redirect => 5,
            Message::EchoRequest => 8,
            Message::TimeExceeded => 11,
            Message::ParamProblem => 12,
            Message::Unknown(v) => v,
        }
    }
}

impl Message {
    /// Whether this type is an error that quotes an offending datagram.
    #[inline]
    pub fn is_error(&self) -> bool {
        matches!(
            self,
            Message::DstUnreachable
                | Message::Redirect
                | Message::TimeExceeded
                | Message::ParamProblem
        )
    }
}

/// Codes of destination unreachable (RFC 792, RFC 1122, RFC 1812).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DstUnreachable {
    /// 0.
    NetUnreachable,
    /// 1.
    HostUnreachable,
    /// 2.
    ProtoUnreachable,
    /// 3.
    PortUnreachable,
    /// 4: fragmentation needed and DF set; carries the next-hop MTU (RFC 1191).
    FragRequired,
    /// 5.
    SrcRouteFailed,
    /// 13: communication administratively prohibited.
    AdminProhibited,
    /// Any other code.
    Unknown(u8),
}

impl From<u8> for DstUnreachable {
    #[inline]
    fn from(v: u8) -> Self {
        match v {
            0 => DstUnreachable::NetUnreachable,
            1 => DstUnreachable::HostUnreachable,
            2 => DstUnreachable::ProtoUnreachable,
            3 => DstUnreachable::PortUnreachable,
            4 => DstUnreachable::FragRequired,
            5 => DstUnreachable::SrcRouteFailed,
            13 => DstUnreachable::AdminProhibited,
            other => DstUnreachable::Unknown(other),
        }
    }
}

impl From<DstUnreachable> for u8 {
    #[inline]
    fn from(c: DstUnreachable) -> u8 {
        match c {
            DstUnreachable::NetUnreachable => 0,
            DstUnreachable::HostUnreachable => 1,
            DstUnreachable::ProtoUnreachable => 2,
            DstUnreachable::PortUnreachable => 3,
            DstUnreachable::FragRequired => 4,
            DstUnreachable::SrcRouteFailed => 5,
            DstUnreachable::AdminProhibited => 13,
            DstUnreachable::Unknown(v) => v,
        }
    }
}

/// Codes of time exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeExceeded {
    /// 0: TTL reached zero in transit.
    TtlExpired,
    /// 1: fragment reassembly time exceeded.
    FragReassembly,
    /// Any other code.
    Unknown(u8),
}

impl From<u8> for TimeExceeded {
    #[inline]
    fn from(v: u8) -> Self {
        match v {
            0 => TimeExceeded::TtlExpired,
            1 => TimeExceeded::FragReassembly,
            other => TimeExceeded::Unknown(other),
        }
    }
}

impl From<TimeExceeded> for u8 {
    #[inline]
    fn from(c: TimeExceeded) -> u8 {
        match c {
            TimeExceeded::TtlExpired => 0,
            TimeExceeded::FragReassembly => 1,
            TimeExceeded::Unknown(v) => v,
        }
    }
}

/// A view of an ICMPv4 message.
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

    /// Next-hop MTU of "fragmentation needed" (zero from routers older than RFC 1191).
    #[inline]
    pub fn next_hop_mtu(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::MTU.start)
    }

    /// The bytes after the 8-byte header: echo data, or the quoted datagram of an error.
    #[inline]
    pub fn data(&self) -> &[u8] {
        &self.buffer.as_ref()[field::DATA..]
    }

    /// Views the IPv4 header quoted in an error message (header checks as
    /// [`ipv4::Packet::new_checked_header`]; its `payload()` is the quoted part of the original
    /// payload, normally the first 8 bytes: the ports of TCP/UDP).
    #[inline]
    pub fn quoted_ipv4(&self) -> Result<ipv4::Packet<&[u8]>> {
        ipv4::Packet::new_checked_header(self.data())
    }

    /// Views the datagram quoted in an error message with its transport ports ([`Quoted`]).
    #[inline]
    pub fn quoted(&self) -> Result<Quoted<'_>> {
        Quoted::new_checked(self.data())
    }

    /// Whether the checksum over the whole buffer is correct.
    #[inline]
    pub fn verify_checksum(&self) -> bool {
        checksum::sum(self.buffer.as_ref()) == 0xffff
    }
}

/// Byte ranges of the transport bytes an ICMP error quotes (from the start of the quoted
/// IPv4 payload): TCP/UDP ports, the quoted echo's type and identifier.
mod quoted_field {
    use super::Field;
    pub const SRC_PORT: Field = 0..2;
    pub const DST_PORT: Field = 2..4;
    pub const ECHO_TYPE: usize = 0;
    pub const ECHO_IDENT: Field = 4..6;
}

/// The datagram an ICMP error quotes: its IPv4 header and the first bytes of its payload (at
/// least 8 by RFC 792; the ports of TCP/UDP, the type and identifier of an ICMP echo).
///
/// `new_checked` checks the quoted header as [`ipv4::Packet::new_checked_header`] and that the
/// quoted payload holds what the quoted protocol's tuple needs: the two ports of TCP or UDP, or
/// an ICMP echo request or reply with its identifier; other protocols are
/// [`Error::Unsupported`]. After it no accessor panics.
#[derive(Debug, Clone)]
pub struct Quoted<'a> {
    ip: ipv4::Packet<&'a [u8]>,
    /// The quoted payload: from the end of the quoted header to the quoted Total Length,
    /// clamped to the message.
    l4: &'a [u8],
}

impl<'a> Quoted<'a> {
    /// Views the quoted datagram at the start of `data` (an error message's data, after its
    /// 8-byte ICMP header).
    pub fn new_checked(data: &'a [u8]) -> Result<Quoted<'a>> {
        let ip = ipv4::Packet::new_checked_header(data)?;
        let hl = ip.header_len();
        let end = usize::from(ip.total_len()).max(hl).min(data.len());
        let l4 = data.get(hl..end).ok_or(Error::Truncated)?;
        let need = match ip.protocol() {
            IpProtocol::TCP | IpProtocol::UDP => quoted_field::DST_PORT.end,
            IpProtocol::ICMP => {
                match l4.get(quoted_field::ECHO_TYPE).map(|&t| Message::from(t)) {
                    Some(Message::EchoRequest | Message::EchoReply) => {}
                    Some(_) => return Err(Error::Malformed("quoted ICMP is not an echo")),
                    None => return Err(Error::Truncated),
                }
                quoted_field::ECHO_IDENT.end
            }
            _ => return Err(Error::Unsupported),
        };
        if l4.len() < need {
            return Err(Error::Truncated);
        }
        Ok(Quoted { ip, l4 })
    }

    /// The quoted IPv4 header (its Total Length describes the original datagram).
    #[inline]
    pub fn ip(&self) -> &ipv4::Packet<&'a [u8]> {
        &self.ip
    }

    /// Length of the quoted header.
    #[inline]
    pub fn header_len(&self) -> usize {
        self.ip.header_len()
    }

    /// Bytes of the quoted payload the message holds.
    #[inline]
    pub fn payload_len(&self) -> usize {
        self.l4.len()
    }

    /// For a quoted ICMP echo: request (`Some(true)`) or reply; `None` for TCP/UDP.
    #[inline]
    pub fn echo_request(&self) -> Option<bool> {
        (self.ip.protocol() == IpProtocol::ICMP)
            .then(|| Message::from(self.l4[quoted_field::ECHO_TYPE]) == Message::EchoRequest)
    }

    /// The quoted datagram's tuple: protocol, addresses and ports (for an echo, both ports
    /// are its identifier).
    #[inline]
    pub fn tuple(&self) -> Tuple<Ipv4Addr> {
        let (sport, dport) = if self.ip.protocol() == IpProtocol::ICMP {
            let id = get_u16(self.l4, quoted_field::ECHO_IDENT.start);
            (id, id)
        } else {
            (
                get_u16(self.l4, quoted_field::SRC_PORT.start),
                get_u16(self.l4, quoted_field::DST_PORT.start),
            )
        };
        Tuple::new(self.ip.protocol(), self.ip.src_addr(), sport, self.ip.dst_addr(), dport)
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

    /// Zeroes bytes 4..8 (the unused field of errors).
    #[inline]
    pub fn clear_rest_of_header(&mut self) {
        self.buffer.as_mut()[field::UNUSED].fill(0);
    }

    /// Sets the next-hop MTU of "fragmentation needed".
    #[inline]
    pub fn set_next_hop_mtu(&mut self, mtu: u16) {
        set_u16(self.buffer.as_mut(), field::MTU.start, mtu);
    }

    /// The bytes after the header, writable.
    #[inline]
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::DATA..]
    }

    /// Computes and writes the checksum over the whole buffer.
    #[inline]
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let c = checksum::checksum(self.buffer.as_ref());
        self.set_checksum(c);
    }

    /// Turns an echo request into its reply in place: type 0, code 0, checksum updated
    /// incrementally (identifier, sequence number and data stay).
    #[inline]
    pub fn make_echo_reply(&mut self) {
        let b = self.buffer.as_ref();
        let old = u16::from_be_bytes([b[field::TYPE], b[field::CODE]]);
        let c = checksum::update_u16(self.checksum(), old, 0);
        self.set_msg_type(Message::EchoReply);
        self.set_msg_code(0);
        self.set_checksum(c);
    }
}

/// The ICMPv4 messages the director handles, in plain form. Quoted datagrams and echo data are
/// borrowed from the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repr<'a> {
    EchoRequest {
        ident: u16,
        seq_no: u16,
        data: &'a [u8],
    },
    EchoReply {
        ident: u16,
        seq_no: u16,
        data: &'a [u8],
    },
    /// `next_hop_mtu` is meaningful for [`DstUnreachable::FragRequired`] and zero otherwise.
    DstUnreachable {
        reason: DstUnreachable,
        next_hop_mtu: u16,
        quote: &'a [u8],
    },
    TimeExceeded {
        reason: TimeExceeded,
        quote: &'a [u8],
    },
}

impl<'a> Repr<'a> {
    /// Reads a checked packet. Other types, and echo messages with a nonzero code, are
    /// [`Error::Unsupported`]. Does not verify the checksum.
    #[inline]
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&'a T>) -> Result<Repr<'a>> {
        let data = &packet.buffer.as_ref()[field::DATA..];
        match (packet.msg_type(), packet.msg_code()) {
            (Message::EchoRequest, 0) => Ok(Repr::EchoRequest {
                ident: packet.echo_ident(),
                seq_no: packet.echo_seq(),
                data,
            }),
            (Message::EchoReply, 0) => {
                Ok(Repr::EchoReply { ident: packet.echo_ident(), seq_no: packet.echo_seq(), data })
            }
            (Message::DstUnreachable, code) => {
                let reason = DstUnreachable::from(code);
                let next_hop_mtu = match reason {
                    DstUnreachable::FragRequired => packet.next_hop_mtu(),
                    _ => 0,
                };
                Ok(Repr::DstUnreachable { reason, next_hop_mtu, quote: data })
            }
            (Message::TimeExceeded, code) => {
                Ok(Repr::TimeExceeded { reason: TimeExceeded::from(code), quote: data })
            }
            _ => Err(Error::Unsupported),
        }
    }

    /// 8.
    #[inline]
    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }

    /// Header plus data or quote.
    #[inline]
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN
            + match self {
                Repr::EchoRequest { data, .. } | Repr::EchoReply { data, .. } => data.len(),
                Repr::DstUnreachable { quote, .. } | Repr::TimeExceeded { quote, .. } => {
                    quote.len()
                }
            }
    }

    /// Writes the message and its checksum. The buffer must be exactly [`Repr::buffer_len`] bytes
    /// (the checksum covers all of it); panics if it is shorter.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        let body: &[u8] = match *self {
            Repr::EchoRequest { ident, seq_no, data } | Repr::EchoReply { ident, seq_no, data } => {
                let m = match self {
                    Repr::EchoRequest { .. } => Message::EchoRequest,
                    _ => Message::EchoReply,
                };
                packet.set_msg_type(m);
                packet.set_msg_code(0);
                packet.set_echo_ident(ident);
                packet.set_echo_seq(seq_no);
                data
            }
            Repr::DstUnreachable { reason, next_hop_mtu, quote } => {
                packet.set_msg_type(Message::DstUnreachable);
                packet.set_msg_code(reason.into());
                packet.clear_rest_of_header();
                if reason == DstUnreachable::FragRequired {
                    packet.set_next_hop_mtu(next_hop_mtu);
                }
                quote
            }
            Repr::TimeExceeded { reason, quote } => {
                packet.set_msg_type(Message::TimeExceeded);
                packet.set_msg_code(reason.into());
                packet.clear_rest_of_header();
                quote
            }
        };
        packet.data_mut()[..body.len()].copy_from_slice(body);
        packet.fill_checksum();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::Ipv4Addr;

    /// The test kit's reference checksum, the checksum field taken as zero.
    fn naive_checksum(msg: &[u8]) -> u16 {
        crate::testkit::checksum::checksum_with_field_zero(&[], msg, 2)
    }

    // An echo request, identifier 0x1234, sequence 1, data "abcd", built from RFC 792.
    // Sum: 0800 + 1234 + 0001 + 6162 + 6364 = defb; checksum = !defb = 2104.
    const ECHO: [u8; 12] = [
        0x08, // type: echo request
        0x00, // code
        0x21, 0x04, // checksum
        0x12, 0x34, // identifier
        0x00, 0x01, // sequence number
        b'a', b'b', b'c', b'd', // data
    ];

    #[test]
    fn golden_echo_request() {
        assert_eq!(naive_checksum(&ECHO), 0x2104);
        let p = Packet::new_checked(&ECHO[..]).unwrap();
        assert!(p.verify_checksum());
        let r = Repr::parse(&p).unwrap();
        assert_eq!(r, Repr::EchoRequest { ident: 0x1234, seq_no: 1, data: b"abcd" });
        let mut out = vec![0xffu8; r.buffer_len()];
        r.emit(&mut Packet::new_unchecked(&mut out[..]));
        assert_eq!(out, ECHO);
    }

    #[test]
    fn echo_reply_in_place() {
        let mut b = ECHO;
        Packet::new_unchecked(&mut b[..]).make_echo_reply();
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.msg_type(), Message::EchoReply);
        assert!(p.verify_checksum());
        assert_eq!(p.checksum(), naive_checksum(&b));
    }

    fn quote() -> Vec<u8> {
        // Original datagram: TCP 10.0.0.1:40000 -> 10.0.0.2:80, total length 1500, DF.
        let r = crate::wire::ipv4::Repr {
            src_addr: Ipv4Addr::new(10, 0, 0, 1),
            dst_addr: Ipv4Addr::new(10, 0, 0, 2),
            protocol: crate::wire::IpProtocol::TCP,
            payload_len: 1480,
            ttl: 63,
            tos: 0,
            ident: 7,
            dont_frag: true,
        };
        let mut q = vec![0u8; 28];
        r.emit(&mut ipv4::Packet::new_unchecked(&mut q[..]));
        q[20..28].copy_from_slice(&[0x9c, 0x40, 0x00, 0x50, 0, 0, 0, 1]);
        q
    }

    #[test]
    fn frag_needed_with_quote() {
        let q = quote();
        let r = Repr::DstUnreachable {
            reason: DstUnreachable::FragRequired,
            next_hop_mtu: 1400,
            quote: &q,
        };
        let mut out = vec![0xaau8; r.buffer_len()];
        r.emit(&mut Packet::new_unchecked(&mut out[..]));
        assert_eq!(&out[..8], &[3, 4, out[2], out[3], 0, 0, 0x05, 0x78]);
        assert_eq!(u16::from_be_bytes([out[2], out[3]]), naive_checksum(&out));
        let p = Packet::new_checked(&out[..]).unwrap();
        assert!(p.verify_checksum());
        assert_eq!(p.next_hop_mtu(), 1400);
        assert_eq!(Repr::parse(&p).unwrap(), r);
        let inner = p.quoted_ipv4().unwrap();
        assert_eq!(inner.dst_addr(), Ipv4Addr::new(10, 0, 0, 2));
        assert_eq!(inner.total_len(), 1500);
        assert_eq!(inner.payload(), &[0x9c, 0x40, 0x00, 0x50, 0, 0, 0, 1]);
    }

    #[test]
    fn time_exceeded_and_port_unreachable() {
        let q = quote();
        for r in [
            Repr::TimeExceeded { reason: TimeExceeded::TtlExpired, quote: &q },
            Repr::DstUnreachable {
                reason: DstUnreachable::PortUnreachable,
                next_hop_mtu: 0,
                quote: &q,
            },
        ] {
            let mut out = vec![0xaau8; r.buffer_len()];
            r.emit(&mut Packet::new_unchecked(&mut out[..]));
            assert_eq!(&out[4..8], &[0, 0, 0, 0]);
            let p = Packet::new_checked(&out[..]).unwrap();
            assert!(p.verify_checksum() && p.msg_type().is_error());
            assert_eq!(Repr::parse(&p).unwrap(), r);
        }
    }

    #[test]
    fn refusals() {
        assert_eq!(Packet::new_checked(&ECHO[..7]).unwrap_err(), Error::Truncated);
        let mut b = ECHO;
        b[0] = 13; // timestamp
        assert_eq!(Repr::parse(&Packet::new_checked(&b[..]).unwrap()), Err(Error::Unsupported));
        let mut b = ECHO;
        b[1] = 1; // echo with a nonzero code
        assert_eq!(Repr::parse(&Packet::new_checked(&b[..]).unwrap()), Err(Error::Unsupported));
        let mut b = ECHO;
        b[5] ^= 1;
        assert!(!Packet::new_checked(&b[..]).unwrap().verify_checksum());
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            if let Ok(p) = Packet::new_checked(&bytes[..]) {
                let _ = (p.msg_type(), p.msg_code(), p.checksum(), p.echo_ident(), p.echo_seq());
                let _ = (p.next_hop_mtu(), p.data(), p.verify_checksum());
                if let Ok(q) = p.quoted_ipv4() {
                    let _ = (q.src_addr(), q.dst_addr(), q.protocol(), q.payload(), q.options());
                }
                if let Ok(r) = Repr::parse(&p) {
                    prop_assert_eq!(r.buffer_len(), bytes.len());
                }
            }
        }

        #[test]
        fn echo_round_trip(
            ident in any::<u16>(), seq in any::<u16>(),
            data in proptest::collection::vec(any::<u8>(), 0..100), reply in any::<bool>(),
        ) {
            let r = if reply {
                Repr::EchoReply { ident, seq_no: seq, data: &data }
            } else {
                Repr::EchoRequest { ident, seq_no: seq, data: &data }
            };
            let mut out = vec![0u8; r.buffer_len()];
            r.emit(&mut Packet::new_unchecked(&mut out[..]));
            prop_assert_eq!(u16::from_be_bytes([out[2], out[3]]), naive_checksum(&out));
            let p = Packet::new_checked(&out[..]).unwrap();
            prop_assert!(p.verify_checksum());
            prop_assert_eq!(Repr::parse(&p).unwrap(), r);
        }

        #[test]
        fn make_echo_reply_equals_full(
            ident in any::<u16>(), seq in any::<u16>(),
            data in proptest::collection::vec(any::<u8>(), 0..100),
        ) {
            let r = Repr::EchoRequest { ident, seq_no: seq, data: &data };
            let mut out = vec![0u8; r.buffer_len()];
            r.emit(&mut Packet::new_unchecked(&mut out[..]));
            Packet::new_unchecked(&mut out[..]).make_echo_reply();
            prop_assert_eq!(u16::from_be_bytes([out[2], out[3]]), naive_checksum(&out));
        }
    }
}
