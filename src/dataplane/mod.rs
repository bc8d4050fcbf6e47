//! The per-core worker: rx burst -> classify -> net/ipvs -> tx burst, timers, idle backoff.
//!
//! Owns the worker loop and its counters. [`backoff`] and [`stats`] are pure; the DPDK-facing loop
//! lives in `worker`. The loop is the only place that touches ports and the clock; everything it
//! calls is sans-IO.

pub mod backoff;
pub mod control;
pub mod crossing;
pub mod heartbeat;
pub mod stats;
pub mod worker;

pub use rvs_core::pipeline;
