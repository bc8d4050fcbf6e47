//! Ethernet ports: look-up ([`Port`]), set-up ([`PortConfig`] -> [`ConfiguredPort`]) and the
//! per-queue handles the workers poll ([`RxQueue`], [`TxQueue`]).
//!
//! Owns the port's life cycle: configure, queues, RSS, offloads, MTU, MAC, start, stop, close.
//! A port is configured once per process at a time; each queue is handed out once, to one
//! worker. The port closes when the `ConfiguredPort` and every queue handle are gone, so a
//! worker can never poll a closed port. Decisions the device forced (RSS off, offloads it
//! lacks) are reported in [`SetupReport`], never silently dropped.

use std::cell::Cell;
use std::ffi::{c_char, CStr};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::eal;
use super::error::{c_name, DpdkError};
use super::mbuf::MbufBatch;
use super::mempool::Mempool;

pub use dpdk_sys::{
    RVS_ETH_RSS_IP as RSS_IP, RVS_ETH_RSS_IPV4 as RSS_IPV4, RVS_ETH_RSS_IPV6 as RSS_IPV6,
    RVS_ETH_RSS_NONFRAG_IPV4_TCP as RSS_NONFRAG_IPV4_TCP,
    RVS_ETH_RSS_NONFRAG_IPV4_UDP as RSS_NONFRAG_IPV4_UDP,
    RVS_ETH_RSS_NONFRAG_IPV6_TCP as RSS_NONFRAG_IPV6_TCP,
    RVS_ETH_RSS_NONFRAG_IPV6_UDP as RSS_NONFRAG_IPV6_UDP, RVS_ETH_RSS_TCP as RSS_TCP,
    RVS_ETH_RSS_UDP as RSS_UDP, RVS_ETH_RX_OFFLOAD_CHECKSUM as RX_OFFLOAD_CHECKSUM,
    RVS_ETH_RX_OFFLOAD_IPV4_CKSUM as RX_OFFLOAD_IPV4_CKSUM,
    RVS_ETH_RX_OFFLOAD_RSS_HASH as RX_OFFLOAD_RSS_HASH,
    RVS_ETH_RX_OFFLOAD_SCATTER as RX_OFFLOAD_SCATTER,
    RVS_ETH_RX_OFFLOAD_TCP_CKSUM as RX_OFFLOAD_TCP_CKSUM,
    RVS_ETH_RX_OFFLOAD_UDP_CKSUM as RX_OFFLOAD_UDP_CKSUM,
    RVS_ETH_RX_OFFLOAD_VLAN_STRIP as RX_OFFLOAD_VLAN_STRIP,
    RVS_ETH_TX_OFFLOAD_IPV4_CKSUM as TX_OFFLOAD_IPV4_CKSUM,
    RVS_ETH_TX_OFFLOAD_MBUF_FAST_FREE as TX_OFFLOAD_MBUF_FAST_FREE,
    RVS_ETH_TX_OFFLOAD_MULTI_SEGS as TX_OFFLOAD_MULTI_SEGS,
    RVS_ETH_TX_OFFLOAD_TCP_CKSUM as TX_OFFLOAD_TCP_CKSUM,
    RVS_ETH_TX_OFFLOAD_TCP_TSO as TX_OFFLOAD_TCP_TSO,
    RVS_ETH_TX_OFFLOAD_UDP_CKSUM as TX_OFFLOAD_UDP_CKSUM,
    RVS_ETH_TX_OFFLOAD_VLAN_INSERT as TX_OFFLOAD_VLAN_INSERT,
};

/// Hash types rvs asks RSS for: IPv4/IPv6 addresses, and TCP/UDP ports on top.
pub const RSS_WANTED: u64 = RSS_IP | RSS_TCP | RSS_UDP;

/// Default RSS key length when the device does not state one.
const DEFAULT_RSS_KEY_LEN: usize = 40;

/// Ethernet header + CRC + one VLAN tag: bytes a frame needs beyond the MTU.
const FRAME_OVERHEAD: u32 = 14 + 4 + 4;

/// Ports currently configured by this process (one `ConfiguredPort` each).
static CONFIGURED: Mutex<[bool; dpdk_sys::RTE_MAX_ETHPORTS as usize]> =
    Mutex::new([false; dpdk_sys::RTE_MAX_ETHPORTS as usize]);

