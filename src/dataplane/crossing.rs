//! The paths between worker cores: single-producer single-consumer rings per ordered pair.
//!
//! Owns the rings and what travels on them. Two kinds of traffic cross cores:
//! - **redirects**: a packet that belongs to a flow another core owns (FULLNAT/SNAT replies that
//!   RSS put on the wrong queue when the NIC cannot steer them with rte_flow);
//! - **ARP copies**: every core keeps its own neighbour table, but ARP is not spread by RSS, so
//!   the core that receives an ARP frame hands a copy to every other core, which only learns
//!   from it.
//!
//! A packet's port index travels in the mbuf's `port` field, and a redirected packet's checked
//! headers and owner ([`Carried`]) in the mbuf's private area, so the owner core does not parse
//! it again ([`carried`] reads them back). Rings are bounded; a full ring is a
//! counted drop (`rvs_core_redirects_lost_total`), never a wait. Each ring has exactly one
//! producer core and one consumer core.
//!
//! # Sizing
//! A redirect ring must hold what its producer pushes while the consumer is not draining: on a
//! loaded shared machine a worker thread can be off its CPU for tens of milliseconds, and a
//! NAT download redirects every data packet RSS puts on the wrong core (tens of thousands per
//! second). So redirect rings take the mbufs the pool has beyond what ports, bursts and caches
//! need ([`redirect_ring_size`]), shared out between the `n (n - 1)` rings, between
//! [`REDIRECT_RING_MIN`] and [`REDIRECT_RING_MAX`]: 4096 packets are about 100 ms of a
//! 40 000 packet/s crossing. ARP copies are rare and keep [`ARP_RING_SIZE`]. And a consumer
//! takes up to [`DRAIN_BURSTS`] bursts from each ring per poll, more than a producer can push
//! in one poll, so after a pause it catches up instead of staying full.

use crate::dataplane::pipeline::Carried;
use crate::dpdk::{Consumer, DpdkError, Mbuf, MbufBatch, Producer, Ring, Single};

/// Smallest redirect ring.
pub const REDIRECT_RING_MIN: u32 = 1024;
/// Largest redirect ring.
pub const REDIRECT_RING_MAX: u32 = 16384;
/// Packets each ARP copy ring holds (at most).
pub const ARP_RING_SIZE: u32 = 1024;
/// Bursts a consumer takes from one redirect ring per poll, at most.
pub const DRAIN_BURSTS: usize = 8;

/// Packets per redirect ring for `n_workers` workers when the packet pool has `spare_mbufs`
/// beyond its minimum (see the module documentation): the spare mbufs split between the
/// `n (n - 1)` rings, rounded down to a power of two, within [`REDIRECT_RING_MIN`] and
/// [`REDIRECT_RING_MAX`].
pub fn redirect_ring_size(spare_mbufs: u64, n_workers: usize) -> u32 {
    let rings = (n_workers as u64).saturating_mul(n_workers.saturating_sub(1) as u64).max(1);
    let share = spare_mbufs / rings;
    let pow2 = if share == 0 { 0 } else { 1u64 << (63 - share.leading_zeros()) };
    pow2.clamp(u64::from(REDIRECT_RING_MIN), u64::from(REDIRECT_RING_MAX)) as u32
}

/// Outbound ends towards one other core.
pub struct PeerLinks {
    /// The other core's index.
    pub core: usize,
    redirect: Producer<Mbuf, Single>,
    arp: Producer<Mbuf, Single>,
}

/// Inbound ends from one other core.
pub struct InboundLinks {
    redirect: Consumer<Mbuf, Single>,
    arp: Consumer<Mbuf, Single>,
}

/// One core's view of the crossings.
#[derive(Default)]
pub struct Crossing {
    peers: Vec<PeerLinks>,
    inbound: Vec<InboundLinks>,
}

/// Which inbound ring a packet came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// A redirected packet: process it as if received.
    Redirect,
    /// A copy of an ARP frame: learn from it only.
    ArpCopy,
}

impl Crossing {
    /// Builds the crossings of `n` cores: redirect rings of `capacity` packets each (exact
    /// size), ARP copy rings of `capacity` or [`ARP_RING_SIZE`], whichever is smaller.
    pub fn build(n: usize, capacity: u32) -> Result<Vec<Crossing>, DpdkError> {
        let arp_capacity = capacity.min(ARP_RING_SIZE);
        let mut all: Vec<Crossing> = (0..n).map(|_| Crossing::default()).collect();
        for from in 0..n {
            for to in 0..n {
                if from == to {
                    continue;
                }
                let (rp, rc) =
                    Ring::<Mbuf>::new(&format!("rvs_rd_{from}_{to}"), capacity, None)?.split();
                let (ap, ac) =
                    Ring::<Mbuf>::new(&format!("rvs_arp_{from}_{to}"), arp_capacity, None)?.split();
                if let Some(c) = all.get_mut(from) {
                    c.peers.push(PeerLinks { core: to, redirect: rp, arp: ap });
                }
                if let Some(c) = all.get_mut(to) {
                    c.inbound.push(InboundLinks { redirect: rc, arp: ac });
                }
            }
        }
        Ok(all)
    }

