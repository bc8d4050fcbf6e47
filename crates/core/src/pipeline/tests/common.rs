//! What every pipeline test shares: the director under test (a real `net::Stack` with static
//! neighbours, so no ARP, and the balancer), its configuration helpers, the [`Lab`] that feeds
//! frames and collects what leaves, and frames built and read with the test kit
//! ([`crate::testkit`]), independently of `wire` and `xmit`.

pub(super) use std::net::Ipv4Addr;
pub(super) use std::sync::Arc;

pub(super) use proptest::prelude::*;

pub(super) use super::super::*;
pub(super) use crate::buf::VecBuf;
pub(super) use crate::ipvs::balancer::{Balancer, BalancerConfig};
pub(super) use crate::ipvs::conn::HashSeed;
pub(super) use crate::ipvs::counters::IpvsDropReason as R;
pub(super) use crate::ipvs::service::{BuildOptions, Services};
pub(super) use crate::ipvs::spec::{self, DestSpec, Netmask, Protocol, ServiceKey, ServiceSpec};
pub(super) use crate::net::testutil::TestIo;
pub(super) use crate::net::{
    IfAddr, Iface, IfaceTable, NeighParams, Route, RouteTable, StaticNeigh,
};
pub(super) use crate::testkit::checksum::checksum as naive_checksum;
pub(super) use crate::wire::{IpProtocol, MacAddr};

pub(super) const TCP: u8 = 6;
pub(super) const UDP: u8 = 17;
pub(super) use crate::testkit::frames::{ACK, FIN, PSH, RST, SYN};

pub(super) const MAC0: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0xa0]);
pub(super) const MAC1: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0xa1]);
pub(super) const CLIENT_MAC: MacAddr = MacAddr([0x52, 0, 0, 0, 0, 0x50]);
pub(super) const GW_MAC: MacAddr = MacAddr([0x52, 0, 0, 0, 0, 0xfe]);
pub(super) const HOST0: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
pub(super) const VIP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 100);
pub(super) const WAN: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 201);
pub(super) const GW: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 254);
pub(super) const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 50);
pub(super) const HOST1: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 1);
pub(super) const LADDR: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 200);
pub(super) const INSIDE: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 50);
pub(super) const OUTSIDE: Ipv4Addr = Ipv4Addr::new(8, 8, 8, 8);

pub(super) fn rs(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(192, 168, 1, 10 + n)
}
pub(super) fn rs_mac(n: u8) -> MacAddr {
    MacAddr([0x52, 0, 0, 0, 1, n])
}

/// Port 0 faces clients (host 10.0.0.1/24, VIP, SNAT WAN address, default route via GW);
/// port 1 faces real servers (host 192.168.1.1/24, FULLNAT local address).
pub(super) fn stack() -> Stack<VecBuf> {
    let a = |ip, prefix_len, kind| IfAddr { ip, prefix_len, kind };
    let ifaces = IfaceTable::new(vec![
        Iface {
            port: 0,
            mac: MAC0,
            mtu: 1500,
            addrs: vec![
                a(HOST0, 24, AddrKind::Host),
                a(VIP, 32, AddrKind::Vip),
                a(WAN, 32, AddrKind::Local),
            ],
        },
        Iface {
            port: 1,
            mac: MAC1,
            mtu: 1500,
            addrs: vec![a(HOST1, 24, AddrKind::Host), a(LADDR, 32, AddrKind::Local)],
        },
    ])
    .unwrap();
    let routes = RouteTable::build(
        &ifaces,
        &[Route { prefix: Ipv4Addr::UNSPECIFIED, prefix_len: 0, port: 0, gateway: Some(GW) }],
    )
    .unwrap();
    let mut neigh = vec![
        StaticNeigh { ip: CLIENT, port: 0, mac: CLIENT_MAC },
        StaticNeigh { ip: GW, port: 0, mac: GW_MAC },
        StaticNeigh { ip: INSIDE, port: 1, mac: rs_mac(50) },
    ];
    for n in 0..4 {
        neigh.push(StaticNeigh { ip: rs(n), port: 1, mac: rs_mac(n) });
    }
    Stack::new(ifaces, routes, &neigh, NeighParams::default()).unwrap()
}

// ---- configuration ----

pub(super) fn svc(proto: Protocol, port: u16, sched: &str) -> ServiceSpec {
    let mut s = ServiceSpec::new(ServiceKey { proto, addr: VIP.into(), port });
    s.scheduler = sched.parse().unwrap();
    s
}

pub(super) fn dest(n: u8, port: u16, fwd: spec::FwdMethod, weight: u32) -> DestSpec {
    let mut d = DestSpec::new(rs(n).into(), port);
    d.fwd = fwd;
    d.weight = weight;
    d
}

pub(super) fn laddr(s: &ServiceSpec, a: Ipv4Addr) -> (ServiceKey, spec::LocalAddrSpec) {
    (s.key, spec::LocalAddrSpec { addr: a.into(), ifname: None })
}

