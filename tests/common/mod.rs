//! Shared set-up of the DPDK integration tests: EAL arguments without hugepages or PCI, with
//! a file prefix unique to the test process. Each test binary holds one EAL-initialising test,
//! so both `cargo test` and `cargo nextest` run them one EAL per process.

#![allow(dead_code)]

pub mod golden;

use rvs::buf::PacketBuf;
use rvs::dpdk::{Eal, Mbuf, Mempool};

/// EAL options for a test: no hugepages, no PCI, no shared config, lcores 0 and 1.
pub fn eal_args(test: &str, vdevs: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "--no-huge",
        "--no-pci",
        "--no-shconf",
        "--no-telemetry",
        "-m",
        "256",
        "--lcores=0@0,1@1",
        "--log-level=lib.eal:error",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    args.push(format!("--file-prefix=rvs-{test}-{}", std::process::id()));
    for v in vdevs {
        args.push(format!("--vdev={v}"));
    }
    args
}

/// Initialises EAL for `test` with `vdevs`, panicking with EAL's message on failure.
pub fn eal(test: &str, vdevs: &[&str]) -> Eal {
    match Eal::init(&eal_args(test, vdevs)) {
        Ok(e) => e,
        Err(e) => panic!("EAL init failed: {e}"),
    }
}

/// An Ethernet/IPv4/UDP frame whose payload is `payload_len` bytes counting up from `seed`.
pub fn frame(seed: u8, payload_len: usize) -> Vec<u8> {
    let mut f = Vec::with_capacity(42 + payload_len);
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x02]); // dst MAC
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x01]); // src MAC
    f.extend_from_slice(&[0x08, 0x00]);
    let ip_len = (20 + 8 + payload_len) as u16;
    f.extend_from_slice(&[0x45, 0, (ip_len >> 8) as u8, ip_len as u8, 0, seed, 0x40, 0, 64, 17]);
    f.extend_from_slice(&[0, 0, 10, 0, 0, 1, 10, 0, 0, seed]);
    let udp_len = (8 + payload_len) as u16;
    f.extend_from_slice(&[0x30, 0x39, 0, 80, (udp_len >> 8) as u8, udp_len as u8, 0, 0]);
    f.extend((0..payload_len).map(|i| seed.wrapping_add(i as u8)));
    f
}

/// An mbuf from `pool` holding `bytes`.
pub fn mbuf_with(pool: &Mempool, bytes: &[u8]) -> Mbuf {
    let mut m = pool.alloc().expect("pool has a free mbuf");
    m.append(bytes.len()).expect("frame fits the mbuf").copy_from_slice(bytes);
    m
}
