//! [`Eal`]: the DPDK Environment Abstraction Layer, initialised once per process.
//!
//! Owns the process-wide EAL state: the argument vector EAL keeps pointers into (held for the
//! life of the process), the once-only guard, and the count of live DPDK objects that decides
//! whether `rte_eal_cleanup` may run when the [`Eal`] is dropped. Clock and lcore helpers are
//! associated functions so workers can call them without holding the `Eal`.

use std::ffi::{c_char, CString};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use super::error::{DpdkError, Errno};

/// Set by the first `Eal::init`: DPDK cannot be initialised twice in a process, even after a
/// failed attempt or a cleanup.
static INIT_ATTEMPTED: AtomicBool = AtomicBool::new(false);

/// Mempools, rings and ports alive (or deliberately leaked because mbufs were still out).
/// While it is not zero, dropping the `Eal` skips `rte_eal_cleanup`, which would free their memory.
static LIVE_OBJECTS: AtomicUsize = AtomicUsize::new(0);

/// The argument vector handed to `rte_eal_init`. EAL may keep pointers into the strings and
/// permutes the pointer array, so both live until the process exits; they are never freed.
struct EalArgv {
    /// Each from `CString::into_raw`, so EAL may write through them.
    ptrs: Vec<*mut c_char>,
}

// SAFETY: the pointers are owned C strings only EAL reads after init; moving the holder
// between threads does not touch them.
unsafe impl Send for EalArgv {}

static ARGV: Mutex<Option<EalArgv>> = Mutex::new(None);

/// Registers a live DPDK object (control path only).
pub(crate) fn retain_object() {
    LIVE_OBJECTS.fetch_add(1, Ordering::AcqRel);
}

/// Unregisters a DPDK object whose memory went back to EAL.
pub(crate) fn release_object() {
    LIVE_OBJECTS.fetch_sub(1, Ordering::AcqRel);
}

/// The initialised EAL. Dropping it calls `rte_eal_cleanup` when no DPDK object is left.
///
/// Not `Send`: it lives on the thread that initialised it, which is the main lcore.
#[derive(Debug)]
pub struct Eal {
    _main_thread: PhantomData<*const ()>,
}

/// Whether `args` name the lcores explicitly.
fn has_lcores(args: &[String]) -> bool {
    args.iter().any(|a| {
        a == "-l"
            || a == "--lcores"
            || a.starts_with("--lcores=")
            || (a.starts_with("-l") && !a.starts_with("--"))
    })
}

impl Eal {
    /// Initialises EAL with `args`, the EAL options without a program name (`rvs` is supplied
    /// as argv\[0\]). The options must contain `--lcores`/`-l`.
    ///
    /// Only the first call in a process may succeed; any later call returns
    /// [`DpdkError::EalAlreadyInitialised`]. The calling thread becomes the main lcore.
    pub fn init(args: &[String]) -> Result<Eal, DpdkError> {
        if !has_lcores(args) {
            return Err(DpdkError::NoLcores);
        }
        let mut owned = Vec::with_capacity(args.len() + 1);
        owned.push(CString::new("rvs").map_err(|_| DpdkError::BadArgument("rvs".into()))?);
        for a in args {
            owned.push(CString::new(a.as_str()).map_err(|_| DpdkError::BadArgument(a.clone()))?);
        }
        if INIT_ATTEMPTED.swap(true, Ordering::AcqRel) {
            return Err(DpdkError::EalAlreadyInitialised);
        }
        let argc = i32::try_from(owned.len())
            .map_err(|_| DpdkError::BadArgument(format!("{} arguments", owned.len())))?;
        let mut guard = ARGV.lock().unwrap_or_else(|e| e.into_inner());
        let argv =
            guard.insert(EalArgv { ptrs: owned.into_iter().map(CString::into_raw).collect() });
        // A NULL terminator, as C's argv has.
        argv.ptrs.push(std::ptr::null_mut());
        // SAFETY: argc counts the non-NULL entries of a NULL-terminated array of valid, writable,
        // NUL-terminated strings. Array and strings live in ARGV for the rest of the process
        // and nothing else reads or writes them, so EAL may keep and permute them.
        let ret = unsafe { dpdk_sys::rte_eal_init(argc, argv.ptrs.as_mut_ptr()) };
        if ret < 0 {
            return Err(DpdkError::EalInit { errno: Errno::last() });
        }
        Ok(Eal { _main_thread: PhantomData })
    }

    /// Number of lcores EAL runs (main included).
    pub fn lcore_count() -> u32 {
        // SAFETY: reads EAL's static configuration; 0 before init.
        unsafe { dpdk_sys::rte_lcore_count() }
    }

    /// The main lcore's id.
    pub fn main_lcore() -> u32 {
        // SAFETY: reads EAL's static configuration.
        unsafe { dpdk_sys::rte_get_main_lcore() }
    }

    /// The calling thread's lcore id, or `None` on a thread EAL does not know.
    pub fn current_lcore() -> Option<u32> {
        // SAFETY: reads the calling thread's per-lcore variable.
        let id = unsafe { dpdk_sys::rte_lcore_id() };
        (id != dpdk_sys::LCORE_ID_ANY).then_some(id)
    }

    /// The NUMA socket of the calling thread.
    pub fn socket_id() -> u32 {
        // SAFETY: reads the calling thread's per-lcore variable.
        unsafe { dpdk_sys::rte_socket_id() }
    }

    /// Cycles per second of the time-stamp counter (0 before init).
    pub fn tsc_hz() -> u64 {
        // SAFETY: reads a value EAL calibrated at init.
        unsafe { dpdk_sys::rte_get_tsc_hz() }
    }

    /// The time-stamp counter now.
    #[inline]
    pub fn tsc() -> u64 {
        // SAFETY: reads the CPU's time-stamp counter; no memory is touched.
        unsafe { dpdk_sys::rte_get_tsc_cycles() }
    }
}

impl Drop for Eal {
    fn drop(&mut self) {
        let live = LIVE_OBJECTS.load(Ordering::Acquire);
        if live != 0 {
            tracing::warn!(live, "DPDK objects still alive: skipping rte_eal_cleanup");
            return;
        }
        // SAFETY: no mempool, ring or port is alive (LIVE_OBJECTS is 0), so nothing of ours
        // points into the memory cleanup releases; EAL is not used again (init is once only).
        let ret = unsafe { dpdk_sys::rte_eal_cleanup() };
        if ret < 0 {
            tracing::warn!(error = %Errno::new(ret), "rte_eal_cleanup failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn lcores_must_be_explicit() {
        assert!(has_lcores(&s(&["--lcores=0@0,1@1"])));
        assert!(has_lcores(&s(&["--lcores", "0-1"])));
        assert!(has_lcores(&s(&["-l", "0-1"])));
        assert!(has_lcores(&s(&["-l0-1"])));
        assert!(!has_lcores(&s(&["--no-huge", "--log-level=8", "-m", "256"])));
        assert!(!has_lcores(&s(&["-c", "0x3"])));
    }

    #[test]
    fn init_without_lcores_is_refused_before_eal_runs() {
        // Refused before the once-only guard, so it does not use up this process's EAL.
        assert!(matches!(Eal::init(&s(&["--no-huge"])), Err(DpdkError::NoLcores)));
        assert!(!INIT_ATTEMPTED.load(Ordering::Acquire));
    }
}
