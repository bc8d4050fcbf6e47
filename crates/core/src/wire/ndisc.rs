//! Neighbour discovery messages (RFC 4861): neighbour solicitation and advertisement with their
//! link-layer address options, which a director answers and sends, and router solicitation and
//! advertisement, which it only needs to recognise (and ignore) safely.
//!
//! Layouts (after the 4-byte ICMPv6 type, code and checksum):
//! ```text
//! NS (135): reserved (4) | target address (16) | options
//! NA (136): R S O flags + reserved (4) | target address (16) | options
//! RS (133): reserved (4) | options
//! RA (134): cur hop limit (1) | M O flags (1) | router lifetime (2) | reachable time (4) |
//!           retrans timer (4) | options
//! option:   type (1) | length in 8-byte units (1) | data
//! ```
//! Owns the layout and RFC 4861 section 7.1's validity rules that need only the message and the
//! IPv6 header ([`Repr::validate`]); what to do with a valid message (answer, learn, ignore) is
//! `net`'s. The message is the ICMPv6 view's whole buffer ([`super::icmpv6::Packet`]); its
//! checksum is that view's.

use std::net::Ipv6Addr;

use super::ethernet::MacAddr;
use super::icmpv6::{self, Message};
use super::{get_u16, get_u32, Error, Result};

/// Option type 1: source link-layer address.
pub const OPT_SOURCE_LL: u8 = 1;
/// Option type 2: target link-layer address.
pub const OPT_TARGET_LL: u8 = 2;
/// At most this many options are read from one message; more is [`Error::Malformed`] (a
/// message fills at most one MTU, so this bounds nothing legitimate: an RA carries a few).
pub const MAX_OPTIONS: usize = 32;

/// NA flag R: the sender is a router.
pub const FLAG_ROUTER: u8 = 0x80;
/// NA flag S: sent in answer to a solicitation.
pub const FLAG_SOLICITED: u8 = 0x40;
/// NA flag O: override an existing cache entry.
pub const FLAG_OVERRIDE: u8 = 0x20;

/// Offsets from the start of the ICMPv6 message.
mod field {
    pub const FLAGS: usize = 4;
    pub const TARGET: core::ops::Range<usize> = 8..24;
    pub const NS_NA_OPTIONS: usize = 24;
    pub const RS_OPTIONS: usize = 8;
    pub const RA_HOP_LIMIT: usize = 4;
    pub const RA_FLAGS: usize = 5;
    pub const RA_LIFETIME: usize = 6;
    pub const RA_REACHABLE: usize = 8;
    pub const RA_RETRANS: usize = 12;
    pub const RA_OPTIONS: usize = 16;
}

/// The link-layer address options of a message: source and target (an Ethernet address each;
/// the last one wins when repeated). Other options are skipped after their length is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct LinkOptions {
    /// Source link-layer address (NS, RS, RA).
    pub source: Option<MacAddr>,
    /// Target link-layer address (NA).
    pub target: Option<MacAddr>,
}

impl LinkOptions {
    /// Reads the options in `data`. Errors ([`Error::Malformed`]): an option of length zero or
    /// overrunning the message (RFC 4861 section 4.6 says discard the packet), a link-layer
    /// option whose length is not one unit, more than [`MAX_OPTIONS`].
    pub fn parse(mut data: &[u8]) -> Result<LinkOptions> {
        let mut out = LinkOptions::default();
        let mut n = 0;
        while !data.is_empty() {
            n += 1;
            if n > MAX_OPTIONS {
                return Err(Error::Malformed("too many neighbour discovery options"));
            }
            let head = data.get(..2).ok_or(Error::Malformed("neighbour discovery option cut"))?;
            let len = usize::from(head[1]) * 8;
            if len == 0 {
                return Err(Error::Malformed("neighbour discovery option of length 0"));
            }
            let opt = data.get(..len).ok_or(Error::Malformed("neighbour discovery option cut"))?;
            if head[0] == OPT_SOURCE_LL || head[0] == OPT_TARGET_LL {
                if len != 8 {
                    return Err(Error::Malformed("link-layer address option not 8 bytes"));
                }
                let mut m = [0u8; 6];
                m.copy_from_slice(&opt[2..8]);
                let mac = MacAddr::new(m);
                if head[0] == OPT_SOURCE_LL {
                    out.source = Some(mac);
                } else {
                    out.target = Some(mac);
                }
            }
            data = &data[len..];
        }
        Ok(out)
    }

