//! Pipeline tests: frames in, frames out, through a real `net::Stack` (static neighbours, so no
//! ARP) and the balancer. Frames are built and checked byte by byte here, with a naive
//! checksum, independently of `wire` and `xmit`.

use std::net::Ipv4Addr;
use std::sync::Arc;

use proptest::prelude::*;

use super::*;
use crate::buf::VecBuf;
use crate::ipvs::balancer::{Balancer, BalancerConfig};
use crate::ipvs::conn::HashSeed;
use crate::ipvs::counters::IpvsDropReason as R;
use crate::ipvs::service::{BuildOptions, Services};
use crate::ipvs::spec::{self, DestSpec, Netmask, Protocol, ServiceKey, ServiceSpec};
use crate::net::testutil::{naive_checksum, TestIo};
use crate::net::{IfAddr, Iface, IfaceTable, NeighParams, Route, RouteTable, StaticNeigh};
use crate::wire::MacAddr;

const TCP: u8 = 6;
const UDP: u8 = 17;
const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const FIN: u8 = 0x01;
const RST: u8 = 0x04;
const PSH: u8 = 0x08;

const MAC0: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0xa0]);
const MAC1: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0xa1]);
const CLIENT_MAC: MacAddr = MacAddr([0x52, 0, 0, 0, 0, 0x50]);
const GW_MAC: MacAddr = MacAddr([0x52, 0, 0, 0, 0, 0xfe]);
const HOST0: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const VIP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 100);
const WAN: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 201);
const GW: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 254);
const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 50);
const HOST1: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 1);
const LADDR: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 200);
const INSIDE: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 50);
const OUTSIDE: Ipv4Addr = Ipv4Addr::new(8, 8, 8, 8);

fn rs(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(192, 168, 1, 10 + n)
}
fn rs_mac(n: u8) -> MacAddr {
    MacAddr([0x52, 0, 0, 0, 1, n])
}

/// Port 0 faces clients (host 10.0.0.1/24, VIP, SNAT WAN address, default route via GW);
/// port 1 faces real servers (host 192.168.1.1/24, FULLNAT local address).
fn stack() -> Stack<VecBuf> {
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

fn svc(proto: Protocol, port: u16, sched: &str) -> ServiceSpec {
    let mut s = ServiceSpec::new(ServiceKey { proto, addr: VIP.into(), port });
    s.scheduler = sched.parse().unwrap();
    s
}

fn dest(n: u8, port: u16, fwd: spec::FwdMethod, weight: u32) -> DestSpec {
    let mut d = DestSpec::new(rs(n).into(), port);
    d.fwd = fwd;
    d.weight = weight;
    d
}

fn laddr(s: &ServiceSpec, a: Ipv4Addr) -> (ServiceKey, spec::LocalAddrSpec) {
    (s.key, spec::LocalAddrSpec { addr: a.into(), ifname: None })
}

fn snapshot(
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

struct Lab {
    p: Pipeline<VecBuf>,
    io: TestIo,
    now: Instant,
    inputs: usize,
    redirected: usize,
}

impl Lab {
    fn with(cfg: BalancerConfig, snap: Arc<Services>) -> Lab {
        let now = Instant::from_secs(100);
        let lb = Balancer::new(cfg, now).unwrap();
        let mut p = Pipeline::with_balancer(stack(), lb);
        p.set_services(snap, now);
        Lab { p, io: TestIo::default(), now, inputs: 0, redirected: 0 }
    }

    fn new(snap: Arc<Services>) -> Lab {
        let cfg = BalancerConfig {
            conn_capacity: 64,
            hash_seed: HashSeed::from_u64(7),
            ..BalancerConfig::new(0, 1)
        };
        Lab::with(cfg, snap)
    }

    fn lb(&self) -> &Balancer {
        self.p.balancer().unwrap()
    }

    /// Feeds a frame on `port`; returns what was transmitted because of it.
    fn send(&mut self, port: u16, frame: &[u8]) -> Vec<(u16, Vec<u8>)> {
        self.inputs += 1;
        if let Some((b, _)) = self.p.input(port, VecBuf::from_slice(frame), self.now, &mut self.io)
        {
            self.redirected += 1;
            drop(b);
        }
        self.io.tx.drain(..).map(|(p, b)| (p, b.data().to_vec())).collect()
    }

    /// Feeds a frame that must come out exactly once, and returns it.
    fn one(&mut self, port: u16, frame: &[u8]) -> (u16, Vec<u8>) {
        let mut out = self.send(port, frame);
        assert_eq!(out.len(), 1, "one frame out; dropped {:?}", self.io.drop_reasons());
        out.remove(0)
    }

    fn states(&self) -> Vec<&'static str> {
        self.lb()
            .conns_snapshot(self.now, 100)
            .iter()
            .filter(|c| !c.template)
            .map(|c| c.state)
            .collect()
    }

    /// Active and inactive connections of real server `n`, over all its services.
    fn dest_counts(&self, n: u8) -> (u32, u32) {
        let d = self.lb().dest_reports();
        assert!(d.iter().any(|d| d.addr == rs(n)), "dest known");
        d.iter()
            .filter(|d| d.addr == rs(n))
            .fold((0, 0), |(a, i), d| (a + d.active, i + d.inactive))
    }

    fn drops(&self, r: R) -> u64 {
        self.lb().counters().drop_count(r)
    }

    fn advance(&mut self, secs: u64) {
        self.now = self.now + core::time::Duration::from_secs(secs);
        for _ in 0..100 {
            self.p.poll(self.now, &mut self.io);
        }
    }
}

// ---- frames, built by hand ----

fn l4_checksum(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, seg: &[u8]) -> u16 {
    let mut v = Vec::new();
    v.extend_from_slice(&src.octets());
    v.extend_from_slice(&dst.octets());
    v.extend_from_slice(&[0, proto]);
    v.extend_from_slice(&(seg.len() as u16).to_be_bytes());
    v.extend_from_slice(seg);
    naive_checksum(&v)
}

fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, payload: &[u8]) -> Vec<u8> {
    let total = (20 + payload.len()) as u16;
    let mut v = vec![0x45, 0];
    v.extend_from_slice(&total.to_be_bytes());
    v.extend_from_slice(&[0x12, 0x34, 0x40, 0x00, 64, proto, 0, 0]);
    v.extend_from_slice(&src.octets());
    v.extend_from_slice(&dst.octets());
    let c = naive_checksum(&v);
    v[10..12].copy_from_slice(&c.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

#[allow(clippy::too_many_arguments)]
fn tcp(
    src: Ipv4Addr,
    sport: u16,
    dst: Ipv4Addr,
    dport: u16,
    flags: u8,
    seq: u32,
    ack: u32,
    payload: &[u8],
) -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(&sport.to_be_bytes());
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&ack.to_be_bytes());
    t.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    t.extend_from_slice(payload);
    let c = l4_checksum(src, dst, TCP, &t);
    t[16..18].copy_from_slice(&c.to_be_bytes());
    ipv4(src, dst, TCP, &t)
}

fn udp(src: Ipv4Addr, sport: u16, dst: Ipv4Addr, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = Vec::new();
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    let c = l4_checksum(src, dst, UDP, &u);
    u[6..8].copy_from_slice(&(if c == 0 { 0xffff } else { c }).to_be_bytes());
    ipv4(src, dst, UDP, &u)
}

fn eth(dst: MacAddr, src: MacAddr, ip: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&dst.0);
    v.extend_from_slice(&src.0);
    v.extend_from_slice(&[0x08, 0x00]);
    v.extend_from_slice(ip);
    v
}

/// From a client on port 0.
fn from_client(ip: &[u8]) -> Vec<u8> {
    eth(MAC0, CLIENT_MAC, ip)
}

/// From real server `n` on port 1.
fn from_rs(n: u8, ip: &[u8]) -> Vec<u8> {
    eth(MAC1, rs_mac(n), ip)
}

/// A transmitted IPv4 TCP/UDP packet, read with every checksum verified from scratch.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    dst_mac: MacAddr,
    src_mac: MacAddr,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ttl: u8,
    proto: u8,
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    /// TCP options.
    opts: Vec<u8>,
    payload: Vec<u8>,
}

fn mac(b: &[u8]) -> MacAddr {
    MacAddr([b[0], b[1], b[2], b[3], b[4], b[5]])
}

