//! The IPv6 extension-header chain (RFC 8200 section 4, RFC 4302 for AH): a bounded walk from
//! the fixed header's Next Header to the upper-layer header, and the Fragment header.
//!
//! Owns the layout of the extension headers a director meets (hop-by-hop options, routing,
//! fragment, destination options, authentication header) and the rules of walking them; it
//! does not decide what to do with an option, a routing header or a fragment (the receiving
//! stack does). Layouts:
//! ```text
//! hop-by-hop (0), routing (43), destination options (60):
//! +---------------+---------------+----------------------- - -
//! |  Next Header  | Hdr Ext Len   |  data: (Hdr Ext Len + 1) * 8 - 2 bytes
//! +---------------+---------------+----------------------- - -
//! routing data starts with Routing Type and Segments Left.
//! fragment (44), always 8 bytes:
//! +---------------+---------------+-------------------------+-+-+
//! |  Next Header  |   Reserved    |  Fragment Offset (13)   |Res|M|
//! +---------------+---------------+-------------------------+-+-+
//! |                        Identification                       |
//! +---------------------------------------------------------------+
//! authentication header (51): Payload Len counts 4-byte words minus 2: (len + 2) * 4 bytes.
//! ```
//! The walk is bounded by [`MAX_EXT_HEADERS`] and by the buffer: it never reads past the bytes
//! given and never loops. Hop-by-hop options are allowed only first (RFC 8200 section 4.1).
//! The options of hop-by-hop and destination-options headers are checked to be well-formed
//! TLVs (their lengths stay inside the header). After a fragment header with a non-zero offset
//! the rest is fragment data, not headers, so the walk stops there; so it does at ESP (50,
//! encrypted) and at No Next Header (59).

use super::ip::IpProtocol;
use super::ipv6;
use super::{get_u16, get_u32, set_u16, set_u32, Error, Field, Result};

/// Next Header 0: hop-by-hop options.
pub const HOP_BY_HOP: IpProtocol = IpProtocol(0);
/// Next Header 43: routing header.
pub const ROUTING: IpProtocol = IpProtocol(43);
/// Next Header 44: fragment header.
pub const FRAGMENT: IpProtocol = IpProtocol(44);
/// Next Header 50: encapsulating security payload (the walk stops: the rest is encrypted).
pub const ESP: IpProtocol = IpProtocol(50);
/// Next Header 51: authentication header.
pub const AH: IpProtocol = IpProtocol(51);
/// Next Header 59: no next header.
pub const NO_NEXT_HEADER: IpProtocol = IpProtocol(59);
/// Next Header 60: destination options.
pub const DEST_OPTS: IpProtocol = IpProtocol(60);

/// At most this many extension headers are walked; a longer chain is refused
/// ([`Error::Malformed`]). RFC 8200 recommends each header at most once (destination options
/// twice): six headers; the margin admits a repeated one without letting a crafted chain cost
/// more.
pub const MAX_EXT_HEADERS: usize = 8;

/// Option type 5 of hop-by-hop options: router alert (RFC 2711), carried by MLD.
pub const OPT_ROUTER_ALERT: u8 = 5;

mod field {
    use super::Field;
    pub const NEXT_HEADER: usize = 0;
    pub const LEN: usize = 1;
    pub const ROUTING_TYPE: usize = 2;
    pub const SEGMENTS_LEFT: usize = 3;
    pub const FRAG_OFFSET_FLAGS: Field = 2..4;
    pub const FRAG_IDENT: Field = 4..8;
    pub const OPTIONS: usize = 2;
}

/// Length of the fragment header.
pub const FRAGMENT_LEN: usize = 8;

/// What a fragment header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fragment {
    /// Offset of this fragment's data in the original payload, in bytes (a multiple of 8).
    pub offset: u16,
    /// The M flag: more fragments follow.
    pub more: bool,
    /// Identification.
    pub ident: u32,
}

impl Fragment {
    /// An "atomic fragment" (offset 0, no more fragments; RFC 6946): a whole packet that merely
    /// carries a fragment header, to be processed as unfragmented.
    #[inline]
    pub const fn is_atomic(&self) -> bool {
        self.offset == 0 && !self.more
    }

    /// The first fragment (offset 0): it holds the upper-layer header when the sender kept the
    /// chain in it, as RFC 8200 requires.
    #[inline]
    pub const fn is_first(&self) -> bool {
        self.offset == 0
    }
}

