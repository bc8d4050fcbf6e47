//! ipvs: to be built.

pub mod laddr;
pub mod toa;
