//! metrics: to be built.
