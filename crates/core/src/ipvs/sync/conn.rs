//! One sync entry: a connection as the kernel's version 1 format carries it, with its options,
//! and its encoding and decoding.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::error::{EncodeError, SyncError};
use super::{
    flags, CONN_V4_LEN, CONN_V6_LEN, MAX_CONN_LEN, OPT_FULLNAT_LOCAL, OPT_F_OPTIONAL, OPT_PE_DATA,
    OPT_PE_NAME, OPT_SEQ_DATA, PE_DATA_MAX, PE_NAME_MAX,
};

/// Bit of the entry type that says IPv6.
const TYPE_INET6: u8 = 1;
/// Length of the sequence option's data (two `ip_vs_seq`).
const SEQ_DATA_LEN: usize = 24;

/// The client, virtual and destination addresses of an entry, one family for all three.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SyncAddrs {
    /// An IPv4 connection.
    V4 {
        /// Client address.
        caddr: Ipv4Addr,
        /// Virtual (service) address.
        vaddr: Ipv4Addr,
        /// Destination (real server) address.
        daddr: Ipv4Addr,
    },
    /// An IPv6 connection.
    V6 {
        /// Client address.
        caddr: Ipv6Addr,
        /// Virtual (service) address.
        vaddr: Ipv6Addr,
        /// Destination (real server) address.
        daddr: Ipv6Addr,
    },
}

impl SyncAddrs {
    /// The client address.
    pub fn caddr(&self) -> IpAddr {
        match *self {
            SyncAddrs::V4 { caddr, .. } => caddr.into(),
            SyncAddrs::V6 { caddr, .. } => caddr.into(),
        }
    }
    /// The virtual address.
    pub fn vaddr(&self) -> IpAddr {
        match *self {
            SyncAddrs::V4 { vaddr, .. } => vaddr.into(),
            SyncAddrs::V6 { vaddr, .. } => vaddr.into(),
        }
    }
    /// The destination address.
    pub fn daddr(&self) -> IpAddr {
        match *self {
            SyncAddrs::V4 { daddr, .. } => daddr.into(),
            SyncAddrs::V6 { daddr, .. } => daddr.into(),
        }
    }
    fn is_v6(&self) -> bool {
        matches!(self, SyncAddrs::V6 { .. })
    }
    fn fixed_len(&self) -> usize {
        if self.is_v6() {
            CONN_V6_LEN
        } else {
            CONN_V4_LEN
        }
    }
}

/// One direction's TCP sequence adjustment (`struct ip_vs_seq`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SeqAdjust {
    /// Sequence number where the adjustment starts.
    pub init_seq: u32,
    /// Delta applied after `init_seq`.
    pub delta: u32,
    /// Delta applied before it.
    pub previous_delta: u32,
}

/// The sequence adjustment option (both directions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SeqData {
    /// Client-to-server adjustment.
    pub in_seq: SeqAdjust,
    /// Server-to-client adjustment.
    pub out_seq: SeqAdjust,
}

/// Persistence-engine data and the engine's name (the kernel's `sip` engine sends them).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PeData {
    /// The engine's name (1 to 16 bytes).
    pub name: Vec<u8>,
    /// Its data (1 to 255 bytes).
    pub data: Vec<u8>,
}

/// The forwarding method bits of an entry's flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SyncFwd {
    /// NAT (and FULLNAT when the entry carries a local address).
    Masq,
    /// Local node.
    Local,
    /// IP tunnel.
    Tunnel,
    /// Direct routing.
    DirectRoute,
    /// Cache bypass.
    Bypass,
    /// A value the kernel does not define (5 to 7).
    Other(u8),
}

/// A connection (or persistence template) as one sync entry carries it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SyncConn {
    /// IP protocol number (6 TCP, 17 UDP, 132 SCTP).
    pub protocol: u8,
    /// `IP_VS_CONN_F_*` flags ([`flags`]).
    pub flags: u32,
    /// Protocol state in the kernel's numbering (`IP_VS_TCP_S_*`; 0 for UDP).
    pub state: u16,
    /// Client port.
    pub cport: u16,
    /// Virtual port.
    pub vport: u16,
    /// Destination port.
    pub dport: u16,
    /// Firewall mark of a fwmark service (0 otherwise).
    pub fwmark: u32,
    /// Remaining timeout in seconds (0: the receiver's default for the state).
    pub timeout: u32,
    /// The three addresses.
    pub addrs: SyncAddrs,
    /// Sequence adjustment, when the flags carry `IN_SEQ`/`OUT_SEQ`.
    pub seq: Option<SeqData>,
    /// Persistence-engine data.
    pub pe: Option<PeData>,
    /// rvs's FULLNAT extension: the director's local address and port towards the real server.
    pub local: Option<SocketAddr>,
}

