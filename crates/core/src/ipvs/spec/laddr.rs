//! [`LocalAddrSpec`]: a local address of a FULLNAT/SNAT service (`-P/-Q -z addr [-F ifname]`).

use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// A local address of a FULLNAT/SNAT service (`-P/-Q -z addr [-F ifname]`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LocalAddrSpec {
    /// The address.
    pub addr: IpAddr,
    /// Interface the address lives on, if given.
    pub ifname: Option<String>,
}
