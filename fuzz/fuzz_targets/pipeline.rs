//! The whole sans-IO pipeline (the director's stack and the balancer) on a fixed config, fed a
//! sequence of frames with time advancing between them. The input is read as records: an op
//! byte, a time step, then the op's fields; frames are built with correct checksums (so that
//! they reach the balancer) from fuzzer-chosen fields, or passed raw. Every path (new
//! connections, replies, state changes, expiry, ICMP, ARP, fragments, malformed input) must
//! end without a panic, and the table must stay within its capacity. The stack has IPv6 too
//! (a host address and a VIP, no DAD): ND, echo, and IPv6 packets with fuzzer-chosen extension
//! headers reach its IPv6 half.
//!
//! Everything is sized small and seeded fixed (connection table, followed fragments, local
//! ports, SYN-proxy handshakes, per-source rates, cookie keys): every execution then builds the
//! same director cheaply, exhaustion is within reach of a short input, and a finding replays.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rvs_core::buf::VecBuf;
use rvs_core::ipvs::balancer::{Balancer, BalancerConfig};
use rvs_core::ipvs::conn::HashSeed;
use rvs_core::ipvs::guard::GuardConfig;
use rvs_core::ipvs::laddr::PortRange;
use rvs_core::ipvs::spec::{Ipv4Prefix, ServiceLimits};
use rvs_core::ipvs::synproxy::SynProxyConfig;
use rvs_core::ipvs::service::{BuildOptions, Services};
use rvs_core::ipvs::spec::{self, DestSpec, FwdMethod, Protocol, ServiceKey, ServiceSpec};
use rvs_core::net::nd::{Nd, NdParams};
use rvs_core::net::Stack;
use rvs_core::net::{
    AddrKind, DropReason, IfAddr, Iface, IfaceTable, NeighParams, NetIo, Route, RouteTable,
    StaticNeigh,
};
use rvs_core::net::{IfAddr6, Ipv6Addrs, Ipv6Setup, Route6, Route6Table};
use rvs_core::pipeline::Pipeline;
use rvs_core::testkit::frames;
use rvs_core::time::Instant;
use rvs_core::wire::MacAddr;
use rvs_core::wire::{icmpv6, ndisc};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

const MAC0: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0xa0]);
const MAC1: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0xa1]);
const PEER: MacAddr = MacAddr([0x52, 0, 0, 0, 0, 0x50]);
const HOST0: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const VIP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 100);
const GW: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 254);
const HOST1: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 1);
const LADDR: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 200);
const CAPACITY: u32 = 64;
const HOST6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
const VIP6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x100);
const GW6: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);

fn rs(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(192, 168, 1, 10 + n % 4)
}

#[derive(Default)]
struct Io {
    tx: usize,
}

impl NetIo<VecBuf> for Io {
    fn tx(&mut self, _port: u16, _pkt: VecBuf) {
        self.tx += 1;
    }
    fn alloc(&mut self) -> Option<VecBuf> {
        Some(VecBuf::with_capacity(128, 2048))
    }
    fn drop_pkt(&mut self, _pkt: VecBuf, _reason: DropReason) {}
}

