//! dataplane: to be built.
