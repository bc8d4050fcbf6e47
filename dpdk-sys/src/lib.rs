//! Raw bindings to the system DPDK. Filled in by the dpdk-sys work.
