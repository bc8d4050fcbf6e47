//! Checks of the exception path: `port[i].kernel_iface` and `port[i].kernel_addrs`, and the
//! `[exception]` limits.
//!
//! A port's kernel interface is a net_tap device rvsd creates (one queue pair per worker), named
//! as the operator says; the kernel's addresses there are given explicitly and must not be any of
//! the director's own (`[[addr]]`), so each address has exactly one owner.

use core::time::Duration;

use crate::config::checked::{Addr, Eal, Exception, KernelIface, Port};
use crate::config::error::{invalid, Invalid};
use crate::config::ip::Ipv4Net;
use crate::config::raw::RawException;
use crate::config::Config;

use super::eal::vdev_name;

/// Longest Linux interface name (`IFNAMSIZ - 1`).
const MAX_IFNAME: usize = 15;
/// Queues net_tap gives a device in DPDK 22.11 (`RTE_PMD_TAP_MAX_QUEUES`).
pub(crate) const MAX_TAP_QUEUES: usize = 16;
const MAX_BURST: u64 = 1_000_000;
const POLL_US: core::ops::RangeInclusive<u32> = 10..=100_000;

/// `port[index]`'s kernel interface from its two keys; `ports` are the ports checked before it.
pub(crate) fn kernel_iface(
    name: Option<String>,
    addrs: Vec<String>,
    index: usize,
    ports: &[Port],
) -> Result<Option<KernelIface>, Invalid> {
    let key = |field: &str| format!("port[{index}].{field}");
    let Some(name) = name else {
        if !addrs.is_empty() {
            return Err(invalid(
                key("kernel_addrs"),
                "kernel addresses need a kernel interface to live on: add kernel_iface = \"NAME\" to this port",
            ));
        }
        return Ok(None);
    };
    if name.is_empty()
        || name.len() > MAX_IFNAME
        || name == "."
        || name == ".."
        || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
    {
        return Err(invalid(
            key("kernel_iface"),
            format!("`{name}` is not a usable interface name: use 1-{MAX_IFNAME} letters, digits, `-`, `_` or `.`"),
        ));
    }
    if let Some(other) = ports.iter().find(|p| p.kernel.as_ref().is_some_and(|k| k.name == name)) {
        return Err(invalid(
            key("kernel_iface"),
            format!(
                "`{name}` is already the kernel interface of port[{}]: give each port its own",
                other.index
            ),
        ));
    }
    let mut nets: Vec<Ipv4Net> = Vec::with_capacity(addrs.len());
    for (j, text) in addrs.iter().enumerate() {
        let k = format!("port[{index}].kernel_addrs[{j}]");
        let net: Ipv4Net = text.parse().map_err(|e| invalid(k.clone(), format!("{e}")))?;
        let ip = net.addr();
        if ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast() || ip.is_loopback() {
            return Err(invalid(
                k,
                format!("{ip} cannot be a host's address: give a unicast address"),
            ));
        }
        if nets.iter().any(|n| n.addr() == ip)
            || ports
                .iter()
                .flat_map(|p| p.kernel.iter())
                .any(|kf| kf.addrs.iter().any(|n| n.addr() == ip))
        {
            return Err(invalid(k, format!("{ip} is a kernel address twice: list it once")));
        }
        nets.push(net);
    }
    Ok(Some(KernelIface { name, addrs: nets }))
}

/// `[exception]`, and the rules between the kernel interfaces and the rest of the file.
pub(crate) fn check_exception(
    raw: RawException,
    ports: &[Port],
    addrs: &[Addr],
    eal: &Eal,
    workers: usize,
) -> Result<Exception, Invalid> {
    for p in ports {
        let Some(k) = &p.kernel else { continue };
        for (j, net) in k.addrs.iter().enumerate() {
            if let Some(i) = addrs.iter().position(|a| a.ip == net.addr()) {
                return Err(invalid(
                    format!("port[{}].kernel_addrs[{j}]", p.index),
                    format!("{} is also addr[{i}], which rvsd owns: an address belongs either to rvsd ([[addr]]) or to the kernel (kernel_addrs), not both", net.addr()),
                ));
            }
        }
        let vdev = Config::kernel_vdev_name(p.index);
        if eal.vdevs.iter().any(|v| vdev_name(v) == vdev) {
            return Err(invalid(
                "eal.vdevs",
                format!(
                    "`{vdev}` is the name rvsd gives port[{}]'s kernel interface: rename that vdev",
                    p.index
                ),
            ));
        }
        if workers > MAX_TAP_QUEUES {
            return Err(invalid(
                format!("port[{}].kernel_iface", p.index),
                format!("{workers} workers, but a kernel interface (net_tap) has at most {MAX_TAP_QUEUES} queue pairs and every worker needs its own: use at most {MAX_TAP_QUEUES} workers or no kernel interface"),
            ));
        }
    }
    for (field, burst) in
        [("to_kernel_burst", raw.to_kernel_burst), ("from_kernel_burst", raw.from_kernel_burst)]
    {
        if !(1..=MAX_BURST).contains(&burst) {
            return Err(invalid(
                format!("exception.{field}"),
                format!("{burst} packets: give 1 to {MAX_BURST} (the default 512 absorbs a short burst)"),
            ));
        }
    }
    if !POLL_US.contains(&raw.poll_us) {
        return Err(invalid(
            "exception.poll_us",
            format!("{} µs: give {} to {} (each poll of a kernel interface is a system call; 100 is the default)", raw.poll_us, POLL_US.start(), POLL_US.end()),
        ));
    }
    Ok(Exception {
        to_kernel_pps: raw.to_kernel_pps,
        to_kernel_burst: raw.to_kernel_burst,
        from_kernel_pps: raw.from_kernel_pps,
        from_kernel_burst: raw.from_kernel_burst,
        poll: Duration::from_micros(u64::from(raw.poll_us)),
    })
}
