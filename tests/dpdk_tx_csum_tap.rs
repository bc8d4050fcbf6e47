//! Transmit checksum offload through a real PMD: a `net_tap` port (whose driver advertises
//! IPv4/TCP/UDP transmit checksum offloads and computes them in its tx path) sends packets
//! whose checksums the worker left to the NIC (`request_tx_csum`: IPv4 checksum zero,
//! pseudo-header sum in the L4 field, mbuf flags set). The kernel on the other side of the tap
//! accepts them only with right checksums: a UDP datagram reaches a socket, a TCP SYN to a
//! closed port gets a RST back, and the namespace's checksum error counters stay at zero.
//!
//! Everything runs in a network namespace the test creates (the test re-runs itself inside it
//! with `ip netns exec`) and removes; nothing touches the root namespace's network.

mod common;

use std::net::UdpSocket;
use std::process::Command;
use std::time::{Duration, Instant};

use rvs::buf::PacketBuf;
use rvs::dataplane::worker::request_tx_csum;
use rvs::dpdk::port::{TX_OFFLOAD_IPV4_CKSUM, TX_OFFLOAD_TCP_CKSUM, TX_OFFLOAD_UDP_CKSUM};
use rvs::dpdk::{MbufBatch, Mempool, Port, PortConfig};
use rvs::wire::checksum;

const INSIDE: &str = "RVS_TX_CSUM_TAP_NS";
const TEST: &str = "tap_computes_the_checksums_left_to_it";
const IFACE: &str = "rvscsum0";
const KERNEL_IP: [u8; 4] = [10, 99, 0, 1];
const DPDK_IP: [u8; 4] = [10, 99, 0, 2];
const DPDK_MAC: [u8; 6] = [0x02, 0, 0, 0, 0x99, 2];

fn sh(cmd: &str, args: &[&str]) {
    let st = Command::new(cmd).args(args).status().unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(st.success(), "{cmd} {args:?}: {st}");
}

#[test]
fn tap_computes_the_checksums_left_to_it() {
    if std::env::var_os(INSIDE).is_none() {
        let ns = format!("l2pcsum{}", std::process::id());
        sh("ip", &["netns", "add", &ns]);
        let exe = std::env::current_exe().unwrap();
        let st = Command::new("ip")
            .args(["netns", "exec", &ns])
            .arg(exe)
            .args(["--exact", TEST, "--nocapture", "--test-threads=1"])
            .env(INSIDE, &ns)
            .status();
        let _ = Command::new("ip").args(["netns", "delete", &ns]).status();
        assert!(st.expect("ip netns exec").success(), "the test inside the namespace failed");
        return;
    }
    inside_the_namespace();
}

fn snmp(proto: &str, field: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/net/snmp").unwrap();
    let mut lines = text.lines().filter(|l| l.starts_with(&format!("{proto}:")));
    let (names, values) = (lines.next().unwrap(), lines.next().unwrap());
    let i = names.split_whitespace().position(|n| n == field).unwrap();
    values.split_whitespace().nth(i).unwrap().parse().unwrap()
}

/// Ethernet + IPv4 + `l4` (TCP or UDP) with every checksum computed in software.
fn frame(dst_mac: [u8; 6], proto: u8, l4: &[u8]) -> Vec<u8> {
    let mut f = dst_mac.to_vec();
    f.extend_from_slice(&DPDK_MAC);
    f.extend_from_slice(&[8, 0]);
    let total = (20 + l4.len()) as u16;
    let mut ip = vec![0x45, 0];
    ip.extend_from_slice(&total.to_be_bytes());
    ip.extend_from_slice(&[0x12, 0x34, 0x40, 0, 64, proto, 0, 0]);
    ip.extend_from_slice(&DPDK_IP);
    ip.extend_from_slice(&KERNEL_IP);
    let c = checksum::checksum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    let mut seg = l4.to_vec();
    let at = if proto == 6 { 16 } else { 6 };
    let ph = checksum::pseudo_header_v4(DPDK_IP.into(), KERNEL_IP.into(), proto, seg.len() as u16);
    let c = !checksum::add(ph, checksum::sum(&seg));
    seg[at..at + 2].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(&seg);
    f
}