    /// Whether any other core exists.
    pub fn has_peers(&self) -> bool {
        !self.peers.is_empty()
    }

    /// Hands `pkt` (received on port index `port`) to `core` with what this core checked of
    /// it (`carried`, written to the mbuf's private area). Gives it back if that core is
    /// unknown, its ring is full, or the mbuf has no room for `carried` (not one of rvs's
    /// pools).
    #[inline]
    pub fn redirect(
        &mut self,
        core: usize,
        port: u16,
        mut pkt: Mbuf,
        carried: &Carried,
    ) -> Result<(), Mbuf> {
        let Some(p) = self.peers.iter_mut().find(|p| p.core == core) else { return Err(pkt) };
        let bytes = carried.to_bytes();
        match pkt.priv_area_mut().get_mut(..bytes.len()) {
            Some(area) => area.copy_from_slice(&bytes),
            None => return Err(pkt),
        }
        pkt.set_port(port);
        p.redirect.enqueue(pkt)
    }

    /// Sends a copy of `frame` (received on `port`) to every other core's ARP ring, with
    /// buffers from `alloc`. Returns the number of copies that could not be made or queued.
    pub fn share_arp(
        &mut self,
        port: u16,
        frame: &[u8],
        mut alloc: impl FnMut() -> Option<Mbuf>,
    ) -> u64 {
        use crate::buf::PacketBuf;
        let mut lost = 0;
        for p in &mut self.peers {
            let Some(mut copy) = alloc() else {
                lost += 1;
                continue;
            };
            match copy.append(frame.len()) {
                Ok(room) => room.copy_from_slice(frame),
                Err(_) => {
                    lost += 1;
                    continue;
                }
            }
            copy.set_port(port);
            if p.arp.enqueue(copy).is_err() {
                lost += 1;
            }
        }
        lost
    }

    /// Moves waiting packets from every other core through `batch`, calling `f` with each: a
    /// burst of ARP copies and up to [`DRAIN_BURSTS`] bursts of redirects per ring (stopping
    /// at a short burst). Returns how many arrived.
    pub fn drain(&mut self, batch: &mut MbufBatch, mut f: impl FnMut(Arrival, u16, Mbuf)) -> usize {
        let mut n = 0;
        for link in &mut self.inbound {
            for (kind, ring, bursts) in [
                (Arrival::ArpCopy, &mut link.arp, 1),
                (Arrival::Redirect, &mut link.redirect, DRAIN_BURSTS),
            ] {
                for _ in 0..bursts {
                    let got = ring.dequeue_burst(batch);
                    if got == 0 {
                        break;
                    }
                    let full = batch.is_full();
                    for pkt in batch.drain() {
                        n += 1;
                        let port = pkt.port();
                        f(kind, port, pkt);
                    }
                    if !full {
                        break;
                    }
                }
            }
        }
        n
    }
}

/// What travelled with a redirected packet (see [`Crossing::redirect`]); `None` for an mbuf
/// that was not redirected.
#[inline]
pub fn carried(pkt: &Mbuf) -> Option<Carried> {
    Carried::from_bytes(pkt.priv_area())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_rings_share_the_spare_mbufs_within_bounds() {
        // Two workers, two rings: 6000 spare mbufs give 3000 each, rounded down to 2048.
        assert_eq!(redirect_ring_size(6000, 2), 2048);
        assert_eq!(redirect_ring_size(8192, 2), 4096);
        // Few spare mbufs: never below the minimum; many: never above the maximum.
        assert_eq!(redirect_ring_size(0, 2), REDIRECT_RING_MIN);
        assert_eq!(redirect_ring_size(10_000_000, 2), REDIRECT_RING_MAX);
        // More workers, more rings to share between: 4 workers have 12.
        assert_eq!(redirect_ring_size(12 * 4096, 4), 4096);
        // One worker has no ring, and is not divided by zero.
        assert_eq!(redirect_ring_size(4096, 1), 4096);
        assert_eq!(redirect_ring_size(4096, 0), 4096);
    }
}
