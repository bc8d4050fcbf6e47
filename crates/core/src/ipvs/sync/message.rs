//! A whole sync datagram: the version 1 header, reading its entries, and batching entries into
//! datagrams of at most `sync_maxlen` bytes.

use super::conn::SyncConn;
use super::error::{EncodeError, SyncError};
use super::{CONN_V4_LEN, HEADER_LEN, MAX_CONNS, MAX_CONN_LEN, VERSION};

/// A received datagram whose header checked out. Its entries are read by [`Message::entries`].
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    buf: &'a [u8],
}

impl<'a> Message<'a> {
    /// Checks the header: at least 8 bytes, the size field equal to the datagram's length,
    /// reserved 0, version 1, spare 0.
    pub fn parse(buf: &'a [u8]) -> Result<Self, SyncError> {
        if buf.len() < HEADER_LEN {
            return Err(SyncError::Truncated(buf.len()));
        }
        let size = u16::from_be_bytes([buf[2], buf[3]]);
        if usize::from(size) != buf.len() {
            return Err(SyncError::SizeMismatch { header: size, actual: buf.len() });
        }
        let spare = u16::from_be_bytes([buf[6], buf[7]]);
        if buf[0] != 0 || buf[5] != VERSION || spare != 0 {
            return Err(SyncError::NotVersion1 { reserved: buf[0], version: buf[5], spare });
        }
        Ok(Message { buf })
    }

    /// The sender's sync id.
    pub fn syncid(&self) -> u8 {
        self.buf[1]
    }

    /// How many entries the header announces.
    pub fn conn_count(&self) -> u8 {
        self.buf[4]
    }

    /// The datagram's length.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether the message has no entries.
    pub fn is_empty(&self) -> bool {
        self.conn_count() == 0
    }

    /// The entries, in order: `Ok` for a readable one, `Err` for one that is not. After a
    /// [fatal](SyncError::is_fatal) error the iterator ends.
    pub fn entries(&self) -> Entries<'a> {
        Entries {
            buf: self.buf,
            pos: HEADER_LEN,
            index: 0,
            count: usize::from(self.conn_count()),
            ignored: 0,
        }
    }
}

/// Iterator over a message's entries ([`Message::entries`]).
#[derive(Debug, Clone)]
pub struct Entries<'a> {
    buf: &'a [u8],
    pos: usize,
    index: usize,
    count: usize,
    ignored: u32,
}

impl Entries<'_> {
    /// Optional options (bit 6 set) skipped so far because this codec does not know them.
    pub fn ignored_options(&self) -> u32 {
        self.ignored
    }

    fn stop(&mut self, e: SyncError) -> Option<Result<SyncConn, SyncError>> {
        self.index = self.count;
        Some(Err(e))
    }
}

impl Iterator for Entries<'_> {
    type Item = Result<SyncConn, SyncError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.index >= self.count {
            return None;
        }
        let index = self.index;
        // The fixed part of an IPv4 entry must be there before its size is read.
        let Some(fixed) = self.buf.get(self.pos..self.pos + CONN_V4_LEN) else {
            return self.stop(SyncError::EntryTruncated { index });
        };
        let ver_size = u16::from_be_bytes([fixed[2], fixed[3]]);
        let size = usize::from(ver_size) & MAX_CONN_LEN;
        let Some(entry) = self.buf.get(self.pos..self.pos + size) else {
            return self.stop(SyncError::EntryTruncated { index });
        };
        let version = (ver_size >> 12) as u8;
        if version != 0 {
            return self.stop(SyncError::EntryVersion { index, version });
        }
        self.index += 1;
        // The next entry starts 4-byte aligned.
        self.pos += (size + 3) & !3;
        match SyncConn::parse(entry, index, &mut self.ignored) {
            Err(e) if e.is_fatal() => self.stop(e),
            r => Some(r),
        }
    }
}

/// Batches entries into one datagram of at most `maxlen` bytes and 255 entries; reused for the
/// next one after [`MessageBuilder::take`] or [`MessageBuilder::clear`].
#[derive(Debug, Clone)]
pub struct MessageBuilder {
    buf: Vec<u8>,
    maxlen: usize,
    count: u8,
}

impl MessageBuilder {
    /// A builder for messages from `syncid`, at most `maxlen` bytes each (the UDP payload: the
    /// kernel uses the interface MTU less 28).
    pub fn new(syncid: u8, maxlen: usize) -> Result<Self, EncodeError> {
        if !(HEADER_LEN + CONN_V4_LEN..=usize::from(u16::MAX)).contains(&maxlen) {
            return Err(EncodeError::MaxLen(maxlen));
        }
        let mut buf = Vec::with_capacity(maxlen);
        buf.extend_from_slice(&[0, syncid, 0, HEADER_LEN as u8, 0, VERSION, 0, 0]);
        Ok(MessageBuilder { buf, maxlen, count: 0 })
    }

    /// The message limit.
    pub fn maxlen(&self) -> usize {
        self.maxlen
    }

    /// Entries in the message so far.
    pub fn conn_count(&self) -> usize {
        usize::from(self.count)
    }

    /// Whether no entry has been added since the last take.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Adds `conn`. [`EncodeError::Full`] means it did not fit: send [`MessageBuilder::bytes`],
    /// clear, and push it again; any other error means it never will.
    pub fn push(&mut self, conn: &SyncConn) -> Result<(), EncodeError> {
        conn.validate()?;
        let len = conn.encoded_len();
        if HEADER_LEN + len > self.maxlen {
            return Err(EncodeError::TooLong { len: HEADER_LEN + len, maxlen: self.maxlen });
        }
        let pad = (4 - self.buf.len() % 4) % 4;
        if usize::from(self.count) >= MAX_CONNS || self.buf.len() + pad + len > self.maxlen {
            return Err(EncodeError::Full);
        }
        self.buf.resize(self.buf.len() + pad, 0);
        conn.emit(&mut self.buf);
        self.count += 1;
        let size = self.buf.len() as u16;
        self.buf[2..4].copy_from_slice(&size.to_be_bytes());
        self.buf[4] = self.count;
        Ok(())
    }

    /// The datagram as it stands (a valid message even when empty).
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Empties the message, keeping the sync id and the buffer.
    pub fn clear(&mut self) {
        self.buf.truncate(HEADER_LEN);
        self.buf[2..4].copy_from_slice(&(HEADER_LEN as u16).to_be_bytes());
        self.buf[4] = 0;
        self.count = 0;
    }

    /// Returns the datagram and empties the builder.
    pub fn take(&mut self) -> Vec<u8> {
        let out = self.buf.clone();
        self.clear();
        out
    }
}
