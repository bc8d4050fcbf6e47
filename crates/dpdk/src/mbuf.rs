//! [`Mbuf`]: one owned single-segment `rte_mbuf`, and [`MbufBatch`]: a fixed array of them
//! for rx/tx bursts.
//!
//! Owns the per-packet ownership rules: an `Mbuf` is freed exactly once (on drop, or by the
//! driver after a successful tx), an mbuf handed to tx is gone from Rust, and whatever a batch
//! still holds when it drops goes back to its pool. Nothing here allocates; `PacketBuf` is
//! implemented on top of the `rte_pktmbuf_*` functions so `wire`/`net`/`ipvs` work on it as on
//! a `VecBuf`. Mbufs come from a [`super::Mempool`] or from an rx queue.

use std::marker::PhantomData;
use std::ptr::NonNull;

use dpdk_sys::rte_mbuf;

use rvs_core::buf::{BufError, PacketBuf};

/// One packet buffer from a DPDK mempool, owned: freed (back to its pool) on drop.
///
/// Only the first segment is visible through [`PacketBuf`]; chained (multi-segment) mbufs,
/// which a port configured without the scatter offload never produces, are reported by
/// [`Mbuf::nb_segs`] and freed whole. The pool must outlive the mbuf (see [`super::Mempool`]).
#[repr(transparent)]
pub struct Mbuf {
    ptr: NonNull<rte_mbuf>,
}

// SAFETY: an Mbuf is the only owner of its rte_mbuf; DPDK allows an mbuf to be used and freed
// on any thread (the pool's put path is multi-producer safe).
unsafe impl Send for Mbuf {}
// SAFETY: `&Mbuf` only reads the mbuf's fields and data; every mutation needs `&mut Mbuf`.
unsafe impl Sync for Mbuf {}

impl std::fmt::Debug for Mbuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mbuf")
            .field("ptr", &self.ptr)
            .field("port", &self.port())
            .field("headroom", &self.headroom())
            .field("len", &self.len())
            .field("tailroom", &self.tailroom())
            .finish()
    }
}

/// The IP (L3) header kind for transmit checksum offload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxL3 {
    /// IPv4; `cksum` asks the NIC to compute the header checksum.
    Ipv4 {
        /// Whether the NIC fills the IPv4 header checksum.
        cksum: bool,
    },
    /// IPv6 (no header checksum).
    Ipv6,
}

/// The L4 checksum the NIC should compute on transmit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxL4 {
    /// No L4 checksum offload.
    None,
    /// TCP checksum; the checksum field must hold the pseudo-header checksum.
    Tcp,
    /// UDP checksum; the checksum field must hold the pseudo-header checksum.
    Udp,
}

/// What the NIC found when it checked a received checksum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RxCksum {
    /// Not checked (no offload or not this kind of packet).
    Unknown,
    /// Checked and correct.
    Good,
    /// Checked and wrong.
    Bad,
    /// The checksum in the packet is not valid but the data is (partial checksum).
    None,
}

fn rx_cksum(flags: u64, mask: u64, good: u64, bad: u64) -> RxCksum {
    match flags & mask {
        0 => RxCksum::Unknown,
        f if f == good => RxCksum::Good,
        f if f == bad => RxCksum::Bad,
        _ => RxCksum::None,
    }
}

impl Mbuf {
    /// Takes ownership of a raw mbuf.
    ///
    /// # Safety
    /// `ptr` must point to a valid, initialised `rte_mbuf` from a pktmbuf pool (refcount 1,
    /// not attached to anything else) that nothing else owns or will free; its pool must stay
    /// alive as long as the returned `Mbuf`.
    #[inline]
    pub unsafe fn from_raw(ptr: NonNull<rte_mbuf>) -> Mbuf {
        Mbuf { ptr }
    }

    /// Gives up ownership: the caller must free the mbuf or hand it to DPDK.
    #[inline]
    pub fn into_raw(self) -> NonNull<rte_mbuf> {
        let p = self.ptr;
        std::mem::forget(self);
        p
    }

