//! The test kit: frames built byte by byte and the one reference Internet checksum, shared by
//! the tests of `wire`, `net`, `ipvs` and the sans-IO pipeline. Compiled for tests only.
//!
//! Everything here is written from the RFCs (791, 792, 793, 768, 826, 1071) without using
//! `crate::wire`, so the code under test is checked against something it shares no code with.
//! It must not depend on DPDK, the control plane or the configuration: it moves with the core
//! (buffers, `wire`, `net`, `ipvs`, pipeline) when that becomes a crate of its own.
//!
//! | file | holds |
//! |------|-------|
//! | [`checksum`] | the reference checksum: sums, pseudo-headers, fill and verify a whole packet |
//! | [`frames`] | Ethernet, ARP, IPv4, ICMP, TCP and UDP builders; [`frames::Spec`] and [`frames::seen`] |

pub mod checksum;
pub mod frames;
