//! health: to be built.
