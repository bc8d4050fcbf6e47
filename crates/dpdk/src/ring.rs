//! [`Ring`]: a typed DPDK ring that moves ownership of pointer-sized items between threads.
//!
//! Owns the ring's memory and the items still in it (freed on drop). The producer and consumer
//! disciplines are in the type: `Single` ends are `Send` but not `Clone`, so exactly one thread
//! at a time can use them; `Multi` ends are `Clone`. Used for the per-(from, to) core hand-off
//! of mbufs and for control messages as `Box`es.

use std::cell::Cell;
use std::ffi::c_void;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::Arc;

use dpdk_sys::rte_ring;

use super::eal;
use super::error::{c_name, DpdkError, Errno};
use super::mbuf::{Mbuf, MbufBatch};

/// A value that travels through a ring as one non-null pointer, carrying its ownership.
///
/// # Safety
/// `into_ptr` must return a non-null pointer from which `from_ptr` rebuilds the same value,
/// and the pair must transfer ownership exactly (no double free, no leak when rebuilt once).
pub unsafe trait RingItem: Send + Sized {
    /// Gives up the value as a pointer.
    fn into_ptr(self) -> NonNull<c_void>;
    /// Rebuilds the value.
    ///
    /// # Safety
    /// `p` must come from `into_ptr` of this type and be rebuilt only once.
    unsafe fn from_ptr(p: NonNull<c_void>) -> Self;
}

// SAFETY: into_raw/from_raw are exact inverses and transfer the single ownership.
unsafe impl RingItem for Mbuf {
    fn into_ptr(self) -> NonNull<c_void> {
        self.into_raw().cast()
    }
    unsafe fn from_ptr(p: NonNull<c_void>) -> Self {
        // SAFETY: p came from Mbuf::into_ptr, so it is an owned mbuf (caller's contract).
        unsafe { Mbuf::from_raw(p.cast()) }
    }
}

// SAFETY: Box::into_raw/from_raw are exact inverses; a Box pointer is never null.
unsafe impl<U: Send> RingItem for Box<U> {
    fn into_ptr(self) -> NonNull<c_void> {
        // SAFETY: Box::into_raw never returns null.
        unsafe { NonNull::new_unchecked(Box::into_raw(self).cast()) }
    }
    unsafe fn from_ptr(p: NonNull<c_void>) -> Self {
        // SAFETY: p came from Box::<U>::into_raw (caller's contract).
        unsafe { Box::from_raw(p.as_ptr().cast()) }
    }
}

mod sealed {
    pub trait Sealed {}
}

/// Producer or consumer discipline of a ring end.
pub trait Discipline: sealed::Sealed + Send + 'static {
    /// `RING_F_SP_ENQ` for a single producer, 0 otherwise.
    const PROD_FLAG: u32;
    /// `RING_F_SC_DEQ` for a single consumer, 0 otherwise.
    const CONS_FLAG: u32;
}

/// Exactly one thread uses this end: its handle is `Send` but not `Clone` or `Sync`.
#[derive(Debug)]
pub struct Single(PhantomData<Cell<()>>);
/// Any number of threads use this end: its handle is `Clone`.
#[derive(Debug)]
pub struct Multi;

impl sealed::Sealed for Single {}
impl sealed::Sealed for Multi {}
impl Discipline for Single {
    const PROD_FLAG: u32 = dpdk_sys::RING_F_SP_ENQ;
    const CONS_FLAG: u32 = dpdk_sys::RING_F_SC_DEQ;
}
impl Discipline for Multi {
    const PROD_FLAG: u32 = 0;
    const CONS_FLAG: u32 = 0;
}

struct RingInner<T: RingItem> {
    ptr: NonNull<rte_ring>,
    name: String,
    _items: PhantomData<T>,
}

// SAFETY: DPDK rings are thread-safe within their flags; the handle types enforce the flags.
// Items moved through are T: Send.
unsafe impl<T: RingItem> Send for RingInner<T> {}
// SAFETY: as above; shared use goes only through the handle types.
unsafe impl<T: RingItem> Sync for RingInner<T> {}

impl<T: RingItem> Drop for RingInner<T> {
    fn drop(&mut self) {
        let r = self.ptr.as_ptr();
        let mut obj: *mut c_void = std::ptr::null_mut();
        // SAFETY: the last handle is gone, so this thread is the only user; every object in
        // the ring came from T::into_ptr and is rebuilt exactly once here, then dropped.
        unsafe {
            while dpdk_sys::rte_ring_dequeue(r, &mut obj) == 0 {
                if let Some(p) = NonNull::new(obj) {
                    drop(T::from_ptr(p));
                }
            }
            dpdk_sys::rte_ring_free(r);
        }
        eal::release_object();
    }
}

