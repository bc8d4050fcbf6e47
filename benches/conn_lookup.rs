//! Connection lookup on one core's table holding 1M connections: hits (keys of live
//! connections, visited in a scattered order so the cache does not help more than it would in
//! production), misses (keys of no connection), and hits 32 at a time through the burst
//! lookup. `cargo bench --bench conn_lookup`.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use rvs::ipvs::conn::{ConnKey, ConnSpec, ConnTable, FwdMethod, HashSeed};
use rvs::time::Instant;
use rvs::wire::IpProtocol;
use std::net::Ipv4Addr;

const N: u32 = 1 << 20;
const VIP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 100);

fn client(i: u32) -> (Ipv4Addr, u16) {
    (Ipv4Addr::from(0x0a40_0000 + i / 60_000), 1024 + (i % 60_000) as u16)
}

fn table(now: Instant) -> ConnTable<Ipv4Addr> {
    let mut t = ConnTable::new(N + N / 8, HashSeed::from_u64(7), now).expect("table");
    for i in 0..N {
        let spec = ConnSpec {
            key: ConnKey::new(IpProtocol::TCP, client(i).0, client(i).1, VIP, 80),
            dest_addr: (Ipv4Addr::new(192, 168, 1, 10 + (i % 4) as u8), 80),
            local: None,
            fwd: FwdMethod::Route,
            dest: i % 4,
            svc: 0,
            template: None,
        };
        t.insert(&spec, now, |_| {}).expect("room for every connection");
    }
    t
}

fn bench(c: &mut Criterion) {
    let now = Instant::from_secs(100);
    let mut t = table(now);
    let mut g = c.benchmark_group("conn_lookup_1M");
    g.throughput(Throughput::Elements(1));
    // A multiplicative step coprime with N visits every entry in a scattered order.
    let mut i: u32 = 0;
    g.bench_function("hit", |b| {
        b.iter(|| {
            i = i.wrapping_add(0x9e37_79b1) % N;
            let (a, p) = client(i);
            let key = ConnKey::new(IpProtocol::TCP, a, p, VIP, 80);
            black_box(t.lookup(black_box(&key), now))
        })
    });
    let mut j: u32 = 0;
    g.bench_function("miss", |b| {
        b.iter(|| {
            j = j.wrapping_add(0x9e37_79b1) % N;
            let (a, p) = client(j);
            // Same clients, another virtual port: no such connection.
            let key = ConnKey::new(IpProtocol::TCP, a, p, VIP, 81);
            black_box(t.lookup(black_box(&key), now))
        })
    });
    g.finish();
    // The same hits, 32 per call through the staged burst lookup (touch every bucket, then
    // every candidate entry, then compare): per-tuple cost against `hit` above.
    let mut g = c.benchmark_group("conn_lookup_1M_burst");
    g.throughput(Throughput::Elements(32));
    let mut k: u32 = 0;
    let mut out = [None; 32];
    g.bench_function("hit_burst_32", |b| {
        b.iter(|| {
            let keys: [ConnKey<Ipv4Addr>; 32] = core::array::from_fn(|_| {
                k = k.wrapping_add(0x9e37_79b1) % N;
                let (a, p) = client(k);
                ConnKey::new(IpProtocol::TCP, a, p, VIP, 80)
            });
            t.lookup_burst(black_box(&keys), now, &mut out);
            black_box(&out);
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
