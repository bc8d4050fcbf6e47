//! The paths between worker cores: single-producer single-consumer rings per ordered pair.
//!
//! Owns the rings and what travels on them. Two kinds of traffic cross cores:
//! - **redirects**: a packet that belongs to a flow another core owns (FULLNAT/SNAT replies that
//!   RSS put on the wrong queue when the NIC cannot steer them with rte_flow);
//! - **ARP copies**: every core keeps its own neighbour table, but ARP is not spread by RSS, so
//!   the core that receives an ARP frame hands a copy to every other core, which only learns
//!   from it.
//!
//! A packet's port index travels in the mbuf's `port` field. Rings are bounded; a full ring is a
//! counted drop, never a wait. Each ring has exactly one producer core and one consumer core.

use crate::dpdk::{Consumer, DpdkError, Mbuf, MbufBatch, Producer, Ring, Single};

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
    /// Builds the crossings of `n` cores, rings of `capacity` packets each (a power of two
    /// minus nothing: DPDK rounds exact-size rings internally).
    pub fn build(n: usize, capacity: u32) -> Result<Vec<Crossing>, DpdkError> {
        let mut all: Vec<Crossing> = (0..n).map(|_| Crossing::default()).collect();
        for from in 0..n {
            for to in 0..n {
                if from == to {
                    continue;
                }
                let (rp, rc) =
                    Ring::<Mbuf>::new(&format!("rvs_rd_{from}_{to}"), capacity, None)?.split();
                let (ap, ac) =
                    Ring::<Mbuf>::new(&format!("rvs_arp_{from}_{to}"), capacity, None)?.split();
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

    /// Hands `pkt` (received on port index `port`) to `core`. Gives it back if that core is
    /// unknown or its ring is full.
    #[inline]
    pub fn redirect(&mut self, core: usize, port: u16, mut pkt: Mbuf) -> Result<(), Mbuf> {
        match self.peers.iter_mut().find(|p| p.core == core) {
            Some(p) => {
                pkt.set_port(port);
                p.redirect.enqueue(pkt)
            }
            None => Err(pkt),
        }
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

    /// Moves up to a burst of waiting packets of one kind from every other core into `batch`,
    /// calling `f` with each. Returns how many arrived.
    pub fn drain(&mut self, batch: &mut MbufBatch, mut f: impl FnMut(Arrival, u16, Mbuf)) -> usize {
        let mut n = 0;
        for link in &mut self.inbound {
            for (kind, ring) in
                [(Arrival::ArpCopy, &mut link.arp), (Arrival::Redirect, &mut link.redirect)]
            {
                if ring.dequeue_burst(batch) == 0 {
                    continue;
                }
                for pkt in batch.drain() {
                    n += 1;
                    let port = pkt.port();
                    f(kind, port, pkt);
                }
            }
        }
        n
    }
}
