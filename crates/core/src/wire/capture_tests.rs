//! The IPv6 parsers and checksums against frames Linux sent (tests/data/ipv6/frames.txt, cut
//! from tests/data/ipv6/capture.pcap): two namespaces joined by a veth pair, `ping -6`, a UDP
//! datagram and a TCP SYN to closed ports, and the kernel's own DAD, router solicitations, MLD
//! reports and neighbour discovery. Each checksum is the kernel's; each emitted message must
//! equal the kernel's bytes.

use std::net::Ipv6Addr;

use super::ethernet::{EtherType, Frame, MacAddr};
use super::icmpv6::{self, Repr as IcmpRepr};
use super::ip::IpProtocol;
use super::ipv6ext::{self, HOP_BY_HOP};
use super::ndisc::{self, Repr as NdRepr, FLAG_OVERRIDE, FLAG_SOLICITED};
use super::tuple::Tuple;
use super::{ipv6, tcp, udp};
use crate::testkit::checksum as reference;

const FRAMES: &str = include_str!("../../../../tests/data/ipv6/frames.txt");

fn frame(name: &str) -> Vec<u8> {
    let line = FRAMES
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("no frame {name}"));
    let hex = line.split_whitespace().nth(1).unwrap();
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect()
}

/// The IPv6 packet of a frame, its walked chain and upper-layer bytes.
struct Parsed {
    eth_dst: MacAddr,
    ip: Vec<u8>,
    chain: ipv6ext::Chain,
}

impl Parsed {
    fn new(name: &str) -> Parsed {
        let f = frame(name);
        let eth = Frame::new_checked(&f[..]).unwrap();
        assert_eq!(eth.ethertype(), EtherType::Ipv6);
        let ip = eth.payload().to_vec();
        let p = ipv6::Packet::new_checked(&ip[..]).unwrap();
        let chain = ipv6ext::walk(&p).unwrap();
        let ip_len = ipv6::HEADER_LEN + usize::from(p.payload_len());
        Parsed { eth_dst: eth.dst_addr(), ip: ip[..ip_len].to_vec(), chain }
    }
    fn hdr(&self) -> ipv6::Packet<&[u8]> {
        ipv6::Packet::new_checked(&self.ip[..]).unwrap()
    }
    fn l4(&self) -> &[u8] {
        &self.ip[self.chain.l4_offset..]
    }
    fn src(&self) -> Ipv6Addr {
        self.hdr().src_addr()
    }
    fn dst(&self) -> Ipv6Addr {
        self.hdr().dst_addr()
    }
    /// The ICMPv6 message, its checksum checked by the code under test and by the reference.
    fn icmp(&self) -> icmpv6::Packet<&[u8]> {
        assert_eq!(self.chain.protocol, IpProtocol::ICMPV6);
        let m = icmpv6::Packet::new_checked(self.l4()).unwrap();
        assert!(m.verify_checksum(self.src(), self.dst()));
        let ph = reference::pseudo_v6(self.src(), self.dst(), 58, self.l4().len());
        assert_eq!(reference::ones_sum(&[&ph, self.l4()]), 0xffff);
        m
    }
}

fn a(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}
const MAC_A: MacAddr = MacAddr([0xc6, 0x50, 0xc0, 0x73, 0x47, 0x46]); // 2001:db8:6::1
const MAC_B: MacAddr = MacAddr([0x5a, 0xd6, 0xa8, 0x57, 0x5b, 0x45]); // 2001:db8:6::2

#[test]
fn every_captured_checksum_verifies() {
    for name in
        FRAMES.lines().filter(|l| !l.starts_with('#')).filter_map(|l| l.split_whitespace().next())
    {
        let p = Parsed::new(name);
        match p.chain.protocol {
            IpProtocol::ICMPV6 => {
                p.icmp();
            }
            IpProtocol::UDP => {
                let u = udp::Packet::new_checked(p.l4()).unwrap();
                assert!(u.verify_checksum_v6(p.src(), p.dst()), "{name}");
                let mut copy = p.l4().to_vec();
                udp::Packet::new_unchecked(&mut copy[..]).fill_checksum_v6(p.src(), p.dst());
                assert_eq!(copy, p.l4(), "{name}");
            }
            IpProtocol::TCP => {
                let t = tcp::Packet::new_checked(p.l4()).unwrap();
                assert!(t.verify_checksum_v6(p.src(), p.dst()), "{name}");
                assert!(!t.verify_checksum_v6(p.dst(), p.src().saturating_add_one()), "{name}");
                let mut copy = p.l4().to_vec();
                tcp::Packet::new_unchecked(&mut copy[..]).fill_checksum_v6(p.src(), p.dst());
                assert_eq!(copy, p.l4(), "{name}");
            }
            other => panic!("{name}: unexpected {other}"),
        }
    }
}

trait AddOne {
    fn saturating_add_one(self) -> Self;
}
impl AddOne for Ipv6Addr {
    fn saturating_add_one(self) -> Self {
        Ipv6Addr::from(u128::from(self).saturating_add(1))
    }
}

#[test]
fn mld_report_walks_a_hop_by_hop_router_alert() {
    let p = Parsed::new("MLD_REPORT_HBH");
    assert_eq!(p.hdr().next_header(), HOP_BY_HOP);
    assert!(p.chain.router_alert);
    assert_eq!((p.chain.ext_count, p.chain.l4_offset), (1, 48));
    assert_eq!(p.icmp().msg_type(), icmpv6::Message::Unknown(143));
}

