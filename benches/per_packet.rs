//! The other per-packet pieces: each scheduler's pick over four dests, each forwarding mode's
//! rewrite of a 64-byte client packet (in a `VecBuf`, a fresh copy per iteration, the copy not
//! timed), the RFC 1624 checksum updates, and an established NAT packet through a whole
//! `Pipeline` (stack + balancer + send path with its L2 header). `cargo bench --bench per_packet`.

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion};
use rvs::buf::VecBuf;
use rvs::dataplane::pipeline::Pipeline;
use rvs::ipvs::balancer::{Balancer, BalancerConfig};
use rvs::ipvs::conn::{Direction, FwdMethod};
use rvs::ipvs::sched::{DestView, MhTableSize, SchedFlags, SchedKey, SchedKind};
use rvs::ipvs::service::{BuildOptions, Services};
use rvs::ipvs::spec::{self, DestSpec, Protocol, ServiceKey, ServiceSpec};
use rvs::ipvs::xmit::{self, TunEncap, XmitCtx};
use rvs::net::{
    AddrKind, DropReason, IfAddr, Iface, IfaceTable, NeighParams, NetIo, Route, RouteTable, Stack,
    StaticNeigh,
};
use rvs::time::Instant;
use rvs::wire::{checksum, MacAddr};
use rvs::wire::{IpProtocol, Ipv4Meta};
use std::net::{IpAddr, Ipv4Addr, SocketAddrV4};
use std::sync::Arc;

const SCHEDULERS: [&str; 14] =
    ["rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos"];

fn sched(c: &mut Criterion) {
    let dests: Vec<DestView> = (0..4u8)
        .map(|n| {
            let mut d =
                DestView::new(IpAddr::V4(Ipv4Addr::new(192, 168, 1, 10 + n)), 80, 1 + u32::from(n));
            d.active = 100 * u32::from(n);
            d.inactive = 7 * u32::from(n);
            d
        })
        .collect();
    let mut g = c.benchmark_group("sched_pick_4_dests");
    for name in SCHEDULERS {
        let Ok(kind) = name.parse::<SchedKind>() else {
            continue;
        };
        let mh = MhTableSize::new(65_537).unwrap_or_default();
        let mut s = kind.build(SchedFlags::default(), 0, 1, mh);
        s.update(&dests);
        let mut i: u32 = 0;
        g.bench_function(name, |b| {
            b.iter(|| {
                i = i.wrapping_add(0x9e37_79b1);
                let key = SchedKey::new(
                    IpProtocol::TCP,
                    IpAddr::V4(Ipv4Addr::from(0x0a40_0000 | (i >> 16))),
                    i as u16,
                    IpAddr::V4(Ipv4Addr::new(10, 0, 0, 100)),
                    80,
                );
                black_box(s.schedule(black_box(&dests), &key))
            })
        });
    }
    g.finish();
}

/// A 60-byte TCP ACK from 10.64.0.1:40000 to the VIP 10.0.0.100:80, with valid checksums.
fn client_frame() -> Vec<u8> {
    let mut f = vec![0u8; 60];
    f[12] = 0x08;
    let ip = &mut f[14..34];
    ip.copy_from_slice(&[0x45, 0, 0, 46, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 64, 0, 1, 10, 0, 0, 100]);
    let c = checksum::checksum(&f[14..34]);
    f[24..26].copy_from_slice(&c.to_be_bytes());
    let tcp = &mut f[34..];
    tcp[0..4].copy_from_slice(&[0x9c, 0x40, 0, 80]);
    tcp[12] = 0x50;
    tcp[13] = 0x10;
    tcp[14] = 0xff;
    tcp[15] = 0xff;
    let pseudo = checksum::pseudo_header_v4(
        Ipv4Addr::new(10, 64, 0, 1),
        Ipv4Addr::new(10, 0, 0, 100),
        6,
        26,
    );
    let c = !checksum::add(pseudo, checksum::sum(&f[34..60]));
    f[50..52].copy_from_slice(&c.to_be_bytes());
    f
}