    /// Bytes [`LinkOptions::emit`] writes.
    #[inline]
    pub fn buffer_len(&self) -> usize {
        8 * (usize::from(self.source.is_some()) + usize::from(self.target.is_some()))
    }

    /// Writes the options (source first). [`Error::NoSpace`] if `buf` is too short.
    pub fn emit(&self, buf: &mut [u8]) -> Result<()> {
        let buf = buf.get_mut(..self.buffer_len()).ok_or(Error::NoSpace)?;
        let mut at = 0;
        for (kind, mac) in [(OPT_SOURCE_LL, self.source), (OPT_TARGET_LL, self.target)] {
            if let Some(mac) = mac {
                buf[at] = kind;
                buf[at + 1] = 1;
                buf[at + 2..at + 8].copy_from_slice(&mac.octets());
                at += 8;
            }
        }
        Ok(())
    }
}

/// A neighbour discovery message in plain form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Repr {
    /// Neighbour solicitation for `target`; `source_ll` is absent in DAD (source `::`).
    NeighborSolicit { target: Ipv6Addr, source_ll: Option<MacAddr> },
    /// Neighbour advertisement of `target`, flags R/S/O ([`FLAG_ROUTER`]...).
    NeighborAdvert { flags: u8, target: Ipv6Addr, target_ll: Option<MacAddr> },
    /// Router solicitation.
    RouterSolicit { source_ll: Option<MacAddr> },
    /// Router advertisement: the fields a host would use; a director ignores it.
    RouterAdvert {
        hop_limit: u8,
        flags: u8,
        lifetime: u16,
        reachable_ms: u32,
        retrans_ms: u32,
        source_ll: Option<MacAddr>,
    },
}

impl Repr {
    /// Reads a checked ICMPv6 message of type 133-136 (others are [`Error::Unsupported`]);
    /// code not 0, a message shorter than its type's fixed part ([`Error::Truncated`]), a
    /// multicast target, or bad options are refused. The checksum is not verified here.
    pub fn parse<T: AsRef<[u8]>>(packet: &icmpv6::Packet<T>) -> Result<Repr> {
        let b = packet.as_bytes();
        let msg = packet.msg_type();
        if !matches!(
            msg,
            Message::NeighborSolicit
                | Message::NeighborAdvert
                | Message::RouterSolicit
                | Message::RouterAdvert
        ) {
            return Err(Error::Unsupported);
        }
        if packet.msg_code() != 0 {
            return Err(Error::Malformed("neighbour discovery code not 0"));
        }
        let fixed = match msg {
            Message::NeighborSolicit | Message::NeighborAdvert => field::NS_NA_OPTIONS,
            Message::RouterAdvert => field::RA_OPTIONS,
            _ => field::RS_OPTIONS,
        };
        let options = b.get(fixed..).ok_or(Error::Truncated)?;
        let opts = LinkOptions::parse(options)?;
        let target = || {
            let mut t = [0u8; 16];
            t.copy_from_slice(&b[field::TARGET]);
            let t = Ipv6Addr::from(t);
            if t.is_multicast() {
                return Err(Error::Malformed("neighbour discovery target is multicast"));
            }
            Ok(t)
        };
        Ok(match msg {
            Message::NeighborSolicit => {
                Repr::NeighborSolicit { target: target()?, source_ll: opts.source }
            }
            Message::NeighborAdvert => Repr::NeighborAdvert {
                flags: b[field::FLAGS] & (FLAG_ROUTER | FLAG_SOLICITED | FLAG_OVERRIDE),
                target: target()?,
                target_ll: opts.target,
            },
            Message::RouterSolicit => Repr::RouterSolicit { source_ll: opts.source },
            _ => Repr::RouterAdvert {
                hop_limit: b[field::RA_HOP_LIMIT],
                flags: b[field::RA_FLAGS],
                lifetime: get_u16(b, field::RA_LIFETIME),
                reachable_ms: get_u32(b, field::RA_REACHABLE),
                retrans_ms: get_u32(b, field::RA_RETRANS),
                source_ll: opts.source,
            },
        })
    }

