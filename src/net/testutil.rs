//! Test fixtures for `net`: a recording [`NetIo`], a sample director, and frames built byte by byte
//! with an independent, deliberately naive checksum (no `wire` code involved).

use std::net::Ipv4Addr;

use super::counters::DropReason;
use super::iface::{AddrKind, IfAddr, Iface, IfaceTable};
use super::io::NetIo;
use super::neigh::NeighParams;
use super::route::{Route, RouteTable};
use super::stack::{Input, Stack};
use crate::buf::{PacketBuf, VecBuf};
use crate::time::Instant;
use crate::wire::MacAddr;

/// Records everything the stack does with packets.
#[derive(Debug, Default)]
pub struct TestIo {
    pub tx: Vec<(u16, VecBuf)>,
    /// Frames handed to the kernel interface of a port (exception path).
    pub kernel: Vec<(u16, VecBuf)>,
    pub dropped: Vec<(VecBuf, DropReason)>,
    pub freed: Vec<VecBuf>,
    pub allocs: usize,
    /// When `Some(n)`, only `n` more allocations succeed.
    pub alloc_budget: Option<usize>,
}

impl NetIo<VecBuf> for TestIo {
    fn tx(&mut self, port: u16, pkt: VecBuf) {
        self.tx.push((port, pkt));
    }
    fn alloc(&mut self) -> Option<VecBuf> {
        if let Some(b) = self.alloc_budget.as_mut() {
            if *b == 0 {
                return None;
            }
            *b -= 1;
        }
        self.allocs += 1;
        Some(VecBuf::with_capacity(128, 2048))
    }
    fn drop_pkt(&mut self, pkt: VecBuf, reason: DropReason) {
        self.dropped.push((pkt, reason));
    }
    fn free(&mut self, pkt: VecBuf) {
        self.freed.push(pkt);
    }
    fn to_kernel(&mut self, port: u16, pkt: VecBuf) {
        self.kernel.push((port, pkt));
    }
}

impl TestIo {
    pub fn drop_reasons(&self) -> Vec<DropReason> {
        self.dropped.iter().map(|(_, r)| *r).collect()
    }
}

pub const MAC0: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x01]);
pub const MAC1: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x02]);
pub const PEER_MAC: MacAddr = MacAddr([0x52, 0x54, 0, 0x12, 0x34, 0x56]);
pub const HOST0: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
pub const VIP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 100);
pub const LADDR: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 200);
pub const HOST1: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 1);
pub const GW: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 254);
pub const PEER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 7);

/// Port 0: 10.0.0.1/24 host, VIP 10.0.0.100/32, laddr 10.0.0.200/24. Port 1: 192.168.1.1/24.
pub fn ifaces() -> IfaceTable {
    let a = |ip, prefix_len, kind| IfAddr { ip, prefix_len, kind };
    IfaceTable::new(vec![
        Iface {
            port: 0,
            mac: MAC0,
            mtu: 1500,
            addrs: vec![
                a(HOST0, 24, AddrKind::Host),
                a(VIP, 32, AddrKind::Vip),
                a(LADDR, 24, AddrKind::Local),
            ],
        },
        Iface { port: 1, mac: MAC1, mtu: 1500, addrs: vec![a(HOST1, 24, AddrKind::Host)] },
    ])
    .unwrap()
}

/// Connected routes plus a default route via 10.0.0.254 on port 0.
pub fn routes(ifaces: &IfaceTable) -> RouteTable {
    RouteTable::build(
        ifaces,
        &[Route { prefix: Ipv4Addr::UNSPECIFIED, prefix_len: 0, port: 0, gateway: Some(GW) }],
    )
    .unwrap()
}

/// RFC 1071 checksum the slow, obvious way: add 16-bit words in a u64, fold, complement.
pub fn naive_checksum(bytes: &[u8]) -> u16 {
    let mut sum: u64 = 0;
    let mut i = 0;
    while i < bytes.len() {
        let hi = u64::from(bytes[i]) << 8;
        let lo = if i + 1 < bytes.len() { u64::from(bytes[i + 1]) } else { 0 };
        sum += hi | lo;
        i += 2;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

pub fn eth(dst: MacAddr, src: MacAddr, ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&dst.0);
    v.extend_from_slice(&src.0);
    v.extend_from_slice(&ethertype.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

pub fn arp(op: u16, sha: MacAddr, spa: Ipv4Addr, tha: MacAddr, tpa: Ipv4Addr) -> Vec<u8> {
    let mut v = vec![0, 1, 8, 0, 6, 4];
    v.extend_from_slice(&op.to_be_bytes());
    v.extend_from_slice(&sha.0);
    v.extend_from_slice(&spa.octets());
    v.extend_from_slice(&tha.0);
    v.extend_from_slice(&tpa.octets());
    v
}

/// An option-less IPv4 header + payload with a correct checksum.
pub fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, ttl: u8, payload: &[u8]) -> Vec<u8> {
    let total = (20 + payload.len()) as u16;
    let mut v = vec![0x45, 0];
    v.extend_from_slice(&total.to_be_bytes());
    v.extend_from_slice(&[0x12, 0x34, 0x40, 0x00, ttl, proto, 0, 0]);
    v.extend_from_slice(&src.octets());
    v.extend_from_slice(&dst.octets());
    let c = naive_checksum(&v);
    v[10..12].copy_from_slice(&c.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

/// An ICMP message with a correct checksum.
pub fn icmp(ty: u8, code: u8, rest: [u8; 4], data: &[u8]) -> Vec<u8> {
    let mut v = vec![ty, code, 0, 0];
    v.extend_from_slice(&rest);
    v.extend_from_slice(data);
    let c = naive_checksum(&v);
    v[2..4].copy_from_slice(&c.to_be_bytes());
    v
}

pub fn buf(bytes: &[u8]) -> VecBuf {
    VecBuf::from_slice(bytes)
}

/// A packet for `Stack::send_ipv4`: 14 reserved bytes, then an IPv4 packet.
pub fn outgoing(dst: Ipv4Addr, tag: u8) -> VecBuf {
    let mut v = vec![0u8; 14];
    v.extend_from_slice(&ipv4(HOST0, dst, 17, 64, &[tag; 8]));
    VecBuf::from_slice(&v)
}

pub fn data(b: &VecBuf) -> &[u8] {
    b.data()
}

pub const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 50);

/// A stack over [`ifaces`] and [`routes`] with default neighbour parameters.
pub fn stack() -> Stack<VecBuf> {
    let i = ifaces();
    let r = routes(&i);
    Stack::new(i, r, &[], NeighParams::default()).unwrap()
}

pub fn rx(s: &mut Stack<VecBuf>, io: &mut TestIo, port: u16, frame: &[u8]) -> Input<VecBuf> {
    s.input(port, buf(frame), Instant::from_secs(1), io)
}

/// Asserts that `frame` received on `port` is dropped for `reason` alone, and counted once.
pub fn dropped_as(frame: &[u8], port: u16, reason: DropReason) {
    let mut s = stack();
    let mut io = TestIo::default();
    assert!(matches!(rx(&mut s, &mut io, port, frame), Input::Consumed));
    assert_eq!(io.drop_reasons(), vec![reason], "frame {frame:02x?}");
    assert!(io.tx.is_empty());
    assert_eq!(s.counters().drop_count(reason), 1);
    assert_eq!(s.counters().total_drops(), 1);
}
