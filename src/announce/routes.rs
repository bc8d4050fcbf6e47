//! The announced routes in the kernel: `VIP/32 dev DEV table T proto static`, set and removed
//! with iproute2's `ip` (see the parent module for why a kernel table). A failed command is
//! logged once per distinct error and retried on the next round.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::process::Command;

/// The routes rvsd holds in its table.
#[derive(Debug)]
pub(super) struct KernelRoutes {
    table: String,
    dev: String,
    installed: BTreeSet<Ipv4Addr>,
    last_error: Option<String>,
}

impl KernelRoutes {
    pub(super) fn new(table: u32, dev: String) -> KernelRoutes {
        KernelRoutes { table: table.to_string(), dev, installed: BTreeSet::new(), last_error: None }
    }

    /// Empties the table (what an earlier rvsd left, if its interface survived).
    pub(super) fn flush(&self) {
        // An empty or missing table is not an error worth a word.
        let _ = ip(&["-4", "route", "flush", "table", &self.table]);
    }

    /// Makes the table hold exactly `wanted`.
    pub(super) fn set(&mut self, wanted: &BTreeSet<Ipv4Addr>) {
        let gone: Vec<Ipv4Addr> = self.installed.difference(wanted).copied().collect();
        for vip in gone {
            let net = format!("{vip}/32");
            match ip(&["-4", "route", "del", &net, "table", &self.table]) {
                // "No such process": the route went with its interface; it is gone either way.
                Ok(()) | Err(RouteError::Missing) => {
                    self.installed.remove(&vip);
                }
                Err(RouteError::Failed(e)) => self.failed(e),
            }
        }
        let new: Vec<Ipv4Addr> = wanted.difference(&self.installed).copied().collect();
        for vip in new {
            let net = format!("{vip}/32");
            let args = [
                "-4",
                "route",
                "replace",
                &net,
                "dev",
                &self.dev,
                "table",
                &self.table,
                "proto",
                "static",
            ];
            match ip(&args) {
                Ok(()) => {
                    self.installed.insert(vip);
                }
                Err(RouteError::Missing) => {
                    self.failed(format!("`ip {}`: no such device", args.join(" ")))
                }
                Err(RouteError::Failed(e)) => self.failed(e),
            }
        }
        if self.installed == *wanted {
            self.last_error = None;
        }
    }

    fn failed(&mut self, e: String) {
        if self.last_error.as_deref() != Some(e.as_str()) {
            tracing::warn!("announce: {e}; retrying every interval");
            self.last_error = Some(e);
        }
    }
}

enum RouteError {
    /// The route (or its device) does not exist.
    Missing,
    Failed(String),
}

fn ip(args: &[&str]) -> Result<(), RouteError> {
    let out = Command::new("ip").args(args).output().map_err(|e| {
        RouteError::Failed(format!("cannot run `ip {}`: {e}; install iproute2", args.join(" ")))
    })?;
    if out.status.success() {
        return Ok(());
    }
    let err = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    if err.contains("No such process") || err.contains("Cannot find device") {
        return Err(RouteError::Missing);
    }
    Err(RouteError::Failed(format!("`ip {}` failed: {err}", args.join(" "))))
}
