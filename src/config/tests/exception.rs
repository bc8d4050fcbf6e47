//! The exception path's keys: `port[i].kernel_iface`, `port[i].kernel_addrs`, `[exception]`.

use std::net::Ipv4Addr;
use std::time::Duration;

use super::{patch, BASE};
use crate::config::{Config, ConfigError, Ipv4Net};

const LAN0_MTU: &str = "mtu = 1500\n";

fn with_kernel(lines: &str) -> String {
    patch(LAN0_MTU, &format!("{LAN0_MTU}{lines}\n"))
}

#[track_caller]
fn rejects(text: &str, key: &str, words: &[&str]) {
    super::refused_at(text, key, words);
}

#[test]
fn absent_by_default_with_documented_limits() {
    let c = Config::from_toml_str(BASE).unwrap();
    assert!(c.ports().iter().all(|p| p.kernel.is_none()));
    let e = c.exception();
    assert_eq!((e.to_kernel_pps, e.to_kernel_burst), (20_000, 512));
    assert_eq!((e.from_kernel_pps, e.from_kernel_burst), (20_000, 512));
    assert_eq!(e.poll, Duration::from_micros(100));
    assert!(!c.eal_args().iter().any(|a| a.contains("net_tap")));
}

#[test]
fn kernel_iface_is_typed_and_becomes_a_tap_vdev() {
    let text = with_kernel(
        "kernel_iface = \"rvs-lan0\"\nkernel_addrs = [\"10.0.0.20/24\", \"10.0.0.21/32\"]",
    ) + "\n[exception]\nto_kernel_pps = 5000\nto_kernel_burst = 64\npoll_us = 50\n";
    let c = Config::from_toml_str(&text).unwrap();
    let k = c.ports()[0].kernel.as_ref().unwrap();
    assert_eq!(k.name, "rvs-lan0");
    assert_eq!(
        k.addrs,
        vec![
            Ipv4Net::new(Ipv4Addr::new(10, 0, 0, 20), 24).unwrap(),
            Ipv4Net::new(Ipv4Addr::new(10, 0, 0, 21), 32).unwrap()
        ]
    );
    assert!(c.ports()[1].kernel.is_none());
    let args = c.eal_args();
    let at = args.iter().position(|a| a == "net_tap_rvs0,iface=rvs-lan0").expect("tap vdev");
    assert_eq!(args[at - 1], "--vdev");
    assert_eq!(c.exception().to_kernel_pps, 5000);
    assert_eq!(c.exception().to_kernel_burst, 64);
    assert_eq!(c.exception().poll, Duration::from_micros(50));
    // The pool grows by a tap rx ring and a batch per worker.
    let plain = Config::from_toml_str(BASE).unwrap();
    assert_eq!(c.min_mbufs(), plain.min_mbufs() + 2 * (256 + 32));
}

#[test]
fn rejections_name_the_key() {
    rejects(
        &with_kernel("kernel_addrs = [\"10.0.0.20/24\"]"),
        "port[0].kernel_addrs",
        &["kernel_iface"],
    );
    rejects(
        &with_kernel("kernel_iface = \"a-name-longer-than-15\""),
        "port[0].kernel_iface",
        &["1-15"],
    );
    rejects(&with_kernel("kernel_iface = \"bad/name\""), "port[0].kernel_iface", &["letters"]);
    rejects(
        &with_kernel("kernel_iface = \"k0\"\nkernel_addrs = [\"10.0.0.20\"]"),
        "port[0].kernel_addrs[0]",
        &["prefix length"],
    );
    rejects(
        &with_kernel("kernel_iface = \"k0\"\nkernel_addrs = [\"224.0.0.5/32\"]"),
        "port[0].kernel_addrs[0]",
        &["unicast"],
    );
    rejects(
        &with_kernel("kernel_iface = \"k0\"\nkernel_addrs = [\"10.0.0.20/24\", \"10.0.0.20/32\"]"),
        "port[0].kernel_addrs[1]",
        &["twice"],
    );
    // The DIP is rvsd's: it cannot be the kernel's too.
    rejects(
        &with_kernel("kernel_iface = \"k0\"\nkernel_addrs = [\"10.0.0.1/24\"]"),
        "port[0].kernel_addrs[0]",
        &["addr[0]", "either"],
    );
    let two = with_kernel("kernel_iface = \"k0\"")
        .replace("device = \"net_null1\"\n", "device = \"net_null1\"\nkernel_iface = \"k0\"\n");
    rejects(&two, "port[1].kernel_iface", &["port[0]"]);
    rejects(
        &(with_kernel("kernel_iface = \"k0\"") + "\n[exception]\nto_kernel_burst = 0\n"),
        "exception.to_kernel_burst",
        &["1 to"],
    );
    rejects(
        &(BASE.to_owned() + "\n[exception]\npoll_us = 1\n"),
        "exception.poll_us",
        &["system call"],
    );
    rejects(
        &with_kernel("kernel_iface = \"k0\"")
            .replace("vdevs = [\"net_null0\"", "vdevs = [\"net_tap_rvs0\", \"net_null0\""),
        "eal.vdevs",
        &["net_tap_rvs0"],
    );
}

#[test]
fn unknown_exception_key_is_a_syntax_error() {
    let text = BASE.to_owned() + "\n[exception]\nrate = 5\n";
    assert!(matches!(Config::from_toml_str(&text), Err(ConfigError::Syntax { .. })));
}