/// A ring of `T` with producer discipline `P` and consumer discipline `C`.
///
/// Use it whole from one thread, or [`split`](Ring::split) it into a [`Producer`] and a
/// [`Consumer`] for two sides. The ring and the items left in it are freed when every
/// handle is gone.
pub struct Ring<T: RingItem, P: Discipline = Single, C: Discipline = Single> {
    inner: Arc<RingInner<T>>,
    _ends: PhantomData<(P, C)>,
}

/// The producing end of a ring.
pub struct Producer<T: RingItem, P: Discipline = Single> {
    inner: Arc<RingInner<T>>,
    _end: PhantomData<P>,
}

/// The consuming end of a ring.
pub struct Consumer<T: RingItem, C: Discipline = Single> {
    inner: Arc<RingInner<T>>,
    _end: PhantomData<C>,
}

impl<T: RingItem, P: Discipline, C: Discipline> std::fmt::Debug for Ring<T, P, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ring")
            .field("name", &self.inner.name)
            .field("count", &self.count())
            .finish()
    }
}

impl<T: RingItem> Clone for Producer<T, Multi> {
    fn clone(&self) -> Self {
        Producer { inner: Arc::clone(&self.inner), _end: PhantomData }
    }
}

impl<T: RingItem> Clone for Consumer<T, Multi> {
    fn clone(&self) -> Self {
        Consumer { inner: Arc::clone(&self.inner), _end: PhantomData }
    }
}

#[inline]
fn enqueue<T: RingItem>(r: *mut rte_ring, item: T) -> Result<(), T> {
    let p = item.into_ptr();
    // SAFETY: r is a live ring (the caller holds its Arc) used per its flags by the handle
    // types; on success the ring owns p.
    if unsafe { dpdk_sys::rte_ring_enqueue(r, p.as_ptr()) } == 0 {
        Ok(())
    } else {
        // SAFETY: the ring refused p, so ownership is still ours; rebuilt once.
        Err(unsafe { T::from_ptr(p) })
    }
}

#[inline]
fn dequeue<T: RingItem>(r: *mut rte_ring) -> Option<T> {
    let mut obj: *mut c_void = std::ptr::null_mut();
    // SAFETY: r is live; obj is a valid out-pointer.
    if unsafe { dpdk_sys::rte_ring_dequeue(r, &mut obj) } != 0 {
        return None;
    }
    // SAFETY: the ring only holds pointers from T::into_ptr; dequeued once, so rebuilt once.
    NonNull::new(obj).map(|p| unsafe { T::from_ptr(p) })
}

#[inline]
fn enqueue_batch<const N: usize>(r: *mut rte_ring, batch: &mut MbufBatch<N>) -> usize {
    let len = batch.len() as u32;
    if len == 0 {
        return 0;
    }
    // SAFETY: the batch's first len slots are owned mbufs (pointer-sized objects); the ring
    // takes ownership of the first n it accepts, which then leave the batch.
    let n = unsafe {
        dpdk_sys::rte_ring_enqueue_burst(r, batch.held_ptr().cast(), len, std::ptr::null_mut())
    };
    let n = (n as usize).min(batch.len());
    batch.consume_front(n);
    n
}

#[inline]
fn dequeue_batch<const N: usize>(r: *mut rte_ring, batch: &mut MbufBatch<N>) -> usize {
    let room = batch.free() as u32;
    if room == 0 {
        return 0;
    }
    // SAFETY: the batch has `room` free slots; every pointer in a Ring<Mbuf> is an owned mbuf,
    // which moves to the batch.
    let n = unsafe {
        dpdk_sys::rte_ring_dequeue_burst(r, batch.free_ptr().cast(), room, std::ptr::null_mut())
    };
    let n = (n as usize).min(room as usize);
    batch.commit(n);
    n
}

