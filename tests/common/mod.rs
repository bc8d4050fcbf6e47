//! Shared set-up of the DPDK integration tests: EAL arguments without hugepages or PCI, with
//! a file prefix unique to the test process. Each test binary holds one EAL-initialising test,
//! so both `cargo test` and `cargo nextest` run them one EAL per process.

#![allow(dead_code)]

pub mod golden;
pub mod log;
pub mod rvsd;

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

/// rvsd's config for a director on one `net_null` port (no rx) with two workers, owning
/// 192.0.2.1/24 and the VIP `vip`, followed by `extra` TOML (services, `[ctrl]`, ...). The EAL
/// file prefix is unique to `test` and this process.
pub fn two_worker_null_config(test: &str, vip: &str, extra: &str) -> String {
    format!(
        r#"
[eal]
main_lcore = 0
no_huge = true
no_pci = true
memory_mb = 128
file_prefix = "rvs-{test}-{pid}"
vdevs = ["net_null0,no-rx=1"]

[[port]]
name = "p0"
device = "net_null0"
rx_queues = 2
tx_queues = 2
rx_desc = 128
tx_desc = 128

[[addr]]
port = "p0"
ip = "192.0.2.1/24"
kind = "host"

[[addr]]
port = "p0"
ip = "{vip}/32"
kind = "vip"

[[worker]]
lcore = 1
cpu = 1
rx = [{{ port = "p0", queue = 0 }}]

[[worker]]
lcore = 2
cpu = 0
rx = [{{ port = "p0", queue = 1 }}]

[dataplane]
mbuf_cache = 32
conns_per_worker = 1024
idle_backoff = {{ empty_polls = 8, sleep_us = 200 }}
{extra}"#,
        pid = std::process::id()
    )
}
