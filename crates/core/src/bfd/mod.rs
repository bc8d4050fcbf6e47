//! BFD (RFC 5880, asynchronous mode; RFC 5881 single hop): the control packet codec
//! ([`packet`]) and the session state machine ([`session`]), sans-IO.
//!
//! Owns the bytes of a BFD control packet and the per-session protocol state (states,
//! discriminators, negotiated intervals, detection time, the poll sequence, transmit jitter).
//! It must not touch sockets, clocks or the health engine: the caller passes received payloads,
//! the time ([`crate::time::Instant`]) and a random seed, and sends what the session returns.
//! The UDP side (port 3784, source port 49152-65535, TTL 255 sent and required on receive) is
//! the health checker's (`src/health/bfd`).
//!
//! Hand-written on purpose: the Rust BFD code found on crates.io/GitHub is either a dissector
//! for a packet-analysis framework (`packet-dissector-bfd`: parses for display, no emit and no
//! session) or a young tokio daemon that owns its sockets and tasks (`rust-bfd`), neither of
//! which fits a sans-IO core driven by a blocking health thread with an injected clock.
//! Echo, demand mode and authentication are not implemented: a packet with the A bit is
//! refused ([`packet::Error::AuthNotSupported`]) as RFC 5880 §6.8.6 requires of a session
//! without authentication, and the D bit is never sent.

pub mod packet;
pub mod session;

pub use packet::{ControlPacket, Diag, Error, State};
pub use session::{Config, Event, Session};