fn seen(frame: &[u8]) -> Seen {
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

fn nat_lab(sched: &str, weights: &[u32]) -> Lab {
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

#[test]
fn nat_tcp_handshake_data_and_close() {
    let mut lab = nat_lab("rr", &[1]);
    let (port, f) = lab.one(0, &from_client(&tcp(CLIENT, 40000, VIP, 80, SYN, 1000, 0, &[])));
    let s = seen(&f);
    assert_eq!(port, 1);
    assert_eq!((s.dst_mac, s.src_mac), (rs_mac(0), MAC1));
    assert_eq!((s.src, s.sport, s.dst, s.dport), (CLIENT, 40000, rs(0), 8080));
    assert_eq!((s.flags, s.seq, s.ttl), (SYN, 1000, 63));
    assert_eq!(lab.states(), ["SYN_RECV"]);
    assert_eq!(lab.dest_counts(0), (0, 1));

    let (port, f) =
        lab.one(1, &from_rs(0, &tcp(rs(0), 8080, CLIENT, 40000, SYN | ACK, 5000, 1001, &[])));
    let s = seen(&f);
    assert_eq!(port, 0);
    assert_eq!((s.dst_mac, s.src_mac), (CLIENT_MAC, MAC0));
    assert_eq!((s.src, s.sport, s.dst, s.dport), (VIP, 80, CLIENT, 40000));
    assert_eq!((s.flags, s.seq, s.ack), (SYN | ACK, 5000, 1001));
    assert_eq!(lab.states(), ["SYN_RECV"]);

    lab.one(0, &from_client(&tcp(CLIENT, 40000, VIP, 80, ACK, 1001, 5001, &[])));
    assert_eq!(lab.states(), ["ESTABLISHED"]);
    assert_eq!(lab.dest_counts(0), (1, 0));

    let (_, f) = lab.one(
        0,
        &from_client(&tcp(
            CLIENT,
            40000,
            VIP,
            80,
            ACK | PSH,
            1001,
            5001,
            b"GET / HTTP/1.0\r\n\r\n",
        )),
    );
    let s = seen(&f);
    assert_eq!(
        (s.dst, s.dport, s.payload.as_slice()),
        (rs(0), 8080, &b"GET / HTTP/1.0\r\n\r\n"[..])
    );
    let (_, f) = lab.one(
        1,
        &from_rs(
            0,
            &tcp(rs(0), 8080, CLIENT, 40000, ACK | PSH, 5001, 1019, b"HTTP/1.0 200 OK\r\n"),
        ),
    );
    let s = seen(&f);
    assert_eq!((s.src, s.sport, s.payload.as_slice()), (VIP, 80, &b"HTTP/1.0 200 OK\r\n"[..]));

    // The client closes first.
    lab.one(0, &from_client(&tcp(CLIENT, 40000, VIP, 80, FIN | ACK, 1019, 5018, &[])));
    assert_eq!(lab.states(), ["CLOSE_WAIT"]);
    assert_eq!(lab.dest_counts(0), (0, 1), "no longer active");
    lab.one(1, &from_rs(0, &tcp(rs(0), 8080, CLIENT, 40000, FIN | ACK, 5018, 1020, &[])));
    assert_eq!(lab.states(), ["TIME_WAIT"]);
    lab.one(0, &from_client(&tcp(CLIENT, 40000, VIP, 80, ACK, 1020, 5019, &[])));
    assert_eq!(lab.states(), ["TIME_WAIT"]);

    let svc = &lab.lb().service_reports()[0];
    assert_eq!((svc.stats.conns, svc.stats.inpkts, svc.stats.outpkts), (1, 5, 3));
    // TIME_WAIT lasts 120 s; then the connection and its count are gone.
    lab.advance(121);
    assert!(lab.states().is_empty());
    assert_eq!(lab.dest_counts(0), (0, 0));
    assert_eq!(lab.lb().conn_count(), 0);
}

#[test]
fn nat_udp_exchange() {
    let mut lab = nat_lab("rr", &[1]);
    let (port, f) = lab.one(0, &from_client(&udp(CLIENT, 5000, VIP, 53, b"query")));
    let s = seen(&f);
    assert_eq!(port, 1);
    assert_eq!((s.dst_mac, s.src, s.sport, s.dst, s.dport), (rs_mac(0), CLIENT, 5000, rs(0), 5353));
    assert_eq!(s.payload, b"query");
    let (port, f) = lab.one(1, &from_rs(0, &udp(rs(0), 5353, CLIENT, 5000, b"answer")));
    let s = seen(&f);
    assert_eq!(port, 0);
    assert_eq!((s.dst_mac, s.src, s.sport, s.dst, s.dport), (CLIENT_MAC, VIP, 53, CLIENT, 5000));
    assert_eq!(s.payload, b"answer");
    assert_eq!(lab.states(), ["UDP"]);
    assert_eq!(lab.dest_counts(0), (0, 1), "UDP is never active");
    lab.advance(301);
    assert_eq!(lab.lb().conn_count(), 0);
}

#[test]
fn rr_alternates_and_wrr_follows_weights() {
    let mut lab = nat_lab("rr", &[1, 1]);
    let picks: Vec<Ipv4Addr> = (0..6)
        .map(|i| {
            seen(&lab.one(0, &from_client(&tcp(CLIENT, 41000 + i, VIP, 80, SYN, 1, 0, &[]))).1).dst
        })
        .collect();
    for w in picks.windows(2) {
        assert_ne!(w[0], w[1], "{picks:?}");
    }
    assert_eq!(lab.dest_counts(0), (0, 3));
    assert_eq!(lab.dest_counts(1), (0, 3));

    let mut lab = nat_lab("wrr", &[3, 1]);
    let mut n = [0; 2];
    for i in 0..8 {
        let d =
            seen(&lab.one(0, &from_client(&tcp(CLIENT, 42000 + i, VIP, 80, SYN, 1, 0, &[]))).1).dst;
        n[usize::from(d == rs(1))] += 1;
    }
    assert_eq!(n, [6, 2]);
}

#[test]
fn persistence_sticks_per_netmask() {
    let mut s = svc(Protocol::Tcp, 0, "rr");
    s.persistence = Some(600);
    s.netmask = Netmask::V4(Ipv4Addr::new(255, 255, 255, 0));
    let d = [dest(0, 0, spec::FwdMethod::Masq, 1), dest(1, 0, spec::FwdMethod::Masq, 1)];
    let mut lab = Lab::new(snapshot(&[(&s, &d)], &[], &[]));
    let first = seen(&lab.one(0, &from_client(&tcp(CLIENT, 43000, VIP, 80, SYN, 1, 0, &[]))).1);
    // Same /24, other ports (a port-0 service takes every port): same dest, port kept.
    for (i, (c, vport)) in
        [(CLIENT, 443u16), (Ipv4Addr::new(10, 0, 0, 51), 80), (Ipv4Addr::new(10, 0, 0, 99), 22)]
            .into_iter()
            .enumerate()
    {
        let f = lab
            .one(0, &eth(MAC0, CLIENT_MAC, &tcp(c, 43001 + i as u16, VIP, vport, SYN, 1, 0, &[])))
            .1;
        let got = seen(&f);
        assert_eq!(got.dst, first.dst);
        assert_eq!(got.dport, vport, "port-0 dest port 0 keeps the client's port");
    }
    let templates: Vec<_> =
        lab.lb().conns_snapshot(lab.now, 100).into_iter().filter(|c| c.template).collect();
    assert_eq!(templates.len(), 1);
    assert_eq!(
        templates[0].client,
        std::net::SocketAddr::new(Ipv4Addr::new(10, 0, 0, 0).into(), 0)
    );
    assert_eq!(lab.lb().counters().templates_created, 1);
    // Another /24 is scheduled on its own: rr moves on to the other dest.
    let other = seen(
        &lab.one(
            0,
            &eth(MAC0, GW_MAC, &tcp(Ipv4Addr::new(10, 9, 9, 9), 1, VIP, 80, SYN, 1, 0, &[])),
        )
        .1,
    );
    assert_ne!(other.dst, first.dst);
}

#[test]
fn one_packet_udp_keeps_no_connection() {
    let mut s = svc(Protocol::Udp, 53, "rr");
    s.one_packet = true;
    let d = [dest(0, 53, spec::FwdMethod::Masq, 1), dest(1, 53, spec::FwdMethod::Masq, 1)];
    let mut lab = Lab::new(snapshot(&[(&s, &d)], &[], &[]));
    let picks: Vec<_> = (0..4)
        .map(|_| seen(&lab.one(0, &from_client(&udp(CLIENT, 5000, VIP, 53, b"q"))).1).dst)
        .collect();
    assert_eq!(picks, [rs(0), rs(1), rs(0), rs(1)], "every datagram scheduled");
    assert_eq!(lab.lb().conn_count(), 0);
    assert_eq!(lab.lb().counters().conns_created, 4);
    assert_eq!(lab.lb().service_reports()[0].stats.conns, 4);
}

#[test]
fn no_dest_resets_tcp_and_drops_udp() {
    let s = svc(Protocol::Tcp, 80, "wlc");
    let u = svc(Protocol::Udp, 53, "wlc");
    let mut lab = Lab::new(snapshot(&[(&s, &[]), (&u, &[])], &[], &[]));
    let (port, f) = lab.one(0, &from_client(&tcp(CLIENT, 44000, VIP, 80, SYN, 7000, 0, b"xy")));
    let r = seen(&f);
    assert_eq!(port, 0);
    assert_eq!((r.dst_mac, r.src_mac), (CLIENT_MAC, MAC0));
    assert_eq!((r.src, r.sport, r.dst, r.dport), (VIP, 80, CLIENT, 44000));
    // RFC 793: no ACK in the offending segment -> seq 0, ACK = seq + SYN + data.
    assert_eq!((r.flags, r.seq, r.ack), (RST | ACK, 0, 7003));
    assert!(r.payload.is_empty() && r.opts.is_empty());
    assert_eq!(lab.drops(R::NoDest), 1);
    assert_eq!(lab.lb().counters().resets_sent, 1);

    assert!(lab.send(0, &from_client(&udp(CLIENT, 5000, VIP, 53, b"q"))).is_empty());
    assert_eq!(lab.drops(R::NoDest), 2);
    assert_eq!(lab.io.drop_reasons(), [DropReason::NoService]);
    assert_eq!(lab.lb().conn_count(), 0);
}

#[test]
fn tcp_needs_a_syn_and_sane_flags_and_unknown_ports_are_no_service() {
    let mut lab = nat_lab("rr", &[1]);
    assert!(lab.send(0, &from_client(&tcp(CLIENT, 1, VIP, 80, ACK, 1, 1, &[]))).is_empty());
    assert!(lab.send(0, &from_client(&tcp(CLIENT, 1, VIP, 80, SYN | ACK, 1, 1, &[]))).is_empty());
    assert_eq!(lab.drops(R::TcpNotSyn), 2);
    assert!(lab.send(0, &from_client(&tcp(CLIENT, 1, VIP, 80, SYN | FIN, 1, 1, &[]))).is_empty());
    assert!(lab.send(0, &from_client(&tcp(CLIENT, 1, VIP, 80, 0, 1, 1, &[]))).is_empty());
    assert_eq!(lab.drops(R::TcpBadFlags), 2);
    assert!(lab.send(0, &from_client(&tcp(CLIENT, 1, VIP, 81, SYN, 1, 1, &[]))).is_empty());
    assert!(lab.send(0, &from_client(&udp(CLIENT, 1, VIP, 54, b"x"))).is_empty());
    assert_eq!(lab.drops(R::NoService), 2);
    // Not addressed to the director and no connection: not the balancer's.
    assert!(lab
        .send(0, &from_client(&tcp(CLIENT, 1, Ipv4Addr::new(10, 0, 0, 9), 80, SYN, 1, 1, &[])))
        .is_empty());
    assert_eq!(lab.p.net_counters().drop_count(DropReason::NotForUs), 1);
    assert_eq!(lab.lb().counters().total_drops(), 6);
    assert_eq!(lab.lb().conn_count(), 0);
}

#[test]
fn weight_zero_takes_no_new_connections_but_existing_continue() {
    let s = svc(Protocol::Tcp, 80, "wlc");
    let mut d = [dest(0, 80, spec::FwdMethod::Masq, 1)];
    let mut lab = Lab::new(snapshot(&[(&s, &d)], &[], &[]));
    lab.one(0, &from_client(&tcp(CLIENT, 45000, VIP, 80, SYN, 1, 0, &[])));
    d[0].weight = 0;
    let now = lab.now;
    lab.p.set_services(snapshot(&[(&s, &d)], &[], &[]), now);
    // New client: no dest (reset).
    let r = seen(&lab.one(0, &from_client(&tcp(CLIENT, 45001, VIP, 80, SYN, 1, 0, &[]))).1);
    assert_eq!(r.flags & RST, RST);
    assert_eq!(lab.drops(R::NoDest), 1);
    // The existing connection goes on to the same dest.
    let s2 = seen(&lab.one(0, &from_client(&tcp(CLIENT, 45000, VIP, 80, ACK, 2, 1, b"more"))).1);
    assert_eq!((s2.dst, s2.payload.as_slice()), (rs(0), &b"more"[..]));
}

#[test]
fn upper_threshold_stops_and_lower_rule_restarts() {
    let s = svc(Protocol::Tcp, 80, "wlc");
    let mut d0 = dest(0, 80, spec::FwdMethod::Masq, 1);
    d0.upper = 2;
    let mut lab = Lab::new(snapshot(&[(&s, &[d0])], &[], &[]));
    for p in [46000u16, 46001] {
        assert_eq!(
            seen(&lab.one(0, &from_client(&tcp(CLIENT, p, VIP, 80, SYN, 1, 0, &[]))).1).dst,
            rs(0)
        );
    }
    let r = seen(&lab.one(0, &from_client(&tcp(CLIENT, 46002, VIP, 80, SYN, 1, 0, &[]))).1);
    assert_eq!((r.src, r.flags & RST), (VIP, RST), "over threshold: no dest");
    assert!(lab.lb().dest_reports()[0].overloaded);
    // SYN_RECV times out after 60 s: both go, 0 * 4 < 2 * 3, the dest takes connections again.
    lab.advance(61);
    assert!(!lab.lb().dest_reports()[0].overloaded);
    assert_eq!(
        seen(&lab.one(0, &from_client(&tcp(CLIENT, 46003, VIP, 80, SYN, 1, 0, &[]))).1).dst,
        rs(0)
    );
}

#[test]
fn removed_dest_keeps_its_connections_until_flushed() {
    let s = svc(Protocol::Tcp, 80, "rr");
    let d = [dest(0, 80, spec::FwdMethod::Masq, 1), dest(1, 80, spec::FwdMethod::Masq, 1)];
    let mut lab = Lab::new(snapshot(&[(&s, &d)], &[], &[]));
    let first = seen(&lab.one(0, &from_client(&tcp(CLIENT, 47000, VIP, 80, SYN, 1, 0, &[]))).1).dst;
    assert_eq!(first, rs(0));
    let now = lab.now;
    lab.p.set_services(snapshot(&[(&s, &d[1..])], &[], &[]), now);
    // Old connection: still to rs(0), both ways.
    assert_eq!(
        seen(&lab.one(0, &from_client(&tcp(CLIENT, 47000, VIP, 80, ACK, 2, 1, b"a"))).1).dst,
        rs(0)
    );
    assert_eq!(
        seen(&lab.one(1, &from_rs(0, &tcp(rs(0), 80, CLIENT, 47000, ACK, 1, 3, b"b"))).1).src,
        VIP
    );
    // New ones: only rs(1).
    for p in 47001..47004 {
        assert_eq!(
            seen(&lab.one(0, &from_client(&tcp(CLIENT, p, VIP, 80, SYN, 1, 0, &[]))).1).dst,
            rs(1)
        );
    }
    let reports = lab.lb().dest_reports();
    let gone = reports.iter().find(|r| r.addr == rs(0)).unwrap();
    assert!(!gone.live);
    assert_eq!(gone.inactive + gone.active, 1);
    // Flushing ends it; its packets are then strangers.
    assert_eq!(lab.p.balancer_mut().unwrap().flush_removed(), 1);
    assert!(lab.send(0, &from_client(&tcp(CLIENT, 47000, VIP, 80, ACK, 3, 1, b"c"))).is_empty());
    assert_eq!(lab.drops(R::TcpNotSyn), 1);
    // The next snapshot forgets the unused slot.
    let now = lab.now;
    lab.p.set_services(snapshot(&[(&s, &d[1..])], &[], &[]), now);
    assert!(lab.lb().dest_reports().iter().all(|r| r.addr != rs(0)));
}

#[test]
fn full_table_is_counted() {
    let s = svc(Protocol::Tcp, 80, "rr");
    let d = [dest(0, 80, spec::FwdMethod::Masq, 1)];
    let cfg = BalancerConfig {
        conn_capacity: 2,
        hash_seed: HashSeed::from_u64(1),
        ..BalancerConfig::new(0, 1)
    };
    let mut lab = Lab::with(cfg, snapshot(&[(&s, &d)], &[], &[]));
    lab.one(0, &from_client(&tcp(CLIENT, 48000, VIP, 80, SYN, 1, 0, &[])));
    lab.one(0, &from_client(&tcp(CLIENT, 48001, VIP, 80, SYN, 1, 0, &[])));
    assert!(lab.send(0, &from_client(&tcp(CLIENT, 48002, VIP, 80, SYN, 1, 0, &[]))).is_empty());
    assert_eq!(lab.drops(R::ConnTableFull), 1);
    assert_eq!(lab.dest_counts(0), (0, 2), "a refused connection is not counted");
}

#[test]
fn dr_forwards_unchanged_to_the_real_servers_mac() {
    let s = svc(Protocol::Tcp, 80, "rr");
    let d = [dest(2, 80, spec::FwdMethod::Route, 1)];
    let mut lab = Lab::new(snapshot(&[(&s, &d)], &[], &[]));
    let syn = tcp(CLIENT, 49000, VIP, 80, SYN, 1, 0, &[]);
    let (port, f) = lab.one(0, &from_client(&syn));
    let s1 = seen(&f);
    assert_eq!(port, 1);
    assert_eq!((s1.dst_mac, s1.src_mac), (rs_mac(2), MAC1));
    assert_eq!((s1.src, s1.sport, s1.dst, s1.dport, s1.ttl), (CLIENT, 49000, VIP, 80, 63));
    assert_eq!(&f[14 + 20..], &syn[20..], "L4 untouched");
    lab.one(0, &from_client(&tcp(CLIENT, 49000, VIP, 80, ACK, 2, 1, &[])));
    assert_eq!(lab.states(), ["ESTABLISHED"]);
    assert_eq!(lab.dest_counts(2), (1, 0));
    lab.one(0, &from_client(&tcp(CLIENT, 49000, VIP, 80, FIN | ACK, 2, 1, &[])));
    assert_eq!(lab.states(), ["FIN_WAIT"]);
    assert_eq!(lab.dest_counts(2), (0, 1));
}

#[test]
fn reply_to_a_local_port_of_another_core_is_redirected() {
    let s = svc(Protocol::Tcp, 80, "rr");
    let d = [dest(0, 80, spec::FwdMethod::FullNat, 1)];
    let cfg = BalancerConfig {
        conn_capacity: 64,
        hash_seed: HashSeed::from_u64(3),
        ..BalancerConfig::new(0, 2)
    };
    let mut lab = Lab::with(cfg, snapshot(&[(&s, &d)], &[laddr(&s, LADDR)], &[]));
    // Port 5001 is odd: core 1 owns it.
    let reply = from_rs(0, &tcp(rs(0), 80, LADDR, 5001, SYN | ACK, 1, 2, &[]));
    let mut redirected = None;
    lab.inputs += 1;
    if let Some((b, core)) = lab.p.input(1, VecBuf::from_slice(&reply), lab.now, &mut lab.io) {
        redirected = Some((b.data().to_vec(), core));
    }
    let (bytes, core) = redirected.expect("redirected");
    assert_eq!((bytes.as_slice(), core), (&reply[..], 1), "handed over unchanged");
    assert_eq!(lab.lb().counters().redirected, 1);
    // Port 5000 is ours, and there is no connection: dropped.
    assert!(lab
        .send(1, &from_rs(0, &tcp(rs(0), 80, LADDR, 5000, SYN | ACK, 1, 2, &[])))
        .is_empty());
    assert_eq!(lab.drops(R::NoConn), 1);
    // On core 1, a redirected packet of no connection is dropped, never sent back.
    let cfg1 = BalancerConfig { core: 1, ..cfg };
    let mut lab1 = Lab::with(cfg1, snapshot(&[(&s, &d)], &[laddr(&s, LADDR)], &[]));
    lab1.p.input_redirected(VecBuf::from_slice(&reply), lab1.now, &mut lab1.io);
    assert_eq!(lab1.drops(R::NoConn), 1);
    assert_eq!(lab1.lb().counters().redirect_received, 1);
    assert_eq!(lab1.io.dropped.len(), 1);
}

/// Two cores of one director: a frame goes in on core `at`; a redirect is handed to the other
/// core as the worker does. Returns what was sent and by which core.
fn two_cores(
    labs: &mut [Lab; 2],
    at: usize,
    port: u16,
    frame: &[u8],
) -> Vec<(usize, u16, Vec<u8>)> {
    let mut out = Vec::new();
    let now = labs[at].now;
    let handed = labs[at].p.input(port, VecBuf::from_slice(frame), now, &mut labs[at].io);
    out.extend(labs[at].io.tx.drain(..).map(|(p, b)| (at, p, b.data().to_vec())));
    if let Some((b, core)) = handed {
        assert_ne!(core, at, "never redirected to itself");
        let l = &mut labs[core];
        l.p.input_redirected(b, now, &mut l.io);
        out.extend(l.io.tx.drain(..).map(|(p, b)| (core, p, b.data().to_vec())));
    }
    out
}

#[test]
fn nat_connections_live_where_the_client_address_points_and_replies_find_them() {
    let s = svc(Protocol::Tcp, 80, "rr");
    let d = [dest(0, 8080, spec::FwdMethod::Masq, 1), dest(1, 8080, spec::FwdMethod::Masq, 1)];
    let snap = snapshot(&[(&s, &d)], &[], &[]);
    let cfg = |core| BalancerConfig {
        conn_capacity: 64,
        hash_seed: HashSeed::from_u64(9),
        ..BalancerConfig::new(core, 2)
    };
    let mut labs = [Lab::with(cfg(0), snap.clone()), Lab::with(cfg(1), snap)];
    // Whichever core RSS hands the SYN to, the connection is made on the same core, and the
    // real server's reply, arriving on either core, reaches it and is translated.
    for (syn_at, reply_at) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
        let cport = 40000 + (syn_at * 2 + reply_at) as u16;
        let out = two_cores(
            &mut labs,
            syn_at,
            0,
            &from_client(&tcp(CLIENT, cport, VIP, 80, SYN, 1, 0, &[])),
        );
        assert_eq!(out.len(), 1, "SYN forwarded once");
        let (owner, _, f) = &out[0];
        let to = seen(f);
        let n = if to.dst == rs(0) { 0 } else { 1 };
        let reply = from_rs(n, &tcp(rs(n), 8080, CLIENT, cport, SYN | ACK, 9, 2, &[]));
        let out = two_cores(&mut labs, reply_at, 1, &reply);
        assert_eq!(out.len(), 1, "reply translated once");
        assert_eq!(out[0].0, *owner, "by the core that owns the connection");
        let back = seen(&out[0].2);
        assert_eq!((back.src, back.sport, back.dst, back.dport), (VIP, 80, CLIENT, cport));
    }
    let conns: usize = labs.iter().map(|l| l.lb().conns_snapshot(l.now, 100).len()).sum();
    assert_eq!(conns, 4, "one connection per flow, none duplicated on the other core");
}

#[test]
fn nat_connections_keep_their_core_when_their_dest_or_service_goes() {
    // A NAT connection lives on the core its client address points to. Once its dest, the
    // service's last NAT dest, or the whole service is removed, it still runs until it ends:
    // its packets arriving on the other core, in both directions, must still reach it.
    let s = svc(Protocol::Tcp, 80, "rr");
    let nat = dest(0, 8080, spec::FwdMethod::Masq, 1);
    let dr = dest(1, 8080, spec::FwdMethod::Route, 1);
    let cfg = |core| BalancerConfig {
        conn_capacity: 64,
        hash_seed: HashSeed::from_u64(9),
        ..BalancerConfig::new(core, 2)
    };
    // The DR dest is quiescent at first, so the connection goes to the NAT dest.
    let before = [nat, dest(1, 8080, spec::FwdMethod::Route, 0)];
    let no_dest: [DestSpec; 0] = [];
    let only_dr = [dr];
    let afters = [
        ("last dest removed", snapshot(&[(&s, &no_dest)], &[], &[])),
        ("service deleted", snapshot(&[], &[], &[])),
        ("last NAT dest removed, a DR dest left", snapshot(&[(&s, &only_dr)], &[], &[])),
    ];
    for (what, after) in afters {
        let snap = snapshot(&[(&s, &before)], &[], &[]);
        let mut labs = [Lab::with(cfg(0), snap.clone()), Lab::with(cfg(1), snap)];
        let cport = 41000;
        // Find the owner: the SYN ends up there whichever core gets it.
        let out =
            two_cores(&mut labs, 0, 0, &from_client(&tcp(CLIENT, cport, VIP, 80, SYN, 1, 0, &[])));
        assert_eq!(out.len(), 1, "{what}: SYN forwarded");
        let owner = out[0].0;
        let other = 1 - owner;
        assert_eq!(seen(&out[0].2).dst, rs(0), "{what}: to the NAT dest");
        let synack = from_rs(0, &tcp(rs(0), 8080, CLIENT, cport, SYN | ACK, 9, 2, &[]));
        assert_eq!(two_cores(&mut labs, other, 1, &synack).len(), 1, "{what}: SYN-ACK");
        // The configuration changes (twice, so unreferenced slots are forgotten).
        for _ in 0..2 {
            for l in &mut labs {
                let now = l.now;
                l.p.set_services(after.clone(), now);
            }
        }
        // Client to server, arriving on the core that does not own the connection.
        let ack = from_client(&tcp(CLIENT, cport, VIP, 80, ACK, 2, 10, b"GET"));
        let out = two_cores(&mut labs, other, 0, &ack);
        assert_eq!(
            out.len(),
            1,
            "{what}: client data forwarded; {:?}",
            labs[other].io.drop_reasons()
        );
        assert_eq!(out[0].0, owner, "{what}: by the owner");
        let to = seen(&out[0].2);
        assert_eq!((to.dst, to.dport, to.payload.as_slice()), (rs(0), 8080, &b"GET"[..]));
        // Server to client, arriving on the other core too.
        let data = from_rs(0, &tcp(rs(0), 8080, CLIENT, cport, ACK, 10, 5, b"200"));
        let out = two_cores(&mut labs, other, 1, &data);
        assert_eq!(out.len(), 1, "{what}: reply forwarded; {:?}", labs[other].io.drop_reasons());
        assert_eq!(out[0].0, owner, "{what}: by the owner");
        let back = seen(&out[0].2);
        assert_eq!((back.src, back.sport, back.dst, back.dport), (VIP, 80, CLIENT, cport));
        assert_eq!(labs[other].drops(R::NoDest) + labs[other].drops(R::TcpNotSyn), 0);
    }
}

// ---- every buffer is accounted for ----

fn arb_frame() -> impl Strategy<Value = (u16, Vec<u8>)> {
    let ips = prop_oneof![
        Just(VIP),
        Just(CLIENT),
        Just(LADDR),
        Just(WAN),
        Just(rs(0)),
        Just(rs(1)),
        Just(INSIDE),
        Just(OUTSIDE),
        any::<u32>().prop_map(Ipv4Addr::from)
    ];
    let ports =
        prop_oneof![Just(80u16), Just(53), Just(8080), Just(5000), Just(5001), any::<u16>()];
    let flags =
        prop_oneof![Just(SYN), Just(ACK), Just(SYN | ACK), Just(FIN | ACK), Just(RST), any::<u8>()];
    let l4 = (
        ips.clone(),
        ports.clone(),
        ips,
        ports,
        flags,
        proptest::collection::vec(any::<u8>(), 0..40),
        0u8..3,
    )
        .prop_map(|(s, sp, d, dp, f, pl, kind)| match kind {
            0 => tcp(s, sp, d, dp, f, 1, 1, &pl),
            1 => udp(s, sp, d, dp, &pl),
            _ => ipv4(s, d, 1, &pl),
        });
    let mutated =
        (l4.clone(), proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4), any::<bool>())
            .prop_map(|(mut ip, muts, fix)| {
                for (at, x) in muts {
                    let n = ip.len();
                    ip[at % n] ^= x;
                }
                if fix && ip.len() >= 20 {
                    // Keep the IPv4 header valid so the damage reaches the balancer.
                    ip[0] = 0x45;
                    let n = ip.len() as u16;
                    ip[2..4].copy_from_slice(&n.to_be_bytes());
                    ip[10..12].fill(0);
                    let c = naive_checksum(&ip[..20]);
                    ip[10..12].copy_from_slice(&c.to_be_bytes());
                }
                ip
            });
    (0u16..2, prop_oneof![l4, mutated], any::<bool>()).prop_map(|(port, ip, trunc)| {
        let src = if port == 0 { CLIENT_MAC } else { rs_mac(0) };
        let mut f = eth(if port == 0 { MAC0 } else { MAC1 }, src, &ip);
        if trunc {
            let n = f.len();
            f.truncate(14 + (n - 14) / 2);
        }
        (port, f)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn every_buffer_is_accounted_for(
        frames in proptest::collection::vec(arb_frame(), 1..40),
        n_cores in 1usize..3,
        advance in proptest::collection::vec(0u64..200, 1..40),
    ) {
        let s = svc(Protocol::Tcp, 80, "rr");
        let u = {
            let mut u = svc(Protocol::Udp, 53, "wlc");
            u.one_packet = true;
            u
        };
        let mut p0 = svc(Protocol::Tcp, 0, "sh");
        p0.persistence = Some(60);
        p0.key.addr = Ipv4Addr::new(10, 0, 0, 100).into();
        let d = [
            dest(0, 8080, spec::FwdMethod::Masq, 1),
            dest(1, 80, spec::FwdMethod::Route, 2),
            dest(2, 80, spec::FwdMethod::FullNat, 1),
            dest(3, 80, spec::FwdMethod::Tunnel, 1),
        ];
        let snat = [spec::SnatRule { src: None, dst: None, proto: spec::SnatProto::Any, out_addr: WAN.into() }];
        let snap = snapshot(&[(&s, &d), (&u, &d[..2])], &[laddr(&s, LADDR)], &snat);
        let cfg = BalancerConfig { conn_capacity: 8, hash_seed: HashSeed::from_u64(9), ..BalancerConfig::new(0, n_cores) };
        let mut lab = Lab::with(cfg, snap);
        for (i, (port, f)) in frames.iter().enumerate() {
            lab.inputs += 1;
            if let Some((b, core)) = lab.p.input(*port, VecBuf::from_slice(f), lab.now, &mut lab.io) {
                prop_assert!(core < n_cores && core != 0);
                lab.redirected += 1;
                drop(b);
            }
            if let Some(a) = advance.get(i) {
                lab.now = lab.now + core::time::Duration::from_secs(*a);
                lab.p.poll(lab.now, &mut lab.io);
            }
            let accounted = lab.io.tx.len() + lab.io.dropped.len() + lab.io.freed.len()
                + lab.redirected + lab.p.stack().neigh().pending_len();
            prop_assert_eq!(lab.inputs + lab.io.allocs, accounted);
            let lb = lab.lb();
            prop_assert!(lb.conn_count() <= 8);
            for r in lb.dest_reports() {
                prop_assert!(r.active + r.inactive + r.persist <= 8, "{:?}", r);
            }
        }
        // Everything expires eventually, and every count returns to zero.
        lab.advance(100_000);
        prop_assert_eq!(lab.lb().conn_count(), 0);
        for r in lab.lb().dest_reports() {
            prop_assert_eq!((r.active, r.inactive, r.persist), (0, 0, 0));
        }
    }
}

// ---- TUN, FULLNAT, SNAT ----

#[test]
fn tun_ipip_wraps_the_request_for_the_real_server() {
    let s = svc(Protocol::Tcp, 80, "rr");
    let u = svc(Protocol::Udp, 53, "rr");
    let d = [dest(3, 80, spec::FwdMethod::Tunnel, 1)];
    let ud = [dest(3, 53, spec::FwdMethod::Tunnel, 1)];
    let mut lab = Lab::new(snapshot(&[(&s, &d), (&u, &ud)], &[], &[]));
    let syn = tcp(CLIENT, 50000, VIP, 80, SYN, 9, 0, &[]);
    for (inner_in, state) in [
        (syn.clone(), "SYN_RECV"),
        (tcp(CLIENT, 50000, VIP, 80, ACK, 10, 1, b"hello"), "ESTABLISHED"),
    ] {
        let (port, f) = lab.one(0, &from_client(&inner_in));
        assert_eq!(port, 1);
        assert_eq!((mac(&f[0..6]), mac(&f[6..12])), (rs_mac(3), MAC1));
        let outer = &f[14..34];
        assert_eq!(outer[0], 0x45);
        assert_eq!(naive_checksum(outer), 0, "outer IPv4 checksum");
        assert_eq!(outer[9], 4, "IP-in-IP");
        assert_eq!(&outer[12..16], &HOST1.octets(), "from the director's address toward the RS");
        assert_eq!(&outer[16..20], &rs(3).octets());
        assert_eq!(usize::from(u16::from_be_bytes([outer[2], outer[3]])), f.len() - 14);
        // The inner packet: the original, TTL one lower, checksums valid.
        let mut inner_frame = f[..14].to_vec();
        inner_frame.extend_from_slice(&f[34..]);
        let inner = seen(&inner_frame);
        assert_eq!(
            (inner.src, inner.sport, inner.dst, inner.dport, inner.ttl),
            (CLIENT, 50000, VIP, 80, 63)
        );
        assert_eq!(&f[34 + 20..], &inner_in[20..], "transport untouched");
        assert_eq!(lab.states(), [state]);
    }
    assert_eq!(lab.dest_counts(3), (1, 0));
    let (_, f) = lab.one(0, &from_client(&udp(CLIENT, 5000, VIP, 53, b"q")));
    assert_eq!(f[14 + 9], 4);
    assert_eq!(&f[34 + 20 + 8..], b"q");
}

fn fullnat_lab(range: Option<(u16, u16)>) -> Lab {
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

/// Two FULLNAT services sharing the local address toward the same real server, on one core
/// whose local port range is `lo..=hi`.
fn fullnat_shared_laddr_lab(lo: u16, hi: u16) -> Lab {
    let a = svc(Protocol::Tcp, 80, "rr");
    let b = svc(Protocol::Tcp, 81, "rr");
    let d = [dest(0, 8080, spec::FwdMethod::FullNat, 1)];
    let cfg = BalancerConfig {
        conn_capacity: 64,
        hash_seed: HashSeed::from_u64(5),
        local_ports: crate::ipvs::laddr::PortRange::new(lo, hi).unwrap(),
        ..BalancerConfig::new(0, 1)
    };
    Lab::with(cfg, snapshot(&[(&a, &d), (&b, &d)], &[laddr(&a, LADDR), laddr(&b, LADDR)], &[]))
}

#[test]
fn fullnat_services_sharing_a_local_address_never_share_a_tuple() {
    let mut lab = fullnat_shared_laddr_lab(5000, 5999);
    let mut tuples = std::collections::HashSet::new();
    // Interleaved and in runs: every connection gets its own (laddr, lport) toward the dest.
    for (i, vport) in [80, 81, 81, 80, 80, 81, 81, 81].into_iter().enumerate() {
        let cport = 42000 + i as u16;
        let out = lab.send(0, &from_client(&tcp(CLIENT, cport, VIP, vport, SYN, 1, 0, &[])));
        assert_eq!(out.len(), 1, "SYN {i} forwarded; dropped {:?}", lab.io.drop_reasons());
        let s = seen(&out[0].1);
        assert_eq!((s.src, s.dst, s.dport), (LADDR, rs(0), 8080));
        assert!(tuples.insert(s.sport), "local port {} handed out twice", s.sport);
    }
    assert_eq!(lab.drops(R::ConnConflict), 0);
    assert!(lab.lb().counters().local_port_conflicts > 0, "the shared ports were stepped over");
}

#[test]
fn fullnat_shared_tuple_search_is_bounded() {
    // Four ports: service 80 takes them all; service 81 finds each held, gives up after a
    // bounded search, and counts a conflict instead of looping.
    let mut lab = fullnat_shared_laddr_lab(5000, 5003);
    for cport in 43000..43004 {
        lab.one(0, &from_client(&tcp(CLIENT, cport, VIP, 80, SYN, 1, 0, &[])));
    }
    assert!(lab.send(0, &from_client(&tcp(CLIENT, 43010, VIP, 81, SYN, 1, 0, &[]))).is_empty());
    assert_eq!(lab.drops(R::ConnConflict), 1);
    // Its ports went back: once service 80's connections end, service 81 gets one.
    lab.advance(200);
    let (_, f) = lab.one(0, &from_client(&tcp(CLIENT, 43011, VIP, 81, SYN, 1, 0, &[])));
    assert_eq!(seen(&f).src, LADDR);
}

#[test]
fn fullnat_tcp_with_toa() {
    let mut lab = fullnat_lab(None);
    let (port, f) = lab.one(0, &from_client(&tcp(CLIENT, 51000, VIP, 80, SYN, 100, 0, &[])));
    let s = seen(&f);
    assert_eq!(port, 1);
    assert_eq!((s.dst_mac, s.src, s.dst, s.dport), (rs_mac(0), LADDR, rs(0), 8080));
    let lport = s.sport;
    assert!(lport >= 1024);
    assert!(s.opts.is_empty(), "no TOA on a SYN");
    let info = &lab.lb().conns_snapshot(lab.now, 10)[0];
    assert_eq!(info.local, Some(std::net::SocketAddr::new(LADDR.into(), lport)));

    let (port, f) =
        lab.one(1, &from_rs(0, &tcp(rs(0), 8080, LADDR, lport, SYN | ACK, 700, 101, &[])));
    let r = seen(&f);
    assert_eq!(port, 0);
    assert_eq!((r.dst_mac, r.src, r.sport, r.dst, r.dport), (CLIENT_MAC, VIP, 80, CLIENT, 51000));
    assert_eq!((r.flags, r.seq, r.ack), (SYN | ACK, 700, 101));
    let mut want = vec![254, 8];
    want.extend_from_slice(&51000u16.to_be_bytes());
    want.extend_from_slice(&CLIENT.octets());
    // The handshake's last ACK carries TOA (real servers' TOA modules read it there).
    let (_, f) = lab.one(0, &from_client(&tcp(CLIENT, 51000, VIP, 80, ACK, 101, 701, &[])));
    assert_eq!(seen(&f).opts, want);
    assert_eq!(lab.states(), ["ESTABLISHED"]);

    // First data segment: TOA carries the client's address and port again.
    let (_, f) =
        lab.one(0, &from_client(&tcp(CLIENT, 51000, VIP, 80, ACK | PSH, 101, 701, b"data")));
    let s = seen(&f);
    assert_eq!(s.opts, want);
    assert_eq!((s.src, s.sport, s.payload.as_slice()), (LADDR, lport, &b"data"[..]));
    // Then no more.
    let (_, f) =
        lab.one(0, &from_client(&tcp(CLIENT, 51000, VIP, 80, ACK | PSH, 105, 701, b"more")));
    assert!(seen(&f).opts.is_empty());
    let (_, f) =
        lab.one(1, &from_rs(0, &tcp(rs(0), 8080, LADDR, lport, ACK | PSH, 701, 109, b"resp")));
    assert_eq!(seen(&f).payload, b"resp");

    lab.one(1, &from_rs(0, &tcp(rs(0), 8080, LADDR, lport, FIN | ACK, 705, 109, &[])));
    assert_eq!(lab.states(), ["FIN_WAIT"]);
    lab.one(0, &from_client(&tcp(CLIENT, 51000, VIP, 80, FIN | ACK, 109, 706, &[])));
    assert_eq!(lab.states(), ["TIME_WAIT"]);
    assert_eq!(lab.dest_counts(0), (0, 1));
}

#[test]
fn fullnat_udp_and_local_ports_come_back_when_connections_end() {
    // One local port in all.
    let mut lab = fullnat_lab(Some((5000, 5000)));
    let (_, f) = lab.one(0, &from_client(&udp(CLIENT, 6000, VIP, 53, b"q")));
    let s = seen(&f);
    assert_eq!((s.src, s.sport, s.dst, s.dport), (LADDR, 5000, rs(0), 5353));
    let (_, f) = lab.one(1, &from_rs(0, &udp(rs(0), 5353, LADDR, 5000, b"a")));
    let r = seen(&f);
    assert_eq!(
        (r.src, r.sport, r.dst, r.dport, r.payload.as_slice()),
        (VIP, 53, CLIENT, 6000, &b"a"[..])
    );
    // A second client finds the port taken.
    assert!(lab.send(0, &from_client(&udp(CLIENT, 6001, VIP, 53, b"q"))).is_empty());
    assert_eq!(lab.drops(R::LaddrExhausted), 1);
    // The pool reports the port in use, the miss and the refusal.
    let pools = lab.lb().pool_reports();
    let l = pools.laddrs.iter().find(|l| l.addr == LADDR && l.in_use == 1).expect("laddr");
    assert_eq!((l.allocs, l.misses), (1, 1));
    assert!(matches!(l.owner, crate::ipvs::balancer::PoolOwner::Service(k) if k.port == 53));
    let ex: u64 = pools.exhausted.iter().filter(|x| x.owner == l.owner).map(|x| x.exhausted).sum();
    assert_eq!(ex, 1);
    // The first flow times out and gives its port back.
    lab.advance(301);
    let (_, f) = lab.one(0, &from_client(&udp(CLIENT, 6001, VIP, 53, b"q")));
    assert_eq!(seen(&f).sport, 5000);
}

#[test]
fn snat_takes_inside_hosts_out_through_the_wan_address() {
    let rule = spec::SnatRule {
        src: Some(spec::AddrRange { first: INSIDE.into(), last: INSIDE.into() }),
        dst: None,
        proto: spec::SnatProto::Any,
        out_addr: WAN.into(),
    };
    let mut lab = Lab::new(snapshot(&[], &[], &[rule]));
    let from_inside = |ip: &[u8]| eth(MAC1, rs_mac(50), ip);
    let from_outside = |ip: &[u8]| eth(MAC0, GW_MAC, ip);

    let (port, f) = lab.one(1, &from_inside(&tcp(INSIDE, 33000, OUTSIDE, 443, SYN, 1, 0, &[])));
    let s = seen(&f);
    assert_eq!(port, 0);
    assert_eq!((s.dst_mac, s.src_mac), (GW_MAC, MAC0));
    assert_eq!((s.src, s.dst, s.dport, s.ttl), (WAN, OUTSIDE, 443, 63));
    let wport = s.sport;
    let (port, f) =
        lab.one(0, &from_outside(&tcp(OUTSIDE, 443, WAN, wport, SYN | ACK, 50, 2, &[])));
    let r = seen(&f);
    assert_eq!(port, 1);
    assert_eq!(
        (r.dst_mac, r.src, r.sport, r.dst, r.dport),
        (rs_mac(50), OUTSIDE, 443, INSIDE, 33000)
    );
    lab.one(1, &from_inside(&tcp(INSIDE, 33000, OUTSIDE, 443, ACK, 2, 51, &[])));
    assert_eq!(lab.states(), ["ESTABLISHED"]);
    lab.one(1, &from_inside(&tcp(INSIDE, 33000, OUTSIDE, 443, FIN | ACK, 2, 51, &[])));
    lab.one(0, &from_outside(&tcp(OUTSIDE, 443, WAN, wport, FIN | ACK, 51, 3, &[])));
    assert_eq!(lab.states(), ["TIME_WAIT"]);

    let (_, f) = lab.one(1, &from_inside(&udp(INSIDE, 33001, OUTSIDE, 53, b"q")));
    let s = seen(&f);
    assert_eq!((s.src, s.dst, s.dport), (WAN, OUTSIDE, 53));
    let (_, f) = lab.one(0, &from_outside(&udp(OUTSIDE, 53, WAN, s.sport, b"a")));
    let r = seen(&f);
    assert_eq!((r.dst, r.dport, r.payload.as_slice()), (INSIDE, 33001, &b"a"[..]));
    // The WAN address counts its connections, packets and bytes; its pool its ports.
    let pools = lab.lb().pool_reports();
    let st = pools.snat.iter().find(|r| r.out_addr == WAN).expect("WAN report").stats;
    assert_eq!((st.conns, st.inpkts, st.outpkts), (2, 4, 3));
    assert_eq!(st.inbytes, 3 * 40 + 29);
    assert_eq!(st.outbytes, 2 * 40 + 29);
    let l = pools.laddrs.iter().find(|l| l.addr == WAN).expect("WAN pool");
    assert_eq!((l.owner, l.in_use, l.allocs), (crate::ipvs::balancer::PoolOwner::Snat, 2, 2));
    // Hosts outside the rule are not SNATed: routed traffic is not the balancer's.
    assert!(lab.send(1, &from_rs(1, &udp(rs(1), 1, OUTSIDE, 53, b"q"))).is_empty());
    assert_eq!(lab.p.net_counters().drop_count(DropReason::NotForUs), 1);
    // A non-SYN TCP packet matching the rule does not open a connection.
    assert!(lab
        .send(1, &from_inside(&tcp(INSIDE, 33002, OUTSIDE, 443, ACK, 1, 1, &[])))
        .is_empty());
    assert_eq!(lab.drops(R::TcpNotSyn), 1);
}

#[test]
fn snat_rules_count_their_live_connections_and_traffic() {
    // Two rules through one WAN address: TCP and UDP from INSIDE. Each counts its own.
    let inside = Some(spec::AddrRange { first: INSIDE.into(), last: INSIDE.into() });
    let rule = |proto| spec::SnatRule { src: inside, dst: None, proto, out_addr: WAN.into() };
    let rules = [rule(spec::SnatProto::Tcp), rule(spec::SnatProto::Udp)];
    let mut lab = Lab::new(snapshot(&[], &[], &rules));
    let from_inside = |ip: &[u8]| eth(MAC1, rs_mac(50), ip);
    let from_outside = |ip: &[u8]| eth(MAC0, GW_MAC, ip);
    let report = |lab: &Lab, proto: u8| {
        let pools = lab.lb().pool_reports();
        let r = pools.rules.iter().find(|r| r.rule.proto == Some(proto)).copied();
        r.expect("rule report")
    };
    let (mut sent_in, mut sent_out) = ((0u64, 0u64), (0u64, 0u64));
    let mut inside_out = |lab: &mut Lab, ip: Vec<u8>| {
        sent_in = (sent_in.0 + 1, sent_in.1 + ip.len() as u64);
        seen(&lab.one(1, &from_inside(&ip)).1)
    };

    // SYN: one inactive connection.
    let s = inside_out(&mut lab, tcp(INSIDE, 33000, OUTSIDE, 443, SYN, 1, 0, &[]));
    let wport = s.sport;
    let r = report(&lab, 6);
    assert_eq!((r.live, r.active, r.inactive, r.stats.conns), (true, 0, 1, 1));
    let mut outside_in = |lab: &mut Lab, ip: Vec<u8>| {
        sent_out = (sent_out.0 + 1, sent_out.1 + ip.len() as u64);
        lab.one(0, &from_outside(&ip));
    };
    outside_in(&mut lab, tcp(OUTSIDE, 443, WAN, wport, SYN | ACK, 50, 2, &[]));
    inside_out(&mut lab, tcp(INSIDE, 33000, OUTSIDE, 443, ACK, 2, 51, &[]));
    // Established: active.
    let r = report(&lab, 6);
    assert_eq!((r.active, r.inactive), (1, 0));
    inside_out(&mut lab, tcp(INSIDE, 33000, OUTSIDE, 443, ACK | PSH, 2, 51, b"request"));
    outside_in(&mut lab, tcp(OUTSIDE, 443, WAN, wport, ACK | PSH, 51, 9, b"a longer response"));
    // Closed: inactive until it expires.
    inside_out(&mut lab, tcp(INSIDE, 33000, OUTSIDE, 443, FIN | ACK, 9, 68, &[]));
    outside_in(&mut lab, tcp(OUTSIDE, 443, WAN, wport, FIN | ACK, 68, 10, &[]));
    assert_eq!(lab.states(), ["TIME_WAIT"]);
    let r = report(&lab, 6);
    assert_eq!((r.active, r.inactive), (0, 1));
    let st = r.stats;
    assert_eq!((st.conns, st.inpkts, st.inbytes), (1, sent_in.0, sent_in.1));
    assert_eq!((st.outpkts, st.outbytes), (sent_out.0, sent_out.1));

    // The UDP rule counted nothing of that; now one flow of its own.
    let u = report(&lab, 17);
    assert_eq!((u.active, u.inactive, u.stats.conns, u.stats.inpkts), (0, 0, 0, 0));
    let q = udp(INSIDE, 33001, OUTSIDE, 53, b"query");
    let s = seen(&lab.one(1, &from_inside(&q)).1);
    let a = udp(OUTSIDE, 53, WAN, s.sport, b"answer");
    lab.one(0, &from_outside(&a));
    let u = report(&lab, 17);
    assert_eq!((u.active, u.inactive), (0, 1));
    let want = crate::ipvs::counters::TrafficCounters {
        conns: 1,
        inpkts: 1,
        outpkts: 1,
        inbytes: q.len() as u64,
        outbytes: a.len() as u64,
    };
    assert_eq!(u.stats, want);
    // The WAN address's totals are the two rules' totals.
    let pools = lab.lb().pool_reports();
    let wan = pools.snat.iter().find(|r| r.out_addr == WAN).expect("WAN report").stats;
    let mut sum = st;
    sum.conns += want.conns;
    sum.inpkts += want.inpkts;
    sum.outpkts += want.outpkts;
    sum.inbytes += want.inbytes;
    sum.outbytes += want.outbytes;
    assert_eq!(wan, sum);

    // Expired: no live connection left; the totals stay.
    lab.advance(600);
    let r = report(&lab, 6);
    assert_eq!((r.active, r.inactive, r.stats), (0, 0, st));
    assert_eq!((report(&lab, 17).inactive, report(&lab, 17).stats), (0, want));
}

#[test]
fn ttl_expiry_sends_time_exceeded() {
    let mut lab = nat_lab("rr", &[1]);
    let mut ip = udp(CLIENT, 5000, VIP, 53, b"q");
    ip[8] = 1;
    ip[10..12].fill(0);
    let c = naive_checksum(&ip[..20]);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    let (port, f) = lab.one(0, &from_client(&ip));
    assert_eq!(port, 0);
    assert_eq!(f[14 + 9], 1, "ICMP");
    assert_eq!((f[34], f[35]), (11, 0), "time exceeded in transit");
    assert_eq!(&f[30..34], &CLIENT.octets());
    assert_eq!(&f[42..], &ip[..28], "quotes the header and 8 bytes");
    assert_eq!(lab.drops(R::Ttl), 1);
}

/// An ICMP error message (`ty`, `code`, 4 bytes of rest) from `src` to `dst` quoting `quoted`'s
/// header and first 8 payload bytes.
fn icmp_error(
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

/// A transmitted ICMP error: outer addresses and the quoted addresses and ports, checksums
/// (outer IPv4, ICMP, quoted IPv4) verified from scratch.
fn seen_icmp(f: &[u8]) -> (Ipv4Addr, Ipv4Addr, (Ipv4Addr, u16), (Ipv4Addr, u16)) {
    let ip = &f[14..];
    assert_eq!(ip[9], 1);
    assert_eq!(naive_checksum(&ip[..20]), 0, "outer IPv4 checksum");
    assert_eq!(naive_checksum(&ip[20..]), 0, "ICMP checksum");
    let q = &ip[28..];
    assert_eq!(naive_checksum(&q[..20]), 0, "quoted IPv4 checksum");
    let a = |b: &[u8]| Ipv4Addr::new(b[0], b[1], b[2], b[3]);
    let p = |b: &[u8]| u16::from_be_bytes([b[0], b[1]]);
    (a(&ip[12..16]), a(&ip[16..20]), (a(&q[12..16]), p(&q[20..22])), (a(&q[16..20]), p(&q[22..24])))
}

#[test]
fn icmp_errors_about_a_connection_are_translated_both_ways() {
    let mut lab = nat_lab("rr", &[1]);
    let req = udp(CLIENT, 5000, VIP, 53, b"query");
    let (_, f) = lab.one(0, &from_client(&req));
    let to_rs = f[14..].to_vec();
    // A router on the server side says the RS is unreachable, to the client, about it.
    let router = Ipv4Addr::new(192, 168, 1, 254);
    let err = icmp_error(router, CLIENT, 3, 1, [0; 4], &to_rs);
    let (port, f) = lab.one(1, &from_rs(0, &err));
    assert_eq!(port, 0);
    let (src, dst, qsrc, qdst) = seen_icmp(&f);
    assert_eq!((src, dst), (VIP, CLIENT), "outer source becomes the VIP");
    assert_eq!((qsrc, qdst), ((CLIENT, 5000), (VIP, 53)), "quotes what the client sent");
    // The client says its port is unreachable, about the reply it got from the VIP.
    let reply = lab.one(1, &from_rs(0, &udp(rs(0), 5353, CLIENT, 5000, b"answer"))).1;
    let err = icmp_error(CLIENT, VIP, 3, 3, [0; 4], &reply[14..]);
    let (port, f) = lab.one(0, &from_client(&err));
    assert_eq!(port, 1);
    let (src, dst, qsrc, qdst) = seen_icmp(&f);
    assert_eq!((src, dst), (CLIENT, rs(0)));
    assert_eq!((qsrc, qdst), ((rs(0), 5353), (CLIENT, 5000)), "quotes what the RS sent");
    assert_eq!(lab.lb().counters().icmp_forwarded, 2);
    // About no connection: dropped when sent to the VIP, not ours otherwise.
    let stray = udp(VIP, 53, CLIENT, 9999, b"x");
    assert!(lab.send(0, &from_client(&icmp_error(CLIENT, VIP, 3, 3, [0; 4], &stray))).is_empty());
    assert_eq!(lab.drops(R::IcmpNoConn), 1);
    // Not an error (timestamp request) to the VIP.
    assert!(lab
        .send(0, &from_client(&ipv4(CLIENT, VIP, 1, &[13, 0, 0xf2, 0xff, 0, 0, 0, 0])))
        .is_empty());
    assert_eq!(lab.drops(R::IcmpUnsupported), 1);
}

mod fragments;
mod l2cache;
mod snat_echo;
// ---- plumbing changes (rvsnet) ----

fn echo_request(dst: Ipv4Addr) -> Vec<u8> {
    let mut icmp = vec![8, 0, 0, 0, 0x12, 0x34, 0, 1, b'p', b'i', b'n', b'g'];
    let c = naive_checksum(&icmp);
    icmp[2..4].copy_from_slice(&c.to_be_bytes());
    from_client(&ipv4(CLIENT, dst, 1, &icmp))
}

#[test]
fn new_address_and_route_are_used_once_the_tables_are_set() {
    let new = Ipv4Addr::new(10, 0, 0, 150);
    let mut lab = Lab::new(Arc::new(Services::empty()));
    assert!(lab.send(0, &echo_request(new)).is_empty(), "not ours yet");
    let far = Ipv4Addr::new(172, 16, 5, 5);
    let before = lab.p.stack().routes().lookup(far).unwrap();
    assert_eq!((before.port, before.next_hop), (0, GW), "default route");

    // What rvsnet `addr add 10.0.0.150/32 dev p0 kind vip` and
    // `route add 172.16.0.0/16 via 192.168.1.254` hand the workers.
    let mut ifaces: Vec<Iface> = lab.p.stack().ifaces().iter().cloned().collect();
    ifaces[0].addrs.push(IfAddr { ip: new, prefix_len: 32, kind: AddrKind::Vip });
    let ifaces = IfaceTable::new(ifaces).unwrap();
    let gw1 = Ipv4Addr::new(192, 168, 1, 254);
    let routes = RouteTable::build(
        &ifaces,
        &[
            Route { prefix: Ipv4Addr::UNSPECIFIED, prefix_len: 0, port: 0, gateway: Some(GW) },
            Route {
                prefix: Ipv4Addr::new(172, 16, 0, 0),
                prefix_len: 16,
                port: 1,
                gateway: Some(gw1),
            },
        ],
    )
    .unwrap();
    lab.p.set_net(Arc::new(ifaces), Arc::new(routes), lab.now);
    // The announcing worker tells the link: one gratuitous ARP for the new address only.
    lab.p.announce(&[new, Ipv4Addr::new(10, 9, 9, 9)], &mut lab.io);
    let sent: Vec<(u16, Vec<u8>)> =
        lab.io.tx.drain(..).map(|(p, b)| (p, b.data().to_vec())).collect();
    assert_eq!(sent.len(), 1, "10.9.9.9 is not owned: not announced");
    let (port, g) = &sent[0];
    assert_eq!(*port, 0);
    assert_eq!(&g[0..6], &[0xff; 6], "broadcast");
    assert_eq!(mac(&g[6..12]), MAC0);
    assert_eq!(&g[12..14], &[0x08, 0x06], "ARP");
    assert_eq!(&g[20..22], &[0, 1], "request");
    assert_eq!(&g[28..32], &new.octets(), "sender = the new address");
    assert_eq!(&g[38..42], &new.octets(), "target = the new address");

    let (port, f) = lab.one(0, &echo_request(new));
    assert_eq!(port, 0);
    assert_eq!((mac(&f[0..6]), mac(&f[6..12])), (CLIENT_MAC, MAC0));
    let ip = &f[14..];
    assert_eq!(naive_checksum(&ip[..20]), 0, "IPv4 header checksum");
    assert_eq!(Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]), new, "answered from the new address");
    assert_eq!(Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]), CLIENT);
    let icmp = &ip[20..];
    assert_eq!((icmp[0], icmp[1]), (0, 0), "echo reply");
    assert_eq!(naive_checksum(icmp), 0, "ICMP checksum");
    assert_eq!(&icmp[4..], &[0x12, 0x34, 0, 1, b'p', b'i', b'n', b'g']);
    let after = lab.p.stack().routes().lookup(far).unwrap();
    assert_eq!((after.port, after.next_hop), (1, gw1), "the new, longer route wins");
}

