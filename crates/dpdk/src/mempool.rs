//! [`Mempool`]: a pool of packet mbufs (`rte_pktmbuf_pool_create`).
//!
//! Owns the pool's lifetime. A `Mempool` is a cheap clone of one shared pool; ports keep a clone
//! for as long as their rx queues hold descriptors from it. The pool is returned to EAL when the
//! last clone drops *and* no mbuf is out; if mbufs are still out it is left allocated (and the
//! EAL cleanup skipped) rather than freed under them.

use std::ptr::NonNull;
use std::sync::Arc;

use dpdk_sys::rte_mempool;

use super::eal;
use super::error::{c_name, DpdkError, Errno};
use super::mbuf::{Mbuf, MbufBatch};

struct PoolInner {
    ptr: NonNull<rte_mempool>,
    name: String,
}

// SAFETY: mempool get/put are multi-thread safe (default MP/MC ops); the inner pointer is
// only freed in Drop, when no clone is left.
unsafe impl Send for PoolInner {}
// SAFETY: as above; shared access only reads counters or takes/puts objects atomically.
unsafe impl Sync for PoolInner {}

/// A pool of packet mbufs, shared by cheap clones.
#[derive(Clone)]
pub struct Mempool {
    inner: Arc<PoolInner>,
}

impl std::fmt::Debug for Mempool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mempool")
            .field("name", &self.inner.name)
            .field("avail", &self.avail_count())
            .field("in_use", &self.in_use_count())
            .finish()
    }
}

/// Bytes of private area every mbuf of a [`Mempool`] has between its header and its buffer
/// ([`crate::Mbuf::priv_area`]): what a packet carries across a ring to another core besides its
/// bytes (a multiple of `RTE_MBUF_PRIV_ALIGN`, 8).
pub const MBUF_PRIV_SIZE: u16 = 32;

impl Mempool {
    /// Creates a pool of `n_mbufs` mbufs, each with `data_room` bytes of buffer (headroom
    /// included: use at least `RTE_MBUF_DEFAULT_BUF_SIZE` = 2176 for 1500-byte frames) and
    /// [`MBUF_PRIV_SIZE`] bytes of private area, a per-lcore cache of `cache` mbufs, on NUMA
    /// `socket` (`None`: any). Names are unique.
    pub fn new(
        name: &str,
        n_mbufs: u32,
        cache: u32,
        data_room: u16,
        socket: Option<u32>,
    ) -> Result<Mempool, DpdkError> {
        let cname = c_name("mempool", name, dpdk_sys::RVS_MEMPOOL_NAMESIZE as usize)?;
        let socket = match socket {
            Some(s) => i32::try_from(s).unwrap_or(dpdk_sys::SOCKET_ID_ANY),
            None => dpdk_sys::SOCKET_ID_ANY,
        };
        // SAFETY: cname is a valid C string for the call; the other arguments are plain values
        // that DPDK validates (returning NULL with rte_errno on error).
        let p = unsafe {
            dpdk_sys::rte_pktmbuf_pool_create(
                cname.as_ptr(),
                n_mbufs,
                cache,
                MBUF_PRIV_SIZE,
                data_room,
                socket,
            )
        };
        let ptr = NonNull::new(p).ok_or_else(|| DpdkError::Mempool {
            name: name.to_owned(),
            n: n_mbufs,
            errno: Errno::last(),
        })?;
        eal::retain_object();
        Ok(Mempool { inner: Arc::new(PoolInner { ptr, name: name.to_owned() }) })
    }

    /// The pool's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The raw pool, for DPDK calls that take one. Still owned by `self`.
    pub fn as_ptr(&self) -> *mut rte_mempool {
        self.inner.ptr.as_ptr()
    }

    /// One mbuf, reset (empty data, default headroom), or `None` when the pool is empty.
    #[inline]
    pub fn alloc(&self) -> Option<Mbuf> {
        // SAFETY: the pool is alive (self holds it) and is a pktmbuf pool.
        let m = unsafe { dpdk_sys::rte_pktmbuf_alloc(self.as_ptr()) };
        // SAFETY: a non-null result is a fresh mbuf that nobody else owns; it comes from this
        // pool, which is documented to have to outlive it.
        NonNull::new(m).map(|p| unsafe { Mbuf::from_raw(p) })
    }

    /// Fills `n` free slots of `batch` with fresh mbufs, all or nothing. Returns false (and
    /// changes nothing) when the pool has fewer than `n` or the batch fewer free slots.
    pub fn alloc_bulk<const N: usize>(&self, batch: &mut MbufBatch<N>, n: usize) -> bool {
        if n > batch.free() {
            return false;
        }
        let Ok(count) = u32::try_from(n) else { return false };
        // SAFETY: the pool is alive; the batch has at least n free slots from free_ptr().
        let ret =
            unsafe { dpdk_sys::rte_pktmbuf_alloc_bulk(self.as_ptr(), batch.free_ptr(), count) };
        if ret != 0 {
            return false;
        }
        batch.commit(n);
        true
    }

    /// Mbufs available (in the pool and the per-lcore caches).
    pub fn avail_count(&self) -> u32 {
        // SAFETY: the pool is alive; this only reads counters.
        unsafe { dpdk_sys::rte_mempool_avail_count(self.as_ptr()) }
    }

    /// Mbufs taken out (by the application, rx descriptors or tx queues not yet cleaned).
    pub fn in_use_count(&self) -> u32 {
        // SAFETY: the pool is alive; this only reads counters.
        unsafe { dpdk_sys::rte_mempool_in_use_count(self.as_ptr()) }
    }
}

impl Drop for PoolInner {
    fn drop(&mut self) {
        // SAFETY: the pool is alive until this point; reading counters only.
        let in_use = unsafe { dpdk_sys::rte_mempool_in_use_count(self.ptr.as_ptr()) };
        if in_use != 0 {
            // Freeing now would leave those mbufs pointing at freed memory: keep the pool (and
            // its live-object mark, so EAL cleanup is skipped too).
            tracing::warn!(pool = %self.name, in_use, "mbufs still in use: mempool not freed");
            return;
        }
        // SAFETY: no clone of the pool is left and no mbuf is out, so nothing refers to it.
        unsafe { dpdk_sys::rte_mempool_free(self.ptr.as_ptr()) };
        eal::release_object();
    }
}