/// An ethdev port id known to DPDK (not yet configured by rvs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Port {
    id: u16,
}

/// What the device can do, from `rte_eth_dev_info_get`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevInfo {
    /// Driver name (`net_ring`, `net_ixgbe`, ...).
    pub driver: String,
    /// Most rx queues the device has.
    pub max_rx_queues: u16,
    /// Most tx queues the device has.
    pub max_tx_queues: u16,
    /// `RTE_ETH_RX_OFFLOAD_*` the device supports.
    pub rx_offload_capa: u64,
    /// `RTE_ETH_TX_OFFLOAD_*` the device supports.
    pub tx_offload_capa: u64,
    /// `RTE_ETH_RSS_*` hash types the device supports (0: no RSS).
    pub flow_type_rss_offloads: u64,
    /// RSS key size in bytes (0: not stated).
    pub hash_key_size: u8,
    /// RSS redirection table size.
    pub reta_size: u16,
    /// Smallest MTU.
    pub min_mtu: u16,
    /// Largest MTU.
    pub max_mtu: u16,
    /// Most rx descriptors per queue.
    pub rx_desc_max: u16,
    /// Most tx descriptors per queue.
    pub tx_desc_max: u16,
}

/// Link state, from `rte_eth_link_get_nowait`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    /// Whether the link is up.
    pub up: bool,
    /// Speed in Mbit/s (0 when unknown).
    pub speed_mbps: u32,
    /// Full duplex.
    pub full_duplex: bool,
}

/// Basic port counters, from `rte_eth_stats_get`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PortStats {
    /// Packets received.
    pub ipackets: u64,
    /// Packets sent.
    pub opackets: u64,
    /// Bytes received.
    pub ibytes: u64,
    /// Bytes sent.
    pub obytes: u64,
    /// Packets the NIC dropped for lack of rx descriptors.
    pub imissed: u64,
    /// Erroneous received packets.
    pub ierrors: u64,
    /// Failed transmissions.
    pub oerrors: u64,
    /// Rx mbuf allocation failures.
    pub rx_nombuf: u64,
}

/// How to set a port up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortConfig {
    /// Rx queues (one per worker that polls this port), at least 1.
    pub rx_queues: u16,
    /// Tx queues (one per worker that sends on this port), at least 1.
    pub tx_queues: u16,
    /// Rx descriptors per queue (adjusted to the device's limits).
    pub rx_desc: u16,
    /// Tx descriptors per queue (adjusted to the device's limits).
    pub tx_desc: u16,
    /// MTU to set; `None` keeps the device's.
    pub mtu: Option<u16>,
    /// MAC address to set; `None` keeps the device's.
    pub mac: Option<[u8; 6]>,
    /// Receive every frame, whatever its destination MAC.
    pub promiscuous: bool,
    /// Spread flows over the rx queues with a symmetric RSS key (needs more than one rx queue
    /// and device support; otherwise reported off in [`SetupReport::rss`]).
    pub rss: bool,
    /// `RX_OFFLOAD_*` wanted; those the device lacks are dropped and reported.
    pub rx_offloads: u64,
    /// `TX_OFFLOAD_*` wanted; those the device lacks are dropped and reported.
    pub tx_offloads: u64,
}

impl Default for PortConfig {
    fn default() -> Self {
        PortConfig {
            rx_queues: 1,
            tx_queues: 1,
            rx_desc: 1024,
            tx_desc: 1024,
            mtu: None,
            mac: None,
            promiscuous: false,
            rss: true,
            rx_offloads: 0,
            tx_offloads: 0,
        }
    }
}

/// Whether RSS is in force, and why not when it is not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RssState {
    /// Hashing on `hash_types` (`RSS_*` bits) with a symmetric key of `key_len` bytes, so both
    /// directions of a flow land on the same queue.
    Enabled {
        /// `RTE_ETH_RSS_*` bits in force.
        hash_types: u64,
        /// Key length in bytes.
        key_len: usize,
    },
    /// RSS is off.
    Disabled(&'static str),
}

