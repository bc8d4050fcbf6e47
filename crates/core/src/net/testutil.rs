//! Test fixtures for `net`: a recording [`NetIo`] and a sample director. Frames and the
//! reference checksum come from [`crate::testkit`] (re-exported here for the `net` tests).

use std::net::Ipv4Addr;

use super::counters::DropReason;
use super::iface::{AddrKind, IfAddr, Iface, IfaceTable};
use super::io::NetIo;
use super::neigh::NeighParams;
use super::route::{Route, RouteTable};
use super::stack::{Input, Stack};
use crate::buf::{PacketBuf, VecBuf};
pub use crate::testkit::checksum::checksum as naive_checksum;
pub use crate::testkit::frames::{arp, eth, icmp, ipv4};
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
