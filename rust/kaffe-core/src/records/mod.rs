//! Kafka record batches: v2 encode/decode and legacy v0/v1 message-set decode.
//!
//! Decoding never copies keys, values or headers out of the input: a [`DecodedBatch`] holds a
//! buffer (the input itself for uncompressed data, the decompressed bytes otherwise) and
//! [`Span`]s into it. Every length field is checked against the bytes actually present before it
//! is used, so malformed input produces [`Error::Corrupt`] (or [`Error::Compression`] for a bad
//! compressed payload) and never a panic or a huge allocation.

mod batch_header;
mod decode_v2;
mod encode;
mod legacy;
/// Re-exported from the crate root, where the protocol codec uses it too.
pub use crate::varint;

use std::borrow::Cow;

use crate::compression::Compression;
use crate::error::{Error, Result};

pub use batch_header::{BatchHeader, TimestampType, HEADER_SIZE, LOG_OVERHEAD};
pub use encode::encode_batch;

use batch_header::{i32_at, MAGIC_OFFSET, MIN_V2_BATCH_LENGTH};

/// A byte range inside [`DecodedBatch::buffer`].
pub type Span = std::ops::Range<usize>;

/// One record header: a key span and an optional (null-able) value span.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderSpan {
    /// The header key (UTF-8 in Kafka; not validated here).
    pub key: Span,
    /// The header value; `None` = null.
    pub value: Option<Span>,
}

/// One decoded record; its bytes live in the owning [`DecodedBatch::buffer`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordSpan {
    /// Absolute offset.
    pub offset: i64,
    /// Absolute timestamp in ms (LogAppendTime batches: the batch `max_timestamp`; v0: -1).
    pub timestamp: i64,
    /// `None` = null key.
    pub key: Option<Span>,
    /// `None` = null value.
    pub value: Option<Span>,
    /// Indexes into [`DecodedBatch::headers`].
    pub headers: std::ops::Range<usize>,
}

/// One decoded batch. Keys/values/headers are spans into `buffer`, so decoding allocates no
/// per-record heap memory; the glue turns spans into Python bytes in one pass.
#[derive(Clone, Debug)]
pub struct DecodedBatch<'a> {
    /// The batch header (synthesized for legacy messages).
    pub header: BatchHeader,
    /// Borrowed from the input for uncompressed batches, owned when decompressed.
    pub buffer: Cow<'a, [u8]>,
    /// The records, in order.
    pub records: Vec<RecordSpan>,
    /// All record headers of the batch; each record owns a contiguous range.
    pub headers: Vec<HeaderSpan>,
    /// Bytes this batch occupied in the input.
    pub size_in_bytes: usize,
}

impl DecodedBatch<'_> {
    /// The bytes of `span` in [`Self::buffer`] (empty if the span is out of range, which the
    /// decoder never produces).
    pub fn bytes(&self, span: &Span) -> &[u8] {
        self.buffer.get(span.clone()).unwrap_or(&[])
    }
}

/// Options for [`decode_batches`].
#[derive(Clone, Debug)]
pub struct DecodeOptions {
    /// Verify CRC32C (v2) / CRC32 (legacy) checksums. Default true.
    pub check_crc: bool,
    /// Refuse to decompress a batch to more than this many bytes. Default 256 MiB.
    pub max_decompressed_bytes: usize,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            check_crc: true,
            max_decompressed_bytes: 256 * 1024 * 1024,
        }
    }
}

/// The result of [`decode_batches`].
#[derive(Clone, Debug)]
pub struct Decoded<'a> {
    /// The complete batches, in input order.
    pub batches: Vec<DecodedBatch<'a>>,
    /// Bytes of `data` consumed by complete batches. A partial batch at the end (Kafka sends
    /// them when the fetch size cuts one) is NOT an error: it stops decoding, and
    /// consumed < data.len().
    pub consumed: usize,
}

/// One record to encode.
#[derive(Clone, Debug, Default)]
pub struct RecordInput<'a> {
    /// `None` = null key.
    pub key: Option<&'a [u8]>,
    /// `None` = null value.
    pub value: Option<&'a [u8]>,
    /// Header key must be UTF-8 in Kafka; the encoder does not check.
    pub headers: Vec<(&'a [u8], Option<&'a [u8]>)>,
    /// Timestamp in ms.
    pub timestamp: i64,
}