fn stack() -> Stack<VecBuf> {
    let a = |ip, prefix_len, kind| IfAddr { ip, prefix_len, kind };
    let ifaces = IfaceTable::new(vec![
        Iface {
            port: 0,
            mac: MAC0,
            mtu: 1500,
            addrs: vec![a(HOST0, 24, AddrKind::Host), a(VIP, 32, AddrKind::Vip)],
        },
        Iface {
            port: 1,
            mac: MAC1,
            mtu: 1500,
            addrs: vec![a(HOST1, 24, AddrKind::Host), a(LADDR, 32, AddrKind::Local)],
        },
    ])
    .expect("fixed interfaces");
    let routes = RouteTable::build(
        &ifaces,
        &[Route { prefix: Ipv4Addr::UNSPECIFIED, prefix_len: 0, port: 0, gateway: Some(GW) }],
    )
    .expect("fixed routes");
    let mut neigh = vec![StaticNeigh { ip: GW, port: 0, mac: PEER }];
    for n in 0..4 {
        neigh.push(StaticNeigh { ip: rs(n), port: 1, mac: MacAddr([0x52, 0, 0, 0, 1, n]) });
    }
    // A small neighbour table: ARP from random senders fills it and eviction runs.
    let params = NeighParams { max_entries: 16, pending_total: 32, ..NeighParams::default() };
    let addrs = Ipv6Addrs::new(
        vec![
            IfAddr6 { port: 0, ip: HOST6, prefix_len: 64, kind: AddrKind::Host },
            IfAddr6 { port: 0, ip: VIP6, prefix_len: 128, kind: AddrKind::Vip },
        ],
        &ifaces,
    )
    .expect("fixed IPv6 addresses");
    let dflt = Route6 { prefix: Ipv6Addr::UNSPECIFIED, prefix_len: 0, port: 0, gateway: Some(GW6) };
    let routes6 = Route6Table::build(&ifaces, &addrs, &[dflt]).expect("fixed IPv6 routes");
    let nd_params = NdParams { dad_transmits: 0, ..NdParams::default() };
    let nd = Nd::new(nd_params, params, &addrs.own_addrs(), &[], Instant::from_secs(100))
        .expect("fixed ND");
    let v6 = Ipv6Setup::new(Arc::new(addrs), Arc::new(routes6), nd);
    Stack::new(ifaces, routes, &neigh, params).expect("fixed neighbours").with_ipv6(v6)
}

/// An IPv6 address for a fuzzed frame: ours, a neighbour's, multicast, link-local or anyone.
fn addr6(b: u8) -> Ipv6Addr {
    match b % 7 {
        0 => HOST6,
        1 => VIP6,
        2 => Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1),
        3 => ndisc::solicited_node(if b & 0x80 == 0 { HOST6 } else { VIP6 }),
        4 => Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, u16::from(b)),
        5 => Ipv6Addr::UNSPECIFIED,
        _ => Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, u16::from(b)),
    }
}

/// An IPv6 frame on port 0: an NS, an NA, an echo request (hop limit 255 or fuzzed), or a
/// fuzzer-chosen next header and payload (extension chains, fragments, anything).
fn frame6(inp: &mut Input) -> Option<Vec<u8>> {
    let (kind, s, d, t, hl) = (inp.u8()?, inp.u8()?, inp.u8()?, inp.u8()?, inp.u8()?);
    let (src, dst) = (addr6(s), addr6(d));
    let (nh, l4) = match kind % 4 {
        0 | 1 => {
            let target = addr6(t);
            let msg = if kind % 4 == 0 {
                ndisc::Repr::NeighborSolicit { target, source_ll: (t & 1 == 0).then_some(PEER) }
            } else {
                let target_ll = (t & 1 == 0).then_some(PEER);
                ndisc::Repr::NeighborAdvert { flags: t & 0xe0, target, target_ll }
            };
            let mut l4 = vec![0u8; msg.buffer_len()];
            msg.emit(src, dst, &mut l4).ok()?;
            (58, l4)
        }
        2 => {
            let data = inp.bytes(64)?;
            let r = icmpv6::Repr::EchoRequest { ident: u16::from(t), seq: 1, data: &data };
            let mut l4 = vec![0u8; r.buffer_len()];
            r.emit(src, dst, &mut icmpv6::Packet::new_unchecked(&mut l4[..])).ok()?;
            (58, l4)
        }
        _ => (t, inp.bytes(160)?),
    };
    let mut ip = vec![0x60, 0, 0, 0];
    ip.extend_from_slice(&(l4.len() as u16).to_be_bytes());
    ip.extend_from_slice(&[nh, if kind & 0x80 == 0 { 255 } else { hl }]);
    ip.extend_from_slice(&src.octets());
    ip.extend_from_slice(&dst.octets());
    ip.extend_from_slice(&l4);
    let mac = if dst.is_multicast() { ndisc::multicast_mac(dst) } else { MAC0 };
    Some(frames::eth(mac, PEER, 0x86dd, &ip))
}

