//! Checks of `[eal]`: lcore and CPU ranges, device lists, options that contradict each other.

use std::path::PathBuf;

use crate::config::checked::Eal;
use crate::config::error::{invalid, Invalid};
use crate::config::raw::RawEal;

/// Highest lcore id + 1 in the DPDK build rvs targets (`RTE_MAX_LCORE`).
pub(crate) const MAX_LCORE: u32 = 128;
/// Highest CPU number + 1 that a CPU set can hold (`CPU_SETSIZE`).
pub(crate) const MAX_CPU: u32 = 1024;

/// EAL options that [`crate::config::Config::eal_args`] writes itself; `extra_args` must not repeat them.
const MANAGED_OPTIONS: &[&str] = &[
    "-l",
    "-c",
    "--lcores",
    "--main-lcore",
    "--no-huge",
    "--no-pci",
    "-m",
    "--file-prefix",
    "--vdev",
    "-a",
    "--allow",
    "--huge-dir",
    "--no-shconf",
    "--no-telemetry",
    "--telemetry",
];

pub(crate) fn check_eal(raw: RawEal) -> Result<Eal, Invalid> {
    if raw.main_lcore >= MAX_LCORE {
        return Err(invalid(
            "eal.main_lcore",
            format!(
                "lcore {} is out of range: lcore ids go from 0 to {}",
                raw.main_lcore,
                MAX_LCORE - 1
            ),
        ));
    }
    let main_cpu = raw.main_cpu.unwrap_or(raw.main_lcore);
    if main_cpu >= MAX_CPU {
        return Err(invalid(
            "eal.main_cpu",
            format!("CPU {main_cpu} is out of range: CPU numbers go from 0 to {}", MAX_CPU - 1),
        ));
    }
    if raw.memory_mb == Some(0) {
        return Err(invalid("eal.memory_mb", "0 MB cannot hold anything: remove the key to use EAL's default, or give the size in MB"));
    }
    check_file_prefix(&raw.file_prefix)?;

    let mut vdev_names: Vec<&str> = Vec::new();
    for (i, vdev) in raw.vdevs.iter().enumerate() {
        let key = format!("eal.vdevs[{i}]");
        let name = vdev_name(vdev);
        if !is_device_name(name) {
            return Err(invalid(
                key,
                format!("`{vdev}` does not start with a device name: write `driverN,key=value,...`, for example `net_af_packet0,iface=eth0`"),
            ));
        }
        if parse_pci(name).is_some() {
            return Err(invalid(
                key,
                format!("`{name}` is a PCI address: list PCI devices in eal.allow, not eal.vdevs"),
            ));
        }
        if let Some(j) = vdev_names.iter().position(|n| *n == name) {
            return Err(invalid(key, format!("device name `{name}` is already used by eal.vdevs[{j}]: give each virtual device its own number")));
        }
        vdev_names.push(name);
    }

    if raw.no_pci && !raw.allow.is_empty() {
        return Err(invalid("eal.allow", "PCI devices are listed but eal.no_pci = true: remove the allow list or set no_pci = false"));
    }
    let mut allow: Vec<String> = Vec::with_capacity(raw.allow.len());
    for (i, entry) in raw.allow.iter().enumerate() {
        let key = format!("eal.allow[{i}]");
        let (addr, devargs) = match entry.split_once(',') {
            Some((a, d)) => (a, Some(d)),
            None => (entry.as_str(), None),
        };
        let Some(addr) = parse_pci(addr) else {
            return Err(invalid(key, format!("`{addr}` is not a PCI address: write it as `lspci -D` shows it, for example 0000:3b:00.0")));
        };
        if let Some(j) = allow.iter().position(|a| vdev_name(a) == addr) {
            return Err(invalid(key, format!("{addr} is already listed as eal.allow[{j}]")));
        }
        allow.push(match devargs {
            Some(d) => format!("{addr},{d}"),
            None => addr,
        });
    }

    let hugepage_dir = match raw.hugepage_dir {
        None => None,
        Some(_) if raw.no_huge => {
            return Err(invalid(
                "eal.hugepage_dir",
                "no_huge = true uses no hugepages: remove hugepage_dir or set no_huge = false",
            ));
        }
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if !dir.is_absolute() {
                return Err(invalid("eal.hugepage_dir", format!("`{}` is not an absolute path: give the hugetlbfs mount point, for example /dev/hugepages", dir.display())));
            }
            Some(dir)
        }
    };

    for (i, arg) in raw.extra_args.iter().enumerate() {
        if let Some(opt) = managed_option(arg) {
            return Err(invalid(
                format!("eal.extra_args[{i}]"),
                format!("`{opt}` is written from the other keys of the config (lcores from [[worker]], the rest from [eal]): remove it from extra_args and set the matching key"),
            ));
        }
    }

    Ok(Eal {
        main_lcore: raw.main_lcore,
        main_cpu,
        no_huge: raw.no_huge,
        no_pci: raw.no_pci,
        memory_mb: raw.memory_mb,
        file_prefix: raw.file_prefix,
        vdevs: raw.vdevs,
        allow,
        hugepage_dir,
        telemetry: raw.telemetry,
        extra_args: raw.extra_args,
    })
}