/// What `configure` did beyond what was asked, for the caller to log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupReport {
    /// RSS state.
    pub rss: RssState,
    /// Rx offloads in force.
    pub rx_offloads: u64,
    /// Tx offloads in force.
    pub tx_offloads: u64,
    /// Requested rx offloads the device lacks (not enabled).
    pub rx_offloads_dropped: u64,
    /// Requested tx offloads the device lacks (not enabled).
    pub tx_offloads_dropped: u64,
    /// Rx descriptors per queue after adjustment.
    pub rx_desc: u16,
    /// Tx descriptors per queue after adjustment.
    pub tx_desc: u16,
    /// Other things the device refused that are not fatal (e.g. promiscuous mode).
    pub notes: Vec<String>,
}

/// The symmetric RSS key: a repeated 16-bit pattern makes the Toeplitz hash of (src, dst)
/// equal that of (dst, src).
pub fn symmetric_rss_key(len: usize) -> Vec<u8> {
    (0..len).map(|i| if i % 2 == 0 { 0x6d } else { 0x5a }).collect()
}

fn cstr_to_string(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: a non-null pointer DPDK returned for a C string, valid while the device exists;
    // copied out at once.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

impl Port {
    /// Ports DPDK has probed (available, not owned by another entity).
    pub fn count() -> u16 {
        // SAFETY: reads ethdev's port table.
        unsafe { dpdk_sys::rte_eth_dev_count_avail() }
    }

    /// The port named `name` (a vdev name like `net_ring0` or a PCI address).
    pub fn by_name(name: &str) -> Result<Port, DpdkError> {
        let cname = c_name("device", name, dpdk_sys::RTE_ETH_NAME_MAX_LEN as usize)
            .map_err(|_| DpdkError::NoSuchDevice { name: name.to_owned() })?;
        let mut id = 0u16;
        // SAFETY: cname is a valid C string and id a valid out-pointer for the call.
        let ret = unsafe { dpdk_sys::rte_eth_dev_get_port_by_name(cname.as_ptr(), &mut id) };
        if ret != 0 {
            return Err(DpdkError::NoSuchDevice { name: name.to_owned() });
        }
        Ok(Port { id })
    }

    /// The port with id `id`.
    pub fn by_id(id: u16) -> Result<Port, DpdkError> {
        // SAFETY: plain look-up in ethdev's port table.
        if unsafe { dpdk_sys::rte_eth_dev_is_valid_port(id) } == 0 {
            return Err(DpdkError::NoSuchPort { port: id, count: Port::count() });
        }
        Ok(Port { id })
    }

    /// The port id.
    pub fn id(self) -> u16 {
        self.id
    }

    /// The device name.
    pub fn name(self) -> Result<String, DpdkError> {
        let mut buf = [0 as c_char; dpdk_sys::RTE_ETH_NAME_MAX_LEN as usize];
        // SAFETY: buf has RTE_ETH_NAME_MAX_LEN bytes, the size the call may write.
        let ret = unsafe { dpdk_sys::rte_eth_dev_get_name_by_port(self.id, buf.as_mut_ptr()) };
        if ret != 0 {
            return Err(DpdkError::port(self.id, "rte_eth_dev_get_name_by_port", ret));
        }
        Ok(cstr_to_string(buf.as_ptr()))
    }

    /// What the device can do.
    pub fn info(self) -> Result<DevInfo, DpdkError> {
        let raw = self.raw_info()?;
        Ok(DevInfo {
            driver: cstr_to_string(raw.driver_name),
            max_rx_queues: raw.max_rx_queues,
            max_tx_queues: raw.max_tx_queues,
            rx_offload_capa: raw.rx_offload_capa,
            tx_offload_capa: raw.tx_offload_capa,
            flow_type_rss_offloads: raw.flow_type_rss_offloads,
            hash_key_size: raw.hash_key_size,
            reta_size: raw.reta_size,
            min_mtu: raw.min_mtu,
            max_mtu: raw.max_mtu,
            rx_desc_max: raw.rx_desc_lim.nb_max,
            tx_desc_max: raw.tx_desc_lim.nb_max,
        })
    }

    fn raw_info(self) -> Result<dpdk_sys::rte_eth_dev_info, DpdkError> {
        let mut raw = dpdk_sys::rte_eth_dev_info::default();
        // SAFETY: raw is a valid out-struct of the expected layout (bindgen layout tests).
        let ret = unsafe { dpdk_sys::rte_eth_dev_info_get(self.id, &mut raw) };
        if ret != 0 {
            return Err(DpdkError::port(self.id, "rte_eth_dev_info_get", ret));
        }
        Ok(raw)
    }

    /// Configures, sets up and starts the port with rx buffers from `pool`.
    ///
    /// Refuses queue counts beyond the device's maximum and an MTU outside its range or too
    /// big for the pool's buffers; RSS (symmetric key) and offloads are enabled as far as the
    /// device supports them, the rest is listed in [`ConfiguredPort::report`].
    pub fn configure(self, cfg: &PortConfig, pool: &Mempool) -> Result<ConfiguredPort, DpdkError> {
        let id = self.id;
        let raw = self.raw_info()?;
        let info = self.info()?;
        let bad = |reason: String| DpdkError::BadPortConfig { port: id, reason };

        if cfg.rx_queues == 0 || cfg.tx_queues == 0 {
            return Err(bad("a port needs at least one rx and one tx queue".into()));
        }
        for (dir, requested, max) in
            [("rx", cfg.rx_queues, raw.max_rx_queues), ("tx", cfg.tx_queues, raw.max_tx_queues)]
        {
            if requested > max {
                return Err(DpdkError::TooManyQueues {
                    port: id,
                    driver: info.driver.clone(),
                    dir,
                    requested,
                    max,
                });
            }
        }

        let mut conf = dpdk_sys::rte_eth_conf::default();
        let mut notes = Vec::new();

        // RSS with a symmetric key, on the hash types the device supports.
        let mut key = Vec::new();
        let rss = if !cfg.rss {
            RssState::Disabled("not requested")
        } else if cfg.rx_queues < 2 {
            RssState::Disabled("one rx queue")
        } else if raw.flow_type_rss_offloads & RSS_WANTED == 0 {
            RssState::Disabled("the device has no RSS for IP/TCP/UDP")
        } else {
            let hash_types = raw.flow_type_rss_offloads & RSS_WANTED;
            let key_len = match usize::from(raw.hash_key_size) {
                0 => DEFAULT_RSS_KEY_LEN,
                n => n,
            };
            key = symmetric_rss_key(key_len);
            conf.rxmode.mq_mode = dpdk_sys::rte_eth_rx_mq_mode_RTE_ETH_MQ_RX_RSS;
            let rss_conf = &mut conf.rx_adv_conf.rss_conf;
            rss_conf.rss_key = key.as_mut_ptr();
            rss_conf.rss_key_len = key_len as u8;
            rss_conf.rss_hf = hash_types;
            RssState::Enabled { hash_types, key_len }
        };

        let mut rx_wanted = cfg.rx_offloads;
        if matches!(rss, RssState::Enabled { .. }) {
            // The hash lands in the mbuf when the device offers it; not an explicit request.
            rx_wanted |= RX_OFFLOAD_RSS_HASH & raw.rx_offload_capa;
        }
        let rx_offloads = rx_wanted & raw.rx_offload_capa;
        let tx_offloads = cfg.tx_offloads & raw.tx_offload_capa;
        conf.rxmode.offloads = rx_offloads;
        conf.txmode.offloads = tx_offloads;

        if let Some(mtu) = cfg.mtu {
            if mtu < raw.min_mtu || mtu > raw.max_mtu {
                return Err(bad(format!(
                    "MTU {mtu} is outside what {} accepts ({}..={})",
                    info.driver, raw.min_mtu, raw.max_mtu
                )));
            }
            // SAFETY: the pool is alive (borrowed) and is a pktmbuf pool.
            let room = unsafe { dpdk_sys::rte_pktmbuf_data_room_size(pool.as_ptr()) };
            let usable = u32::from(room).saturating_sub(dpdk_sys::RTE_PKTMBUF_HEADROOM);
            if u32::from(mtu) + FRAME_OVERHEAD > usable && rx_offloads & RX_OFFLOAD_SCATTER == 0 {
                return Err(bad(format!(
                    "MTU {mtu} needs {} bytes per mbuf but pool '{}' has {usable} after headroom: \
                     raise the pool's data room or lower the MTU",
                    u32::from(mtu) + FRAME_OVERHEAD,
                    pool.name()
                )));
            }
            conf.rxmode.mtu = u32::from(mtu);
        }

        let mut claim = CONFIGURED.lock().unwrap_or_else(|e| e.into_inner());
        let slot =
            claim.get_mut(usize::from(id)).ok_or_else(|| bad("port id out of range".into()))?;
        if *slot {
            return Err(DpdkError::PortInUse { port: id, reason: "already configured".into() });
        }

        // SAFETY: conf is fully initialised; the RSS key it points to (key) lives until after
        // the call, which copies it.
        let ret =
            unsafe { dpdk_sys::rte_eth_dev_configure(id, cfg.rx_queues, cfg.tx_queues, &conf) };
        drop(key);
        if ret != 0 {
            return Err(DpdkError::port(id, "rte_eth_dev_configure", ret));
        }

        let (mut rx_desc, mut tx_desc) = (cfg.rx_desc, cfg.tx_desc);
        // SAFETY: valid out-pointers to two u16.
        let ret =
            unsafe { dpdk_sys::rte_eth_dev_adjust_nb_rx_tx_desc(id, &mut rx_desc, &mut tx_desc) };
        if ret != 0 {
            return Err(DpdkError::port(id, "rte_eth_dev_adjust_nb_rx_tx_desc", ret));
        }

        // SAFETY: plain query.
        let socket = match unsafe { dpdk_sys::rte_eth_dev_socket_id(id) } {
            s if s < 0 => dpdk_sys::SOCKET_ID_ANY as u32,
            s => s as u32,
        };
        let mut rxconf = raw.default_rxconf;
        rxconf.offloads = rx_offloads;
        for q in 0..cfg.rx_queues {
            // SAFETY: rxconf is a valid config; the pool outlives the port because the port
            // keeps a clone of it (PortShared::_pool).
            let ret = unsafe {
                dpdk_sys::rte_eth_rx_queue_setup(id, q, rx_desc, socket, &rxconf, pool.as_ptr())
            };
            if ret != 0 {
                return Err(DpdkError::port(id, "rte_eth_rx_queue_setup", ret));
            }
        }
        let mut txconf = raw.default_txconf;
        txconf.offloads = tx_offloads;
        for q in 0..cfg.tx_queues {
            // SAFETY: txconf is a valid config for the call.
            let ret = unsafe { dpdk_sys::rte_eth_tx_queue_setup(id, q, tx_desc, socket, &txconf) };
            if ret != 0 {
                return Err(DpdkError::port(id, "rte_eth_tx_queue_setup", ret));
            }
        }

        if let Some(mac) = cfg.mac {
            let mut addr = dpdk_sys::rte_ether_addr { addr_bytes: mac };
            // SAFETY: addr is a valid rte_ether_addr for the call.
            let ret = unsafe { dpdk_sys::rte_eth_dev_default_mac_addr_set(id, &mut addr) };
            if ret != 0 {
                return Err(DpdkError::port(id, "rte_eth_dev_default_mac_addr_set", ret));
            }
        }

        // SAFETY: the port is configured with all its queues set up.
        let ret = unsafe { dpdk_sys::rte_eth_dev_start(id) };
        if ret != 0 {
            return Err(DpdkError::port(id, "rte_eth_dev_start", ret));
        }

        // SAFETY: plain calls on a started port.
        let ret = unsafe {
            if cfg.promiscuous {
                dpdk_sys::rte_eth_promiscuous_enable(id)
            } else {
                dpdk_sys::rte_eth_promiscuous_disable(id)
            }
        };
        if ret != 0 {
            notes.push(format!(
                "promiscuous {} refused: {}",
                if cfg.promiscuous { "on" } else { "off" },
                super::error::Errno::new(ret)
            ));
        }

        *slot = true;
        drop(claim);
        eal::retain_object();
        let report = SetupReport {
            rss,
            rx_offloads,
            tx_offloads,
            rx_offloads_dropped: cfg.rx_offloads & !raw.rx_offload_capa,
            tx_offloads_dropped: cfg.tx_offloads & !raw.tx_offload_capa,
            rx_desc,
            tx_desc,
            notes,
        };
        Ok(ConfiguredPort {
            shared: Arc::new(PortShared {
                id,
                started: AtomicBool::new(true),
                _pool: pool.clone(),
            }),
            rx_given: vec![false; usize::from(cfg.rx_queues)],
            tx_given: vec![false; usize::from(cfg.tx_queues)],
            info,
            report,
        })
    }
}

/// State shared by a configured port and its queue handles; closes the port when the last
/// of them goes.
pub(crate) struct PortShared {
    id: u16,
    started: AtomicBool,
    /// Rx descriptors hold mbufs of this pool until the port closes.
    _pool: Mempool,
}

impl Drop for PortShared {
    fn drop(&mut self) {
        // SAFETY: no queue handle is left (this is the last Arc), so nothing polls the port.
        unsafe {
            if self.started.load(Ordering::Acquire) {
                dpdk_sys::rte_eth_dev_stop(self.id);
            }
            dpdk_sys::rte_eth_dev_close(self.id);
        }
        let mut claim = CONFIGURED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(slot) = claim.get_mut(usize::from(self.id)) {
            *slot = false;
        }
        eal::release_object();
    }
}

/// A started port. Hands out each queue once; closes the port when it and every queue
/// handle are dropped.
pub struct ConfiguredPort {
    shared: Arc<PortShared>,
    rx_given: Vec<bool>,
    tx_given: Vec<bool>,
    info: DevInfo,
    report: SetupReport,
}

impl std::fmt::Debug for ConfiguredPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfiguredPort")
            .field("id", &self.shared.id)
            .field("driver", &self.info.driver)
            .field("report", &self.report)
            .finish()
    }
}

