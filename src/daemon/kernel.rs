//! The exception path's start-up: one kernel interface (a net_tap device) per port that has a
//! `kernel_iface`, with the port's MAC and MTU, one queue pair per worker, IPv6 off, and the
//! kernel's addresses (`kernel_addrs`) set on it.
//!
//! Owns nothing at run time: the ports it configures are kept by the [`super::Director`], their
//! queues go to the workers, and what travels on them is decided by `net` (see
//! `net::exception`). The addresses are set with iproute2's `ip`, the one tool every Linux host
//! with a network has; no socket or ioctl code of its own.

use std::process::Command;

use tracing::{info, warn};

use super::{Director, StartError};
use crate::config::{Config, KERNEL_QUEUE_DESC};
use crate::dpdk::{Mempool, Port, PortConfig};
use crate::net::{Exception, ExceptionParams, IfaceError, IfaceTable};
use crate::time;

/// `table` with every port's kernel addresses declared as the kernel's.
pub(super) fn with_kernel_addrs(table: IfaceTable, cfg: &Config) -> Result<IfaceTable, IfaceError> {
    cfg.ports().iter().try_fold(table, |t, p| match &p.kernel {
        Some(k) => {
            let ips: Vec<_> = k.addrs.iter().map(|n| n.addr()).collect();
            t.with_kernel_addrs(p.index, &ips)
        }
        None => Ok(t),
    })
}

/// One worker's exception path over the ports (indices) that have a kernel interface.
pub(super) fn exception(cfg: &Config, ports: &[u16]) -> Exception {
    let e = cfg.exception();
    let params = ExceptionParams {
        to_kernel_pps: e.to_kernel_pps,
        to_kernel_burst: e.to_kernel_burst,
        from_kernel_pps: e.from_kernel_pps,
        from_kernel_burst: e.from_kernel_burst,
        classes: cfg.exc_guard().classes,
        from_kernel_classes: cfg.exc_guard().from_kernel_classes,
    };
    Exception::new(ports, params, time::now())
}

/// Runs `ip ARGS`; the error says what failed and what to do.
fn ip(args: &[&str]) -> Result<(), StartError> {
    let out = Command::new("ip").args(args).output().map_err(|e| {
        StartError::Setup(format!(
            "cannot run `ip {}` to set up a kernel interface: {e}; install iproute2, or leave kernel_addrs empty and set the addresses yourself",
            args.join(" ")
        ))
    })?;
    if out.status.success() {
        return Ok(());
    }
    Err(StartError::Setup(format!(
        "`ip {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    )))
}

impl Director {
    /// Configures and starts the kernel interface of every port that has one (after the ports,
    /// whose MACs they take), and sets the kernel's addresses on it.
    pub(super) fn start_kernel_ifaces(
        &mut self,
        cfg: &Config,
        pool: &Mempool,
    ) -> Result<(), StartError> {
        let workers = u16::try_from(cfg.workers().len().max(1)).unwrap_or(u16::MAX);
        for p in cfg.ports() {
            let Some(k) = &p.kernel else { continue };
            let mac = self.port_mut(p.index)?.mac()?;
            let port = Port::by_name(&Config::kernel_vdev_name(p.index))?;
            let pc = PortConfig {
                rx_queues: workers,
                tx_queues: workers,
                rx_desc: KERNEL_QUEUE_DESC,
                tx_desc: KERNEL_QUEUE_DESC,
                mtu: Some(p.mtu),
                mac: Some(mac),
                promiscuous: false,
                rss: false,
                rx_offloads: 0,
                tx_offloads: 0,
            };
            let configured = port.configure(&pc, pool)?;
            // Without IPv6 addresses rvsd drops IPv6, so the kernel would send router
            // solicitations and MLD reports out of the port and never hear the answers: IPv6
            // off. With them, the exception path carries the kernel's IPv6 (its link-local
            // address, ND for it, routers' advertisements): IPv6 on.
            let v6 = format!("/proc/sys/net/ipv6/conf/{}/disable_ipv6", k.name);
            let off = if cfg.ipv6().enabled() { "0" } else { "1" };
            if let Err(e) = std::fs::write(&v6, off) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    warn!("port {}: could not write {off} to {v6}: {e}", p.name);
                }
            }
            ip(&["link", "set", "dev", &k.name, "up"])?;
            for net in &k.addrs {
                ip(&["addr", "replace", &net.to_string(), "dev", &k.name])?;
            }
            let addrs: Vec<String> = k.addrs.iter().map(|n| n.to_string()).collect();
            info!(
                "port {}: kernel interface {} (net_tap, {} queue pair(s), mac {}), kernel addresses [{}]",
                p.name,
                k.name,
                workers,
                crate::wire::MacAddr(mac),
                addrs.join(", ")
            );
            self.kernel_ports.push((p.index, configured));
        }
        Ok(())
    }
}
