//! net: to be built.
