//! ctrl: to be built.
