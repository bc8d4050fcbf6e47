//! [`Timeouts`]: the connection timeouts users set (`ipvsadm --set tcp tcpfin udp`, rvsd's
//! `[timeouts]`), and the one bound on every timeout ([`MAX_TIMEOUT_S`]). The conn table turns
//! them into its per-state table ([`crate::ipvs::proto::StateTimeouts`]).

use serde::{Deserialize, Serialize};

/// Longest timeout accepted anywhere, in seconds (31 days): ipvsadm's bound for `-p` and
/// `--set`, and well within the timer wheel's reach (checked at compile time in
/// [`crate::ipvs::proto`]).
pub const MAX_TIMEOUT_S: u32 = 86_400 * 31;

/// Connection timeouts in seconds (`--set`); 0 in an update keeps the current value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeouts {
    /// TCP ESTABLISHED.
    pub tcp: u32,
    /// TCP FIN_WAIT.
    pub tcpfin: u32,
    /// UDP.
    pub udp: u32,
}

impl Default for Timeouts {
    /// The IPVS defaults: 900 120 300.
    fn default() -> Self {
        Timeouts { tcp: 900, tcpfin: 120, udp: 300 }
    }
}

impl Timeouts {
    /// The first value above [`MAX_TIMEOUT_S`], by name (`tcp`, `tcpfin`, `udp`).
    pub fn too_large(&self) -> Option<(&'static str, u32)> {
        [("tcp", self.tcp), ("tcpfin", self.tcpfin), ("udp", self.udp)]
            .into_iter()
            .find(|&(_, v)| v > MAX_TIMEOUT_S)
    }

    /// `self` applied as an update to `current`: a zero keeps the current value.
    pub fn over(self, current: Timeouts) -> Timeouts {
        let keep = |new: u32, old: u32| if new == 0 { old } else { new };
        Timeouts {
            tcp: keep(self.tcp, current.tcp),
            tcpfin: keep(self.tcpfin, current.tcpfin),
            udp: keep(self.udp, current.udp),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_keeps_and_the_bound_is_named() {
        let cur = Timeouts::default();
        let upd = Timeouts { tcp: 0, tcpfin: 60, udp: 0 };
        assert_eq!(upd.over(cur), Timeouts { tcp: 900, tcpfin: 60, udp: 300 });
        assert_eq!(cur.too_large(), None);
        let big = Timeouts { udp: MAX_TIMEOUT_S + 1, ..cur };
        assert_eq!(big.too_large(), Some(("udp", MAX_TIMEOUT_S + 1)));
    }
}
