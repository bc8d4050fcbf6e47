//! [`Config::eal_args`]: the EAL command line that starts DPDK the way the config says.

use super::Config;

impl Config {
    /// The arguments for `rte_eal_init`, without the program name (`argv[0]`), which the caller
    /// puts first. In order:
    ///
    /// - `--lcores main@cpu,lcore@cpu,...` (the main lcore, then every worker) and `--main-lcore`;
    /// - `--no-huge --no-shconf` when `no_huge`, and `-m MB` when `memory_mb` is set;
    /// - `--no-pci` when `no_pci`;
    /// - `--file-prefix`;
    /// - `--vdev` per `vdevs` entry, then `--vdev net_tap_rvs<i>,iface=NAME` per port with a
    ///   `kernel_iface`, `-a` per `allow` entry, `--huge-dir` when set;
    /// - `--no-telemetry` unless `telemetry`;
    /// - `extra_args`, last and verbatim.
    pub fn eal_args(&self) -> Vec<String> {
        let eal = &self.eal;
        let mut args: Vec<String> = Vec::new();
        let mut push = |a: &str, b: Option<String>| {
            args.push(a.to_owned());
            if let Some(b) = b {
                args.push(b);
            }
        };
        let lcores: Vec<String> = core::iter::once((eal.main_lcore, eal.main_cpu))
            .chain(self.workers.iter().map(|w| (w.lcore, w.cpu)))
            .map(|(lcore, cpu)| format!("{lcore}@{cpu}"))
            .collect();
        push("--lcores", Some(lcores.join(",")));
        push("--main-lcore", Some(eal.main_lcore.to_string()));
        if eal.no_huge {
            push("--no-huge", None);
            // Without hugepages there is nothing for a secondary process to attach to.
            push("--no-shconf", None);
        }
        if let Some(mb) = eal.memory_mb {
            push("-m", Some(mb.to_string()));
        }
        if eal.no_pci {
            push("--no-pci", None);
        }
        push("--file-prefix", Some(eal.file_prefix.clone()));
        for vdev in &eal.vdevs {
            push("--vdev", Some(vdev.clone()));
        }
        for p in &self.ports {
            if let Some(k) = &p.kernel {
                push(
                    "--vdev",
                    Some(format!("{},iface={}", Config::kernel_vdev_name(p.index), k.name)),
                );
            }
        }
        for dev in &eal.allow {
            push("-a", Some(dev.clone()));
        }
        if let Some(dir) = &eal.hugepage_dir {
            push("--huge-dir", Some(dir.display().to_string()));
        }
        if !eal.telemetry {
            push("--no-telemetry", None);
        }
        args.extend(eal.extra_args.iter().cloned());
        args
    }
}