/// A routing header's type and segments left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Routing {
    /// Routing Type (0 is deprecated by RFC 5095, 4 is segment routing).
    pub routing_type: u8,
    /// Segments Left: non-zero means this node is asked to route the packet further.
    pub segments_left: u8,
}

/// The end of a walk: where the upper-layer header starts and what came before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Chain {
    /// The protocol of the bytes at [`Chain::l4_offset`]: TCP, UDP, ICMPv6..., or ESP, No Next
    /// Header, or (after a non-first fragment) the protocol whose data continues there.
    pub protocol: IpProtocol,
    /// Offset of the upper-layer header (or of the fragment data, or of ESP) from the start of
    /// the bytes walked: from the IPv6 fixed header for [`walk`], from the payload for
    /// [`walk_payload`].
    pub l4_offset: usize,
    /// Extension headers walked.
    pub ext_count: u8,
    /// The fragment header, when there was one.
    pub fragment: Option<Fragment>,
    /// The (last) routing header, when there was one.
    pub routing: Option<Routing>,
    /// A hop-by-hop router alert option was present.
    pub router_alert: bool,
}

impl Chain {
    /// Whether the bytes at [`Chain::l4_offset`] are the upper-layer header: false after a
    /// fragment header with a non-zero offset, at ESP and at No Next Header.
    #[inline]
    pub fn has_l4_header(&self) -> bool {
        !matches!(self.fragment, Some(f) if !f.is_first())
            && self.protocol != ESP
            && self.protocol != NO_NEXT_HEADER
    }

    /// Whether the packet is a fragment that needs reassembly (not an atomic fragment).
    #[inline]
    pub fn is_fragment(&self) -> bool {
        matches!(self.fragment, Some(f) if !f.is_atomic())
    }
}

/// Whether `nh` is an extension header this module walks.
#[inline]
pub fn is_extension(nh: IpProtocol) -> bool {
    matches!(nh, HOP_BY_HOP | ROUTING | FRAGMENT | DEST_OPTS | AH)
}

/// Walks the chain of a checked IPv6 packet; offsets count from its first byte.
#[inline]
pub fn walk<T: AsRef<[u8]>>(packet: &ipv6::Packet<T>) -> Result<Chain> {
    let mut c = walk_payload(packet.next_header(), packet.payload())?;
    c.l4_offset += ipv6::HEADER_LEN;
    Ok(c)
}

/// Walks the chain that starts with Next Header `first` at the start of `payload` (the bytes
/// after the fixed header). Errors: a header that does not fit ([`Error::Truncated`]); more
/// than [`MAX_EXT_HEADERS`], hop-by-hop after the first position, or options that overrun
/// their header ([`Error::Malformed`]).
pub fn walk_payload(first: IpProtocol, payload: &[u8]) -> Result<Chain> {
    let mut chain = Chain {
        protocol: first,
        l4_offset: 0,
        ext_count: 0,
        fragment: None,
        routing: None,
        router_alert: false,
    };
    let mut nh = first;
    let mut at = 0usize;
    while is_extension(nh) {
        if usize::from(chain.ext_count) == MAX_EXT_HEADERS {
            return Err(Error::Malformed("more IPv6 extension headers than allowed"));
        }
        if nh == HOP_BY_HOP && chain.ext_count != 0 {
            return Err(Error::Malformed("IPv6 hop-by-hop options not first"));
        }
        let rest = payload.get(at..).ok_or(Error::Truncated)?;
        let head = rest.get(..2).ok_or(Error::Truncated)?;
        let len = match nh {
            FRAGMENT => FRAGMENT_LEN,
            AH => (usize::from(head[field::LEN]) + 2) * 4,
            _ => (usize::from(head[field::LEN]) + 1) * 8,
        };
        let hdr = rest.get(..len).ok_or(Error::Truncated)?;
        chain.ext_count += 1;
        let next = IpProtocol(hdr[field::NEXT_HEADER]);
        match nh {
            HOP_BY_HOP | DEST_OPTS => {
                for opt in Options::new(&hdr[field::OPTIONS..]) {
                    let (kind, _) = opt?;
                    if nh == HOP_BY_HOP && kind == OPT_ROUTER_ALERT {
                        chain.router_alert = true;
                    }
                }
            }
            ROUTING => {
                chain.routing = Some(Routing {
                    routing_type: hdr[field::ROUTING_TYPE],
                    segments_left: hdr[field::SEGMENTS_LEFT],
                });
            }
            FRAGMENT => {
                if chain.fragment.is_some() {
                    return Err(Error::Malformed("two IPv6 fragment headers"));
                }
                let f = FragmentView::new_unchecked(hdr).fragment();
                chain.fragment = Some(f);
                if !f.is_first() {
                    at += len;
                    nh = next;
                    break;
                }
            }
            _ => {}
        }
        at += len;
        nh = next;
    }
    chain.protocol = nh;
    chain.l4_offset = at;
    Ok(chain)
}