impl ConfiguredPort {
    /// The port id.
    pub fn id(&self) -> u16 {
        self.shared.id
    }

    /// A reference that keeps the port open (for flow rules).
    pub(crate) fn keep_open(&self) -> Arc<PortShared> {
        Arc::clone(&self.shared)
    }

    /// What the device can do.
    pub fn info(&self) -> &DevInfo {
        &self.info
    }

    /// What `configure` decided (RSS, offloads, descriptors, refusals).
    pub fn report(&self) -> &SetupReport {
        &self.report
    }

    /// The port's MAC address.
    pub fn mac(&self) -> Result<[u8; 6], DpdkError> {
        let mut addr = dpdk_sys::rte_ether_addr::default();
        // SAFETY: addr is a valid out-struct.
        let ret = unsafe { dpdk_sys::rte_eth_macaddr_get(self.id(), &mut addr) };
        if ret != 0 {
            return Err(DpdkError::port(self.id(), "rte_eth_macaddr_get", ret));
        }
        Ok(addr.addr_bytes)
    }

    /// The port's MTU.
    pub fn mtu(&self) -> Result<u16, DpdkError> {
        let mut mtu = 0u16;
        // SAFETY: mtu is a valid out-pointer.
        let ret = unsafe { dpdk_sys::rte_eth_dev_get_mtu(self.id(), &mut mtu) };
        if ret != 0 {
            return Err(DpdkError::port(self.id(), "rte_eth_dev_get_mtu", ret));
        }
        Ok(mtu)
    }

