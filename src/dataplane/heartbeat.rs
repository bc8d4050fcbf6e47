//! A worker's heartbeat: what the control plane reads to know the worker is alive.
//!
//! Owns [`Heartbeat`]: a beat count the worker stores each time it publishes its counters (at
//! least every [`PUBLISH_EVERY`](super::worker) loop iterations and before every idle sleep, so
//! a worker that loops keeps beating, idle or busy), and how the worker's function ended,
//! written once by the launch wrapper. The worker is the only writer of the beat (a plain
//! relaxed store, never a read-modify-write); the liveness monitor (`daemon::liveness`) reads
//! both and decides. With the `test-support` feature, [`TestFault`] makes a worker panic or
//! stall on purpose, for the tests of that monitor. Must not touch: the loop itself.

use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::Mutex;

/// How a worker's function is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerState {
    /// Launched and not returned.
    Running,
    /// Returned normally (the stop flag, or something it could not go on without).
    Returned,
    /// Panicked, with the panic's message.
    Panicked(String),
}

const RUNNING: u8 = 0;
const RETURNED: u8 = 1;
const PANICKED: u8 = 2;

/// One worker's beat and end; shared between the worker core and the control plane.
#[derive(Debug, Default)]
pub struct Heartbeat {
    beats: crossbeam_utils::CachePadded<AtomicU64>,
    state: AtomicU8,
    panic: Mutex<Option<String>>,
    /// The worker thread's kernel thread id (0 until it says), for the monitor to read how long
    /// the thread waited for a CPU (see `daemon::liveness`).
    tid: AtomicU32,
}

impl Heartbeat {
    /// The worker is alive: `n` is its loop count, which only grows.
    pub fn beat(&self, n: u64) {
        self.beats.store(n, Ordering::Relaxed);
    }

    /// The last beat.
    pub fn beats(&self) -> u64 {
        self.beats.load(Ordering::Relaxed)
    }

    /// Records the calling thread's kernel thread id: the worker calls it once as it starts.
    /// Where `/proc/thread-self` cannot be read the id stays unknown (0).
    pub fn record_thread(&self) {
        if let Some(tid) = current_tid() {
            self.tid.store(tid, Ordering::Relaxed);
        }
    }

    /// The worker thread's kernel thread id, once it has recorded it.
    pub fn thread_id(&self) -> Option<u32> {
        Some(self.tid.load(Ordering::Relaxed)).filter(|&t| t != 0)
    }

    /// Records that the worker's function returned.
    pub fn returned(&self) {
        self.state.store(RETURNED, Ordering::Release);
    }

    /// Records that the worker's function panicked with `message`.
    pub fn panicked(&self, message: String) {
        *self.panic.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(message);
        self.state.store(PANICKED, Ordering::Release);
    }

    /// How the worker's function is doing.
    pub fn state(&self) -> WorkerState {
        match self.state.load(Ordering::Acquire) {
            RUNNING => WorkerState::Running,
            RETURNED => WorkerState::Returned,
            _ => WorkerState::Panicked(
                self.panic
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .clone()
                    .unwrap_or_default(),
            ),
        }
    }
}

/// The calling thread's kernel thread id, read from `/proc/thread-self` (a link to
/// `PID/task/TID`): no `unsafe` `gettid` call outside the DPDK layer, and read once per worker.
fn current_tid() -> Option<u32> {
    let link = std::fs::read_link("/proc/thread-self").ok()?;
    link.file_name()?.to_str()?.parse().ok()
}

/// The message of a caught panic's payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

/// What a thread's panic is reported to (see [`record_panics_with`]).
type PanicRecorder = Box<dyn Fn(&str)>;

thread_local! {
    /// What [`record_panics_with`] set for the calling thread.
    static ON_PANIC: std::cell::RefCell<Option<PanicRecorder>> =
        const { std::cell::RefCell::new(None) };
}

static PANIC_HOOK: std::sync::Once = std::sync::Once::new();

