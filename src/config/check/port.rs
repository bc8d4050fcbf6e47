//! Checks of `[[port]]`: names, devices, queue and descriptor counts, MTU, MAC override.

use crate::config::checked::{Device, Eal, Port};
use crate::config::error::{invalid, Invalid};
use crate::config::ip::{format_mac, is_unicast_mac, parse_mac};
use crate::config::raw::RawPort;

use super::eal::{parse_pci, vdev_name};

/// Ports one EAL handles (`RTE_MAX_ETHPORTS`).
pub(crate) const MAX_PORTS: usize = 32;
/// Queues per direction per port (`RTE_MAX_QUEUES_PER_PORT`).
const MAX_QUEUES: u16 = 1024;
const DESC_RANGE: core::ops::RangeInclusive<u16> = 32..=32768;
const MTU_RANGE: core::ops::RangeInclusive<u16> = 68..=9216;

/// Checks the ports; `workers` is the number of `[[worker]]` entries, which is the number of tx
/// queues every port needs (worker `i` sends on queue `i` of every port).
pub(crate) fn check_ports(
    raw: Vec<RawPort>,
    eal: &Eal,
    workers: usize,
) -> Result<Vec<Port>, Invalid> {
    if raw.is_empty() {
        return Err(invalid("port", "no [[port]] is defined: add one with a name and a device"));
    }
    if raw.len() > MAX_PORTS {
        return Err(invalid(
            "port",
            format!("{} ports are defined; DPDK handles at most {MAX_PORTS}", raw.len()),
        ));
    }
    let mut ports: Vec<Port> = Vec::with_capacity(raw.len());
    for (i, p) in raw.into_iter().enumerate() {
        let key = |field: &str| format!("port[{i}].{field}");
        if p.name.is_empty()
            || p.name.len() > 32
            || !p
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        {
            return Err(invalid(
                key("name"),
                format!(
                    "`{}` is not a usable port name: use 1-32 letters, digits, `-`, `_` or `.`",
                    p.name
                ),
            ));
        }
        if let Some(other) = ports.iter().find(|q| q.name == p.name) {
            return Err(invalid(
                key("name"),
                format!(
                    "port name `{}` is already used by port[{}]: give each port its own name",
                    p.name, other.index
                ),
            ));
        }
        let device = resolve_device(&p.device, eal).map_err(|msg| invalid(key("device"), msg))?;
        if let Some(other) = ports.iter().find(|q| q.device == device) {
            return Err(invalid(
                key("device"),
                format!("device `{}` is already port[{}] (`{}`): one device is one port; use more queues for more workers", device.name(), other.index, other.name),
            ));
        }
        if !(1..=MAX_QUEUES).contains(&p.rx_queues) {
            return Err(invalid(
                key("rx_queues"),
                format!("{} rx queues: give 1 to {MAX_QUEUES}", p.rx_queues),
            ));
        }
        let needed_tx = u16::try_from(workers.max(1)).unwrap_or(u16::MAX);
        let tx_queues = p.tx_queues.unwrap_or(needed_tx);
        if !(1..=MAX_QUEUES).contains(&tx_queues) {
            return Err(invalid(key("tx_queues"), format!("{tx_queues} tx queues: give 1 to {MAX_QUEUES}, or remove the key for one per worker")));
        }
        if tx_queues < needed_tx {
            return Err(invalid(
                key("tx_queues"),
                format!(
                    "{tx_queues} tx queues for {workers} workers: each worker sends on its own tx queue of every port (worker[i] uses queue i, so no two cores share a queue and no lock is needed); set tx_queues = {workers} or remove the key"
                ),
            ));
        }
        for (field, desc) in [("rx_desc", p.rx_desc), ("tx_desc", p.tx_desc)] {
            if !DESC_RANGE.contains(&desc) {
                return Err(invalid(
                    key(field),
                    format!(
                        "{desc} descriptors: give {} to {} (1024 or 2048 suit most NICs)",
                        DESC_RANGE.start(),
                        DESC_RANGE.end()
                    ),
                ));
            }
        }
        if !MTU_RANGE.contains(&p.mtu) {
            return Err(invalid(
                key("mtu"),
                format!("MTU {}: give {} (the IPv4 minimum) to {} (jumbo frames); 1500 is standard Ethernet", p.mtu, MTU_RANGE.start(), MTU_RANGE.end()),
            ));
        }
        let mac = match p.mac.as_deref() {
            None => None,
            Some(text) => {
                let Some(mac) = parse_mac(text) else {
                    return Err(invalid(key("mac"), format!("`{text}` is not a MAC address: write six hex bytes with colons, for example 02:00:00:00:00:01")));
                };
                if !is_unicast_mac(&mac) {
                    return Err(invalid(
                        key("mac"),
                        format!("{} is not a unicast address (all zero, or the group bit of the first byte is set): pick one like 02:00:00:00:00:01", format_mac(&mac)),
                    ));
                }
                Some(mac)
            }
        };
        ports.push(Port {
            index: i as u16, // i < MAX_PORTS
            name: p.name,
            device,
            rx_queues: p.rx_queues,
            tx_queues,
            rx_desc: p.rx_desc,
            tx_desc: p.tx_desc,
            mtu: p.mtu,
            mac,
            promiscuous: p.promiscuous,
            kernel: super::exception::kernel_iface(p.kernel_iface, p.kernel_addrs, i, &ports)?,
        });
    }
    Ok(ports)
}

/// A port's device: a PCI address EAL will probe, or the name of one of `eal.vdevs`.
fn resolve_device(text: &str, eal: &Eal) -> Result<Device, String> {
    if let Some(addr) = parse_pci(text) {
        if eal.no_pci {
            return Err(format!("`{text}` is a PCI device but eal.no_pci = true: set no_pci = false and list it in eal.allow"));
        }
        if !eal.allow.is_empty() && !eal.allow.iter().any(|a| vdev_name(a) == addr) {
            return Err(format!("PCI device {addr} is not in eal.allow, so EAL will not probe it: add \"{addr}\" to eal.allow"));
        }
        return Ok(Device::Pci(addr));
    }
    if eal.vdevs.iter().any(|v| vdev_name(v) == text) {
        return Ok(Device::Vdev(text.to_owned()));
    }
    let names: Vec<&str> = eal.vdevs.iter().map(|v| vdev_name(v)).collect();
    Err(if names.is_empty() {
        format!("`{text}` is neither a PCI address (0000:3b:00.0) nor a virtual device: add it to eal.vdevs, for example \"{text},iface=eth0\"")
    } else {
        format!("`{text}` is neither a PCI address (0000:3b:00.0) nor one of eal.vdevs ({}): use one of those names or add the device to eal.vdevs", names.join(", "))
    })
}

/// The index of the port called `name`, or an error at `key` listing the ports there are.
pub(crate) fn port_index(ports: &[Port], name: &str, key: String) -> Result<u16, Invalid> {
    match ports.iter().find(|p| p.name == name) {
        Some(p) => Ok(p.index),
        None => {
            let names: Vec<&str> = ports.iter().map(|p| p.name.as_str()).collect();
            Err(invalid(
                key,
                format!("there is no [[port]] named `{name}`: use one of {}", names.join(", ")),
            ))
        }
    }
}
