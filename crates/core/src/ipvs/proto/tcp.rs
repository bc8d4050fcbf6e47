//! The TCP connection state machine of the director.
//!
//! Owns [`TcpState`], the events derived from TCP flags ([`TcpEvent`]), the three transition
//! tables (client to server, server to client, and client to server when replies bypass the
//! director) and the per-state default timeouts. It knows nothing of connection tables, packets
//! or clocks: callers hand it a state, a direction and the TCP flags of a packet ([`TcpFlags`],
//! `wire`'s one flags type) and get the
//! next state back. The tables and timeouts are the ones users of IPVS rely on, so that
//! `ipvsadm -L -c` output and active/inactive counts match what they know.

pub use crate::wire::TcpFlags;

/// The state of a TCP connection as the director tracks it.
///
/// The discriminants are stable (they index the transition and timeout tables).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum TcpState {
    /// Created, no packet seen yet (also the state of persistence templates).
    None = 0,
    /// Three-way handshake completed; the only state counted as an active connection.
    Established = 1,
    /// The server sent a SYN (seen only on server-to-client packets).
    SynSent = 2,
    /// The client's SYN was seen.
    SynRecv = 3,
    /// One side sent a FIN.
    FinWait = 4,
    /// Both sides sent a FIN.
    TimeWait = 5,
    /// Reset, or a packet without any of SYN, FIN, ACK, RST.
    Close = 6,
    /// The client closed first, the server has not yet.
    CloseWait = 7,
    /// Waiting for the last ACK.
    LastAck = 8,
    /// Listening (kept for compatibility of names and timeouts; no transition enters it).
    Listen = 9,
    /// SYN-ACK seen (kept for compatibility of names and timeouts).
    SynAck = 10,
}

impl TcpState {
    /// Number of states.
    pub const COUNT: usize = 11;

    /// All states in discriminant order.
    pub const ALL: [TcpState; TcpState::COUNT] = [
        TcpState::None,
        TcpState::Established,
        TcpState::SynSent,
        TcpState::SynRecv,
        TcpState::FinWait,
        TcpState::TimeWait,
        TcpState::Close,
        TcpState::CloseWait,
        TcpState::LastAck,
        TcpState::Listen,
        TcpState::SynAck,
    ];

    /// The name `ipvsadm -L -c` prints for this state.
    pub const fn name(self) -> &'static str {
        match self {
            TcpState::None => "NONE",
            TcpState::Established => "ESTABLISHED",
            TcpState::SynSent => "SYN_SENT",
            TcpState::SynRecv => "SYN_RECV",
            TcpState::FinWait => "FIN_WAIT",
            TcpState::TimeWait => "TIME_WAIT",
            TcpState::Close => "CLOSE",
            TcpState::CloseWait => "CLOSE_WAIT",
            TcpState::LastAck => "LAST_ACK",
            TcpState::Listen => "LISTEN",
            TcpState::SynAck => "SYNACK",
        }
    }

    /// Whether a connection in this state counts as active (`ActiveConn`) for its real
    /// server; every other state counts as inactive (`InActConn`).
    pub const fn is_active(self) -> bool {
        matches!(self, TcpState::Established)
    }

    /// The kernel default timeout of this state, in seconds.
    pub const fn default_timeout(self) -> u32 {
        match self {
            TcpState::None => 2,
            TcpState::Established => 15 * 60,
            TcpState::SynSent => 2 * 60,
            TcpState::SynRecv => 60,
            TcpState::FinWait => 2 * 60,
            TcpState::TimeWait => 2 * 60,
            TcpState::Close => 10,
            TcpState::CloseWait => 60,
            TcpState::LastAck => 30,
            TcpState::Listen => 2 * 60,
            TcpState::SynAck => 2 * 60,
        }
    }
}

/// What a packet says to the state machine, derived from its flags by [`TcpEvent::from_flags`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum TcpEvent {
    /// SYN set (and RST clear).
    Syn = 0,
    /// FIN set (SYN and RST clear).
    Fin = 1,
    /// ACK set (SYN, FIN and RST clear).
    Ack = 2,
    /// RST set, whatever else is.
    Rst = 3,
}