    /// Link state, without waiting.
    pub fn link(&self) -> Result<Link, DpdkError> {
        let mut link = dpdk_sys::rte_eth_link::default();
        // SAFETY: link is a valid out-struct.
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

    /// Port counters.
    pub fn stats(&self) -> Result<PortStats, DpdkError> {
        let mut s = dpdk_sys::rte_eth_stats::default();
        // SAFETY: s is a valid out-struct.
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

    /// Extended counters by name, as the driver names them.
    pub fn xstats(&self) -> Result<Vec<(String, u64)>, DpdkError> {
        let id = self.id();
        // SAFETY: a NULL array with size 0 asks for the count only.
        let n = unsafe { dpdk_sys::rte_eth_xstats_get_names(id, std::ptr::null_mut(), 0) };
        if n < 0 {
            return Err(DpdkError::port(id, "rte_eth_xstats_get_names", n));
        }
        let cap = n as usize;
        let mut names = vec![dpdk_sys::rte_eth_xstat_name::default(); cap];
        let mut values = vec![dpdk_sys::rte_eth_xstat::default(); cap];
        // SAFETY: names has room for n entries, as passed.
        let got = unsafe { dpdk_sys::rte_eth_xstats_get_names(id, names.as_mut_ptr(), n as u32) };
        if got < 0 || got > n {
            return Err(DpdkError::port(id, "rte_eth_xstats_get_names", got.min(-1)));
        }
        // SAFETY: values has room for n entries, as passed.
        let vals = unsafe { dpdk_sys::rte_eth_xstats_get(id, values.as_mut_ptr(), n as u32) };
        if vals < 0 || vals > n {
            return Err(DpdkError::port(id, "rte_eth_xstats_get", vals.min(-1)));
        }
        let names = &names[..got as usize];
        Ok(values[..vals as usize]
            .iter()
            .filter_map(|v| {
                let name = names.get(usize::try_from(v.id).ok()?)?;
                // The name array is NUL-terminated by DPDK; fall back to the whole array.
                let bytes: Vec<u8> =
                    name.name.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
                Some((String::from_utf8_lossy(&bytes).into_owned(), v.value))
            })
            .collect())
    }

    /// Hands out rx queue `q`, once.
    pub fn rx_queue(&mut self, q: u16) -> Result<RxQueue, DpdkError> {
        take(&mut self.rx_given, self.shared.id, "rx", q)?;
        Ok(RxQueue {
            port_id: self.shared.id,
            queue: q,
            _port: Arc::clone(&self.shared),
            _one_thread: PhantomData,
        })
    }

    /// Hands out tx queue `q`, once.
    pub fn tx_queue(&mut self, q: u16) -> Result<TxQueue, DpdkError> {
        take(&mut self.tx_given, self.shared.id, "tx", q)?;
        Ok(TxQueue {
            port_id: self.shared.id,
            queue: q,
            _port: Arc::clone(&self.shared),
            _one_thread: PhantomData,
        })
    }

    /// Stops the port (`rte_eth_dev_stop`). Refused while any queue handle is alive: join the
    /// workers and drop their queues first.
    pub fn stop(&mut self) -> Result<(), DpdkError> {
        if Arc::strong_count(&self.shared) > 1 {
            return Err(DpdkError::PortInUse {
                port: self.id(),
                reason: "cannot stop while rx/tx queue handles are alive; stop the workers first"
                    .into(),
            });
        }
        if !self.shared.started.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        // SAFETY: no queue handle exists, so nothing polls the port.
        let ret = unsafe { dpdk_sys::rte_eth_dev_stop(self.id()) };
        if ret != 0 {
            self.shared.started.store(true, Ordering::Release);
            return Err(DpdkError::port(self.id(), "rte_eth_dev_stop", ret));
        }
        Ok(())
    }

    /// Starts the port again after [`stop`](Self::stop).
    pub fn start(&mut self) -> Result<(), DpdkError> {
        if self.shared.started.load(Ordering::Acquire) {
            return Ok(());
        }
        // SAFETY: the port is configured and stopped.
        let ret = unsafe { dpdk_sys::rte_eth_dev_start(self.id()) };
        if ret != 0 {
            return Err(DpdkError::port(self.id(), "rte_eth_dev_start", ret));
        }
        self.shared.started.store(true, Ordering::Release);
        Ok(())
    }
}

fn take(given: &mut [bool], port: u16, dir: &str, q: u16) -> Result<(), DpdkError> {
    let n = given.len();
    match given.get_mut(usize::from(q)) {
        None => Err(DpdkError::PortInUse {
            port,
            reason: format!("{dir} queue {q} does not exist: the port has {n} {dir} queue(s)"),
        }),
        Some(true) => Err(DpdkError::PortInUse {
            port,
            reason: format!("{dir} queue {q} was already handed out"),
        }),
        Some(slot) => {
            *slot = true;
            Ok(())
        }
    }
}

/// One rx queue of a started port, polled by one thread. `Send`, not `Sync` or `Clone`.
pub struct RxQueue {
    port_id: u16,
    queue: u16,
    _port: Arc<PortShared>,
    _one_thread: PhantomData<Cell<()>>,
}

impl std::fmt::Debug for RxQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RxQueue(port {}, queue {})", self.port_id, self.queue)
    }
}

