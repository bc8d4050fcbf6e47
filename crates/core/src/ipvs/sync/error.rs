//! The sync codec's errors: what was wrong with a received message, and why an entry could not
//! be encoded.

use thiserror::Error;

/// A received sync message (or one of its entries) that cannot be read.
///
/// Mirrors the kernel receiver: a [fatal](SyncError::is_fatal) error stops reading the message
/// (entries before it stand); a non-fatal one drops that entry only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum SyncError {
    /// The datagram is shorter than the message header.
    #[error("sync message of {0} bytes is shorter than the 8-byte header")]
    Truncated(usize),
    /// The header's size differs from the datagram's length.
    #[error("sync message header says {header} bytes but the datagram has {actual}")]
    SizeMismatch {
        /// The size field.
        header: u16,
        /// The datagram's length.
        actual: usize,
    },
    /// Not a version 1 message (reserved byte, version or spare field wrong): a version 0
    /// sender, which rvs does not read (set the peer's `net.ipv4.vs.sync_version` to 1).
    #[error("not a version 1 sync message (reserved {reserved}, version {version}, spare {spare}): set the sender's sync_version to 1")]
    NotVersion1 {
        /// First byte (0 in version 1; the entry count in version 0).
        reserved: u8,
        /// The version field.
        version: u8,
        /// The spare field.
        spare: u16,
    },
    /// The message ends before the entry the count says is there.
    #[error("sync entry {index} runs past the end of the message")]
    EntryTruncated {
        /// Index of the entry in the message.
        index: usize,
    },
    /// An entry's version nibble is not 0.
    #[error("sync entry {index} has unknown version {version}")]
    EntryVersion {
        /// Index of the entry.
        index: usize,
        /// The version nibble.
        version: u8,
    },
    /// An entry's type has bits other than the IPv6 bit.
    #[error("sync entry {index} has unknown type {kind:#04x}")]
    EntryType {
        /// Index of the entry.
        index: usize,
        /// The type byte.
        kind: u8,
    },
    /// An entry's size is smaller than its fixed part.
    #[error("sync entry {index} says {size} bytes, less than its {min}-byte fixed part")]
    EntrySize {
        /// Index of the entry.
        index: usize,
        /// The size field.
        size: usize,
        /// The fixed part's length.
        min: usize,
    },
    /// An option's type and length do not fit in the entry, or its length is 0.
    #[error("sync entry {index}: option {kind} of {len} bytes does not fit the entry")]
    OptionBounds {
        /// Index of the entry.
        index: usize,
        /// The option type.
        kind: u8,
        /// The option length.
        len: usize,
    },
    /// A known option has the wrong length or appears twice.
    #[error("sync entry {index}: option {kind} is malformed (length {len}) or repeated")]
    OptionInvalid {
        /// Index of the entry.
        index: usize,
        /// The option type.
        kind: u8,
        /// The option length.
        len: usize,
    },
    /// Not fatal: an option the receiver does not know, without the optional bit.
    #[error("sync entry {index}: unknown mandatory option {kind}; entry skipped")]
    UnknownMandatoryOption {
        /// Index of the entry.
        index: usize,
        /// The option type.
        kind: u8,
    },
    /// Not fatal: persistence-engine data without the engine's name.
    #[error("sync entry {index}: persistence-engine data without a name; entry skipped")]
    PeWithoutName {
        /// Index of the entry.
        index: usize,
    },
    /// Not fatal: the FULLNAT local address is not of the entry's address family.
    #[error(
        "sync entry {index}: FULLNAT local address family differs from the entry's; entry skipped"
    )]
    LocalFamily {
        /// Index of the entry.
        index: usize,
    },
}

impl SyncError {
    /// Whether the rest of the message is lost (true) or only this entry (false).
    pub fn is_fatal(&self) -> bool {
        !matches!(
            self,
            SyncError::UnknownMandatoryOption { .. }
                | SyncError::PeWithoutName { .. }
                | SyncError::LocalFamily { .. }
        )
    }
}

/// An entry that cannot be put into a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum EncodeError {
    /// The message has no room for the entry (length or the 255-entry count): send it and
    /// start another.
    #[error("sync message full")]
    Full,
    /// The entry alone is longer than the largest message allowed.
    #[error("sync entry of {len} bytes does not fit a message of at most {maxlen} bytes")]
    TooLong {
        /// The entry's length with the header.
        len: usize,
        /// The message limit.
        maxlen: usize,
    },
    /// The FULLNAT local address is not of the entry's address family.
    #[error("FULLNAT local address family differs from the connection's")]
    LocalFamily,
    /// Persistence-engine data or name longer than the format allows, or empty.
    #[error("persistence-engine name must be 1 to 16 bytes and data 1 to 255 bytes")]
    PeLength,
    /// The message limit is below one header and one IPv4 entry, or above 65535.
    #[error("sync_maxlen {0} must be between 44 and 65535 bytes")]
    MaxLen(usize),
}