/// TCP 80 NAT (rr), TCP 81 DR (wlc, sloppy), TCP 82 FULLNAT (sh), UDP 53 TUN (rr), TCP 83 NAT
/// with persistence, TCP 84 NAT behind the SYN proxy, TCP 85 FULLNAT with every admission limit
/// (a connection limit, a per-source rate, a deny list).
fn services() -> Arc<Services> {
    let svc = |proto, port, sched: &str| {
        let mut s = ServiceSpec::new(ServiceKey { proto, addr: VIP.into(), port });
        s.scheduler = sched.parse().expect("scheduler");
        s
    };
    let dest = |n: u8, port, fwd| {
        let mut d = DestSpec::new(rs(n).into(), port);
        d.fwd = fwd;
        d
    };
    let nat = svc(Protocol::Tcp, 80, "rr");
    let mut dr = svc(Protocol::Tcp, 81, "wlc");
    dr.sloppy = true;
    let fnat = svc(Protocol::Tcp, 82, "sh");
    let tun = svc(Protocol::Udp, 53, "rr");
    let mut sticky = svc(Protocol::Tcp, 83, "rr");
    sticky.persistence = Some(30);
    let mut proxied = svc(Protocol::Tcp, 84, "rr");
    proxied.synproxy = true;
    let mut limited = svc(Protocol::Tcp, 85, "rr");
    limited.limits = Some(Box::new(ServiceLimits {
        conn_limit: 6,
        source_rate: 2,
        source_burst: 3,
        allow: Vec::new(),
        deny: vec![Ipv4Prefix { addr: Ipv4Addr::new(203, 0, 113, 4), len: 31 }],
    }));
    let nat_d = [dest(0, 8080, FwdMethod::Masq), dest(1, 8080, FwdMethod::Masq)];
    let dr_d = [dest(0, 81, FwdMethod::Route), dest(1, 81, FwdMethod::Route)];
    let fnat_d = [dest(2, 80, FwdMethod::FullNat), dest(3, 80, FwdMethod::FullNat)];
    let tun_d = [dest(2, 53, FwdMethod::Tunnel)];
    let sticky_d = [dest(0, 83, FwdMethod::Masq), dest(3, 83, FwdMethod::Masq)];
    let proxied_d = [dest(0, 84, FwdMethod::Masq), dest(1, 84, FwdMethod::Masq)];
    let limited_d = [dest(2, 85, FwdMethod::FullNat), dest(3, 85, FwdMethod::FullNat)];
    let la = [
        (fnat.key, spec::LocalAddrSpec { addr: LADDR.into(), ifname: None }),
        (limited.key, spec::LocalAddrSpec { addr: LADDR.into(), ifname: None }),
    ];
    let list: [(&ServiceSpec, &[DestSpec]); 7] = [
        (&nat, &nat_d),
        (&dr, &dr_d),
        (&fnat, &fnat_d),
        (&tun, &tun_d),
        (&sticky, &sticky_d),
        (&proxied, &proxied_d),
        (&limited, &limited_d),
    ];
    Arc::new(
        Services::build(
            list.into_iter(),
            &la,
            &[],
            spec::Timeouts::default(),
            BuildOptions::default(),
        )
        .expect("fixed services"),
    )
}

struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn u8(&mut self) -> Option<u8> {
        let (b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(*b)
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes([self.u8()?, self.u8()?]))
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from(self.u16()?) << 16 | u32::from(self.u16()?))
    }
    fn bytes(&mut self, max: usize) -> Option<Vec<u8>> {
        let n = usize::from(self.u8()?).min(max).min(self.0.len());
        let (b, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(b.to_vec())
    }
}

fn client(b: u8) -> Ipv4Addr {
    // Mostly a few clients (connections meet again), sometimes anyone.
    if b & 0x80 == 0 {
        Ipv4Addr::new(203, 0, 113, b & 7)
    } else {
        Ipv4Addr::new(b, b.wrapping_mul(7), 3, b)
    }
}

