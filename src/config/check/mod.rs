//! The rules: from the file as written ([`RawConfig`]) to a checked [`Config`], or the first
//! rule it breaks, with the key and the fix.
//!
//! One file per group of sections; this one runs them in dependency order (ports before what
//! refers to ports, addresses before routes and neighbours, workers before pool sizing, addresses
//! before the services and SNAT rules that must use them).

mod dataplane;
mod eal;
mod exception;
mod guard;
mod net;
mod net6;
mod port;
mod worker;

use super::error::Invalid;
use super::raw::RawConfig;
use super::services::{check_services, check_snats, fwd_method};
use super::Config;

pub(crate) use dataplane::min_mbufs;

/// Validates a parsed file.
pub(crate) fn check(raw: RawConfig) -> Result<Config, Invalid> {
    let eal = eal::check_eal(raw.eal)?;
    let ports = port::check_ports(raw.ports, &eal, raw.workers.len())?;
    let ipv6 = net6::check_ipv6(&raw.addrs, &raw.routes, &raw.neigh.statics, &raw.nd, &ports)?;
    let addrs = net::check_addrs(raw.addrs, &ports)?;
    let routes = net::check_routes(raw.routes, &ports, &addrs)?;
    let neigh = dataplane::check_neigh(&raw.neigh)?;
    let neighs = net::check_static_neighs(raw.neigh.statics, &ports, &addrs)?;
    let busy_polling = raw.dataplane.idle_backoff.is_none();
    let workers = worker::check_workers(raw.workers, &ports, eal.main_lcore, busy_polling)?;
    let dataplane =
        dataplane::check_dataplane(raw.dataplane, &ports, workers.len(), neigh.pending_total)?;
    let ctrl = dataplane::check_ctrl(raw.ctrl)?;
    let metrics = dataplane::check_metrics(raw.metrics)?;
    let health_keys: Vec<_> = raw
        .services
        .iter()
        .map(|s| (s.health(), s.dests.iter().map(|d| d.health()).collect::<Vec<_>>()))
        .collect();
    let announce = super::announce::check_announce(raw.announce, &raw.services, &ports)?;
    let services = check_services(raw.timeouts, raw.services, &addrs, &ports)?;
    let health_refs: Vec<_> =
        health_keys.iter().map(|(s, d)| (s, d.iter().collect::<Vec<_>>())).collect();
    let bfd = super::bfd::check_bfd(&raw.bfd_instances)?;
    let health = crate::config::health::check_health(&health_refs, &services, &fwd_method, bfd)?;
    let snat = check_snats(raw.snats, &addrs, &ports)?;
    let exception = exception::check_exception(raw.exception, &ports, &addrs, &eal, workers.len())?;
    let guard = guard::check_guard(&raw.guard, dataplane.conns_per_worker)?;
    let exc_guard = super::exc_guard::check_exc_guard(
        &raw.arp_limit,
        &raw.exception_classes,
        &raw.exception_classes_from_kernel,
    )?;
    let sync = super::sync::check_sync(raw.sync, &ports)?;
    Ok(Config {
        eal,
        ports,
        addrs,
        routes,
        neighs,
        workers,
        dataplane,
        neigh,
        ctrl,
        metrics,
        services,
        snat,
        health,
        exception,
        guard,
        announce,
        exc_guard,
        ipv6,
        sync,
    })
}
