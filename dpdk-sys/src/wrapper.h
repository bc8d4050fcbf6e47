/*
 * The DPDK headers the rvs bindings cover, plus what bindgen cannot see by itself:
 * the per-thread rte_errno, and the RTE_BIT64()-built flag macros as typed constants.
 */
#ifndef RVS_DPDK_WRAPPER_H
#define RVS_DPDK_WRAPPER_H

#include <stdint.h>

#include <rte_bus_vdev.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ether.h>
#include <rte_ethdev.h>
#include <rte_flow.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <rte_version.h>

/* rte_errno is a per-lcore (thread-local) macro: read it through a function. */
static inline int rvs_rte_errno(void) { return rte_errno; }
static inline void rvs_rte_errno_set(int v) { rte_errno = v; }

/* RSS hash types (rte_eth_rss_conf.rss_hf). */
static const uint64_t RVS_ETH_RSS_IPV4 = RTE_ETH_RSS_IPV4;
static const uint64_t RVS_ETH_RSS_FRAG_IPV4 = RTE_ETH_RSS_FRAG_IPV4;
static const uint64_t RVS_ETH_RSS_NONFRAG_IPV4_TCP = RTE_ETH_RSS_NONFRAG_IPV4_TCP;
static const uint64_t RVS_ETH_RSS_NONFRAG_IPV4_UDP = RTE_ETH_RSS_NONFRAG_IPV4_UDP;
static const uint64_t RVS_ETH_RSS_NONFRAG_IPV4_OTHER = RTE_ETH_RSS_NONFRAG_IPV4_OTHER;
static const uint64_t RVS_ETH_RSS_IPV6 = RTE_ETH_RSS_IPV6;
static const uint64_t RVS_ETH_RSS_FRAG_IPV6 = RTE_ETH_RSS_FRAG_IPV6;
static const uint64_t RVS_ETH_RSS_NONFRAG_IPV6_TCP = RTE_ETH_RSS_NONFRAG_IPV6_TCP;
static const uint64_t RVS_ETH_RSS_NONFRAG_IPV6_UDP = RTE_ETH_RSS_NONFRAG_IPV6_UDP;
static const uint64_t RVS_ETH_RSS_NONFRAG_IPV6_OTHER = RTE_ETH_RSS_NONFRAG_IPV6_OTHER;
static const uint64_t RVS_ETH_RSS_IP = RTE_ETH_RSS_IP;
static const uint64_t RVS_ETH_RSS_TCP = RTE_ETH_RSS_TCP;
static const uint64_t RVS_ETH_RSS_UDP = RTE_ETH_RSS_UDP;
static const uint64_t RVS_ETH_RSS_PROTO_MASK = RTE_ETH_RSS_PROTO_MASK;

/* Rx offload capabilities (rte_eth_rxmode.offloads, rte_eth_dev_info.rx_offload_capa). */
static const uint64_t RVS_ETH_RX_OFFLOAD_VLAN_STRIP = RTE_ETH_RX_OFFLOAD_VLAN_STRIP;
static const uint64_t RVS_ETH_RX_OFFLOAD_IPV4_CKSUM = RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
static const uint64_t RVS_ETH_RX_OFFLOAD_UDP_CKSUM = RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
static const uint64_t RVS_ETH_RX_OFFLOAD_TCP_CKSUM = RTE_ETH_RX_OFFLOAD_TCP_CKSUM;
static const uint64_t RVS_ETH_RX_OFFLOAD_TCP_LRO = RTE_ETH_RX_OFFLOAD_TCP_LRO;
static const uint64_t RVS_ETH_RX_OFFLOAD_OUTER_IPV4_CKSUM = RTE_ETH_RX_OFFLOAD_OUTER_IPV4_CKSUM;
static const uint64_t RVS_ETH_RX_OFFLOAD_SCATTER = RTE_ETH_RX_OFFLOAD_SCATTER;
static const uint64_t RVS_ETH_RX_OFFLOAD_KEEP_CRC = RTE_ETH_RX_OFFLOAD_KEEP_CRC;
static const uint64_t RVS_ETH_RX_OFFLOAD_OUTER_UDP_CKSUM = RTE_ETH_RX_OFFLOAD_OUTER_UDP_CKSUM;
static const uint64_t RVS_ETH_RX_OFFLOAD_RSS_HASH = RTE_ETH_RX_OFFLOAD_RSS_HASH;
static const uint64_t RVS_ETH_RX_OFFLOAD_CHECKSUM = RTE_ETH_RX_OFFLOAD_CHECKSUM;

/* Tx offload capabilities (rte_eth_txmode.offloads, rte_eth_dev_info.tx_offload_capa). */
static const uint64_t RVS_ETH_TX_OFFLOAD_VLAN_INSERT = RTE_ETH_TX_OFFLOAD_VLAN_INSERT;
static const uint64_t RVS_ETH_TX_OFFLOAD_IPV4_CKSUM = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
static const uint64_t RVS_ETH_TX_OFFLOAD_UDP_CKSUM = RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
static const uint64_t RVS_ETH_TX_OFFLOAD_TCP_CKSUM = RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
static const uint64_t RVS_ETH_TX_OFFLOAD_TCP_TSO = RTE_ETH_TX_OFFLOAD_TCP_TSO;
static const uint64_t RVS_ETH_TX_OFFLOAD_OUTER_IPV4_CKSUM = RTE_ETH_TX_OFFLOAD_OUTER_IPV4_CKSUM;
static const uint64_t RVS_ETH_TX_OFFLOAD_MT_LOCKFREE = RTE_ETH_TX_OFFLOAD_MT_LOCKFREE;
static const uint64_t RVS_ETH_TX_OFFLOAD_MULTI_SEGS = RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
static const uint64_t RVS_ETH_TX_OFFLOAD_MBUF_FAST_FREE = RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
static const uint64_t RVS_ETH_TX_OFFLOAD_OUTER_UDP_CKSUM = RTE_ETH_TX_OFFLOAD_OUTER_UDP_CKSUM;

/* Name length limits (computed from other macros), terminating NUL included. */
static const uint32_t RVS_RING_NAMESIZE = RTE_RING_NAMESIZE;
static const uint32_t RVS_MEMPOOL_NAMESIZE = RTE_MEMPOOL_NAMESIZE;

#endif
