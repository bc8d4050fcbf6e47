//! Per-protocol connection state: the TCP and UDP state machines, the state a connection
//! entry carries ([`ConnState`]), the timeouts per state ([`StateTimeouts`], set from the
//! spec's [`Timeouts`] with ipvsadm `--set` semantics) and what a state change means for a real server's counts ([`Transition`]).
//!
//! Owns no table and reads no packet: callers pass the protocol, the TCP flags byte and the
//! direction. Timeouts come from the control plane (defaults are the kernel's).

pub mod tcp;
pub mod udp;

use thiserror::Error;

use crate::ipvs::spec::{Timeouts, MAX_TIMEOUT_S};
use crate::wire::IpProtocol;

pub use tcp::{TcpDir, TcpEvent, TcpState};
pub use udp::UdpState;

/// The protocol state of a connection (or template) entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnState {
    /// A TCP connection.
    Tcp(TcpState),
    /// A UDP flow.
    Udp(UdpState),
}

impl ConnState {
    /// The state a new entry of `proto` starts in, or `None` for a protocol the director does
    /// not track.
    /// ICMP is tracked for echo request/reply flows through SNAT only (the identifier plays
    /// the port's part); they use the UDP state and timeout.
    pub const fn initial(proto: IpProtocol) -> Option<ConnState> {
        match proto {
            IpProtocol::TCP => Some(ConnState::Tcp(TcpState::None)),
            IpProtocol::UDP | IpProtocol::ICMP => Some(ConnState::Udp(UdpState::Normal)),
            _ => None,
        }
    }

    /// The name `ipvsadm -L -c` prints for this state.
    pub const fn name(self) -> &'static str {
        match self {
            ConnState::Tcp(s) => s.name(),
            ConnState::Udp(s) => s.name(),
        }
    }

    /// Whether a connection in this state counts as active for its real server.
    pub const fn is_active(self) -> bool {
        is_active(self)
    }

    /// One-byte encoding (TCP states by discriminant, UDP as 0x80), for compact entries.
    pub const fn to_u8(self) -> u8 {
        match self {
            ConnState::Tcp(s) => s as u8,
            ConnState::Udp(_) => 0x80,
        }
    }

    /// Decodes [`ConnState::to_u8`]; an unknown byte decodes as TCP CLOSE, the state that
    /// forgets a connection soonest.
    pub const fn from_u8(v: u8) -> ConnState {
        if v == 0x80 {
            return ConnState::Udp(UdpState::Normal);
        }
        let mut i = 0;
        while i < TcpState::COUNT {
            if TcpState::ALL[i] as u8 == v {
                return ConnState::Tcp(TcpState::ALL[i]);
            }
            i += 1;
        }
        ConnState::Tcp(TcpState::Close)
    }
}

/// Whether a connection in `state` counts in `ActiveConn` (true) or `InActConn` (false):
/// only an established TCP connection is active. New entries start inactive.
pub const fn is_active(state: ConnState) -> bool {
    match state {
        ConnState::Tcp(s) => s.is_active(),
        ConnState::Udp(s) => s.is_active(),
    }
}

/// A state change caused by one packet. `from == to` when nothing changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// State before the packet.
    pub from: ConnState,
    /// State after the packet.
    pub to: ConnState,
}

impl Transition {
    /// Whether the connection counted as active before the packet.
    pub const fn was_active(&self) -> bool {
        is_active(self.from)
    }

    /// Whether the connection counts as active after the packet.
    pub const fn is_active(&self) -> bool {
        is_active(self.to)
    }

    /// `Some(true)` when the connection just became active (move one from the dest's inactive
    /// to its active count), `Some(false)` when it just became inactive, `None` otherwise.
    pub const fn activity_change(&self) -> Option<bool> {
        match (self.was_active(), self.is_active()) {
            (false, true) => Some(true),
            (true, false) => Some(false),
            _ => None,
        }
    }
}

// Every timeout the spec accepts fits the timer wheel.
const _: () = assert!(
    MAX_TIMEOUT_S as u64 * crate::ipvs::timer::TICKS_PER_SEC as u64
        <= crate::ipvs::timer::MAX_DELAY_TICKS as u64
);

/// Why a timeout was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum TimeoutError {
    /// A timeout beyond what the director can track.
    #[error("{which} timeout {secs} s is too large: the maximum is {max} s", max = MAX_TIMEOUT_S)]
    TooLarge {
        /// Which timeout (`tcp`, `tcpfin`, `udp` or a TCP state name).
        which: &'static str,
        /// The value given.
        secs: u32,
    },
    /// A per-state timeout of zero seconds.
    #[error("{which} timeout must be at least 1 s")]
    Zero {
        /// Which timeout.
        which: &'static str,
    },
}

/// Timeouts per protocol state, in seconds, as the conn table applies them. Defaults are the
/// kernel's; [`StateTimeouts::set`] takes the spec's [`Timeouts`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateTimeouts {
    tcp: [u32; TcpState::COUNT],
    udp: u32,
}

impl Default for StateTimeouts {
    fn default() -> Self {
        let mut tcp = [0; TcpState::COUNT];
        for s in TcpState::ALL {
            tcp[s as usize] = s.default_timeout();
        }
        StateTimeouts { tcp, udp: udp::DEFAULT_TIMEOUT }
    }
}

impl StateTimeouts {
    /// Timeout of a TCP state.
    pub fn tcp(&self, s: TcpState) -> u32 {
        self.tcp[s as usize]
    }