impl SyncConn {
    /// The forwarding method bits.
    pub fn fwd(&self) -> SyncFwd {
        match self.flags & flags::FWD_MASK {
            0 => SyncFwd::Masq,
            1 => SyncFwd::Local,
            2 => SyncFwd::Tunnel,
            3 => SyncFwd::DirectRoute,
            4 => SyncFwd::Bypass,
            n => SyncFwd::Other(n as u8),
        }
    }

    /// Whether this is a persistence template.
    pub fn is_template(&self) -> bool {
        self.flags & flags::TEMPLATE != 0
    }

    /// Length of the encoded entry (without the padding that may follow it).
    pub fn encoded_len(&self) -> usize {
        let mut len = self.addrs.fixed_len();
        if self.seq.is_some() {
            len += 2 + SEQ_DATA_LEN;
        }
        if let Some(pe) = &self.pe {
            len += 2 + pe.data.len() + 2 + pe.name.len();
        }
        if let Some(l) = self.local {
            len += 2 + local_len(&l);
        }
        len
    }

    /// Checks what encoding needs: the local address's family, the engine's lengths, the size.
    pub fn validate(&self) -> Result<(), EncodeError> {
        if let Some(l) = self.local {
            if l.is_ipv6() != self.addrs.is_v6() {
                return Err(EncodeError::LocalFamily);
            }
        }
        if let Some(pe) = &self.pe {
            if pe.name.is_empty()
                || pe.name.len() > PE_NAME_MAX
                || pe.data.is_empty()
                || pe.data.len() > PE_DATA_MAX
            {
                return Err(EncodeError::PeLength);
            }
        }
        let len = self.encoded_len();
        if len > MAX_CONN_LEN {
            return Err(EncodeError::TooLong { len, maxlen: MAX_CONN_LEN });
        }
        Ok(())
    }

    /// Appends the entry to `out` (after [`SyncConn::validate`] succeeded). The flags go as
    /// given (the kernel clears `HASHED` before sending; rvs never sets it); the sequence option
    /// is written when `seq` is set.
    pub(super) fn emit(&self, out: &mut Vec<u8>) {
        let len = self.encoded_len();
        out.push(if self.addrs.is_v6() { TYPE_INET6 } else { 0 });
        out.push(self.protocol);
        // Version nibble 0, then the 12-bit size (validate() bounded it).
        out.extend_from_slice(&((len & MAX_CONN_LEN) as u16).to_be_bytes());
        out.extend_from_slice(&self.flags.to_be_bytes());
        out.extend_from_slice(&self.state.to_be_bytes());
        out.extend_from_slice(&self.cport.to_be_bytes());
        out.extend_from_slice(&self.vport.to_be_bytes());
        out.extend_from_slice(&self.dport.to_be_bytes());
        out.extend_from_slice(&self.fwmark.to_be_bytes());
        out.extend_from_slice(&self.timeout.to_be_bytes());
        match self.addrs {
            SyncAddrs::V4 { caddr, vaddr, daddr } => {
                for a in [caddr, vaddr, daddr] {
                    out.extend_from_slice(&a.octets());
                }
            }
            SyncAddrs::V6 { caddr, vaddr, daddr } => {
                for a in [caddr, vaddr, daddr] {
                    out.extend_from_slice(&a.octets());
                }
            }
        }
        if let Some(seq) = &self.seq {
            out.push(OPT_SEQ_DATA);
            out.push(SEQ_DATA_LEN as u8);
            for s in [seq.in_seq, seq.out_seq] {
                out.extend_from_slice(&s.init_seq.to_be_bytes());
                out.extend_from_slice(&s.delta.to_be_bytes());
                out.extend_from_slice(&s.previous_delta.to_be_bytes());
            }
        }
        if let Some(pe) = &self.pe {
            out.push(OPT_PE_DATA);
            out.push(pe.data.len() as u8);
            out.extend_from_slice(&pe.data);
            out.push(OPT_PE_NAME);
            out.push(pe.name.len() as u8);
            out.extend_from_slice(&pe.name);
        }
        if let Some(l) = self.local {
            out.push(OPT_FULLNAT_LOCAL);
            out.push(local_len(&l) as u8);
            match l.ip() {
                IpAddr::V4(a) => out.extend_from_slice(&a.octets()),
                IpAddr::V6(a) => out.extend_from_slice(&a.octets()),
            }
            out.extend_from_slice(&l.port().to_be_bytes());
        }
    }

