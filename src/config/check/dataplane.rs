//! Checks of `[dataplane]` (burst, packet pool sizing, idle backoff), `[neigh]`, `[ctrl]` and
//! `[metrics]`.

use core::time::Duration;
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::config::checked::{
    Ctrl, Dataplane, IdleBackoff, LocalPortStart, Metrics, NeighParams, Port, TxChecksumOffload,
};
use crate::config::error::{invalid, Invalid};
use crate::config::raw::{RawCtrl, RawDataplane, RawMetrics, RawNeigh};

/// The worker's batches hold 32 packets (`dpdk::BURST_SIZE`).
const MAX_BURST: u16 = 32;
/// `RTE_MEMPOOL_CACHE_MAX_SIZE`.
const MAX_MBUF_CACHE: u32 = 512;
const MAX_SLEEP_US: u32 = 100_000;
const MAX_NEIGH_ENTRIES: u32 = 1 << 24;
/// `sizeof(sockaddr_un.sun_path)` minus the terminating NUL.
const MAX_SOCKET_PATH: usize = 107;
/// Smallest connection table a worker may have.
const MIN_CONNS: u32 = 64;
/// Largest connection table a worker may have (2^27 entries, about 16 GiB).
const MAX_CONNS: u32 = 1 << 27;

/// The smallest packet pool that cannot run dry while the director is working. Every term is an
/// upper bound on mbufs held at once by one holder:
///
/// - every rx descriptor of every queue holds an mbuf: `Σ rx_queues × rx_desc`;
/// - every tx descriptor may hold a sent mbuf not yet freed: `Σ tx_queues × tx_desc`;
/// - each worker holds one rx burst and one tx burst in flight: `workers × burst × 2`;
/// - each lcore's mempool cache (workers and main) can grow to 1.5 × its size before it flushes:
///   `(workers + 1) × ⌈1.5 × mbuf_cache⌉`;
/// - neighbour resolution holds up to `[neigh].pending_total` packets;
/// - each kernel interface: `workers × (KERNEL_QUEUE_DESC + burst)`.
pub(crate) fn min_mbufs(
    ports: &[Port],
    workers: usize,
    burst: u16,
    mbuf_cache: u32,
    pending_total: u32,
) -> u64 {
    let rings: u64 = ports
        .iter()
        .map(|p| {
            u64::from(p.rx_queues) * u64::from(p.rx_desc)
                + u64::from(p.tx_queues) * u64::from(p.tx_desc)
        })
        .sum();
    let workers = workers as u64;
    // A kernel interface: one rx queue per worker, each descriptor holding an mbuf, and each
    // worker's batch of frames waiting for it.
    let kernel: u64 = ports.iter().filter(|p| p.kernel.is_some()).count() as u64
        * workers.max(1)
        * (u64::from(crate::config::checked::KERNEL_QUEUE_DESC) + u64::from(burst));
    let rings = rings + kernel;
    let in_flight = workers * u64::from(burst) * 2;
    let caches = (workers + 1) * (u64::from(mbuf_cache) * 3).div_ceil(2);
    rings + in_flight + caches + u64::from(pending_total)
}