fn check_file_prefix(prefix: &str) -> Result<(), Invalid> {
    let ok = !prefix.is_empty()
        && prefix.len() <= 64
        && prefix.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        && !prefix.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "eal.file_prefix",
            format!("`{prefix}` is not a usable runtime file prefix: use 1-64 letters, digits, `-`, `_` or `.`, for example `rvs`"),
        ))
    }
}

/// The device name of a `--vdev`/`-a` argument: the text before the first comma.
pub(crate) fn vdev_name(arg: &str) -> &str {
    arg.split_once(',').map_or(arg, |(name, _)| name)
}

fn is_device_name(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':' || b == b'.')
}

/// The extra argument's option when it is one [`crate::config::Config::eal_args`] manages.
fn managed_option(arg: &str) -> Option<&'static str> {
    MANAGED_OPTIONS.iter().copied().find(|opt| {
        if opt.starts_with("--") {
            arg == *opt || arg.strip_prefix(opt).is_some_and(|rest| rest.starts_with('='))
        } else {
            // Short options take their value attached or separate: `-m256`, `-m 256`.
            arg.starts_with(opt)
        }
    })
}

/// Parses a PCI address, `DDDD:BB:DD.F` or `BB:DD.F` (hex), into the full lower-case form EAL
/// names the device by (`0000:3b:00.0`).
pub(crate) fn parse_pci(s: &str) -> Option<String> {
    fn hex(s: &str, max_digits: usize) -> Option<u32> {
        if s.is_empty() || s.len() > max_digits || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u32::from_str_radix(s, 16).ok()
    }
    let mut parts = s.rsplitn(3, ':');
    let dev_fn = parts.next()?;
    let bus = hex(parts.next()?, 2)?;
    let domain = match parts.next() {
        Some(d) => hex(d, 8)?,
        None => 0,
    };
    let (dev, func) = dev_fn.split_once('.')?;
    let dev = hex(dev, 2)?;
    let func = hex(func, 1)?;
    if dev > 0x1f || func > 7 {
        return None;
    }
    Some(format!("{domain:04x}:{bus:02x}:{dev:02x}.{func:x}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pci_addresses_normalise() {
        assert_eq!(parse_pci("0000:3b:00.0").as_deref(), Some("0000:3b:00.0"));
        assert_eq!(parse_pci("3B:00.1").as_deref(), Some("0000:3b:00.1"));
        assert_eq!(parse_pci("10000:01:1f.7").as_deref(), Some("10000:01:1f.7"));
        for bad in [
            "",
            "net_ring0",
            "3b:00",
            "0000:3b:20.0",
            "0000:3b:00.8",
            "0000:3b:00.0.0",
            "x:3b:00.0",
            ":3b:00.0",
            "0000:3bb:00.0",
        ] {
            assert_eq!(parse_pci(bad), None, "{bad}");
        }
    }

    #[test]
    fn managed_options_match_attached_values_only_for_their_option() {
        assert_eq!(managed_option("-m256"), Some("-m"));
        assert_eq!(managed_option("--lcores=0@0"), Some("--lcores"));
        assert_eq!(managed_option("--vdev"), Some("--vdev"));
        assert_eq!(managed_option("--log-level=8"), None);
        assert_eq!(managed_option("--no-hugepages-please"), None);
        assert_eq!(managed_option("--match-allocations"), None);
    }
}
