//! Headers checked once, carried with the packet ("parse once", design invariant 7).
//!
//! Owns [`Ipv4Meta`]: what a checked IPv4 header says, with where it sits in the frame. The
//! receiving stack makes it from the one `Ipv4Packet::new_checked` of a packet's life and hands
//! it up with the packet; the load balancer and the forwarding modes read it instead of viewing
//! and validating the header again. It is plain `Copy` data (offsets and values, no borrowed
//! view), so it costs no allocation and survives the packet's buffer moving between owners.
//! It stays true as long as nobody rewrites the header: a stage that changes the header makes a
//! new one (or none).

use std::net::Ipv4Addr;

use super::ip::IpProtocol;
use super::ipv4::Packet;
use super::Result;

/// A checked IPv4 header and its place in the frame. Build it with [`Ipv4Meta::parse`] or
/// from a view that passed `new_checked` ([`Ipv4Meta::from_packet`]); then `l3 + header_len
/// <= l3 + total_len <=` the frame's length holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Meta {
    /// Offset of the IPv4 header in the frame.
    pub l3: usize,
    /// Header length in bytes (IHL * 4, options included).
    pub header_len: usize,
    /// Total Length: header and payload (the frame may hold Ethernet padding after it).
    pub total_len: usize,
    /// The protocol of the payload.
    pub protocol: IpProtocol,
    /// Source address.
    pub src_addr: Ipv4Addr,
    /// Destination address.
    pub dst_addr: Ipv4Addr,
    /// Identification.
    pub ident: u16,
    /// Time to live.
    pub ttl: u8,
    /// Don't Fragment.
    pub dont_frag: bool,
    /// More Fragments.
    pub more_frags: bool,
    /// Fragment offset in bytes.
    pub frag_offset: u16,
}

impl Ipv4Meta {
    /// Checks the IPv4 header at `l3` of `frame` (`Ipv4Packet::new_checked`: truncated,
    /// version, IHL, total length) and records it. The checksum is not verified.
    #[inline]
    pub fn parse(frame: &[u8], l3: usize) -> Result<Ipv4Meta> {
        let bytes = frame.get(l3..).ok_or(super::Error::Truncated)?;
        Ok(Ipv4Meta::from_packet(l3, &Packet::new_checked(bytes)?))
    }

    /// Records a header already checked with `Ipv4Packet::new_checked`, found at `l3`.
    #[inline]
    pub fn from_packet<T: AsRef<[u8]>>(l3: usize, p: &Packet<T>) -> Ipv4Meta {
        Ipv4Meta {
            l3,
            header_len: p.header_len(),
            total_len: usize::from(p.total_len()),
            protocol: p.protocol(),
            src_addr: p.src_addr(),
            dst_addr: p.dst_addr(),
            ident: p.ident(),
            ttl: p.ttl(),
            dont_frag: p.dont_frag(),
            more_frags: p.more_frags(),
            frag_offset: p.frag_offset(),
        }
    }

    /// Offset of the payload (the transport header) in the frame.
    #[inline]
    pub const fn l4(&self) -> usize {
        self.l3 + self.header_len
    }

    /// Offset just past Total Length in the frame.
    #[inline]
    pub const fn end(&self) -> usize {
        self.l3 + self.total_len
    }

    /// Any fragment: More Fragments set or a nonzero offset.
    #[inline]
    pub const fn is_fragment(&self) -> bool {
        self.more_frags || self.frag_offset != 0
    }

    /// The payload bytes of `frame` (the one this was parsed from): transport header on.
    #[inline]
    pub fn payload<'a>(&self, frame: &'a [u8]) -> Option<&'a [u8]> {
        frame.get(self.l4()..self.end())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::frames;

    #[test]
    fn records_what_the_view_checked() {
        let ip = frames::ipv4([10, 0, 0, 1].into(), [10, 0, 0, 2].into(), 17, 9, &[7; 12]);
        let mut frame = vec![0u8; 14];
        frame.extend_from_slice(&ip);
        frame.extend_from_slice(&[0; 6]); // Ethernet padding
        let m = Ipv4Meta::parse(&frame, 14).unwrap();
        assert_eq!((m.l3, m.header_len, m.total_len, m.l4(), m.end()), (14, 20, 32, 34, 46));
        assert_eq!(
            (m.protocol, m.ttl, m.ident, m.dont_frag),
            (IpProtocol::from(17), 9, 0x1234, true)
        );
        assert_eq!((m.src_addr, m.dst_addr), ([10, 0, 0, 1].into(), [10, 0, 0, 2].into()));
        assert!(!m.is_fragment());
        assert_eq!(m.payload(&frame), Some(&[7u8; 12][..]));
        assert_eq!(Ipv4Meta::parse(&frame, 60), Err(crate::wire::Error::Truncated));
        assert!(Ipv4Meta::parse(&frame[..30], 14).is_err());
    }
}