impl<T: RingItem, P: Discipline, C: Discipline> Ring<T, P, C> {
    /// Creates a ring named `name` (unique) holding up to `capacity` items, on NUMA
    /// `socket` (`None`: any).
    pub fn new(name: &str, capacity: u32, socket: Option<u32>) -> Result<Self, DpdkError> {
        let cname = c_name("ring", name, dpdk_sys::RVS_RING_NAMESIZE as usize)?;
        let socket = match socket {
            Some(s) => i32::try_from(s).unwrap_or(dpdk_sys::SOCKET_ID_ANY),
            None => dpdk_sys::SOCKET_ID_ANY,
        };
        let flags = P::PROD_FLAG | C::CONS_FLAG | dpdk_sys::RING_F_EXACT_SZ;
        // SAFETY: cname is a valid C string for the call; DPDK validates the rest.
        let p = unsafe { dpdk_sys::rte_ring_create(cname.as_ptr(), capacity, socket, flags) };
        let ptr = NonNull::new(p).ok_or_else(|| DpdkError::Ring {
            name: name.to_owned(),
            capacity,
            errno: Errno::last(),
        })?;
        eal::retain_object();
        Ok(Ring {
            inner: Arc::new(RingInner { ptr, name: name.to_owned(), _items: PhantomData }),
            _ends: PhantomData,
        })
    }

    /// The ring's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Items in the ring now.
    pub fn count(&self) -> u32 {
        // SAFETY: the ring is live; reads its indices.
        unsafe { dpdk_sys::rte_ring_count(self.inner.ptr.as_ptr()) }
    }

    /// Items the ring can hold.
    pub fn capacity(&self) -> u32 {
        // SAFETY: the ring is live; reads its capacity.
        unsafe { dpdk_sys::rte_ring_get_capacity(self.inner.ptr.as_ptr()) }
    }

    /// Adds `item`, or gives it back when the ring is full.
    #[inline]
    pub fn enqueue(&mut self, item: T) -> Result<(), T> {
        enqueue(self.inner.ptr.as_ptr(), item)
    }

    /// Takes the oldest item.
    #[inline]
    pub fn dequeue(&mut self) -> Option<T> {
        dequeue(self.inner.ptr.as_ptr())
    }

    /// Splits into the two ends.
    pub fn split(self) -> (Producer<T, P>, Consumer<T, C>) {
        (
            Producer { inner: Arc::clone(&self.inner), _end: PhantomData },
            Consumer { inner: self.inner, _end: PhantomData },
        )
    }
}

impl<P: Discipline, C: Discipline> Ring<Mbuf, P, C> {
    /// Moves as many mbufs as fit from the front of `batch` into the ring; the rest stay.
    #[inline]
    pub fn enqueue_burst<const N: usize>(&mut self, batch: &mut MbufBatch<N>) -> usize {
        enqueue_batch(self.inner.ptr.as_ptr(), batch)
    }

    /// Appends up to `batch.free()` mbufs from the ring to `batch`.
    #[inline]
    pub fn dequeue_burst<const N: usize>(&mut self, batch: &mut MbufBatch<N>) -> usize {
        dequeue_batch(self.inner.ptr.as_ptr(), batch)
    }
}

impl<T: RingItem, P: Discipline> Producer<T, P> {
    /// Adds `item`, or gives it back when the ring is full.
    #[inline]
    pub fn enqueue(&mut self, item: T) -> Result<(), T> {
        enqueue(self.inner.ptr.as_ptr(), item)
    }

    /// Items in the ring now.
    pub fn count(&self) -> u32 {
        // SAFETY: the ring is live; reads its indices.
        unsafe { dpdk_sys::rte_ring_count(self.inner.ptr.as_ptr()) }
    }
}

impl<P: Discipline> Producer<Mbuf, P> {
    /// Moves as many mbufs as fit from the front of `batch` into the ring; the rest stay.
    #[inline]
    pub fn enqueue_burst<const N: usize>(&mut self, batch: &mut MbufBatch<N>) -> usize {
        enqueue_batch(self.inner.ptr.as_ptr(), batch)
    }
}

impl<T: RingItem, C: Discipline> Consumer<T, C> {
    /// Takes the oldest item.
    #[inline]
    pub fn dequeue(&mut self) -> Option<T> {
        dequeue(self.inner.ptr.as_ptr())
    }

    /// Items in the ring now.
    pub fn count(&self) -> u32 {
        // SAFETY: the ring is live; reads its indices.
        unsafe { dpdk_sys::rte_ring_count(self.inner.ptr.as_ptr()) }
    }
}

impl<C: Discipline> Consumer<Mbuf, C> {
    /// Appends up to `batch.free()` mbufs from the ring to `batch`.
    #[inline]
    pub fn dequeue_burst<const N: usize>(&mut self, batch: &mut MbufBatch<N>) -> usize {
        dequeue_batch(self.inner.ptr.as_ptr(), batch)
    }
}
