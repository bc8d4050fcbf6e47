//! IPv4-in-IPv4 encapsulation (RFC 2003), the LVS tunnel forwarding mode's outer header.
//!
//! The outer header is a plain 20-byte IPv4 header with protocol 4 whose payload is the whole
//! inner datagram. Following RFC 2003 section 3.1: the outer TOS is copied from the inner
//! header, the outer DF is set when the inner DF is, the TTL is the tunnel entry's own value.
//!
//! Owns header construction only; which packets get tunnelled, and where, is `ipvs::xmit`'s.
//! Works on any [`PacketBuf`] (headroom is used for the outer header).

use std::net::Ipv4Addr;

use super::ip::IpProtocol;
use super::ipv4;
use super::{Error, Result};
use crate::buf::PacketBuf;

/// Length of the outer header this module writes.
pub const OUTER_LEN: usize = ipv4::HEADER_LEN;

/// The tunnel entry's part of an outer IPv4 header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Outer {
    /// Tunnel entry (the director's address).
    pub src: Ipv4Addr,
    /// Tunnel exit (the real server).
    pub dst: Ipv4Addr,
    /// Outer TTL.
    pub ttl: u8,
    /// Outer identification.
    pub ident: u16,
}

/// The outer header for carrying `inner` (a checked IPv4 packet) with `protocol` after it and
/// `extra` bytes (UDP and GUE headers, zero for plain IP-in-IP) before the inner datagram.
/// [`Error::NoSpace`] when the result would pass 65535 bytes.
pub fn outer_repr<T: AsRef<[u8]>>(
    inner: &ipv4::Packet<T>,
    outer: &Outer,
    protocol: IpProtocol,
    extra: usize,
) -> Result<ipv4::Repr> {
    let payload = usize::from(inner.total_len()) + extra;
    if payload + OUTER_LEN > usize::from(u16::MAX) {
        return Err(Error::NoSpace);
    }
    Ok(ipv4::Repr {
        src_addr: outer.src,
        dst_addr: outer.dst,
        protocol,
        payload_len: payload as u16,
        ttl: outer.ttl,
        tos: inner.tos(),
        ident: outer.ident,
        dont_frag: inner.dont_frag(),
    })
}

/// Validates the IPv4 packet at the start of `buf`, trims bytes past its Total Length, and
/// prepends `extra + 20` bytes: the outer IPv4 header (written, checksum included) then `extra`
/// bytes left for the caller (UDP/GUE). Errors: the inner packet's `new_checked` error, or
/// [`Error::NoSpace`] when headroom or the 65535-byte limit is short. `buf` is unchanged on
/// error.
pub fn encapsulate_with<B: PacketBuf + ?Sized>(
    buf: &mut B,
    outer: &Outer,
    protocol: IpProtocol,
    extra: usize,
) -> Result<()> {
    let (repr, total) = {
        let inner = ipv4::Packet::new_checked(buf.data())?;
        (outer_repr(&inner, outer, protocol, extra)?, usize::from(inner.total_len()))
    };
    if buf.headroom() < OUTER_LEN + extra {
        return Err(Error::NoSpace);
    }
    let pad = buf.len() - total;
    if pad > 0 {
        buf.trim(pad).map_err(|_| Error::NoSpace)?;
    }
    let head = buf.prepend(OUTER_LEN + extra).map_err(|_| Error::NoSpace)?;
    repr.emit(&mut ipv4::Packet::new_unchecked(&mut head[..OUTER_LEN]));
    Ok(())
}

/// Wraps the IPv4 packet at the start of `buf` in an outer IPv4 header with protocol 4.
#[inline]
pub fn encapsulate<B: PacketBuf + ?Sized>(buf: &mut B, outer: &Outer) -> Result<()> {
    encapsulate_with(buf, outer, IpProtocol::IPIP, 0)
}