/// The TLV options of a hop-by-hop or destination-options header: `(type, data)` pairs, Pad1
/// and PadN included; an option whose length overruns the header ends the iteration with
/// [`Error::Malformed`].
#[derive(Debug, Clone)]
pub struct Options<'a> {
    rest: &'a [u8],
}

impl<'a> Options<'a> {
    /// The options in `data` (the header after its Next Header and length bytes).
    #[inline]
    pub const fn new(data: &'a [u8]) -> Self {
        Options { rest: data }
    }
}

impl<'a> Iterator for Options<'a> {
    type Item = Result<(u8, &'a [u8])>;

    fn next(&mut self) -> Option<Self::Item> {
        let (&kind, after) = self.rest.split_first()?;
        if kind == 0 {
            // Pad1: a single byte.
            self.rest = after;
            return Some(Ok((0, &[])));
        }
        let Some((&len, data)) = after.split_first() else {
            self.rest = &[];
            return Some(Err(Error::Malformed("IPv6 option without its length")));
        };
        let Some(value) = data.get(..usize::from(len)) else {
            self.rest = &[];
            return Some(Err(Error::Malformed("IPv6 option longer than its header")));
        };
        self.rest = &data[usize::from(len)..];
        Some(Ok((kind, value)))
    }
}

/// A view of a fragment header.
///
/// Invariant after [`FragmentView::new_checked`]: the buffer holds [`FRAGMENT_LEN`] bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FragmentView<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> FragmentView<T> {
    /// Wraps `buffer` without checks; accessors panic if it is shorter than 8 bytes.
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Self {
        FragmentView { buffer }
    }

    /// Wraps `buffer`, which must hold 8 bytes ([`Error::Truncated`]).
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self> {
        if buffer.as_ref().len() < FRAGMENT_LEN {
            return Err(Error::Truncated);
        }
        Ok(FragmentView { buffer })
    }

    /// Next Header of the fragmentable part.
    #[inline]
    pub fn next_header(&self) -> IpProtocol {
        IpProtocol(self.buffer.as_ref()[field::NEXT_HEADER])
    }

    /// Offset, flag and identification.
    #[inline]
    pub fn fragment(&self) -> Fragment {
        let b = self.buffer.as_ref();
        let w = get_u16(b, field::FRAG_OFFSET_FLAGS.start);
        Fragment { offset: w & !7, more: w & 1 == 1, ident: get_u32(b, field::FRAG_IDENT.start) }
    }
}

/// A fragment header in plain form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FragmentRepr {
    /// Next Header of the fragmentable part.
    pub next_header: IpProtocol,
    /// Offset, flag and identification; the offset must be a multiple of 8.
    pub fragment: Fragment,
}

impl FragmentRepr {
    /// Reads a checked fragment header; an offset that is not a multiple of 8 cannot be
    /// expressed and is not produced.
    #[inline]
    pub fn parse<T: AsRef<[u8]>>(view: &FragmentView<T>) -> FragmentRepr {
        FragmentRepr { next_header: view.next_header(), fragment: view.fragment() }
    }