impl RxQueue {
    /// Port id.
    pub fn port_id(&self) -> u16 {
        self.port_id
    }

    /// Queue index.
    pub fn queue_id(&self) -> u16 {
        self.queue
    }

    /// Receives up to `batch.free()` packets, appended to `batch`; returns how many.
    #[inline]
    pub fn rx_burst<const N: usize>(&mut self, batch: &mut MbufBatch<N>) -> usize {
        self.rx_burst_max(batch, usize::MAX)
    }

    /// As [`RxQueue::rx_burst`], taking at most `max` packets.
    #[inline]
    pub fn rx_burst_max<const N: usize>(&mut self, batch: &mut MbufBatch<N>, max: usize) -> usize {
        let room = batch.free().min(max).min(usize::from(u16::MAX)) as u16;
        if room == 0 {
            return 0;
        }
        // SAFETY: the port is started and stays open while self holds its Arc; this queue is
        // polled only through &mut self (one thread); the batch has `room` free slots.
        let n =
            unsafe { dpdk_sys::rte_eth_rx_burst(self.port_id, self.queue, batch.free_ptr(), room) };
        let n = usize::from(n).min(usize::from(room));
        batch.commit(n);
        n
    }
}

/// One tx queue of a started port, used by one thread. `Send`, not `Sync` or `Clone`.
pub struct TxQueue {
    port_id: u16,
    queue: u16,
    _port: Arc<PortShared>,
    _one_thread: PhantomData<Cell<()>>,
}