    /// The raw mbuf, still owned by `self`.
    #[inline]
    pub fn as_ptr(&self) -> *mut rte_mbuf {
        self.ptr.as_ptr()
    }

    #[inline]
    fn raw(&self) -> &rte_mbuf {
        // SAFETY: ptr is a valid mbuf owned by self (type invariant); shared access for &self.
        unsafe { self.ptr.as_ref() }
    }

    #[inline]
    fn raw_mut(&mut self) -> &mut rte_mbuf {
        // SAFETY: ptr is a valid mbuf owned by self; &mut self gives exclusive access.
        unsafe { self.ptr.as_mut() }
    }

    /// The port the packet arrived on (or the one set for tx).
    #[inline]
    pub fn port(&self) -> u16 {
        self.raw().port
    }

    /// Sets the port field.
    #[inline]
    pub fn set_port(&mut self, port: u16) {
        self.raw_mut().port = port;
    }

    /// The mbuf's private area: the pool's `priv_size` bytes between the mbuf header and its
    /// buffer (`rte_mbuf_to_priv`), [`crate::mempool::MBUF_PRIV_SIZE`] for rvs's pools. It
    /// belongs to whoever owns the mbuf; DPDK never reads or writes it.
    #[inline]
    pub fn priv_area(&self) -> &[u8] {
        let m = self.ptr.as_ptr();
        let len = usize::from(self.raw().priv_size);
        // SAFETY: the pool lays out `priv_size` bytes right after each `rte_mbuf` header
        // (rte_pktmbuf_pool_create / rte_mbuf_to_priv); the mbuf is valid and owned by self,
        // and the slice lives no longer than the borrow of self.
        unsafe {
            std::slice::from_raw_parts(m.cast::<u8>().add(std::mem::size_of::<rte_mbuf>()), len)
        }
    }

    /// The private area, writable (see [`Mbuf::priv_area`]).
    #[inline]
    pub fn priv_area_mut(&mut self) -> &mut [u8] {
        let m = self.ptr.as_ptr();
        let len = usize::from(self.raw().priv_size);
        // SAFETY: as for `priv_area`; `&mut self` gives exclusive access to the mbuf and so to
        // its private area.
        unsafe {
            std::slice::from_raw_parts_mut(m.cast::<u8>().add(std::mem::size_of::<rte_mbuf>()), len)
        }
    }

    /// The RSS hash the NIC computed, if it did (`RTE_MBUF_F_RX_RSS_HASH`).
    #[inline]
    pub fn rss_hash(&self) -> Option<u32> {
        let m = self.raw();
        if m.ol_flags & u64::from(dpdk_sys::RTE_MBUF_F_RX_RSS_HASH) == 0 {
            return None;
        }
        // SAFETY: every variant of the hash union is plain integers; with the RSS flag set the
        // driver wrote `rss`.
        Some(unsafe { m.__bindgen_anon_2.hash.rss })
    }

    /// The offload flags (`RTE_MBUF_F_*`).
    #[inline]
    pub fn ol_flags(&self) -> u64 {
        self.raw().ol_flags
    }

    /// Replaces the offload flags.
    #[inline]
    pub fn set_ol_flags(&mut self, flags: u64) {
        self.raw_mut().ol_flags = flags;
    }

    /// The NIC's verdict on the received IPv4 header checksum.
    #[inline]
    pub fn rx_ip_cksum(&self) -> RxCksum {
        rx_cksum(
            self.ol_flags(),
            dpdk_sys::RTE_MBUF_F_RX_IP_CKSUM_MASK.into(),
            dpdk_sys::RTE_MBUF_F_RX_IP_CKSUM_GOOD.into(),
            dpdk_sys::RTE_MBUF_F_RX_IP_CKSUM_BAD.into(),
        )
    }

