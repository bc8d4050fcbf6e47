//! The BFD control packet (RFC 5880 §4.1): parse from untrusted bytes, emit into a buffer.
//!
//! Owns the byte layout and the reception checks that need no session (§6.8.6: version 1,
//! length, detect multiplier, multipoint bit, my discriminator, your discriminator vs state,
//! the authentication bit). Parsing never panics on any input; every refusal is a typed
//! [`Error`].

use thiserror::Error;

/// Length of the mandatory section, without authentication.
pub const LEN: usize = 24;
/// The protocol version this codec speaks.
pub const VERSION: u8 = 1;
/// UDP destination port of single-hop control packets (RFC 5881 §4).
pub const PORT: u16 = 3784;
/// The range a single-hop source port must come from (RFC 5881 §4).
pub const SOURCE_PORTS: core::ops::RangeInclusive<u16> = 49152..=65535;

/// A session state as carried in the `Sta` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// 0: administratively down.
    AdminDown,
    /// 1: down.
    Down,
    /// 2: init.
    Init,
    /// 3: up.
    Up,
}

impl State {
    fn from_bits(b: u8) -> State {
        match b & 3 {
            0 => State::AdminDown,
            1 => State::Down,
            2 => State::Init,
            _ => State::Up,
        }
    }
    fn bits(self) -> u8 {
        match self {
            State::AdminDown => 0,
            State::Down => 1,
            State::Init => 2,
            State::Up => 3,
        }
    }
    /// The lower-case name used in metrics and logs.
    pub fn name(self) -> &'static str {
        match self {
            State::AdminDown => "admin_down",
            State::Down => "down",
            State::Init => "init",
            State::Up => "up",
        }
    }
}

/// The diagnostic code (RFC 5880 §4.1); values 9-31 are carried as [`Diag::Other`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Diag {
    /// 0
    None,
    /// 1
    ControlDetectionTimeExpired,
    /// 2
    EchoFailed,
    /// 3
    NeighborSignaledDown,
    /// 4
    ForwardingPlaneReset,
    /// 5
    PathDown,
    /// 6
    ConcatenatedPathDown,
    /// 7
    AdministrativelyDown,
    /// 8
    ReverseConcatenatedPathDown,
    /// 9-31, reserved.
    Other(u8),
}

impl Diag {
    fn from_bits(b: u8) -> Diag {
        match b & 0x1f {
            0 => Diag::None,
            1 => Diag::ControlDetectionTimeExpired,
            2 => Diag::EchoFailed,
            3 => Diag::NeighborSignaledDown,
            4 => Diag::ForwardingPlaneReset,
            5 => Diag::PathDown,
            6 => Diag::ConcatenatedPathDown,
            7 => Diag::AdministrativelyDown,
            8 => Diag::ReverseConcatenatedPathDown,
            n => Diag::Other(n),
        }
    }
    fn bits(self) -> u8 {
        match self {
            Diag::None => 0,
            Diag::ControlDetectionTimeExpired => 1,
            Diag::EchoFailed => 2,
            Diag::NeighborSignaledDown => 3,
            Diag::ForwardingPlaneReset => 4,
            Diag::PathDown => 5,
            Diag::ConcatenatedPathDown => 6,
            Diag::AdministrativelyDown => 7,
            Diag::ReverseConcatenatedPathDown => 8,
            Diag::Other(n) => n & 0x1f,
        }
    }
}

/// Why received bytes are not a control packet this codec accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum Error {
    /// Fewer bytes than the mandatory section.
    #[error("BFD packet of {0} bytes is shorter than the 24-byte control packet")]
    Truncated(usize),
    /// The version field is not 1.
    #[error("BFD version {0} is not supported (only version 1)")]
    Version(u8),
    /// The length field is below the minimum or above the bytes received.
    #[error("BFD length field {field} does not fit the {received} bytes received")]
    Length {
        /// The length field.
        field: u8,
        /// The payload length.
        received: usize,
    },
    /// Detect Mult is zero.
    #[error("BFD detect multiplier is zero")]
    ZeroDetectMult,
    /// The Multipoint bit is set.
    #[error("BFD multipoint bit is set")]
    Multipoint,
    /// My Discriminator is zero.
    #[error("BFD my discriminator is zero")]
    ZeroMyDiscriminator,
    /// Your Discriminator is zero in a state other than Down or AdminDown.
    #[error("BFD your discriminator is zero in state {0:?}")]
    ZeroYourDiscriminator(State),
    /// The Authentication Present bit is set; this speaker has no authentication.
    #[error("BFD authentication is not supported")]
    AuthNotSupported,
    /// The output buffer is shorter than 24 bytes.
    #[error("buffer of {0} bytes is too short for a BFD control packet")]
    BufferTooShort(usize),
}