    /// Timeout of UDP flows.
    pub fn udp(&self) -> u32 {
        self.udp
    }

    /// Timeout of an entry in `state`.
    pub fn for_state(&self, state: ConnState) -> u32 {
        match state {
            ConnState::Tcp(s) => self.tcp(s),
            ConnState::Udp(_) => self.udp,
        }
    }

    /// `ipvsadm --set tcp tcpfin udp`: `tcp` sets ESTABLISHED, `tcpfin` sets FIN_WAIT, `udp`
    /// sets UDP; a zero keeps the current value. Nothing changes when an error is returned.
    pub fn set(&mut self, t: Timeouts) -> Result<(), TimeoutError> {
        if let Some((which, secs)) = t.too_large() {
            return Err(TimeoutError::TooLarge { which, secs });
        }
        let Timeouts { tcp, tcpfin, udp } = t;
        if tcp != 0 {
            self.tcp[TcpState::Established as usize] = tcp;
        }
        if tcpfin != 0 {
            self.tcp[TcpState::FinWait as usize] = tcpfin;
        }
        if udp != 0 {
            self.udp = udp;
        }
        Ok(())
    }

    /// The three values `ipvsadm -L --timeout` prints: ESTABLISHED, FIN_WAIT, UDP.
    pub fn ipvsadm(&self) -> Timeouts {
        Timeouts {
            tcp: self.tcp(TcpState::Established),
            tcpfin: self.tcp(TcpState::FinWait),
            udp: self.udp,
        }
    }

    /// Sets the timeout of one TCP state (at least 1 s).
    pub fn set_tcp_state(&mut self, s: TcpState, secs: u32) -> Result<(), TimeoutError> {
        if secs == 0 {
            return Err(TimeoutError::Zero { which: s.name() });
        }
        if secs > MAX_TIMEOUT_S {
            return Err(TimeoutError::TooLarge { which: s.name(), secs });
        }
        self.tcp[s as usize] = secs;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tm(tcp: u32, tcpfin: u32, udp: u32) -> Timeouts {
        Timeouts { tcp, tcpfin, udp }
    }

    #[test]
    fn defaults_print_as_ipvsadm() {
        assert_eq!(StateTimeouts::default().ipvsadm(), Timeouts::default());
    }

    #[test]
    fn set_zero_keeps_current() {
        let mut t = StateTimeouts::default();
        t.set(tm(100, 0, 0)).unwrap();
        assert_eq!(t.ipvsadm(), tm(100, 120, 300));
        t.set(tm(0, 30, 0)).unwrap();
        assert_eq!(t.ipvsadm(), tm(100, 30, 300));
        t.set(tm(0, 0, 5)).unwrap();
        assert_eq!(t.ipvsadm(), tm(100, 30, 5));
        t.set(tm(0, 0, 0)).unwrap();
        assert_eq!(t.ipvsadm(), tm(100, 30, 5));
        // tcpfin touches FIN_WAIT only.
        assert_eq!(t.tcp(TcpState::TimeWait), 120);
        assert_eq!(t.tcp(TcpState::CloseWait), 60);
        assert_eq!(t.for_state(ConnState::Tcp(TcpState::FinWait)), 30);
        assert_eq!(t.for_state(ConnState::Udp(UdpState::Normal)), 5);
    }

    #[test]
    fn set_refuses_too_large_atomically() {
        let mut t = StateTimeouts::default();
        let e = t.set(tm(10, MAX_TIMEOUT_S + 1, 10)).unwrap_err();
        assert_eq!(e, TimeoutError::TooLarge { which: "tcpfin", secs: MAX_TIMEOUT_S + 1 });
        assert!(e.to_string().contains("tcpfin timeout"));
        assert_eq!(t, StateTimeouts::default());
        t.set(tm(MAX_TIMEOUT_S, 0, 0)).unwrap();
        assert!(t.set_tcp_state(TcpState::Close, 0).is_err());
        t.set_tcp_state(TcpState::Close, 3).unwrap();
        assert_eq!(t.tcp(TcpState::Close), 3);
    }

    #[test]
    fn transition_activity() {
        let est = ConnState::Tcp(TcpState::Established);
        let syn = ConnState::Tcp(TcpState::SynRecv);
        let fin = ConnState::Tcp(TcpState::FinWait);
        let t = |from, to| Transition { from, to };
        assert_eq!(t(syn, est).activity_change(), Some(true));
        assert_eq!(t(est, fin).activity_change(), Some(false));
        assert_eq!(t(est, est).activity_change(), None);
        assert_eq!(t(syn, fin).activity_change(), None);
        assert!(!is_active(ConnState::Udp(UdpState::Normal)));
        assert!(is_active(est));
        assert_eq!(ConnState::initial(IpProtocol::TCP), Some(ConnState::Tcp(TcpState::None)));
        assert_eq!(ConnState::initial(IpProtocol::UDP).map(|s| s.name()), Some("UDP"));
        assert_eq!(ConnState::initial(IpProtocol::ICMP), Some(ConnState::Udp(UdpState::Normal)));
        assert_eq!(ConnState::initial(IpProtocol::GRE), None);
        for s in TcpState::ALL {
            assert_eq!(ConnState::from_u8(ConnState::Tcp(s).to_u8()), ConnState::Tcp(s));
        }
        let u = ConnState::Udp(UdpState::Normal);
        assert_eq!(ConnState::from_u8(u.to_u8()), u);
        assert_eq!(ConnState::from_u8(200), ConnState::Tcp(TcpState::Close));
    }
}