    /// The NIC's verdict on the received TCP/UDP checksum.
    #[inline]
    pub fn rx_l4_cksum(&self) -> RxCksum {
        rx_cksum(
            self.ol_flags(),
            dpdk_sys::RTE_MBUF_F_RX_L4_CKSUM_MASK.into(),
            dpdk_sys::RTE_MBUF_F_RX_L4_CKSUM_GOOD.into(),
            dpdk_sys::RTE_MBUF_F_RX_L4_CKSUM_BAD.into(),
        )
    }

    /// Asks the NIC to compute checksums on transmit: sets `l2_len`, `l3_len` and the
    /// `RTE_MBUF_F_TX_*` flags, replacing earlier tx checksum requests. The port must have the
    /// matching `RTE_ETH_TX_OFFLOAD_*_CKSUM` enabled; L4 checksum fields must hold the
    /// pseudo-header checksum. `l2_len` is at most 127, `l3_len` at most 511 (bitfield widths);
    /// larger values are refused (returns false) and leave the mbuf unchanged.
    pub fn set_tx_offload(&mut self, l2_len: u8, l3_len: u16, l3: TxL3, l4: TxL4) -> bool {
        if l2_len > 127 || l3_len > 511 {
            return false;
        }
        let m = self.raw_mut();
        let mut flags = m.ol_flags & !TX_CKSUM_FLAGS;
        flags |= match l3 {
            TxL3::Ipv4 { cksum: true } => {
                dpdk_sys::RTE_MBUF_F_TX_IPV4 | dpdk_sys::RTE_MBUF_F_TX_IP_CKSUM
            }
            TxL3::Ipv4 { cksum: false } => dpdk_sys::RTE_MBUF_F_TX_IPV4,
            TxL3::Ipv6 => dpdk_sys::RTE_MBUF_F_TX_IPV6,
        };
        flags |= match l4 {
            TxL4::None => 0,
            TxL4::Tcp => dpdk_sys::RTE_MBUF_F_TX_TCP_CKSUM,
            TxL4::Udp => dpdk_sys::RTE_MBUF_F_TX_UDP_CKSUM,
        };
        m.ol_flags = flags;
        // SAFETY: the tx_offload union is a u64 overlaid by bitfields; writing the bitfields
        // through the generated setters is writing plain integer bits.
        unsafe {
            let bits = &mut m.__bindgen_anon_3.__bindgen_anon_1;
            bits.set_l2_len(u64::from(l2_len));
            bits.set_l3_len(u64::from(l3_len));
        }
        true
    }

    /// Clears every transmit checksum request.
    pub fn clear_tx_offload(&mut self) {
        let m = self.raw_mut();
        m.ol_flags &= !TX_CKSUM_FLAGS;
    }

    /// The `(l2_len, l3_len)` recorded for transmit offloads.
    pub fn tx_offload_lens(&self) -> (u8, u16) {
        // SAFETY: reading plain integer bits of the tx_offload union.
        let bits = unsafe { self.raw().__bindgen_anon_3.__bindgen_anon_1 };
        // The bitfields are 7 and 9 bits wide, so the casts are lossless.
        (bits.l2_len() as u8, bits.l3_len() as u16)
    }

    /// Number of segments in the chain (1 for everything rvs builds).
    #[inline]
    pub fn nb_segs(&self) -> u16 {
        self.raw().nb_segs
    }

    /// Total packet length over all segments.
    #[inline]
    pub fn pkt_len(&self) -> u32 {
        self.raw().pkt_len
    }

    /// Length of the buffer behind the data (headroom + data + tailroom).
    #[inline]
    pub fn buf_len(&self) -> u16 {
        self.raw().buf_len
    }
}

const TX_CKSUM_FLAGS: u64 = dpdk_sys::RTE_MBUF_F_TX_IPV4
    | dpdk_sys::RTE_MBUF_F_TX_IPV6
    | dpdk_sys::RTE_MBUF_F_TX_IP_CKSUM
    | dpdk_sys::RTE_MBUF_F_TX_L4_MASK;

