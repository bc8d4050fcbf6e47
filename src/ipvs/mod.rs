//! ipvs: to be built.

pub mod conn;
pub mod proto;
pub mod timer;
