//! Pipeline tests: frames in, frames out, through a real `net::Stack` (static neighbours, so no
//! ARP) and the balancer, one file per forwarding mode or concern. Frames are built and checked
//! byte by byte with the test kit ([`crate::testkit`]), independently of `wire` and `xmit`;
//! what the files share is in `common.rs`.

mod accounting;
mod common;
mod cores;
mod dr;
mod fragments;
mod fullnat;
mod guard;
mod icmp;
mod l2cache;
mod limits;
mod nat;
mod services;
mod sloppy;
mod snat;
mod snat_echo;
mod snat_synproxy;
mod sync;
mod synproxy;
mod synproxy_segs;
mod tables;
mod tun;
