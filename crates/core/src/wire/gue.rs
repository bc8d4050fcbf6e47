//! Generic UDP Encapsulation (GUE, draft-ietf-intarea-gue), the UDP tunnel type of the LVS
//! tunnel forwarding mode: outer IPv4, UDP, an optional GUE header, then the inner IP packet.
//!
//! The first two bits of the UDP payload are the GUE variant.
//!
//! Variant 0 has a 4-byte header and optional extension fields:
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | 0 |C|  Hlen   |  Proto/ctype  |             Flags             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |              Extension fields (Hlen 32-bit words)             |
//! +---------------------------------------------------------------+
//! ```
//! C set means a control message whose type is `ctype`; C clear means data whose IP protocol
//! number is `proto` (4 for IPv4, 41 for IPv6). Hlen counts the extension words after the first
//! word; Flags say which extension fields are present.
//!
//! Variant 1 is direct IP encapsulation: no GUE header at all, the UDP payload is the IPv4
//! (first nibble 0100) or IPv6 (0110) packet, whose version bits double as the variant.
//!
//! Owns the layout only; the outer IPv4 header comes from [`super::ipip`].

use super::ip::IpProtocol;
use super::ipip::{self, Outer};
use super::udp;
use super::{get_u16, set_u16, Error, Result};
use crate::buf::PacketBuf;

mod field {
    pub const VER_C_HLEN: usize = 0;
    pub const PROTO_CTYPE: usize = 1;
    pub const FLAGS: core::ops::Range<usize> = 2..4;
    pub const EXTENSIONS: usize = 4;
}

/// Length of the variant 0 base header.
pub const HEADER_LEN: usize = field::EXTENSIONS;
/// The UDP port IANA assigned to GUE.
pub const DEFAULT_PORT: u16 = 6080;

/// A view of the start of a GUE-encapsulated UDP payload.
///
/// Invariant after [`Packet::new_checked`]: the buffer holds at least 4 bytes, and for variant 0
/// at least `header_len()`. Fixed-field accessors read the first 4 bytes and are meaningful for
/// variant 0 only; [`Packet::protocol`] and [`Packet::payload`] work for both variants.
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

    /// Wraps `buffer` after checking: at least 4 bytes ([`Error::Truncated`]); variant 0 or 1
    /// ([`Error::Unsupported`]); for variant 0 the extension fields fit ([`Error::Truncated`]);
    /// for variant 1 an IPv4 or IPv6 version nibble ([`Error::Malformed`]).
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self> {
        let b = buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        match b[0] >> 6 {
            0 => {
                let hl = HEADER_LEN + usize::from(b[field::VER_C_HLEN] & 0x1f) * 4;
                if hl > b.len() {
                    return Err(Error::Truncated);
                }
            }
            1 => {
                if !matches!(b[0] >> 4, 4 | 6) {
                    return Err(Error::Malformed("GUE variant 1 payload is neither IPv4 nor IPv6"));
                }
            }
            _ => return Err(Error::Unsupported),
        }
        Ok(Packet { buffer })
    }

    /// The wrapped buffer.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Variant (0: GUE header, 1: direct IP).
    #[inline]
    pub fn variant(&self) -> u8 {
        self.buffer.as_ref()[0] >> 6
    }

    /// The C bit: a control message (variant 0).
    #[inline]
    pub fn is_control(&self) -> bool {
        self.buffer.as_ref()[field::VER_C_HLEN] & 0x20 != 0
    }

    /// Hlen: extension words after the first word (variant 0).
    #[inline]
    pub fn hlen(&self) -> u8 {
        self.buffer.as_ref()[field::VER_C_HLEN] & 0x1f
    }

    /// Bytes before the payload: `4 + 4 * hlen` for variant 0, zero for variant 1.
    #[inline]
    pub fn header_len(&self) -> usize {
        if self.variant() == 0 {
            HEADER_LEN + usize::from(self.hlen()) * 4
        } else {
            0
        }
    }

    /// Proto/ctype byte (variant 0).
    #[inline]
    pub fn proto_ctype(&self) -> u8 {
        self.buffer.as_ref()[field::PROTO_CTYPE]
    }

    /// Flags (variant 0).
    #[inline]
    pub fn flags(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::FLAGS.start)
    }

    /// Extension field bytes (variant 0; empty for variant 1).
    #[inline]
    pub fn extensions(&self) -> &[u8] {
        let hl = self.header_len();
        self.buffer.as_ref().get(HEADER_LEN..hl).unwrap_or(&[])
    }

    /// Protocol of the payload: Proto of a variant 0 data message, IPv4-in-IP or IPv6 from the
    /// version nibble of variant 1, `None` for a control message.
    #[inline]
    pub fn protocol(&self) -> Option<IpProtocol> {
        let b0 = self.buffer.as_ref()[0];
        match b0 >> 6 {
            0 if self.is_control() => None,
            0 => Some(IpProtocol::from(self.proto_ctype())),
            _ if b0 >> 4 == 6 => Some(IpProtocol::IPV6),
            _ => Some(IpProtocol::IPIP),
        }
    }

    /// The encapsulated bytes after the GUE header.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Writes the first word of a variant 0 header (hlen masked to 5 bits).
    #[inline]
    pub fn set_header(&mut self, control: bool, hlen: u8, proto_ctype: u8, flags: u16) {
        let b = self.buffer.as_mut();
        b[field::VER_C_HLEN] = (u8::from(control) << 5) | (hlen & 0x1f);
        b[field::PROTO_CTYPE] = proto_ctype;
        set_u16(b, field::FLAGS.start, flags);
    }

    /// The encapsulated bytes, writable.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let hl = self.header_len();
        &mut self.buffer.as_mut()[hl..]
    }
}

