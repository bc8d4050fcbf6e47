//! ARP (RFC 826) for Ethernet and IPv4 only, the one combination a director answers.
//!
//! Layout (28 bytes for Ethernet/IPv4):
//! ```text
//!  0      2      4    5    6      8             14       18            24       28
//! +------+------+----+----+------+-------------+--------+-------------+--------+
//! |HTYPE |PTYPE |HLEN|PLEN| OPER | sender MAC  | sender | target MAC  | target |
//! |  1   |0x0800|  6 |  4 |      |             |  IPv4  |             |  IPv4  |
//! +------+------+----+----+------+-------------+--------+-------------+--------+
//! ```
//! [`Packet::new_checked`] refuses other hardware/protocol combinations with
//! [`Error::Unsupported`], so the named address accessors always read the right bytes.

use std::net::Ipv4Addr;

use super::ethernet::MacAddr;
use super::{get_u16, get_u32, set_u16, set_u32, Error, Field, Result};

mod field {
    use super::Field;
    pub const HTYPE: Field = 0..2;
    pub const PTYPE: Field = 2..4;
    pub const HLEN: usize = 4;
    pub const PLEN: usize = 5;
    pub const OPER: Field = 6..8;
    pub const SHA: Field = 8..14;
    pub const SPA: Field = 14..18;
    pub const THA: Field = 18..24;
    pub const TPA: Field = 24..28;
}

/// Length of an Ethernet/IPv4 ARP packet.
pub const PACKET_LEN: usize = field::TPA.end;
/// Hardware type Ethernet.
pub const HTYPE_ETHERNET: u16 = 1;
/// Protocol type IPv4 (its EtherType).
pub const PTYPE_IPV4: u16 = 0x0800;

/// The ARP operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// 1: who has the target protocol address?
    Request,
    /// 2: the sender hardware address has the sender protocol address.
    Reply,
    /// Any other value.
    Unknown(u16),
}

impl From<u16> for Operation {
    #[inline]
    fn from(v: u16) -> Self {
        match v {
            1 => Operation::Request,
            2 => Operation::Reply,
            other => Operation::Unknown(other),
        }
    }
}

impl From<Operation> for u16 {
    #[inline]
    fn from(op: Operation) -> u16 {
        match op {
            Operation::Request => 1,
            Operation::Reply => 2,
            Operation::Unknown(v) => v,
        }
    }
}

/// A view of an Ethernet/IPv4 ARP packet.
///
/// Invariant after [`Packet::new_checked`]: the buffer holds at least [`PACKET_LEN`] bytes and the
/// format fields say Ethernet (6-byte) over IPv4 (4-byte).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps `buffer` without checks; accessors panic if it is shorter than [`PACKET_LEN`].
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Self {
        Packet { buffer }
    }

    /// Wraps `buffer` after checking its length ([`Error::Truncated`]) and that it is
    /// Ethernet/IPv4 ARP ([`Error::Unsupported`]). Trailing bytes (Ethernet padding) are allowed.
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Packet { buffer };
        if p.buffer.as_ref().len() < PACKET_LEN {
            return Err(Error::Truncated);
        }
        if p.hardware_type() != HTYPE_ETHERNET
            || p.protocol_type() != PTYPE_IPV4
            || p.hardware_len() != 6
            || p.protocol_len() != 4
        {
            return Err(Error::Unsupported);
        }
        Ok(p)
    }

    /// The wrapped buffer.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Hardware type (1 = Ethernet).
    #[inline]
    pub fn hardware_type(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::HTYPE.start)
    }

    /// Protocol type (0x0800 = IPv4).
    #[inline]
    pub fn protocol_type(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::PTYPE.start)
    }

    /// Hardware address length.
    #[inline]
    pub fn hardware_len(&self) -> u8 {
        self.buffer.as_ref()[field::HLEN]
    }

    /// Protocol address length.
    #[inline]
    pub fn protocol_len(&self) -> u8 {
        self.buffer.as_ref()[field::PLEN]
    }

    /// Operation.
    #[inline]
    pub fn operation(&self) -> Operation {
        Operation::from(get_u16(self.buffer.as_ref(), field::OPER.start))
    }

    /// Sender hardware address.
    #[inline]
    pub fn sender_mac(&self) -> MacAddr {
        let mut a = [0u8; 6];
        a.copy_from_slice(&self.buffer.as_ref()[field::SHA]);
        MacAddr(a)
    }

    /// Sender protocol address.
    #[inline]
    pub fn sender_ip(&self) -> Ipv4Addr {
        Ipv4Addr::from(get_u32(self.buffer.as_ref(), field::SPA.start))
    }

    /// Target hardware address.
    #[inline]
    pub fn target_mac(&self) -> MacAddr {
        let mut a = [0u8; 6];
        a.copy_from_slice(&self.buffer.as_ref()[field::THA]);
        MacAddr(a)
    }

    /// Target protocol address.
    #[inline]
    pub fn target_ip(&self) -> Ipv4Addr {
        Ipv4Addr::from(get_u32(self.buffer.as_ref(), field::TPA.start))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Writes the four format fields for Ethernet/IPv4.
    #[inline]
    pub fn set_ethernet_ipv4_format(&mut self) {
        let b = self.buffer.as_mut();
        set_u16(b, field::HTYPE.start, HTYPE_ETHERNET);
        set_u16(b, field::PTYPE.start, PTYPE_IPV4);
        b[field::HLEN] = 6;
        b[field::PLEN] = 4;
    }

    /// Sets the operation.
    #[inline]
    pub fn set_operation(&mut self, op: Operation) {
        set_u16(self.buffer.as_mut(), field::OPER.start, op.into());
    }

    /// Sets the sender hardware address.
    #[inline]
    pub fn set_sender_mac(&mut self, mac: MacAddr) {
        self.buffer.as_mut()[field::SHA].copy_from_slice(&mac.0);
    }

    /// Sets the sender protocol address.
    #[inline]
    pub fn set_sender_ip(&mut self, ip: Ipv4Addr) {
        set_u32(self.buffer.as_mut(), field::SPA.start, ip.into());
    }

    /// Sets the target hardware address.
    #[inline]
    pub fn set_target_mac(&mut self, mac: MacAddr) {
        self.buffer.as_mut()[field::THA].copy_from_slice(&mac.0);
    }

    /// Sets the target protocol address.
    #[inline]
    pub fn set_target_ip(&mut self, ip: Ipv4Addr) {
        set_u32(self.buffer.as_mut(), field::TPA.start, ip.into());
    }
}