    /// RFC 4861 section 7.1's checks that need the IPv6 header: hop limit 255 (the message
    /// was not forwarded by a router), and for a solicitation from `::` (DAD) a solicited-node
    /// multicast destination and no source link-layer option; for an advertisement to a
    /// multicast destination the S flag clear; a router advertisement from a link-local
    /// source. [`Error::Malformed`] names the rule broken.
    pub fn validate(&self, src: Ipv6Addr, dst: Ipv6Addr, hop_limit: u8) -> Result<()> {
        if hop_limit != 255 {
            return Err(Error::Malformed("neighbour discovery hop limit not 255"));
        }
        match *self {
            Repr::NeighborSolicit { source_ll, .. } if src.is_unspecified() => {
                if !is_solicited_node(dst) {
                    return Err(Error::Malformed(
                        "DAD solicitation not to a solicited-node address",
                    ));
                }
                if source_ll.is_some() {
                    return Err(Error::Malformed(
                        "DAD solicitation with a source link-layer address",
                    ));
                }
            }
            Repr::NeighborAdvert { flags, .. }
                if dst.is_multicast() && flags & FLAG_SOLICITED != 0 =>
            {
                return Err(Error::Malformed("solicited advertisement to a multicast address"));
            }
            Repr::RouterSolicit { source_ll: Some(_) } if src.is_unspecified() => {
                return Err(Error::Malformed(
                    "router solicitation from :: with a link-layer address",
                ));
            }
            Repr::RouterAdvert { .. } if !is_link_local(src) => {
                return Err(Error::Malformed("router advertisement not from a link-local source"));
            }
            _ => {}
        }
        Ok(())
    }

    fn kind(&self) -> (Message, usize, LinkOptions) {
        match *self {
            Repr::NeighborSolicit { source_ll, .. } => (
                Message::NeighborSolicit,
                field::NS_NA_OPTIONS,
                LinkOptions { source: source_ll, target: None },
            ),
            Repr::NeighborAdvert { target_ll, .. } => (
                Message::NeighborAdvert,
                field::NS_NA_OPTIONS,
                LinkOptions { source: None, target: target_ll },
            ),
            Repr::RouterSolicit { source_ll } => (
                Message::RouterSolicit,
                field::RS_OPTIONS,
                LinkOptions { source: source_ll, target: None },
            ),
            Repr::RouterAdvert { source_ll, .. } => (
                Message::RouterAdvert,
                field::RA_OPTIONS,
                LinkOptions { source: source_ll, target: None },
            ),
        }
    }

    /// The whole ICMPv6 message's length.
    #[inline]
    pub fn buffer_len(&self) -> usize {
        let (_, fixed, opts) = self.kind();
        fixed + opts.buffer_len()
    }