    /// Reads one entry from `entry` (exactly its size bytes). `index` names it in errors;
    /// `ignored` counts optional options skipped.
    pub(super) fn parse(entry: &[u8], index: usize, ignored: &mut u32) -> Result<Self, SyncError> {
        let Some(&kind) = entry.first().filter(|_| entry.len() >= CONN_V4_LEN) else {
            return Err(SyncError::EntrySize { index, size: entry.len(), min: CONN_V4_LEN });
        };
        let v6 = match kind {
            0 => false,
            TYPE_INET6 => true,
            _ => return Err(SyncError::EntryType { index, kind }),
        };
        let min = if v6 { CONN_V6_LEN } else { CONN_V4_LEN };
        if entry.len() < min {
            return Err(SyncError::EntrySize { index, size: entry.len(), min });
        }
        let u16_at = |o: usize| u16::from_be_bytes([entry[o], entry[o + 1]]);
        let u32_at =
            |o: usize| u32::from_be_bytes([entry[o], entry[o + 1], entry[o + 2], entry[o + 3]]);
        let addrs = if v6 {
            let a = |o: usize| {
                let mut b = [0u8; 16];
                b.copy_from_slice(&entry[o..o + 16]);
                Ipv6Addr::from(b)
            };
            SyncAddrs::V6 { caddr: a(24), vaddr: a(40), daddr: a(56) }
        } else {
            let a = |o: usize| Ipv4Addr::new(entry[o], entry[o + 1], entry[o + 2], entry[o + 3]);
            SyncAddrs::V4 { caddr: a(24), vaddr: a(28), daddr: a(32) }
        };
        let mut conn = SyncConn {
            protocol: entry[1],
            flags: u32_at(4),
            state: u16_at(8),
            cport: u16_at(10),
            vport: u16_at(12),
            dport: u16_at(14),
            fwmark: u32_at(16),
            timeout: u32_at(20),
            addrs,
            seq: None,
            pe: None,
            local: None,
        };
        let (mut pe_data, mut pe_name) = (None::<&[u8]>, None::<&[u8]>);
        let mut p = min;
        while p < entry.len() {
            let (Some(&kind), Some(&len)) = (entry.get(p), entry.get(p + 1)) else {
                return Err(SyncError::OptionBounds { index, kind: entry[p], len: 0 });
            };
            let len = usize::from(len);
            let Some(data) = entry.get(p + 2..p + 2 + len).filter(|_| len > 0) else {
                return Err(SyncError::OptionBounds { index, kind, len });
            };
            let invalid = SyncError::OptionInvalid { index, kind, len };
            match kind {
                OPT_SEQ_DATA => {
                    if len != SEQ_DATA_LEN || conn.seq.is_some() {
                        return Err(invalid);
                    }
                    let w = |i: usize| {
                        u32::from_be_bytes([data[i], data[i + 1], data[i + 2], data[i + 3]])
                    };
                    conn.seq = Some(SeqData {
                        in_seq: SeqAdjust { init_seq: w(0), delta: w(4), previous_delta: w(8) },
                        out_seq: SeqAdjust { init_seq: w(12), delta: w(16), previous_delta: w(20) },
                    });
                }
                OPT_PE_DATA => {
                    if pe_data.is_some() {
                        return Err(invalid);
                    }
                    pe_data = Some(data);
                }
                OPT_PE_NAME => {
                    if len > PE_NAME_MAX || pe_name.is_some() {
                        return Err(invalid);
                    }
                    pe_name = Some(data);
                }
                OPT_FULLNAT_LOCAL => {
                    if conn.local.is_some() {
                        return Err(invalid);
                    }
                    conn.local = Some(match len {
                        6 => SocketAddr::new(
                            Ipv4Addr::new(data[0], data[1], data[2], data[3]).into(),
                            u16::from_be_bytes([data[4], data[5]]),
                        ),
                        18 => {
                            let mut b = [0u8; 16];
                            b.copy_from_slice(&data[..16]);
                            SocketAddr::new(
                                Ipv6Addr::from(b).into(),
                                u16::from_be_bytes([data[16], data[17]]),
                            )
                        }
                        _ => return Err(invalid),
                    });
                    if conn.local.is_some_and(|l| l.is_ipv6() != v6) {
                        return Err(SyncError::LocalFamily { index });
                    }
                }
                _ if kind & OPT_F_OPTIONAL != 0 => *ignored += 1,
                // The kernel drops the entry there and goes on with the next one.
                _ => return Err(SyncError::UnknownMandatoryOption { index, kind }),
            }
            p += 2 + len;
        }
        match (pe_data, pe_name) {
            (Some(data), Some(name)) => {
                conn.pe = Some(PeData { name: name.to_vec(), data: data.to_vec() })
            }
            (Some(_), None) => return Err(SyncError::PeWithoutName { index }),
            // A name alone carries nothing the receiver can use; the kernel ignores it too.
            _ => {}
        }
        Ok(conn)
    }
}

fn local_len(l: &SocketAddr) -> usize {
    if l.is_ipv6() {
        18
    } else {
        6
    }
}