/// A BFD control packet, parsed (RFC 5880 §4.1). Intervals are in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ControlPacket {
    /// Diagnostic code.
    pub diag: Diag,
    /// The sender's state.
    pub state: State,
    /// Poll (P) bit.
    pub poll: bool,
    /// Final (F) bit.
    pub final_: bool,
    /// Control Plane Independent (C) bit.
    pub cpi: bool,
    /// Demand (D) bit.
    pub demand: bool,
    /// Detect Mult; never zero once parsed.
    pub detect_mult: u8,
    /// My Discriminator; never zero once parsed.
    pub my_discr: u32,
    /// Your Discriminator.
    pub your_discr: u32,
    /// Desired Min TX Interval.
    pub desired_min_tx: u32,
    /// Required Min RX Interval.
    pub required_min_rx: u32,
    /// Required Min Echo RX Interval.
    pub required_min_echo_rx: u32,
}

fn be32(b: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    if let Some(s) = b.get(at..at + 4) {
        w.copy_from_slice(s);
    }
    u32::from_be_bytes(w)
}

impl ControlPacket {
    /// Parses `bytes` (the UDP payload) with every session-independent check of RFC 5880
    /// §6.8.6. Bytes after the length field's end are ignored.
    pub fn parse(bytes: &[u8]) -> Result<ControlPacket, Error> {
        if bytes.len() < LEN {
            return Err(Error::Truncated(bytes.len()));
        }
        let version = bytes[0] >> 5;
        if version != VERSION {
            return Err(Error::Version(version));
        }
        let flags = bytes[1];
        let auth = flags & 0x04 != 0;
        let length = bytes[3];
        let min = if auth { LEN + 2 } else { LEN };
        if usize::from(length) < min || usize::from(length) > bytes.len() {
            return Err(Error::Length { field: length, received: bytes.len() });
        }
        let p = ControlPacket {
            diag: Diag::from_bits(bytes[0]),
            state: State::from_bits(flags >> 6),
            poll: flags & 0x20 != 0,
            final_: flags & 0x10 != 0,
            cpi: flags & 0x08 != 0,
            demand: flags & 0x02 != 0,
            detect_mult: bytes[2],
            my_discr: be32(bytes, 4),
            your_discr: be32(bytes, 8),
            desired_min_tx: be32(bytes, 12),
            required_min_rx: be32(bytes, 16),
            required_min_echo_rx: be32(bytes, 20),
        };
        if p.detect_mult == 0 {
            return Err(Error::ZeroDetectMult);
        }
        if flags & 0x01 != 0 {
            return Err(Error::Multipoint);
        }
        if p.my_discr == 0 {
            return Err(Error::ZeroMyDiscriminator);
        }
        if p.your_discr == 0 && !matches!(p.state, State::Down | State::AdminDown) {
            return Err(Error::ZeroYourDiscriminator(p.state));
        }
        if auth {
            return Err(Error::AuthNotSupported);
        }
        Ok(p)
    }

