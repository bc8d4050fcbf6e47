//! The packet buffer abstraction shared by the sans-IO core and DPDK.
//!
//! Owns the [`PacketBuf`] trait and [`VecBuf`], its heap-backed implementation for tests, benches
//! and fuzzing. The DPDK `Mbuf` (in `crate::dpdk`) implements the same trait, so `wire`, `net` and
//! `ipvs` never know which one they hold. A buffer is a window `[data_start, data_end)` inside a
//! fixed region; prepend/adj move the start (encapsulation, decapsulation), append/trim the end.
//! Nothing here allocates once a buffer exists.

use thiserror::Error;

/// Why a buffer operation was refused. The buffer is unchanged when one is returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum BufError {
    /// Not enough headroom in front of the data for the requested prepend.
    #[error("not enough headroom: wanted {wanted} bytes, {available} available")]
    NoHeadroom { wanted: usize, available: usize },
    /// Not enough tailroom after the data for the requested append.
    #[error("not enough tailroom: wanted {wanted} bytes, {available} available")]
    NoTailroom { wanted: usize, available: usize },
    /// The data is shorter than the bytes to remove.
    #[error("buffer holds {len} bytes, cannot remove {wanted}")]
    TooShort { wanted: usize, len: usize },
}

/// A packet held in one contiguous buffer with room before and after the data.
pub trait PacketBuf {
    /// The packet's bytes.
    fn data(&self) -> &[u8];
    /// The packet's bytes, writable.
    fn data_mut(&mut self) -> &mut [u8];
    /// Bytes free in front of the data.
    fn headroom(&self) -> usize;
    /// Bytes free after the data.
    fn tailroom(&self) -> usize;
    /// Grows the data by `len` bytes at the front and returns them (contents unspecified).
    fn prepend(&mut self, len: usize) -> Result<&mut [u8], BufError>;
    /// Removes `len` bytes from the front.
    fn adj(&mut self, len: usize) -> Result<(), BufError>;
    /// Grows the data by `len` bytes at the end and returns them (contents unspecified).
    fn append(&mut self, len: usize) -> Result<&mut [u8], BufError>;
    /// Removes `len` bytes from the end.
    fn trim(&mut self, len: usize) -> Result<(), BufError>;

    /// Length of the data.
    fn len(&self) -> usize {
        self.data().len()
    }
    /// Whether the data is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Marks the packet, whose IPv4 header starts at `l2_len` and whose checksums are right,
    /// as one whose IPv4 header checksum and TCP/UDP checksum the NIC may compute at
    /// transmission instead (see [`crate::wire::checksum::prepare_tx_offload`]); the worker
    /// decides per port whether it does. The default ignores it: checksums stay software's.
    fn want_tx_csum(&mut self, l2_len: usize) {
        let _ = l2_len;
    }
    /// The `l2_len` of [`PacketBuf::want_tx_csum`], if the packet was marked.
    fn tx_csum_wanted(&self) -> Option<usize> {
        None
    }
    /// Sets the data length to `len`, growing or shrinking at the end.
    fn set_len(&mut self, len: usize) -> Result<(), BufError> {
        let cur = self.len();
        if len >= cur {
            self.append(len - cur).map(|_| ())
        } else {
            self.trim(cur - len)
        }
    }
}

/// Headroom a [`VecBuf`] gets by default, as DPDK's `RTE_PKTMBUF_HEADROOM`.
pub const DEFAULT_HEADROOM: usize = 128;

/// A heap-backed [`PacketBuf`] for tests, benchmarks and fuzzing.
#[derive(Clone, PartialEq, Eq)]
pub struct VecBuf {
    mem: Vec<u8>,
    start: usize,
    end: usize,
    /// [`PacketBuf::want_tx_csum`]'s mark.
    tx_csum: Option<usize>,
}

impl core::fmt::Debug for VecBuf {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("VecBuf").field("headroom", &self.start).field("data", &self.data()).finish()
    }
}

impl VecBuf {
    /// A buffer of `capacity` bytes in all, with `headroom` of them in front of empty data.
    pub fn with_capacity(headroom: usize, capacity: usize) -> Self {
        let headroom = headroom.min(capacity);
        VecBuf { mem: vec![0; capacity], start: headroom, end: headroom, tx_csum: None }
    }