/// Options for [`encode_batch`].
#[derive(Clone, Debug)]
pub struct BatchOptions {
    /// Default 0.
    pub base_offset: i64,
    /// Default -1.
    pub partition_leader_epoch: i32,
    /// Default `Compression::None`.
    pub compression: Compression,
    /// Default `None` (the codec's default level).
    pub compression_level: Option<i32>,
    /// Default `Create`.
    pub timestamp_type: TimestampType,
    /// Default false.
    pub transactional: bool,
    /// Default false.
    pub control: bool,
    /// Default -1.
    pub producer_id: i64,
    /// Default -1.
    pub producer_epoch: i16,
    /// Default -1.
    pub base_sequence: i32,
    /// `None` = max of record timestamps (LogAppend: the caller may set the append time).
    pub max_timestamp: Option<i64>,
}

impl Default for BatchOptions {
    fn default() -> Self {
        BatchOptions {
            base_offset: 0,
            partition_leader_epoch: -1,
            compression: Compression::None,
            compression_level: None,
            timestamp_type: TimestampType::Create,
            transactional: false,
            control: false,
            producer_id: -1,
            producer_epoch: -1,
            base_sequence: -1,
            max_timestamp: None,
        }
    }
}

/// Decode the `records` bytes of a fetch response partition: any mix of concatenated v2 batches
/// and legacy v0/v1 messages (the magic byte at offset 16 says which). Legacy compressed wrapper
/// messages are expanded into their inner messages (one DecodedBatch per top-level message, with
/// magic 0/1, absolute offsets, v1 LogAppendTime applied to inner records).
pub fn decode_batches<'a>(data: &'a [u8], opts: &DecodeOptions) -> Result<Decoded<'a>> {
    let mut batches = Vec::new();
    let mut pos = 0usize;
    while let Some(rest) = data.get(pos..) {
        let Some(length) = i32_at(rest, 8) else {
            break; // fewer than 12 bytes left: a partial entry
        };
        if length < 0 {
            return Err(corrupt_at(pos, format!("negative batch length {length}")));
        }
        let length = length as usize;
        if length < legacy::MIN_MESSAGE_SIZE_V0 {
            return Err(corrupt_at(
                pos,
                format!(
                    "batch length {length} is smaller than the smallest entry ({})",
                    legacy::MIN_MESSAGE_SIZE_V0
                ),
            ));
        }
        // The magic byte is known as soon as 17 bytes are present, even for a partial entry.
        if let Some(&magic) = rest.get(MAGIC_OFFSET) {
            let min = match magic {
                0 => legacy::MIN_MESSAGE_SIZE_V0,
                1 => legacy::MIN_MESSAGE_SIZE_V1,
                2 => MIN_V2_BATCH_LENGTH,
                other => {
                    return Err(corrupt_at(
                        pos,
                        format!("unknown magic byte {}", other as i8),
                    ));
                }
            };
            if length < min {
                return Err(corrupt_at(
                    pos,
                    format!(
                        "magic {magic} entry length {length} is smaller than its minimum {min}"
                    ),
                ));
            }
        }
        let total = LOG_OVERHEAD + length;
        let Some(entry) = rest.get(..total) else {
            break; // the entry runs past the end of the input: a partial entry
        };
        let batch = match entry.get(MAGIC_OFFSET) {
            Some(2) => decode_v2::decode(entry, pos, opts)?,
            Some(&magic @ (0 | 1)) => legacy::decode(entry, pos, magic, opts)?,
            // unreachable: a complete entry is at least 26 bytes and its magic was checked above
            _ => {
                return Err(corrupt_at(
                    pos,
                    "entry without a valid magic byte".to_string(),
                ))
            }
        };
        batches.push(batch);
        pos += total;
    }
    Ok(Decoded {
        batches,
        consumed: pos,
    })
}

/// An [`Error::Corrupt`] about the entry starting at input byte `pos`.
#[cold]
#[inline(never)]
fn corrupt_at(pos: usize, what: String) -> Error {
    Error::Corrupt(format!("{what} (entry at input byte {pos})"))
}

#[cfg(test)]
mod tests;