    /// Writes the packet (24 bytes, no authentication) at the start of `out`; returns the
    /// length written.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, Error> {
        let Some(b) = out.get_mut(..LEN) else {
            return Err(Error::BufferTooShort(out.len()));
        };
        b[0] = (VERSION << 5) | self.diag.bits();
        b[1] = (self.state.bits() << 6)
            | (u8::from(self.poll) << 5)
            | (u8::from(self.final_) << 4)
            | (u8::from(self.cpi) << 3)
            | (u8::from(self.demand) << 1);
        b[2] = self.detect_mult;
        b[3] = LEN as u8;
        b[4..8].copy_from_slice(&self.my_discr.to_be_bytes());
        b[8..12].copy_from_slice(&self.your_discr.to_be_bytes());
        b[12..16].copy_from_slice(&self.desired_min_tx.to_be_bytes());
        b[16..20].copy_from_slice(&self.required_min_rx.to_be_bytes());
        b[20..24].copy_from_slice(&self.required_min_echo_rx.to_be_bytes());
        Ok(LEN)
    }

    /// The packet as a 24-byte array.
    pub fn to_bytes(&self) -> [u8; LEN] {
        let mut b = [0u8; LEN];
        // The array is exactly LEN bytes, so emit cannot fail.
        let _ = self.emit(&mut b);
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> ControlPacket {
        ControlPacket {
            diag: Diag::None,
            state: State::Up,
            poll: true,
            final_: false,
            cpi: false,
            demand: false,
            detect_mult: 3,
            my_discr: 0x0102_0304,
            your_discr: 7,
            desired_min_tx: 300_000,
            required_min_rx: 300_000,
            required_min_echo_rx: 0,
        }
    }

    #[test]
    fn the_emitted_bytes_follow_the_rfc_layout() {
        let b = sample().to_bytes();
        assert_eq!(b[0], 0x20, "version 1, diag 0");
        assert_eq!(b[1], 0xe0, "state Up (3) and the P bit");
        assert_eq!(b[2], 3);
        assert_eq!(b[3], 24);
        assert_eq!(&b[4..8], &[1, 2, 3, 4]);
        assert_eq!(&b[12..16], &300_000u32.to_be_bytes());
        assert_eq!(ControlPacket::parse(&b), Ok(sample()));
    }

    /// The first packet BIRD 2.0.12 (Debian's `bird2`, `protocol bfd { neighbor ... }`) sent to
    /// a silent neighbour, captured on a veth pair with its TTL (255).
    #[test]
    fn a_packet_bird_sent_parses_and_a_session_answers_it() {
        let bird = [
            0x20, 0x40, 0x05, 0x18, 0x92, 0xec, 0x09, 0xd2, 0, 0, 0, 0, 0x00, 0x0f, 0x42, 0x40,
            0x00, 0x00, 0x27, 0x10, 0, 0, 0, 0,
        ];
        let p = ControlPacket::parse(&bird).unwrap();
        assert_eq!((p.state, p.diag, p.detect_mult), (State::Down, Diag::None, 5));
        assert_eq!((p.my_discr, p.your_discr), (0x92ec_09d2, 0));
        assert_eq!((p.desired_min_tx, p.required_min_rx), (1_000_000, 10_000));
        let cfg = crate::bfd::Config {
            min_tx: 100_000,
            min_rx: 100_000,
            idle_tx: 1_000_000,
            detect_mult: 3,
            passive: false,
        };
        let now = crate::time::Instant::from_secs(1);
        let mut s = crate::bfd::Session::new(cfg, 7, 1, now);
        s.receive(&p, now).unwrap();
        let out = s.transmit(now).unwrap();
        assert_eq!((out.state, out.your_discr), (State::Init, 0x92ec_09d2));
    }

    #[test]
    fn each_rfc_constraint_refuses_the_packet() {
        let good = sample().to_bytes();
        let with = |f: &dyn Fn(&mut [u8; 24])| {
            let mut b = good;
            f(&mut b);
            ControlPacket::parse(&b)
        };
        assert_eq!(ControlPacket::parse(&good[..23]), Err(Error::Truncated(23)));
        assert_eq!(with(&|b| b[0] = 0x40), Err(Error::Version(2)));
        assert_eq!(with(&|b| b[3] = 23), Err(Error::Length { field: 23, received: 24 }));
        assert_eq!(with(&|b| b[3] = 25), Err(Error::Length { field: 25, received: 24 }));
        assert_eq!(with(&|b| b[2] = 0), Err(Error::ZeroDetectMult));
        assert_eq!(with(&|b| b[1] |= 1), Err(Error::Multipoint));
        assert_eq!(with(&|b| b[4..8].fill(0)), Err(Error::ZeroMyDiscriminator));
        assert_eq!(with(&|b| b[8..12].fill(0)), Err(Error::ZeroYourDiscriminator(State::Up)));
        // Your discriminator 0 is fine while the sender is Down.
        assert!(with(&|b| {
            b[8..12].fill(0);
            b[1] = 0x40;
        })
        .is_ok());
        // The A bit with room for the auth header: refused as unsupported.
        let mut long = [0u8; 28];
        long[..24].copy_from_slice(&good);
        long[1] |= 0x04;
        long[3] = 28;
        assert_eq!(ControlPacket::parse(&long), Err(Error::AuthNotSupported));
        long[3] = 24;
        assert_eq!(ControlPacket::parse(&long), Err(Error::Length { field: 24, received: 28 }));
        assert_eq!(sample().emit(&mut [0u8; 10]), Err(Error::BufferTooShort(10)));
    }

    fn any_state() -> impl Strategy<Value = State> {
        (0u8..4).prop_map(State::from_bits)
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = ControlPacket::parse(&bytes);
        }

        #[test]
        fn a_valid_packet_round_trips(
            diag in 0u8..32, state in any_state(), poll: bool, fin: bool, cpi: bool,
            mult in 1u8.., my in 1u32.., your: u32, tx: u32, rx: u32, echo: u32,
        ) {
            let your = if your == 0 && !matches!(state, State::Down | State::AdminDown) { 1 } else { your };
            let p = ControlPacket {
                diag: Diag::from_bits(diag), state, poll, final_: fin, cpi, demand: false,
                detect_mult: mult, my_discr: my, your_discr: your,
                desired_min_tx: tx, required_min_rx: rx, required_min_echo_rx: echo,
            };
            prop_assert_eq!(ControlPacket::parse(&p.to_bytes()), Ok(p));
        }

        #[test]
        fn what_parses_emits_the_same_mandatory_section(bytes in proptest::collection::vec(any::<u8>(), 24..40)) {
            if let Ok(p) = ControlPacket::parse(&bytes) {
                // Emit always writes length 24 and clears the reserved bits it does not carry.
                let mut want = [0u8; LEN];
                want.copy_from_slice(&bytes[..LEN]);
                want[3] = LEN as u8;
                prop_assert_eq!(&p.to_bytes()[..], &want[..]);
                prop_assert_eq!(p.detect_mult != 0 && p.my_discr != 0, true);
            }
        }
    }
}
