//! The UDP "state machine": one state, shown as `UDP`, whose timeout every packet refreshes.
//!
//! Owns [`UdpState`] and its default timeout. Knows nothing of tables or packets.

/// The only state of a UDP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
pub enum UdpState {
    /// A UDP flow seen in either direction; never counted as active.
    #[default]
    Normal = 0,
}

impl UdpState {
    /// The name `ipvsadm -L -c` prints.
    pub const fn name(self) -> &'static str {
        "UDP"
    }

    /// UDP flows are never counted as active connections (IPVS semantics: only an
    /// established TCP connection is).
    pub const fn is_active(self) -> bool {
        false
    }
}

/// Kernel default UDP timeout, in seconds.
pub const DEFAULT_TIMEOUT: u32 = 5 * 60;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn udp_state_facts() {
        assert_eq!(UdpState::Normal.name(), "UDP");
        assert!(!UdpState::Normal.is_active());
        assert_eq!(DEFAULT_TIMEOUT, 300);
    }
}