    /// Writes the message (reserved bytes zero) into `buf`, which must be exactly
    /// [`Repr::buffer_len`] long since the checksum covers all of it, and fills the checksum
    /// for `src` to `dst`. [`Error::NoSpace`] if `buf` is shorter.
    pub fn emit(&self, src: Ipv6Addr, dst: Ipv6Addr, buf: &mut [u8]) -> Result<()> {
        let (msg, fixed, opts) = self.kind();
        if buf.len() < fixed + opts.buffer_len() {
            return Err(Error::NoSpace);
        }
        buf[..fixed].fill(0);
        buf[0] = msg.into();
        match *self {
            Repr::NeighborSolicit { target, .. } => {
                buf[field::TARGET].copy_from_slice(&target.octets())
            }
            Repr::NeighborAdvert { flags, target, .. } => {
                buf[field::FLAGS] = flags & (FLAG_ROUTER | FLAG_SOLICITED | FLAG_OVERRIDE);
                buf[field::TARGET].copy_from_slice(&target.octets());
            }
            Repr::RouterSolicit { .. } => {}
            Repr::RouterAdvert { hop_limit, flags, lifetime, reachable_ms, retrans_ms, .. } => {
                buf[field::RA_HOP_LIMIT] = hop_limit;
                buf[field::RA_FLAGS] = flags;
                buf[field::RA_LIFETIME..field::RA_LIFETIME + 2]
                    .copy_from_slice(&lifetime.to_be_bytes());
                buf[field::RA_REACHABLE..field::RA_REACHABLE + 4]
                    .copy_from_slice(&reachable_ms.to_be_bytes());
                buf[field::RA_RETRANS..field::RA_RETRANS + 4]
                    .copy_from_slice(&retrans_ms.to_be_bytes());
            }
        }
        opts.emit(&mut buf[fixed..])?;
        icmpv6::Packet::new_unchecked(buf).fill_checksum(src, dst);
        Ok(())
    }
}

/// The solicited-node multicast address of `addr` (RFC 4291 section 2.7.1):
/// `ff02::1:ffXX:XXXX` with the low 24 bits of `addr`.
#[inline]
pub fn solicited_node(addr: Ipv6Addr) -> Ipv6Addr {
    let o = addr.octets();
    Ipv6Addr::new(
        0xff02,
        0,
        0,
        0,
        0,
        1,
        0xff00 | u16::from(o[13]),
        u16::from_be_bytes([o[14], o[15]]),
    )
}

/// Whether `addr` is a unicast link-local address (fe80::/10).
#[inline]
pub fn is_link_local(addr: Ipv6Addr) -> bool {
    addr.segments()[0] & 0xffc0 == 0xfe80
}

/// Whether `addr` is a solicited-node multicast address.
#[inline]
pub fn is_solicited_node(addr: Ipv6Addr) -> bool {
    let s = addr.segments();
    s[..5] == [0xff02, 0, 0, 0, 0] && s[5] == 1 && s[6] >> 8 == 0xff
}