pub(super) fn snapshot(
    svcs: &[(&ServiceSpec, &[DestSpec])],
    la: &[(ServiceKey, spec::LocalAddrSpec)],
    snat: &[spec::SnatRule],
) -> Arc<Services> {
    Arc::new(
        Services::build(
            svcs.iter().map(|(s, d)| (*s, *d)),
            la,
            snat,
            spec::Timeouts::default(),
            BuildOptions::default(),
        )
        .unwrap(),
    )
}

pub(super) struct Lab {
    pub(super) p: Pipeline<VecBuf>,
    pub(super) io: TestIo,
    pub(super) now: Instant,
    pub(super) inputs: usize,
    pub(super) redirected: usize,
}

impl Lab {
    pub(super) fn with(cfg: BalancerConfig, snap: Arc<Services>) -> Lab {
        let now = Instant::from_secs(100);
        let lb = Balancer::new(cfg, now).unwrap();
        let mut p = Pipeline::with_balancer(stack(), lb);
        p.set_services(snap, now);
        Lab { p, io: TestIo::default(), now, inputs: 0, redirected: 0 }
    }

    pub(super) fn new(snap: Arc<Services>) -> Lab {
        let cfg = BalancerConfig {
            conn_capacity: 64,
            hash_seed: HashSeed::from_u64(7),
            ..BalancerConfig::new(0, 1)
        };
        Lab::with(cfg, snap)
    }

    pub(super) fn lb(&self) -> &Balancer {
        self.p.balancer().unwrap()
    }

    /// Feeds a frame on `port`; returns what was transmitted because of it.
    pub(super) fn send(&mut self, port: u16, frame: &[u8]) -> Vec<(u16, Vec<u8>)> {
        self.inputs += 1;
        if let Some((b, _, _)) =
            self.p.input(port, VecBuf::from_slice(frame), self.now, &mut self.io)
        {
            self.redirected += 1;
            drop(b);
        }
        self.io.tx.drain(..).map(|(p, b)| (p, b.data().to_vec())).collect()
    }

    /// Feeds a frame that must come out exactly once, and returns it.
    pub(super) fn one(&mut self, port: u16, frame: &[u8]) -> (u16, Vec<u8>) {
        let mut out = self.send(port, frame);
        assert_eq!(out.len(), 1, "one frame out; dropped {:?}", self.io.drop_reasons());
        out.remove(0)
    }

    pub(super) fn states(&self) -> Vec<&'static str> {
        self.lb()
            .conns_snapshot(self.now, 100)
            .iter()
            .filter(|c| !c.template)
            .map(|c| c.state)
            .collect()
    }

    /// Active and inactive connections of real server `n`, over all its services.
    pub(super) fn dest_counts(&self, n: u8) -> (u32, u32) {
        let d = self.lb().dest_reports();
        assert!(d.iter().any(|d| d.addr == rs(n)), "dest known");
        d.iter()
            .filter(|d| d.addr == rs(n))
            .fold((0, 0), |(a, i), d| (a + d.active, i + d.inactive))
    }

    pub(super) fn drops(&self, r: R) -> u64 {
        self.lb().counters().drop_count(r)
    }

    pub(super) fn advance(&mut self, secs: u64) {
        self.now = self.now + core::time::Duration::from_secs(secs);
        for _ in 0..100 {
            self.p.poll(self.now, &mut self.io);
        }
    }
}

// ---- frames: the test kit's builders ----

pub(super) use crate::testkit::checksum::l4_checksum_v4 as l4_checksum;
pub(super) use crate::testkit::frames::{tcp, udp};

/// What crosses the ring with a redirected packet, as the worker moves it: checked to be what
/// a fresh parse of the packet by the owner core's stack would give (headers and owner), then
/// through its compact form. The owner core takes the decoded copy.
pub(super) fn across_the_ring(lab: &Lab, b: &VecBuf, carried: &Carried) -> Carried {
    let ip = crate::wire::Ipv4Meta::parse(b.data(), carried.meta.ip.l3).expect("checked header");
    assert_eq!(carried.meta, crate::wire::PacketMeta::parse(b.data(), ip), "headers as parsed");
    let owner = lab.p.stack().ifaces().owns(ip.dst_addr).map(|(_, kind)| kind);
    assert_eq!(carried.owner, owner, "owner as looked up");
    let decoded = Carried::from_bytes(&carried.to_bytes()).expect("compact form decodes");
    assert_eq!(&decoded, carried, "compact form round-trips");
    decoded
}

/// An IPv4 packet (TTL 64, DF) around `payload`.
pub(super) fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, payload: &[u8]) -> Vec<u8> {
    crate::testkit::frames::ipv4(src, dst, proto, 64, payload)
}

/// An Ethernet frame carrying the IPv4 packet `ip`.
pub(super) fn eth(dst: MacAddr, src: MacAddr, ip: &[u8]) -> Vec<u8> {
    crate::testkit::frames::eth(dst, src, 0x0800, ip)
}

/// From a client on port 0.
pub(super) fn from_client(ip: &[u8]) -> Vec<u8> {
    eth(MAC0, CLIENT_MAC, ip)
}