pub(crate) fn check_dataplane(
    raw: RawDataplane,
    ports: &[Port],
    workers: usize,
    pending_total: u32,
) -> Result<Dataplane, Invalid> {
    if !(1..=MAX_BURST).contains(&raw.burst) {
        return Err(invalid(
            "dataplane.burst",
            format!("burst {}: give 1 to {MAX_BURST} packets (a worker's batch holds {MAX_BURST}); 32 suits most NICs", raw.burst),
        ));
    }
    if raw.mbuf_cache > MAX_MBUF_CACHE {
        return Err(invalid("dataplane.mbuf_cache", format!("cache of {}: DPDK caps a mempool's per-lcore cache at {MAX_MBUF_CACHE}; 256 is usual", raw.mbuf_cache)));
    }
    let min = min_mbufs(ports, workers, raw.burst, raw.mbuf_cache, pending_total);
    let mbufs = match raw.mbufs {
        Some(m) if u64::from(m) < min => {
            return Err(invalid(
                "dataplane.mbufs",
                format!(
                    "{m} mbufs is fewer than the {min} the rx/tx rings, bursts, lcore caches and pending neighbour packets can hold at once (the formula is in the sample configs); set at least {min}, ideally the next 2^n - 1 ({}), or remove the key to have it computed",
                    round_up_pow2_minus_1(min)
                ),
            ));
        }
        Some(m) => m,
        None => u32::try_from(round_up_pow2_minus_1(min)).map_err(|_| {
            invalid("dataplane.mbufs", format!("the ports and workers need {min} mbufs, more than a pool can hold: use fewer or shorter queues"))
        })?,
    };
    // DPDK also wants mbufs >= 1.5 x mbuf_cache; the caches term of the minimum implies it.
    let idle_backoff = match raw.idle_backoff {
        None => None,
        Some(b) => {
            if b.empty_polls == 0 {
                return Err(invalid("dataplane.idle_backoff.empty_polls", "0 would sleep after every poll: give a count such as 64, or remove idle_backoff for busy polling"));
            }
            if !(1..=MAX_SLEEP_US).contains(&b.sleep_us) {
                return Err(invalid(
                    "dataplane.idle_backoff.sleep_us",
                    format!("{} µs: give 1 to {MAX_SLEEP_US}; a long sleep is added to the latency of the first packet after a quiet spell", b.sleep_us),
                ));
            }
            let max = b.max_sleep_us.unwrap_or(b.sleep_us);
            if !(b.sleep_us..=MAX_SLEEP_US).contains(&max) {
                return Err(invalid(
                    "dataplane.idle_backoff.max_sleep_us",
                    format!("{max} µs: give {} to {MAX_SLEEP_US} (at least sleep_us); it bounds the latency of the first packet after a quiet spell", b.sleep_us),
                ));
            }
            Some(IdleBackoff {
                empty_polls: b.empty_polls,
                sleep: Duration::from_micros(u64::from(b.sleep_us)),
                max_sleep: Duration::from_micros(u64::from(max)),
            })
        }
    };
    if !(MIN_CONNS..=MAX_CONNS).contains(&raw.conns_per_worker) {
        return Err(invalid(
            "dataplane.conns_per_worker",
            format!(
                "{}: give {MIN_CONNS} to {MAX_CONNS} (about 128 bytes of memory each, per worker)",
                raw.conns_per_worker
            ),
        ));
    }
    let tx_checksum_offload = match raw.tx_checksum_offload.as_str() {
        "auto" => TxChecksumOffload::Auto,
        "off" => TxChecksumOffload::Off,
        other => {
            return Err(invalid(
                "dataplane.tx_checksum_offload",
                format!("\"{other}\": give \"auto\" (use the ports' checksum offloads where they have them) or \"off\""),
            ))
        }
    };
    let local_port_start = match raw.local_port_start.as_str() {
        "random" => LocalPortStart::Random,
        "first" => LocalPortStart::First,
        other => {
            return Err(invalid(
                "dataplane.local_port_start",
                format!("\"{other}\": give \"random\" (each port set starts at an offset drawn at each start) or \"first\" (at its first port, for reproducible runs)"),
            ))
        }
    };
    Ok(Dataplane {
        burst: raw.burst,
        mbufs,
        mbuf_cache: raw.mbuf_cache,
        idle_backoff,
        conns_per_worker: raw.conns_per_worker,
        tx_checksum_offload,
        local_port_start,
    })
}

/// The smallest `2^k - 1` that is at least `n` (mempools are most memory-efficient at that size).
fn round_up_pow2_minus_1(n: u64) -> u64 {
    n.saturating_add(1).checked_next_power_of_two().map_or(u64::MAX, |p| p - 1)
}

