//! Ethernet II frames (IEEE 802.3 with an EtherType), MAC addresses and the 802.1Q VLAN tag.
//!
//! Layout of the header (14 bytes; the FCS is not part of the buffer):
//! ```text
//!  0                   6                   12        14
//! +-------------------+-------------------+---------+----------
//! | destination MAC   | source MAC        |EtherType| payload
//! +-------------------+-------------------+---------+----------
//! ```
//! An 802.1Q tag, when present, sits where the EtherType would be: EtherType 0x8100, then a
//! 4-byte tag view [`VlanTag`]: TCI (PCP 3 bits, DEI 1 bit, VID 12 bits) and the inner EtherType.

use core::fmt;
use core::str::FromStr;

use super::{get_u16, set_u16, Error, Field, Result};

/// A 48-bit IEEE 802 MAC address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// ff:ff:ff:ff:ff:ff.
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);
    /// 00:00:00:00:00:00.
    pub const ZERO: MacAddr = MacAddr([0; 6]);

    /// The address from its six bytes.
    #[inline]
    pub const fn new(bytes: [u8; 6]) -> Self {
        MacAddr(bytes)
    }

    /// The address from the first six bytes of `bytes`. Callers guarantee `bytes.len() >= 6`.
    #[inline]
    fn from_slice(bytes: &[u8]) -> Self {
        let mut a = [0u8; 6];
        a.copy_from_slice(&bytes[..6]);
        MacAddr(a)
    }

    /// The six bytes.
    #[inline]
    pub const fn octets(&self) -> [u8; 6] {
        self.0
    }

    /// The group bit (I/G, least significant bit of the first byte) is clear.
    #[inline]
    pub const fn is_unicast(&self) -> bool {
        self.0[0] & 0x01 == 0
    }

    /// The group bit is set (includes broadcast).
    #[inline]
    pub const fn is_multicast(&self) -> bool {
        self.0[0] & 0x01 != 0
    }

    /// ff:ff:ff:ff:ff:ff.
    #[inline]
    pub const fn is_broadcast(&self) -> bool {
        let b = self.0;
        b[0] & b[1] & b[2] & b[3] & b[4] & b[5] == 0xff
    }

    /// 00:00:00:00:00:00.
    #[inline]
    pub const fn is_zero(&self) -> bool {
        let b = self.0;
        b[0] | b[1] | b[2] | b[3] | b[4] | b[5] == 0
    }

    /// The locally administered bit (U/L, second least significant bit of the first byte).
    #[inline]
    pub const fn is_local(&self) -> bool {
        self.0[0] & 0x02 != 0
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(f, "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2], b[3], b[4], b[5])
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A string that is not a MAC address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid MAC address {0:?}: expected six two-digit hex bytes separated by ':', like 02:00:5e:10:00:01")]
pub struct ParseMacAddrError(pub String);

impl From<MacAddr> for [u8; 6] {
    fn from(m: MacAddr) -> [u8; 6] {
        m.0
    }
}

impl FromStr for MacAddr {
    type Err = ParseMacAddrError;

    fn from_str(s: &str) -> core::result::Result<Self, Self::Err> {
        let err = || ParseMacAddrError(s.to_string());
        let mut out = [0u8; 6];
        let mut parts = s.split(':');
        for byte in out.iter_mut() {
            let p = parts.next().ok_or_else(err)?;
            if p.len() != 2 || !p.bytes().all(|c| c.is_ascii_hexdigit()) {
                return Err(err());
            }
            *byte = u8::from_str_radix(p, 16).map_err(|_| err())?;
        }
        if parts.next().is_some() {
            return Err(err());
        }
        Ok(MacAddr(out))
    }
}

/// The EtherType of a frame's payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EtherType {
    /// 0x0800.
    Ipv4,
    /// 0x0806.
    Arp,
    /// 0x8100, an 802.1Q VLAN tag follows.
    Vlan,
    /// 0x86dd.
    Ipv6,
    /// Anything else (including 802.3 length values below 0x0600).
    Unknown(u16),
}

impl From<u16> for EtherType {
    #[inline]
    fn from(v: u16) -> Self {
        match v {
            0x0800 => EtherType::Ipv4,
            0x0806 => EtherType::Arp,
            0x8100 => EtherType::Vlan,
            0x86dd => EtherType::Ipv6,
            other => EtherType::Unknown(other),
        }
    }
}

impl From<EtherType> for u16 {
    #[inline]
    fn from(t: EtherType) -> u16 {
        match t {
            EtherType::Ipv4 => 0x0800,
            EtherType::Arp => 0x0806,
            EtherType::Vlan => 0x8100,
            EtherType::Ipv6 => 0x86dd,
            EtherType::Unknown(v) => v,
        }
    }
}

mod field {
    use super::Field;
    pub const DST: Field = 0..6;
    pub const SRC: Field = 6..12;
    pub const ETHERTYPE: Field = 12..14;
    pub const PAYLOAD: usize = 14;
}

/// Length of the Ethernet II header.
pub const HEADER_LEN: usize = field::PAYLOAD;

/// A view of an Ethernet II frame.
///
/// Invariant after [`Frame::new_checked`]: the buffer holds at least [`HEADER_LEN`] bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Frame<T> {
    /// Wraps `buffer` without checking its length; accessors panic if it is shorter than
    /// [`HEADER_LEN`].
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Self {
        Frame { buffer }
    }

    /// Wraps `buffer`, which must hold at least the 14-byte header.
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self> {
        if buffer.as_ref().len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        Ok(Frame { buffer })
    }

    /// The wrapped buffer.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Length of the header: always [`HEADER_LEN`].
    #[inline]
    pub const fn header_len() -> usize {
        HEADER_LEN
    }

    /// Destination MAC.
    #[inline]
    pub fn dst_addr(&self) -> MacAddr {
        MacAddr::from_slice(&self.buffer.as_ref()[field::DST])
    }

    /// Source MAC.
    #[inline]
    pub fn src_addr(&self) -> MacAddr {
        MacAddr::from_slice(&self.buffer.as_ref()[field::SRC])
    }

    /// EtherType.
    #[inline]
    pub fn ethertype(&self) -> EtherType {
        EtherType::from(get_u16(self.buffer.as_ref(), field::ETHERTYPE.start))
    }

    /// The bytes after the header.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PAYLOAD..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Frame<T> {
    /// Sets the destination MAC.
    #[inline]
    pub fn set_dst_addr(&mut self, addr: MacAddr) {
        self.buffer.as_mut()[field::DST].copy_from_slice(&addr.0);
    }

    /// Sets the source MAC.
    #[inline]
    pub fn set_src_addr(&mut self, addr: MacAddr) {
        self.buffer.as_mut()[field::SRC].copy_from_slice(&addr.0);
    }

    /// Sets the EtherType.
    #[inline]
    pub fn set_ethertype(&mut self, t: EtherType) {
        set_u16(self.buffer.as_mut(), field::ETHERTYPE.start, t.into());
    }

    /// The bytes after the header, writable.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD..]
    }
}