/// One record: the frame and the port it arrives on, or `None` at the end of the input.
fn record(inp: &mut Input) -> Option<(u16, Vec<u8>)> {
    let op = inp.u8()?;
    let on0 = |ip: Vec<u8>| (0, frames::eth(MAC0, PEER, 0x0800, &ip));
    let on1 = |ip: Vec<u8>| (1, frames::eth(MAC1, PEER, 0x0800, &ip));
    Some(match op % 8 {
        // A client's TCP segment to a service port.
        0 => {
            let (c, sport, port, flags) = (inp.u8()?, inp.u16()?, inp.u8()?, inp.u8()?);
            let (seq, ack, payload) = (inp.u32()?, inp.u32()?, inp.bytes(64)?);
            on0(frames::tcp(
                client(c),
                sport,
                VIP,
                80 + u16::from(port % 6),
                flags,
                seq,
                ack,
                &payload,
            ))
        }
        // A client's UDP datagram.
        1 => {
            let (c, sport, payload) = (inp.u8()?, inp.u16()?, inp.bytes(64)?);
            on0(frames::udp(client(c), sport, VIP, 53, &payload))
        }
        // A real server's reply: to a client (NAT) or to the local address (FULLNAT).
        2 => {
            let (n, c, dport, flags, seq, ack) =
                (inp.u8()?, inp.u8()?, inp.u16()?, inp.u8()?, inp.u32()?, inp.u32()?);
            let sport = [8080, 80, 83, 84, 85][usize::from(n % 5)];
            let dst = if n & 0x10 != 0 { LADDR } else { client(c) };
            on1(frames::tcp(rs(n), sport, dst, dport, flags, seq, ack, &[]))
        }
        // ICMP to the VIP or the local address: echo, or an error quoting a packet.
        3 => {
            let (ty, code, to_laddr, quoted) = (inp.u8()?, inp.u8()?, inp.u8()?, inp.bytes(96)?);
            let icmp = frames::icmp(ty % 16, code % 16, [0, 0, 5, 0xdc], &quoted);
            if to_laddr & 1 == 0 {
                on0(frames::ipv4(client(to_laddr), VIP, 1, 64, &icmp))
            } else {
                on1(frames::ipv4(rs(to_laddr), LADDR, 1, 64, &icmp))
            }
        }
        // ARP on either port.
        4 => {
            let (op, s, t) = (inp.u8()?, inp.u8()?, inp.u8()?);
            let spa = Ipv4Addr::new(10, 0, 0, s);
            let tpa = if t & 1 == 0 { VIP } else { Ipv4Addr::new(10, 0, 0, t) };
            let arp = frames::arp(u16::from(op % 3), PEER, spa, MacAddr([0; 6]), tpa);
            (u16::from(op & 1), frames::eth(MacAddr([0xff; 6]), PEER, 0x0806, &arp))
        }
        // A client's IPv4 packet with a fuzzer-chosen header (fragments, options, TTL, lengths).
        5 => {
            let (c, proto, ttl) = (inp.u8()?, inp.u8()?, inp.u8()?);
            let mut ip = frames::ipv4(
                client(c),
                VIP,
                [6, 17, 1, 4, proto][usize::from(proto % 5)],
                ttl,
                &inp.bytes(128)?,
            );
            let (field, value) = (inp.u8()?, inp.u8()?);
            if let Some(b) = ip.get_mut(usize::from(field % 20)) {
                *b = value;
            }
            on0(ip)
        }
        // IPv6.
        6 => (0, frame6(inp)?),
        // Raw bytes.
        _ => {
            let port = inp.u8()?;
            (u16::from(port & 1), inp.bytes(255)?)
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let mut now = Instant::from_secs(100);
    let cfg = BalancerConfig {
        conn_capacity: CAPACITY,
        hash_seed: HashSeed::from_u64(7),
        local_ports: PortRange::new(40_000, 40_015).expect("fixed ports"),
        frag_capacity: 8,
        guard: GuardConfig { embryonic_max: 16, ..GuardConfig::protective(CAPACITY) },
        synproxy: SynProxyConfig {
            keys: [[0x11; 16], [0x22; 16]],
            pending: 8,
            hold_bytes: 64,
            synack_burst: 16,
            ..SynProxyConfig::new()
        },
        source_entries: 16,
        ..BalancerConfig::new(0, 1)
    };
    let Ok(lb) = Balancer::new(cfg, now) else { return };
    let mut p = Pipeline::with_balancer(stack(), lb);
    p.set_services(services(), now);
    let mut io = Io::default();
    let mut inp = Input(data);
    while let Some(step) = inp.u8() {
        // Time: from nothing to about 17 minutes (past every default timeout).
        now = now + core::time::Duration::from_millis(u64::from(step) * u64::from(step) * 16);
        p.poll(now, &mut io);
        let Some((port, frame)) = record(&mut inp) else { break };
        if let Some((redirected, _, _)) = p.input(port, VecBuf::from_slice(&frame), now, &mut io) {
            drop(redirected);
        }
        let lb = p.balancer().expect("the balancer stays");
        assert!(lb.conn_count() <= lb.conn_capacity(), "table over its capacity");
    }
});
