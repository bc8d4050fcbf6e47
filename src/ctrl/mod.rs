//! ctrl: the control plane shared by rvsd and rvsadm.
//!
//! [`model`] holds the plain request/listing data (services, dests, local addresses,
//! connections, timeouts) and the validation rules both sides apply. The Unix-socket server and
//! client are to be built on top of it.

pub mod model;