/// The Ethernet header in plain form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    pub src_addr: MacAddr,
    pub dst_addr: MacAddr,
    pub ethertype: EtherType,
}

impl Repr {
    /// Reads the header of a checked frame.
    #[inline]
    pub fn parse<T: AsRef<[u8]>>(frame: &Frame<T>) -> Result<Repr> {
        Ok(Repr {
            src_addr: frame.src_addr(),
            dst_addr: frame.dst_addr(),
            ethertype: frame.ethertype(),
        })
    }

    /// Length of the header this emits.
    #[inline]
    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }

    /// Bytes [`Repr::emit`] writes (the header; the payload is the caller's).
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the header. Panics if the buffer is shorter than [`HEADER_LEN`].
    #[inline]
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, frame: &mut Frame<T>) {
        frame.set_src_addr(self.src_addr);
        frame.set_dst_addr(self.dst_addr);
        frame.set_ethertype(self.ethertype);
    }
}

mod vlan_field {
    use super::Field;
    pub const TCI: Field = 0..2;
    pub const ETHERTYPE: Field = 2..4;
    pub const PAYLOAD: usize = 4;
}

/// Length of an 802.1Q tag after the 0x8100 EtherType.
pub const VLAN_TAG_LEN: usize = vlan_field::PAYLOAD;