/// An Ethernet/IPv4 ARP packet in plain form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    pub operation: Operation,
    pub sender_mac: MacAddr,
    pub sender_ip: Ipv4Addr,
    pub target_mac: MacAddr,
    pub target_ip: Ipv4Addr,
}

impl Repr {
    /// Reads a checked packet (any operation value is kept; the caller decides what to answer).
    #[inline]
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr> {
        Ok(Repr {
            operation: packet.operation(),
            sender_mac: packet.sender_mac(),
            sender_ip: packet.sender_ip(),
            target_mac: packet.target_mac(),
            target_ip: packet.target_ip(),
        })
    }

    /// Length of the packet this emits: [`PACKET_LEN`].
    #[inline]
    pub const fn header_len(&self) -> usize {
        PACKET_LEN
    }

    /// Bytes [`Repr::emit`] writes: [`PACKET_LEN`].
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        PACKET_LEN
    }

    /// Writes the packet. Panics if the buffer is shorter than [`PACKET_LEN`].
    #[inline]
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_ethernet_ipv4_format();
        packet.set_operation(self.operation);
        packet.set_sender_mac(self.sender_mac);
        packet.set_sender_ip(self.sender_ip);
        packet.set_target_mac(self.target_mac);
        packet.set_target_ip(self.target_ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // "Who has 192.168.1.1? Tell 192.168.1.100", built field by field from RFC 826.
    const REQUEST: [u8; 28] = [
        0x00, 0x01, // HTYPE: Ethernet
        0x08, 0x00, // PTYPE: IPv4
        0x06, // HLEN
        0x04, // PLEN
        0x00, 0x01, // OPER: request
        0x52, 0x54, 0x00, 0x12, 0x34, 0x56, // sender MAC 52:54:00:12:34:56
        0xc0, 0xa8, 0x01, 0x64, // sender IP 192.168.1.100
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // target MAC unknown
        0xc0, 0xa8, 0x01, 0x01, // target IP 192.168.1.1
    ];

    fn request_repr() -> Repr {
        Repr {
            operation: Operation::Request,
            sender_mac: MacAddr([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]),
            sender_ip: Ipv4Addr::new(192, 168, 1, 100),
            target_mac: MacAddr::ZERO,
            target_ip: Ipv4Addr::new(192, 168, 1, 1),
        }
    }

    #[test]
    fn parse_golden_request() {
        let p = Packet::new_checked(&REQUEST[..]).unwrap();
        assert_eq!(Repr::parse(&p).unwrap(), request_repr());
    }

    #[test]
    fn emit_golden_request() {
        let r = request_repr();
        let mut out = vec![0xeeu8; r.buffer_len()];
        r.emit(&mut Packet::new_unchecked(&mut out[..]));
        assert_eq!(out, REQUEST);
    }

    #[test]
    fn padded_packet_is_accepted() {
        // Ethernet pads ARP to 46 bytes of payload.
        let mut padded = REQUEST.to_vec();
        padded.resize(46, 0);
        assert_eq!(
            Repr::parse(&Packet::new_checked(&padded[..]).unwrap()).unwrap(),
            request_repr()
        );
    }

    #[test]
    fn refusals() {
        assert_eq!(Packet::new_checked(&REQUEST[..27]).unwrap_err(), Error::Truncated);
        for (at, v) in [(1, 6), (2, 0x86), (4, 8), (5, 16)] {
            let mut b = REQUEST;
            b[at] = v;
            assert_eq!(Packet::new_checked(&b[..]).unwrap_err(), Error::Unsupported, "byte {at}");
        }
    }

    #[test]
    fn operations() {
        assert_eq!(Operation::from(1), Operation::Request);
        assert_eq!(Operation::from(2), Operation::Reply);
        assert_eq!(Operation::from(3), Operation::Unknown(3));
        assert_eq!(u16::from(Operation::Reply), 2);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            if let Ok(p) = Packet::new_checked(&bytes[..]) {
                let r = Repr::parse(&p).unwrap();
                let mut out = [0u8; PACKET_LEN];
                r.emit(&mut Packet::new_unchecked(&mut out[..]));
                prop_assert_eq!(&out[..], &bytes[..PACKET_LEN]);
            }
        }

        #[test]
        fn valid_format_never_panics(tail in proptest::collection::vec(any::<u8>(), 0..30)) {
            let mut bytes = REQUEST[..8].to_vec();
            bytes.extend_from_slice(&tail);
            match Packet::new_checked(&bytes[..]) {
                Ok(p) => {
                    prop_assert!(bytes.len() >= PACKET_LEN);
                    let _ = Repr::parse(&p).unwrap();
                }
                Err(e) => prop_assert_eq!(e, Error::Truncated),
            }
        }
    }
}