#[test]
fn new_tables_reach_the_balancer_mtu_toward_dests() {
    let mut lab = nat_lab("rr", &[1]);
    let big = udp(CLIENT, 5000, VIP, 53, &[7u8; 1000]);
    let (port, _) = lab.one(0, &from_client(&big));
    assert_eq!(port, 1, "1028-byte datagram fits port 1's MTU of 1500");
    // Port 1's MTU drops to 576 (new interface table, same routes).
    let mut ifaces: Vec<Iface> = lab.p.stack().ifaces().iter().cloned().collect();
    ifaces[1].mtu = 576;
    let ifaces = IfaceTable::new(ifaces).unwrap();
    let routes = RouteTable::build(
        &ifaces,
        &[Route { prefix: Ipv4Addr::UNSPECIFIED, prefix_len: 0, port: 0, gateway: Some(GW) }],
    )
    .unwrap();
    lab.p.set_net(Arc::new(ifaces), Arc::new(routes), lab.now);
    let out = lab.send(0, &from_client(&udp(CLIENT, 5000, VIP, 53, &[7u8; 1000])));
    assert_eq!(lab.drops(R::FragNeeded), 1, "DF set and too big for the new MTU");
    assert_eq!(out.len(), 1, "the client is told");
    let (port, f) = &out[0];
    assert_eq!(*port, 0);
    let ip = &f[14..];
    assert_eq!((ip[9], ip[20], ip[21]), (1, 3, 4), "ICMP fragmentation needed");
    assert_eq!(u16::from_be_bytes([ip[26], ip[27]]), 576, "next-hop MTU");
}
