//! The one error type of kaffe-core. The PyO3 glue maps each variant to a `kaffe` exception.

use std::fmt;

/// Everything that can go wrong in kaffe-core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// Record data that is malformed: bad CRC, truncated record inside a complete batch, a length
    /// field that points outside its buffer, an impossible varint, an unknown magic byte.
    /// Maps to `kaffe.CorruptRecordError`.
    Corrupt(String),
    /// Compressed data that the codec could not decompress, or that decompresses past the limit.
    /// Maps to `kaffe.CorruptRecordError` (it is malformed input too).
    Compression(String),
    /// A compression codec id that Kafka does not define (attributes bits 0-2 = 5, 6 or 7).
    /// Maps to `kaffe.UnsupportedCompressionTypeError`.
    UnsupportedCompression(u8),
    /// The caller asked for something impossible (empty batch, too many records, bad level).
    /// Maps to Python's `ValueError`.
    InvalidArgument(String),
}

/// Result alias used across kaffe-core.
pub type Result<T> = std::result::Result<T, Error>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Corrupt(msg) => write!(f, "corrupt record data: {msg}"),
            Error::Compression(msg) => write!(f, "compressed data is invalid: {msg}"),
            Error::UnsupportedCompression(id) => {
                write!(
                    f,
                    "unsupported compression codec id {id} (Kafka defines 0-4)"
                )
            }
            Error::InvalidArgument(msg) => write!(f, "invalid argument: {msg}"),
        }
    }
}

impl std::error::Error for Error {}
