//! FULLNAT/SNAT reply steering: rte_flow rules where the NIC takes them, the software redirect
//! over the per-core rings otherwise — decided per port at start and logged, never silently.
//!
//! Worker k owns the local ports p with `p & mask == k` (see `ipvs::laddr`). On a port whose
//! device validates `IPV4 dst / TCP|UDP dst port & mask -> QUEUE` and creates a trial rule of that
//! shape (`rvs_dpdk::flow::probe_steering`), one rule per (local address,
//! protocol, worker) sends the replies to that worker's rx queue on the port. Where it does not,
//! replies land wherever RSS puts them and the balancer hands them to their owner over the
//! rings (`dataplane::crossing`), which always stays in place as the fallback.

use crate::config::Config;
use crate::dpdk::{self, ConfiguredPort, FlowRule, FlowSupport, L4Proto, SteeringRule};
use crate::ipvs::laddr::PortOwnership;
use crate::ipvs::service::Services;
use crate::proto::net::SteeringEntry;
use std::net::Ipv4Addr;
use tracing::{info, warn};

/// The local addresses (FULLNAT laddrs and SNAT WAN addresses) that live on port `index`.
fn local_addrs_on(cfg: &Config, services: &Services, index: u16) -> Vec<Ipv4Addr> {
    let on_port = |ip: &Ipv4Addr| cfg.addrs().iter().any(|a| a.port == index && a.ip == *ip);
    let mut out: Vec<Ipv4Addr> = services
        .services()
        .iter()
        .flat_map(|s| s.laddrs.iter().copied())
        .chain(services.snat().iter().map(|r| r.out_addr))
        .filter(on_port)
        .collect();
    out.sort();
    out.dedup();
    out
}

fn entry(port: &str, mode: &str, rules: usize, detail: String) -> SteeringEntry {
    SteeringEntry { port: port.to_string(), mode: mode.to_string(), rules, detail }
}

/// Installs the rules every port can take and logs, per port, which steering is in force.
/// Returns the installed rules (dropping them removes them from the NIC) and, per port, what
/// is in force (for `rvsnet steering show`).
pub fn install(
    cfg: &Config,
    services: &Services,
    ports: &[ConfiguredPort],
) -> (Vec<FlowRule>, Vec<SteeringEntry>) {
    let mut rules = Vec::new();
    let mut shown = Vec::new();
    let n = cfg.workers().len();
    let Ok(own) = PortOwnership::new(n) else { return (rules, shown) };
    for (p, port) in cfg.ports().iter().zip(ports) {
        let laddrs = local_addrs_on(cfg, services, p.index);
        if n < 2 || laddrs.is_empty() {
            let why = format!(
                "not needed at start ({} worker(s), {} local address(es)); local addresses added later use the software redirect",
                n,
                laddrs.len()
            );
            info!("port {}: reply steering {why}", p.name);
            shown.push(entry(&p.name, "none", 0, why));
            continue;
        }
        // Each worker's first rx queue on this port.
        let queues: Option<Vec<u16>> = cfg
            .workers()
            .iter()
            .map(|w| w.rx.iter().find(|q| q.port == p.index).map(|q| q.queue))
            .collect();
        let Some(queues) = queues else {
            info!("port {}: FULLNAT/SNAT replies: software redirect (a worker has no rx queue on this port)", p.name);
            shown.push(entry(
                &p.name,
                "software",
                0,
                "a worker has no rx queue on this port".into(),
            ));
            continue;
        };
        let probe = dpdk::probe_steering(port.id(), queues.first().copied().unwrap_or(0));
        let refused = [(L4Proto::Tcp, &probe.tcp), (L4Proto::Udp, &probe.udp)]
            .into_iter()
            .find_map(|(_, s)| match s {
                FlowSupport::Unsupported(why) => Some(why.clone()),
                FlowSupport::Supported => None,
            });
        if let Some(why) = refused {
            info!("port {}: FULLNAT/SNAT replies: software redirect over per-core rings (rte_flow refused: {why})", p.name);
            shown.push(entry(&p.name, "software", 0, format!("rte_flow refused: {why}")));
            continue;
        }
        let mut installed = Vec::new();
        let mut failed = None;
        'all: for &ip in &laddrs {
            for proto in [L4Proto::Tcp, L4Proto::Udp] {
                for (k, &queue) in queues.iter().enumerate() {
                    let rule = SteeringRule {
                        dst: ip,
                        proto,
                        port_value: k as u16,
                        port_mask: own.mask(),
                        queue,
                    };
                    match dpdk::create_rule(port, rule) {
                        Ok(r) => installed.push(r),
                        Err(e) => {
                            failed = Some(e.to_string());
                            break 'all;
                        }
                    }
                }
            }
        }
        match failed {
            None => {
                info!(
                    "port {}: FULLNAT/SNAT replies: rte_flow, {} rule(s)",
                    p.name,
                    installed.len()
                );
                shown.push(entry(
                    &p.name,
                    "rte_flow",
                    installed.len(),
                    format!("{} local address(es) steered to their owner's rx queue", laddrs.len()),
                ));
                rules.extend(installed);
            }
            Some(e) => {
                // Half a rule set would steer some replies to the wrong core: take them all out.
                drop(installed);
                warn!("port {}: FULLNAT/SNAT replies: software redirect (installing rte_flow rules failed: {e})", p.name);
                shown.push(entry(
                    &p.name,
                    "software",
                    0,
                    format!("installing rte_flow rules failed: {e}"),
                ));
            }
        }
    }
    (rules, shown)
}
