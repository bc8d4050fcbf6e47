//! ipvs: to be built.