/// Removes an outer IPv4 header with protocol 4 (and bytes past its Total Length), leaving the
/// inner datagram at the start of `buf`; the inner packet is not validated. Errors: the outer
/// header's `new_checked` error, [`Error::Unsupported`] for another protocol.
pub fn decapsulate<B: PacketBuf + ?Sized>(buf: &mut B) -> Result<()> {
    let (hl, total) = {
        let outer = ipv4::Packet::new_checked(buf.data())?;
        if outer.protocol() != IpProtocol::IPIP {
            return Err(Error::Unsupported);
        }
        (outer.header_len(), usize::from(outer.total_len()))
    };
    let pad = buf.len() - total;
    if pad > 0 {
        buf.trim(pad).map_err(|_| Error::Truncated)?;
    }
    buf.adj(hl).map_err(|_| Error::Truncated)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buf::VecBuf;
    use proptest::prelude::*;

    fn inner(df: bool, tos: u8) -> Vec<u8> {
        let r = ipv4::Repr {
            src_addr: Ipv4Addr::new(198, 51, 100, 7),
            dst_addr: Ipv4Addr::new(203, 0, 113, 10),
            protocol: IpProtocol::TCP,
            payload_len: 20,
            ttl: 57,
            tos,
            ident: 0x4242,
            dont_frag: df,
        };
        let mut b = vec![0x11u8; r.buffer_len()];
        r.emit(&mut ipv4::Packet::new_unchecked(&mut b[..]));
        b
    }

    const OUTER: Outer = Outer {
        src: Ipv4Addr::new(10, 0, 0, 1),
        dst: Ipv4Addr::new(10, 0, 0, 20),
        ttl: 64,
        ident: 9,
    };

    #[test]
    fn encapsulate_golden() {
        let pkt = inner(true, 0x28);
        let mut buf = VecBuf::from_slice(&pkt);
        buf.append(4).unwrap(); // Ethernet padding, dropped
        encapsulate(&mut buf, &OUTER).unwrap();
        let d = buf.data();
        assert_eq!(d.len(), 20 + 40);
        #[rustfmt::skip]
        let want_head = [
            0x45, 0x28, 0x00, 0x3c, // v4, IHL 5, TOS copied, total 60
            0x00, 0x09, 0x40, 0x00, // ident 9, DF copied
            0x40, 0x04, // TTL 64, protocol 4
        ];
        assert_eq!(&d[..10], &want_head);
        assert_eq!(&d[12..20], &[10, 0, 0, 1, 10, 0, 0, 20]);
        let outer = ipv4::Packet::new_checked(d).unwrap();
        assert!(outer.verify_checksum());
        assert_eq!(outer.payload(), &pkt[..]);
        decapsulate(&mut buf).unwrap();
        assert_eq!(buf.data(), &pkt[..]);
    }

    #[test]
    fn df_clear_is_copied() {
        let mut buf = VecBuf::from_slice(&inner(false, 0));
        encapsulate(&mut buf, &OUTER).unwrap();
        assert!(!ipv4::Packet::new_checked(buf.data()).unwrap().dont_frag());
    }

    #[test]
    fn refusals_leave_buffer_unchanged() {
        let mut small = VecBuf::with_capacity(10, 200);
        small.append(40).unwrap().copy_from_slice(&inner(true, 0));
        let before = small.clone();
        assert_eq!(encapsulate(&mut small, &OUTER), Err(Error::NoSpace));
        assert_eq!(small, before);

        let mut garbage = VecBuf::from_slice(&[0x45, 0, 0]);
        assert_eq!(encapsulate(&mut garbage, &OUTER), Err(Error::Truncated));
        assert_eq!(decapsulate(&mut garbage), Err(Error::Truncated));

        let mut not_ipip = VecBuf::from_slice(&inner(true, 0));
        assert_eq!(decapsulate(&mut not_ipip), Err(Error::Unsupported));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            let mut b = VecBuf::from_slice(&bytes);
            let _ = encapsulate(&mut b, &OUTER);
            let mut b = VecBuf::from_slice(&bytes);
            let _ = decapsulate(&mut b);
        }
    }
}
