//! config: to be built.
