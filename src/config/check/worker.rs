//! Checks of `[[worker]]`: lcores and CPUs, and that every rx queue of every port has exactly one
//! worker polling it.

use crate::config::checked::{Port, RxQueue, Worker};
use crate::config::error::{invalid, Invalid};
use crate::config::raw::RawWorker;

use super::eal::{MAX_CPU, MAX_LCORE};
use super::port::port_index;

/// Checks the workers. `busy_polling` is true when `[dataplane].idle_backoff` is absent: then two
/// workers on one CPU would starve each other.
pub(crate) fn check_workers(
    raw: Vec<RawWorker>,
    ports: &[Port],
    main_lcore: u32,
    busy_polling: bool,
) -> Result<Vec<Worker>, Invalid> {
    if raw.is_empty() {
        return Err(invalid(
            "worker",
            "no [[worker]] is defined: add one with an lcore and the rx queues it polls",
        ));
    }
    if raw.len() >= MAX_LCORE as usize {
        return Err(invalid(
            "worker",
            format!(
                "{} workers: with the main lcore that exceeds the {MAX_LCORE} lcores DPDK supports",
                raw.len()
            ),
        ));
    }
    let mut workers: Vec<Worker> = Vec::with_capacity(raw.len());
    for (i, w) in raw.into_iter().enumerate() {
        let key = |field: &str| format!("worker[{i}].{field}");
        if w.lcore >= MAX_LCORE {
            return Err(invalid(
                key("lcore"),
                format!(
                    "lcore {} is out of range: lcore ids go from 0 to {}",
                    w.lcore,
                    MAX_LCORE - 1
                ),
            ));
        }
        if w.lcore == main_lcore {
            return Err(invalid(
                key("lcore"),
                format!("lcore {} is eal.main_lcore, which runs the control plane: give the worker another lcore", w.lcore),
            ));
        }
        if let Some(other) = workers.iter().find(|o| o.lcore == w.lcore) {
            return Err(invalid(
                key("lcore"),
                format!(
                    "lcore {} is already worker[{}]: give each worker its own lcore",
                    w.lcore, other.index
                ),
            ));
        }
        let cpu = w.cpu.unwrap_or(w.lcore);
        if cpu >= MAX_CPU {
            return Err(invalid(
                key("cpu"),
                format!("CPU {cpu} is out of range: CPU numbers go from 0 to {}", MAX_CPU - 1),
            ));
        }
        if busy_polling {
            if let Some(other) = workers.iter().find(|o| o.cpu == cpu) {
                return Err(invalid(
                    key("cpu"),
                    format!(
                        "CPU {cpu} already runs worker[{}]: two busy-polling workers on one CPU starve each other; give each its own CPU, or set [dataplane].idle_backoff",
                        other.index
                    ),
                ));
            }
        }
        if w.rx.is_empty() {
            return Err(invalid(
                key("rx"),
                "the worker polls no rx queue, so it would only spin: give it at least one { port = \"...\", queue = N } or remove the worker",
            ));
        }
        let mut rx: Vec<RxQueue> = Vec::with_capacity(w.rx.len());
        for (j, q) in w.rx.into_iter().enumerate() {
            let qkey = format!("worker[{i}].rx[{j}]");
            let port = port_index(ports, &q.port, format!("{qkey}.port"))?;
            let rx_queues = ports.get(usize::from(port)).map_or(0, |p| p.rx_queues);
            if q.queue >= rx_queues {
                return Err(invalid(
                    qkey,
                    format!(
                        "port `{}` has {rx_queues} rx queue(s), numbered 0 to {}: use a smaller queue id or raise port[{port}].rx_queues",
                        q.port,
                        rx_queues.saturating_sub(1)
                    ),
                ));
            }
            let this = RxQueue { port, queue: q.queue };
            if let Some(k) = rx.iter().position(|r| *r == this) {
                return Err(invalid(
                    qkey,
                    format!(
                        "queue {} of port `{}` is already rx[{k}] of this worker",
                        q.queue, q.port
                    ),
                ));
            }
            if let Some(other) = workers.iter().find(|o| o.rx.contains(&this)) {
                return Err(invalid(
                    qkey,
                    format!(
                        "queue {} of port `{}` is already polled by worker[{}]: a queue has exactly one owner (rx queues are not shared between cores)",
                        q.queue, q.port, other.index
                    ),
                ));
            }
            rx.push(this);
        }
        let index = i as u16; // i < MAX_LCORE
        workers.push(Worker { index, lcore: w.lcore, cpu, rx, tx_queue: index });
    }
    for port in ports {
        for queue in 0..port.rx_queues {
            let this = RxQueue { port: port.index, queue };
            if !workers.iter().any(|w| w.rx.contains(&this)) {
                return Err(invalid(
                    format!("port[{}].rx_queues", port.index),
                    format!(
                        "queue {queue} of port `{}` is polled by no worker, so the packets RSS puts there would never be read: add {{ port = \"{}\", queue = {queue} }} to a worker's rx, or lower rx_queues",
                        port.name, port.name
                    ),
                ));
            }
        }
    }
    Ok(workers)
}