    /// Writes the 8 bytes (the reserved fields zero). [`Error::NoSpace`] if the buffer is
    /// shorter; [`Error::Malformed`] for an offset that is not a multiple of 8.
    pub fn emit(&self, buf: &mut [u8]) -> Result<()> {
        let b = buf.get_mut(..FRAGMENT_LEN).ok_or(Error::NoSpace)?;
        if self.fragment.offset & 7 != 0 {
            return Err(Error::Malformed("fragment offset not a multiple of 8"));
        }
        b[field::NEXT_HEADER] = self.next_header.into();
        b[field::LEN] = 0;
        set_u16(
            b,
            field::FRAG_OFFSET_FLAGS.start,
            self.fragment.offset | u16::from(self.fragment.more),
        );
        set_u32(b, field::FRAG_IDENT.start, self.fragment.ident);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// An extension header of `len8` 8-byte units with next header `nh` (data PadN-filled).
    fn opts_header(nh: u8, len8: u8) -> Vec<u8> {
        let total = (usize::from(len8) + 1) * 8;
        let mut h = vec![nh, len8, 1, (total - 4) as u8];
        h.resize(total, 0);
        h
    }

    #[test]
    fn plain_tcp_has_no_extension() {
        let c = walk_payload(IpProtocol::TCP, &[0u8; 20]).unwrap();
        assert_eq!((c.protocol, c.l4_offset, c.ext_count), (IpProtocol::TCP, 0, 0));
        assert!(c.has_l4_header() && !c.is_fragment());
    }

    #[test]
    fn hop_by_hop_routing_destopts_to_udp() {
        let mut p = opts_header(43, 0); // HBH -> routing
        p.extend_from_slice(&[60, 0, 4, 0, 0, 0, 0, 0]); // routing type 4, segments left 0 -> dest opts
        p.extend_from_slice(&opts_header(17, 1)); // dest opts (16 bytes) -> UDP
        p.extend_from_slice(&[0u8; 8]);
        let c = walk_payload(HOP_BY_HOP, &p).unwrap();
        assert_eq!(c.protocol, IpProtocol::UDP);
        assert_eq!(c.l4_offset, 8 + 8 + 16);
        assert_eq!(c.ext_count, 3);
        assert_eq!(c.routing, Some(Routing { routing_type: 4, segments_left: 0 }));
    }

    #[test]
    fn authentication_header_counts_four_byte_words() {
        // AH with Payload Len 4: (4 + 2) * 4 = 24 bytes.
        let mut p = vec![6, 4];
        p.resize(24, 0);
        p.extend_from_slice(&[0u8; 20]);
        let c = walk_payload(AH, &p).unwrap();
        assert_eq!((c.protocol, c.l4_offset), (IpProtocol::TCP, 24));
    }

    #[test]
    fn fragments_first_later_and_atomic() {
        let first = [17, 0, 0x00, 0x01, 0xde, 0xad, 0xbe, 0xef];
        let c = walk_payload(FRAGMENT, &[&first[..], &[0u8; 8]].concat()).unwrap();
        assert_eq!(c.fragment, Some(Fragment { offset: 0, more: true, ident: 0xdead_beef }));
        assert!(c.is_fragment() && c.has_l4_header());
        assert_eq!((c.protocol, c.l4_offset), (IpProtocol::UDP, 8));

        // Offset 1448, no more; the data after it starts with bytes that look like a header
        // and are not walked.
        let later = [60, 0, 0x05, 0xa8, 0, 0, 0, 7];
        let c = walk_payload(FRAGMENT, &[&later[..], &[6, 200]].concat()).unwrap();
        assert_eq!(c.fragment, Some(Fragment { offset: 1448, more: false, ident: 7 }));
        assert!(c.is_fragment() && !c.has_l4_header());
        assert_eq!((c.protocol, c.l4_offset), (DEST_OPTS, 8));

        let atomic = [58, 0, 0, 0, 0, 0, 0, 9];
        let c = walk_payload(FRAGMENT, &atomic).unwrap();
        assert!(!c.is_fragment() && c.has_l4_header());
        assert_eq!(c.protocol, IpProtocol::ICMPV6);
    }

    #[test]
    fn refusals() {
        // Truncated header, truncated length, options overrunning, HBH not first, too many, two
        // fragment headers.
        assert_eq!(walk_payload(HOP_BY_HOP, &[6]), Err(Error::Truncated));
        assert_eq!(walk_payload(DEST_OPTS, &[6, 1, 1, 4, 0, 0, 0, 0]), Err(Error::Truncated));
        assert!(matches!(
            walk_payload(DEST_OPTS, &[6, 0, 1, 5, 0, 0, 0, 0]),
            Err(Error::Malformed(_))
        ));
        let mut p = opts_header(0, 0);
        p.extend_from_slice(&opts_header(6, 0));
        assert!(matches!(walk_payload(DEST_OPTS, &p), Err(Error::Malformed(_))));
        let mut long = Vec::new();
        for _ in 0..=MAX_EXT_HEADERS {
            long.extend_from_slice(&opts_header(60, 0));
        }
        assert!(matches!(walk_payload(DEST_OPTS, &long), Err(Error::Malformed(_))));
        let two = [44, 0, 0, 1, 0, 0, 0, 1, 6, 0, 0, 0, 0, 0, 0, 1];
        assert!(matches!(walk_payload(FRAGMENT, &two), Err(Error::Malformed(_))));
    }

    #[test]
    fn esp_and_no_next_header_stop() {
        let c = walk_payload(DEST_OPTS, &opts_header(50, 0)).unwrap();
        assert_eq!((c.protocol, c.l4_offset, c.has_l4_header()), (ESP, 8, false));
        let c = walk_payload(NO_NEXT_HEADER, &[]).unwrap();
        assert!(!c.has_l4_header());
    }

    /// A reference walk written from RFC 8200's text with no shared helpers: header lengths
    /// summed by hand.
    fn reference_offset(first: u8, p: &[u8]) -> Option<(u8, usize)> {
        let (mut nh, mut at) = (first, 0usize);
        for _ in 0..MAX_EXT_HEADERS {
            let len = match nh {
                0 | 43 | 60 => (*p.get(at + 1)? as usize) * 8 + 8,
                51 => (*p.get(at + 1)? as usize) * 4 + 8,
                44 => 8,
                _ => return Some((nh, at)),
            };
            if at + len > p.len() {
                return None;
            }
            let next = p[at];
            if nh == 44 && (u16::from(p[at + 2]) << 8 | u16::from(p[at + 3])) & !7 != 0 {
                return Some((next, at + len));
            }
            nh = next;
            at += len;
        }
        if matches!(nh, 0 | 43 | 44 | 51 | 60) {
            None
        } else {
            Some((nh, at))
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(
            first in prop_oneof![Just(0u8), Just(43), Just(44), Just(51), Just(60), any::<u8>()],
            bytes in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            if let Ok(c) = walk_payload(IpProtocol(first), &bytes) {
                prop_assert!(c.l4_offset <= bytes.len());
                prop_assert!(usize::from(c.ext_count) <= MAX_EXT_HEADERS);
                let _ = (c.has_l4_header(), c.is_fragment());
            }
            if let Ok(v) = FragmentView::new_checked(&bytes[..]) {
                let _ = FragmentRepr::parse(&v);
            }
        }

        /// Chains built of padded options headers, AH and a fragment header end where a
        /// reference walk says, with the protocol it says.
        #[test]
        fn built_chains_end_where_the_reference_says(
            kinds in proptest::collection::vec((prop_oneof![Just(43u8), Just(44), Just(51), Just(60)], 0u8..4), 0..6),
            hbh in any::<bool>(), last in prop_oneof![Just(6u8), Just(17), Just(58)],
            frag_off in 0u16..3,
        ) {
            let mut list: Vec<(u8, u8)> = kinds;
            let mut seen_frag = false;
            list.retain(|&(k, _)| { if k == 44 { let keep = !seen_frag; seen_frag = true; keep } else { true } });
            if hbh { list.insert(0, (0, 1)); }
            let first = list.first().map_or(last, |&(k, _)| k);
            let mut p = Vec::new();
            for (i, &(k, n)) in list.iter().enumerate() {
                let next = list.get(i + 1).map_or(last, |&(k, _)| k);
                match k {
                    44 => {
                        let r = FragmentRepr { next_header: IpProtocol(next),
                            fragment: Fragment { offset: frag_off * 8, more: true, ident: 1 } };
                        let mut b = [0u8; 8];
                        r.emit(&mut b).unwrap();
                        prop_assert_eq!(FragmentRepr::parse(&FragmentView::new_checked(&b[..]).unwrap()), r);
                        p.extend_from_slice(&b);
                    }
                    51 => { let mut h = vec![next, n * 2 + 1]; h.resize((usize::from(n) * 2 + 3) * 4, 0); p.extend_from_slice(&h); }
                    _ => p.extend_from_slice(&opts_header(next, n)),
                }
            }
            p.extend_from_slice(&[0u8; 20]);
            let c = walk_payload(IpProtocol(first), &p).unwrap();
            let (proto, at) = reference_offset(first, &p).unwrap();
            prop_assert_eq!((c.protocol, c.l4_offset), (IpProtocol(proto), at));
        }
    }
}