impl std::fmt::Debug for TxQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TxQueue(port {}, queue {})", self.port_id, self.queue)
    }
}

impl TxQueue {
    /// Port id.
    pub fn port_id(&self) -> u16 {
        self.port_id
    }

    /// Queue index.
    pub fn queue_id(&self) -> u16 {
        self.queue
    }

    /// Sends the batch from the front. The mbufs the driver took leave the batch (the driver
    /// frees them once sent); the ones it did not take stay in the batch, in order, still
    /// owned: retry them or let the batch drop (which frees them). Returns how many were sent.
    #[inline]
    pub fn tx_burst<const N: usize>(&mut self, batch: &mut MbufBatch<N>) -> usize {
        let len = batch.len().min(usize::from(u16::MAX)) as u16;
        if len == 0 {
            return 0;
        }
        // SAFETY: the port is started and open (self holds its Arc); this queue is used only
        // through &mut self; the batch's first `len` slots are owned mbufs.
        let n =
            unsafe { dpdk_sys::rte_eth_tx_burst(self.port_id, self.queue, batch.held_ptr(), len) };
        let n = usize::from(n).min(usize::from(len));
        batch.consume_front(n);
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Toeplitz hash as the RSS definition states it: for every set bit of the input, XOR in
    /// the 32 key bits starting at that bit position.
    fn toeplitz(key: &[u8], input: &[u8]) -> u32 {
        let key_bit = |i: usize| (key[i / 8] >> (7 - i % 8)) & 1;
        let mut hash = 0u32;
        for (i, byte) in input.iter().enumerate() {
            for b in 0..8 {
                if byte & (0x80 >> b) != 0 {
                    let start = i * 8 + b;
                    let window =
                        (0..32).fold(0u32, |w, k| (w << 1) | u32::from(key_bit(start + k)));
                    hash ^= window;
                }
            }
        }
        hash
    }

    fn tuple(src: u32, dst: u32, sport: u16, dport: u16) -> Vec<u8> {
        [&src.to_be_bytes()[..], &dst.to_be_bytes(), &sport.to_be_bytes(), &dport.to_be_bytes()]
            .concat()
    }

    #[test]
    fn key_is_the_repeated_pattern() {
        let k = symmetric_rss_key(40);
        assert_eq!(k.len(), 40);
        assert!(k.chunks(2).all(|c| c == [0x6d, 0x5a]));
        assert_eq!(symmetric_rss_key(52).len(), 52);
    }

    #[test]
    fn a_non_symmetric_key_separates_directions() {
        // An arbitrary key without the 16-bit period: shows the property below can fail.
        let key: Vec<u8> = (0..40u8).map(|i| i.wrapping_mul(37).wrapping_add(0x6d)).collect();
        let a = toeplitz(&key, &tuple(0x0a000001, 0x0a000002, 1234, 80));
        let b = toeplitz(&key, &tuple(0x0a000002, 0x0a000001, 80, 1234));
        assert_ne!(a, b);
    }

    proptest! {
        #[test]
        fn symmetric_key_hashes_both_directions_alike(
            src: u32, dst: u32, sport: u16, dport: u16,
        ) {
            let key = symmetric_rss_key(40);
            prop_assert_eq!(
                toeplitz(&key, &tuple(src, dst, sport, dport)),
                toeplitz(&key, &tuple(dst, src, dport, sport))
            );
            prop_assert_eq!(toeplitz(&key, &tuple(src, dst, 0, 0)), toeplitz(&key, &tuple(dst, src, 0, 0)));
        }
    }
}