/// Makes a panic of the calling thread call `record` with its message as the panic starts,
/// before the previous hook prints it: printing a backtrace can take longer than the liveness
/// monitor's stall threshold, and a panicked worker must be reported as panicked, not stuck.
/// Installs a process-wide hook once, which hands every panic on to the hook before it.
pub fn record_panics_with(record: impl Fn(&str) + 'static) {
    PANIC_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = panic_message(info.payload());
            ON_PANIC.with(|r| {
                if let Ok(r) = r.try_borrow() {
                    if let Some(f) = r.as_ref() {
                        f(&message);
                    }
                }
            });
            previous(info);
        }));
    });
    ON_PANIC.with(|r| *r.borrow_mut() = Some(Box::new(record)));
}

/// A fault a test makes a worker commit (test builds only): read from the environment variable
/// `RVS_TEST_WORKER_FAULT` = `panic:<core>:<ms>` or `stall:<core>:<ms>` (the worker of core
/// index `<core>` panics, or stops looping without returning, `<ms>` after it starts).
#[cfg(feature = "test-support")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TestFault {
    /// Panic (true) or stall (false).
    pub panic: bool,
    /// Core index of the worker that commits it.
    pub core: usize,
    /// Delay after the worker's start.
    pub after: std::time::Duration,
}

#[cfg(feature = "test-support")]
impl TestFault {
    /// The environment variable a test sets on rvsd.
    pub const ENV: &'static str = "RVS_TEST_WORKER_FAULT";

    /// Parses `panic:<core>:<ms>` or `stall:<core>:<ms>`.
    pub fn parse(s: &str) -> Option<TestFault> {
        let mut f = s.split(':');
        let panic = match f.next()? {
            "panic" => true,
            "stall" => false,
            _ => return None,
        };
        let core = f.next()?.parse().ok()?;
        let after = std::time::Duration::from_millis(f.next()?.parse().ok()?);
        Some(TestFault { panic, core, after })
    }

    /// The fault for worker `core`, if the environment asks for one.
    pub fn from_env(core: usize) -> Option<TestFault> {
        std::env::var(Self::ENV).ok().and_then(|s| Self::parse(&s)).filter(|f| f.core == core)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beats_and_ends_are_seen_by_the_reader() {
        let h = Heartbeat::default();
        assert_eq!((h.beats(), h.state()), (0, WorkerState::Running));
        h.beat(7);
        assert_eq!(h.beats(), 7);
        h.panicked("boom".into());
        assert_eq!(h.state(), WorkerState::Panicked("boom".into()));
        let r = Heartbeat::default();
        r.returned();
        assert_eq!(r.state(), WorkerState::Returned);
    }

    #[test]
    fn a_panic_is_recorded_as_it_starts_on_the_thread_that_asked() {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            record_panics_with(move |m| tx.send(m.to_owned()).unwrap());
            let caught = std::panic::catch_unwind(|| panic!("worker {} fell", 4));
            assert!(caught.is_err());
        })
        .join()
        .unwrap();
        assert_eq!(
            rx.try_recv().unwrap(),
            "worker 4 fell",
            "recorded before catch_unwind returned"
        );
        // Another thread's panic is not recorded by that thread's function.
        let _ = std::thread::spawn(|| std::panic::catch_unwind(|| panic!("elsewhere"))).join();
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn panic_payloads_give_their_message() {
        let p = std::panic::catch_unwind(|| panic!("worker {} fell", 3)).unwrap_err();
        assert_eq!(panic_message(p.as_ref()), "worker 3 fell");
    }

    #[cfg(feature = "test-support")]
    #[test]
    fn test_faults_parse() {
        let f = TestFault::parse("stall:1:250").unwrap();
        assert_eq!((f.panic, f.core, f.after.as_millis()), (false, 1, 250));
        assert!(TestFault::parse("panic:x:1").is_none());
        assert!(TestFault::parse("explode:0:1").is_none());
    }
}