impl Drop for Mbuf {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: self owns the mbuf (type invariant) and it is not used again.
        unsafe { dpdk_sys::rte_pktmbuf_free(self.ptr.as_ptr()) }
    }
}

impl PacketBuf for Mbuf {
    /// Marks with `RTE_MBUF_F_TX_IPV4` (no checksum flag) and `l2_len`: the worker turns the
    /// mark into checksum requests on a port that offloads them, and clears it elsewhere.
    #[inline]
    fn want_tx_csum(&mut self, l2_len: usize) {
        if let Ok(l2) = u8::try_from(l2_len) {
            self.set_tx_offload(l2, 0, TxL3::Ipv4 { cksum: false }, TxL4::None);
        }
    }

    #[inline]
    fn tx_csum_wanted(&self) -> Option<usize> {
        if self.ol_flags() & dpdk_sys::RTE_MBUF_F_TX_IPV4 == 0 {
            return None;
        }
        Some(usize::from(self.tx_offload_lens().0))
    }

    #[inline]
    fn data(&self) -> &[u8] {
        let m = self.raw();
        // SAFETY: buf_addr + data_off .. + data_len lies inside the mbuf's buffer (DPDK keeps
        // data_off + data_len <= buf_len); self owns it, so no one writes it during &self.
        unsafe {
            std::slice::from_raw_parts(
                m.buf_addr.cast::<u8>().add(usize::from(m.data_off)),
                usize::from(m.data_len),
            )
        }
    }

    #[inline]
    fn data_mut(&mut self) -> &mut [u8] {
        let m = self.raw_mut();
        // SAFETY: as in data(); &mut self makes the access exclusive.
        unsafe {
            std::slice::from_raw_parts_mut(
                m.buf_addr.cast::<u8>().add(usize::from(m.data_off)),
                usize::from(m.data_len),
            )
        }
    }

    #[inline]
    fn headroom(&self) -> usize {
        usize::from(self.raw().data_off)
    }

    #[inline]
    fn tailroom(&self) -> usize {
        let m = self.raw();
        usize::from(m.buf_len)
            .saturating_sub(usize::from(m.data_off))
            .saturating_sub(usize::from(m.data_len))
    }

    #[inline]
    fn len(&self) -> usize {
        usize::from(self.raw().data_len)
    }

    fn prepend(&mut self, len: usize) -> Result<&mut [u8], BufError> {
        let available = self.headroom();
        if len > available {
            return Err(BufError::NoHeadroom { wanted: len, available });
        }
        // len <= data_off, a u16.
        let n = len as u16;
        // SAFETY: the mbuf is owned and exclusively borrowed; n fits the headroom, so DPDK
        // moves data_off back and returns the new start of data.
        let p = unsafe { dpdk_sys::rte_pktmbuf_prepend(self.ptr.as_ptr(), n) };
        if p.is_null() {
            return Err(BufError::NoHeadroom { wanted: len, available });
        }
        // SAFETY: p is the start of the first `len` bytes of data, inside the owned buffer.
        Ok(unsafe { std::slice::from_raw_parts_mut(p.cast::<u8>(), len) })
    }

    fn adj(&mut self, len: usize) -> Result<(), BufError> {
        let cur = self.len();
        if len > cur {
            return Err(BufError::TooShort { wanted: len, len: cur });
        }
        // SAFETY: owned, exclusive; len <= data_len (a u16), so DPDK only moves data_off.
        let p = unsafe { dpdk_sys::rte_pktmbuf_adj(self.ptr.as_ptr(), len as u16) };
        if p.is_null() {
            return Err(BufError::TooShort { wanted: len, len: cur });
        }
        Ok(())
    }