impl TcpEvent {
    /// Derives the event from a TCP flags byte with a fixed precedence: RST wins, then SYN,
    /// then FIN, then ACK. PSH, URG, ECE and CWR do not matter.
    ///
    /// Combinations that make no sense on the wire are handled like this, on purpose and as
    /// users of IPVS know it:
    /// - SYN+RST (and any other combination with RST) is [`TcpEvent::Rst`];
    /// - SYN+FIN is [`TcpEvent::Syn`];
    /// - no SYN, FIN, ACK or RST at all returns `None`, which [`next_state`] turns into
    ///   [`TcpState::Close`] so that such a connection is forgotten quickly.
    ///
    /// Whether to forward such packets at all is the caller's policy; [`is_suspicious`] names
    /// them.
    pub const fn from_flags(tcp_flags: TcpFlags) -> Option<TcpEvent> {
        if tcp_flags.contains(TcpFlags::RST) {
            Some(TcpEvent::Rst)
        } else if tcp_flags.contains(TcpFlags::SYN) {
            Some(TcpEvent::Syn)
        } else if tcp_flags.contains(TcpFlags::FIN) {
            Some(TcpEvent::Fin)
        } else if tcp_flags.contains(TcpFlags::ACK) {
            Some(TcpEvent::Ack)
        } else {
            None
        }
    }
}

/// Whether a flags combination is one no conforming stack sends: SYN with FIN or RST, FIN with RST,
/// or none of SYN, FIN, ACK, RST.
pub const fn is_suspicious(tcp_flags: TcpFlags) -> bool {
    let syn = tcp_flags.contains(TcpFlags::SYN);
    let fin = tcp_flags.contains(TcpFlags::FIN);
    let rst = tcp_flags.contains(TcpFlags::RST);
    let ack = tcp_flags.contains(TcpFlags::ACK);
    (syn && (fin || rst)) || (fin && rst) || !(syn || fin || rst || ack)
}

/// Which way a packet travels, as the state machine distinguishes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum TcpDir {
    /// Client to server, for a connection whose replies also pass the director.
    Input = 0,
    /// Server to client.
    Output = 1,
    /// Client to server, for a connection whose replies bypass the director (DR, TUN) and
    /// none has been seen so far.
    InputOnly = 2,
}

// No transition enters NONE or SYNACK, so they have no short name here.
use TcpState::{
    Close as CL, CloseWait as CW, Established as ES, FinWait as FW, LastAck as LA, Listen as LI,
    SynRecv as SR, SynSent as SS, TimeWait as TW,
};

/// `TABLE[dir][event][state]` is the next state. Columns follow the [`TcpState`]
/// discriminants: NONE, ESTABLISHED, SYN_SENT, SYN_RECV, FIN_WAIT, TIME_WAIT, CLOSE,
/// CLOSE_WAIT, LAST_ACK, LISTEN, SYNACK.
const TABLE: [[[TcpState; TcpState::COUNT]; 4]; 3] = [
    // Input: client to server, replies seen too.
    [
        /* syn */ [SR, ES, ES, SR, SR, SR, SR, SR, SR, SR, SR],
        /* fin */ [CL, CW, SS, TW, TW, TW, CL, CW, LA, LI, TW],
        /* ack */ [CL, ES, SS, ES, FW, TW, CL, CW, CL, LI, ES],
        /* rst */ [CL, CL, CL, SR, CL, CL, CL, CL, LA, LI, SR],
    ],
    // Output: server to client.
    [
        /* syn */ [SS, ES, SS, SR, SS, SS, SS, SS, SS, LI, SR],
        /* fin */ [TW, FW, SS, TW, FW, TW, CL, TW, LA, LI, TW],
        /* ack */ [ES, ES, SS, ES, FW, TW, CL, CW, LA, ES, ES],
        /* rst */ [CL, CL, SS, CL, CL, TW, CL, CL, CL, CL, CL],
    ],
    // Input-only: client to server, replies never seen.
    [
        /* syn */ [SR, ES, ES, SR, SR, SR, SR, SR, SR, SR, SR],
        /* fin */ [CL, FW, SS, TW, FW, TW, CL, CW, LA, LI, TW],
        /* ack */ [CL, ES, SS, ES, FW, TW, CL, CW, CL, LI, ES],
        /* rst */ [CL, CL, CL, SR, CL, CL, CL, CL, LA, LI, CL],
    ],
];