/// A GUE header without extension fields, in plain form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Repr {
    /// Variant 1: no header, the payload is an IP packet.
    Direct,
    /// Variant 0 data message carrying `protocol`.
    Data { protocol: IpProtocol },
    /// Variant 0 control message of type `ctype`.
    Control { ctype: u8 },
}

impl Repr {
    /// Reads a checked packet; variant 0 headers with extension fields or flags are
    /// [`Error::Unsupported`].
    #[inline]
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr> {
        if packet.variant() == 1 {
            return Ok(Repr::Direct);
        }
        if packet.hlen() != 0 || packet.flags() != 0 {
            return Err(Error::Unsupported);
        }
        Ok(if packet.is_control() {
            Repr::Control { ctype: packet.proto_ctype() }
        } else {
            Repr::Data { protocol: IpProtocol::from(packet.proto_ctype()) }
        })
    }

    /// 0 for [`Repr::Direct`], 4 otherwise.
    #[inline]
    pub const fn header_len(&self) -> usize {
        match self {
            Repr::Direct => 0,
            _ => HEADER_LEN,
        }
    }

    /// Same as [`Repr::header_len`]: the payload is the caller's.
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        self.header_len()
    }

    /// Writes the header (nothing for [`Repr::Direct`]). Panics if the buffer is shorter than
    /// [`Repr::header_len`].
    #[inline]
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        match *self {
            Repr::Direct => {}
            Repr::Data { protocol } => packet.set_header(false, 0, protocol.into(), 0),
            Repr::Control { ctype } => packet.set_header(true, 0, ctype, 0),
        }
    }
}