    fn append(&mut self, len: usize) -> Result<&mut [u8], BufError> {
        let available = self.tailroom();
        if len > available {
            return Err(BufError::NoTailroom { wanted: len, available });
        }
        // SAFETY: owned, exclusive; len fits the tailroom (< buf_len, a u16).
        let p = unsafe { dpdk_sys::rte_pktmbuf_append(self.ptr.as_ptr(), len as u16) };
        if p.is_null() {
            return Err(BufError::NoTailroom { wanted: len, available });
        }
        // SAFETY: p is the start of the `len` bytes just added at the end of the data.
        Ok(unsafe { std::slice::from_raw_parts_mut(p.cast::<u8>(), len) })
    }

    fn trim(&mut self, len: usize) -> Result<(), BufError> {
        let cur = self.len();
        if len > cur {
            return Err(BufError::TooShort { wanted: len, len: cur });
        }
        // SAFETY: owned, exclusive; len <= data_len of the (only) segment.
        let ret = unsafe { dpdk_sys::rte_pktmbuf_trim(self.ptr.as_ptr(), len as u16) };
        if ret != 0 {
            return Err(BufError::TooShort { wanted: len, len: cur });
        }
        Ok(())
    }
}

/// Packets per burst, as the data plane uses it.
pub const BURST_SIZE: usize = 32;

/// Up to `N` owned mbufs in arrival order, in a fixed array: the unit of rx and tx.
///
/// Rx appends into the free space at the end; tx sends from the front and keeps what the
/// driver did not take; dropping the batch frees whatever it still holds. The array is raw
/// mbuf pointers so the drivers read and write it directly, without copying.
pub struct MbufBatch<const N: usize = BURST_SIZE> {
    ptrs: [*mut rte_mbuf; N],
    len: usize,
}

// SAFETY: the batch owns the mbufs its first `len` pointers name (see Mbuf's Send).
unsafe impl<const N: usize> Send for MbufBatch<N> {}

impl<const N: usize> Default for MbufBatch<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> std::fmt::Debug for MbufBatch<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MbufBatch").field("len", &self.len).field("capacity", &N).finish()
    }
}

impl<const N: usize> MbufBatch<N> {
    /// An empty batch.
    pub const fn new() -> Self {
        MbufBatch { ptrs: [std::ptr::null_mut(); N], len: 0 }
    }

    /// Mbufs held.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the batch holds nothing.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the batch is full.
    #[inline]
    pub fn is_full(&self) -> bool {
        self.len == N
    }

    /// The fixed capacity `N`.
    #[inline]
    pub const fn capacity(&self) -> usize {
        N
    }

    /// Free slots.
    #[inline]
    pub fn free(&self) -> usize {
        N - self.len
    }

    /// Appends `m`, or gives it back when the batch is full.
    #[inline]
    pub fn push(&mut self, m: Mbuf) -> Result<(), Mbuf> {
        match self.ptrs.get_mut(self.len) {
            Some(slot) => {
                *slot = m.into_raw().as_ptr();
                self.len += 1;
                Ok(())
            }
            None => Err(m),
        }
    }

    /// Removes and returns the last mbuf.
    #[inline]
    pub fn pop(&mut self) -> Option<Mbuf> {
        let last = self.len.checked_sub(1)?;
        let p = NonNull::new(self.ptrs[last])?;
        self.len = last;
        // SAFETY: slots below len hold owned, non-null mbufs; the slot is now outside len, so
        // ownership moves to the returned Mbuf alone.
        Some(unsafe { Mbuf::from_raw(p) })
    }

    /// The mbufs held, in order.
    #[inline]
    pub fn as_slice(&self) -> &[Mbuf] {
        let held = &self.ptrs[..self.len];
        // SAFETY: Mbuf is repr(transparent) over NonNull<rte_mbuf>, which has the layout of
        // *mut rte_mbuf; every slot below len is a non-null owned mbuf.
        unsafe { std::slice::from_raw_parts(held.as_ptr().cast::<Mbuf>(), held.len()) }
    }

