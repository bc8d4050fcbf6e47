//! adm: the ipvsadm-compatible front end of rvsadm, as a library.
//!
//! Owns everything rvsadm does that does not need the daemon: parsing an ipvsadm command line
//! into a [`cli::Command`] ([`cli`], [`opts`], [`hostport`], [`error`]), printing listings
//! byte-for-byte as ipvsadm 1.31 prints them ([`format`], [`largenum`], [`conns`], [`save`]),
//! reading `-R` input ([`restore`]), the `-H` match-service text forms ([`matchspec`]) and an in-memory [`table::ServiceTable`] that applies
//! commands with ipvsadm's semantics (the reference the daemon's validation follows).
//! Must not touch: sockets, the daemon, the data plane. Listings are built from
//! [`crate::ctrl::model`] values handed in by the caller; names are resolved through
//! [`names::Names`] so tests are deterministic.

pub mod cli;
pub mod conns;
pub mod error;
pub mod format;
pub mod health;
pub mod hostport;
pub mod largenum;
pub mod matchspec;
pub mod names;
mod opts;
pub mod restore;
pub mod save;
pub mod table;

pub use cli::{parse, Command, ListFormat, ListWhat};
pub use error::CliError;