#[test]
fn dad_solicitation() {
    let p = Parsed::new("DAD_NS");
    let r = NdRepr::parse(&p.icmp()).unwrap();
    let target = a("fe80::58d6:a8ff:fe57:5b45");
    assert_eq!(r, NdRepr::NeighborSolicit { target, source_ll: None });
    assert!(p.src().is_unspecified());
    assert_eq!(p.dst(), ndisc::solicited_node(target));
    assert_eq!(p.eth_dst, ndisc::multicast_mac(p.dst()));
    r.validate(p.src(), p.dst(), p.hdr().hop_limit()).unwrap();
    // Linux adds a nonce option (type 14, RFC 7527) that rvs reads past and does not send; the
    // rest is the same message.
    let l4 = p.l4();
    assert_eq!((l4.len(), l4[24], l4[25]), (32, 14, 1));
    let mut out = vec![0u8; r.buffer_len()];
    r.emit(p.src(), p.dst(), &mut out).unwrap();
    assert_eq!(out[4..], l4[4..24]);
    assert!(icmpv6::Packet::new_checked(&out[..]).unwrap().verify_checksum(p.src(), p.dst()));
}

#[test]
fn an_advertisement_without_the_target_option() {
    // The answer to a unicast NUD probe: S set, O clear, no target link-layer option.
    let p = Parsed::new("NA_UNICAST_NO_TLL");
    let r = NdRepr::parse(&p.icmp()).unwrap();
    assert_eq!(
        r,
        NdRepr::NeighborAdvert {
            flags: FLAG_SOLICITED,
            target: a("2001:db8:6::1"),
            target_ll: None
        }
    );
    r.validate(p.src(), p.dst(), p.hdr().hop_limit()).unwrap();
    let mut out = vec![0u8; r.buffer_len()];
    r.emit(p.src(), p.dst(), &mut out).unwrap();
    assert_eq!(out, p.l4());
}

#[test]
fn solicitation_and_advertisement_are_emitted_as_the_kernel_does() {
    let ns = Parsed::new("NS");
    let r = NdRepr::parse(&ns.icmp()).unwrap();
    assert_eq!(r, NdRepr::NeighborSolicit { target: a("2001:db8:6::2"), source_ll: Some(MAC_A) });
    r.validate(ns.src(), ns.dst(), ns.hdr().hop_limit()).unwrap();
    let mut out = vec![0u8; r.buffer_len()];
    r.emit(ns.src(), ns.dst(), &mut out).unwrap();
    assert_eq!(out, ns.l4());

    let na = Parsed::new("NA_SOLICITED");
    let r = NdRepr::parse(&na.icmp()).unwrap();
    let want = NdRepr::NeighborAdvert {
        flags: FLAG_SOLICITED | FLAG_OVERRIDE,
        target: a("2001:db8:6::2"),
        target_ll: Some(MAC_B),
    };
    assert_eq!(r, want);
    r.validate(na.src(), na.dst(), na.hdr().hop_limit()).unwrap();
    let mut out = vec![0u8; r.buffer_len()];
    r.emit(na.src(), na.dst(), &mut out).unwrap();
    assert_eq!(out, na.l4());

    let rs = Parsed::new("RS");
    let r = NdRepr::parse(&rs.icmp()).unwrap();
    assert_eq!(r, NdRepr::RouterSolicit { source_ll: Some(MAC_B) });
}

#[test]
fn echo_reply_built_from_the_request_equals_the_kernels() {
    let req = Parsed::new("ECHO_REQUEST");
    let rep = Parsed::new("ECHO_REPLY");
    let r = IcmpRepr::parse(&req.icmp()).unwrap();
    let IcmpRepr::EchoRequest { ident, seq, data } = r else { panic!("{r:?}") };
    assert_eq!((ident, seq), (0x2820, 1));
    let reply = IcmpRepr::EchoReply { ident, seq, data };
    let mut out = vec![0u8; reply.buffer_len()];
    reply.emit(req.dst(), req.src(), &mut icmpv6::Packet::new_unchecked(&mut out[..])).unwrap();
    assert_eq!(out, rep.icmp().as_bytes());
}

#[test]
fn port_unreachable_quotes_the_datagram_as_the_kernel_does() {
    let dgram = Parsed::new("UDP");
    let err = Parsed::new("PORT_UNREACHABLE");
    let m = err.icmp();
    let q = m.quoted().unwrap();
    assert_eq!(
        q.tuple(),
        Tuple::new(IpProtocol::UDP, a("2001:db8:6::1"), 60894, a("2001:db8:6::2"), 9999)
    );
    let r = IcmpRepr::DstUnreachable {
        code: icmpv6::unreachable::PORT,
        invoking: IcmpRepr::quote(&dgram.ip),
    };
    assert_eq!(IcmpRepr::parse(&m).unwrap(), r);
    let mut out = vec![0u8; r.buffer_len()];
    r.emit(err.src(), err.dst(), &mut icmpv6::Packet::new_unchecked(&mut out[..])).unwrap();
    assert_eq!(out, m.as_bytes());
}