    /// The mbufs held, in order, writable.
    #[inline]
    pub fn as_mut_slice(&mut self) -> &mut [Mbuf] {
        let held = &mut self.ptrs[..self.len];
        // SAFETY: as in as_slice; the &mut borrow of self makes the access exclusive, and
        // callers cannot move an Mbuf out of a &mut slice without putting one back.
        unsafe { std::slice::from_raw_parts_mut(held.as_mut_ptr().cast::<Mbuf>(), held.len()) }
    }

    /// Takes every mbuf out, front to back. Mbufs the iterator has not yielded when it is
    /// dropped are freed.
    #[inline]
    pub fn drain(&mut self) -> Drain<'_, N> {
        let end = self.len;
        self.len = 0;
        Drain { ptrs: &mut self.ptrs, pos: 0, end, _batch: PhantomData }
    }

    /// Frees every mbuf held.
    pub fn clear(&mut self) {
        if self.len == 0 {
            return;
        }
        // SAFETY: the first len slots are owned mbufs; after this call len is 0 so they are
        // never touched again. Batches are burst-sized, so len fits in u32.
        unsafe { dpdk_sys::rte_pktmbuf_free_bulk(self.ptrs.as_mut_ptr(), self.len as u32) };
        self.len = 0;
    }

    /// Removes the first `n` slots after a driver or ring took their mbufs, keeping the rest
    /// in order at the front.
    #[inline]
    pub(crate) fn consume_front(&mut self, n: usize) {
        let n = n.min(self.len);
        self.ptrs.copy_within(n..self.len, 0);
        self.len -= n;
    }

    /// Pointer to the first held slot, for a driver to read `len()` mbufs from.
    #[inline]
    pub(crate) fn held_ptr(&mut self) -> *mut *mut rte_mbuf {
        self.ptrs.as_mut_ptr()
    }

    /// Pointer to the first free slot, for a driver to write up to `free()` mbufs into.
    #[inline]
    pub(crate) fn free_ptr(&mut self) -> *mut *mut rte_mbuf {
        // SAFETY: len <= N, so the result is within or one past the end of the array.
        unsafe { self.ptrs.as_mut_ptr().add(self.len) }
    }

    /// Records that a driver wrote `n` owned mbufs into the free slots.
    #[inline]
    pub(crate) fn commit(&mut self, n: usize) {
        debug_assert!(self.len + n <= N);
        self.len = (self.len + n).min(N);
    }
}

impl<const N: usize> Drop for MbufBatch<N> {
    fn drop(&mut self) {
        self.clear();
    }
}

/// Iterator returned by [`MbufBatch::drain`].
pub struct Drain<'a, const N: usize> {
    ptrs: &'a mut [*mut rte_mbuf; N],
    pos: usize,
    end: usize,
    _batch: PhantomData<&'a mut MbufBatch<N>>,
}

impl<const N: usize> Iterator for Drain<'_, N> {
    type Item = Mbuf;

    #[inline]
    fn next(&mut self) -> Option<Mbuf> {
        if self.pos >= self.end {
            return None;
        }
        let p = NonNull::new(self.ptrs[self.pos])?;
        self.pos += 1;
        // SAFETY: slots in pos..end are owned, non-null mbufs that the batch (len 0) no longer
        // claims; each is yielded once.
        Some(unsafe { Mbuf::from_raw(p) })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.end - self.pos;
        (n, Some(n))
    }
}

impl<const N: usize> ExactSizeIterator for Drain<'_, N> {}

impl<const N: usize> Drop for Drain<'_, N> {
    fn drop(&mut self) {
        let rest = &mut self.ptrs[self.pos..self.end];
        if !rest.is_empty() {
            // SAFETY: the slots not yet yielded are owned mbufs nobody else claims.
            unsafe { dpdk_sys::rte_pktmbuf_free_bulk(rest.as_mut_ptr(), rest.len() as u32) };
        }
        self.pos = self.end;
    }
}
