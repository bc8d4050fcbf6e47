//! wire: to be built.
