//! The probes: one check of one checker, blocking, with a deadline.
//!
//! Owns the I/O of each checker kind ([`tcp`], [`http`], [`udp`], [`misc`], [`ssl`], [`smtp`],
//! [`dns`], [`ping`], [`file`]) with std sockets
//! and processes. Each probe ends by its checker's timeout (`connect_timeout`, or
//! `misc_timeout` for a script), so a slow or silent server holds one probe thread for at most
//! that long. Runs on the health threads of the control plane, never on a worker core. Must
//! not touch: decisions (the engine's), the table.

pub mod dns;
pub mod file;
pub mod http;
pub mod misc;
pub mod ping;
pub mod smtp;
pub mod ssl;
pub mod tcp;
pub mod udp;

use super::plan::{CheckKind, CheckerPlan};
use super::state::CheckResult;
use std::time::Instant;

/// Runs one check of `c` now.
pub fn run(c: &CheckerPlan) -> CheckResult {
    let deadline = Instant::now() + c.timing.timeout;
    match &c.kind {
        CheckKind::Tcp => tcp::check(c.target, c.bind, deadline),
        CheckKind::Http(h) => http::check(h, c.target, c.bind, c.timing.timeout),
        CheckKind::Udp(u) => udp::check(u, c.target, c.bind, deadline),
        CheckKind::Misc(m) => misc::check(m, c.target, deadline),
        CheckKind::Ssl(s) => ssl::check(s, c.target, c.bind, c.timing.timeout),
        CheckKind::Smtp(s) => smtp::check(s, c.target, c.bind, deadline),
        CheckKind::Dns(d) => dns::check(d, c.target, c.bind, deadline),
        CheckKind::Ping => ping::check(c.target.ip(), c.bind, deadline),
        CheckKind::File(f) => file::check(f),
        // Driven by its session's events (health::bfd), never run as a probe.
        CheckKind::Bfd(_) => CheckResult::Failure("BFD_CHECK follows its session".into()),
    }
}

/// Time left until `deadline`, or `None` when it has passed.
pub(crate) fn left(deadline: Instant) -> Option<std::time::Duration> {
    deadline.checked_duration_since(Instant::now()).filter(|d| !d.is_zero())
}

/// Runs a socket call again while a signal interrupts it (`EINTR`): a probe thread shares the
/// process with rvsd's signal handlers and script children, and an interrupted read is not a
/// failed check.
pub(crate) fn no_eintr<T>(mut call: impl FnMut() -> std::io::Result<T>) -> std::io::Result<T> {
    loop {
        match call() {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            r => return r,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::no_eintr;
    use std::io::{Error, ErrorKind};

    #[test]
    fn an_interrupted_call_is_made_again_and_other_errors_pass_through() {
        let mut interrupts = 2;
        let r = no_eintr(|| {
            if interrupts > 0 {
                interrupts -= 1;
                return Err(Error::from(ErrorKind::Interrupted));
            }
            Ok(5)
        });
        assert_eq!(r.unwrap(), 5);
        assert_eq!(interrupts, 0);
        let e = no_eintr(|| Err::<(), _>(Error::from(ErrorKind::ConnectionReset))).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ConnectionReset);
    }
}