/// Wraps the IPv4 packet at the start of `buf` in outer IPv4 + UDP (`src_port` to `dst_port`,
/// checksum zero, i.e. none) + the GUE header of `repr` (use `Repr::Data { protocol:
/// IpProtocol::IPIP }` or [`Repr::Direct`] for an IPv4 inner packet). Errors as
/// [`ipip::encapsulate_with`]; `buf` is unchanged on error.
pub fn encapsulate<B: PacketBuf + ?Sized>(
    buf: &mut B,
    outer: &Outer,
    src_port: u16,
    dst_port: u16,
    repr: &Repr,
) -> Result<()> {
    let extra = udp::HEADER_LEN + repr.header_len();
    ipip::encapsulate_with(buf, outer, IpProtocol::UDP, extra)?;
    let d = buf.data_mut();
    let udp_len = d.len() - ipip::OUTER_LEN;
    let udp_repr =
        udp::Repr { src_port, dst_port, payload_len: (udp_len - udp::HEADER_LEN) as u16 };
    let (_, rest) = d.split_at_mut(ipip::OUTER_LEN);
    let (udp_hdr, rest) = rest.split_at_mut(udp::HEADER_LEN);
    udp_repr.emit(&mut udp::Packet::new_unchecked(udp_hdr));
    repr.emit(&mut Packet::new_unchecked(rest));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buf::VecBuf;
    use crate::wire::ipv4;
    use proptest::prelude::*;
    use std::net::Ipv4Addr;

    // Variant 0 data header carrying IPv4 (proto 4), then the first bytes of an IPv4 header.
    const DATA_V4: [u8; 6] = [
        0x00, // variant 0, C clear, Hlen 0
        0x04, // proto: IPv4
        0x00, 0x00, // flags
        0x45, 0x00, // payload
    ];

    #[test]
    fn parse_variant0_golden() {
        let p = Packet::new_checked(&DATA_V4[..]).unwrap();
        assert_eq!((p.variant(), p.is_control(), p.hlen(), p.header_len()), (0, false, 0, 4));
        assert_eq!(p.protocol(), Some(IpProtocol::IPIP));
        assert_eq!(p.payload(), &[0x45, 0x00]);
        let r = Repr::parse(&p).unwrap();
        assert_eq!(r, Repr::Data { protocol: IpProtocol::IPIP });
        let mut out = [0xffu8; 4];
        r.emit(&mut Packet::new_unchecked(&mut out[..]));
        assert_eq!(out, DATA_V4[..4]);
    }

    #[test]
    fn control_and_extensions() {
        // C set, Hlen 1, ctype 7, flags 0x8000, one extension word.
        let b = [0x21, 0x07, 0x80, 0x00, 1, 2, 3, 4, 0xaa];
        let p = Packet::new_checked(&b[..]).unwrap();
        assert!(p.is_control());
        assert_eq!(p.protocol(), None);
        assert_eq!(p.header_len(), 8);
        assert_eq!(p.extensions(), &[1, 2, 3, 4]);
        assert_eq!(p.payload(), &[0xaa]);
        assert_eq!(Repr::parse(&p), Err(Error::Unsupported));
        assert_eq!(Packet::new_checked(&b[..7]).unwrap_err(), Error::Truncated);
        let mut out = [0u8; 4];
        Repr::Control { ctype: 7 }.emit(&mut Packet::new_unchecked(&mut out[..]));
        assert_eq!(out, [0x20, 0x07, 0, 0]);
    }

    #[test]
    fn variant1_direct() {
        let v4 = [0x45, 0, 0, 20];
        let p = Packet::new_checked(&v4[..]).unwrap();
        assert_eq!(p.variant(), 1);
        assert_eq!(p.header_len(), 0);
        assert_eq!(p.protocol(), Some(IpProtocol::IPIP));
        assert_eq!(p.payload(), &v4);
        assert_eq!(Repr::parse(&p), Ok(Repr::Direct));
        let v6 = [0x60, 0, 0, 0];
        assert_eq!(Packet::new_checked(&v6[..]).unwrap().protocol(), Some(IpProtocol::IPV6));
        assert!(matches!(Packet::new_checked(&[0x55, 0, 0, 0][..]), Err(Error::Malformed(_))));
        assert_eq!(Packet::new_checked(&[0x80, 0, 0, 0][..]).unwrap_err(), Error::Unsupported);
        assert_eq!(Packet::new_checked(&[0x00, 4, 0][..]).unwrap_err(), Error::Truncated);
    }

    #[test]
    fn encapsulate_ipv4_in_gue() {
        let inner_repr = ipv4::Repr {
            src_addr: Ipv4Addr::new(198, 51, 100, 7),
            dst_addr: Ipv4Addr::new(203, 0, 113, 10),
            protocol: IpProtocol::UDP,
            payload_len: 12,
            ttl: 60,
            tos: 0,
            ident: 1,
            dont_frag: false,
        };
        let mut inner = vec![0x5au8; inner_repr.buffer_len()];
        inner_repr.emit(&mut ipv4::Packet::new_unchecked(&mut inner[..]));
        let outer = Outer {
            src: Ipv4Addr::new(10, 0, 0, 1),
            dst: Ipv4Addr::new(10, 0, 0, 20),
            ttl: 64,
            ident: 3,
        };
        for (repr, gue_len) in [(Repr::Data { protocol: IpProtocol::IPIP }, 4), (Repr::Direct, 0)] {
            let mut buf = VecBuf::from_slice(&inner);
            encapsulate(&mut buf, &outer, 40001, DEFAULT_PORT, &repr).unwrap();
            let o = ipv4::Packet::new_checked(buf.data()).unwrap();
            assert!(o.verify_checksum());
            assert_eq!(o.protocol(), IpProtocol::UDP);
            assert_eq!(usize::from(o.total_len()), 20 + 8 + gue_len + inner.len());
            let u = udp::Packet::new_checked(o.payload()).unwrap();
            assert_eq!((u.src_port(), u.dst_port()), (40001, 6080));
            assert_eq!(usize::from(u.len()), 8 + gue_len + inner.len());
            assert_eq!(u.checksum(), 0);
            let g = Packet::new_checked(u.payload()).unwrap();
            assert_eq!(Repr::parse(&g).unwrap(), repr);
            assert_eq!(g.protocol(), Some(IpProtocol::IPIP));
            assert_eq!(g.payload(), &inner[..]);
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            if let Ok(p) = Packet::new_checked(&bytes[..]) {
                let _ = (p.variant(), p.is_control(), p.hlen(), p.header_len(), p.proto_ctype());
                let _ = (p.flags(), p.extensions(), p.protocol(), p.payload());
                if let Ok(r) = Repr::parse(&p) {
                    prop_assert_eq!(r.header_len(), p.header_len());
                }
            }
        }
    }
}
