//! The other per-packet pieces: each scheduler's pick over four dests, each forwarding mode's
//! rewrite of a 64-byte client packet (in a `VecBuf`, a fresh copy per iteration, the copy not
//! timed), and the RFC 1624 checksum updates. `cargo bench --bench per_packet`.

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion};
use rvs::buf::VecBuf;
use rvs::ipvs::conn::{Direction, FwdMethod};
use rvs::ipvs::sched::{DestView, MhTableSize, SchedFlags, SchedKey, SchedKind};
use rvs::ipvs::xmit::{self, TunEncap, XmitCtx};
use rvs::wire::checksum;
use std::net::{IpAddr, Ipv4Addr, SocketAddrV4};

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
                let key = SchedKey {
                    proto: 6,
                    src: IpAddr::V4(Ipv4Addr::from(0x0a40_0000 | (i >> 16))),
                    src_port: i as u16,
                    dst: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 100)),
                    dst_port: 80,
                };
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
        proto: 6,
        client: v4(10, 64, 0, 1, 40000),
        vip: v4(10, 0, 0, 100, 80),
        dest: v4(192, 168, 1, 10, 80),
        local: None,
        tun: None,
        mtu: 1500,
        toa: false,
    };
    let modes = [
        ("dr", FwdMethod::Dr, base),
        (
            "tun",
            FwdMethod::Tun,
            XmitCtx { tun: Some((TunEncap::Ipip, Ipv4Addr::new(192, 168, 1, 1))), ..base },
        ),
        ("nat", FwdMethod::Nat, base),
        ("fullnat", FwdMethod::FullNat, XmitCtx { local: Some(v4(192, 168, 2, 0, 5000)), ..base }),
        ("snat", FwdMethod::Snat, XmitCtx { local: Some(v4(203, 0, 113, 1, 5001)), ..base }),
    ];
    let mut g = c.benchmark_group("xmit_rewrite_64B");
    for (name, fwd, ctx) in modes {
        // The rewrite must succeed, or the benchmark would time an error path.
        let mut probe = VecBuf::from_slice(&frame);
        if let Err(e) = xmit::forward(fwd, &mut probe, 14, &ctx) {
            panic!("{name}: {e}");
        }
        g.bench_function(name, |b| {
            b.iter_batched_ref(
                || VecBuf::from_slice(&frame),
                |pkt| black_box(xmit::forward(fwd, pkt, 14, &ctx)),
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

criterion_group!(benches, sched, rewrite, csum);
criterion_main!(benches);