pub(crate) fn check_neigh(raw: &RawNeigh) -> Result<NeighParams, Invalid> {
    if raw.timeout_s == 0 {
        return Err(invalid(
            "neigh.timeout_s",
            "0 s would expire every entry at once: give a lifetime such as 300",
        ));
    }
    if raw.retry_ms == 0 {
        return Err(invalid(
            "neigh.retry_ms",
            "0 ms would send ARP requests back to back: give an interval such as 1000",
        ));
    }
    if raw.probes == 0 {
        return Err(invalid(
            "neigh.probes",
            "0 probes would never ask: give at least 1 (3 is usual)",
        ));
    }
    if raw.max_entries == 0 || raw.max_entries > MAX_NEIGH_ENTRIES {
        return Err(invalid(
            "neigh.max_entries",
            format!("{} entries: give 1 to {MAX_NEIGH_ENTRIES}", raw.max_entries),
        ));
    }
    let statics = raw.statics.len();
    if (raw.max_entries as usize) < statics {
        return Err(invalid(
            "neigh.max_entries",
            format!(
                "{} entries cannot hold the {statics} [[neigh.static]] entries: raise it",
                raw.max_entries
            ),
        ));
    }
    if raw.pending_per_neigh > raw.pending_total {
        return Err(invalid(
            "neigh.pending_per_neigh",
            format!(
                "{} per neighbour is more than pending_total ({}): lower it or raise pending_total",
                raw.pending_per_neigh, raw.pending_total
            ),
        ));
    }
    Ok(NeighParams {
        timeout: Duration::from_secs(u64::from(raw.timeout_s)),
        pending_per_neigh: raw.pending_per_neigh,
        pending_total: raw.pending_total,
        max_entries: raw.max_entries,
        retry: Duration::from_millis(u64::from(raw.retry_ms)),
        probes: raw.probes,
        confirm_pps: raw.confirm_pps,
    })
}

pub(crate) fn check_ctrl(raw: RawCtrl) -> Result<Ctrl, Invalid> {
    let socket = PathBuf::from(&raw.socket);
    if !socket.is_absolute() || raw.socket.ends_with('/') {
        return Err(invalid(
            "ctrl.socket",
            format!(
                "`{}` is not an absolute file path: give one such as /run/rvs/rvs.sock",
                raw.socket
            ),
        ));
    }
    if raw.socket.len() > MAX_SOCKET_PATH {
        return Err(invalid("ctrl.socket", format!("the path is {} bytes; a Unix socket path holds at most {MAX_SOCKET_PATH}: use a shorter one", raw.socket.len())));
    }
    if let Some(group) = &raw.group {
        if group.is_empty()
            || group.len() > 32
            || !group
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
        {
            return Err(invalid("ctrl.group", format!("`{group}` is not a group name: use the name from /etc/group, or remove the key for root only")));
        }
    }
    Ok(Ctrl { socket, group: raw.group })
}

pub(crate) fn check_metrics(raw: RawMetrics) -> Result<Metrics, Invalid> {
    let listen = match raw.listen {
        None => None,
        Some(text) => {
            let addr: SocketAddr = text.parse().map_err(|_| {
                invalid("metrics.listen", format!("`{text}` is not a socket address: write ip:port, for example 127.0.0.1:9100 or [::1]:9100"))
            })?;
            if addr.port() == 0 {
                return Err(invalid("metrics.listen", "port 0 would pick a random port Prometheus cannot find: give a fixed one such as 9100"));
            }
            Some(addr)
        }
    };
    Ok(Metrics { listen })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pow2_minus_1_rounding() {
        assert_eq!(round_up_pow2_minus_1(0), 0);
        assert_eq!(round_up_pow2_minus_1(1), 1);
        assert_eq!(round_up_pow2_minus_1(2), 3);
        assert_eq!(round_up_pow2_minus_1(3), 3);
        assert_eq!(round_up_pow2_minus_1(3904), 4095);
        assert_eq!(round_up_pow2_minus_1(4095), 4095);
        assert_eq!(round_up_pow2_minus_1(4096), 8191);
    }
}