    /// A buffer holding `bytes`, with [`DEFAULT_HEADROOM`] in front and 2048 bytes of room behind.
    pub fn from_slice(bytes: &[u8]) -> Self {
        let mut b = VecBuf::with_capacity(DEFAULT_HEADROOM, DEFAULT_HEADROOM + bytes.len() + 2048);
        b.mem[DEFAULT_HEADROOM..DEFAULT_HEADROOM + bytes.len()].copy_from_slice(bytes);
        b.end = DEFAULT_HEADROOM + bytes.len();
        b
    }
}

impl PacketBuf for VecBuf {
    fn want_tx_csum(&mut self, l2_len: usize) {
        self.tx_csum = Some(l2_len);
    }
    fn tx_csum_wanted(&self) -> Option<usize> {
        self.tx_csum
    }
    fn data(&self) -> &[u8] {
        &self.mem[self.start..self.end]
    }
    fn data_mut(&mut self) -> &mut [u8] {
        &mut self.mem[self.start..self.end]
    }
    fn headroom(&self) -> usize {
        self.start
    }
    fn tailroom(&self) -> usize {
        self.mem.len() - self.end
    }
    fn prepend(&mut self, len: usize) -> Result<&mut [u8], BufError> {
        if len > self.start {
            return Err(BufError::NoHeadroom { wanted: len, available: self.start });
        }
        self.start -= len;
        Ok(&mut self.mem[self.start..self.start + len])
    }
    fn adj(&mut self, len: usize) -> Result<(), BufError> {
        if len > self.end - self.start {
            return Err(BufError::TooShort { wanted: len, len: self.end - self.start });
        }
        self.start += len;
        Ok(())
    }
    fn append(&mut self, len: usize) -> Result<&mut [u8], BufError> {
        let avail = self.mem.len() - self.end;
        if len > avail {
            return Err(BufError::NoTailroom { wanted: len, available: avail });
        }
        let old = self.end;
        self.end += len;
        Ok(&mut self.mem[old..self.end])
    }
    fn trim(&mut self, len: usize) -> Result<(), BufError> {
        if len > self.end - self.start {
            return Err(BufError::TooShort { wanted: len, len: self.end - self.start });
        }
        self.end -= len;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn prepend_adj_append_trim() {
        let mut b = VecBuf::from_slice(&[1, 2, 3]);
        b.prepend(2).unwrap().copy_from_slice(&[9, 8]);
        assert_eq!(b.data(), &[9, 8, 1, 2, 3]);
        b.adj(3).unwrap();
        assert_eq!(b.data(), &[2, 3]);
        b.append(1).unwrap()[0] = 7;
        assert_eq!(b.data(), &[2, 3, 7]);
        b.trim(2).unwrap();
        assert_eq!(b.data(), &[2]);
        b.set_len(3).unwrap();
        assert_eq!(b.len(), 3);
    }

    #[test]
    fn refusals_leave_buffer_unchanged() {
        let mut b = VecBuf::with_capacity(4, 8);
        b.append(2).unwrap();
        let before = b.clone();
        assert_eq!(b.prepend(5), Err(BufError::NoHeadroom { wanted: 5, available: 4 }));
        assert_eq!(b.append(3), Err(BufError::NoTailroom { wanted: 3, available: 2 }));
        assert_eq!(b.adj(3), Err(BufError::TooShort { wanted: 3, len: 2 }));
        assert_eq!(b.trim(3), Err(BufError::TooShort { wanted: 3, len: 2 }));
        assert_eq!(b, before);
    }

    proptest! {
        #[test]
        fn operations_never_panic(ops in proptest::collection::vec((0u8..4, 0usize..300), 0..40)) {
            let mut b = VecBuf::with_capacity(64, 256);
            for (op, n) in ops {
                let before = b.headroom() + b.len() + b.tailroom();
                let _ = match op {
                    0 => b.prepend(n).map(|_| ()),
                    1 => b.adj(n),
                    2 => b.append(n).map(|_| ()),
                    _ => b.trim(n),
                };
                prop_assert_eq!(before, b.headroom() + b.len() + b.tailroom());
            }
        }
    }
}
