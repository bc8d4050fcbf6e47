//! The rings between worker cores: ARP copies reach every other core byte for byte, redirects
//! reach the named core with their port, a full ring hands the packet back, and no mbuf leaks.

mod common;

use rvs::buf::PacketBuf;
use rvs::dataplane::crossing::{self, Arrival, Crossing};
use rvs::dataplane::pipeline::Carried;
use rvs::dpdk::{Mbuf, MbufBatch, Mempool};
use rvs::net::AddrKind;
use rvs::wire::{FlowMeta, IpProtocol, Ipv4Meta, PacketMeta, TcpFlags, Tuple, L4};

fn mbuf(pool: &Mempool, bytes: &[u8]) -> Mbuf {
    let mut m = pool.alloc().expect("mbuf");
    m.append(bytes.len()).expect("room").copy_from_slice(bytes);
    m
}

/// What a core's stack checked of a TCP reply to a local address.
fn carried() -> Carried {
    let (rs, laddr) = ([192, 168, 0, 18].into(), [172, 16, 0, 1].into());
    let ip = Ipv4Meta {
        l3: 14,
        header_len: 20,
        total_len: 40,
        protocol: IpProtocol::TCP,
        src_addr: rs,
        dst_addr: laddr,
        ident: 7,
        ttl: 63,
        dont_frag: true,
        more_frags: false,
        frag_offset: 0,
    };
    let tuple = Tuple::new(IpProtocol::TCP, rs, 8080, laddr, 5001);
    let flow = FlowMeta { tuple, l4: L4::Tcp, flags: TcpFlags(0x12), tcp_data: false };
    Carried { meta: PacketMeta { ip, flow: Some(flow) }, owner: Some(AddrKind::Local) }
}

#[test]
fn crossings_carry_arp_copies_and_redirects() {
    let _eal = common::eal("crossing", &[]);
    let pool = Mempool::new("crossing", 1023, 0, 2176, None).expect("pool");
    let start = pool.avail_count();
    let mut cores = Crossing::build(3, 4).expect("rings");
    assert!(cores.iter().all(Crossing::has_peers));

    // Core 0 shares an ARP frame received on port 1: cores 1 and 2 each get a copy.
    let frame: Vec<u8> = (0..60u8).collect();
    let lost = cores[0].share_arp(1, &frame, || pool.alloc());
    assert_eq!(lost, 0);
    let mut batch = MbufBatch::default();
    for c in [1, 2] {
        let mut seen = Vec::new();
        cores[c].drain(&mut batch, |kind, port, pkt| seen.push((kind, port, pkt.data().to_vec())));
        assert_eq!(seen, vec![(Arrival::ArpCopy, 1, frame.clone())], "core {c}");
    }

    // Core 2 redirects a packet of port 0 to core 1 only, with its checked headers.
    let pkt = mbuf(&pool, b"redirected");
    assert_eq!(crossing::carried(&pkt), None, "a fresh mbuf carries nothing");
    assert!(cores[2].redirect(1, 0, pkt, &carried()).is_ok());
    let mut seen = Vec::new();
    cores[0].drain(&mut batch, |kind, port, _| seen.push((kind, port)));
    assert!(seen.is_empty(), "core 0 got nothing");
    cores[1].drain(&mut batch, |kind, port, pkt| {
        seen.push((kind, port));
        assert_eq!(pkt.data(), b"redirected");
        assert_eq!(crossing::carried(&pkt), Some(carried()), "the headers travelled along");
    });
    assert_eq!(seen, vec![(Arrival::Redirect, 0)]);

    // An unknown core, and a full ring, hand the packet back.
    assert!(cores[0].redirect(0, 0, mbuf(&pool, b"self"), &carried()).is_err());
    let mut refused = 0;
    for i in 0..8u8 {
        if cores[0].redirect(2, 0, mbuf(&pool, &[i]), &carried()).is_err() {
            refused += 1;
        }
    }
    assert!(refused > 0, "a ring of 4 cannot take 8");
    let n = cores[2].drain(&mut batch, |_, _, _| {});
    assert_eq!(n + refused, 8);

    drop(batch);
    drop(cores);
    assert_eq!(pool.avail_count(), start, "every mbuf back in the pool");
}
