//! Port counters read by port id, for readers that do not own the port (the metrics exporter).
//!
//! `rte_eth_stats_get` only reads the driver's counters, so any thread may call it while the
//! port's owner runs its queues.

use super::error::DpdkError;
use super::port::{Link, Port, PortStats};

impl Port {
    /// The port's basic counters.
    pub fn stats(self) -> Result<PortStats, DpdkError> {
        let mut s = dpdk_sys::rte_eth_stats::default();
        // SAFETY: `s` is a valid out-struct of the layout bindgen checked; the id was validated
        // when this handle was made.
        let ret = unsafe { dpdk_sys::rte_eth_stats_get(self.id(), &mut s) };
        if ret != 0 {
            return Err(DpdkError::port(self.id(), "rte_eth_stats_get", ret));
        }
        Ok(PortStats {
            ipackets: s.ipackets,
            opackets: s.opackets,
            ibytes: s.ibytes,
            obytes: s.obytes,
            imissed: s.imissed,
            ierrors: s.ierrors,
            oerrors: s.oerrors,
            rx_nombuf: s.rx_nombuf,
        })
    }

    /// Link state, without waiting (any thread may read it while the owner runs its queues).
    pub fn link_nowait(self) -> Result<Link, DpdkError> {
        let mut link = dpdk_sys::rte_eth_link::default();
        // SAFETY: `link` is a valid out-struct; the id was validated when this handle was made.
        let ret = unsafe { dpdk_sys::rte_eth_link_get_nowait(self.id(), &mut link) };
        if ret != 0 {
            return Err(DpdkError::port(self.id(), "rte_eth_link_get_nowait", ret));
        }
        Ok(Link {
            up: u32::from(link.link_status()) == dpdk_sys::RTE_ETH_LINK_UP,
            speed_mbps: if link.link_speed == u32::MAX { 0 } else { link.link_speed },
            full_duplex: u32::from(link.link_duplex()) == dpdk_sys::RTE_ETH_LINK_FULL_DUPLEX,
        })
    }
}