/// From real server `n` on port 1.
pub(super) fn from_rs(n: u8, ip: &[u8]) -> Vec<u8> {
    eth(MAC1, rs_mac(n), ip)
}

/// A transmitted IPv4 TCP/UDP packet, read with every checksum verified from scratch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Seen {
    pub(super) dst_mac: MacAddr,
    pub(super) src_mac: MacAddr,
    pub(super) src: Ipv4Addr,
    pub(super) dst: Ipv4Addr,
    pub(super) ttl: u8,
    pub(super) proto: u8,
    pub(super) sport: u16,
    pub(super) dport: u16,
    pub(super) seq: u32,
    pub(super) ack: u32,
    pub(super) flags: u8,
    /// TCP options.
    pub(super) opts: Vec<u8>,
    pub(super) payload: Vec<u8>,
}

pub(super) fn mac(b: &[u8]) -> MacAddr {
    MacAddr([b[0], b[1], b[2], b[3], b[4], b[5]])
}

pub(super) fn seen(frame: &[u8]) -> Seen {
    assert_eq!(&frame[12..14], &[0x08, 0x00], "IPv4 EtherType");
    let ip = &frame[14..];
    let hl = usize::from(ip[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    assert_eq!(ip[0] >> 4, 4);
    assert_eq!(total, ip.len(), "no trailing bytes");
    assert_eq!(naive_checksum(&ip[..hl]), 0, "IPv4 header checksum");
    let src = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
    let dst = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
    let l4 = &ip[hl..total];
    let proto = ip[9];
    let mut s = Seen {
        dst_mac: mac(&frame[0..6]),
        src_mac: mac(&frame[6..12]),
        src,
        dst,
        ttl: ip[8],
        proto,
        sport: u16::from_be_bytes([l4[0], l4[1]]),
        dport: u16::from_be_bytes([l4[2], l4[3]]),
        seq: 0,
        ack: 0,
        flags: 0,
        opts: Vec::new(),
        payload: Vec::new(),
    };
    match proto {
        TCP => {
            assert_eq!(l4_checksum(src, dst, TCP, l4), 0, "TCP checksum");
            let doff = usize::from(l4[12] >> 4) * 4;
            s.seq = u32::from_be_bytes([l4[4], l4[5], l4[6], l4[7]]);
            s.ack = u32::from_be_bytes([l4[8], l4[9], l4[10], l4[11]]);
            s.flags = l4[13];
            s.opts = l4[20..doff].to_vec();
            s.payload = l4[doff..].to_vec();
        }
        UDP => {
            assert_eq!(usize::from(u16::from_be_bytes([l4[4], l4[5]])), l4.len(), "UDP length");
            if l4[6..8] != [0, 0] {
                assert_eq!(l4_checksum(src, dst, UDP, l4), 0, "UDP checksum");
            }
            s.payload = l4[8..].to_vec();
        }
        p => panic!("unexpected protocol {p}"),
    }
    s
}

// ---- NAT ----

pub(super) fn nat_lab(sched: &str, weights: &[u32]) -> Lab {
    let s = svc(Protocol::Tcp, 80, sched);
    let d: Vec<_> = weights
        .iter()
        .enumerate()
        .map(|(i, &w)| dest(i as u8, 8080, spec::FwdMethod::Masq, w))
        .collect();
    let u = svc(Protocol::Udp, 53, sched);
    let ud: Vec<_> = weights
        .iter()
        .enumerate()
        .map(|(i, &w)| dest(i as u8, 5353, spec::FwdMethod::Masq, w))
        .collect();
    Lab::new(snapshot(&[(&s, &d), (&u, &ud)], &[], &[]))
}

pub(super) fn fullnat_lab(range: Option<(u16, u16)>) -> Lab {
    let mut s = svc(Protocol::Tcp, 80, "rr");
    s.toa = true;
    let u = svc(Protocol::Udp, 53, "rr");
    let d = [dest(0, 8080, spec::FwdMethod::FullNat, 1)];
    let ud = [dest(0, 5353, spec::FwdMethod::FullNat, 1)];
    let mut cfg = BalancerConfig {
        conn_capacity: 64,
        hash_seed: HashSeed::from_u64(5),
        ..BalancerConfig::new(0, 1)
    };
    if let Some((lo, hi)) = range {
        cfg.local_ports = crate::ipvs::laddr::PortRange::new(lo, hi).unwrap();
    }
    Lab::with(cfg, snapshot(&[(&s, &d), (&u, &ud)], &[laddr(&s, LADDR), laddr(&u, LADDR)], &[]))
}

/// An ICMP error message (`ty`, `code`, 4 bytes of rest) from `src` to `dst` quoting `quoted`'s
/// header and first 8 payload bytes.
pub(super) fn icmp_error(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ty: u8,
    code: u8,
    rest: [u8; 4],
    quoted: &[u8],
) -> Vec<u8> {
    let mut m = vec![ty, code, 0, 0];
    m.extend_from_slice(&rest);
    m.extend_from_slice(&quoted[..28]);
    let c = naive_checksum(&m);
    m[2..4].copy_from_slice(&c.to_be_bytes());
    ipv4(src, dst, 1, &m)
}