fn inside_the_namespace() {
    let _eal = common::eal("txcsumtap", &[&format!("net_tap0,iface={IFACE}")]);
    let pool = Mempool::new("txcsum_pool", 4095, 0, 2176, None).unwrap();
    let port = Port::by_name("net_tap0").unwrap();
    let info = port.info().unwrap();
    let want = TX_OFFLOAD_IPV4_CKSUM | TX_OFFLOAD_TCP_CKSUM | TX_OFFLOAD_UDP_CKSUM;
    println!("net_tap: driver {}, tx_offload_capa {:#x}", info.driver, info.tx_offload_capa);
    let cfg = PortConfig { mac: Some(DPDK_MAC), tx_offloads: want, ..PortConfig::default() };
    let mut cp = port.configure(&cfg, &pool).unwrap();
    assert_eq!(cp.report().tx_offloads & want, want, "net_tap offers the three offloads");
    let mut txq = cp.tx_queue(0).unwrap();
    let mut rxq = cp.rx_queue(0).unwrap();

    sh("ip", &["link", "set", IFACE, "up"]);
    sh("ip", &["addr", "add", "10.99.0.1/24", "dev", IFACE]);
    sh("ip", &["neigh", "replace", "10.99.0.2", "lladdr", "02:00:00:00:99:02", "dev", IFACE]);
    let kmac_text = std::fs::read_to_string(format!("/sys/class/net/{IFACE}/address")).unwrap();
    let kmac = rvs::config::parse_mac(kmac_text.trim()).unwrap();
    let sock = UdpSocket::bind("10.99.0.1:9999").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let (udp_err0, tcp_err0) = (snmp("Udp", "InCsumErrors"), snmp("Tcp", "InCsumErrors"));

    let send = |txq: &mut rvs::dpdk::TxQueue, bytes: &[u8]| {
        let mut m = common::mbuf_with(&pool, bytes);
        m.want_tx_csum(14);
        request_tx_csum(&mut m, 14, true);
        let d = m.data();
        assert_eq!(&d[24..26], &[0, 0], "IPv4 checksum left to the NIC");
        assert_ne!(d, bytes, "the software checksums were replaced");
        let mut b: MbufBatch = MbufBatch::new();
        b.push(m).unwrap();
        let mut sent = 0;
        for _ in 0..100 {
            sent += txq.tx_burst(&mut b);
            if sent == 1 {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("tap did not take the packet");
    };

    // UDP: the datagram reaches the socket with its payload.
    let mut udp = vec![0x15, 0xb3, 0x27, 0x0f, 0, 0, 0, 0];
    let payload = b"checksummed by the tap PMD";
    udp[4..6].copy_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    udp.extend_from_slice(payload);
    send(&mut txq, &frame(kmac, 17, &udp));
    let mut buf = [0u8; 100];
    let (n, from) = sock.recv_from(&mut buf).expect("the kernel accepted the UDP datagram");
    assert_eq!(&buf[..n], payload);
    assert_eq!(from.to_string(), "10.99.0.2:5555");

    // TCP: a SYN to a closed port is answered with a RST (a bad checksum would be ignored).
    let mut syn = vec![0u8; 20];
    syn[0..2].copy_from_slice(&40000u16.to_be_bytes());
    syn[2..4].copy_from_slice(&9998u16.to_be_bytes());
    syn[4..8].copy_from_slice(&7u32.to_be_bytes());
    syn[12] = 0x50;
    syn[13] = 0x02;
    syn[14] = 0xff;
    send(&mut txq, &frame(kmac, 6, &syn));
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut got_rst = false;
    while Instant::now() < deadline && !got_rst {
        let mut b: MbufBatch = MbufBatch::new();
        rxq.rx_burst(&mut b);
        for m in b.drain() {
            let d = m.data();
            if d.len() >= 54 && d[12..14] == [8, 0] && d[23] == 6 && d[30..34] == DPDK_IP {
                got_rst = d[47] & 0x04 != 0 && u16::from_be_bytes([d[34], d[35]]) == 9998;
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(got_rst, "the kernel answered the SYN with a RST");
    assert_eq!(snmp("Udp", "InCsumErrors"), udp_err0);
    assert_eq!(snmp("Tcp", "InCsumErrors"), tcp_err0);

    // A port without the offload: the mark is cleared and the software checksums stand.
    let f = frame(kmac, 17, &udp);
    let mut m = common::mbuf_with(&pool, &f);
    m.want_tx_csum(14);
    assert_eq!(m.tx_csum_wanted(), Some(14));
    request_tx_csum(&mut m, 14, false);
    assert_eq!(m.data(), &f[..]);
    assert_eq!(m.tx_csum_wanted(), None);
    assert_eq!(m.ol_flags() & rvs::dpdk::sys::RTE_MBUF_F_TX_IP_CKSUM, 0);
    // With it: IPv4 + UDP flags and lengths.
    m.want_tx_csum(14);
    request_tx_csum(&mut m, 14, true);
    let fl = m.ol_flags();
    assert_ne!(fl & rvs::dpdk::sys::RTE_MBUF_F_TX_IP_CKSUM, 0);
    assert_eq!(fl & rvs::dpdk::sys::RTE_MBUF_F_TX_L4_MASK, rvs::dpdk::sys::RTE_MBUF_F_TX_UDP_CKSUM);
    assert_eq!(m.tx_offload_lens(), (14, 20));
    drop(m);
    drop((txq, rxq));
}
