//! Running Rust closures on EAL worker lcores: [`launch`], [`LaunchHandle::join`] and
//! [`worker_lcores`].
//!
//! Owns the trampoline between `rte_eal_remote_launch`'s C frame and a boxed Rust closure.
//! A panic in the closure is caught inside the trampoline (it must never unwind through C)
//! and reported by `join` as [`DpdkError::LcorePanicked`]. Launch and join run on the main
//! lcore, as DPDK requires.

use std::ffi::{c_int, c_void};
use std::marker::PhantomData;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

use super::eal::Eal;
use super::error::DpdkError;

type Job = Box<dyn FnOnce() -> i32 + Send + 'static>;

/// What the trampoline receives: the closure and where to record a panic.
struct Launch {
    job: Job,
    panicked: Arc<Mutex<Option<String>>>,
}

/// Return code of a launched function that panicked (the real report is in the handle).
const PANIC_RET: c_int = -1;

extern "C" fn trampoline(arg: *mut c_void) -> c_int {
    if arg.is_null() {
        return PANIC_RET;
    }
    // SAFETY: arg is the Box<Launch> leaked by `launch` for this one call; it is rebuilt
    // exactly once, here.
    let launch = unsafe { Box::from_raw(arg.cast::<Launch>()) };
    let Launch { job, panicked } = *launch;
    match catch_unwind(AssertUnwindSafe(job)) {
        Ok(ret) => ret,
        Err(payload) => {
            let msg = if let Some(s) = payload.downcast_ref::<&str>() {
                (*s).to_owned()
            } else if let Some(s) = payload.downcast_ref::<String>() {
                s.clone()
            } else {
                "non-string panic payload".to_owned()
            };
            // Dropping the payload could itself panic; forget it rather than risk unwinding.
            std::mem::forget(payload);
            if let Ok(mut slot) = panicked.lock() {
                *slot = Some(msg);
            }
            PANIC_RET
        }
    }
}

/// A function running on a worker lcore. Join it from the main lcore; dropping the handle
/// leaves the function running (the lcore stays busy until it returns).
#[derive(Debug)]
pub struct LaunchHandle {
    lcore: u32,
    panicked: Arc<Mutex<Option<String>>>,
    _main_lcore: PhantomData<*const ()>,
}

impl LaunchHandle {
    /// The lcore the function runs on.
    pub fn lcore(&self) -> u32 {
        self.lcore
    }

    /// Waits for the function to return and gives its return value, or the panic it raised.
    pub fn join(self) -> Result<i32, DpdkError> {
        // SAFETY: called on the main lcore (the handle is not Send and launch checked it);
        // waits for the worker to finish.
        let ret = unsafe { dpdk_sys::rte_eal_wait_lcore(self.lcore) };
        let panic =
            self.panicked.lock().map(|mut s| s.take()).unwrap_or_else(|e| e.into_inner().take());
        match panic {
            Some(message) => Err(DpdkError::LcorePanicked { lcore: self.lcore, message }),
            None => Ok(ret),
        }
    }
}

/// Runs `f` on worker lcore `lcore_id`. Must be called on the main lcore; the lcore must be an
/// enabled worker that is idle.
pub fn launch<F>(lcore_id: u32, f: F) -> Result<LaunchHandle, DpdkError>
where
    F: FnOnce() -> i32 + Send + 'static,
{
    let refuse = |reason: &str| DpdkError::Launch { lcore: lcore_id, reason: reason.to_owned() };
    if lcore_id >= dpdk_sys::RTE_MAX_LCORE {
        return Err(refuse("lcore id beyond RTE_MAX_LCORE"));
    }
    if Eal::current_lcore() != Some(Eal::main_lcore()) {
        return Err(refuse(
            "launch must be called on the main lcore (the thread that ran Eal::init)",
        ));
    }
    if lcore_id == Eal::main_lcore() {
        return Err(refuse("that is the main lcore; run the function directly"));
    }
    // SAFETY: lcore_id < RTE_MAX_LCORE, as the call requires.
    if unsafe { dpdk_sys::rte_lcore_is_enabled(lcore_id) } == 0 {
        return Err(refuse("not an enabled lcore: add it to --lcores"));
    }
    let panicked = Arc::new(Mutex::new(None));
    let arg = Box::into_raw(Box::new(Launch { job: Box::new(f), panicked: Arc::clone(&panicked) }));
    // SAFETY: trampoline has the lcore_function_t signature and takes ownership of arg when
    // the launch succeeds.
    let ret = unsafe { dpdk_sys::rte_eal_remote_launch(Some(trampoline), arg.cast(), lcore_id) };
    if ret != 0 {
        // SAFETY: the launch failed, so the trampoline never ran and arg is still ours.
        drop(unsafe { Box::from_raw(arg) });
        return Err(refuse(&format!(
            "rte_eal_remote_launch failed ({}): is a function still running there?",
            super::error::Errno::new(ret)
        )));
    }
    Ok(LaunchHandle { lcore: lcore_id, panicked, _main_lcore: PhantomData })
}

/// The enabled worker lcores (main lcore excluded), in id order.
pub fn worker_lcores() -> impl Iterator<Item = u32> {
    let mut cur = u32::MAX; // rte_get_next_lcore starts after `i`; -1 starts from 0.
    std::iter::from_fn(move || {
        // SAFETY: plain iteration over EAL's lcore table.
        let next = unsafe { dpdk_sys::rte_get_next_lcore(cur, 1, 0) };
        if next >= dpdk_sys::RTE_MAX_LCORE {
            return None;
        }
        cur = next;
        Some(next)
    })
}