fn rewrite(c: &mut Criterion) {
    let frame = client_frame();
    let v4 = |a, b, c, d, p| SocketAddrV4::new(Ipv4Addr::new(a, b, c, d), p);
    let base = XmitCtx {
        dir: Direction::In,
        proto: IpProtocol::TCP,
        client: v4(10, 64, 0, 1, 40000),
        vip: v4(10, 0, 0, 100, 80),
        dest: v4(192, 168, 1, 10, 80),
        local: None,
        tun: None,
        mtu: 1500,
        toa: false,
    };
    let modes = [
        ("dr", FwdMethod::Route, base),
        (
            "tun",
            FwdMethod::Tunnel,
            XmitCtx { tun: Some((TunEncap::Ipip, Ipv4Addr::new(192, 168, 1, 1))), ..base },
        ),
        ("nat", FwdMethod::Masq, base),
        ("fullnat", FwdMethod::FullNat, XmitCtx { local: Some(v4(192, 168, 2, 0, 5000)), ..base }),
        ("snat", FwdMethod::Snat, XmitCtx { local: Some(v4(203, 0, 113, 1, 5001)), ..base }),
    ];
    let mut g = c.benchmark_group("xmit_rewrite_64B");
    for (name, fwd, ctx) in modes {
        // The rewrite must succeed, or the benchmark would time an error path.
        // The data path's entry: the IPv4 header checked once (by the stack), then the rewrite.
        let Ok(ip) = Ipv4Meta::parse(&frame, 14) else { panic!("{name}: bad frame") };
        let mut probe = VecBuf::from_slice(&frame);
        if let Err(e) = xmit::forward_checked(fwd, &mut probe, &ip, None, &ctx) {
            panic!("{name}: {e}");
        }
        g.bench_function(name, |b| {
            b.iter_batched_ref(
                || VecBuf::from_slice(&frame),
                |pkt| black_box(xmit::forward_checked(fwd, pkt, &ip, None, &ctx)),
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

fn csum(c: &mut Criterion) {
    let mut g = c.benchmark_group("checksum");
    let mut x: u32 = 1;
    g.bench_function("update_addr", |b| {
        b.iter(|| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            black_box(checksum::update_addr(
                black_box(0x1234),
                Ipv4Addr::from(x),
                Ipv4Addr::from(x ^ 0x0101_0101),
            ))
        })
    });
    g.bench_function("update_u16", |b| {
        b.iter(|| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            black_box(checksum::update_u16(black_box(0x1234), x as u16, (x >> 16) as u16))
        })
    });
    let hdr = &client_frame()[14..34];
    g.bench_function("full_ipv4_header", |b| {
        b.iter(|| black_box(checksum::checksum(black_box(hdr))))
    });
    g.finish();
}

/// A NetIo that frees every buffer (the benchmark times the pipeline, not a port).
#[derive(Default)]
struct SinkIo {
    tx: u64,
}

impl NetIo<VecBuf> for SinkIo {
    fn tx(&mut self, _port: u16, pkt: VecBuf) {
        self.tx += 1;
        drop(pkt);
    }
    fn alloc(&mut self) -> Option<VecBuf> {
        None
    }
    fn drop_pkt(&mut self, pkt: VecBuf, _reason: DropReason) {
        drop(pkt);
    }
}

/// An established NAT connection's client ACK through `Pipeline::input`: stack checks, conn
/// lookup, state machine, rewrite, route + neighbour (or the conn's cached L2 header), tx.
fn pipeline(c: &mut Criterion) {
    let mac0 = MacAddr([2, 0, 0, 0, 0, 0xa0]);
    let a = |ip, prefix_len, kind| IfAddr { ip, prefix_len, kind };
    let ifaces = IfaceTable::new(vec![
        Iface {
            port: 0,
            mac: mac0,
            mtu: 1500,
            addrs: vec![
                a(Ipv4Addr::new(10, 0, 0, 1), 24, AddrKind::Host),
                a(Ipv4Addr::new(10, 0, 0, 100), 32, AddrKind::Vip),
            ],
        },
        Iface {
            port: 1,
            mac: MacAddr([2, 0, 0, 0, 0, 0xa1]),
            mtu: 1500,
            addrs: vec![a(Ipv4Addr::new(192, 168, 1, 1), 24, AddrKind::Host)],
        },
    ])
    .expect("interfaces");
    let gw = Ipv4Addr::new(10, 0, 0, 254);
    let routes = RouteTable::build(
        &ifaces,
        &[Route { prefix: Ipv4Addr::UNSPECIFIED, prefix_len: 0, port: 0, gateway: Some(gw) }],
    )
    .expect("routes");
    let neigh = [
        StaticNeigh { ip: gw, port: 0, mac: MacAddr([0x52, 0, 0, 0, 0, 0xfe]) },
        StaticNeigh {
            ip: Ipv4Addr::new(192, 168, 1, 10),
            port: 1,
            mac: MacAddr([0x52, 0, 0, 0, 1, 0]),
        },
    ];
    let stack = Stack::new(ifaces, routes, &neigh, NeighParams::default()).expect("stack");
    let now = Instant::from_secs(100);
    let lb =
        Balancer::new(BalancerConfig { conn_capacity: 1024, ..BalancerConfig::new(0, 1) }, now)
            .expect("balancer");
    let mut p = Pipeline::with_balancer(stack, lb);
    let key = ServiceKey {
        proto: Protocol::Tcp,
        addr: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 100)),
        port: 80,
    };
    let mut d = DestSpec::new(IpAddr::V4(Ipv4Addr::new(192, 168, 1, 10)), 80);
    d.fwd = spec::FwdMethod::Masq;
    let svc = ServiceSpec::new(key);
    let dests = [d];
    let snap = Services::build(
        [(&svc, &dests[..])],
        &[],
        &[],
        spec::Timeouts::default(),
        BuildOptions::default(),
    )
    .expect("services");
    p.set_services(Arc::new(snap), now);
    let mut io = SinkIo::default();
    let mut frame = client_frame();
    frame[0..6].copy_from_slice(&mac0.0);
    // Open the connection with a SYN (same tuple), then time the ACKs.
    let mut syn = frame.clone();
    syn[47] = 0x02;
    let sum = checksum::update_u16(u16::from_be_bytes([frame[50], frame[51]]), 0x5010, 0x5002);
    syn[50..52].copy_from_slice(&sum.to_be_bytes());
    let _ = p.input(0, VecBuf::from_slice(&syn), now, &mut io);
    let _ = p.input(0, VecBuf::from_slice(&frame), now, &mut io);
    assert_eq!(io.tx, 2, "the SYN and the ACK are forwarded");
    let mut g = c.benchmark_group("pipeline_established");
    g.bench_function("nat_in_ack", |b| {
        b.iter_batched(
            || VecBuf::from_slice(&frame),
            |pkt| black_box(p.input(0, pkt, now, &mut io).is_none()),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, sched, rewrite, csum, pipeline);
criterion_main!(benches);