/// The Ethernet multicast address of an IPv6 multicast address (RFC 2464 section 7):
/// `33:33` and the low 32 bits.
#[inline]
pub fn multicast_mac(addr: Ipv6Addr) -> MacAddr {
    let o = addr.octets();
    MacAddr::new([0x33, 0x33, o[12], o[13], o[14], o[15]])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::checksum as reference;
    use proptest::prelude::*;

    fn a(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }
    const MAC: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x01]);

    #[test]
    fn messages_round_trip_and_checksum_like_the_reference() {
        let (src, dst) = (a("fe80::1"), a("ff02::1:ff00:2"));
        for r in [
            Repr::NeighborSolicit { target: a("2001:db8::2"), source_ll: Some(MAC) },
            Repr::NeighborSolicit { target: a("2001:db8::2"), source_ll: None },
            Repr::NeighborAdvert {
                flags: FLAG_SOLICITED | FLAG_OVERRIDE,
                target: a("2001:db8::2"),
                target_ll: Some(MAC),
            },
            Repr::RouterSolicit { source_ll: Some(MAC) },
            Repr::RouterAdvert {
                hop_limit: 64,
                flags: 0x80,
                lifetime: 1800,
                reachable_ms: 0,
                retrans_ms: 0,
                source_ll: Some(MAC),
            },
        ] {
            let mut buf = vec![0u8; r.buffer_len()];
            r.emit(src, dst, &mut buf).unwrap();
            let ph = reference::pseudo_v6(src, dst, 58, buf.len());
            assert_eq!(reference::ones_sum(&[&ph, &buf]), 0xffff);
            let p = icmpv6::Packet::new_checked(&buf[..]).unwrap();
            assert!(p.verify_checksum(src, dst));
            assert_eq!(Repr::parse(&p).unwrap(), r);
        }
    }

    #[test]
    fn addresses() {
        assert_eq!(solicited_node(a("2001:db8::1:2345:6789")), a("ff02::1:ff45:6789"));
        assert!(is_solicited_node(a("ff02::1:ff45:6789")));
        assert!(!is_solicited_node(a("ff02::1")));
        assert!(is_link_local(a("fe80::1")) && is_link_local(a("febf::1")));
        assert!(!is_link_local(a("fec0::1")) && !is_link_local(a("2001:db8::1")));
        assert_eq!(
            multicast_mac(a("ff02::1:ff45:6789")),
            MacAddr([0x33, 0x33, 0xff, 0x45, 0x67, 0x89])
        );
    }

    #[test]
    fn refusals_and_validation() {
        let ns = Repr::NeighborSolicit { target: a("2001:db8::2"), source_ll: Some(MAC) };
        let mut buf = vec![0u8; ns.buffer_len()];
        ns.emit(a("2001:db8::1"), a("ff02::1:ff00:2"), &mut buf).unwrap();
        let parse = |b: &[u8]| Repr::parse(&icmpv6::Packet::new_checked(b).unwrap());
        let mut zero_len = buf.clone();
        zero_len[25] = 0;
        assert!(matches!(parse(&zero_len), Err(Error::Malformed(_))));
        let mut long = buf.clone();
        long[25] = 2;
        assert!(matches!(parse(&long), Err(Error::Malformed(_))));
        assert_eq!(parse(&buf[..20]), Err(Error::Truncated));
        let mut mcast = buf.clone();
        mcast[8] = 0xff;
        assert!(matches!(parse(&mcast), Err(Error::Malformed(_))));
        let mut code = buf.clone();
        code[1] = 1;
        assert!(matches!(parse(&code), Err(Error::Malformed(_))));
        assert_eq!(parse(&[128, 0, 0, 0, 0, 0, 0, 0]), Err(Error::Unsupported));

        let sn = a("ff02::1:ff00:2");
        assert!(ns.validate(a("2001:db8::1"), sn, 255).is_ok());
        assert!(ns.validate(a("2001:db8::1"), sn, 254).is_err());
        assert!(ns.validate(Ipv6Addr::UNSPECIFIED, sn, 255).is_err(), "DAD with an SLLA");
        let dad = Repr::NeighborSolicit { target: a("2001:db8::2"), source_ll: None };
        assert!(dad.validate(Ipv6Addr::UNSPECIFIED, sn, 255).is_ok());
        assert!(dad.validate(Ipv6Addr::UNSPECIFIED, a("2001:db8::2"), 255).is_err());
        let na = Repr::NeighborAdvert {
            flags: FLAG_SOLICITED,
            target: a("2001:db8::2"),
            target_ll: None,
        };
        assert!(na.validate(a("2001:db8::2"), a("ff02::1"), 255).is_err());
        assert!(na.validate(a("2001:db8::2"), a("2001:db8::1"), 255).is_ok());
        let ra = Repr::RouterAdvert {
            hop_limit: 0,
            flags: 0,
            lifetime: 0,
            reachable_ms: 0,
            retrans_ms: 0,
            source_ll: None,
        };
        assert!(ra.validate(a("2001:db8::9"), a("ff02::1"), 255).is_err());
        assert!(ra.validate(a("fe80::9"), a("ff02::1"), 255).is_ok());
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(
            kind in 133u8..=137, bytes in proptest::collection::vec(any::<u8>(), 0..120),
        ) {
            let mut b = bytes;
            if b.len() >= 8 { b[0] = kind; b[1] = 0; }
            let _ = LinkOptions::parse(&b);
            if let Ok(p) = icmpv6::Packet::new_checked(&b[..]) {
                if let Ok(r) = Repr::parse(&p) {
                    let _ = r.validate(Ipv6Addr::UNSPECIFIED, Ipv6Addr::LOCALHOST, 255);
                    let mut out = vec![0u8; r.buffer_len()];
                    r.emit(Ipv6Addr::UNSPECIFIED, Ipv6Addr::LOCALHOST, &mut out).unwrap();
                    let again = Repr::parse(&icmpv6::Packet::new_checked(&out[..]).unwrap()).unwrap();
                    prop_assert_eq!(again, r);
                }
            }
        }
    }
}
