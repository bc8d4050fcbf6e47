//! [`DpdkError`]: why a DPDK operation failed, in words an operator can act on.
//!
//! Owns the error type of the safe layer and the conversion of `rte_errno` / negative return
//! codes into text (`rte_strerror`). Every variant says which operation failed and, where there
//! is one, what to change (EAL arguments, vdevs, queue counts, pool sizes).

use std::ffi::CStr;

use thiserror::Error;

/// An `rte_errno` value (or the negated return code of an ethdev call) with its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Errno {
    /// The positive error number.
    pub code: i32,
    /// `rte_strerror(code)`.
    pub text: String,
}

impl Errno {
    /// The errno for `code` (sign ignored: ethdev calls return `-errno`).
    pub fn new(code: i32) -> Errno {
        let code = code.saturating_abs();
        // SAFETY: rte_strerror accepts any int and returns a pointer to a static string or to a
        // per-thread buffer that stays valid until the next call on this thread; it is copied
        // out at once. It works before rte_eal_init as well.
        let text = unsafe {
            let p = dpdk_sys::rte_strerror(code);
            if p.is_null() {
                format!("error {code}")
            } else {
                CStr::from_ptr(p).to_string_lossy().into_owned()
            }
        };
        Errno { code, text }
    }

    /// The current thread's `rte_errno`.
    pub fn last() -> Errno {
        // SAFETY: reads the calling thread's rte_errno through the wrapper function.
        Errno::new(unsafe { dpdk_sys::rvs_rte_errno() })
    }
}

impl std::fmt::Display for Errno {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (errno {})", self.text, self.code)
    }
}

/// Why a DPDK operation failed.
#[derive(Debug, Error)]
pub enum DpdkError {
    /// `Eal::init` was called a second time in this process.
    #[error(
        "the DPDK EAL was already initialised in this process; it can be initialised only \
         once per process (run each DPDK test in its own process, e.g. with cargo-nextest)"
    )]
    EalAlreadyInitialised,
    /// The EAL arguments do not map lcores to CPUs explicitly.
    #[error(
        "EAL arguments must name the lcores explicitly with --lcores (e.g. --lcores=0@0,1@1) or \
         -l (e.g. -l 0-1); without it EAL pins every thread to one core"
    )]
    NoLcores,
    /// An EAL argument contains a NUL byte.
    #[error("EAL argument {0:?} contains a NUL byte")]
    BadArgument(String),
    /// `rte_eal_init` refused the arguments or the environment.
    #[error(
        "rte_eal_init failed: {errno}; check the [eal] arguments, that hugepages are reserved \
         (or pass --no-huge), that the process may use them, and that --file-prefix is unique"
    )]
    EalInit {
        /// What EAL reported.
        errno: Errno,
    },
    /// A name passed to DPDK (pool, ring, device) is empty, too long or contains a NUL byte.
    #[error("invalid {what} name {name:?}: {reason}")]
    BadName {
        /// What the name is for.
        what: &'static str,
        /// The name given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// No ethdev port has that name.
    #[error(
        "no such device '{name}': check the [eal] vdevs / allow list and `dpdk-devbind --status`"
    )]
    NoSuchDevice {
        /// The name looked up.
        name: String,
    },
    /// No ethdev port has that id.
    #[error("no such port id {port}: {count} port(s) are available; check the [eal] vdevs / allow list and `dpdk-devbind --status`")]
    NoSuchPort {
        /// The id looked up.
        port: u16,
        /// How many ports DPDK knows.
        count: u16,
    },
    /// More queues were requested than the device has.
    #[error(
        "port {port} ({driver}) supports at most {max} {dir} queue(s), {requested} requested: \
         use fewer worker cores on this port or a NIC with more queues"
    )]
    TooManyQueues {
        /// Port id.
        port: u16,
        /// Driver name.
        driver: String,
        /// "rx" or "tx".
        dir: &'static str,
        /// Queues asked for.
        requested: u16,
        /// The device's maximum.
        max: u16,
    },
    /// A port configuration value is out of what the device or the pool accepts.
    #[error("port {port}: {reason}")]
    BadPortConfig {
        /// Port id.
        port: u16,
        /// What is wrong and what to change.
        reason: String,
    },
    /// An ethdev call failed.
    #[error("{op} failed on port {port}: {errno}")]
    Port {
        /// Port id.
        port: u16,
        /// The operation (the DPDK function).
        op: &'static str,
        /// What DPDK reported.
        errno: Errno,
    },
    /// A port was configured twice, or a queue was asked for twice or beyond the configured count.
    #[error("port {port}: {reason}")]
    PortInUse {
        /// Port id.
        port: u16,
        /// Which resource is taken.
        reason: String,
    },
    /// Creating a mempool failed.
    #[error(
        "cannot create mbuf pool '{name}' of {n} mbufs: {errno}; lower the pool size or give \
         EAL more memory (-m / hugepages), and keep pool names unique"
    )]
    Mempool {
        /// Pool name.
        name: String,
        /// Mbufs asked for.
        n: u32,
        /// What DPDK reported.
        errno: Errno,
    },
    /// Creating a ring failed.
    #[error(
        "cannot create ring '{name}' of {capacity} entries: {errno}; keep ring names unique and \
         sizes within EAL memory"
    )]
    Ring {
        /// Ring name.
        name: String,
        /// Entries asked for.
        capacity: u32,
        /// What DPDK reported.
        errno: Errno,
    },
    /// An lcore cannot run the function.
    #[error("cannot launch on lcore {lcore}: {reason}")]
    Launch {
        /// The lcore.
        lcore: u32,
        /// Why.
        reason: String,
    },
    /// The function launched on an lcore panicked.
    #[error("the function on lcore {lcore} panicked: {message}")]
    LcorePanicked {
        /// The lcore.
        lcore: u32,
        /// The panic payload, if it was a string.
        message: String,
    },
    /// An rte_flow call failed.
    #[error("rte_flow {op} failed on port {port}: {message} ({errno})")]
    Flow {
        /// Port id.
        port: u16,
        /// "create", "destroy", "validate".
        op: &'static str,
        /// The driver's message from `rte_flow_error`.
        message: String,
        /// The errno.
        errno: Errno,
    },
}

impl DpdkError {
    /// An ethdev failure from a negative return code.
    pub(crate) fn port(port: u16, op: &'static str, ret: i32) -> DpdkError {
        DpdkError::Port { port, op, errno: Errno::new(ret) }
    }
}

/// Validates a DPDK object name and turns it into a C string.
pub(crate) fn c_name(
    what: &'static str,
    name: &str,
    max_len: usize,
) -> Result<std::ffi::CString, DpdkError> {
    let bad = |reason| DpdkError::BadName { what, name: name.to_owned(), reason };
    if name.is_empty() {
        return Err(bad("it is empty"));
    }
    if name.len() >= max_len {
        return Err(bad("it is too long for DPDK"));
    }
    std::ffi::CString::new(name).map_err(|_| bad("it contains a NUL byte"))
}
