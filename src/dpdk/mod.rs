//! dpdk: to be built.
