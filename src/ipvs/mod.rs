//! ipvs: to be built.

pub mod laddr;