/// The state after a packet with `tcp_flags` travelling in `dir` reaches a connection in
/// `state`. See [`TcpEvent::from_flags`] for how flags become an event; a packet without any
/// of SYN, FIN, ACK, RST moves the connection to [`TcpState::Close`].
pub fn next_state(state: TcpState, dir: TcpDir, tcp_flags: TcpFlags) -> TcpState {
    match TcpEvent::from_flags(tcp_flags) {
        Some(ev) => transition(state, dir, ev),
        None => TcpState::Close,
    }
}

/// The table lookup behind [`next_state`], for an event already derived.
pub const fn transition(state: TcpState, dir: TcpDir, ev: TcpEvent) -> TcpState {
    TABLE[dir as usize][ev as usize][state as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIN: TcpFlags = TcpFlags::FIN;
    const SYN: TcpFlags = TcpFlags::SYN;
    const RST: TcpFlags = TcpFlags::RST;
    const PSH: TcpFlags = TcpFlags::PSH;
    const ACK: TcpFlags = TcpFlags::ACK;
    const URG: TcpFlags = TcpFlags::URG;

    fn run(start: TcpState, steps: &[(TcpDir, TcpFlags)]) -> Vec<TcpState> {
        let mut s = start;
        steps
            .iter()
            .map(|&(d, f)| {
                s = next_state(s, d, f);
                s
            })
            .collect()
    }

    #[test]
    fn names_are_ipvsadm_names() {
        let names: Vec<_> = TcpState::ALL.iter().map(|s| s.name()).collect();
        assert_eq!(
            names,
            [
                "NONE",
                "ESTABLISHED",
                "SYN_SENT",
                "SYN_RECV",
                "FIN_WAIT",
                "TIME_WAIT",
                "CLOSE",
                "CLOSE_WAIT",
                "LAST_ACK",
                "LISTEN",
                "SYNACK"
            ]
        );
        for (i, s) in TcpState::ALL.iter().enumerate() {
            assert_eq!(*s as usize, i);
        }
    }

    #[test]
    fn default_timeouts_are_kernel_defaults() {
        let t: Vec<_> = TcpState::ALL.iter().map(|s| s.default_timeout()).collect();
        assert_eq!(t, [2, 900, 120, 60, 120, 120, 10, 60, 30, 120, 120]);
    }

    #[test]
    fn only_established_is_active() {
        for s in TcpState::ALL {
            assert_eq!(s.is_active(), s == TcpState::Established, "{s:?}");
        }
    }

    #[test]
    fn flag_precedence() {
        assert_eq!(TcpEvent::from_flags(SYN), Some(TcpEvent::Syn));
        assert_eq!(TcpEvent::from_flags(SYN | ACK), Some(TcpEvent::Syn));
        assert_eq!(TcpEvent::from_flags(FIN | ACK), Some(TcpEvent::Fin));
        assert_eq!(TcpEvent::from_flags(ACK | PSH), Some(TcpEvent::Ack));
        assert_eq!(TcpEvent::from_flags(RST | ACK), Some(TcpEvent::Rst));
        // Nonsense combinations.
        assert_eq!(TcpEvent::from_flags(SYN | RST), Some(TcpEvent::Rst));
        assert_eq!(TcpEvent::from_flags(SYN | FIN), Some(TcpEvent::Syn));
        assert_eq!(TcpEvent::from_flags(FIN | RST), Some(TcpEvent::Rst));
        assert_eq!(TcpEvent::from_flags(TcpFlags(0)), None);
        assert_eq!(TcpEvent::from_flags(PSH | URG), None);
        assert!(is_suspicious(SYN | FIN));
        assert!(is_suspicious(SYN | RST));
        assert!(is_suspicious(FIN | RST | ACK));
        assert!(is_suspicious(PSH));
        assert!(!is_suspicious(SYN));
        assert!(!is_suspicious(SYN | ACK));
        assert!(!is_suspicious(FIN | ACK | PSH));
        assert!(!is_suspicious(RST));
    }

    #[test]
    fn flagless_packet_closes() {
        for s in TcpState::ALL {
            for d in [TcpDir::Input, TcpDir::Output, TcpDir::InputOnly] {
                assert_eq!(next_state(s, d, PSH), TcpState::Close);
            }
        }
    }

    #[test]
    fn nat_handshake_data_and_client_close() {
        use TcpDir::{Input as I, Output as O};
        use TcpState::*;
        let got = run(
            None,
            &[
                (I, SYN),
                (O, SYN | ACK),
                (I, ACK),
                (I, ACK | PSH),
                (O, ACK | PSH),
                (I, FIN | ACK),
                (O, ACK),
                (O, FIN | ACK),
                (I, ACK),
            ],
        );
        assert_eq!(
            got,
            [
                SynRecv,
                SynRecv,
                Established,
                Established,
                Established,
                CloseWait,
                CloseWait,
                TimeWait,
                TimeWait
            ]
        );
    }

    #[test]
    fn nat_server_closes_first() {
        use TcpDir::{Input as I, Output as O};
        use TcpState::*;
        let got = run(Established, &[(O, FIN | ACK), (I, ACK), (I, FIN | ACK), (O, ACK)]);
        assert_eq!(got, [FinWait, FinWait, TimeWait, TimeWait]);
    }

    #[test]
    fn dr_input_only_sequence() {
        use TcpDir::InputOnly as IO;
        use TcpState::*;
        let got = run(None, &[(IO, SYN), (IO, ACK), (IO, ACK | PSH), (IO, FIN | ACK), (IO, ACK)]);
        assert_eq!(got, [SynRecv, Established, Established, FinWait, FinWait]);
        // A client FIN right after its SYN (handshake never completed) goes to TIME_WAIT.
        assert_eq!(next_state(SynRecv, IO, FIN | ACK), TimeWait);
    }

    #[test]
    fn rst_handling() {
        use TcpDir::*;
        use TcpState::*;
        assert_eq!(next_state(Established, Input, RST), Close);
        assert_eq!(next_state(Established, Output, RST | ACK), Close);
        assert_eq!(next_state(Established, InputOnly, RST), Close);
        // A reset during SYN_RECV from the client keeps SYN_RECV (may be a spoofed RST).
        assert_eq!(next_state(SynRecv, Input, RST), SynRecv);
        assert_eq!(next_state(SynRecv, InputOnly, RST), SynRecv);
        // ...but the server's reset closes it.
        assert_eq!(next_state(SynRecv, Output, RST), Close);
        // TIME_WAIT survives a server reset.
        assert_eq!(next_state(TimeWait, Output, RST), TimeWait);
        assert_eq!(next_state(LastAck, Input, RST), LastAck);
        // The two inputs differ on SYNACK + RST.
        assert_eq!(next_state(SynAck, Input, RST), SynRecv);
        assert_eq!(next_state(SynAck, InputOnly, RST), Close);
    }

    #[test]
    fn bare_ack_on_new_conn_closes_from_client_but_establishes_from_server() {
        assert_eq!(next_state(TcpState::None, TcpDir::Input, ACK), TcpState::Close);
        assert_eq!(next_state(TcpState::None, TcpDir::InputOnly, ACK), TcpState::Close);
        assert_eq!(next_state(TcpState::None, TcpDir::Output, ACK), TcpState::Established);
    }

    #[test]
    fn input_and_input_only_differ_only_where_expected() {
        let mut diffs = vec![];
        for s in TcpState::ALL {
            for ev in [TcpEvent::Syn, TcpEvent::Fin, TcpEvent::Ack, TcpEvent::Rst] {
                let a = transition(s, TcpDir::Input, ev);
                let b = transition(s, TcpDir::InputOnly, ev);
                if a != b {
                    diffs.push((s, ev, a, b));
                }
            }
        }
        assert_eq!(
            diffs,
            [
                (TcpState::Established, TcpEvent::Fin, TcpState::CloseWait, TcpState::FinWait),
                (TcpState::FinWait, TcpEvent::Fin, TcpState::TimeWait, TcpState::FinWait),
                (TcpState::SynAck, TcpEvent::Rst, TcpState::SynRecv, TcpState::Close),
            ]
        );
    }
}