/// A view of the 4 bytes following EtherType 0x8100: TCI and the inner EtherType.
///
/// Invariant after [`VlanTag::new_checked`]: the buffer holds at least [`VLAN_TAG_LEN`] bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VlanTag<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> VlanTag<T> {
    /// Wraps `buffer` without checking its length.
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Self {
        VlanTag { buffer }
    }

    /// Wraps `buffer`, which must hold at least the 4-byte tag.
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self> {
        if buffer.as_ref().len() < VLAN_TAG_LEN {
            return Err(Error::Truncated);
        }
        Ok(VlanTag { buffer })
    }

    /// Priority code point (3 bits).
    #[inline]
    pub fn pcp(&self) -> u8 {
        (get_u16(self.buffer.as_ref(), vlan_field::TCI.start) >> 13) as u8
    }

    /// Drop eligible indicator.
    #[inline]
    pub fn dei(&self) -> bool {
        get_u16(self.buffer.as_ref(), vlan_field::TCI.start) & 0x1000 != 0
    }

    /// VLAN identifier (12 bits).
    #[inline]
    pub fn vid(&self) -> u16 {
        get_u16(self.buffer.as_ref(), vlan_field::TCI.start) & 0x0fff
    }

    /// EtherType of what follows the tag.
    #[inline]
    pub fn ethertype(&self) -> EtherType {
        EtherType::from(get_u16(self.buffer.as_ref(), vlan_field::ETHERTYPE.start))
    }

    /// The bytes after the tag.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[vlan_field::PAYLOAD..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> VlanTag<T> {
    /// Sets PCP, DEI and VID (VID is masked to 12 bits, PCP to 3).
    #[inline]
    pub fn set_tci(&mut self, pcp: u8, dei: bool, vid: u16) {
        let tci = (u16::from(pcp & 0x7) << 13) | (u16::from(dei) << 12) | (vid & 0x0fff);
        set_u16(self.buffer.as_mut(), vlan_field::TCI.start, tci);
    }

    /// Sets the inner EtherType.
    #[inline]
    pub fn set_ethertype(&mut self, t: EtherType) {
        set_u16(self.buffer.as_mut(), vlan_field::ETHERTYPE.start, t.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // Broadcast frame from 02:00:00:00:00:01 carrying ARP, then two payload bytes.
    const FRAME: [u8; 16] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // destination: broadcast
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // source: locally administered unicast
        0x08, 0x06, // EtherType ARP
        0xaa, 0xbb, // payload
    ];

    #[test]
    fn parse_golden() {
        let f = Frame::new_checked(&FRAME[..]).unwrap();
        assert_eq!(f.dst_addr(), MacAddr::BROADCAST);
        assert_eq!(f.src_addr(), MacAddr([2, 0, 0, 0, 0, 1]));
        assert_eq!(f.ethertype(), EtherType::Arp);
        assert_eq!(f.payload(), &[0xaa, 0xbb]);
        let r = Repr::parse(&f).unwrap();
        let mut out = [0u8; 16];
        out[14..].copy_from_slice(&[0xaa, 0xbb]);
        r.emit(&mut Frame::new_unchecked(&mut out[..]));
        assert_eq!(out, FRAME);
    }

    #[test]
    fn short_frame_is_truncated() {
        assert_eq!(Frame::new_checked(&FRAME[..13]).unwrap_err(), Error::Truncated);
        assert!(Frame::new_checked(&FRAME[..14]).unwrap().payload().is_empty());
    }

    #[test]
    fn ethertypes() {
        for (v, t) in [
            (0x0800, EtherType::Ipv4),
            (0x0806, EtherType::Arp),
            (0x8100, EtherType::Vlan),
            (0x86dd, EtherType::Ipv6),
            (0x88cc, EtherType::Unknown(0x88cc)),
        ] {
            assert_eq!(EtherType::from(v), t);
            assert_eq!(u16::from(t), v);
        }
    }

    #[test]
    fn mac_classes() {
        assert!(MacAddr::BROADCAST.is_broadcast());
        assert!(MacAddr::BROADCAST.is_multicast());
        assert!(!MacAddr::BROADCAST.is_unicast());
        let mcast = MacAddr([0x01, 0x00, 0x5e, 0x00, 0x00, 0x01]);
        assert!(mcast.is_multicast() && !mcast.is_broadcast() && !mcast.is_unicast());
        let uni = MacAddr([0x02, 0, 0, 0, 0, 1]);
        assert!(uni.is_unicast() && uni.is_local() && !uni.is_multicast());
        assert!(MacAddr::ZERO.is_zero() && !uni.is_zero());
    }

    #[test]
    fn mac_text() {
        let m: MacAddr = "02:00:5e:10:0A:ff".parse().unwrap();
        assert_eq!(m, MacAddr([0x02, 0x00, 0x5e, 0x10, 0x0a, 0xff]));
        assert_eq!(m.to_string(), "02:00:5e:10:0a:ff");
        for bad in [
            "",
            "02:00:5e:10:0a",
            "02:00:5e:10:0a:ff:00",
            "2:00:5e:10:0a:ff",
            "02-00-5e-10-0a-ff",
            "0g:00:00:00:00:00",
            "+1:00:00:00:00:00",
        ] {
            assert!(bad.parse::<MacAddr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn vlan_tag() {
        // PCP 5, DEI 1, VID 0x123, inner IPv4.
        let b = [0xb1, 0x23, 0x08, 0x00, 0x45];
        let t = VlanTag::new_checked(&b[..]).unwrap();
        assert_eq!((t.pcp(), t.dei(), t.vid(), t.ethertype()), (5, true, 0x123, EtherType::Ipv4));
        assert_eq!(t.payload(), &[0x45]);
        let mut out = [0u8; 5];
        out[4] = 0x45;
        let mut w = VlanTag::new_unchecked(&mut out[..]);
        w.set_tci(5, true, 0x123);
        w.set_ethertype(EtherType::Ipv4);
        assert_eq!(out, b);
        assert_eq!(VlanTag::new_checked(&b[..3]).unwrap_err(), Error::Truncated);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            if let Ok(f) = Frame::new_checked(&bytes[..]) {
                let _ = (f.dst_addr(), f.src_addr(), f.ethertype(), f.payload());
                let _ = Repr::parse(&f);
            }
            if let Ok(t) = VlanTag::new_checked(&bytes[..]) {
                let _ = (t.pcp(), t.dei(), t.vid(), t.ethertype(), t.payload());
            }
        }

        #[test]
        fn mac_display_parse_round_trip(b in any::<[u8; 6]>()) {
            let m = MacAddr(b);
            prop_assert_eq!(m.to_string().parse::<MacAddr>().unwrap(), m);
        }
    }
}
