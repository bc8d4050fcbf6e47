//! rvsadm: the ipvsadm-compatible front end and the rvsadm program, as a library.
//!
//! Owns everything rvsadm does on its side of the control socket: parsing an ipvsadm command
//! line into a [`cli::Command`] ([`cli`], [`opts`], [`hostport`], [`error`]), printing listings
//! byte-for-byte as ipvsadm 1.31 prints them ([`format`], [`largenum`], [`conns`], [`save`]),
//! reading `-R` input ([`restore`]), the `-H` match-service text forms ([`matchspec`]), an
//! in-memory [`table::ServiceTable`] that applies commands with ipvsadm's semantics (the
//! reference the daemon's validation follows) and the program itself ([`run`]: argv in, a
//! request over the control socket, output and an exit status out).
//!
//! The command-line parser is hand-written, not clap: ipvsadm's grammar needs it (`-p` with an
//! optional value, `-b` meaning one thing on `-A/-E` and another on `-a/-e`, ipvsadm's checks
//! and error words in ipvsadm's order); [`cli`] says how.
//!
//! Must not touch: the daemon, the data plane. Listings are built from
//! [`rvs_proto::model`] values handed in by the caller; names are resolved through
//! [`names::Names`] so tests are deterministic.

pub mod cli;
pub mod conns;
pub mod daemon;
pub mod error;
pub mod format;
pub mod health;
pub mod hostport;
pub mod largenum;
pub mod matchspec;
pub mod names;
mod opts;
pub mod restore;
pub mod run;
pub mod save;

#[cfg(test)]
mod daemon_tests;
#[cfg(test)]
mod run_tests;

pub use cli::{parse, Command, ListFormat, ListWhat};
pub use error::CliError;
