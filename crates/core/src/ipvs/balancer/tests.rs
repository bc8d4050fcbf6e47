//! Balancer unit tests that need no stack (the packet flows are tested through the pipeline in
//! `dataplane::pipeline`).

use std::net::Ipv4Addr;
use std::sync::Arc;

use super::*;
use crate::buf::{PacketBuf, VecBuf};
use crate::ipvs::laddr::PortRange;
use crate::ipvs::service::BuildOptions;
use crate::ipvs::spec::{DestSpec, FwdMethod, Protocol, ServiceKey, ServiceSpec, Timeouts};
use crate::net::testutil::naive_checksum;

const NOW: Instant = Instant::from_secs(5);

fn snap(gen: u64, dests: &[(u8, u32)]) -> Arc<Services> {
    let s = ServiceSpec::new(ServiceKey {
        proto: Protocol::Tcp,
        addr: Ipv4Addr::new(10, 0, 0, 100).into(),
        port: 80,
    });
    let d: Vec<DestSpec> = dests
        .iter()
        .map(|&(n, w)| {
            let mut d = DestSpec::new(Ipv4Addr::new(192, 168, 1, n).into(), 80);
            d.fwd = FwdMethod::Masq;
            d.weight = w;
            d
        })
        .collect();
    let opts = BuildOptions { generation: gen, ..BuildOptions::default() };
    Arc::new(Services::build([(&s, &d[..])], &[], &[], Timeouts::default(), opts).unwrap())
}

fn lb() -> Balancer {
    let cfg = BalancerConfig {
        conn_capacity: 16,
        hash_seed: HashSeed::from_u64(1),
        ..BalancerConfig::new(0, 1)
    };
    Balancer::new(cfg, NOW).unwrap()
}

const EGRESS: FixedEgress = FixedEgress { mtu: 1500, source: None };

#[test]
fn new_refuses_bad_capacity_and_cores_without_ports() {
    let cfg = BalancerConfig { conn_capacity: 0, ..BalancerConfig::new(0, 1) };
    assert!(matches!(Balancer::new(cfg, NOW), Err(BalancerError::ConnTable(_))));
    let cfg = BalancerConfig {
        local_ports: PortRange::new(2000, 2000).unwrap(),
        ..BalancerConfig::new(1, 2)
    };
    assert!(matches!(Balancer::new(cfg, NOW), Err(BalancerError::Laddr(_))));
    let cfg = BalancerConfig { ..BalancerConfig::new(0, 0) };
    assert!(Balancer::new(cfg, NOW).is_err());
}

#[test]
fn snapshots_update_slots_in_place_and_forget_unused_ones() {
    let mut b = lb();
    assert_eq!(b.generation(), 0);
    b.set_services(snap(1, &[(1, 1), (2, 1)]), NOW, &EGRESS);
    assert_eq!(b.generation(), 1);
    let r = b.dest_reports();
    assert_eq!(r.len(), 2);
    assert!(r.iter().all(|d| d.live));
    // Dest 2 removed with no connection: it stays listed as removed until the next snapshot.
    b.set_services(snap(2, &[(1, 5)]), NOW, &EGRESS);
    let r = b.dest_reports();
    assert_eq!(r.iter().filter(|d| d.live).count(), 1);
    b.set_services(snap(3, &[(1, 5), (3, 1)]), NOW, &EGRESS);
    let r = b.dest_reports();
    assert_eq!(r.len(), 2, "slot of dest 2 reused: {r:?}");
    assert!(r.iter().any(|d| d.addr == Ipv4Addr::new(192, 168, 1, 3)));
    // No services at all.
    b.set_services(Arc::new(Services::empty()), NOW, &EGRESS);
    assert!(b.service_reports().iter().all(|s| !s.live));
    b.set_services(Arc::new(Services::empty()), NOW, &EGRESS);
    assert!(b.service_reports().is_empty());
}

fn seg(flags: u8, seq: u32, ack: u32, payload: &[u8], ip_opts: bool) -> VecBuf {
    let mut t = vec![0x9c, 0x40, 0, 80];
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&ack.to_be_bytes());
    t.extend_from_slice(&[0x60, flags, 1, 0, 0, 0, 0, 0, 2, 4, 5, 0xb4]);
    t.extend_from_slice(payload);
    let hl = if ip_opts { 24 } else { 20 };
    let mut ip = vec![(0x40 | (hl / 4)) as u8, 0];
    ip.extend_from_slice(&((hl + t.len()) as u16).to_be_bytes());
    ip.extend_from_slice(&[0, 1, 0, 0, 9, 6, 0, 0, 10, 0, 0, 50, 10, 0, 0, 100]);
    if ip_opts {
        ip.extend_from_slice(&[1, 1, 1, 0]);
    }
    ip.extend_from_slice(&t);
    let mut f = vec![0u8; 14];
    f.extend_from_slice(&ip);
    VecBuf::from_slice(&f)
}

fn check_rst(b: &VecBuf) -> (u32, u32, u8) {
    let ip = &b.data()[14..];
    assert_eq!(ip.len(), 40);
    assert_eq!(naive_checksum(&ip[..20]), 0);
    assert_eq!(&ip[12..16], &[10, 0, 0, 100]);
    assert_eq!(&ip[16..20], &[10, 0, 0, 50]);
    let mut ph = ip[12..20].to_vec();
    ph.extend_from_slice(&[0, 6, 0, 20]);
    ph.extend_from_slice(&ip[20..]);
    assert_eq!(naive_checksum(&ph), 0, "TCP checksum");
    let t = &ip[20..];
    assert_eq!((&t[0..2], &t[2..4]), (&[0, 80][..], &[0x9c, 0x40][..]));
    let u = |i: usize| u32::from_be_bytes([t[i], t[i + 1], t[i + 2], t[i + 3]]);
    (u(4), u(8), t[13])
}

#[test]
fn resets_follow_rfc_793() {
    use crate::wire::Ipv4Meta;
    // The balancer hands it the IPv4 header the stack checked.
    let reset_in_place = |b: &mut VecBuf, l3: usize| {
        let ip = Ipv4Meta::parse(b.data(), l3).ok()?;
        crate::ipvs::reset::reset_in_place(b, &ip)
    };
    // No ACK: seq 0, ack = seq + SYN + FIN + data.
    let mut b = seg(0x02, 0xffff_fffe, 0, b"abc", true);
    assert_eq!(reset_in_place(&mut b, 14), Some(Ipv4Addr::new(10, 0, 0, 50)));
    assert_eq!(check_rst(&b), (0, 0xffff_fffe_u32.wrapping_add(4), 0x14));
    let mut b = seg(0x03, 10, 0, b"", false);
    reset_in_place(&mut b, 14).unwrap();
    assert_eq!(check_rst(&b), (0, 12, 0x14));
    // ACK set: seq = its ack, RST alone.
    let mut b = seg(0x10, 10, 777, b"zz", false);
    reset_in_place(&mut b, 14).unwrap();
    assert_eq!(check_rst(&b), (777, 0, 0x04));
    // A reset is never answered; garbage is left alone.
    let mut b = seg(0x04, 10, 0, b"", false);
    let before = b.data().to_vec();
    assert_eq!(reset_in_place(&mut b, 14), None);
    assert_eq!(b.data(), &before[..]);
    let mut g = VecBuf::from_slice(&[0x45; 30]);
    assert_eq!(reset_in_place(&mut g, 14), None);
}
